"""The store: every generation, character and batch, in SQLAlchemy 2 over SQLite (WAL) by
default, or any database by URL (``DATABASE_URL``, e.g. PostgreSQL shared by several replicas).

One class per table family (generations, characters, batches) plus the engine's task queries;
``Store`` is all of them over one engine. Every write is a short transaction on one row or a
batch of rows, guarded by its expected status, so nothing here assumes it is the only writer.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from .batches import BatchQueries
from .characters import CharacterQueries
from .database import default_url, migrate
from .generations import KINDS, GenerationQueries, LibraryFilter, kind_of
from .models import Batch, Character, EngineAccount, Generation, Setting
from .status import ACTIVE, FINAL, FOLLOWED, BatchState, Status
from .tasks import TaskQueries, TaskRow
from .types import as_utc, utcnow


class Store(GenerationQueries, CharacterQueries, BatchQueries, TaskQueries):
    def setting(self, name: str, make) -> str:
        """A value every process of the deployment shares, made once by whoever asks first."""
        with self.session() as session:
            found = session.get(Setting, name)
            if found is not None:
                return found.value
        try:
            with self.session() as session, session.begin():
                session.add(Setting(name=name, value=make()))
        except IntegrityError:
            pass
        with self.session() as session:
            return session.get(Setting, name).value

    def webhook_secret(self) -> str:
        return self.setting("webhook_secret", lambda: secrets.token_urlsafe(24))


__all__ = [
    "ACTIVE",
    "FINAL",
    "FOLLOWED",
    "KINDS",
    "Batch",
    "BatchState",
    "Character",
    "EngineAccount",
    "Generation",
    "LibraryFilter",
    "Status",
    "Store",
    "TaskRow",
    "as_utc",
    "default_url",
    "kind_of",
    "migrate",
    "utcnow",
]
