"""Generate with every video model, through AppTest: the picker's default is the best model that is
up, each model shows its own fields only, a model that is down is refused in words with the offer of
the closest one that is up (prompt and images carried across), and a Veo video is made from the page."""

from __future__ import annotations

import httpx
import pytest

from components.spec_form import widget_key
from grsai_api import MODELS, models
from sandbox.control import control_headers
from studio.db import LibraryFilter, Status, Store, default_url

from .apptest_helpers import (
    beside,
    click,
    new_app,
    run_until,
    sandbox_counters,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)
from .conftest import png


@pytest.fixture
def app(tmp_path, monkeypatch):
    return new_app(monkeypatch, tmp_path / "data")


def stored(tmp_path) -> list:
    return Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=100)[0]


def take_down(at, model: str, message: str = "") -> None:
    from components.resources import refresh_models

    httpx.patch(
        f"{service_url(at)}/sandbox/config",
        headers=control_headers(service_url(at)),
        json={"models": {model: {"available": False, "message": message}}},
    ).raise_for_status()
    refresh_models()
    at.run()


def family(at, name: str) -> None:
    at.segmented_control(key="generate_family").set_value(name)
    at.run()
    assert not at.exception, at.exception


def labels(at) -> set[str]:
    found = set()
    for kind in ("segmented_control", "selectbox", "slider", "number_input", "text_input", "text_area", "file_uploader"):
        found |= {w.label for w in getattr(at, kind)}
    return found | {e.label for e in at.expander}


def test_the_default_is_the_best_model_that_is_up_and_its_price_is_shown(app):
    assert app.session_state["generate_model"] == "sora-2"
    assert "1,600 credits (¥0.08)" in texts(app)
    take_down(app, "sora-2", "retired by OpenAI")
    app.session_state["generate_model"] = ""  # a new visitor: no choice made yet
    app.run()
    assert app.session_state["generate_model"] == "veo3.1-fast"
    assert "2,400 credits (¥0.12)" in texts(app)


def test_each_family_shows_its_own_fields_only(app):
    sora = labels(app)
    assert (
        {"Duration", "Size"} <= sora
        and any("Remix" in x for x in sora)
        and any("Characters" in x for x in sora)
    )
    family(app, "Veo 3.1")
    veo = labels(app)
    assert {"First frame", "Last frame", "Veo 3.1 version"} <= veo
    assert "Size" not in veo and not any("Remix" in x for x in veo)
    assert list(widget(app, "generate_duration").options) == ["4 s", "6 s", "8 s"]  # Veo's optional duration
    assert widget(app, "generate_duration").value == 8 and "8 s unless you choose" in texts(app)
    widget(app, "generate_model").set_value("veo3.1-pro-4k")
    app.run()
    assert "14,000 credits (¥0.70)" in texts(app)
    family(app, "MiniMax")
    minimax = labels(app)
    assert {"Resolution", "Duration", "Seed (optional)"} <= minimax and "First frame" not in minimax
    assert any("Reference sounds" in x for x in minimax)  # H3's audios, from its catalogue entry
    assert widget(app, "generate_duration").value == 10  # its own default, not Sora's widget's first value


def test_a_model_that_is_down_is_refused_in_words_and_the_closest_is_offered(app, tmp_path):
    app.text_area(key="generate_prompt").set_value("a lighthouse keeper waves")
    widget(app, "generate_image_url").set_value("https://example.com/keeper.png")
    app.run()
    take_down(app, "sora-2", "retired by OpenAI")
    said = texts(app)
    assert "Sora 2 is down right now: retired by OpenAI" in said and "nothing can be sent to it" in said
    assert next(b for b in app.button if b.label == "Generate").disabled
    offer = next(b for b in app.button if b.label.startswith("Use Veo 3.1 Fast · 720p instead"))
    offer.click()
    app.run()
    assert app.session_state["generate_model"] == "veo3.1-fast"
    assert app.text_area(key="generate_prompt").value == "a lighthouse keeper waves"  # carried
    assert "Carried over from Sora 2" in texts(app)
    click(app, "Generate")
    [row] = stored(tmp_path)
    assert row.model == "veo3.1-fast" and row.options["first_frame_url"] == "https://example.com/keeper.png"
    assert sandbox_counters(app).get("received_video", 0) == 0  # nothing ever went to sora-2


def test_a_model_that_is_down_is_named_once_and_the_services_words_only_when_they_add_a_reason(app):
    """Issue 20 (9): "Sora 2 is down right now: sora-2 is temporarily unavailable" said it twice, the
    second time in the service's model id; a reason of its own ("retired by OpenAI") stays."""
    take_down(app, "sora-2")  # the service's own words: "sora-2 is temporarily unavailable"
    said = texts(app)
    assert "Sora 2 is down right now, so nothing can be sent to it." in said
    assert "sora-2" not in said and "temporarily unavailable" not in said
    take_down(app, "sora-2", "Sora 2 is currently unavailable.")
    assert "Sora 2 is down right now, so nothing can be sent to it." in texts(app)
    take_down(app, "sora-2", "sora-2 is down for maintenance until 14:00 UTC")
    assert "Sora 2 is down right now: down for maintenance until 14:00 UTC, so" in texts(app)


def test_a_price_grsai_does_not_publish_says_what_it_is_and_where_to_change_it(app):
    """Issue 20 (9): "H3 — 3,000 credits … an estimate — set it in Settings" read like a form to fill."""
    family(app, "MiniMax")
    said = texts(app)
    assert (
        "GrsAI does not publish this model's price: 3,000 credits (¥0.15) is this studio's guess. "
        "To change it for everyone, edit it under Settings → Prices."
    ) in said
    assert "an estimate — set it" not in said


def test_a_minimax_request_over_its_length_at_1080p_is_refused_next_to_duration(app, tmp_path):
    family(app, "MiniMax")
    widget(app, "generate_resolution").set_value("1080p")
    widget(app, "generate_duration").set_value(12)
    app.text_area(key="generate_prompt").set_value("a long pan over hills")
    app.run()
    click(app, "Generate")
    assert "at most 10 seconds" in beside(app, "generate_duration")
    assert stored(tmp_path) == []


def test_a_veo_video_from_a_first_frame_is_made_from_the_page(app, tmp_path):
    family(app, "Veo 3.1")
    widget(app, "generate_first_file").set_value(("start.png", png((10, 180, 90)), "image/png"))
    app.text_area(key="generate_prompt").set_value("a green field at dawn")
    app.run()
    click(app, "Generate")
    run_until(app, lambda at: at.get("video"), timeout=40)
    [row] = stored(tmp_path)
    assert row.status == Status.SUCCEEDED and row.model == "veo3.1-fast" and row.cost == 2_400
    assert row.options["first_frame_url"].startswith("file:")
    assert "Veo 3.1 Fast · 720p" in texts(app)  # the card names the model


def test_remix_and_characters_say_when_sora_2_is_down(app):
    take_down(app, "sora-2", "retired")
    for page in ("app_pages/remix.py", "app_pages/characters.py"):
        app.switch_page(page)
        app.run()
        assert not app.exception, app.exception
        assert (
            "Sora 2 is down right now: retired" in texts(app)
            and "nothing can be sent" in texts(app)
            or ("none can be made now" in texts(app))
        )


def test_a_portrait_video_is_drawn_narrow_so_its_buttons_stay_in_view(app, tmp_path):
    """Issue 11, fit and finish: 9:16 videos were 722 px tall on Generate (1,286 in the Library)."""
    app.text_area(key="generate_prompt").set_value("a tall waterfall")
    widget(app, "generate_aspect_ratio").set_value("9:16")
    app.run()
    click(app, "Generate")
    run_until(app, lambda at: at.get("video"), timeout=40)
    [video] = app.get("video")
    assert video.proto.width_config.pixel_width == 320  # 569 px tall at most


@pytest.mark.parametrize("model", [m.id for m in models("video")])
def test_every_video_model_shows_the_fields_its_catalogue_entry_lists(app, model):
    """Sora 2, each Veo 3.1 tier with its optional duration, MiniMax H3 with its sounds: the form's
    choices, ranges and file lists are the entry's, and no other model's field is shown."""
    spec = MODELS[model]
    family(app, spec.family)
    if app.session_state["generate_model"] != model:
        widget(app, "generate_model").set_value(model)
        app.run()
    assert app.session_state["generate_model"] == model
    shown = labels(app)
    # Sora's and Veo's pictures and ratio are laid out by the page itself (frames or references);
    # every other field comes from the form builder over the entry.
    laid_out = {"aspect_ratio", "image_url", "first_frame_url", "last_frame_url", "reference_urls"}
    for field in spec.fields.values():
        if spec.api in ("sora", "veo") and field.name in laid_out:
            continue
        if field.kind in ("images", "audios"):
            assert any(label.startswith(field.title) for label in shown), (field.name, shown)
            continue
        control = widget(app, widget_key("generate", field))
        if getattr(control, "options", None):  # a choice; else a range (slider, number)
            options = [str(o).lower().removesuffix(" s") for o in control.options]
            assert options == [str(v).lower() for v in field.values], field.name
        else:
            assert (control.min, control.max) == (field.minimum, field.maximum), field.name
    others = {f.title for m in models("video") for f in m.fields.values()} - {f.title for f in spec.fields.values()}
    assert not {label for label in shown if label in others}, others
