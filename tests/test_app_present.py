"""Present mode and Compare (issue 20, beyond the anchors): a link ``?present=<kind>:<id>`` shows a
set of results one at a time or side by side, stepped with Previous and Next; a link that names
nothing says so in words; the Library opens both."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from .apptest_helpers import APP, click, errors, stop_engines, texts  # noqa: F401 - stop_engines is autouse
from .test_keep_best import Studio, made_three


@pytest.fixture
def studio(tmp_path, monkeypatch):
    made = Studio(monkeypatch, tmp_path / "data")
    yield made
    made.store.dispose()


def present(at, value: str) -> None:
    at.switch_page("app_pages/present.py")
    at.query_params["present"] = value
    at.run()
    assert not at.exception, at.exception


def shown_label(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("**"))


def test_the_takes_of_one_prompt_are_presented_one_at_a_time_and_stepped(studio) -> None:
    rows = made_three(studio, "a paper boat on a pond")
    at = studio.at
    present(at, f"group:{rows[0].group_key}")
    assert "3 takes of one prompt" in texts(at) and "1 / 3" in texts(at)
    assert len(at.get("video")) == 1 and shown_label(at).startswith("**Take 1** · a paper boat on a pond")
    click(at, "Next")
    assert shown_label(at).startswith("**Take 2**") and "2 / 3" in texts(at)
    click(at, "Previous")
    click(at, "Previous")  # from the first, back to the last
    assert shown_label(at).startswith("**Take 3**") and "3 / 3" in texts(at)
    at.toggle(key=f"present_side_group:{rows[0].group_key}").set_value(True)
    at.run()
    assert len(at.get("video")) == 3
    assert [c.value.split(" · ")[0] for c in at.caption if c.value.startswith("**")] == [
        "**Take 1**", "**Take 2**", "**Take 3**"
    ]


def test_a_link_to_the_app_with_present_opens_present_mode(studio) -> None:
    """A browser opening the app's address with ``?present=…`` (a new session: the default page)."""
    rows = made_three(studio)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["present"] = f"group:{rows[0].group_key}"
    at.run()
    assert not at.exception, at.exception
    assert "3 takes of one prompt" in texts(at) and not [t for t in at.title if t.value == "Generate"]


@pytest.mark.parametrize(
    "value", ["", "nonsense", "group:", "group:no-such-group", "storyboard:abc", "storyboard:99", "family:s_nope",
              "compare:1", "compare:1,2,3,4,5", "compare:9" * 10]
)
def test_a_bad_or_unknown_present_value_says_so_in_words(studio, value) -> None:
    at = studio.at
    present(at, value)
    said = errors(at)
    assert "presentation link is not one the studio makes" in said or "nothing finished to show" in said or (
        "Compare shows two to four" in said) or "is not the number of an item" in said
    assert not at.get("video")


def test_the_library_detail_opens_the_takes_in_present_mode(studio) -> None:
    rows = made_three(studio)
    at = studio.at
    at.switch_page("app_pages/library.py")
    at.query_params["generation"] = str(rows[1].id)
    at.run()
    assert not at.exception, at.exception
    links = [link.proto.query_string for link in at.get("page_link")]
    assert f"present=group%3A{rows[0].group_key}" in links or f"present=group:{rows[0].group_key}" in links


def test_two_chosen_in_the_library_are_compared_side_by_side(studio) -> None:
    rows = made_three(studio, "a lantern in the fog")
    at = studio.at
    at.switch_page("app_pages/library.py")
    at.run()
    assert not [b for b in at.button if b.label.startswith("Compare")]  # nothing chosen: no button
    at.checkbox(key=f"library_compare_{rows[0].id}").check()
    at.run()
    assert next(b for b in at.button if b.label == "Compare 1").disabled  # one is not a comparison
    at.checkbox(key=f"library_compare_{rows[1].id}").check()
    at.run()
    click(at, "Compare 2", contains=True)
    assert "Compare" in texts(at)
    assert len(at.get("video")) == 2
    assert [c.value.split(" · ")[0] for c in at.caption if c.value.startswith("**")] == ["**1**", "**2**"]
    assert any("__studioSync" in str(h.proto) for h in at.get("html"))  # they play, pause and seek together


    at.switch_page("app_pages/library.py")
    at.run()
    click(at, "Clear")  # either of the two bars
    assert not [b for b in at.button if b.label.startswith("Compare")]
    assert not any(at.checkbox(key=f"library_compare_{row.id}").value for row in rows)


def test_a_family_and_a_storyboard_are_presented_in_their_order(tmp_path) -> None:
    """The sets the Library's Present links name: a family's original first, then its remixes (a
    failed one left out); a storyboard's film, then its shots in order (the newest made try of each)."""
    from sqlalchemy import update

    from studio.db import Generation, Status, Store, default_url
    from studio.presenting import presentation

    from .seed import seed

    store = Store(default_url(tmp_path))
    try:
        seed(store, 4)
        with store.session() as session, session.begin():
            rows = list(session.query(Generation).order_by(Generation.created_at))  # oldest first
            original, remix, failed_remix, remix_of_remix = rows
            original.kind, original.remix_target_id = "text", None
            remix.kind, remix.remix_target_id = "remix", original.pid
            failed_remix.kind, failed_remix.remix_target_id = "remix", original.pid
            failed_remix.status, failed_remix.pid = Status.FAILED, None
            remix_of_remix.kind, remix_of_remix.remix_target_id = "remix", remix.pid
            ids = [original.id, remix.id, remix_of_remix.id]
        family = presentation(store, f"family:{remix.pid}")
        assert [g.id for g in family.items] == ids and family.labels == ["Original", "Remix 1", "Remix 2"]

        board, _ = store.add_storyboard("Kites", [{}, {}], service="sandbox", account=None)
        with store.session() as session, session.begin():
            for shot, generation_id in ((1, ids[0]), (0, ids[1])):
                session.execute(update(Generation).where(Generation.id == generation_id)
                                .values(storyboard_id=board.id, storyboard_shot=shot))
            session.execute(update(Generation).where(Generation.id == ids[2])
                            .values(storyboard_id=board.id, kind="storyboard"))
        film = presentation(store, f"storyboard:{board.id}")
        assert film.title == "Storyboard “Kites”" and film.labels == ["The film", "Shot 1", "Shot 2"]
        assert [g.id for g in film.items] == [ids[2], ids[1], ids[0]]
    finally:
        store.dispose()
