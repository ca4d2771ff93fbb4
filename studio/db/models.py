"""The tables. Alembic migrations (migrations/versions) take an existing store to this shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .status import BatchState, Status
from .types import UTCDateTime, as_utc, utcnow


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class TaskColumns:
    """What every remote task row carries for the engine: who owns it, its lease, its schedule."""

    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED)
    service: Mapped[str] = mapped_column(String(300))  # "sandbox" or the live base URL; never a key
    account: Mapped[str | None] = mapped_column(String(40), default=None)  # a fingerprint of the key
    request_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    task_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    progress: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cost: Mapped[int] = mapped_column(Integer, default=0)  # credits that were, or may have been, charged
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    next_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    polled_at: Mapped[datetime | None] = mapped_column(default=None)  # the last answer, with ``progress``
    polls: Mapped[int] = mapped_column(default=0)
    poll_failures: Mapped[int] = mapped_column(default=0)  # in a row; reset by a good answer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def state(self) -> Status:
        return Status(self.status)

    @property
    def elapsed(self) -> float:
        start = self.submitted_at or self.created_at
        end = self.finished_at or utcnow()
        return max(0.0, (as_utc(end) - as_utc(start)).total_seconds())


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # written once: template, skipped …
    state: Mapped[str] = mapped_column(String(16), default=BatchState.RUNNING)
    service: Mapped[str] = mapped_column(String(300), default="sandbox")
    account: Mapped[str | None] = mapped_column(String(40), default=None)
    concurrency: Mapped[int] = mapped_column(default=8)
    paused_because: Mapped[str | None] = mapped_column(Text, default=None)
    request_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)


class Generation(TaskColumns, Base):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | image | remix | storyboard (a joined film)
    prompt: Mapped[str] = mapped_column(Text)
    aspect_ratio: Mapped[str] = mapped_column(String(8))
    duration: Mapped[int]
    size: Mapped[str] = mapped_column(String(8))
    model: Mapped[str] = mapped_column(String(40), default="sora-2")
    image_ref: Mapped[str | None] = mapped_column(Text, default=None)  # a URL, or "file:<media path>"
    remix_target_id: Mapped[str | None] = mapped_column(String(40), default=None)  # the parent's pid
    characters: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    # the model's own fields (first/last frame, references, resolution, image size, variants, seed);
    # files among them are URLs or "file:<media path>", like image_ref
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # every file it made, kept: [{"path", "thumb"}]; video_path/thumb_path name the first
    files: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    pid: Mapped[str | None] = mapped_column(String(40), default=None)
    remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    video_path: Mapped[str | None] = mapped_column(String(300), default=None)
    thumb_path: Mapped[str | None] = mapped_column(String(300), default=None)
    hidden: Mapped[bool] = mapped_column(default=False)  # hidden from Generate's list; still followed
    resend_of: Mapped[int | None] = mapped_column(default=None)  # an unknown send the person sent again
    output_retries: Mapped[int] = mapped_column(default=0)  # tries left if the finished video is refused
    retry_of: Mapped[int | None] = mapped_column(default=None)  # the refused attempt this one tries again
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    batch_row: Mapped[int | None] = mapped_column(default=None)
    group_key: Mapped[str | None] = mapped_column(String(80), default=None)  # one of N made of one prompt
    pick: Mapped[str | None] = mapped_column(String(12), default=None)  # kept | discarded (files removed)
    storyboard_id: Mapped[int | None] = mapped_column(default=None)  # a shot of it, or (kind storyboard) its film
    storyboard_shot: Mapped[int | None] = mapped_column(default=None)
    storyboard_attempt: Mapped[int | None] = mapped_column(default=None)  # the storyboard's try it was made in

    __table_args__ = (
        Index("ix_generations_created", "created_at"),
        Index("ix_generations_status", "status", "service"),
        Index("ix_generations_due", "status", "next_poll_at"),
        Index("ix_generations_account", "account", "created_at"),
        Index("ix_generations_pid", "pid"),
        Index("ix_generations_parent", "remix_target_id"),
        Index("ix_generations_batch", "batch_id", "batch_row"),
        Index("ix_generations_model", "model", "created_at"),
        Index("ix_generations_group", "group_key"),
        Index("ix_generations_storyboard", "storyboard_id", "storyboard_shot"),
    )

    @property
    def makes(self) -> str:
        """"video" or "image": what its model makes."""
        from grsai_api import MODELS

        entry = MODELS.get(self.model)
        return entry.kind if entry is not None else "video"

    def request_params(self) -> dict[str, Any]:
        """The parameters as the client takes them, for this row's model (reference files
        resolved by the caller); fields the model does not take are left out."""
        from grsai_api import MODELS

        entry = MODELS.get(self.model)
        params: dict[str, Any] = {"model": self.model, "prompt": self.prompt, "aspect_ratio": self.aspect_ratio}
        if entry is None or entry.api == "sora":
            params.update(
                duration=self.duration,
                size=self.size,
                image_url=self.image_ref,
                remix_target_id=self.remix_target_id,
                characters=self.characters or None,
            )
        elif entry.durations:
            params["duration"] = self.duration
        params.update(self.options or {})
        return params


class Storyboard(Base):
    """Shots made one after another, each continuing the last, then joined into one film."""

    __tablename__ = "storyboards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(300))
    account: Mapped[str | None] = mapped_column(String(40), default=None)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | joining | done | stopped
    # the plan: [{"params": request parameters as stored, "label": words}], in order
    shots: Mapped[list[Any]] = mapped_column(JSON)
    attempt: Mapped[int] = mapped_column(default=0)  # raised by "try again": failed shots are made anew
    error: Mapped[str | None] = mapped_column(Text, default=None)
    film_id: Mapped[int | None] = mapped_column(default=None)  # the joined film (a generation)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)  # while one engine joins it
    request_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_storyboards_state", "state"),)


class Character(TaskColumns, Base):
    __tablename__ = "characters"

    id: Mapped[int] = mapped_column(primary_key=True)
    character_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    label: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(16))  # upload | video
    source_pid: Mapped[str | None] = mapped_column(String(40), default=None)
    source_ref: Mapped[str | None] = mapped_column(Text, default=None)  # the clip: URL or "file:<media path>"
    timestamps: Mapped[str] = mapped_column(String(32))
    thumb_path: Mapped[str | None] = mapped_column(String(300), default=None)

    __table_args__ = (Index("ix_characters_due", "status", "next_poll_at"),)


class Upload(Base):
    """A file put in the service's storage for one account, by content: sent once, then named by URL."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("service", "account", "digest", name="uq_uploads_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(300))
    account: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BrandAsset(Base):
    """A picture of the brand kit (a logo, a product, a face or mascot sheet), kept once in the media
    store and named ``@name`` for one account on one service; requests name it ``file:<media_path>``,
    so the engine puts it in the service's storage once and names it by URL after."""

    __tablename__ = "brand_assets"
    __table_args__ = (UniqueConstraint("service", "account", "name", name="uq_brand_assets_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(300))
    account: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))  # lower case: "@Sneaker" and "@sneaker" are one name
    kind: Mapped[str] = mapped_column(String(16))  # logo | product | face | mascot | other
    media_path: Mapped[str] = mapped_column(String(300))  # relative, in the media store
    thumb_path: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def ref(self) -> str:
        """How a request names it: the engine uploads "file:" references once per account."""
        return f"file:{self.media_path}"


class EngineAccount(Base):
    """Which engine holds which account's key, renewed while it runs: pages tell "waiting for the
    key of account …" from "being made" by it, across processes."""

    __tablename__ = "engine_accounts"

    engine_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(300), primary_key=True)
    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    """Small values every process of a deployment must agree on (the webhook secret)."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoginTries(Base):
    """Wrong team passwords in a row from one client address for one account, and until when that
    address must wait: kept in the store, so a reload (a new session) or another replica knows."""

    __tablename__ = "login_tries"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    paused_until: Mapped[datetime | None] = mapped_column(default=None)


class ChatCall(Base):
    """One prompt-help chat call the service answered (``succeeded``) or may have received with no
    answer back (``unknown``: a timeout, a cut reply; it may have been charged), with what it cost
    (counted by Store.spent either way)."""

    __tablename__ = "chat_calls"
    __table_args__ = (Index("ix_chat_calls_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(300))
    account: Mapped[str | None] = mapped_column(String(40), default=None)  # a fingerprint of the key
    model: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))  # improve | translate | ideas | describe | soften | storyboard
    cost: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="succeeded", server_default="succeeded")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


TASK_MODELS: tuple[type[Generation] | type[Character], ...] = (Generation, Character)
