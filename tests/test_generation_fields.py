"""Every field a model's catalogue entry lists is kept with the request and sent: the store and the
engine ask the entry which fields there are and which of them name files (they used hand-typed
lists, and GPT image 2.5's quality, background and mask and MiniMax H3's audios were dropped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import EngineSettings, PollPolicy, TaskEngine
from studio.generation import GenerationService
from studio.media import FILE_PREFIX, MediaStore
from tests.conftest import png
from tests.test_client_revision import wav


@pytest.fixture
def studio(tmp_path: Path, make_sandbox):
    """A fresh data folder, a sandbox, and an engine holding its key."""
    running = make_sandbox()
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    media = MediaStore(tmp_path / "media")
    connection = sandbox_connection(running.base_url)
    engine = TaskEngine(
        store,
        media,
        settings=EngineSettings(typical_seconds={"sandbox": 0.6}, policy=PollPolicy().scaled(0.2)),
    )
    engine.hold(connection)
    yield GenerationService(store, media, connection), engine, store
    store.dispose()


def test_a_minimax_video_keeps_and_sends_its_uploaded_sound_and_seed(studio):
    service, engine, store = studio
    row = service.submit(
        {
            "model": "minimax-h3",
            "prompt": "waves on a pier",
            "duration": 1,
            "resolution": "480p",
            "seed": 7,
            "audio_urls": [wav()],
        }
    )
    asked = store.get(row.id).request_params()
    assert asked["seed"] == 7
    [sound] = asked["audio_urls"]
    assert sound.startswith(FILE_PREFIX) and sound.endswith(".wav")  # kept here, by its own kind
    asyncio.run(engine.drain(timeout=60))
    assert store.get(row.id).status == Status.SUCCEEDED
    assert engine.stats["uploaded"] == 1  # the sound went to the service's storage, as sent


def test_a_gpt_image_2_5_keeps_its_quality_background_and_uploaded_mask(studio):
    service, engine, store = studio
    row = service.submit(
        {
            "model": "gpt-image-2.5",
            "prompt": "a glass bottle",
            "quality": "high",
            "background": "transparent",
            "mask_url": png((0, 0, 0)),
        }
    )
    asked = store.get(row.id).request_params()
    assert (asked["quality"], asked["background"]) == ("high", "transparent")
    assert asked["mask_url"].startswith(FILE_PREFIX) and asked["mask_url"].endswith(".png")
    asyncio.run(engine.drain(timeout=60))
    assert store.get(row.id).status == Status.SUCCEEDED
    assert engine.stats["uploaded"] == 1  # the mask
