"""Our own media folder fails, not the service: a full or unwritable folder is said in words (which
folder, what is wrong with it, until when the service still holds the file), and the copy goes on by
itself once there is room, with nothing sent again."""

from __future__ import annotations

import asyncio
import errno
from datetime import timedelta
from pathlib import Path

import pytest

from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import PollPolicy, TaskEngine
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import stats
from tests.seed import fast_engine

FAST = {"task_seconds": 0.4}  # on top of conftest.FAST, which make_sandbox starts from


async def run_until(engine: TaskEngine, done, seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not done():
            await engine.cycle()
            await engine._settle(5)
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "is full"), (errno.EACCES, "is not writable"), (errno.EROFS, "is not writable")],
)
def test_a_full_or_unwritable_media_folder_is_said_in_words_and_the_copy_resumes(
    make_sandbox, tmp_path, monkeypatch, code, words
) -> None:
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = MediaStore(tmp_path / "media")
    row = GenerationService(store, media, connection).submit({"prompt": "a paper boat on a pond"})
    engine = fast_engine(store, media, connection, policy=PollPolicy(copy_retry=0.05).scaled(0.2))

    real_staging = MediaStore.staging

    def no_room(self, relative: str) -> Path:
        target = real_staging(self, relative)
        raise OSError(code, "the disk says no", str(target))

    async def scenario() -> None:
        monkeypatch.setattr(MediaStore, "staging", no_room)
        said = lambda: store.get(row.id).error or ""  # noqa: E731
        await run_until(engine, lambda: said().startswith("The finished video could not be kept"))
        assert words in said() and "OSError" not in said()
        monkeypatch.setattr(MediaStore, "staging", real_staging)  # room made
        await run_until(engine, lambda: store.get(row.id).status == Status.SUCCEEDED)

    try:
        asyncio.run(scenario())
    finally:
        store.dispose()
    kept = store.get(row.id)
    assert kept.video_path and (tmp_path / "media" / kept.video_path).stat().st_size > 0
    assert stats(running)["creates_by_prompt"]["a paper boat on a pond"] == 1  # nothing sent again


def test_the_words_name_the_folder_and_the_time_the_file_is_held_until(make_sandbox, tmp_path, monkeypatch) -> None:
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = MediaStore(tmp_path / "media")
    row = GenerationService(store, media, connection).submit({"prompt": "a kite over dunes"})
    engine = fast_engine(store, media, connection)

    def full(self, relative: str) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / relative))

    monkeypatch.setattr(MediaStore, "staging", full)

    try:
        asyncio.run(run_until(engine, lambda: store.get(row.id).error))
    finally:
        store.dispose()
    said = store.get(row.id)
    assert said.status == Status.SAVING  # made and paid: still being kept, not failed
    assert f"the media folder {tmp_path / 'media' / 'videos'} is full" in said.error
    held_until = (said.finished_at.astimezone() + timedelta(hours=2)).strftime("%H:%M")
    assert f"until {held_until}" in said.error
    assert "OSError" not in said.error


def test_a_database_away_says_one_line_for_the_storyboards_pass_too(tmp_path, monkeypatch, caplog) -> None:
    """While the database was away, each storyboard pass left an unretrieved exception that asyncio
    printed as a traceback ("Task exception was never retrieved"); it is one warning line now."""
    import gc
    import logging

    from sqlalchemy.exc import OperationalError

    store = Store(f"sqlite:///{tmp_path / 'studio.db'}")
    media = MediaStore(tmp_path / "media")
    engine = fast_engine(store, media)
    passes: list[int] = []

    def away():
        passes.append(1)
        raise OperationalError("SELECT storyboards", {}, Exception("the database system is shutting down"))

    monkeypatch.setattr(store, "storyboards_to_advance", away)
    caplog.set_level(logging.WARNING)

    async def cycles() -> None:
        async with asyncio.timeout(20):
            while len(passes) < 3:
                await engine.cycle()
                await asyncio.sleep(0.4)

    try:
        asyncio.run(cycles())
        gc.collect()  # where asyncio reports a task whose exception nobody took
    finally:
        store.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "never retrieved" in m]
    assert any(m.startswith("storyboards: the database did not answer") and "shutting down" in m for m in said)
