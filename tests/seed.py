"""Filling a store quickly (Library tests, the bench) and driving the task engine in tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from studio.connection import Connection
from studio.costs import video_cost
from studio.db import Character, Generation, Status, Store
from studio.engine import EngineSettings, PollPolicy, TaskEngine
from studio.media import MediaStore

PROMPTS = [
    "a red kite over the sea",
    "a bottle of lemonade on a table",
    "neon city street at night",
    "a cat asleep on a piano",
    "sneakers splashing through puddles",
]
TASK_SECONDS = 0.5  # how long a test sandbox's video takes (make_sandbox(task_seconds=TASK_SECONDS))


def seed(
    store: Store,
    count: int,
    *,
    thumb: str | None = None,
    start: datetime | None = None,
    service: str = "sandbox",
    account: str | None = None,
) -> None:
    """``count`` generations, one a minute back from ``start``; every fifth failed, every
    seventh a remix, the odd ones portrait. Written in bulk, as finished rows (nothing to send)."""
    start = start or datetime.now(UTC)
    rows = []
    for n in range(count):
        status = Status.FAILED if n % 5 == 4 else Status.SUCCEEDED
        rows.append(
            {
                "kind": "remix" if n % 7 == 6 else "text",
                "status": status,
                "prompt": f"{PROMPTS[n % len(PROMPTS)]} #{n}",
                "aspect_ratio": "9:16" if n % 2 else "16:9",
                "duration": 10,
                "size": "small",
                "model": "sora-2",
                "service": service,
                "account": account,
                "task_id": f"seed-{n}-{secrets.token_hex(4)}",
                "progress": 100 if status == Status.SUCCEEDED else 40,
                "pid": f"s_{secrets.token_hex(16)}" if status == Status.SUCCEEDED else None,
                "remix_target_id": None,
                "thumb_path": thumb if status == Status.SUCCEEDED else None,
                "failure_reason": "input_moderation" if status == Status.FAILED else None,
                "cost": video_cost() if status == Status.SUCCEEDED else 0,
                "created_at": start - timedelta(minutes=n),
                "submitted_at": start - timedelta(minutes=n),
                "finished_at": start - timedelta(minutes=n) + timedelta(seconds=90),
            }
        )
    with store.session() as session, session.begin():
        for chunk in range(0, len(rows), 1000):
            session.execute(insert(Generation), rows[chunk : chunk + 1000])


def ready_character(store: Store, label: str, handle: str, *, service: str = "sandbox", account: str | None = None):
    """A finished character, as the engine leaves one: named ``label``, typed by the service as ``handle``."""
    character, _ = store.add_character(label=label, source="upload", timestamps="0,3", service=service, account=account)
    with store.session() as session, session.begin():
        row = session.get(Character, character.id)
        row.character_id, row.status = handle, Status.SUCCEEDED
    return store.get_character(character.id)


def seed_thumbnail(media_root: Path) -> str:
    from PIL import Image

    target = media_root / "thumbs" / "seed.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 180), (90, 60, 200)).save(target, quality=80)
    return "thumbs/seed.jpg"


# -- the task engine, on a test's clock -------------------------------------------------------------
def fast_engine(store: Store, media: MediaStore, *connections: Connection, **settings) -> TaskEngine:
    """A task engine holding these keys, with polls planned for sandbox tasks of TASK_SECONDS
    (the production policy on a clock five times faster), whatever service the keys are for."""
    settings = {
        "typical_seconds": {"sandbox": TASK_SECONDS, **{c.service_id: TASK_SECONDS for c in connections}},
        "policy": PollPolicy().scaled(0.2),
        **settings,
    }
    engine = TaskEngine(store, media, settings=EngineSettings(**settings))
    for connection in connections:
        engine.hold(connection)
    return engine


def drain(engine: TaskEngine, timeout: float = 60.0) -> TaskEngine:
    """Run the engine in its own event loop until nothing it can send or follow is left."""
    asyncio.run(engine.drain(timeout))
    return engine


async def cycles_until(engine: TaskEngine, condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Run engine cycles (at the engine's own pace) until ``condition()`` holds: for moments
    ``drain`` cannot wait for (a paused batch keeps its unsent rows)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"the engine did not get there within {timeout} s")
        await engine.cycle()
        await asyncio.sleep(engine.settings.tick)
