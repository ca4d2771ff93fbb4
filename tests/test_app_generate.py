"""The Generate page, driven through Streamlit's AppTest against the app's own in-process sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("SORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SANDBOX_TASK_SECONDS", "1")
    monkeypatch.delenv("GRSAI_API_KEY", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception
    return at


def sandbox_counters(at: AppTest) -> dict:
    base_url = at.session_state["connection"].base_url
    return httpx.get(f"{base_url}/sandbox/stats").json()["counters"]


def run_until(at: AppTest, done, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the page never got there"
        time.sleep(0.25)
        at.run()
        assert not at.exception


def generate(at: AppTest, prompt: str) -> None:
    at.text_area(key="generate_prompt").set_value(prompt)
    at.button[0].click()
    at.run()
    assert not at.exception


def test_with_no_key_the_app_runs_on_the_sandbox_and_says_so(app: AppTest) -> None:
    assert app.session_state["connection"].is_sandbox
    sidebar_text = " ".join(m.value for m in app.sidebar.markdown) + " ".join(
        c.value for c in app.sidebar.caption
    )
    assert "Sandbox" in sidebar_text and "no key" in sidebar_text
    assert app.sidebar.metric[0].value == "100.00"


def test_a_prompt_becomes_a_video_that_plays_inline(app: AppTest) -> None:
    generate(app, "A bottle of sparkling lemonade on a sunny café table")
    assert app.get("progress"), "progress should show while the video is made"
    assert "1 video is being made" in [c.value for c in app.caption]
    run_until(app, lambda at: at.get("video"))
    captions = " ".join(c.value for c in app.caption)
    assert "pid `s_" in captions
    assert any("ready" in t.value for t in app.toast)
    assert app.get("download_button")
    assert sandbox_counters(app)["accepted_video"] == 1


def test_an_empty_prompt_is_explained_next_to_the_field_and_nothing_is_sent(app: AppTest) -> None:
    generate(app, "   ")
    assert "Write a prompt first" in app.error[0].value
    assert not app.get("progress")
    assert sandbox_counters(app).get("received_video", 0) == 0


def test_a_refused_prompt_is_explained_in_words_with_the_refund(app: AppTest) -> None:
    generate(app, "a scene full of gore")
    run_until(app, lambda at: at.error)
    message = app.error[0].value
    assert "content moderation" in message and "Rephrase" in message and "refunded" in message


def test_several_videos_can_be_made_at_once(app: AppTest) -> None:
    for prompt in ("a red kite", "a blue kite", "a green kite"):
        generate(app, prompt)
    assert "3 videos are being made" in [c.value for c in app.caption]
    run_until(app, lambda at: len(at.get("video")) == 3)
    assert sandbox_counters(app)["accepted_video"] == 3
