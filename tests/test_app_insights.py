"""The Insights page (issue 12) through AppTest: charts drawn from SQL aggregates, each with its
reading; the Library's filters narrow them; an empty store says where things come from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from studio.db import LibraryFilter, Store, default_url
from studio.insights import Insights

from .apptest_helpers import new_app, stop_engines, texts, widget  # noqa: F401 - autouse: stops engines
from .seed import ready_character, seed

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def insights(tmp_path, monkeypatch):
    data = tmp_path / "data"
    store = Store(default_url(data))
    seed(store, 30, start=NOON)  # 24 made (1,600 credits each, 90 s), 6 refused, all on 20 Nov
    at = new_app(monkeypatch, data)
    at.switch_page("app_pages/insights.py")
    at.run()
    assert not at.exception, at.exception
    return at, store


def test_each_chart_is_drawn_with_its_reading(insights) -> None:
    at, _ = insights
    assert [h.value for h in at.subheader] == [
        "Credits spent per day",
        "Made per day",
        "Made or refused, by model",
        "Time from sent to finished",
        "Credits left over time",
        "Batches",
    ]
    assert len(at.get("vega_lite_chart")) == 5
    said = texts(at)
    assert "38,400 credits over 1 day; most on Sora 2 (100%)." in said
    assert "24 videos and 0 images; the busiest day was 20 Nov (24)." in said
    assert "Sora 2: 80% made. Most failures: refused by moderation (the prompt or image) (6)." in said
    assert "Sora 2 · Small: median 1:30 (1:30–1:30)." in said  # 90 s each
    assert "2,000,000 left now" in said


def test_prompt_help_is_counted_in_credits_but_never_as_something_made(tmp_path, monkeypatch) -> None:
    """Seen at 1400 px: "124 videos and 1 image; the busiest day was 06 Dec (126)" with a "prompt
    help" bar among the finished: a help call is paid for, but nothing is made by it."""
    from sqlalchemy import update

    from studio.db.models import ChatCall

    data = tmp_path / "data"
    store = Store(default_url(data))
    seed(store, 30, start=NOON)
    store.record_chat_call(service="sandbox", account=None, model="gemini-3-flash", action="improve", cost=20)
    with store.session() as session, session.begin():
        session.execute(update(ChatCall).values(created_at=NOON.replace(tzinfo=None)))
    at = new_app(monkeypatch, data)
    at.switch_page("app_pages/insights.py")
    at.run()
    assert not at.exception, at.exception
    said = texts(at)
    assert "38,420 credits over 1 day" in said  # the help call's 20 credits are spent
    assert "24 videos and 0 images; the busiest day was 20 Nov (24)." in said
    made_per_day = at.get("vega_lite_chart")[1].proto.spec
    assert "prompt help" not in made_per_day


def test_the_filters_narrow_every_chart(insights) -> None:
    at, _ = insights
    widget(at, "insights_kind").set_value(["remix"])  # the seed's every seventh row
    at.run()
    assert "6,400 credits over 1 day" in texts(at)  # 4 remixes made (rows 6, 13, 20, 27)
    widget(at, "insights_model").set_value(["veo3.1-fast"])
    at.run()
    assert "Nothing matches yet" in texts(at) and not at.get("vega_lite_chart")


def test_the_aggregates_never_load_rows(tmp_path) -> None:
    """The page's data are grouped tables: an hour x model x status table, not one row a generation."""
    store = Store(default_url(tmp_path))
    seed(store, 500, start=NOON)
    seen = Insights.load(store, LibraryFilter())
    assert len(seen.hourly) <= 10 * 2 and seen.hourly["count"].sum() == 500  # 500 minutes: 10 hours, 2 statuses
    assert len(seen.outcomes) == 2 and len(seen.times) == 1


def test_the_same_figures_on_sqlite_and_postgresql(database_url) -> None:
    store = Store(database_url)
    try:
        seed(store, 30, start=NOON)
        seen = Insights.load(store, LibraryFilter(tz="Asia/Shanghai"))  # 20 Nov 19:30-20:00 there
        daily = seen.daily()
        assert list(daily["credits"]) == [38_400] and str(daily["day"].iloc[0]) == "2026-11-20"
        spread = seen.time_spread()
        assert list(spread[["median", "q1", "q3", "made"]].iloc[0]) == [90.0, 90.0, 90.0, 24]
        success = seen.success().set_index("outcome")["count"].to_dict()
        assert success == {"Made": 24, "Refused by moderation (the prompt or image)": 6}
    finally:
        store.dispose()


def test_a_made_character_is_counted_in_the_words_as_in_the_chart_and_the_busiest_day(tmp_path, monkeypatch) -> None:
    """Seen on Insights: a made character stood in "Made per day" and in the busiest day's figure,
    but the words under them said only "N videos and N images"."""
    from sqlalchemy import update

    from studio.db.models import Character

    data = tmp_path / "data"
    store = Store(default_url(data))
    seed(store, 30, start=NOON)
    ready_character(store, "Goldie", "swift_maple.82dc77")
    with store.session() as session, session.begin():
        session.execute(update(Character).values(created_at=NOON.replace(tzinfo=None), cost=1600))
    at = new_app(monkeypatch, data)
    at.switch_page("app_pages/insights.py")
    at.run()
    assert not at.exception, at.exception
    assert "24 videos, 0 images and 1 character; the busiest day was 20 Nov (25)." in texts(at)


def test_one_batch_is_said_as_one(tmp_path, monkeypatch) -> None:
    """Seen on Insights after a first batch: "1 batches, 3 of 3 rows made"."""
    from studio.batch import BatchService, plan_rows, read_table
    from studio.media import MediaStore

    data = tmp_path / "data"
    at = new_app(monkeypatch, data, SORA_ENGINE="external")  # nothing sends the row: the batch is as written
    at.run()
    store = Store(default_url(data))
    try:
        service = BatchService(store, MediaStore(data / "media"), at.session_state["connection"])
        service.create("Spring kites", plan_rows(read_table("prompt\nA kite over the sea\n"), template="{prompt}"))
    finally:
        store.dispose()
    at.switch_page("app_pages/insights.py")
    at.run()
    assert not at.exception, at.exception
    assert "1 batch, 0 of 1 rows made" in texts(at)
