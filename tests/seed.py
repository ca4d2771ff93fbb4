"""Filling a store with generations quickly (for Library tests and the bench)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from studio.store import Generation, Store

PROMPTS = [
    "a red kite over the sea",
    "a bottle of lemonade on a table",
    "neon city street at night",
    "a cat asleep on a piano",
    "sneakers splashing through puddles",
]


def seed(store: Store, count: int, *, thumb: str | None = None, start: datetime | None = None) -> None:
    """``count`` generations, one a minute back from ``start``; every fifth failed, every
    seventh a remix, the odd ones portrait."""
    start = start or datetime.now(UTC)
    rows = []
    for n in range(count):
        status = "failed" if n % 5 == 4 else "succeeded"
        rows.append(
            {
                "kind": "remix" if n % 7 == 6 else "text",
                "status": status,
                "prompt": f"{PROMPTS[n % len(PROMPTS)]} #{n}",
                "aspect_ratio": "9:16" if n % 2 else "16:9",
                "duration": 10,
                "size": "small",
                "model": "sora-2",
                "service": "sandbox",
                "task_id": f"seed-{n}-{secrets.token_hex(4)}",
                "progress": 100 if status == "succeeded" else 40,
                "pid": f"s_{secrets.token_hex(16)}" if status == "succeeded" else None,
                "remix_target_id": None,
                "thumb_path": thumb if status == "succeeded" else None,
                "failure_reason": "input_moderation" if status == "failed" else None,
                "cost": 0.08 if status == "succeeded" else 0.0,
                "watch": True,
                "created_at": start - timedelta(minutes=n),
                "submitted_at": start - timedelta(minutes=n),
                "finished_at": start - timedelta(minutes=n) + timedelta(seconds=90),
            }
        )
    with store.session() as session, session.begin():
        for chunk in range(0, len(rows), 1000):
            session.execute(insert(Generation), rows[chunk : chunk + 1000])


def seed_thumbnail(media_root: Path) -> str:
    from PIL import Image

    target = media_root / "thumbs" / "seed.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 180), (90, 60, 200)).save(target, quality=80)
    return "thumbs/seed.jpg"
