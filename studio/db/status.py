"""Every state a row can be in and every reason a task failed, each with its words, in one place:
pages and modules compare with these members and show their ``label``; none spells a status."""

from __future__ import annotations

from enum import StrEnum


class _Worded(StrEnum):
    """A stored state with one word for a person (its table: ``_WORDS`` below)."""

    @property
    def label(self) -> str:
        """One word for a person: the Library, Batch, Generate's cards, the groups of N and the
        batch's progress line use it."""
        return _WORDS[type(self)][self]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The word for a stored value (a state this version does not know is shown as it is)."""
        try:
            return cls(value).label
        except ValueError:
            return str(value or "")


class Status(_Worded):
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


_STATUS_WORDS = {
    Status.QUEUED: "Waiting",
    Status.SUBMITTING: "Sending",
    Status.RUNNING: "Making",
    Status.SAVING: "Saving",
    Status.SUCCEEDED: "Ready",
    Status.FAILED: "Failed",
    Status.UNKNOWN: "Unknown",
    Status.CANCELLED: "Cancelled",
}


ACTIVE = frozenset({Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING})
FINAL = frozenset(Status) - ACTIVE
FOLLOWED = (Status.RUNNING, Status.SAVING)  # what the engine polls or copies


class BatchState(_Worded):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


_BATCH_STATE_WORDS = {
    BatchState.RUNNING: "Running",
    BatchState.PAUSED: "Paused",
    BatchState.CANCELLED: "Cancelled",
    BatchState.DONE: "Finished",
}
_WORDS = {Status: _STATUS_WORDS, BatchState: _BATCH_STATE_WORDS}


class StoryboardState(StrEnum):
    RUNNING = "running"  # its shots are being made, one after another
    JOINING = "joining"  # every shot is made: one engine joins them (leased)
    DONE = "done"  # the film is kept
    STOPPED = "stopped"  # a shot was not made: it waits for "Go on" (or stays stopped)

    @property
    def words(self) -> str:
        """A badge's words, as a video card's ("Ready", not "ready")."""
        return {"running": "Being made", "joining": "Being joined", "done": "Ready", "stopped": "Stopped"}[self]


class FailureReason(StrEnum):
    """Why a task failed: the service's reasons (input/output moderation, error, and the unified
    API's violation) and the studio's own (refused before processing, made but not kept)."""

    INPUT_MODERATION = "input_moderation"
    OUTPUT_MODERATION = "output_moderation"
    VIOLATION = "violation"
    ERROR = "error"
    REFUSED = "refused"  # the service turned the request down before making anything (a 4xx, code != 0)
    COPY = "copy"  # made (and paid), but its file could not be copied before the link expired

    @classmethod
    def of(cls, value: str | None) -> FailureReason:
        """A stored reason (None or one this version does not know: an error)."""
        try:
            return cls(value or "error")
        except ValueError:
            return cls.ERROR

    @property
    def is_moderation(self) -> bool:
        """A content refusal: the service keeps its credits (unless the deployment says it refunds
        them), and retrying one is capped. The one rule, shared with grsai_api.is_refusal."""
        return self in (FailureReason.INPUT_MODERATION, FailureReason.OUTPUT_MODERATION, FailureReason.VIOLATION)

    @property
    def short(self) -> str:
        """A few words, for a table's cell or a chart's legend."""
        return _REASON_WORDS[self][0]

    @property
    def help(self) -> str:
        """What happened and what to change, for the person who asked."""
        return _REASON_WORDS[self][1]


_MODERATION_ADVICE = "Rephrase it: leave out violence, adult content, real people and brands."
_REASON_WORDS = {
    FailureReason.INPUT_MODERATION: (
        "Refused by moderation (the prompt or image)",
        "The prompt (or an image or clip in it) was turned down by content moderation before anything "
        f"was made. {_MODERATION_ADVICE}",
    ),
    FailureReason.OUTPUT_MODERATION: (
        "Refused by moderation (the finished video)",
        "The video was made, but content moderation withheld it. Try again, or describe the scene more gently.",
    ),
    FailureReason.VIOLATION: (
        "Refused by moderation (the prompt or image)",
        f"Content moderation refused this request: the prompt or its images break the model's rules. {_MODERATION_ADVICE}",
    ),
    FailureReason.ERROR: ("The service could not make it", "The service could not make this. Trying again usually works."),
    FailureReason.REFUSED: ("The service refused the request", "The service refused this request before making anything."),
    FailureReason.COPY: ("Made, but the file could not be kept", "It was made, but its file could not be copied before the link expired."),
}
