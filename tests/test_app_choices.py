"""A control that must always have a choice ("How many", a ratio, a view) is drawn with one even
when the page state hands it back empty: a run cut short on a loaded machine, or two runs at once,
once left Generate's "How many" with no choice, and the page showed "Something went wrong" where its
form should be, on every run after (CI, December 2026)."""

from __future__ import annotations

import pytest

from .apptest_helpers import (
    generate,
    new_app,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
)

# (page, the control's key, the choice it is drawn with)
MUST_CHOOSE = [
    ("app_pages/generate.py", "generate_count", 1),
    ("app_pages/images.py", "images_count", 1),
    ("app_pages/batch.py", "batch_way", "Upload a CSV"),
    ("app_pages/characters.py", "characters_clip_way", "Upload a file"),
    ("app_pages/library.py", "library_view", "Grid"),
    ("app_pages/storyboard.py", "storyboard_ratio", "16:9"),
]


@pytest.mark.parametrize(("page", "key", "first"), MUST_CHOOSE, ids=[key for _, key, _ in MUST_CHOOSE])
def test_a_control_handed_back_empty_is_drawn_with_its_first_choice(monkeypatch, tmp_path, page, key, first) -> None:
    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page(page).run()
    assert not at.exception, at.exception
    at.session_state[key] = None  # what a cut-short run left behind
    at.run()
    assert not at.exception, at.exception
    assert "Something went wrong" not in texts(at)
    [control] = [w for w in at.get("button_group") if w.key == key]
    assert control.value == first, f"{key} was drawn with {control.value!r}"


def test_generate_with_how_many_handed_back_empty_prices_one_video_and_sends_it(monkeypatch, tmp_path) -> None:
    at = new_app(monkeypatch, tmp_path / "data")
    at.session_state["generate_count"] = None
    at.run()
    assert "This video costs **1,600 credits" in texts(at)
    generate(at, "A kite over a windy beach")
    assert not at.exception, at.exception
    assert "1 video is being made" in texts(at)
