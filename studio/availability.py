"""Which models are up for one connection: the service is asked (getModelStatus) about every model
in the catalogue at once, and pages and the engine refuse a model that is down. A model whose
status could not be learned counts as unknown, not down: the send itself is then judged."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from grsai_api import MODELS, GrsaiError, ModelSpec, ModelStatus, best, closest

from .connection import Connection

ASK_TIMEOUT = 5.0


@dataclass(frozen=True)
class ModelBoard:
    """Every model's status for one account, as the service said it at ``asked_at``."""

    statuses: dict[str, ModelStatus] = field(default_factory=dict)
    asked_at: float = field(default_factory=time.time)

    def status(self, model: str) -> ModelStatus | None:
        """The service's word on ``model``; None when it could not be asked."""
        return self.statuses.get(model)

    def is_down(self, model: str) -> bool:
        status = self.statuses.get(model)
        return status is not None and not status.available

    def state(self, model: str) -> str:
        """"up", "down", or "unknown" when the service could not be asked (a refused key, a fault):
        the one word every page shows for a model's status."""
        status = self.statuses.get(model)
        return "unknown" if status is None else ("up" if status.available else "down")

    def said_up(self) -> int:
        """How many models the service said are up (unknown ones are not counted as up)."""
        return sum(self.state(m) == "up" for m in MODELS)

    def is_up(self, model: str) -> bool:
        """Up, or unknown (not known to be down)."""
        return not self.is_down(model)

    def up(self) -> frozenset[str]:
        return frozenset(m for m in MODELS if self.is_up(m))

    def best(self, kind: str) -> ModelSpec | None:
        """The preferred model of a kind that is not down (the default of a picker)."""
        return best(kind, self.up())  # type: ignore[arg-type]

    def closest(self, model: str) -> ModelSpec | None:
        """The model nearest to ``model`` that is up: the offer made when ``model`` is down."""
        return closest(model, self.up())

    def why_down(self, model: str) -> str:
        """In words, for a page: "Sora 2 is down right now", then the service's reason when it gives
        one ("…: retired by OpenAI"), not its "sora-2 is temporarily unavailable" said again."""
        status = self.statuses.get(model)
        return down_sentence(model, status.message if status is not None else None)


def down_sentence(model: str, message: str | None) -> str:
    """How every page and the engine say that ``model`` is down: its name once, then the service's
    reason only when it gives one."""
    name = MODELS[model].name if model in MODELS else model
    reason = service_reason(message or "", model, name)
    return f"{name} is down right now{f': {reason}' if reason else ''}"


# What "down" says already: a service's message made only of these (and the model's names) adds nothing.
_SAYS_DOWN_ONLY = frozenset(
    {
        "the", "model", "is", "are", "currently", "temporarily", "now", "right", "at", "this", "moment", "for",
        "unavailable", "not", "available", "down", "offline", "service", "sorry", "please", "try", "again", "later",
    }
)


def service_reason(message: str, model: str, name: str) -> str:
    """The service's words on a model that is down, less the model's name ("sora-2 is down for
    maintenance" -> "down for maintenance"); "" when they only say it is down."""
    said = message.strip().rstrip(".")
    for naming in sorted({model, name}, key=len, reverse=True):
        if said.lower().startswith(naming.lower()):
            said = said[len(naming):].lstrip(" :,-").removeprefix("is ").removeprefix("are ").strip()
    words = re.findall(r"[\w']+", said.lower())
    named = set(re.findall(r"[\w']+", f"{model} {name}".lower()))
    if all(word in _SAYS_DOWN_ONLY or word in named for word in words):
        return ""
    return said


async def _ask_all(connection: Connection, models: list[str]) -> dict[str, ModelStatus]:
    async with connection.async_client(max_retries=0, timeout=ASK_TIMEOUT) as client:

        async def one(model: str) -> tuple[str, ModelStatus | None]:
            try:
                return model, await client.model_status(model)
            except GrsaiError:
                return model, None

        answers = await asyncio.gather(*(one(m) for m in models))
    return {model: status for model, status in answers if status is not None}


def ask(connection: Connection, models: list[str] | None = None) -> ModelBoard:
    """Ask the service about every model (concurrently, a few seconds at most)."""
    wanted = list(models or MODELS)
    try:
        statuses = asyncio.run(_ask_all(connection, wanted))
    except RuntimeError:  # called inside a running loop: ask from a fresh thread's loop instead
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            statuses = pool.submit(asyncio.run, _ask_all(connection, wanted)).result()
    return ModelBoard(statuses=statuses)
