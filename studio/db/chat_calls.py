"""Prompt help's chat calls: one row per call the service answered or may have received (its answer
never came: ``unknown``, as a generation whose send may have reached the service), with what it
cost, so the one spending figure (Store.spent) and Insights count them like every other paid request."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, true

from .database import Database
from .generations import LibraryFilter, _day_start
from .models import ChatCall
from .status import Status


class ChatCallQueries(Database):
    def record_chat_call(
        self, *, service: str, account: str | None, model: str, action: str, cost: int, status: str = Status.SUCCEEDED
    ) -> None:
        """``status``: succeeded (answered) or unknown (no answer came back; charged all the same)."""
        with self.session() as session, session.begin():
            session.add(ChatCall(service=service, account=account, model=model, action=action, cost=int(cost),
                                 status=str(status)))  # fmt: skip

    def chat_calls(self) -> list[ChatCall]:
        with self.session() as session:
            return list(session.query(ChatCall).order_by(ChatCall.id))

    def chat_call_clause(self, f: LibraryFilter):
        """Chat calls that a filter takes in, for counting what they cost: a filter of dates (and of
        chat models, or of the succeeded status) does; one of prompts, kinds or what is made leaves
        them out (None)."""
        if f.text.strip() or f.kinds or f.aspect_ratios or f.batch_id is not None or f.family_pids or f.makes:
            return None
        if f.statuses and "succeeded" not in f.statuses:
            return None
        clauses = [true()]
        if f.models:
            clauses.append(ChatCall.model.in_(f.models))
        if f.date_from:
            clauses.append(ChatCall.created_at >= _day_start(f.date_from, f.tz))
        if f.date_to:
            clauses.append(ChatCall.created_at < _day_start(f.date_to + timedelta(days=1), f.tz))
        return and_(*clauses)
