"""The kinds of remote task the engine runs: generations (videos and images, single or batch rows)
and characters.

A kind answers what the engine would otherwise ask of a row's ORM class: the table its rows live
in, how one row is sent and what that costs, which GrsAI model it uses, how the webhook names it,
how long such tasks usually take and what a successful finish writes. The engine holds a kind and
never asks which class a row is; a new kind of task is one more class here.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from grsai_api import MODELS, AsyncClient, Task, character_model

from ..costs import character_cost, video_cost
from ..db import Character, Generation, Status, TaskRow
from ..db.tasks import TaskModel
from .schedule import PollPolicy

PutFile = Callable[[str | None, str], Awaitable[str | bytes | None]]
"""A stored reference as sent (a URL, or a kept file put in the service's storage), given the
suffix to name a file with when its own name has none."""


class Send(NamedTuple):
    """A row ready to go: its files made ready, only the create call left, and what it costs."""

    create: Callable[[], Awaitable[str]]
    credits: int


class TaskKind(ABC):
    """What the engine needs to know about one kind of task."""

    table: TaskModel  # where its rows live in the store
    prefix: str  # how a webhook address names one of its rows (``?row=g12``)
    copies: bool  # a success leaves files to copy into the media store

    @abstractmethod
    def cost(self, row: TaskRow) -> int:
        """Credits one send of ``row`` is charged (the one place the engine asks)."""

    @abstractmethod
    def grsai_model(self, row: TaskRow) -> str:
        """The GrsAI model id the row is sent to: its status is asked before sending."""

    @abstractmethod
    def polled_as(self, row: TaskRow) -> str | None:
        """The model named when the row's task is polled (it chooses the result path)."""

    def unified(self, row: TaskRow) -> bool:
        """Sent on the unified API: such tasks bring no webhook news and are polled at full pace."""
        return False

    def timing(self, row: TaskRow) -> tuple[str, str | None]:
        """What the task makes ("video" or "image") and the catalogue model whose listed typical
        duration applies (None: none listed), to plan its polls."""
        return "video", None

    def peers(self, makes: str) -> Sequence[str] | None:
        """The GrsAI models whose past tasks say how long this one will take (None: all of the table)."""
        return None

    @abstractmethod
    def default_seconds(self, policy: PollPolicy, makes: str) -> float:
        """How long such a task is assumed to take before any were seen."""

    @abstractmethod
    async def prepare(self, row: TaskRow, client: AsyncClient, put_file: PutFile, webhook: str) -> Send:
        """Make the row's files ready (an OSError or ValueError here: nothing was sent) and return
        the create that is left to call."""

    @abstractmethod
    def succeeded(
        self, row: TaskRow, task: Task, *, now: datetime, engine_id: str, hold_until: datetime
    ) -> dict[str, Any]:
        """What the row's finish-once write sets when the service says the task succeeded."""


class GenerationKind(TaskKind):
    """A video or image from any model in the catalogue; its files are copied after it succeeds."""

    table = Generation
    prefix = "g"
    copies = True

    def cost(self, row: TaskRow) -> int:
        return video_cost(model=row.model)

    def grsai_model(self, row: TaskRow) -> str:
        return row.model

    def polled_as(self, row: TaskRow) -> str | None:
        return row.model

    def unified(self, row: TaskRow) -> bool:
        entry = MODELS.get(row.model)
        return entry is not None and entry.api == "unified"

    def timing(self, row: TaskRow) -> tuple[str, str | None]:
        return row.makes, row.model

    def peers(self, makes: str) -> Sequence[str] | None:
        return [m.id for m in MODELS.values() if m.kind == makes]

    def default_seconds(self, policy: PollPolicy, makes: str) -> float:
        return policy.video_seconds if makes == "video" else policy.image_seconds

    async def prepare(self, row: TaskRow, client: AsyncClient, put_file: PutFile, webhook: str) -> Send:
        params = await self._sendable(row.request_params(), put_file)
        entry = MODELS.get(row.model)
        create = client.create_image if entry is not None and entry.kind == "image" else client.create_video
        return Send(functools.partial(create, **params, webhook=webhook), self.cost(row))

    @staticmethod
    async def _sendable(params: dict[str, Any], put_file: PutFile) -> dict[str, Any]:
        """A stored request as the client takes it: empty fields left out, kept files named by
        their address in the service's storage (put there once)."""
        params = {k: v for k, v in params.items() if v not in (None, "", [])}
        entry = MODELS.get(str(params.get("model")))
        for name, spec in (entry.fields if entry is not None else {}).items():
            if spec.kind not in ("images", "audios"):
                continue
            suffix = "mp3" if spec.kind == "audios" else "png"  # when the kept file's name has none
            if isinstance(params.get(name), str):
                params[name] = await put_file(params[name], suffix)
            elif isinstance(params.get(name), list):
                params[name] = [await put_file(ref, suffix) for ref in params[name]]
        return params

    def succeeded(
        self, row: TaskRow, task: Task, *, now: datetime, engine_id: str, hold_until: datetime
    ) -> dict[str, Any]:
        return dict(
            status=Status.SAVING,
            pid=task.pid,
            remote_url=task.video_url,
            files=[{"url": url} for url in task.urls] or None,
            progress=100,
            finished_at=now,
            polls=row.polls + 1,
            poll_failures=0,
            # copied right now by this engine: not due for anyone else while the copy runs
            next_poll_at=hold_until,
            lease_owner=engine_id,
            lease_until=hold_until,
        )


class CharacterKind(TaskKind):
    """A Sora 2 character, from a finished video's pid or an uploaded clip."""

    table = Character
    prefix = "c"
    copies = False

    def cost(self, row: TaskRow) -> int:
        return character_cost()

    def grsai_model(self, row: TaskRow) -> str:
        return character_model()  # characters are Sora 2's

    def polled_as(self, row: TaskRow) -> str | None:
        return None

    def default_seconds(self, policy: PollPolicy, makes: str) -> float:
        return policy.character_seconds

    async def prepare(self, row: TaskRow, client: AsyncClient, put_file: PutFile, webhook: str) -> Send:
        if row.source_pid:
            send = functools.partial(
                client.create_character, pid=row.source_pid, timestamps=row.timestamps, webhook=webhook
            )
            return Send(send, self.cost(row))
        clip = await put_file(row.source_ref, "mp4")
        send = functools.partial(
            client.upload_character, url=clip, timestamps=row.timestamps, webhook=webhook
        )
        return Send(send, self.cost(row))

    def succeeded(
        self, row: TaskRow, task: Task, *, now: datetime, engine_id: str, hold_until: datetime
    ) -> dict[str, Any]:
        return dict(
            status=Status.SUCCEEDED,
            character_id=task.character_id,
            progress=100,
            finished_at=now,
            lease_owner=None,
            lease_until=None,
        )


GENERATIONS = GenerationKind()
CHARACTERS = CharacterKind()
KINDS: tuple[TaskKind, ...] = (CHARACTERS, GENERATIONS)  # the order the engine claims and follows them in
BY_PREFIX: dict[str, TaskKind] = {kind.prefix: kind for kind in KINDS}

__all__ = ["BY_PREFIX", "CHARACTERS", "GENERATIONS", "KINDS", "PutFile", "Send", "TaskKind"]
