"""How far a batch has got, counted from its rows' newest attempts: the figures the page shows (and
Earlier batches' one line each), computed here once so they read the same everywhere."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from ..db import FailureReason, Generation, Status, utcnow
from ..db.status import ACTIVE


@dataclass(frozen=True)
class BatchProgress:
    total: int
    queued: int
    sending: int
    running: int
    succeeded: int
    failed: int
    unknown: int
    cancelled: int
    spent: int
    eta_seconds: float | None
    failures: dict[str, int]  # failure reason -> rows

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.unknown + self.cancelled

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def active(self) -> bool:
        return bool(self.queued or self.sending or self.running)

    @property
    def waiting(self) -> int:
        """Rows not sent yet: the ones a pause holds and a cancel drops. A row being sent is out of
        their reach, so it is counted as being made (``under_way``), never as both."""
        return self.queued

    @property
    def under_way(self) -> int:
        """Rows sent (or being sent) and not finished: a pause or a cancel lets them finish."""
        return self.running + self.sending

    @property
    def not_made(self) -> int:
        """Rows that failed, and rows not known to have reached the service (never re-sent by themselves)."""
        return self.failed + self.unknown

    @property
    def moderated(self) -> int:
        """Rows refused by content moderation (their retry is capped)."""
        return sum(n for reason, n in self.failures.items() if FailureReason.of(reason).is_moderation)


def latest_attempts(rows: list[Generation]) -> list[Generation]:
    """The newest attempt of each row (rows in row order)."""
    latest: dict[int, Generation] = {}
    for row in rows:
        latest[row.batch_row] = row  # rows come oldest attempt first
    return [latest[k] for k in sorted(latest)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def progress_of(rows: list[Generation], *, now: datetime | None = None) -> BatchProgress:
    now = now or utcnow()
    attempts = rows
    rows = latest_attempts(rows)
    counts = Counter(r.status for r in rows)
    # how long a video takes is read from videos made: a refusal comes back at once and says nothing of it
    finished = [r for r in rows if r.status == Status.SUCCEEDED and r.submitted_at and r.finished_at]
    eta = None
    if finished:
        task_seconds = sum(
            (_aware(r.finished_at) - _aware(r.submitted_at)).total_seconds() for r in finished
        ) / len(finished)
        sent = sorted(_aware(r.submitted_at) for r in rows if r.submitted_at)
        rate = (len(sent) - 1) / max((sent[-1] - sent[0]).total_seconds(), 1e-3) if len(sent) > 1 else None
        out = [
            task_seconds - (now - _aware(r.submitted_at)).total_seconds()
            for r in rows
            if r.status in (Status.RUNNING, Status.SAVING) and r.submitted_at
        ]
        waiting = counts[Status.QUEUED] + counts[Status.SUBMITTING]
        eta = max([0.0, *out])
        if waiting:
            eta = max(eta, (waiting / rate if rate else 0.0) + task_seconds)
        # when the service is the bottleneck, videos come out slower than one takes: go by the pace at
        # which they have come out so far (between the first and the last made, so that videos made
        # side by side, which come out together, are not read as a queue of one at a time)
        left = sum(counts[k] for k in (Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING))
        made = sorted(_aware(r.finished_at) for r in finished)
        if left and len(made) >= 3:
            between = (made[-1] - made[0]).total_seconds() / (len(made) - 1)
            eta = max(eta, between * left)
    failures = Counter(FailureReason.of(r.failure_reason) for r in rows if r.status == Status.FAILED)
    return BatchProgress(
        total=len(rows),
        queued=counts[Status.QUEUED],
        sending=counts[Status.SUBMITTING],
        running=counts[Status.RUNNING] + counts[Status.SAVING],
        succeeded=counts[Status.SUCCEEDED],
        failed=counts[Status.FAILED],
        unknown=counts[Status.UNKNOWN],
        cancelled=counts[Status.CANCELLED],
        spent=sum(r.cost for r in attempts),
        eta_seconds=eta,
        failures=dict(failures),
    )


class BatchTally(NamedTuple):
    """One earlier batch in a line: rows, ready, failed, credits."""

    total: int
    ready: int
    failed: int
    spent: int


def tally_of(statuses: Counter[str], spent: int, total: int) -> BatchTally:
    """A batch's line from its attempts counted by status (``Store.batch_tallies``) and its row count.
    A row's newest attempt is the only one that can be ready, waiting or cancelled, so the failed
    rows are the rest: a row that failed and was retried is not counted twice."""
    ready = statuses[Status.SUCCEEDED]
    not_failed = sum(statuses[s] for s in (*ACTIVE, Status.CANCELLED))
    return BatchTally(total=total, ready=ready, failed=total - ready - not_failed, spent=spent)
