"""The engine's side of the store: claims, leases, schedules and the finish-once write, the same
for every kind of remote task (generations, batch rows, characters).

Every claim is a conditional UPDATE, so any number of engines (threads, worker processes, app
replicas) can share one database: a send is claimed by one engine only; a running task is polled
by the engine holding its lease, and a lease that is not renewed expires so another takes over.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, delete, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .database import Database
from .models import Batch, Character, EngineAccount, Generation
from .status import ACTIVE, FOLLOWED, BatchState, Status
from .types import as_utc, utcnow

TaskRow = Generation | Character
TaskModel = type[Generation] | type[Character]
Held = tuple[str, str]  # (service, account) whose key an engine holds


class SentTask(NamedTuple):
    """A create the service acknowledged, waiting to be written (``mark_sent``)."""

    row_id: int
    task_id: str
    credits: int
    first_poll: datetime


class PollProgress(NamedTuple):
    """A poll's news for a task still running, written with the others (``record_progress``)."""

    row_id: int
    progress: int
    next_poll: datetime
    lease_until: datetime
    asked_at: datetime


UNKNOWN_AFTER_CRASH = (
    "The app stopped while sending this request, so it is not known whether the service received it. "
    "It was not sent again by itself."
)


def owned_by(model: TaskModel, held: Sequence[Held], adopt_services: Iterable[str] = ()):
    """Rows whose account's key is held; rows of no known account (made before accounts were
    recorded) may be adopted by any key of their service."""
    pairs = [and_(model.service == service, model.account == account) for service, account in held]
    services = list(adopt_services)
    if services:
        pairs.append(and_(model.account.is_(None), model.service.in_(services)))
    return or_(*pairs) if pairs else false()


RETRIED_COLUMNS = (
    "kind", "prompt", "aspect_ratio", "duration", "size", "model", "image_ref", "remix_target_id",
    "characters", "options", "service", "account", "group_key",
)  # fmt: skip


def _retry_output_refusal(session, row_id: int) -> None:
    """A single generation whose finished video was refused (each try charged anew) and that asked for
    retries: queue the next attempt in the same transaction as the refusal, so it is made once."""
    refused = session.get(Generation, row_id)
    if refused is None or refused.batch_id is not None or refused.output_retries <= 0:
        return
    session.add(
        Generation(
            **{name: getattr(refused, name) for name in RETRIED_COLUMNS},
            status=Status.QUEUED,
            output_retries=refused.output_retries - 1,
            retry_of=refused.id,
            request_key=f"{refused.request_key}/retry" if refused.request_key else None,
        )
    )


def _unlocked(model: TaskModel, *conditions):
    """The ids meeting ``conditions`` that no other transaction holds: on PostgreSQL ``FOR UPDATE
    SKIP LOCKED``, so engines claiming at once each take other rows instead of queueing behind one
    another; SQLite (one writer at a time) has no row locks and SQLAlchemy leaves the clause out.
    The UPDATE around it re-checks the same conditions, so a row is still claimed once."""
    return select(model.id).where(*conditions).with_for_update(skip_locked=True)


def _lease_free(model: TaskModel, engine_id: str, now: datetime):
    return or_(model.lease_until.is_(None), model.lease_until < now, model.lease_owner == engine_id)


class TaskQueries(Database):
    # -- sending ------------------------------------------------------------------------------
    def claim_sends(
        self,
        model: TaskModel,
        engine_id: str,
        held: Sequence[Held],
        *,
        limit: int,
        lease_seconds: float,
    ) -> list[TaskRow]:
        """Take up to ``limit`` queued rows to send: leased to this engine but still ``queued``,
        so an engine that dies while it checks the key and the model leaves them to another once
        the lease runs out; ``begin_send`` marks a row ``submitting`` right before its create.
        Single requests go first; a batch row only while its batch runs and has a free slot."""
        if limit <= 0 or not held:
            return []
        now = utcnow()
        unclaimed = or_(model.lease_until.is_(None), model.lease_until < now)
        query = select(model.id).where(
            model.status == Status.QUEUED,
            unclaimed,
            owned_by(model, held),
            or_(model.next_poll_at.is_(None), model.next_poll_at <= now),  # a held row waits its turn
        )
        slots: dict[int, int] = {}
        in_flight: dict[int, int] = {}
        if model is Generation:
            query = (
                query.outerjoin(Batch, Generation.batch_id == Batch.id)
                .where(or_(Generation.batch_id.is_(None), Batch.state == BatchState.RUNNING))
                .add_columns(Generation.batch_id, Batch.concurrency)
                .order_by(Generation.batch_id.is_not(None), Generation.batch_row, Generation.id)
            )
            with self.session() as session:
                in_flight = dict(
                    session.execute(
                        select(Generation.batch_id, func.count())
                        .where(
                            or_(
                                Generation.status == Status.SUBMITTING,
                                and_(Generation.status == Status.QUEUED, Generation.lease_until >= now),
                            ),
                            Generation.batch_id.is_not(None),
                        )
                        .group_by(Generation.batch_id)
                    ).all()
                )
        else:
            query = query.order_by(model.id)
        with self.session() as session:
            candidates = session.execute(query.limit(limit * 4 + 50)).all()
        chosen: list[int] = []
        for candidate in candidates:
            if model is Generation and candidate[1] is not None:
                batch_id, concurrency = candidate[1], candidate[2] or 1
                free = slots.setdefault(batch_id, concurrency - in_flight.get(batch_id, 0))
                if free <= 0:
                    continue
                slots[batch_id] = free - 1
            chosen.append(candidate[0])
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        with self.db_engine.begin() as connection:
            claimed = connection.execute(
                update(model)
                .where(
                    model.id.in_(_unlocked(model, model.id.in_(chosen), model.status == Status.QUEUED, unclaimed)),
                    model.status == Status.QUEUED,
                    unclaimed,
                )
                .values(lease_owner=engine_id, lease_until=now + timedelta(seconds=lease_seconds))
                .returning(model.id)
            ).scalars().all()
        return self._load(model, claimed)

    def begin_send(self, model: TaskModel, row_id: int, engine_id: str, *, lease_seconds: float) -> bool:
        """Mark a claimed row ``submitting`` right before its create goes out: from here a crash
        leaves it in doubt (``expire_stale_sends``). False when it is no longer this engine's to
        send (cancelled meanwhile, or its claim ran out and another engine took it)."""
        now = utcnow()
        with self.session() as session, session.begin():
            result = session.execute(
                update(model)
                .where(model.id == row_id, model.status == Status.QUEUED, model.lease_owner == engine_id)
                .values(status=Status.SUBMITTING, submitted_at=now, lease_until=now + timedelta(seconds=lease_seconds))
            )
        return bool(result.rowcount)

    def _load(self, model: TaskModel, ids: Sequence[int]) -> list[TaskRow]:
        if not ids:
            return []
        with self.session() as session:
            return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))

    def _update_leased(
        self, model: TaskModel, engine_id: str, status: Status, values: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        """One statement for many rows (``row_id`` in each), only where this engine holds them."""
        if not rows:
            return
        table = model.__table__
        with self.db_engine.begin() as connection:
            connection.execute(
                update(table)
                .where(
                    table.c.id == bindparam("row_id"), table.c.status == status, table.c.lease_owner == engine_id
                )
                .values(**values),
                rows,
            )

    def mark_sent(self, model: TaskModel, engine_id: str, sent: Sequence[SentTask]) -> None:
        """Record accepted sends in one transaction (plain tuples in ``SentTask``'s order do too).

        A send this engine holds, or one the crash sweep wrote off as ``unknown`` while the store
        was away and the task id waited in memory: the service made that task, so it runs."""
        if not sent:
            return
        table = model.__table__
        written_off = and_(
            table.c.status == Status.UNKNOWN, table.c.task_id.is_(None), table.c.error == UNKNOWN_AFTER_CRASH
        )
        held = and_(table.c.status == Status.SUBMITTING, table.c.lease_owner == engine_id)
        with self.db_engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"), or_(held, written_off))
                .values(
                    status=Status.RUNNING,
                    task_id=bindparam("new_task_id"),
                    cost=bindparam("credits"),
                    next_poll_at=bindparam("first_poll"),
                    lease_owner=engine_id,
                    lease_until=bindparam("first_poll"),
                    error=None,
                ),
                [
                    {"row_id": s.row_id, "new_task_id": s.task_id, "credits": s.credits, "first_poll": s.first_poll}
                    for s in map(SentTask._make, sent)
                ],
            )

    def _after_send(
        self, model: TaskModel, row_id: int, statuses: Sequence[Status] = (Status.SUBMITTING,), **values: Any
    ) -> bool:
        with self.session() as session, session.begin():
            result = session.execute(
                update(model).where(model.id == row_id, model.status.in_(list(statuses))).values(**values)
            )
        return bool(result.rowcount)

    def requeue(
        self, model: TaskModel, row_id: int, note: str | None = None, not_before: datetime | None = None
    ) -> bool:
        """Put back a claimed row the service provably did not take (it may be sent again, from
        ``not_before`` on); a row whose batch was cancelled meanwhile is cancelled instead (never
        charged)."""
        status: Any = Status.QUEUED
        if model is Generation:
            cancelled = select(Batch.id).where(Batch.state == BatchState.CANCELLED)
            status = case((Generation.batch_id.in_(cancelled), Status.CANCELLED.value), else_=Status.QUEUED.value)
        return self._after_send(
            model,
            row_id,
            (Status.SUBMITTING, Status.QUEUED),  # sent and provably not taken, or claimed and never sent
            status=status,
            submitted_at=None,
            lease_owner=None,
            lease_until=None,
            error=note,
            next_poll_at=not_before,
        )

    def mark_send_unknown(self, model: TaskModel, row_id: int, message: str, credits: int) -> bool:
        """The send may have reached the service: kept, shown, counted as maybe charged, never
        re-sent by itself."""
        return self._after_send(
            model, row_id, status=Status.UNKNOWN, error=message, cost=credits, lease_owner=None, lease_until=None
        )

    def mark_refused(self, model: TaskModel, row_id: int, message: str) -> bool:
        """The service refused it before making anything (or a file it needs is gone before it was
        sent): failed, not charged."""
        return self._after_send(
            model,
            row_id,
            (Status.SUBMITTING, Status.QUEUED),
            status=Status.FAILED,
            failure_reason="refused",
            error=message,
            cost=0,
            finished_at=utcnow(),
            lease_owner=None,
            lease_until=None,
        )

    def expire_stale_sends(self) -> int:
        """A row still ``submitting`` after its lease was cut off mid-send (a crash): whether the
        service got it is unknown, so say so rather than guess, and never send it again."""
        now = utcnow()
        total = 0
        for model in (Generation, Character):
            with self.session() as session, session.begin():
                result = session.execute(
                    update(model)
                    .where(
                        model.status == Status.SUBMITTING,
                        or_(
                            model.lease_until < now,
                            and_(model.lease_until.is_(None), model.created_at < now - timedelta(minutes=2)),
                        ),
                    )
                    .values(status=Status.UNKNOWN, error=UNKNOWN_AFTER_CRASH, lease_owner=None, lease_until=None)
                )
                total += result.rowcount or 0
        return total

    def has_work(self, held: Sequence[Held]) -> bool:
        """Whether these accounts have anything to send, follow or save (a queued row of a paused
        or cancelled batch is not work now)."""
        for model in (Generation, Character):
            query = select(func.count()).select_from(model).where(model.status.in_(ACTIVE), owned_by(model, held))
            if model is Generation:
                query = query.outerjoin(Batch, Generation.batch_id == Batch.id).where(
                    or_(
                        Generation.status != Status.QUEUED,
                        Generation.batch_id.is_(None),
                        Batch.state == BatchState.RUNNING,
                    )
                )
            with self.session() as session:
                if session.scalar(query):
                    return True
        return False

    # -- following ----------------------------------------------------------------------------
    def lease_due(
        self,
        model: TaskModel,
        engine_id: str,
        held: Sequence[Held],
        *,
        limit: int,
        lease_seconds: float,
        adopt_services: Iterable[str] = (),
    ) -> list[TaskRow]:
        """Running (or saving) tasks whose next poll is due, leased to this engine, soonest first."""
        if limit <= 0 or not held:
            return []
        now = utcnow()
        due = (
            select(model.id)
            .where(
                model.status.in_(FOLLOWED),
                or_(model.next_poll_at.is_(None), model.next_poll_at <= now),
                _lease_free(model, engine_id, now),
                owned_by(model, held, adopt_services),
            )
            .order_by(model.next_poll_at)
            .limit(limit)
        )
        with self.session() as session:
            ids = session.scalars(due).all()
        if not ids:
            return []
        with self.db_engine.begin() as connection:
            leased = connection.execute(
                update(model)
                .where(
                    model.id.in_(
                        _unlocked(model, model.id.in_(ids), model.status.in_(FOLLOWED), _lease_free(model, engine_id, now))
                    ),
                    model.status.in_(FOLLOWED),
                    _lease_free(model, engine_id, now),
                )
                # not due again while this poll (or copy) is under way; its outcome sets the next one
                .values(
                    lease_owner=engine_id,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    next_poll_at=now + timedelta(seconds=lease_seconds),
                )
                .returning(model.id)
            ).scalars().all()
        return self._load(model, leased)

    def record_progress(self, model: TaskModel, engine_id: str, updates: Sequence[PollProgress]) -> None:
        """A poll's news for tasks still running (plain tuples in ``PollProgress``'s order do too).
        A webhook's hint that came while the poll was out (``poll_soon`` moved the next poll before
        the lease's end, where ``lease_due`` had put both) keeps the task due at once."""
        table = model.__table__
        hinted = table.c.next_poll_at < table.c.lease_until
        self._update_leased(
            model,
            engine_id,
            Status.RUNNING,
            {
                "progress": bindparam("new_progress"),
                "next_poll_at": case((hinted, table.c.next_poll_at), else_=bindparam("next_poll")),
                "lease_until": bindparam("lease"),
                "polled_at": bindparam("asked"),
                "polls": model.__table__.c.polls + 1,
                "poll_failures": 0,
            },
            [
                {
                    "row_id": u.row_id,
                    "new_progress": u.progress,
                    "next_poll": u.next_poll,
                    "lease": u.lease_until,
                    "asked": u.asked_at,
                }
                for u in map(PollProgress._make, updates)
            ],
        )

    def record_poll_failure(
        self, model: TaskModel, engine_id: str, row_id: int, next_poll: datetime, note: str | None = None
    ) -> int:
        """A poll that got no usable answer: try again later; returns the failures in a row."""
        with self.session() as session, session.begin():
            session.execute(
                update(model)
                .where(model.id == row_id, model.lease_owner == engine_id)
                .values(
                    poll_failures=model.poll_failures + 1,
                    polls=model.polls + 1,
                    next_poll_at=next_poll,
                    lease_until=next_poll,
                    error=note,
                )
            )
            return session.scalar(select(model.poll_failures).where(model.id == row_id)) or 0

    def adopt(self, model: TaskModel, row_id: int, account: str) -> bool:
        """A row of no known account (made before accounts were recorded) becomes the account whose
        key the service answered for it: only while it has none, so an account once written stays."""
        with self.session() as session, session.begin():
            result = session.execute(
                update(model).where(model.id == row_id, model.account.is_(None)).values(account=account)
            )
        return bool(result.rowcount)

    def finish(self, model: TaskModel, row_id: int, *, expect: Iterable[Status], **values: Any) -> bool:
        """Move a task on from one of the ``expect`` statuses, once: a second writer (another engine,
        a webhook) that learned the same finds it moved already and changes nothing."""
        with self.session() as session, session.begin():
            result = session.execute(
                update(model).where(model.id == row_id, model.status.in_(list(expect))).values(**values)
            )
            if result.rowcount and model is Generation and values.get("failure_reason") == "output_moderation":
                _retry_output_refusal(session, row_id)
        return bool(result.rowcount)

    def poll_soon(self, task_id: str) -> bool:
        """A webhook named this task: make it due now (when it is running), so it is polled at
        once. The same two statements run for any id, ours or not."""
        now = utcnow()
        hinted = False
        for model in (Generation, Character):
            with self.session() as session, session.begin():
                result = session.execute(
                    update(model)
                    .where(model.task_id == task_id, model.status == Status.RUNNING, model.next_poll_at > now)
                    .values(next_poll_at=now)
                )
            hinted = hinted or bool(result.rowcount)
        return hinted

    def get_row(self, model: TaskModel, row_id: int) -> TaskRow | None:
        with self.session() as session:
            return session.get(model, row_id)

    def match_unknown(self, model: TaskModel, row_id: int, task_id: str, note: str) -> bool:
        """A send that went unanswered (``unknown``, no task id) takes the task id the service
        confirmed for it and runs on, due now: only if it is still unknown and no row has that task
        (two rows never share a task)."""
        now = utcnow()
        with self.session() as session, session.begin():
            for other in (Generation, Character):
                if session.scalar(select(other.id).where(other.task_id == task_id)) is not None:
                    return False
            result = session.execute(
                update(model)
                .where(model.id == row_id, model.status == Status.UNKNOWN, model.task_id.is_(None))
                .values(status=Status.RUNNING, task_id=task_id, error=note, next_poll_at=now,
                        lease_owner=None, lease_until=None)
            )  # fmt: skip
            return bool(result.rowcount)

    def release_leases(self, engine_id: str) -> None:
        """On a clean stop: what this engine was following, or had claimed and not sent, may be
        taken up by another at once. A poll or copy the stop cut short left its row due only when
        its follow lease ends (``lease_due`` puts both there): such a row is due now; a row
        waiting for its next poll keeps its time."""
        now = utcnow()
        for model in (Generation, Character):
            cut_short = and_(model.status.in_(FOLLOWED), model.next_poll_at >= model.lease_until)
            with self.session() as session, session.begin():
                session.execute(
                    update(model)
                    .where(model.lease_owner == engine_id, model.status.in_([*FOLLOWED, Status.QUEUED]))
                    .values(
                        lease_owner=None,
                        lease_until=None,
                        next_poll_at=case((cut_short, now), else_=model.next_poll_at),
                    )
                )
        with self.session() as session, session.begin():
            session.execute(delete(EngineAccount).where(EngineAccount.engine_id == engine_id))

    # -- who holds which key ------------------------------------------------------------------
    def heartbeat(self, engine_id: str, held: Sequence[Held]) -> None:
        now = utcnow()
        rows = [{"engine_id": engine_id, "service": s, "account": a, "seen_at": now} for s, a in held]
        if not rows:
            return
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        statement = insert(EngineAccount).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["engine_id", "service", "account"], set_={"seen_at": statement.excluded.seen_at}
        )
        with self.db_engine.begin() as connection:
            connection.execute(statement)
            connection.execute(delete(EngineAccount).where(EngineAccount.seen_at < now - timedelta(hours=1)))

    def held_recently(self, within: timedelta = timedelta(seconds=45)) -> set[Held]:
        """The (service, account) pairs some engine held lately: work of others waits for a key."""
        with self.session() as session:
            rows = session.execute(
                select(EngineAccount.service, EngineAccount.account).where(
                    EngineAccount.seen_at >= utcnow() - within
                )
            ).all()
        return {(s, a) for s, a in rows}

    def typical_seconds(
        self, model: TaskModel, service: str, sample: int = 40, models: Sequence[str] | None = None
    ) -> float | None:
        """How long this service's tasks of this kind (of these models) took lately (median), to
        plan polls."""
        query = select(model.submitted_at, model.finished_at).where(
            model.service == service,
            model.status == Status.SUCCEEDED,
            model.submitted_at.is_not(None),
            model.finished_at.is_not(None),
        )
        if models is not None and model is Generation:
            query = query.where(Generation.model.in_(list(models)))
        with self.session() as session:
            rows = session.execute(query.order_by(model.id.desc()).limit(sample)).all()
        seconds = [(as_utc(f) - as_utc(s)).total_seconds() for s, f in rows]
        seconds = [s for s in seconds if s > 0]
        return statistics.median(seconds) if len(seconds) >= 3 else None
