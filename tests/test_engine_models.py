"""The task engine with every model, against the sandbox over real HTTP: Veo from a first frame put in
the service's storage once, GPT image variants kept as files, MiniMax polled on the unified API's own
path, a `violation` counted at its price (the service keeps it), and a model that is down never sent to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image

from sandbox.control import control_headers
from studio.batch import BatchService, plan_rows, read_table
from studio.connection import sandbox_connection
from studio.costs import video_cost
from studio.db import BatchState, Generation, Status, Store
from studio.engine import EngineSettings, TaskEngine
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import png, stats
from tests.seed import cycles_until, drain

FAST = {"image_seconds": 0.3}  # on top of conftest.FAST, which make_sandbox starts from


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    yield store
    store.dispose()


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def parts(running, store, media):
    connection = sandbox_connection(running.base_url)
    engine = TaskEngine(
        store, media, settings=EngineSettings(typical_seconds={"sandbox": 0.6}, model_status_seconds=0.2)
    )
    engine.hold(connection)
    return connection, engine, GenerationService(store, media, connection, on_queued=engine.wake)


def set_models(running, **models: dict) -> None:
    httpx.patch(
        f"{running.base_url}/sandbox/config",
        headers=control_headers(running.base_url),
        json={"models": models},
    ).raise_for_status()


def first_and_last_frames(path: Path) -> tuple[Image.Image, Image.Image]:
    with av.open(str(path)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    return frames[0], frames[-1]


def near(color: tuple[int, int, int], image: Image.Image, tolerance: int = 40) -> bool:
    middle = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    return all(abs(a - b) <= tolerance for a, b in zip(middle, color, strict=True))


def test_a_veo_video_starts_on_its_first_frame_uploaded_once(make_sandbox, store, media):
    """An uploaded first frame goes to the service's storage once and is named by its address after."""
    running = make_sandbox(**FAST)
    _, engine, service = parts(running, store, media)
    frame = png((20, 200, 40), size=(128, 72))
    rows = [
        service.submit({"model": "veo3.1-fast", "prompt": f"a green field #{n}", "first_frame_url": frame})
        for n in range(2)
    ]
    drain(engine)
    done = [store.get(row.id) for row in rows]
    assert [d.status for d in done] == [Status.SUCCEEDED] * 2, [d.error for d in done]
    assert all(d.cost == 2_400 and d.model == "veo3.1-fast" for d in done)
    first, _ = first_and_last_frames(media.path(done[0].video_path))
    assert near((20, 200, 40), first)
    assert engine.stats["uploaded"] == 1  # the same file, two requests: put in storage once
    assert stats(running)["counters"].get("uploads_stored", 1) == 1


def test_gpt_image_variants_are_kept_as_files(make_sandbox, store, media):
    running = make_sandbox(**FAST)
    _, engine, service = parts(running, store, media)
    row = service.submit({"model": "gpt-image-2", "prompt": "a teapot, studio light", "variants": 3})
    drain(engine)
    done = store.get(row.id)
    assert done.status == Status.SUCCEEDED, done.error
    assert done.makes == "image" and len(done.files) == 3 and done.cost == 600
    images = [Image.open(media.path(f["path"])) for f in done.files]
    assert {image.size for image in images} == {(1024, 1024)}
    assert len({image.tobytes()[:5000] for image in images}) == 3  # three different pictures
    assert all(media.exists(f["thumb"]) for f in done.files)


def test_a_minimax_video_is_polled_on_the_unified_path_and_a_violation_is_counted_at_its_price(
    make_sandbox, store, media
):
    running = make_sandbox(**FAST)
    _, engine, service = parts(running, store, media)
    good = service.submit(
        {"model": "minimax-h3", "prompt": "waves at dusk", "duration": 3, "resolution": "480p"}
    )
    refused = service.submit(
        {"model": "minimax-h3", "prompt": "explicit gore", "duration": 2, "resolution": "480p"}
    )
    drain(engine)
    made, failed = store.get(good.id), store.get(refused.id)
    assert made.status == Status.SUCCEEDED, made.error
    with av.open(str(media.path(made.video_path))) as container:
        stream = container.streams.video[0]
        seconds = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        assert stream.codec_context.height == 480 or stream.codec_context.width == 480 or seconds > 0
    assert abs(seconds - 3) < 0.6
    assert failed.status == Status.FAILED and failed.failure_reason == "violation"
    assert failed.cost == video_cost(model="minimax-h3")  # the service keeps a refusal's credits


def test_a_model_that_is_down_is_never_sent_to(make_sandbox, store, media):
    """A single request waits, unsent and uncharged, and goes once the model is back; a batch pauses
    and says why."""
    running = make_sandbox(**FAST)
    set_models(running, **{"sora-2": {"available": False}})
    connection, engine, service = parts(running, store, media)
    row = service.submit({"model": "sora-2", "prompt": "a quiet harbour"})
    batches = BatchService(store, media, connection, on_queued=engine.wake)
    batch = batches.create(
        "down", plan_rows(read_table("prompt\nrow one\nrow two\n")), request_key="down-batch"
    )
    asyncio.run(
        cycles_until(engine, lambda: store.get_batch(batch.id).state == BatchState.PAUSED, timeout=20)
    )
    waiting = store.get(row.id)
    assert waiting.status == Status.QUEUED and "Sora 2 is down" in (waiting.error or "")
    assert "Sora 2 is down" in (store.get_batch(batch.id).paused_because or "")
    # said once, as every page says it: not "Sora 2 is down right now (sora-2 is temporarily unavailable)"
    for said in (waiting.error, store.get_batch(batch.id).paused_because):
        assert "sora-2" not in said and "temporarily unavailable" not in said
    assert stats(running)["creates_by_prompt"] == {}  # nothing was sent
    set_models(running, **{"sora-2": {"available": True}})
    drain(engine, timeout=30)
    assert store.get(row.id).status == Status.SUCCEEDED


def test_generation_rows_say_what_they_make(store):
    video = Generation(model="veo3.1-pro-4k")
    image = Generation(model="nano-banana-pro")
    assert (video.makes, image.makes) == ("video", "image")
    assert image.request_params()["model"] == "nano-banana-pro" and "duration" not in image.request_params()
