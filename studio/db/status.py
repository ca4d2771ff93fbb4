"""Every status a remote task row (generation or character) can have, in one place."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"  # written, not sent yet: the engine sends it
    SUBMITTING = "submitting"  # claimed by an engine and being sent (leased)
    RUNNING = "running"  # the service has it; the engine follows it
    SAVING = "saving"  # the service finished it; the engine is copying the file
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the send may or may not have reached the service: never re-sent by itself
    CANCELLED = "cancelled"  # never sent (its batch was cancelled, or the person cancelled it)

    @property
    def is_active(self) -> bool:
        return self in ACTIVE

    @property
    def is_final(self) -> bool:
        return not self.is_active


ACTIVE = frozenset({Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING})
FINAL = frozenset(Status) - ACTIVE
FOLLOWED = (Status.RUNNING, Status.SAVING)  # what the engine polls or copies


class BatchState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
