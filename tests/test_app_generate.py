"""Generate, through AppTest: submit, watch progress to done, see the video; bad input explained."""

from __future__ import annotations

import pytest

from studio.store import LibraryFilter, Store, default_url

from .apptest_helpers import generate, new_app, run_until, sandbox_counters, sidebar_text, texts, widget


@pytest.fixture
def app(tmp_path, monkeypatch):
    return new_app(monkeypatch, tmp_path / "data")


def stored(tmp_path) -> list:
    return Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=100)[0]


def test_with_no_key_the_app_runs_on_the_sandbox_and_says_so(app) -> None:
    assert app.session_state["connection"].is_sandbox
    assert "Sandbox" in sidebar_text(app) and "no key" in sidebar_text(app)
    assert app.sidebar.metric[0].value == "100.00"
    assert "costs **0.08** credits" in texts(app)


def test_a_prompt_becomes_a_stored_video_that_plays_inline(app, tmp_path) -> None:
    generate(app, "A bottle of sparkling lemonade on a sunny café table")
    assert app.get("progress"), "progress should show while the video is made"
    assert "1 video is being made" in texts(app)
    run_until(app, lambda at: at.get("video"))
    assert any("ready" in t.value for t in app.toast)
    [row] = stored(tmp_path)
    assert row.status == "succeeded" and row.pid.startswith("s_") and row.pid in texts(app)
    assert (
        tmp_path / "data" / "media" / row.video_path
    ).stat().st_size > 10_000  # a copy, not the provider's link
    assert (tmp_path / "data" / "media" / row.thumb_path).exists()
    assert row.cost == pytest.approx(0.08) and sandbox_counters(app)["accepted_video"] == 1
    assert app.sidebar.metric[0].value == "99.92"


@pytest.mark.parametrize(
    ("widgets", "message"),
    [
        ({}, "Write a prompt first"),
        ({"generate_remix_pid": "s_not-a-pid"}, "s_ followed by 32 characters"),
        ({"generate_image_url": "not a link"}, "web address (https://...) or an image file"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_sent_or_stored(app, tmp_path, widgets, message) -> None:
    generate(app, "   " if not widgets else "a fine prompt", **widgets)
    assert message in "\n".join(e.value for e in app.error)
    assert not app.get("progress")
    assert sandbox_counters(app).get("received_video", 0) == 0
    assert stored(tmp_path) == []


def test_a_refused_prompt_is_explained_refunded_and_can_be_put_back(app, tmp_path) -> None:
    generate(app, "a scene full of gore")
    run_until(app, lambda at: at.error)
    message = app.error[0].value
    assert "content moderation" in message and "Rephrase" in message and "refunded" in message
    assert stored(tmp_path)[0].cost == 0
    widget(app, "generate_prompt").set_value("something else")
    next(b for b in app.button if b.label == "Use this prompt again").click()
    app.run()
    assert widget(app, "generate_prompt").value == "a scene full of gore"


def test_several_videos_at_once_are_counted_not_spinners(app) -> None:
    for prompt in ("a red kite", "a blue kite", "a green kite"):
        generate(app, prompt)
    assert "3 videos are being made" in texts(app)
    run_until(app, lambda at: len(at.get("video")) == 3)
    assert sandbox_counters(app)["accepted_video"] == 3


def test_a_double_click_sends_once(app) -> None:
    generate(app, "a lighthouse")
    generate(app, "a lighthouse")
    assert "just sent" in "\n".join(i.value for i in app.info)
    assert sandbox_counters(app)["received_video"] == 1


def test_remix_this_fills_the_remix_target_and_makes_a_remix(app, tmp_path) -> None:
    generate(app, "a harbour at sunrise")
    run_until(app, lambda at: at.get("video"))
    original = stored(tmp_path)[0]
    next(b for b in app.button if b.label == "Remix this").click()
    app.run()
    assert widget(app, "generate_remix_pid").value == original.pid
    widget(app, "generate_prompt").set_value("the same harbour in a snowstorm")
    next(b for b in app.button if b.label == "Generate").click()
    app.run()
    run_until(app, lambda at: len(at.get("video")) == 2)
    remix = next(g for g in stored(tmp_path) if g.id != original.id)
    assert remix.kind == "remix" and remix.remix_target_id == original.pid and remix.status == "succeeded"


def test_recent_prompts_can_be_picked_again(app) -> None:
    generate(app, "a teapot pouring itself")
    widget(app, "generate_prompt").set_value("")
    app.run()
    next(b for b in app.button if b.label.startswith("a teapot")).click()
    app.run()
    assert widget(app, "generate_prompt").value == "a teapot pouring itself"
