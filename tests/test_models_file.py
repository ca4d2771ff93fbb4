"""Models as data (issue 18): a deployment adds a model with its own models.toml and no code change;
it is offered, validated, priced, sent, polled, copied and served; a bad file is refused in words,
with its line, and the studio goes on with the built-in catalogue."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from grsai_api import Client, InvalidRequestError, image_request
from grsai_api import _catalogue as catalogue
from sandbox.control import control_headers
from studio.db import LibraryFilter, Status, Store, default_url
from tests.conftest import API_KEY, stats

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

# The README's example, as a deployment would write it.
SEEDREAM = """
[models.seedream-5]
family = "Seedream"        # what the picker groups by
label = "5"                # its line in the picker
kind = "image"
api = "unified"
price = 900
typical_seconds = 20
[models.seedream-5.fields.aspect_ratio]
wire = "aspectRatio"
choices = ["1:1", "16:9", "9:16"]
default = "1:1"
label = "Aspect ratio"
[models.seedream-5.fields.reference_urls]
wire = "images"
images = 4
optional = true
label = "Reference images"
"""


@pytest.fixture(autouse=True)
def built_in_catalogue():
    """Every test here starts and ends on the built-in catalogue (it is one per process)."""
    catalogue.reset()
    yield
    catalogue.reset()


def test_a_model_added_by_file_is_validated_sent_and_served_with_no_code(tmp_path, make_sandbox) -> None:
    path = tmp_path / "models.toml"
    path.write_text(SEEDREAM)
    assert catalogue.add_file(path) and "seedream-5" in catalogue.MODELS
    with pytest.raises(InvalidRequestError) as refused:
        image_request("seedream-5", prompt="a lamp", aspect_ratio="4:3")
    assert refused.value.field == "aspect_ratio" and "1:1 (square), 16:9 (landscape) or 9:16" in refused.value.message
    with pytest.raises(InvalidRequestError) as refused:
        image_request("seedream-5", prompt="a lamp", quality="high")
    assert refused.value.field == "quality"

    running = make_sandbox()
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        task = client.wait(
            client.create_image(prompt="a lamp on a desk", model="seedream-5", aspect_ratio="16:9"), interval=0.1
        )
        assert task.status == "succeeded"
        picture = Image.open(io.BytesIO(httpx.get(task.urls[0]).content))
        assert picture.width > picture.height  # 16:9, as asked
    counted = stats(running)
    assert counted["creates_by_model"] == {"seedream-5": 1}
    assert counted["counters"]["received_unified"] == 1  # sent to the unified API, as its file says


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[models.x1]\nfamily = "X"\nkind = "sound"\napi = "unified"\nprice = 1\n', ("line 1", "kind must be one of")),
        (
            '[models.x2]\nfamily = "X"\nkind = "image"\napi = "unified"\nprice = 1\n'
            '[models.x2.fields.aspect_ratio]\nchoices = ["1:1"]\ndefault = "2:1"\n',
            ("line 6", "default '2:1' is not one of its values"),
        ),
        ('[models.x3]\nfamily = "X"\nkind = "image"\nprice = 1\n', ("line 1", "api is missing")),
        ('[models.x4\nfamily = "X"\n', ("not TOML", "line 1")),
        ('[models.x5]\nlike = "sora-3"\n', ("line 1", "no such model")),
    ],
)
def test_a_bad_file_is_refused_with_its_line_and_changes_nothing(tmp_path, text, words) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text)
    before = dict(catalogue.MODELS)
    assert not catalogue.add_file(path)
    assert before == catalogue.MODELS
    [problem] = catalogue.PROBLEMS
    assert str(path) in problem and all(w in problem for w in words), problem


def test_a_file_can_change_a_built_in_model_and_copy_one(tmp_path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models.nano-banana-2]\nlike = "nano-banana-2"\nprice = 1000\n'
        '[models.nano-banana-3]\nlike = "nano-banana-2"\nlabel = "3"\nprice = 1500\n'
    )
    assert catalogue.add_file(path)
    assert catalogue.MODELS["nano-banana-2"].price == 1000
    assert catalogue.MODELS["nano-banana-3"].name == "Nano Banana 3"
    assert catalogue.MODELS["nano-banana-3"].aspect_ratios == catalogue.BUILTIN["nano-banana-2"].aspect_ratios


def _app(monkeypatch, data: Path, page: str):
    at = new_app(monkeypatch, data)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_model_added_in_the_data_folder_is_made_from_the_images_page(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text(SEEDREAM)
    app = _app(monkeypatch, data, "app_pages/images.py")
    widget(app, "images_family").set_value("Seedream")
    app.run()
    assert app.session_state["images_model"] == "seedream-5"
    assert list(widget(app, "images_aspect_ratio").options) == ["1:1", "16:9", "9:16"]  # drawn from the file
    assert "Size" not in {w.label for w in app.segmented_control}
    assert "900 credits" in texts(app)
    click(app, "Make images")
    assert "Write a prompt first" in beside(app, "images_prompt")
    app.text_area(key="images_prompt").set_value("a brass lamp, product shot")
    widget(app, "images_aspect_ratio").set_value("9:16")
    app.run()
    click(app, "Make images")
    run_until(app, lambda at: "Animate this" in {b.label for b in at.button}, timeout=30)
    [row], _ = Store(default_url(data)).search(LibraryFilter(), limit=10)
    assert (row.model, row.status, row.cost) == ("seedream-5", Status.SUCCEEDED, 900)
    assert row.aspect_ratio == "9:16" and len(row.files) == 1
    assert sandbox_counters(app)["received_unified"] == 1


def test_a_batch_row_names_a_model_added_by_file(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text(SEEDREAM)
    app = _app(monkeypatch, data, "app_pages/batch.py")
    widget(app, "batch_way").set_value("Paste rows")
    app.run()
    widget(app, "batch_paste").set_value(
        "prompt,model,aspect_ratio\nA brass lamp,seedream-5,16:9\nA tin robot,seedream-5,4:3\n"
    )
    app.run()
    assert not app.exception, app.exception
    assert "1 row will be skipped and not sent" in texts(app)
    reasons = next(d.value for d in app.dataframe if "reason" in d.value.columns)["reason"]
    assert "aspect_ratio" in reasons[0] and "16:9" in reasons[0]
    start = next(b for b in app.button if b.label.startswith("Start ·"))
    assert "900 credits" in start.label
    start.click()
    app.run()
    run_until(app, lambda at: "Finished" in at.get("progress")[0].text, timeout=40)
    [row], _ = Store(default_url(data)).search(LibraryFilter(), limit=10)
    assert (row.model, row.status, row.cost) == ("seedream-5", Status.SUCCEEDED, 900)


def test_settings_says_which_file_is_in_use_and_why_a_bad_one_is_not(tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text('[models.broken]\nfamily = "X"\nkind = "image"\napi = "fax"\nprice = 1\n')
    app = _app(monkeypatch, data, "app_pages/settings.py")
    said = "\n".join(e.value for e in app.error)
    assert "could not be used" in said and "line 1" in said and "api must be one of" in said
    (data / "models.toml").write_text(SEEDREAM)
    app.run()
    assert not app.error and "models.toml" in texts(app) and "broken" not in catalogue.MODELS


# A deployment whose Cameo and remixes are another model's: the file says so, no code does.
SORA_3 = """
[models.sora-2]
like = "sora-2"
remix = false
characters = false
[models.sora-3]
like = "sora-2"
family = "Sora"
label = "3"
price = 2400
remix = true
characters = true
"""


def test_which_model_remixes_and_makes_characters_is_the_files_word(tmp_path, monkeypatch) -> None:
    """The Remix and Characters pages and the engine's check before a character is sent ask the
    catalogue which model remixes and makes characters (they named sora-2 in code before)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text(SORA_3)
    app = _app(monkeypatch, data, "app_pages/characters.py")
    assert (catalogue.remix_model(), catalogue.character_model()) == ("sora-3", "sora-3")
    assert catalogue.default_model("video") == "sora-2"  # a request naming no model: the first video model

    def take_down(model: str) -> None:
        from components.resources import refresh_models

        httpx.patch(
            f"{service_url(app)}/sandbox/config",
            headers=control_headers(service_url(app)),
            json={"models": {model: {"available": False, "message": "retired"}}},
        ).raise_for_status()
        refresh_models()
        app.run()
        assert not app.exception, app.exception

    take_down("sora-2")
    assert "none can be made now" not in texts(app)  # sora-2 no longer makes them here
    take_down("sora-3")
    assert "Sora 3 is down right now: retired" in texts(app) and "none can be made now" in texts(app)
