"""Which models are up for one connection: the service is asked (getModelStatus) about every model
in the catalogue at once, and pages and the engine refuse a model that is down. A model whose
status could not be learned counts as unknown, not down: the send itself is then judged."""

from __future__ import annotations

import asyncio
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
        """In words, for a page: "Sora 2 is down right now: <the service's message>"."""
        status = self.statuses.get(model)
        name = MODELS[model].name if model in MODELS else model
        message = f": {status.message}" if status is not None and status.message else ""
        return f"{name} is down right now{message}"


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
