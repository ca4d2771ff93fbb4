"""Storyboards: the plan is written once ("Make all"); its shots are generations queued one at a
time as the one before finishes (studio/storyboard.py decides what comes next); the joined film is
a generation of kind ``storyboard``. Every write is guarded by the state it expects, so any number
of engines can look after the same storyboards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from .database import Database
from .models import Generation, Storyboard
from .status import Status, StoryboardState
from .types import utcnow

RUNNING, JOINING, DONE, STOPPED = StoryboardState  # the states, by name


def _has_next_step(now: datetime):
    """Running, or joining by an engine that stopped renewing its lease."""
    return or_(Storyboard.state == RUNNING, (Storyboard.state == JOINING) & (Storyboard.lease_until < now))


class StoryboardQueries(Database):
    def add_storyboard(
        self,
        name: str,
        shots: list[dict[str, Any]],
        *,
        service: str,
        account: str | None,
        request_key: str | None = None,
    ) -> tuple[Storyboard, bool]:
        """Write a storyboard's plan (``running``: its first shot is queued next). The same request
        key (a second click on Make all) returns the first one and False."""
        try:
            with self.session() as session, session.begin():
                board = Storyboard(
                    name=name[:200], shots=shots, service=service, account=account, request_key=request_key
                )
                session.add(board)
                session.flush()
                board_id = board.id
        except IntegrityError:
            with self.session() as session:
                found = session.scalars(select(Storyboard).where(Storyboard.request_key == request_key)).first()
            if found is None:
                raise
            return found, False
        return self.storyboard(board_id), True

    def storyboard(self, board_id: int) -> Storyboard | None:
        with self.session() as session:
            return session.get(Storyboard, board_id)

    def storyboards_for(self, service: str, account: str | None, limit: int = 10) -> list[Storyboard]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Storyboard)
                    .where(Storyboard.service == service, Storyboard.account == account)
                    .order_by(Storyboard.id.desc())
                    .limit(limit)
                )
            )

    def storyboards_to_advance(self, now: datetime | None = None) -> list[int]:
        """Storyboards with a next step: running ones, and joins whose engine stopped renewing them."""
        now = now or utcnow()
        with self.session() as session:
            return list(
                session.scalars(
                    select(Storyboard.id).where(_has_next_step(now))
                )
            )

    def storyboard_costs(self, board_ids) -> dict[int, int]:
        """What each storyboard's shots cost together (every try of every shot): the credits its
        film stands for, the film itself being made here, not by the service."""
        board_ids = [b for b in set(board_ids) if b is not None]
        if not board_ids:
            return {}
        with self.session() as session:
            rows = session.execute(
                select(Generation.storyboard_id, func.coalesce(func.sum(Generation.cost), 0))
                .where(Generation.storyboard_id.in_(board_ids), Generation.kind != "storyboard")
                .group_by(Generation.storyboard_id)
            )
            return {board_id: int(cost) for board_id, cost in rows}

    def shots_of(self, board_id: int, *, every_try: bool = False):
        """The newest generation of each shot, by shot number (from 0); with ``every_try``, every
        generation made for its shots, as a list."""
        with self.session() as session:
            if every_try:
                return list(
                    session.scalars(
                        select(Generation)
                        .where(Generation.storyboard_id == board_id, Generation.kind != "storyboard")
                        .order_by(Generation.storyboard_shot, Generation.id)
                    )
                )
            newest = (
                select(func.max(Generation.id))
                .where(Generation.storyboard_id == board_id, Generation.kind != "storyboard")
                .group_by(Generation.storyboard_shot)
            )
            rows = session.scalars(select(Generation).where(Generation.id.in_(newest)))
            return {row.storyboard_shot: row for row in rows}

    def claim_join(self, board_id: int, seconds: float = 600.0) -> bool:
        """One engine joins a storyboard whose shots are all made (or takes over a stalled join)."""
        now = utcnow()
        with self.session() as session, session.begin():
            result = session.execute(
                update(Storyboard)
                .where(Storyboard.id == board_id, _has_next_step(now))
                .values(state=JOINING, lease_until=now + timedelta(seconds=seconds))
            )
        return bool(result.rowcount)

    def finish_join(self, board_id: int, film: dict[str, Any]) -> int | None:
        """Keep the joined film as a generation and end the storyboard, in one transaction."""
        with self.session() as session, session.begin():
            board = session.get(Storyboard, board_id, with_for_update=True)
            if board is None or board.state != JOINING:
                return None
            film_id = session.execute(
                insert(Generation).values(**film, storyboard_id=board_id).returning(Generation.id)
            ).scalar_one()
            board.state, board.film_id, board.lease_until = DONE, film_id, None
            board.finished_at, board.error = utcnow(), None
        return film_id

    def stop_storyboard(self, board_id: int, why: str, *, expect: tuple[str, ...] = (RUNNING, JOINING)) -> bool:
        """Stop it with a reason (a shot failed, the join failed, or the person pressed Stop); the
        shot not sent yet is cancelled, nothing charged."""
        with self.session() as session, session.begin():
            result = session.execute(
                update(Storyboard)
                .where(Storyboard.id == board_id, Storyboard.state.in_(expect))
                .values(state=STOPPED, error=why, lease_until=None, finished_at=utcnow())
            )
            if result.rowcount:
                session.execute(
                    update(Generation)
                    .where(Generation.storyboard_id == board_id, Generation.status == Status.QUEUED)
                    .values(status=Status.CANCELLED, cost=0, finished_at=utcnow())
                )
        return bool(result.rowcount)

    def resume_storyboard(self, board_id: int) -> bool:
        """Go on from where it stopped: shots that failed or were cancelled are made anew."""
        with self.session() as session, session.begin():
            result = session.execute(
                update(Storyboard)
                .where(Storyboard.id == board_id, Storyboard.state == STOPPED)
                .values(state=RUNNING, attempt=Storyboard.attempt + 1, error=None, finished_at=None)
            )
        return bool(result.rowcount)
