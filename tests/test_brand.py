"""The brand kit: pictures checked, kept once and named; put in GrsAI's storage once per account and
content when requests name them; renamed and deleted with their files."""

from __future__ import annotations

from pathlib import Path

import pytest

from grsai_api import InvalidRequestError
from studio.batch import BatchService, plan_rows, read_table
from studio.brand import MAX_ASSET_BYTES, BrandError, BrandKit, BrandStyle, with_house_style
from studio.connection import Connection, sandbox_connection
from studio.db import Status, Store
from studio.generation import GenerationService
from studio.media import MediaStore
from studio.storyboard import ShotPlan, StoryboardService, keep_note, with_kept
from tests.conftest import huge_png, png, stats
from tests.seed import drain, fast_engine

OTHER_ACCOUNT = Connection("GrsAI overseas", "https://grsaiapi.com", "sk-another-account-key")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    yield store
    store.dispose()


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
def kit(store, media) -> BrandKit:
    return BrandKit(store, media, sandbox_connection("http://127.0.0.1:1"))


def kept_files(media: MediaStore) -> list[str]:
    return sorted(str(p.relative_to(media.root)) for p in media.root.rglob("*") if p.is_file())


def test_an_asset_is_kept_once_with_a_thumbnail_under_its_lower_case_name(kit, media):
    asset = kit.add(png((200, 20, 20), size=(300, 200)), "@Sneaker", "product")
    assert asset.name == "sneaker" and asset.kind == "product"
    assert asset.ref == f"file:{asset.media_path}" and media.exists(asset.media_path)
    assert media.exists(asset.thumb_path)
    assert kit.named("@SNEAKER").id == asset.id  # case does not matter
    assert [a.name for a in kit.assets()] == ["sneaker"]


@pytest.mark.parametrize(
    ("data", "name", "kind", "field", "words"),
    [
        (b"not a picture at all", "logo", "logo", "file", "not a picture"),
        (png()[:40], "logo", "logo", "file", "not a picture"),
        (huge_png(12_000, 6_000), "logo", "logo", "file", "12000×6000 pixels"),
        (png(), "my logo", "logo", "name", "letters, digits"),
        (png(), "", "logo", "name", "Give the asset a name"),
        (png(), "logo", "banner", "kind", "Choose what it is"),
    ],
)
def test_what_will_not_do_is_refused_beside_its_field_and_nothing_is_kept(
    kit, media, data, name, kind, field, words
):
    with pytest.raises(BrandError) as refused:
        kit.add(data, name, kind)
    assert refused.value.field == field and words in refused.value.message
    assert kit.assets() == [] and kept_files(media) == []


def test_a_file_over_the_size_cap_is_refused(kit, media, monkeypatch):
    monkeypatch.setattr("studio.brand.MAX_ASSET_BYTES", 1000)
    with pytest.raises(BrandError, match="the most is 0 MB") as refused:
        kit.add(png(size=(400, 400)) + b"\0" * 2000, "big", "other")
    assert refused.value.field == "file" and kept_files(media) == []
    assert MAX_ASSET_BYTES == 20 * 1024 * 1024


def test_a_name_is_one_asset_per_account_and_taken_names_are_refused(kit, store, media):
    kit.add(png((1, 2, 3)), "logo", "logo")
    before = kept_files(media)
    with pytest.raises(BrandError, match="@logo is taken"):
        kit.add(png((9, 9, 9)), "LOGO", "logo")
    assert kept_files(media) == before  # the second picture was not kept
    other_account = BrandKit(store, media, OTHER_ACCOUNT)
    assert other_account.assets() == []
    assert other_account.add(png((9, 9, 9)), "logo", "logo").name == "logo"  # another account's kit


def test_rename_keeps_the_file_and_refuses_a_taken_name(kit):
    logo = kit.add(png((1, 2, 3)), "logo", "logo")
    kit.add(png((4, 5, 6)), "mascot", "mascot")
    renamed = kit.rename(logo.id, "@Brand-Logo")
    assert renamed.name == "brand-logo" and renamed.media_path == logo.media_path
    with pytest.raises(BrandError, match="@mascot is taken"):
        kit.rename(logo.id, "mascot")
    assert sorted(a.name for a in kit.assets()) == ["brand-logo", "mascot"]


def test_delete_removes_the_files_but_not_a_picture_another_asset_keeps(kit, store, media):
    one = kit.add(png((7, 7, 7)), "one", "other")
    other_account = BrandKit(store, media, OTHER_ACCOUNT)
    same = other_account.add(png((7, 7, 7)), "same", "other")  # the same content, kept once
    assert same.media_path == one.media_path
    assert not other_account.delete(one.id)  # not theirs
    assert kit.delete(one.id)
    assert media.exists(one.media_path)  # the other account's asset still keeps it
    assert other_account.delete(same.id)
    assert kept_files(media) == [] and kit.assets() == []
    assert not kit.delete(one.id)  # gone already


def test_colours_and_house_style_are_kept_per_account(kit, store, media):
    assert kit.style() == BrandStyle()
    kit.save_style(["#FF6600", "#1a2b3c"], "  Warm daylight,   matte  finish. ")
    assert kit.style() == BrandStyle(
        colours=["#ff6600", "#1a2b3c"], house_style="Warm daylight, matte finish."
    )
    assert BrandKit(store, media, OTHER_ACCOUNT).style() == BrandStyle()
    with pytest.raises(BrandError) as refused:
        kit.save_style(["orange"], "")
    assert refused.value.field == "colours"
    assert (
        with_house_style("a sneaker on a rock", kit.style())
        == "a sneaker on a rock Warm daylight, matte finish."
    )
    assert with_house_style("a sneaker. Warm daylight, matte finish.", kit.style()).count("Warm") == 1


def test_a_form_may_name_its_own_kits_picture_but_not_another_accounts(kit, store, media):
    asset = kit.add(png((0, 90, 200)), "sneaker", "product")
    service = GenerationService(store, media, kit.connection)
    stored = service.check({"model": "nano-banana-2", "prompt": "on a rock", "reference_urls": [asset.ref]})
    assert stored["reference_urls"] == [asset.ref]
    stranger = GenerationService(store, media, OTHER_ACCOUNT)
    with pytest.raises(Exception, match="web address"):
        stranger.check({"model": "nano-banana-2", "prompt": "on a rock", "reference_urls": [asset.ref]})


def test_two_generations_naming_one_asset_upload_it_once_and_send_the_same_url(make_sandbox, store, media):
    running = make_sandbox(task_seconds=0.6, progress_interval=0.1, render_profile="light", image_seconds=0.3)
    connection = sandbox_connection(running.base_url)
    kit = BrandKit(store, media, connection)
    asset = kit.add(png((0, 90, 200), size=(96, 96)), "sneaker", "product")
    engine = fast_engine(store, media, connection)
    service = GenerationService(store, media, connection, on_queued=engine.wake)
    rows = [
        service.submit(
            {"model": "nano-banana-2", "prompt": f"the sneaker #{n}", "reference_urls": [asset.ref]}
        )
        for n in range(2)
    ]
    drain(engine)
    assert [store.get(r.id).status for r in rows] == [Status.SUCCEEDED] * 2
    seen = stats(running)
    assert seen["counters"].get("uploads_stored") == 1
    named = {url: n for url, n in seen["inputs_by_url"].items() if "/files/" in url}
    assert list(named.values()) == [2]  # one stored file, named by both requests


def test_a_storyboard_keeping_an_asset_sends_its_url_in_every_shot_and_uploads_it_once(
    make_sandbox, store, media
):
    """The issue's check: three shots with "keep @sneaker" name the asset's address in storage in
    every shot's request (counted at the sandbox) and put it there once."""
    running = make_sandbox(task_seconds=0.6, progress_interval=0.1, render_profile="light")
    connection = sandbox_connection(running.base_url)
    sneaker = BrandKit(store, media, connection).add(png((0, 90, 200), size=(96, 96)), "sneaker", "product")
    service = StoryboardService(store, media, connection)
    shots = [
        ShotPlan("veo3.1-fast", "the sneaker on a trail"),
        ShotPlan("minimax-h3", "the sneaker splashes through a stream", duration=3),
        ShotPlan("veo3.1-fast", "the sneaker at the summit"),
    ]
    board_id, _ = service.make_all("Trail", shots, "16:9", request_key="trail", keep=[sneaker.ref])
    engine = fast_engine(store, media, connection)
    drain(engine, timeout=120)

    board = store.storyboard(board_id)
    assert board.state == "done", board.error
    made = [store.shots_of(board_id)[n] for n in range(3)]
    assert all(sneaker.ref in shot.request_params()["reference_urls"] for shot in made)
    # shots 2 and 3 carry on from the shot before's last frame, as a reference beside the asset
    assert all(shot.request_params()["reference_urls"][0].startswith("file:frames/") for shot in made[1:])
    seen = stats(running)
    asset_urls = [url for url, n in seen["inputs_by_url"].items() if n == 3]
    assert len(asset_urls) == 1  # one address in storage, named by all three shots
    assert seen["counters"]["uploads_stored"] == 3  # the asset once, and each shot's frame once


def test_keep_says_which_shots_cannot_take_the_asset_and_refuses_what_is_not_in_the_kit(kit, store, media):
    sneaker = kit.add(png((0, 90, 200)), "sneaker", "product")
    note = keep_note(["veo3.1-fast", "sora-2", "minimax-h3"], ["sneaker"])
    assert (
        "Shot 2 (Sora 2) cannot take @sneaker" in note
        and "Veo shots take the shot before's last frame" in note
    )
    assert keep_note(["minimax-h3"], ["sneaker"]) is None
    shot = {"model": "sora-2", "prompt": "a trail"}
    assert with_kept(shot, [sneaker.ref]) == shot  # Sora 2 takes no references: made without
    service = StoryboardService(store, media, kit.connection)
    stranger = BrandKit(store, media, OTHER_ACCOUNT).add(png((1, 1, 1)), "theirs", "logo")
    for keep in ([stranger.ref], ["file:refs/whatever.png"], [sneaker.ref] * 3):
        with pytest.raises(InvalidRequestError) as refused:
            service.make_all("", [ShotPlan("minimax-h3", "a trail", duration=3)], "16:9", keep=keep)
        assert refused.value.field == "keep"
    assert store.storyboards_for(kit.connection.service_id, kit.connection.account) == []  # nothing kept


def test_batch_cells_name_kit_assets_by_at_name_and_an_unknown_one_is_a_row_refused(kit):
    sneaker = kit.add(png((0, 90, 200)), "sneaker", "product")
    logo = kit.add(png((200, 200, 0)), "logo", "logo")
    table = read_table(
        "prompt,model,image_url,reference_urls\n"
        "a trail,minimax-h3,@Sneaker,\n"
        "a summit,nano-banana-2,,@sneaker|@logo\n"
        "a beach,minimax-h3,@flipflop,\n"
        "a lake,minimax-h3,file:refs/someone-elses.png,\n"
    )
    plan = plan_rows(table, brand=kit.refs_by_name())
    assert [r.params["reference_urls"] for r in plan.rows] == [[sneaker.ref], [sneaker.ref, logo.ref]]
    assert plan.rows[0].source["image_url"] == "@Sneaker"  # the table's own words are kept
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[3] == "image_url: @flipflop is not in the brand kit."
    assert "web address" in reasons[4]  # a typed file name is still refused
    assert [r.row for r in plan_rows(table).invalid] == [1, 2, 3, 4]  # without a kit, no @name resolves


def test_batch_rows_naming_one_asset_upload_it_once_and_send_the_same_url(make_sandbox, store, media):
    running = make_sandbox(task_seconds=0.6, progress_interval=0.1, render_profile="light", image_seconds=0.3)
    connection = sandbox_connection(running.base_url)
    kit = BrandKit(store, media, connection)
    kit.add(png((0, 90, 200), size=(96, 96)), "sneaker", "product")
    engine = fast_engine(store, media, connection)
    plan = plan_rows(
        read_table("prompt,reference_urls\nthe sneaker #1,@sneaker\nthe sneaker #2,@sneaker\n"),
        defaults={"model": "nano-banana-2"},
        brand=kit.refs_by_name(),
    )
    BatchService(store, media, connection, on_queued=engine.wake).create("kit", plan, request_key="kit-batch")
    drain(engine)
    seen = stats(running)
    assert seen["counters"].get("uploads_stored") == 1
    assert [n for url, n in seen["inputs_by_url"].items() if "/files/" in url] == [2]


def test_deleting_an_asset_a_waiting_request_names_keeps_its_file_for_that_request(kit, store, media):
    asset = kit.add(png((5, 50, 150)), "sneaker", "product")
    service = GenerationService(store, media, kit.connection)
    waiting = service.submit({"model": "nano-banana-2", "prompt": "on a rock", "reference_urls": [asset.ref]})
    assert kit.delete(asset.id) and kit.assets() == []
    assert media.exists(asset.media_path)  # the queued request still needs it to be sent
    assert media.resolve(store.get(waiting.id).request_params()["reference_urls"][0]) == png((5, 50, 150))
    with pytest.raises(InvalidRequestError, match="web address"):  # new requests can no longer name it
        service.check({"model": "nano-banana-2", "prompt": "on a rock", "reference_urls": [asset.ref]})


def test_a_character_sheet_is_made_by_nano_banana_and_added_to_the_kit(make_sandbox, store, media):
    running = make_sandbox(task_seconds=0.6, progress_interval=0.1, render_profile="light", image_seconds=0.3)
    connection = sandbox_connection(running.base_url)
    kit = BrandKit(store, media, connection)
    with pytest.raises(BrandError) as refused:
        kit.sheet_request("   ")
    assert refused.value.field == "subject"
    engine = fast_engine(store, media, connection)
    service = GenerationService(store, media, connection, on_queued=engine.wake)
    mascot = png((240, 120, 0), size=(80, 80))
    params = kit.sheet_request("", mascot)
    assert params["model"] == "nano-banana-2" and "front" in params["prompt"] and "back" in params["prompt"]
    sheet = service.submit(params)
    with pytest.raises(BrandError, match="not ready"):
        kit.add_made(sheet.id, "fox")
    drain(engine)
    assert store.get(sheet.id).status == Status.SUCCEEDED
    asset = kit.add_made(sheet.id, "@Fox")
    assert asset.name == "fox" and asset.kind == "mascot" and media.exists(asset.media_path)
    made = store.get(sheet.id).files[0]["path"]
    assert media.read(asset.media_path) == media.read(made)
    with pytest.raises(BrandError, match="not ready"):  # another account cannot take it
        BrandKit(store, media, OTHER_ACCOUNT).add_made(sheet.id, "fox")
