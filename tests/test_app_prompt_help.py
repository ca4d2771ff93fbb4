"""Prompt help on the pages, through AppTest against the app's own sandbox: each button gives a
suggestion beside the prompt with its differences and its cost, the person takes it, edits it or
leaves it, no video or image create is ever sent by it, and a chat model that is down turns the
buttons off with the reason."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from sandbox.control import control_headers
from studio.db import LibraryFilter, Store, default_url

from .apptest_helpers import (
    button,
    click,
    creates,
    generate,
    new_app,
    remix_a_made_video,
    run_until,
    sandbox_counters,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
)

CHAT_PRICE = 20  # the catalogue's price of the default chat model (gemini-3-flash)


@pytest.fixture
def app(tmp_path, monkeypatch):
    return new_app(monkeypatch, tmp_path / "data")


def shown(at) -> str:
    """Everything the page says, the plain-text elements (st.text) included."""
    return texts(at) + "\n" + "\n".join(str(t.value) for t in at.text)


def no_creates(at) -> bool:
    """No video or image create reached the sandbox: only chat calls."""
    counters = sandbox_counters(at)
    return all(v == 0 for k, v in counters.items() if k.startswith("received_") and k != "received_chat")


def spent(tmp_path) -> int:
    store = Store(default_url(tmp_path / "data"))
    try:
        return store.spent()
    finally:
        store.dispose()


def test_improve_shows_the_suggestion_with_its_differences_and_use_this_takes_it(app, tmp_path) -> None:
    app.text_area(key="generate_prompt").set_value("a red kite over the sea")
    app.run()
    assert "20 credits" in texts(app) and "only when you click" in texts(app)
    assert "rule-based stand-in" in texts(app)  # the sandbox writes these, and says so
    click(app, "Improve")
    said = shown(app)
    # the words put in are marked in green, the ones taken out struck through in red: no "[-a-][+A+]"
    # notation for a person to decode (seen at 1400 px)
    assert ":green-background[; camera" in said and ":red-background[~~a~~]" in said
    assert "[+" not in said and "[-" not in said
    assert "camera" in said and "Your prompt is unchanged" in said
    assert app.text_area(key="generate_prompt").value == "a red kite over the sea"  # not taken by itself
    click(app, "Use this")
    taken = app.text_area(key="generate_prompt").value
    assert taken.startswith("A red kite over the sea;") and "camera" in taken
    assert spent(tmp_path) == CHAT_PRICE  # the one spending figure counts the call
    assert sandbox_counters(app).get("received_chat") == 1 and no_creates(app)


def test_edit_then_use_puts_the_edited_words_in_and_leave_it_changes_nothing(app) -> None:
    app.text_area(key="generate_prompt").set_value("un chat sur la plage")
    app.run()
    click(app, "Translate to English")
    assert "A cat on the beach" in shown(app)
    click(app, "Edit")
    app.text_area(key="generate_prompt_help_edited").set_value("A grey cat on the beach")
    click(app, "Use this")
    assert app.text_area(key="generate_prompt").value == "A grey cat on the beach"
    click(app, "3 ideas")
    assert all(f"{n}. A grey cat on the beach" in shown(app) for n in (1, 2, 3))
    click(app, "Leave it")
    assert app.text_area(key="generate_prompt").value == "A grey cat on the beach"
    assert "1. A grey cat" not in shown(app)
    click(app, "3 ideas")
    click(app, "Use idea 2")
    assert "handheld tracking shot" in app.text_area(key="generate_prompt").value
    assert no_creates(app)


def test_user_text_in_a_suggestion_is_shown_as_text(app) -> None:
    app.text_area(key="generate_prompt").set_value("a **bold** [link](https://example.com) <b>kite</b>")
    app.run()
    click(app, "Improve")
    plain_texts = [str(t.value) for t in app.text]
    assert any("<b>kite</b>" in t and "[link](https://example.com)" in t for t in plain_texts)
    assert not any("<b>kite</b>" in m.value for m in app.markdown)


def described_into(app, prompt_key: str) -> None:
    """Describe this picture (a 120x60 blue one), then Use this: the description is the prompt, and
    nothing went to a video or image model."""
    click(app, "Describe this picture")
    said = shown(app)
    assert "120x60" in said and "blue" in said
    click(app, "Use this")
    assert app.text_area(key=prompt_key).value.startswith("A wide 120x60 picture, mostly blue")
    assert no_creates(app)


def test_describe_this_picture_reads_the_reference_image(app) -> None:
    assert "Describe this picture" not in [b.label for b in app.button]  # no picture, no button
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (30, 80, 220)).save(buffer, format="PNG")
    app.session_state["generate_carried"] = [{"data": buffer.getvalue(), "from": "Images"}]
    app.run()
    described_into(app, "generate_prompt")


def test_a_chat_model_that_is_down_turns_the_buttons_off_with_the_reason(app) -> None:
    httpx.patch(
        f"{service_url(app)}/sandbox/config",
        headers=control_headers(service_url(app)),
        json={"models": {m: {"available": False, "message": "resting"} for m in ("gemini-3-flash", "gemini-3.1-pro", "gpt-5.4")}},
    ).raise_for_status()
    from components.resources import refresh_models

    refresh_models()
    app.text_area(key="generate_prompt").set_value("a red kite")
    app.run()
    assert button(app, "Improve").disabled and button(app, "3 ideas").disabled
    assert "Prompt help is off" in texts(app) and "resting" in texts(app)


def test_images_improve_adds_composition_not_camera_moves(app) -> None:
    app.switch_page("app_pages/images.py")
    app.run()
    app.text_area(key="images_prompt").set_value("a teapot on a table")
    app.run()
    click(app, "Improve")
    click(app, "Use this")
    taken = app.text_area(key="images_prompt").value
    assert taken.startswith("A teapot on a table;") and "composition" in taken and "camera" not in taken
    assert no_creates(app)


def test_a_brief_becomes_editable_shots_and_nothing_is_made_before_make_all(app, tmp_path) -> None:
    app.switch_page("app_pages/storyboard.py")
    app.run()
    app.text_area(key="storyboard_brief").set_value("a 20-second ad for a trail sneaker, three shots")
    click(app, "Plan the shots")
    prompts = [t.value for t in app.text_area if (t.key or "").startswith("storyboard_prompt_")]
    assert len(prompts) == 3 and all("trail sneaker" in p for p in prompts)
    assert prompts[0].startswith("Shot 1: establishing wide shot")
    lengths = [app.session_state[f"storyboard_duration_{uid}"] for uid in app.session_state["storyboard_order"]]
    assert len(lengths) == 3 and len(set(lengths)) == 1 and lengths[0] in (10, 15)  # Sora 2's, as offered
    assert "3 shots planned below" in texts(app) and "20 credits" in texts(app)
    first = next(t for t in app.text_area if (t.key or "").startswith("storyboard_prompt_"))
    first.set_value("Shot 1: a trail sneaker on wet rock, edited")
    app.run()
    assert next(t for t in app.text_area if (t.key or "").startswith("storyboard_prompt_")).value.endswith("edited")
    # each shot has its own help: Improve the second shot only
    second_uid = [t.key for t in app.text_area if (t.key or "").startswith("storyboard_prompt_")][1].rsplit("_", 1)[1]
    button_key = f"storyboard_{second_uid}_help_improve"
    next(b for b in app.button if b.key == button_key).click()
    app.run()
    click(app, "Use this")
    shots = [t.value for t in app.text_area if (t.key or "").startswith("storyboard_prompt_")]
    assert "camera" in shots[1] and "camera" not in shots[0] and "camera" not in shots[2]
    assert no_creates(app) and spent(tmp_path) == 2 * CHAT_PRICE


def test_settings_chooses_the_chat_model_and_its_price_is_the_tables(app, tmp_path) -> None:
    app.switch_page("app_pages/settings.py")
    app.run()
    assert app.selectbox(key="settings_chat_model").value == "gemini-3-flash"  # the first chat model up
    app.selectbox(key="settings_chat_model").set_value("gpt-5.4")
    app.run()
    assert not app.exception
    app.switch_page("app_pages/generate.py")
    app.run()
    assert "Prompt help by GPT 5.4" in texts(app)
    app.text_area(key="generate_prompt").set_value("a kite")
    app.run()
    click(app, "Improve")
    assert sandbox_counters(app).get("chat_gpt-5.4") == 1 and spent(tmp_path) == CHAT_PRICE


def test_after_a_refusal_the_card_names_the_input_and_resends_a_softer_wording_only_on_a_click(app, tmp_path) -> None:
    generate(app, "a fox covered in gore at dawn")
    run_until(app, lambda at: "What was refused: the prompt." in texts(at))
    assert creates(app) == 1
    click(app, "Suggest a softer wording")
    said = shown(app)
    assert "a fox covered in dramatic shadows at dawn" in said
    assert ":red-background[~~gore~~]" in said and "'gore' became 'dramatic shadows'" in said  # what changed, and why
    assert "Sending it makes a new video at 1,600 credits" in said and "the refused one stays charged" in said
    assert creates(app) == 1  # nothing sent again by the suggestion
    click(app, "Send it (1,600 credits)")
    run_until(app, lambda at: creates(at) == 2)
    prompts = [g.prompt for g in Store(default_url(tmp_path / "data")).search(LibraryFilter())[0]]
    assert "a fox covered in dramatic shadows at dawn" in prompts


@pytest.mark.parametrize(
    ("family", "prompt", "knobs", "refused"),
    [
        ("Sora 2", "a fox covered in gore", {}, "the prompt"),  # input_moderation
        ("MiniMax", "a fox covered in gore", {}, "the prompt"),  # the unified API's violation
        ("Sora 2", "a calm lake", {"output_moderation_rate": 1.0}, "the finished video (made from the prompt)"),
    ],
    ids=["input_moderation", "violation", "output_moderation"],
)
def test_the_refused_input_is_named_for_each_failure_reason(app, family, prompt, knobs, refused) -> None:
    if knobs:
        httpx.patch(f"{service_url(app)}/sandbox/config", headers=control_headers(service_url(app)), json=knobs)
    app.segmented_control(key="generate_family").set_value(family)
    app.run()
    generate(app, prompt)
    run_until(app, lambda at: "What was refused:" in texts(at))
    assert f"What was refused: {refused}." in texts(app)
    assert not button(app, "Suggest a softer wording").disabled  # offered, not sent


def test_remix_prompt_has_its_help_too(app) -> None:
    remix_a_made_video(app)
    app.text_area(key="remix_prompt").set_value("the same harbour in a snowstorm")
    app.run()
    click(app, "Improve")
    click(app, "Use this")
    assert app.text_area(key="remix_prompt").value.startswith("The same harbour in a snowstorm; camera")
    assert creates(app) == 1  # the original video only: help sent nothing to a video model


def test_a_library_result_becomes_a_prompt_for_generate(app, tmp_path) -> None:
    generate(app, "a quiet harbour at sunrise")
    run_until(app, lambda at: at.get("video"))
    made = Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=1)[0][0]
    app.switch_page("app_pages/library.py")
    app.query_params["generation"] = str(made.id)
    app.run()
    # a video is no picture: its button says what is read (seen at 1400 px: "Describe this picture"
    # under a playing video)
    assert "Describe this picture" not in [b.label for b in app.button]
    click(app, "Describe a still of this video")
    described = next(str(t.value) for t in app.text if "picture, mostly" in str(t.value))
    assert "x" in described.split(" picture")[0]  # its size, read from the thumbnail
    click(app, "Use it in Generate")
    app.switch_page("app_pages/generate.py")  # AppTest follows st.switch_page for one run only
    app.run()
    assert app.text_area(key="generate_prompt").value == described
    assert creates(app) == 1 and spent(tmp_path) == made.cost + CHAT_PRICE


def test_a_library_picture_becomes_a_prompt_for_images(app, tmp_path) -> None:
    app.switch_page("app_pages/images.py")
    app.run()
    app.text_area(key="images_prompt").set_value("a red kite on white")
    app.run()
    click(app, "Make images")
    run_until(app, lambda at: "Animate this" in {b.label for b in at.button}, timeout=30)
    made = Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=1)[0][0]
    app.switch_page("app_pages/library.py")
    app.query_params["generation"] = str(made.id)
    app.run()
    click(app, "Describe this picture")
    described = next(str(t.value) for t in app.text if "picture, mostly" in str(t.value))
    click(app, "Use it in Images")
    app.switch_page("app_pages/images.py")
    app.run()
    assert app.text_area(key="images_prompt").value == described
    assert sandbox_counters(app).get("received_image", 0) + sandbox_counters(app).get("received_unified", 0) == 1


def test_a_batch_template_gets_help_that_keeps_its_placeholders(app) -> None:
    from .apptest_helpers import widget

    app.switch_page("app_pages/batch.py")
    app.run()
    widget(app, "batch_way").set_value("Paste rows")
    app.run()
    widget(app, "batch_paste").set_value("colour,product\nrouge,mug\nbleu,lamp")
    app.run()
    widget(app, "batch_template").set_value("un {product} {colour} sur la plage")
    app.run()
    click(app, "Translate to English")
    click(app, "Use this")
    assert widget(app, "batch_template").value == "A {product} {colour} on the beach"
    assert no_creates(app)


def test_a_help_call_with_no_answer_says_it_may_have_been_charged_and_is_counted(app, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("studio.prompt_help.CHAT_TIMEOUT", 0.3)  # the studio stops waiting first
    httpx.patch(  # the sandbox charges the call, then answers late
        f"{service_url(app)}/sandbox/config", headers=control_headers(service_url(app)), json={"chat_latency_ms": 1500}
    ).raise_for_status()
    app.text_area(key="generate_prompt").set_value("a red kite")
    app.run()
    click(app, "Improve")
    said = " ".join(w.value for w in app.warning).replace("\\", "")  # as read: Markdown's escapes off
    assert "did not answer in time" in said and "may have been charged (20 credits" in said
    assert app.text_area(key="generate_prompt").value == "a red kite" and "Use this" not in texts(app)
    assert spent(tmp_path) == CHAT_PRICE and sandbox_counters(app).get("received_chat") == 1 and no_creates(app)
    app.switch_page("app_pages/insights.py")
    app.run()
    assert "20 credits over 1 day; most on Prompt help (chat)" in texts(app)


def _blue_picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (30, 80, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_images_describes_its_reference_picture(app) -> None:
    app.switch_page("app_pages/images.py")
    app.run()
    assert "Describe this picture" not in [b.label for b in app.button]  # no picture, no button
    app.file_uploader(key="images_ref_files").set_value([("ref.png", _blue_picture(), "image/png")])
    app.run()
    described_into(app, "images_prompt")


def test_a_storyboard_shot_describes_its_start_image(app) -> None:
    app.switch_page("app_pages/storyboard.py")
    app.run()
    first, second = app.session_state["storyboard_order"]
    assert not [b for b in app.button if (b.key or "").endswith("_help_describe")]
    app.file_uploader(key=f"storyboard_file_{second}").set_value(("start.png", _blue_picture(), "image/png"))
    app.run()
    assert not [b for b in app.button if b.key == f"storyboard_{first}_help_describe"]  # shot 1 has no picture
    next(b for b in app.button if b.key == f"storyboard_{second}_help_describe").click()
    app.run()
    click(app, "Use this")
    assert app.text_area(key=f"storyboard_prompt_{second}").value.startswith("A wide 120x60 picture, mostly blue")
    assert not app.text_area(key=f"storyboard_prompt_{first}").value
    assert no_creates(app)


def test_a_failure_that_was_no_refusal_names_no_input_and_offers_no_softer_wording(app) -> None:
    httpx.patch(
        f"{service_url(app)}/sandbox/config", headers=control_headers(service_url(app)), json={"error_rate": 1.0}
    ).raise_for_status()
    generate(app, "a calm lake")
    run_until(app, lambda at: "could not make this" in texts(at))  # the error's own words
    assert "What was refused" not in texts(app)
    assert "Suggest a softer wording" not in [b.label for b in app.button]
