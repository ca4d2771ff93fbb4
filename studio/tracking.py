"""Polling many tasks at once: one tick asks about every active task concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grsai_api import GrsaiError, Task

from .connection import Connection
from .media import save_video


@dataclass
class TrackedTask:
    """A generation this browser session is watching."""

    id: str
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    submitted_at: float = field(default_factory=time.time)
    status: str = "running"
    progress: int = 0
    pid: str | None = None
    video_path: str | None = None
    failure_reason: str | None = None
    error: str | None = None
    finished_at: float | None = None
    poll_error: str | None = None

    @property
    def elapsed(self) -> float:
        return (self.finished_at or time.time()) - self.submitted_at

    def apply(self, outcome: Task | GrsaiError, media_dir: Path) -> bool:
        """Take in one poll's outcome; True when this made the task finish."""
        if isinstance(outcome, GrsaiError):
            self.poll_error = str(outcome)  # shown, and the next tick tries again
            return False
        self.poll_error = None
        self.progress = max(self.progress, outcome.progress)
        if outcome.status == "running":
            return False
        if outcome.status == "succeeded":
            self.pid = outcome.pid
            if outcome.video_url:
                self.video_path = str(save_video(outcome.video_url, media_dir, self.id))
        else:
            self.failure_reason, self.error = outcome.failure_reason, outcome.error
        self.status, self.finished_at = outcome.status, time.time()
        return True


async def poll_many_async(connection: Connection, task_ids: Iterable[str]) -> dict[str, Task | GrsaiError]:
    """The latest state of each task; a task whose poll failed maps to its error instead."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return {}
    async with connection.async_client(max_retries=1) as client:
        outcomes = await asyncio.gather(*(client.get_result(i) for i in ids), return_exceptions=True)
    results: dict[str, Task | GrsaiError] = {}
    for task_id, outcome in zip(ids, outcomes, strict=True):
        if isinstance(outcome, GrsaiError | Task):
            results[task_id] = outcome
        else:
            raise outcome
    return results


def poll_many(connection: Connection, task_ids: Iterable[str]) -> dict[str, Task | GrsaiError]:
    return asyncio.run(poll_many_async(connection, task_ids))


def refresh(connection: Connection, tasks: list[TrackedTask], media_dir: Path) -> list[TrackedTask]:
    """Poll every running task once, together; returns the ones that just finished."""
    running = {t.id: t for t in tasks if t.status == "running"}
    finished = []
    for task_id, outcome in poll_many(connection, running).items():
        if running[task_id].apply(outcome, media_dir):
            finished.append(running[task_id])
    return finished
