"""Media in an S3-compatible bucket (issue 9): the same interface as the folder, against a real S3
server the tests start (moto's server mode, over HTTP). Videos the engine copies land in the bucket
with their thumbnails, pages get presigned links (never paths), a batch's zip is made from it."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from studio.batch import BatchService, plan_rows, read_table
from studio.connection import sandbox_connection
from studio.db import Status, Store, utcnow
from studio.engine import EngineSettings, TaskEngine
from studio.generation import GenerationService
from studio.media import BucketMedia, MediaError, MediaStore, open_media

from .apptest_helpers import generate as generate_on_page
from .apptest_helpers import new_app, run_until, stop_engines  # noqa: F401 - autouse: stops engines
from .buckets import BUCKET
from .conftest import png
from .seed import drain

FAST = {"task_seconds": 0.5}  # on top of conftest.FAST, which make_sandbox starts from


def keys(client, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_a_bucket_keeps_reads_links_and_forgets_files_like_the_folder(s3, tmp_path) -> None:
    media = open_media(f"s3://{BUCKET}/team-a", tmp_path / "cache")
    assert isinstance(media, BucketMedia)
    ref = media.keep_upload(png(), ".png")
    again = media.keep_upload(png(), ".png")  # by content: kept once
    assert ref == again and ref.startswith("file:refs/")
    name = ref.removeprefix("file:")
    assert keys(s3) == [f"team-a/{name}"] and media.exists(name) and media.read(name) == png()
    link = media.source(name)  # what a page hands the browser: a presigned link, not a path
    assert isinstance(link, str) and "Signature" in link
    assert httpx.get(link).content == png()
    saved = httpx.get(media.download_url(name, 'image-7-1 "x".png'))  # a live page's Download: saved, not shown
    assert saved.content == png()
    assert saved.headers["content-disposition"] == 'attachment; filename="image-7-1x.png"'
    assert MediaStore(tmp_path / "folder").download_url(name, "a.png") is None  # a folder gives its bytes instead
    assert media.data_url(name).startswith("data:image/jpeg;base64,")
    media.remove(name)
    assert not media.exists(name) and keys(s3) == []
    with pytest.raises(FileNotFoundError):
        media.read(name)
    with pytest.raises(MediaError):
        media.write("../outside.txt", b"no")
    assert not media.exists("../../etc/passwd")


def test_a_bad_media_address_is_refused_in_words(tmp_path) -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        open_media("https://example.com/bucket", tmp_path)
    assert type(open_media(None, tmp_path)) is MediaStore


def test_the_engine_copies_a_finished_video_and_its_thumbnail_into_the_bucket(s3, make_sandbox, tmp_path) -> None:
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = open_media(f"s3://{BUCKET}/media", tmp_path / "cache")
    engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds={"sandbox": 0.5}))
    engine.hold(connection)
    engine.start()
    try:
        queued = GenerationService(store, media, connection, on_queued=engine.wake).submit(
            {"prompt": "a lighthouse kept in a bucket"}, request_key="bucket-1"
        )
        deadline = utcnow() + timedelta(seconds=30)
        while (row := store.get(queued.id)).status != Status.SUCCEEDED:
            assert utcnow() < deadline, f"still {row.status}: {row.error}"
            time.sleep(0.05)  # the engine thread does the work; the test only reads the store
    finally:
        engine.stop()
        store.dispose()
    assert keys(s3) == [f"media/thumbs/{row.id}.jpg", f"media/videos/{row.id}.mp4"]
    video = httpx.get(media.url(row.video_path)).content
    assert video[4:8] == b"ftyp" and len(video) > 10_000  # the real file, played from the bucket
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []  # staging copies are gone once stored


def test_a_batch_zip_is_made_from_videos_in_the_bucket(s3, make_sandbox, tmp_path) -> None:
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = open_media(f"s3://{BUCKET}/media", tmp_path / "cache")
    try:
        service = BatchService(store, media, connection)
        plan = plan_rows(read_table("sku,product\nA-1,red kite\nB-2,blue boat\n"), template="a {product}")
        batch = service.create("From a bucket", plan)
        engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds={"sandbox": 0.5}))
        engine.hold(connection)
        drain(engine)
        export = service.export_zip(batch.id)  # made on disk a video at a time, then kept in the bucket
        relative = export.path
        assert export.videos == 2  # what the page's label says it holds
        assert keys(s3, "media/exports/") == [f"media/{relative}"]
        archive = zipfile.ZipFile(io.BytesIO(httpx.get(media.url(relative)).content))  # as a browser gets it
    finally:
        store.dispose()
    videos = sorted(n for n in archive.namelist() if n.endswith(".mp4"))
    assert videos == ["videos/row-0001-a-1-red-kite.mp4", "videos/row-0002-b-2-blue-boat.mp4"]
    assert all(archive.read(n)[4:8] == b"ftyp" for n in videos)
    assert "A-1" in io.TextIOWrapper(archive.open("manifest.csv")).read()


def test_the_pages_play_videos_from_the_bucket_by_link(s3, monkeypatch, tmp_path) -> None:
    at = new_app(monkeypatch, tmp_path / "data", SORA_MEDIA_URL=f"s3://{BUCKET}/app")
    generate_on_page(at, "a kite seen through a bucket")
    run_until(at, lambda a: a.get("video"))
    [video] = at.get("video")
    assert video.proto.url.startswith(str(s3.meta.endpoint_url)) and "Signature" in video.proto.url
    assert httpx.get(video.proto.url).content[4:8] == b"ftyp"
    assert not [p for p in Path(tmp_path / "data" / "media").rglob("*.mp4")]  # nothing kept locally


def test_a_storyboard_is_made_and_joined_with_its_media_in_the_bucket(s3, make_sandbox, tmp_path) -> None:
    """The last frame carried to the next shot, the joined film and its thumbnail: all in the bucket."""
    from studio.storyboard import ShotPlan, StoryboardService

    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = open_media(f"s3://{BUCKET}/media", tmp_path / "cache")
    try:
        shots = [ShotPlan("veo3.1-fast", "a harbour at dawn"), ShotPlan("veo3.1-fast", "the harbour at noon")]
        board_id, _ = StoryboardService(store, media, connection).make_all("Harbour", shots, "16:9", request_key="b")
        engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds={"sandbox": 0.5}))
        engine.hold(connection)
        drain(engine, timeout=90)
        board = store.storyboard(board_id)
        film = store.get(board.film_id)
    finally:
        store.dispose()
    assert board.state == "done", board.error
    stored = keys(s3)
    assert f"media/{film.video_path}" in stored and f"media/{film.thumb_path}" in stored
    assert any(k.startswith("media/frames/") for k in stored)  # shot 1's last frame, shot 2's first
    assert httpx.get(media.url(film.video_path)).content[4:8] == b"ftyp"
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []  # nothing left behind
