"""The Brand kit page through AppTest: a picture added under a name shows in the grid as @name; what
will not do is said beside its field with nothing kept; rename, delete after a confirm, colours and the
house style; the kit's assets picked as references on Images reach the request once uploaded."""

from __future__ import annotations

import pytest

from studio.connection import sandbox_connection
from studio.db import Store, default_url
from tests.conftest import png

from .apptest_helpers import (
    beside,
    click,
    errors,
    new_app,
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
