"""Library, through AppTest: lists newest first, searches, filters, pages, opens, acts."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import update

from components.text import plain
from studio.db import Generation, LibraryFilter, Store, default_url
from studio.library import export_csv
from studio.media import MediaStore

from .apptest_helpers import (
    click,
    creates,
    generate,
    new_app,
    run_until,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)
from .conftest import huge_png, png
from .seed import seed, seed_thumbnail


@pytest.fixture
def library(tmp_path, monkeypatch):
    data = tmp_path / "data"
    store = Store(default_url(data))
    seed(store, 30, thumb=seed_thumbnail(data / "media"))
    at = new_app(monkeypatch, data)
    at.switch_page("app_pages/library.py")
    at.run()
    assert not at.exception, at.exception
    return at, store


def tile_prompts(at) -> list[str]:
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]


def test_lists_every_generation_newest_first_in_pages(library) -> None:
    at, _ = library
    assert "30 generations · 24 ready · 38,400 credits (¥1.92) spent" in texts(at)
    assert "Showing 1–12 of 30" in texts(at)
    assert tile_prompts(at)[0].endswith("#0") and tile_prompts(at)[1].endswith("#1")
    at.get("pagination")[0].set_value(3)
    at.run()
    assert "Showing 25–30 of 30" in texts(at)
    assert tile_prompts(at)[0].endswith("#24")


def test_search_and_filters_narrow_the_list(library) -> None:
    at, _ = library
    widget(at, "library_search").set_value("lemonade")
    at.run()
    assert "Showing 1–6 of 6" in texts(at)
    assert all("lemonade" in p for p in tile_prompts(at))
    widget(at, "library_search").set_value("")
    widget(at, "library_status").set_value(["failed"])
    at.run()
    assert "of 6" in texts(at) and all(b.value for b in at.markdown)
    widget(at, "library_status").set_value([])
    widget(at, "library_kind").set_value(["remix"])
    widget(at, "library_aspect").set_value(["16:9"])
    at.run()
    assert "Showing 1–2 of 2" in texts(at)  # remixes are rows 6, 13, 20, 27; the even ones are 16:9


def test_a_filter_that_matches_nothing_says_so(library) -> None:
    at, _ = library
    widget(at, "library_search").set_value("zeppelin")
    widget(at, "library_status").set_value(["failed"])
    at.run()
    assert "Nothing matches this search and these filters." in texts(at)
    click(at, "Clear the filters")  # the words name a button, and it is there
    assert widget(at, "library_search").value == "" and widget(at, "library_status").value == []
    assert "Showing 1–12 of 30" in texts(at)


def test_the_table_view_shows_thumbnails_and_columns(library) -> None:
    at, _ = library
    widget(at, "library_view").set_value("Table")
    at.run()
    frame = at.dataframe[0].value
    assert len(frame) == 30 and {"thumbnail", "status", "prompt", "pid", "cost", "created"} <= set(
        frame.columns
    )
    assert frame["thumbnail"].iloc[0].startswith("data:image/jpeg;base64,")


def test_a_deep_link_opens_the_detail_with_pid_and_actions(library) -> None:
    at, store = library
    newest = store.search(LibraryFilter(), limit=1)[0][0]
    at.query_params["generation"] = str(newest.id)
    at.run()
    assert newest.pid in [c.value for c in at.code]
    assert {"Re-run", "Remix", "Delete"} <= {b.label for b in at.button}


def test_a_reference_picture_of_too_many_pixels_is_named_not_decoded_and_a_big_one_is_shown_small(
    library, tmp_path
) -> None:
    """Issue 23 #5: a 12000² reference kept before uploads were checked made the page decode 144
    million pixels (page memory 199 → 477 MB); it is named by its size instead, and a big picture that
    is allowed is shown from a small copy."""
    at, store = library
    media = MediaStore(tmp_path / "data" / "media")
    bomb = media.keep_upload(huge_png(12000, 12000), ".png")
    big = media.keep_upload(png(size=(4000, 3000)), ".png")
    newest, second = store.search(LibraryFilter(), limit=2)[0]
    with store.db_engine.begin() as connection:
        for row, ref in ((newest, bomb), (second, big)):
            connection.execute(update(Generation).where(Generation.id == row.id).values(image_ref=ref))
    at.query_params["generation"] = str(newest.id)
    at.run()
    assert not at.exception
    assert (
        "This picture is 12000×12000 pixels; the most is 50 million pixels (for example 8000×6000), "
        "so it is not shown." in texts(at)
    )
    at.query_params["generation"] = str(second.id)
    at.run()
    assert not at.exception and "Reference image" in texts(at) and "so it is not shown" not in texts(at)


def test_delete_asks_first_then_removes(library) -> None:
    at, store = library
    newest = store.search(LibraryFilter(), limit=1)[0][0]
    at.query_params["generation"] = str(newest.id)
    at.run()
    click(at, "Delete")
    assert "for good" in texts(at) and store.get(newest.id) is not None
    click(at, "Yes, delete")
    assert store.get(newest.id) is None
    assert "29 generations" in texts(at)


def test_re_run_sends_the_same_parameters_as_a_new_generation(library) -> None:
    at, store = library
    newest = store.search(LibraryFilter(), limit=1)[0][0]
    at.query_params["generation"] = str(newest.id)
    at.run()
    click(at, "Re-run")
    again = store.search(LibraryFilter(), limit=1)[0][0]
    assert (
        again.id != newest.id and again.prompt == newest.prompt and again.aspect_ratio == newest.aspect_ratio
    )
    run_until(at, lambda a: store.get(again.id).status == "succeeded")
    assert creates(at) == 1 and store.get(again.id).cost == 1600
    # the page counts it once a run of it has read the finished row (the row can finish between a run
    # and the check above, as it did on a loaded CI machine: the page then still said "Saving")
    run_until(at, lambda a: "31 generations · 25 ready" in texts(a))


def test_a_video_made_on_generate_is_found_in_the_library(tmp_path, monkeypatch) -> None:
    at = new_app(monkeypatch, tmp_path / "data")
    generate(at, "a paper boat on a rainy street")
    run_until(at, lambda a: a.get("video"))
    at.switch_page("app_pages/library.py")
    at.run()
    assert "a paper boat on a rainy street" in tile_prompts(at)
    assert len(at.get("imgs")) >= 1 or at.get("image")


def test_the_csv_export_has_every_matching_row(tmp_path) -> None:
    store = Store(default_url(tmp_path))
    seed(store, 30)
    frame = pd.read_csv(io.BytesIO(export_csv(store, LibraryFilter(statuses=("succeeded",)))))
    assert len(frame) == 24 and set(frame["status"]) == {"succeeded"}
    assert {"prompt", "pid", "cost", "created", "parent_pid"} <= set(frame.columns)
    assert set(frame["cost"]) == {1600}


def _model_rows(store: Store, data) -> None:
    """A Veo video and a GPT image generation with two kept pictures, beside the seeded Sora rows."""
    from PIL import Image
    from sqlalchemy import insert

    from studio.db import Generation, utcnow

    for number in range(2):
        target = data / "media" / "images" / f"900_{number}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (200, 40 * number, 90)).save(target)
    common = {"status": "succeeded", "service": "sandbox", "duration": 8, "size": "", "created_at": utcnow()}
    with store.session() as session, session.begin():
        session.execute(
            insert(Generation),
            [
                {
                    **common,
                    "kind": "text",
                    "prompt": "a veo harbour",
                    "aspect_ratio": "16:9",
                    "model": "veo3.1-fast",
                    "cost": 2400,
                },
                {
                    **common,
                    "kind": "text",
                    "prompt": '=HYPERLINK("http://evil.example","click") two cranes',
                    "aspect_ratio": "1:1",
                    "model": "gpt-image-2",
                    "duration": 0,
                    "cost": 600,
                    "options": {"variants": 2},
                    "files": [{"path": f"images/900_{n}.png", "thumb": None} for n in range(2)],
                    "video_path": "images/900_0.png",
                },
            ],
        )


def test_every_model_is_listed_filtered_by_model_and_images_open_as_images(library, tmp_path) -> None:
    at, store = library
    _model_rows(store, tmp_path / "data")
    at.run()
    widget(at, "library_model").set_value(["veo3.1-fast"])
    at.run()
    assert tile_prompts(at) == ["a veo harbour"] and "Veo 3.1 Fast · 720p" in texts(at)
    widget(at, "library_model").set_value([])
    widget(at, "library_makes").set_value(["image"])
    at.run()
    [prompt] = tile_prompts(at)
    assert "two cranes" in prompt
    click(at, "Open")
    dialog = "\n".join(b.label for b in at.get("download_button"))
    assert "Download image 1" in dialog and "Download image 2" in dialog
    assert not at.get("video") and "Remix" not in {b.label for b in at.button}  # images have no remix
    exported = pd.read_csv(io.BytesIO(export_csv(store, LibraryFilter(makes=("image",)))))
    [cell] = exported["prompt"]
    assert cell.startswith("'=HYPERLINK")  # a spreadsheet shows it as text instead of running it
    assert exported["model"].tolist() == ["gpt-image-2"]


def test_create_character_from_an_older_video_lands_on_its_form_with_a_search(library) -> None:
    """Issue 11 #10: the oldest of 30 videos was not among the picker's 12 newest, and the form
    was far below; now the chosen video's form comes first, and a search finds any other."""
    at, store = library
    oldest = store.search(LibraryFilter(statuses=("succeeded",)), offset=23, limit=1)[0][0]
    at.query_params["generation"] = str(oldest.id)
    at.run()
    click(at, "Create character")
    at.switch_page("app_pages/characters.py")
    assert not at.exception, at.exception
    assert f"**From:** {plain(oldest.prompt)}" in texts(at)
    assert at.button(key="characters_create_video")  # its form, not a hunt through a picker
    assert "The newest 8 of 24 are shown: add words to find an older one." in texts(at)
    widget(at, "characters_search").set_value(oldest.pid)
    at.run()
    assert [b.key for b in at.button if b.key.startswith("characters_choose_")] == [
        f"characters_choose_{oldest.id}"
    ]
    widget(at, "characters_search").set_value("no such words anywhere")
    at.run()
    assert "No finished Sora 2 videos match." in texts(at)


def copied_code(library):
    """The newest finished video's detail opened: (its prompt, its Python, its cURL, the page)."""
    at, store = library
    newest = store.search(LibraryFilter(statuses=("succeeded",)), limit=1)[0][0]
    at.query_params["generation"] = str(newest.id)
    at.run()
    codes = [c.value for c in at.code]
    python = next(c for c in codes if "from grsai_api import Client" in c)
    curl = next(c for c in codes if "curl -sS " in c)
    return newest, python, curl, at


def test_a_generation_copies_as_python_and_curl_without_the_key(library) -> None:
    newest, python, curl, _ = copied_code(library)
    assert repr(newest.prompt) in python and 'os.environ["GRSAI_API_KEY"]' in python
    assert "$GRSAI_API_KEY" in curl and "/v1/video/sora-video" in curl
    assert "sk-" not in python + curl  # a key never appears, only its variable


def test_code_of_a_sandbox_request_names_the_grsai_host_and_says_it_was_made_in_the_sandbox(library) -> None:
    _, python, curl, at = copied_code(library)
    sandbox = at.session_state["connection"].base_url
    assert sandbox not in python + curl  # not the sandbox's port on this machine: it means nothing elsewhere
    assert (
        "base_url='https://grsaiapi.com'" in python and "'https://grsaiapi.com/v1/video/sora-video'" in curl
    )
    note = "# made in the sandbox: this runs against GrsAI (grsaiapi.com) with your key"
    assert python.startswith(note) and curl.startswith(note)


def test_a_size_reads_as_the_form_says_it(library) -> None:
    """Generate offers "Small" and "Large"; the Library said "small" for the same thing."""
    at, store = library
    at.switch_page("app_pages/generate.py")
    at.run()
    assert widget(at, "generate_size").options == ["Small", "Large"]
    at.switch_page("app_pages/library.py")
    at.run()
    newest = store.search(LibraryFilter(statuses=("succeeded",)), limit=1)[0][0]
    at.query_params["generation"] = str(newest.id)
    at.run()
    assert "· Small ·" in texts(at) and "· small ·" not in texts(at)
