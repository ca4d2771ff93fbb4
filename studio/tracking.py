"""Following running generations: one tick polls every watched task concurrently and writes what
it learned through to the store. Free of Streamlit so it can be tested and measured as a function."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from grsai_api import GrsaiError, NotFoundError, Task
from grsai_api._base import shared_ssl_context

from .connection import Connection
from .media import LinkExpired, MediaStore
from .store import RUNNING, Character, CharacterUpdate, Generation, ProgressUpdate, Store

DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0)


@dataclass
class TickReport:
    finished: list[int] = field(default_factory=list)  # generation ids that ended in this tick
    errors: dict[int, str] = field(default_factory=dict)  # polls that failed; retried next tick
    still_running: list[int] = field(default_factory=list)
    characters_finished: list[int] = field(default_factory=list)
    characters_still_running: list[int] = field(default_factory=list)
    character_errors: dict[int, str] = field(default_factory=dict)


async def _collect(
    media: MediaStore, http: httpx.AsyncClient, generation: Generation, task: Task
) -> ProgressUpdate:
    """The update for a task that succeeded: copy the video and make its thumbnail first."""
    update = ProgressUpdate(generation.id, 100, status="succeeded", pid=task.pid, remote_url=task.video_url)
    if task.video_url:
        try:
            update.video_path = await media.download_video(http, task.video_url, str(generation.id))
        except LinkExpired:
            update.error = "The video's link expired before it could be copied."
        else:
            update.thumb_path = await asyncio.to_thread(
                media.make_thumbnail, update.video_path, str(generation.id)
            )
    return update


def _character_update(row: Character, outcome: Task | BaseException) -> CharacterUpdate | None:
    if isinstance(outcome, NotFoundError):
        return CharacterUpdate(
            row.id,
            row.progress,
            "failed",
            failure_reason="error",
            error="The service no longer knows this task.",
        )
    if isinstance(outcome, GrsaiError):
        return None
    if isinstance(outcome, BaseException):
        raise outcome
    if outcome.status == "succeeded":
        return CharacterUpdate(row.id, 100, "succeeded", character_id=outcome.character_id)
    if outcome.status == "failed":
        return CharacterUpdate(
            row.id, outcome.progress, "failed", failure_reason=outcome.failure_reason, error=outcome.error
        )
    return CharacterUpdate(row.id, outcome.progress) if outcome.progress != row.progress else None


async def tick_async(
    connection: Connection,
    store: Store,
    media: MediaStore,
    ids: Iterable[int],
    character_ids: Iterable[int] = (),
) -> TickReport:
    """Poll every watched video and character task together, and write what changed."""
    report = TickReport()
    generations = [g for g in store.get_many(ids) if g.status == RUNNING and g.task_id]
    characters = [c for c in store.get_characters(character_ids) if c.status == RUNNING and c.task_id]
    if not generations and not characters:
        return report
    updates: list[ProgressUpdate] = []
    succeeded: list[tuple[Generation, Task]] = []
    async with connection.async_client(max_retries=1) as client:
        outcomes = await asyncio.gather(
            *(client.get_result(row.task_id) for row in [*generations, *characters]), return_exceptions=True
        )
    character_outcomes = outcomes[len(generations) :]
    outcomes = outcomes[: len(generations)]
    character_updates = []
    for row, outcome in zip(characters, character_outcomes, strict=True):
        update = _character_update(row, outcome)
        if update is not None:
            character_updates.append(update)
        if isinstance(outcome, GrsaiError) and not isinstance(outcome, NotFoundError):
            report.character_errors[row.id] = str(outcome)
    report.characters_finished = store.apply_characters(character_updates)
    report.characters_still_running = [c.id for c in characters if c.id not in report.characters_finished]
    for generation, outcome in zip(generations, outcomes, strict=True):
        if isinstance(outcome, NotFoundError):
            updates.append(
                ProgressUpdate(
                    generation.id,
                    generation.progress,
                    status="failed",
                    failure_reason="error",
                    error="The service no longer knows this task.",
                )
            )
        elif isinstance(outcome, GrsaiError):
            report.errors[generation.id] = str(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        elif outcome.status == "succeeded":
            succeeded.append((generation, outcome))
        elif outcome.status == "failed":
            updates.append(
                ProgressUpdate(
                    generation.id,
                    outcome.progress,
                    status="failed",
                    failure_reason=outcome.failure_reason,
                    error=outcome.error,
                )
            )
        elif outcome.progress != generation.progress:
            updates.append(ProgressUpdate(generation.id, outcome.progress))
    if succeeded:  # most ticks have nothing to copy: no download client for them
        async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, verify=shared_ssl_context()) as http:
            collected = await asyncio.gather(
                *(_collect(media, http, g, t) for g, t in succeeded), return_exceptions=True
            )
        for (generation, _), result in zip(succeeded, collected, strict=True):
            if isinstance(result, ProgressUpdate):
                updates.append(result)
            else:  # the copy failed for now (network): keep it running, try again next tick
                report.errors[generation.id] = f"Copying the finished video failed: {type(result).__name__}"
    report.finished = store.apply(updates)
    report.still_running = [g.id for g in generations if g.id not in report.finished]
    return report


def tick(
    connection: Connection,
    store: Store,
    media: MediaStore,
    ids: Iterable[int],
    character_ids: Iterable[int] = (),
) -> TickReport:
    return asyncio.run(tick_async(connection, store, media, ids, character_ids))
