"""Batches: a batch and all its rows are written before anything is sent; the engine sends them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .database import Database
from .generations import generation_row
from .models import Batch, Generation
from .status import BatchState, Status


class BatchQueries(Database):
    def add_batch(
        self,
        name: str,
        settings: dict[str, Any],
        rows: Sequence[tuple[int, dict[str, Any]]],
        *,
        service: str,
        account: str | None,
        concurrency: int,
        request_key: str | None = None,
    ) -> tuple[Batch, bool]:
        """A batch and every row it will send, written together (each row ``queued``). The same
        request key (a second click on Start) returns the first batch and False."""
        try:
            with self.session() as session, session.begin():
                batch = Batch(
                    name=name[:200],
                    settings=settings,
                    state=BatchState.RUNNING,
                    service=service,
                    account=account,
                    concurrency=concurrency,
                    request_key=request_key,
                )
                session.add(batch)
                session.flush()
                values = [
                    generation_row(
                        params,
                        service=service,
                        account=account,
                        status=Status.QUEUED,
                        batch_id=batch.id,
                        batch_row=row,
                        request_key=f"batch-{batch.id}-{row}-1",
                    )
                    for row, params in rows
                ]
                for chunk in range(0, len(values), 1000):
                    session.execute(insert(Generation), values[chunk : chunk + 1000])
        except IntegrityError:
            with self.session() as session:
                existing = session.scalars(select(Batch).where(Batch.request_key == request_key)).first()
            if existing is None or request_key is None:
                raise
            return existing, False
        return batch, True

    def add_batch_attempts(self, batch_id: int, attempts: Sequence[Generation]) -> int:
        """Queue one more attempt of each given row (same parameters, a new generation)."""
        batch = self.get_batch(batch_id)
        if batch is None or not attempts:
            return 0
        tries = Counter(g.batch_row for g in self.batch_rows(batch_id))
        values = [
            generation_row(
                g.request_params(),
                service=batch.service,
                account=batch.account,
                status=Status.QUEUED,
                batch_id=batch_id,
                batch_row=g.batch_row,
                request_key=f"batch-{batch_id}-{g.batch_row}-{tries[g.batch_row] + 1}",
            )
            for g in attempts
        ]
        try:
            with self.session() as session, session.begin():
                session.execute(insert(Generation), values)
                session.execute(
                    update(Batch).where(Batch.id == batch_id).values(state=BatchState.RUNNING, paused_because=None)
                )
        except IntegrityError:  # another tab queued the same attempts first
            return 0
        return len(values)

    def get_batch(self, batch_id: int) -> Batch | None:
        with self.session() as session:
            return session.get(Batch, batch_id)

    def batches(self, limit: int = 200) -> list[Batch]:
        with self.session() as session:
            return list(session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit)))

    def set_batch(self, batch_id: int, **values: Any) -> None:
        self._set(Batch, batch_id, **values)

    def cancel_queued(self, batch_id: int) -> int:
        with self.session() as session, session.begin():
            result = session.execute(
                update(Generation)
                .where(Generation.batch_id == batch_id, Generation.status == Status.QUEUED)
                .values(status=Status.CANCELLED, cost=0)
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

    def batch_tallies(self, batch_ids: Sequence[int]) -> dict[int, tuple[Counter[str], int]]:
        """For each batch, in one query: its attempts by status, and what they cost together."""
        tallies: dict[int, tuple[Counter[str], int]] = {b: (Counter(), 0) for b in batch_ids}
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
                tallies[batch_id] = (statuses, spent + int(cost or 0))
        return tallies

    def finish_batches(self) -> int:
        """Batches that were running and have nothing left to send or follow become ``done``."""
        busy = select(Generation.batch_id).where(
            Generation.batch_id.is_not(None),
            Generation.status.in_((Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING)),
        )
        with self.session() as session, session.begin():
            result = session.execute(
                update(Batch)
                .where(Batch.state == BatchState.RUNNING, Batch.id.not_in(busy))
                .values(state=BatchState.DONE)
            )
        return result.rowcount or 0
