"""Images, through AppTest: each model's fields, bad input refused beside its field, GPT image
variants made once however often the button is pressed, shown in a grid, and "Animate this" opening
Generate with the image as the video's start."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from components.spec_form import widget_key
from grsai_api import MODELS, models
from sandbox.control import control_headers
from studio.db import LibraryFilter, Status, Store, default_url

from .apptest_helpers import (
    beside,
    click,
    new_app,
    run_until,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page("app_pages/images.py")
    at.run()
    assert not at.exception, at.exception
    return at


def stored(tmp_path) -> list:
    return Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=100)[0]


def test_each_image_model_shows_its_own_fields(app):
    assert app.session_state["images_model"] == "nano-banana-2"  # the newest public client's default
    assert widget(app, "images_size").options and "How many" in {w.label for w in app.segmented_control}
    assert widget(app, "images_aspect_ratio").options[-1] == "8:1"  # the ratios it added
    assert "1,200 credits (¥0.06)" in texts(app)
    app.segmented_control(key="images_family").set_value("GPT image")
    app.run()
    names = {w.label for w in app.segmented_control}
    assert "Variants" in names and "Size" not in names
    assert "600 credits (¥0.03)" in texts(app)


def test_an_empty_prompt_or_a_local_path_is_refused_beside_its_field(app, tmp_path):
    click(app, "Make images")
    assert "Write a prompt first" in beside(app, "images_prompt")
    app.text_area(key="images_prompt").set_value("a teapot")
    widget(app, "images_ref_urls").set_value("file:///etc/passwd")
    app.run()
    click(app, "Make images")
    assert "web address" in beside(app, "images_ref_urls")
    assert stored(tmp_path) == []


def test_gpt_image_variants_are_made_once_and_shown_in_a_grid(app, tmp_path):
    app.segmented_control(key="images_family").set_value("GPT image")
    app.run()
    widget(app, "images_variants").set_value(3)
    app.text_area(key="images_prompt").set_value("three takes on a paper crane")
    app.run()
    click(app, "Make images")
    click(app, "Make images")  # a second click is the same request
    [row] = stored(tmp_path)
    assert row.model == "gpt-image-2" and row.options["variants"] == 3
    run_until(app, lambda at: "Animate this" in {b.label for b in at.button}, timeout=30)
    [row] = stored(tmp_path)
    assert row.status == Status.SUCCEEDED and len(row.files) == 3
    assert sum(1 for b in app.button if b.label == "Animate this") == 3
    counters = httpx.get(
        f"{service_url(app)}/sandbox/stats", headers=control_headers(service_url(app))
    ).json()["counters"]
    assert counters.get("received_image") == 1


def test_animate_this_opens_generate_with_the_image_as_the_start(app, tmp_path):
    app.text_area(key="images_prompt").set_value("a red kite on white")
    app.run()
    click(app, "Make images")
    run_until(app, lambda at: "Animate this" in {b.label for b in at.button}, timeout=30)
    [row] = stored(tmp_path)
    next(b for b in app.button if b.label == "Animate this").click()
    app.run()
    assert not app.exception, app.exception
    assert app.session_state["generate_model"] == "sora-2"  # the best video model that is up
    carried = app.session_state["generate_carried"]
    assert carried and carried[0]["from"] == "Images" and carried[0]["data"].startswith(b"\x89PNG")
    assert "Carried over from Images" in texts(app)
    assert app.text_area(key="generate_prompt").value == "a red kite on white"  # its words come too


def test_a_model_that_is_down_is_refused_with_the_closest_offered(app, tmp_path):
    from components.resources import refresh_models

    httpx.patch(
        f"{service_url(app)}/sandbox/config",
        headers=control_headers(service_url(app)),
        json={"models": {"nano-banana-2": {"available": False}}},
    ).raise_for_status()
    refresh_models()
    app.run()
    assert "Nano Banana 2 is down right now" in texts(app)
    assert next(b for b in app.button if b.label == "Make images").disabled
    assert any(b.label.startswith("Use Nano Banana instead") for b in app.button)  # the nearest price


def _choose(app, model: str) -> None:
    spec = MODELS[model]
    widget(app, "images_family").set_value(spec.family)
    app.run()
    if app.session_state["images_model"] != model:
        widget(app, "images_model").set_value(model)
        app.run()
    assert not app.exception, app.exception
    assert app.session_state["images_model"] == model


def _shown(app) -> set[str]:
    """The labels of every field widget and file list on the page."""
    found = {w.label for kind in ("segmented_control", "selectbox", "slider", "toggle") for w in getattr(app, kind)}
    return found | {e.label for e in app.expander}


@pytest.mark.parametrize("model", [m.id for m in models("image")])
def test_every_image_model_shows_the_fields_its_catalogue_entry_lists(app, model):
    """Each image model of the revision (Nano Banana 2 and its channels, the Pro channels, GPT image
    2 / 2.5 with quality, background and mask …): its form is its entry, no more, no less."""
    _choose(app, model)
    spec = MODELS[model]
    shown = _shown(app)
    for field in spec.fields.values():
        key = widget_key("images", field)
        if field.kind in ("images", "audios"):
            assert any(label.startswith(field.title) for label in shown), (field.name, shown)
            continue
        options = [str(o).lower() for o in widget(app, key).options]
        assert options == [str(v).lower() for v in field.values], field.name
        assert widget(app, key).value == field.default, field.name
    others = {f.title for m in models("image") for f in m.fields.values()} - {f.title for f in spec.fields.values()}
    assert not {label for label in shown if any(label.startswith(title) for title in others)}
    assert f"{spec.price:,} credits" in texts(app)


def test_a_transparent_gpt_image_2_5_is_made_from_the_page(app, tmp_path):
    """Quality and background were dropped between the page and the service (the store kept a
    hand-typed list of fields): a transparent picture came back opaque."""
    _choose(app, "gpt-image-2.5")
    spec = MODELS["gpt-image-2.5"]
    widget(app, widget_key("images", spec.fields["quality"])).set_value("high")
    widget(app, widget_key("images", spec.fields["background"])).set_value("transparent")
    app.text_area(key="images_prompt").set_value("a glass bottle, cut out")
    app.run()
    click(app, "Make images")
    run_until(app, lambda at: "Animate this" in {b.label for b in at.button}, timeout=30)
    [row] = stored(tmp_path)
    assert (row.model, row.status) == ("gpt-image-2.5", Status.SUCCEEDED)
    assert (row.options["quality"], row.options["background"]) == ("high", "transparent")
    picture = Image.open(tmp_path / "data" / "media" / row.files[0]["path"])
    assert picture.mode == "RGBA" and picture.getextrema()[3][0] == 0  # see-through, as asked


def test_an_empty_prompt_says_what_to_write_and_an_example_is_one_click_away(app) -> None:
    """Issue 20 (9): the grey example prompt looked filled in; "Use an example" fills it for real."""
    field = app.text_area(key="images_prompt")
    assert field.placeholder.startswith("Say what is seen") and field.value in ("", None)
    click(app, "Use an example")
    example = app.text_area(key="images_prompt").value
    assert len(example) > 30 and example != field.placeholder
    assert not any(b.label == "Use an example" for b in app.button)
