"""The store: every generation and character, in SQLAlchemy 2 over SQLite (WAL) by default, or any
database by URL (``DATABASE_URL``, e.g. PostgreSQL shared by several app replicas).

Every write is a short transaction on one row or a batch of rows, so several processes can share one
database; nothing here assumes it is the only writer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

RUNNING = "running"
QUEUED = "queued"  # a batch row not sent yet
CANCELLED = "cancelled"  # a batch row that was never sent because its batch was cancelled
FINISHED = ("succeeded", "failed")
STATUSES = ("queued", "submitting", "running", "succeeded", "failed", "unknown", "cancelled")
BATCH_STATES = ("running", "paused", "cancelled", "done")
KINDS = ("text", "image", "remix")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="running")


class Generation(Base):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | image | remix
    status: Mapped[str] = mapped_column(String(16), default="submitting")
    prompt: Mapped[str] = mapped_column(Text)
    aspect_ratio: Mapped[str] = mapped_column(String(8))
    duration: Mapped[int]
    size: Mapped[str] = mapped_column(String(8))
    model: Mapped[str] = mapped_column(String(32), default="sora-2")
    image_ref: Mapped[str | None] = mapped_column(Text, default=None)  # a URL, or "file:<media path>"
    remix_target_id: Mapped[str | None] = mapped_column(String(40), default=None)  # the parent's pid
    characters: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    service: Mapped[str] = mapped_column(String(300))  # "sandbox" or the live base URL; never a key
    task_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    progress: Mapped[int] = mapped_column(default=0)
    pid: Mapped[str | None] = mapped_column(String(40), default=None)
    remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    video_path: Mapped[str | None] = mapped_column(String(300), default=None)
    thumb_path: Mapped[str | None] = mapped_column(String(300), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cost: Mapped[float] = mapped_column(default=0.0)
    watch: Mapped[bool] = mapped_column(default=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    batch_row: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    __table_args__ = (
        Index("ix_generations_created", "created_at"),
        Index("ix_generations_status", "status", "service"),
        Index("ix_generations_pid", "pid"),
        Index("ix_generations_parent", "remix_target_id"),
        Index("ix_generations_batch", "batch_id", "batch_row"),
    )

    def request_params(self) -> dict[str, Any]:
        """The parameters as the client takes them (reference files resolved by the caller)."""
        return {
            "prompt": self.prompt,
            "aspect_ratio": self.aspect_ratio,
            "duration": self.duration,
            "size": self.size,
            "image_url": self.image_ref,
            "remix_target_id": self.remix_target_id,
            "characters": self.characters or None,
        }

    @property
    def elapsed(self) -> float:
        start = self.submitted_at or self.created_at
        end = self.finished_at or utcnow()
        return max(0.0, (_aware(end) - _aware(start)).total_seconds())


class Character(Base):
    __tablename__ = "characters"

    id: Mapped[int] = mapped_column(primary_key=True)
    character_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    label: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(16))  # upload | video
    source_pid: Mapped[str | None] = mapped_column(String(40), default=None)
    source_ref: Mapped[str | None] = mapped_column(Text, default=None)  # the clip: URL or "file:<media path>"
    timestamps: Mapped[str] = mapped_column(String(32))
    thumb_path: Mapped[str | None] = mapped_column(String(300), default=None)
    service: Mapped[str] = mapped_column(String(300))
    task_id: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="submitting")
    progress: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cost: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LibraryFilter:
    text: str = ""
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    batch_id: int | None = None
    family_pids: tuple[str, ...] = ()  # one video's family: these pids and every remix of them


@dataclass
class ProgressUpdate:
    """What one poll learned about one generation."""

    generation_id: int
    progress: int
    status: str = RUNNING
    pid: str | None = None
    remote_url: str | None = None
    video_path: str | None = None
    thumb_path: str | None = None
    failure_reason: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CharacterUpdate:
    row_id: int
    progress: int
    status: str = RUNNING
    character_id: str | None = None
    failure_reason: str | None = None
    error: str | None = None


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'playground.db').as_posix()}"


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            if ":///" in url and not url.endswith(":memory:"):
                Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()

    # -- generations: the task path -----------------------------------------------------------
    def add_generation(self, params: dict[str, Any], *, service: str, cost: float) -> Generation:
        """Record a generation before it is sent (status ``submitting``)."""
        generation = Generation(**_generation_row(params, service, status="submitting", cost=cost))
        with self.session() as session, session.begin():
            session.add(generation)
        return generation

    def mark_running(self, generation_id: int, task_id: str, *, cost: float | None = None) -> None:
        values: dict[str, Any] = {"status": RUNNING, "task_id": task_id, "submitted_at": utcnow()}
        if cost is not None:
            values["cost"] = cost
        self._set(Generation, generation_id, **values)

    def mark_unknown(self, generation_id: int, message: str) -> None:
        self._set(Generation, generation_id, status="unknown", error=message, submitted_at=utcnow())

    def discard(self, generation_id: int) -> None:
        """Forget a generation the service refused outright (nothing was created or charged)."""
        with self.session() as session, session.begin():
            session.execute(delete(Generation).where(Generation.id == generation_id))

    def stop_watching(self, generation_id: int) -> None:
        self._set(Generation, generation_id, watch=False)

    def apply(self, updates: Sequence[ProgressUpdate]) -> list[int]:
        """Write a tick's findings in one transaction; returns the ids that finished just now."""
        return self._finish_once(
            Generation,
            (
                (
                    u.generation_id,
                    u.status,
                    u.progress,
                    {
                        "pid": u.pid,
                        "remote_url": u.remote_url,
                        "video_path": u.video_path,
                        "thumb_path": u.thumb_path,
                        "failure_reason": u.failure_reason,
                        "error": u.error,
                    },
                )
                for u in updates
            ),
        )

    def _finish_once(
        self, model: type[Base], changes: Iterable[tuple[int, str, int, dict[str, Any]]]
    ) -> list[int]:
        """Apply (row id, status, progress, what a finished row records) to rows still running, in
        one transaction; returns the ids that finished just now. A row is finished once: a second
        writer (another tab, another replica) that polled the same task finds it no longer running
        and changes nothing. Failed tasks are refunded, so they cost nothing."""
        finished: list[int] = []
        with self.session() as session, session.begin():
            for row_id, status, progress, outcome in changes:
                values: dict[str, Any] = {"progress": progress}
                if status in FINISHED:
                    values.update(outcome, status=status, finished_at=utcnow())
                    if status == "failed":
                        values["cost"] = 0.0
                result = session.execute(
                    update(model).where(model.id == row_id, model.status == RUNNING).values(**values)
                )
                if result.rowcount and status in FINISHED:
                    finished.append(row_id)
        return finished

    def expire_stale_submissions(self, older_than: timedelta = timedelta(minutes=2)) -> int:
        """A row still ``submitting`` long after its send began was cut off mid-send (a crash, a
        closed tab): whether the service got it is unknown, so say so rather than guess."""
        cutoff = utcnow() - older_than
        with self.session() as session, session.begin():
            result = session.execute(
                update(Generation)
                .where(
                    Generation.status == "submitting",
                    func.coalesce(Generation.submitted_at, Generation.created_at) < cutoff,
                )
                .values(
                    status="unknown",
                    error="The app stopped while sending this request, so it is not known "
                    "whether the service received it.",
                )
            )
        return result.rowcount or 0

    # -- generations: reading -----------------------------------------------------------------
    def get(self, generation_id: int) -> Generation | None:
        with self.session() as session:
            return session.get(Generation, generation_id)

    def get_many(self, ids: Iterable[int]) -> list[Generation]:
        ids = list(ids)
        if not ids:
            return []
        with self.session() as session:
            return list(session.scalars(select(Generation).where(Generation.id.in_(ids))))

    def by_pid(self, pid: str) -> Generation | None:
        with self.session() as session:
            return session.scalars(select(Generation).where(Generation.pid == pid)).first()

    def running_ids(self, service: str) -> list[int]:
        """Generations still running on ``service`` that someone wants watched: adopted on load."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation.id)
                    .where(
                        Generation.status == RUNNING,
                        Generation.service == service,
                        Generation.watch.is_(True),
                    )
                    .order_by(Generation.id)
                )
            )

    def _filtered(self, f: LibraryFilter):
        query = select(Generation)
        if f.text.strip():
            like = f"%{f.text.strip()}%"
            query = query.where(or_(Generation.prompt.ilike(like), Generation.pid.ilike(like)))
        if f.statuses:
            query = query.where(Generation.status.in_(f.statuses))
        if f.kinds:
            query = query.where(Generation.kind.in_(f.kinds))
        if f.aspect_ratios:
            query = query.where(Generation.aspect_ratio.in_(f.aspect_ratios))
        if f.date_from:
            query = query.where(Generation.created_at >= datetime.combine(f.date_from, time.min, UTC))
        if f.date_to:
            query = query.where(
                Generation.created_at < datetime.combine(f.date_to + timedelta(days=1), time.min, UTC)
            )
        if f.batch_id is not None:
            query = query.where(Generation.batch_id == f.batch_id)
        if f.family_pids:
            query = query.where(
                or_(Generation.pid.in_(f.family_pids), Generation.remix_target_id.in_(f.family_pids))
            )
        return query

    def search(self, f: LibraryFilter, *, offset: int = 0, limit: int = 24) -> tuple[list[Generation], int]:
        """One page of generations, newest first, and how many match in all."""
        query = self._filtered(f)
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Generation.created_at.desc(), Generation.id.desc()).offset(offset).limit(limit)
            )
            return list(rows), total

    def export_rows(self, f: LibraryFilter) -> list[Generation]:
        with self.session() as session:
            return list(session.scalars(self._filtered(f).order_by(Generation.created_at.desc())))

    def recent_prompts(self, limit: int = 10) -> list[str]:
        with self.session() as session:
            rows = session.execute(
                select(Generation.prompt, func.max(Generation.created_at).label("last"))
                .group_by(Generation.prompt)
                .order_by(func.max(Generation.created_at).desc())
                .limit(limit)
            )
            return [r.prompt for r in rows]

    def finished_videos(self, limit: int = 200) -> list[Generation]:
        """Videos that can be remixed or cut into characters (they have a pid)."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation)
                    .where(Generation.status == "succeeded", Generation.pid.is_not(None))
                    .order_by(Generation.created_at.desc())
                    .limit(limit)
                )
            )

    def delete(self, generation_id: int) -> Generation | None:
        with self.session() as session, session.begin():
            generation = session.get(Generation, generation_id)
            if generation is not None:
                session.delete(generation)
            return generation

    def totals(self) -> dict[str, Any]:
        with self.session() as session:
            rows = session.execute(
                select(Generation.status, func.count(), func.sum(Generation.cost)).group_by(Generation.status)
            )
            by_status = {status: (count, cost or 0.0) for status, count, cost in rows}
        return {
            "count": sum(c for c, _ in by_status.values()),
            "by_status": {s: c for s, (c, _) in by_status.items()},
            "spent": sum(cost for _, cost in by_status.values()),
        }

    # -- lineage: original -> remix -> remix of remix ----------------------------------------
    def ancestors(self, generation: Generation, limit: int = 50) -> list[Generation]:
        """The chain above a generation, oldest first (its parent, the parent's parent …)."""
        chain: list[Generation] = []
        parent_pid = generation.remix_target_id
        with self.session() as session:
            while parent_pid and len(chain) < limit:
                parent = session.scalars(select(Generation).where(Generation.pid == parent_pid)).first()
                if parent is None:
                    break
                chain.insert(0, parent)
                parent_pid = parent.remix_target_id
        return chain

    def children(self, pid: str) -> list[Generation]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation)
                    .where(Generation.remix_target_id == pid)
                    .order_by(Generation.created_at)
                )
            )

    def family_pids(self, pid: str, limit: int = 500) -> tuple[str, ...]:
        """Every pid in a video's family: its root original and all remixes below it."""
        root = self.by_pid(pid)
        if root is not None:
            ancestors = self.ancestors(root)
            root_pid = ancestors[0].pid if ancestors else pid
        else:
            root_pid = pid
        family, frontier = [root_pid], [root_pid]
        with self.session() as session:
            while frontier and len(family) < limit:
                below = list(
                    session.scalars(
                        select(Generation.pid).where(
                            Generation.remix_target_id.in_(frontier), Generation.pid.is_not(None)
                        )
                    )
                )
                frontier = [p for p in below if p not in family]
                family.extend(frontier)
        return tuple(family)

    # -- characters ------------------------------------------------------------------------------
    def add_character(
        self,
        *,
        label: str,
        source: str,
        timestamps: str,
        service: str,
        cost: float,
        source_pid: str | None = None,
        source_ref: str | None = None,
        thumb_path: str | None = None,
    ) -> Character:
        character = Character(
            label=label,
            source=source,
            timestamps=timestamps,
            service=service,
            cost=cost,
            source_pid=source_pid,
            source_ref=source_ref,
            thumb_path=thumb_path,
        )
        with self.session() as session, session.begin():
            session.add(character)
        return character

    def mark_character_running(self, character_id: int, task_id: str) -> None:
        self._set(Character, character_id, status=RUNNING, task_id=task_id)

    def mark_character_unknown(self, character_id: int, message: str) -> None:
        self._set(Character, character_id, status="unknown", error=message)

    def discard_character(self, character_id: int) -> None:
        with self.session() as session, session.begin():
            session.execute(delete(Character).where(Character.id == character_id))

    def apply_characters(self, updates: Sequence[CharacterUpdate]) -> list[int]:
        return self._finish_once(
            Character,
            (
                (
                    u.row_id,
                    u.status,
                    u.progress,
                    {"character_id": u.character_id, "failure_reason": u.failure_reason, "error": u.error},
                )
                for u in updates
            ),
        )

    def get_character(self, row_id: int) -> Character | None:
        with self.session() as session:
            return session.get(Character, row_id)

    def get_characters(self, ids: Iterable[int]) -> list[Character]:
        ids = list(ids)
        if not ids:
            return []
        with self.session() as session:
            return list(session.scalars(select(Character).where(Character.id.in_(ids))))

    def characters(self, *, ready_only: bool = False) -> list[Character]:
        query = select(Character).order_by(Character.created_at.desc(), Character.id.desc())
        if ready_only:
            query = query.where(Character.status == "succeeded", Character.character_id.is_not(None))
        with self.session() as session:
            return list(session.scalars(query))

    def running_character_ids(self, service: str) -> list[int]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Character.id).where(Character.status == RUNNING, Character.service == service)
                )
            )

    def rename_character(self, row_id: int, label: str) -> None:
        self._set(Character, row_id, label=label.strip()[:120])

    def delete_character(self, row_id: int) -> Character | None:
        with self.session() as session, session.begin():
            character = session.get(Character, row_id)
            if character is not None:
                session.delete(character)
            return character

    # -- helpers --------------------------------------------------------------------------------
    # -- batches ---------------------------------------------------------------------------------
    def add_batch(
        self, name: str, settings: dict[str, Any], rows: Sequence[tuple[int, dict[str, Any]]]
    ) -> Batch:
        """A batch and every row it will send, written together before anything is sent: each row
        is a ``queued`` generation (not watched by the sidebar; the batch runner follows it)."""
        service = settings["service"]
        with self.session() as session, session.begin():
            batch = Batch(name=name[:200], settings=settings, state="running")
            session.add(batch)
            session.flush()
            values = [
                _generation_row(params, service, status=QUEUED, watch=False, batch_id=batch.id, batch_row=row)
                for row, params in rows
            ]
            for chunk in range(0, len(values), 1000):
                session.execute(insert(Generation), values[chunk : chunk + 1000])
        return batch

    def add_batch_attempts(self, batch_id: int, attempts: Sequence[Generation]) -> int:
        """Queue one more attempt of each given row (same parameters, a new generation)."""
        batch = self.get_batch(batch_id)
        if batch is None or not attempts:
            return 0
        values = [
            _generation_row(
                g.request_params(),
                batch.settings["service"],
                status=QUEUED,
                watch=False,
                batch_id=batch_id,
                batch_row=g.batch_row,
            )
            for g in attempts
        ]
        with self.session() as session, session.begin():
            session.execute(insert(Generation), values)
            session.execute(update(Batch).where(Batch.id == batch_id).values(state="running"))
        return len(values)

    def get_batch(self, batch_id: int) -> Batch | None:
        with self.session() as session:
            return session.get(Batch, batch_id)

    def batches(self, limit: int = 200) -> list[Batch]:
        with self.session() as session:
            return list(session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit)))

    def set_batch(self, batch_id: int, **values: Any) -> None:
        self._set(Batch, batch_id, **values)

    def update_batch_settings(self, batch_id: int, **changes: Any) -> None:
        with self.session() as session, session.begin():
            batch = session.get(Batch, batch_id)
            if batch is not None:
                batch.settings = {**batch.settings, **changes}

    def claim_queued(self, batch_id: int) -> Generation | None:
        """Take the next queued row of a batch for sending (``submitting``), or None when none is
        left. The status guard makes the claim exclusive across threads and replicas. (Core, not
        the ORM: this runs once a row on the batch's hot path.)"""
        columns = [getattr(Generation, name) for name in _CLAIMED]
        for _ in range(20):
            next_id = (
                select(Generation.id)
                .where(Generation.batch_id == batch_id, Generation.status == QUEUED)
                .order_by(Generation.batch_row, Generation.id)
                .limit(1)
                .scalar_subquery()
            )
            with self.engine.begin() as connection:
                claimed = connection.execute(
                    update(Generation)
                    .where(Generation.id == next_id, Generation.status == QUEUED)
                    .values(status="submitting", submitted_at=utcnow())
                    .returning(*columns)
                ).first()
            if claimed is not None:
                return Generation(**dict(zip(_CLAIMED, claimed, strict=True)))  # detached, read-only
            if not self.count_status(batch_id, QUEUED):
                return None
        return None

    def mark_running_many(self, sent: Sequence[tuple[int, str]], *, cost: float) -> None:
        """Record several accepted sends in one transaction (the batch runner flushes them)."""
        if not sent:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(Generation.__table__)
                .where(Generation.__table__.c.id == bindparam("row_id"))
                .values(status=RUNNING, task_id=bindparam("new_task_id"), cost=cost),
                [{"row_id": row_id, "new_task_id": task_id} for row_id, task_id in sent],
            )

    def requeue(self, generation_id: int) -> None:
        """Put back a claimed row the service provably did not take (a 429, an unreachable host)."""
        with self.session() as session, session.begin():
            session.execute(
                update(Generation)
                .where(Generation.id == generation_id, Generation.status == "submitting")
                .values(status=QUEUED, submitted_at=None)
            )

    def mark_refused(self, generation_id: int, message: str) -> None:
        """A batch row the service refused outright: failed, not charged, kept for the results."""
        self._set(
            Generation,
            generation_id,
            status="failed",
            failure_reason="error",
            error=message,
            cost=0.0,
            finished_at=utcnow(),
        )

    def cancel_queued(self, batch_id: int) -> int:
        with self.session() as session, session.begin():
            result = session.execute(
                update(Generation)
                .where(Generation.batch_id == batch_id, Generation.status == QUEUED)
                .values(status=CANCELLED, cost=0.0)
            )
        return result.rowcount or 0

    def count_status(self, batch_id: int, *statuses: str) -> int:
        with self.session() as session:
            return session.scalar(
                select(func.count())
                .select_from(Generation)
                .where(Generation.batch_id == batch_id, Generation.status.in_(statuses))
            )

    def batch_rows(self, batch_id: int, *statuses: str) -> list[Generation]:
        """Every attempt of a batch (optionally of some statuses), in row order, oldest attempt first."""
        query = select(Generation).where(Generation.batch_id == batch_id)
        if statuses:
            query = query.where(Generation.status.in_(statuses))
        with self.session() as session:
            return list(session.scalars(query.order_by(Generation.batch_row, Generation.id)))

    def batch_tallies(self, batch_ids: Sequence[int]) -> dict[int, tuple[Counter[str], float]]:
        """For each batch, in one query: its attempts by status, and what they cost together."""
        tallies: dict[int, tuple[Counter[str], float]] = {b: (Counter(), 0.0) for b in batch_ids}
        if not batch_ids:
            return tallies
        with self.session() as session:
            rows = session.execute(
                select(Generation.batch_id, Generation.status, func.count(), func.sum(Generation.cost))
                .where(Generation.batch_id.in_(batch_ids))
                .group_by(Generation.batch_id, Generation.status)
            )
            for batch_id, status, count, cost in rows:
                statuses, spent = tallies[batch_id]
                statuses[status] = count
                tallies[batch_id] = (statuses, spent + (cost or 0.0))
        return tallies

    def batch_row_ids(self, batch_id: int, status: str) -> list[int]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation.id)
                    .where(Generation.batch_id == batch_id, Generation.status == status)
                    .order_by(Generation.id)
                )
            )

    def batches_to_drive(self, service: str) -> list[int]:
        """Batches on ``service`` with work left: sending (state running) or tasks still out."""
        with self.session() as session:
            busy = select(Generation.batch_id).where(
                Generation.batch_id.is_not(None), Generation.status.in_((RUNNING, "submitting"))
            )
            return [
                b.id
                for b in session.scalars(
                    select(Batch).where(or_(Batch.state == "running", Batch.id.in_(busy))).order_by(Batch.id)
                )
                if b.settings.get("service") == service
            ]

    def _set(self, model: type[Base], row_id: int, **values: Any) -> None:
        with self.session() as session, session.begin():
            session.execute(update(model).where(model.id == row_id).values(**values))


_CLAIMED = (
    "id",
    "batch_id",
    "batch_row",
    "prompt",
    "aspect_ratio",
    "duration",
    "size",
    "image_ref",
    "remix_target_id",
    "characters",
    "submitted_at",
    "created_at",
)


def _generation_row(
    params: dict[str, Any], service: str, *, status: str, cost: float = 0.0, **extra: Any
) -> dict[str, Any]:
    """A generation's columns from request parameters (as the client takes them)."""
    return {
        "kind": kind_of(params),
        "status": status,
        "prompt": str(params["prompt"]).strip(),
        "aspect_ratio": str(params.get("aspect_ratio") or "16:9"),
        "duration": int(params.get("duration") or 10),
        "size": str(params.get("size") or "small"),
        "image_ref": params.get("image_url") or None,
        "remix_target_id": params.get("remix_target_id") or None,
        "characters": params.get("characters") or None,
        "service": service,
        "cost": cost,
        "created_at": utcnow(),
        **extra,
    }


def kind_of(params: dict[str, Any]) -> str:
    if params.get("remix_target_id"):
        return "remix"
    if params.get("image_url"):
        return "image"
    return "text"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
