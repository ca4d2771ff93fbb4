"""The Storyboard page (issue 12) through AppTest: shots planned, reordered and removed; the total
cost first; bad shots named next to themselves with nothing sent; "Make all" runs the shots one
after another through the engine and the film plays on the page and opens in the Library."""

from __future__ import annotations

from studio.costs import credits_text, price
from studio.db import LibraryFilter, Store, default_url

from .apptest_helpers import (  # noqa: F401 - stop_engines is autouse: stops engines
    beside,
    click,
    new_app,
    run_until,
    sandbox_counters,
    sidebar_text,
    stop_engines,
    texts,
)
from .seed import ready_character


def open_page(monkeypatch, data):
    at = new_app(monkeypatch, data, SANDBOX_TASK_SECONDS="0.5")
    at.switch_page("app_pages/storyboard.py")
    at.run()
    assert not at.exception, at.exception
    return at


def shot_keys(at, field: str) -> list[str]:
    return [f"storyboard_{field}_{uid}" for uid in at.session_state["storyboard_order"]]


def prompts(at) -> list[str]:
    return [at.text_area(key=k).value for k in shot_keys(at, "prompt")]


def test_shots_are_added_moved_and_removed_and_the_total_cost_is_shown_first(tmp_path, monkeypatch) -> None:
    at = open_page(monkeypatch, tmp_path / "data")
    assert [h.value for h in at.title] == ["Storyboard"]
    assert "Your storyboards appear here" in texts(at)
    click(at, "Add a shot")
    for key, words in zip(shot_keys(at, "prompt"), ["one", "two", "three"], strict=True):
        at.text_area(key=key).set_value(words)
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    at.selectbox(key=shot_keys(at, "model")[2]).set_value("sora-2")
    at.run()
    said = texts(at)
    veo, sora = price("veo3.1-fast"), price("sora-2")
    assert f"3 shots · about 0:26 · **{credits_text(2 * veo + sora)}**" in said  # 8 + 8 + 10 s
    assert "Starts on the last frame of shot 1." in said and "Opens the film." in said
    assert "Starts on the last frame of shot 2." in said  # Sora 2 after Veo: the frame as its image

    at.button(key=f"storyboard_up_{at.session_state['storyboard_order'][2]}").click()
    at.run()
    assert prompts(at) == ["one", "three", "two"]
    at.button(key=f"storyboard_remove_{at.session_state['storyboard_order'][0]}").click()
    at.run()
    assert prompts(at) == ["three", "two"]
    assert f"2 shots · about 0:18 · **{credits_text(veo + sora)}**" in texts(at)
    assert at.button(key=f"storyboard_up_{at.session_state['storyboard_order'][0]}").disabled


def test_a_bad_shot_is_named_next_to_it_and_nothing_is_sent(tmp_path, monkeypatch) -> None:
    at = open_page(monkeypatch, tmp_path / "data")
    first, second = shot_keys(at, "prompt")
    at.text_area(key=first).set_value("a lighthouse at dawn")
    at.text_input(key=shot_keys(at, "image_url")[1]).set_value("file:/etc/passwd")
    click(at, "Make all")
    assert "Shot 2:" in beside(at, shot_keys(at, "image_url")[1]) or "Shot 2:" in texts(at)
    assert "web address" in texts(at)
    assert not any(n for name, n in sandbox_counters(at).items() if name.startswith("received_"))
    assert Store(default_url(tmp_path / "data")).storyboards_for("sandbox", None) == []


def test_make_all_makes_the_shots_one_after_another_and_plays_the_film(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    at = open_page(monkeypatch, data)
    for key, words in zip(shot_keys(at, "prompt"), ["a kite rises", "the kite over the sea"], strict=True):
        at.text_area(key=key).set_value(words)
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    at.text_input(key="storyboard_name").set_value("Kite **film**")
    click(at, "Make all")
    click(at, "Make all")  # a second click is the same storyboard
    assert "already started" in texts(at)
    run_until(at, lambda at: at.get("video"), timeout=60)
    # the film's state reads as a video card's does on Generate: "Ready" with its tick, not "ready"
    assert ":green-badge[:material/check_circle: Ready]" in texts(at)
    assert "Kite \\*\\*film\\*\\*" in texts(at)  # the name is shown as typed, not as Markdown
    assert len(at.get("video")) == 1
    assert sandbox_counters(at).get("received_veo") == 2  # each shot sent once
    store = Store(default_url(data))
    items, total = store.search(LibraryFilter(text="kite"))
    assert total == 1 and items[0].kind == "storyboard"
    link = at.get("page_link")[0]
    assert link.proto.query_string == f"generation={items[0].id}"


def test_the_sidebar_says_a_storyboard_is_being_made_never_that_nothing_is(tmp_path, monkeypatch) -> None:
    """Seen at 1400 px: the card said "being made" while the sidebar under it said "Nothing is being
    made right now" (it counted single videos only; a batch at work read the same)."""
    at = open_page(monkeypatch, tmp_path / "data")
    for key, words in zip(shot_keys(at, "prompt"), ["a kite rises", "the kite over the sea"], strict=True):
        at.text_area(key=key).set_value(words)
    at.text_input(key="storyboard_name").set_value("Kite film")
    click(at, "Make all")
    said = sidebar_text(at)
    assert "Storyboard “Kite film”: being made" in said  # its shot count is the page's own line
    assert "Nothing is being made" not in said


def test_the_film_in_the_library_lists_its_shots_and_goes_with_them(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    at = open_page(monkeypatch, data)
    for key, words in zip(shot_keys(at, "prompt"), ["a red kite", "a blue kite"], strict=True):
        at.text_area(key=key).set_value(words)
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    click(at, "Make all")
    run_until(at, lambda at: at.get("video"), timeout=60)
    store = Store(default_url(data))
    (film,), _ = store.search(LibraryFilter(text="kite"))
    shots = store.shots_of(film.storyboard_id)
    files = [data / "media" / g.video_path for g in (film, *shots.values())]
    assert all(f.exists() for f in files)

    at.switch_page("app_pages/library.py")
    at.query_params["generation"] = str(film.id)
    at.run()
    assert not at.exception, at.exception
    said = texts(at)
    assert "**2 shots** · " in said and "Shot 1 · a red kite" in said and "Shot 2 · a blue kite" in said
    assert "Storyboard · 16:9 · 16 s" in said
    assert not [e for e in at.expander if e.label == "Copy as code"]
    assert not [b for b in at.button if b.label == "Re-run"]
    click(at, "Delete")
    click(at, "Yes, delete")
    assert not any(f.exists() for f in files)  # the film and its shots, with their files
    assert store.search(LibraryFilter())[1] == 0 and store.shots_of(film.storyboard_id) == {}


def test_a_shot_on_a_model_that_is_down_says_so_and_nothing_can_be_sent(tmp_path, monkeypatch) -> None:
    from .test_app_models import take_down

    at = open_page(monkeypatch, tmp_path / "data")
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    at.selectbox(key=shot_keys(at, "model")[1]).set_value("sora-2")
    at.run()
    take_down(at, "sora-2", "Sora 2 is being retired")
    assert "choose another model for this shot" in beside(at, shot_keys(at, "model")[1])
    assert "choose another model" not in beside(at, shot_keys(at, "model")[0])
    assert next(b for b in at.button if b.label == "Make all").disabled
    at.selectbox(key=shot_keys(at, "model")[1]).set_value("veo3.1-fast")
    at.run()
    assert not next(b for b in at.button if b.label == "Make all").disabled


def test_a_refused_shot_says_what_go_on_costs(tmp_path, monkeypatch) -> None:
    """Going on sends the refused shot again, charged again (the refused one is not refunded): the
    price is said beside the button."""
    at = open_page(monkeypatch, tmp_path / "data")
    for key, words in zip(shot_keys(at, "prompt"), ["a kite rises", "the kite in gore"], strict=True):
        at.text_area(key=key).set_value(words)
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    click(at, "Make all")
    run_until(at, lambda at: any(b.label == "Go on" for b in at.button), timeout=60)
    veo = price("veo3.1-fast")
    assert f"Go on makes shot 2 again: {credits_text(veo)}" in texts(at)
    assert "a refused try stays charged: the service does not refund refusals" in texts(at)
    store = Store(default_url(tmp_path / "data"))
    try:
        assert store.totals()["spent"] == 2 * veo  # the Library's figure: both sends were paid
    finally:
        store.dispose()


def test_progress_says_each_shot_in_words_and_shows_the_frame_of_each_made_one(tmp_path, monkeypatch) -> None:
    """Issue 20, 6: one line per shot with its state in words (not "Shots 1 · 28% · 2 waiting") and,
    once a shot is made, its frame."""
    from studio.db import FailureReason, Status

    at = open_page(monkeypatch, tmp_path / "data")
    click(at, "Add a shot")
    for key, words in zip(shot_keys(at, "prompt"), ["a kite rises", "the kite in gore", "the kite lands"], strict=True):
        at.text_area(key=key).set_value(words)
    for key in shot_keys(at, "model"):
        at.selectbox(key=key).set_value("veo3.1-fast")
    click(at, "Make all")
    run_until(at, lambda at: any(b.label == "Go on" for b in at.button), timeout=60)
    said = texts(at)
    assert f"**Shot 1** · {Status.SUCCEEDED.label}" in said
    assert f"**Shot 2** · {Status.FAILED.label}: {FailureReason.INPUT_MODERATION.short}" in said
    assert f"**Shot 3** · {Status.QUEUED.label}" in said
    assert "2 waiting" not in said and "3 waiting" not in said
    assert len(at.get("image")) == 1  # the made shot's frame, and only its own


def test_a_shot_being_made_says_how_far_it_is_in_words() -> None:
    from types import SimpleNamespace

    from studio.db import Status
    from studio.storyboard import shot_progress

    rows = {0: SimpleNamespace(status=Status.SUCCEEDED, progress=100, failure_reason=None),
            1: SimpleNamespace(status=Status.RUNNING, progress=28, failure_reason=None)}
    share, lines = shot_progress(rows, 3)
    assert [words for _, words, _ in lines] == ["Ready", "Making · 28%", "Waiting"]
    assert share == (1 + 0.28) / 3


def test_a_sora_shot_offers_the_characters_by_the_names_people_gave_them(tmp_path, monkeypatch) -> None:
    at = open_page(monkeypatch, tmp_path / "data")
    account = at.session_state["connection"].account
    ready_character(Store(default_url(tmp_path / "data")), "Goldie", "swift_maple.82dc77", account=account)
    prompt, model = shot_keys(at, "prompt")[0], shot_keys(at, "model")[0]
    at.selectbox(key=model).set_value("sora-2")
    at.text_area(key=prompt).set_value("A beach at noon, @go")
    at.run()
    assert "Characters: @Goldie" in texts(at)
    click(at, "@Goldie")
    assert at.text_area(key=prompt).value == "A beach at noon, @Goldie "


def test_each_empty_shot_offers_an_example_that_fills_that_shot_only(tmp_path, monkeypatch) -> None:
    """Issue 20 (9): an example is offered on a button, not shown grey as if the shot were written."""
    at = open_page(monkeypatch, tmp_path / "data")
    first, *others = shot_keys(at, "prompt")
    assert others, "the plan starts with more than one shot"
    assert at.text_area(key=first).placeholder.startswith("What is seen")
    offers = [b for b in at.button if b.label == "Use an example"]
    assert len(offers) == len(others) + 1  # one a shot
    offers[0].click()
    at.run()
    assert not at.exception, at.exception
    assert len(prompts(at)[0]) > 20 and all(not p for p in prompts(at)[1:])
    assert len([b for b in at.button if b.label == "Use an example"]) == len(others)


def test_a_storyboard_whose_key_is_refused_says_nothing_is_sent_and_why(tmp_path, monkeypatch, make_sandbox) -> None:
    """With a refused key the card read "Being made · 0 of 2 shots made" and the sidebar "being made",
    while no shot could be sent: a new key is a new account, so the shots wait for this one."""
    service = make_sandbox(api_keys=("sk-the-good-one-1234",))
    at = new_app(monkeypatch, tmp_path / "data", GRSAI_API_KEY="sk-wrong-key-ZZ9876", GRSAI_BASE_URL=service.base_url)
    at.switch_page("app_pages/storyboard.py")
    at.run()
    for key, words in zip(shot_keys(at, "prompt"), ["a lighthouse at dawn", "its lamp turns on"], strict=True):
        at.text_area(key=key).set_value(words)
    at.run()
    click(at, "Make all")
    assert not at.exception, at.exception
    card = " ".join(w.value for w in at.warning)
    assert "refused this storyboard's API key" in card and "nothing is charged" in card, card
    assert "Being made" not in texts(at)
    assert "waiting: the service refused the key" in sidebar_text(at) and "being made" not in sidebar_text(at)
    assert "ZZ9876" not in texts(at) + sidebar_text(at)
