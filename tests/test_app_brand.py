"""The Brand kit page through AppTest: a picture added under a name shows in the grid as @name; what
will not do is said beside its field with nothing kept; rename, delete after a confirm, colours and the
house style; the kit's assets picked as references on Images reach the request once uploaded."""

from __future__ import annotations

import httpx
import pytest

from sandbox.control import control_headers
from studio.connection import sandbox_connection
from studio.db import LibraryFilter, Status, Store, default_url
from tests.conftest import png

from .apptest_helpers import (
    beside,
    click,
    errors,
    new_app,
    run_until,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page("app_pages/brand_kit.py")
    at.run()
    assert not at.exception, at.exception
    return at


ACCOUNT = sandbox_connection("http://127.0.0.1:1").account  # the app's own sandbox's account


def store_of(tmp_path) -> Store:
    return Store(default_url(tmp_path / "data"))


def add(at, data: bytes, name: str, kind: str = "product", filename: str = "a.png") -> None:
    at.file_uploader(key="brand_file").set_value((filename, data, "image/png"))
    at.text_input(key="brand_name").set_value(name)
    at.selectbox(key="brand_kind").set_value(kind)
    click(at, "Add to the kit")


def test_a_picture_added_shows_by_its_name_and_bad_ones_are_said_beside_their_field(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(200, 120)), "Sneaker")
    assert "@sneaker" in [c.value for c in app.code]
    assert "Product photo" in texts(app)

    add(app, b"just words, not a picture", "notes", filename="notes.png")
    assert "not a picture" in beside(app, "brand_file")
    add(app, png((1, 1, 1)), "sneaker")
    assert "@sneaker is taken" in beside(app, "brand_name")
    add(app, png((2, 2, 2)), "two words")
    assert "letters, digits" in beside(app, "brand_name")
    assert [a.name for a in store_of(tmp_path).brand_assets("sandbox", ACCOUNT)] == ["sneaker"]


def test_rename_then_delete_after_a_confirm(app, tmp_path) -> None:
    add(app, png((10, 120, 230)), "logo", "logo")
    asset = store_of(tmp_path).brand_assets("sandbox", ACCOUNT)[0]
    app.text_input(key=f"brand_name_{asset.id}").set_value("Brand-Logo").run()
    assert "@brand-logo" in [c.value for c in app.code]

    click(app, "Delete")
    assert "leaves the kit" in texts(app)  # the dialog asks first
    assert store_of(tmp_path).brand_asset(asset.id) is not None
    click(app, "Yes, delete")
    assert store_of(tmp_path).brand_asset(asset.id) is None
    assert "@brand-logo" not in [c.value for c in app.code]
    assert not (tmp_path / "data" / "media" / asset.media_path).exists()


def test_colours_and_house_style_are_saved(app, tmp_path) -> None:
    app.color_picker(key="brand_colour_0").set_value("#ff6600")
    app.checkbox(key="brand_colour_used_0").check()
    app.text_area(key="brand_house_style").set_value("Warm daylight, matte finish.")
    click(app, "Save colours and house style")
    assert not errors(app)
    app.run()
    assert app.color_picker(key="brand_colour_0").value == "#ff6600"
    assert app.text_area(key="brand_house_style").value == "Warm daylight, matte finish."


def sandbox_stats(at) -> dict:
    return httpx.get(f"{service_url(at)}/sandbox/stats", headers=control_headers(service_url(at))).json()


def test_images_takes_a_kit_asset_as_a_reference_and_appends_the_house_style(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    app.text_area(key="brand_house_style").set_value("Warm daylight, matte finish.")
    click(app, "Save colours and house style")
    app.switch_page("app_pages/images.py")
    app.run()
    app.multiselect(key="images_brand").set_value(["@sneaker"])
    app.checkbox(key="images_house_style").check()
    app.text_area(key="images_prompt").set_value("the sneaker on a mossy rock")
    app.run()
    click(app, "Make images")
    assert not errors(app), errors(app)
    library = store_of(tmp_path)
    [row] = library.search(LibraryFilter(), limit=10)[0]
    [asset] = library.brand_assets("sandbox", ACCOUNT)
    assert row.request_params()["reference_urls"] == [asset.ref]
    assert row.prompt == "the sneaker on a mossy rock Warm daylight, matte finish."
    run_until(app, lambda at: store_of(tmp_path).get(row.id).status == Status.SUCCEEDED, timeout=30)
    named = [url for url in sandbox_stats(app)["inputs_by_url"] if "/files/" in url]
    assert len(named) == 1  # sent by its address in the service's storage


def test_storyboard_keeps_an_asset_in_every_shot_and_says_which_model_cannot(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    app.switch_page("app_pages/storyboard.py")
    app.run()
    order = app.session_state["storyboard_order"]  # two shots to start with
    for uid, words in zip(order, ["on a trail", "through a stream"], strict=True):
        app.text_area(key=f"storyboard_prompt_{uid}").set_value(f"the sneaker {words}")
    app.selectbox(key=f"storyboard_model_{order[0]}").set_value("veo3.1-fast")
    app.selectbox(key=f"storyboard_model_{order[1]}").set_value("sora-2")
    app.multiselect(key="storyboard_keep").set_value(["@sneaker"])
    app.run()
    assert "Shot 2 (Sora 2) cannot take @sneaker" in texts(app)
    click(app, "Make all")
    assert not errors(app), errors(app)
    library = store_of(tmp_path)
    [board] = library.storyboards_for("sandbox", ACCOUNT)
    [asset] = library.brand_assets("sandbox", ACCOUNT)
    assert [shot["keep"] for shot in board.shots] == [[asset.ref]] * 2
    first = library.shots_of(board.id)[0]
    assert first.request_params()["reference_urls"] == [asset.ref]


def test_generate_takes_a_kit_asset_as_a_veo_reference(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    app.switch_page("app_pages/generate.py")
    app.run()
    app.segmented_control(key="generate_family").set_value("Veo 3.1")
    app.run()
    app.segmented_control(key="generate_frame_mode").set_value("References").run()  # its picker is beside them
    app.multiselect(key="generate_brand").set_value(["@sneaker"])
    app.text_area(key="generate_prompt").set_value("the sneaker turns on a plinth")
    app.run()
    click(app, "Generate")
    assert not errors(app), errors(app)
    library = store_of(tmp_path)
    [row] = library.search(LibraryFilter(), limit=10)[0]
    [asset] = library.brand_assets("sandbox", ACCOUNT)
    assert row.model.startswith("veo") and row.request_params()["reference_urls"] == [asset.ref]


def test_a_character_sheet_is_made_then_added_to_the_kit_by_name(app, tmp_path) -> None:
    click(app, "Make the sheet", contains=True)
    assert "Describe the character" in beside(app, "brand_sheet_subject")
    app.text_area(key="brand_sheet_subject").set_value("a cheerful orange fox mascot in a green jacket")
    click(app, "Make the sheet", contains=True)
    assert not errors(app), errors(app)
    [sheet] = store_of(tmp_path).search(LibraryFilter(), limit=10)[0]
    assert sheet.model == "nano-banana-2" and "from the side" in sheet.prompt
    run_until(app, lambda at: any(b.key == "brand_sheet_add" for b in at.button), timeout=30)
    app.text_input(key="brand_sheet_name").set_value("fox")
    app.button(key="brand_sheet_add").click().run()
    assert not app.exception, app.exception
    assert "@fox" in [c.value for c in app.code]
    [asset] = store_of(tmp_path).brand_assets("sandbox", ACCOUNT)
    assert asset.kind == "mascot"


def _made_from_generate(app, tmp_path, family: str, pick: dict[str, list[str]], mode: str | None = None):
    """Generate on ``family`` with kit assets picked in the given pickers; the queued row."""
    app.switch_page("app_pages/generate.py")
    app.run()
    app.segmented_control(key="generate_family").set_value(family)
    app.run()
    if mode:
        app.segmented_control(key="generate_frame_mode").set_value(mode)
        app.run()
    for key, names in pick.items():
        app.multiselect(key=key).set_value(names)
    app.text_area(key="generate_prompt").set_value("the sneaker turns on a plinth")
    app.run()
    click(app, "Generate")
    assert not errors(app), errors(app)
    [row] = store_of(tmp_path).search(LibraryFilter(), limit=10)[0]
    return row


def test_generate_takes_a_kit_asset_as_soras_reference_image(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    row = _made_from_generate(app, tmp_path, "Sora 2", {"generate_brand_image": ["@sneaker"]})
    assert "The video starts from @sneaker" in texts(app)
    [asset] = store_of(tmp_path).brand_assets("sandbox", ACCOUNT)
    assert row.model == "sora-2" and row.request_params()["image_url"] == asset.ref


def test_generate_takes_kit_assets_as_veos_first_and_last_frames(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    add(app, png((230, 120, 10), size=(120, 120)), "box")
    row = _made_from_generate(app, tmp_path, "Veo 3.1", {"generate_brand_frames": ["@sneaker", "@box"]}, "Frames")
    refs = {a.name: a.ref for a in store_of(tmp_path).brand_assets("sandbox", ACCOUNT)}
    sent = row.request_params()
    assert (sent["first_frame_url"], sent["last_frame_url"]) == (refs["sneaker"], refs["box"])
    assert not sent.get("reference_urls")  # frames, not references: Veo takes one or the other


def test_a_storyboard_shot_starts_from_a_kit_asset(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    app.switch_page("app_pages/storyboard.py")
    app.run()
    order = app.session_state["storyboard_order"]
    for uid in order:
        app.text_area(key=f"storyboard_prompt_{uid}").set_value("the sneaker on a trail")
        app.selectbox(key=f"storyboard_model_{uid}").set_value("veo3.1-fast")
    app.multiselect(key=f"storyboard_brand_{order[1]}").set_value(["@sneaker"])
    app.run()
    assert "A new scene, from its start image." in texts(app)  # shot 2 starts from it
    app.button(key=f"storyboard_{order[1]}_help_describe").click().run()  # and its picture can be described
    assert any("120x120 picture" in str(t.value) for t in app.text)
    click(app, "Make all")
    assert not errors(app), errors(app)
    library = store_of(tmp_path)
    [board] = library.storyboards_for("sandbox", ACCOUNT)
    [asset] = library.brand_assets("sandbox", ACCOUNT)
    assert [shot["params"].get("first_frame_url") for shot in board.shots] == [None, asset.ref]


def test_generate_describes_a_kit_asset_picked_as_its_picture(app, tmp_path) -> None:
    add(app, png((10, 120, 230), size=(120, 120)), "sneaker")
    app.switch_page("app_pages/generate.py")
    app.run()
    app.segmented_control(key="generate_family").set_value("Sora 2")
    app.run()
    assert "Describe this picture" not in [b.label for b in app.button]  # no picture yet
    app.multiselect(key="generate_brand_image").set_value(["@sneaker"])
    app.run()
    click(app, "Describe this picture")
    assert any("120x120 picture" in str(t.value) for t in app.text)
