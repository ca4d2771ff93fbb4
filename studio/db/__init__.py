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
from .brand import BrandQueries, NameTaken
from .characters import CharacterQueries
from .chat_calls import ChatCallQueries
from .database import default_url, migrate
from .generations import KINDS, GenerationQueries, LibraryFilter, kind_of
from .logins import LoginQueries
from .models import Batch, BrandAsset, Character, EngineAccount, Generation, Setting, Storyboard, Upload
from .presenting import PresentQueries
from .status import ACTIVE, FINAL, FOLLOWED, BatchState, FailureReason, Status, StoryboardState
from .storyboards import StoryboardQueries
from .tasks import TaskQueries, TaskRow
from .types import as_utc, utcnow
from .uploads import UploadQueries


class Store(
    GenerationQueries,
    CharacterQueries,
    BatchQueries,
    StoryboardQueries,
    TaskQueries,
    UploadQueries,
    LoginQueries,
    BrandQueries,
    ChatCallQueries,
    PresentQueries,
):
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

    def get_setting(self, name: str) -> str | None:
        with self.session() as session:
            found = session.get(Setting, name)
            return found.value if found is not None else None

    def put_setting(self, name: str, value: str) -> None:
        """Set a shared value (the last writer wins)."""
        try:
            with self.session() as session, session.begin():
                found = session.get(Setting, name, with_for_update=True)
                if found is None:
                    session.add(Setting(name=name, value=value))
                else:
                    found.value = value
        except IntegrityError:  # another process made it first: write over it
            with self.session() as session, session.begin():
                session.get(Setting, name, with_for_update=True).value = value

    def webhook_secret(self) -> str:
        return self.setting("webhook_secret", lambda: secrets.token_urlsafe(24))


__all__ = [
    "ACTIVE",
    "FINAL",
    "FOLLOWED",
    "KINDS",
    "Batch",
    "BatchState",
    "FailureReason",
    "BrandAsset",
    "Character",
    "EngineAccount",
    "Generation",
    "LibraryFilter",
    "NameTaken",
    "Status",
    "StoryboardState",
    "Store",
    "Storyboard",
    "TaskRow",
    "Upload",
    "as_utc",
    "default_url",
    "kind_of",
    "migrate",
    "utcnow",
]
