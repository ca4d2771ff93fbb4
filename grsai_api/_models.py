"""Typed results: what the service's task objects mean, normalised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TaskStatus = Literal["running", "succeeded", "failed"]
FailureReason = Literal["input_moderation", "output_moderation", "violation", "error"]

_RUNNING_ALIASES = {"running", "pending", "processing", "queued", "submitted", "in_progress"}
_SUCCESS_ALIASES = {"succeeded", "success", "completed"}
_FAILURE_ALIASES = {"failed", "failure", "error", "cancelled"}
_REASONS = {"input_moderation", "output_moderation", "violation", "error"}
# The one rule for "the service refused this" (moderation), shared by batch, pages, store and Insights:
# the old paths' input and output moderation, and the unified API's "violation" (an input refusal).
REFUSALS: frozenset[str] = frozenset({"input_moderation", "output_moderation", "violation"})
INPUT_REFUSALS: frozenset[str] = frozenset({"input_moderation", "violation"})


def is_refusal(reason: str | None) -> bool:
    """Whether a failure reason is a moderation refusal (not an error of the service)."""
    return (reason or "") in REFUSALS


@dataclass(frozen=True)
class TaskResult:
    """One result of a task: a video (url, pid) or a character (character_id)."""

    url: str | None = None
    pid: str | None = None
    character_id: str | None = None
    remove_watermark: bool | None = None

    @classmethod
    def from_payload(cls, item: dict[str, Any]) -> TaskResult:
        return cls(
            url=item.get("url") or None,
            pid=item.get("pid") or None,
            character_id=item.get("character_id") or item.get("characterId") or None,
            remove_watermark=item.get("removeWatermark"),
        )


@dataclass(frozen=True)
class Task:
    """A task object. ``status`` is normalised: pending/processing count as running."""

    id: str
    status: TaskStatus
    progress: int = 0
    results: tuple[TaskResult, ...] = ()
    failure_reason: FailureReason | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_payload(cls, data: dict[str, Any], *, task_id: str | None = None) -> Task:
        status_text = str(data.get("status") or "running").lower()
        reason = data.get("failure_reason") or data.get("failureReason") or None
        if status_text in _SUCCESS_ALIASES:
            status: TaskStatus = "succeeded"
        elif status_text in _FAILURE_ALIASES:
            status = "failed"
        elif status_text == "violation":  # the unified API's own end: refused by moderation
            status, reason = "failed", "violation"
        else:
            status = "running"
        try:
            progress = int(float(data.get("progress") or 0))
        except (TypeError, ValueError, OverflowError):
            progress = 0
        progress = max(0, min(100, progress))
        if status == "succeeded":
            progress = 100
        items = data.get("results")
        results = tuple(
            TaskResult.from_payload(item) for item in (items if isinstance(items, list) else []) if isinstance(item, dict)
        )
        if not any(r.url for r in results) and isinstance(data.get("url"), str) and data["url"]:
            results = (TaskResult(url=data["url"]), *results)  # one Veo adapter reads the top-level url
        if status == "failed" and reason not in _REASONS:
            reason = "error"
        return cls(
            id=str(data.get("id") or task_id or ""),
            status=status,
            progress=progress,
            results=results,
            failure_reason=reason if status == "failed" else None,
            error=str(data["error"]) if data.get("error") else None,
            raw=dict(data),
        )

    @property
    def done(self) -> bool:
        return self.status != "running"

    @property
    def video_url(self) -> str | None:
        return next((r.url for r in self.results if r.url), None)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every result file's address (an image task may have several)."""
        return tuple(r.url for r in self.results if r.url)

    @property
    def pid(self) -> str | None:
        return next((r.pid for r in self.results if r.pid), None)

    @property
    def character_id(self) -> str | None:
        return next((r.character_id for r in self.results if r.character_id), None)


@dataclass(frozen=True)
class Character:
    """A character for a video request: a clip (URL or data URI) and the span to take from it."""

    url: str
    timestamps: tuple[float, float] = (0.0, 3.0)


@dataclass(frozen=True)
class ModelStatus:
    model: str
    available: bool
    message: str | None = None


@dataclass(frozen=True)
class ChatReply:
    """A chat completion's answer: its text, the model that wrote it, and whether the service's
    content filter flagged anything (``content_filter_results``)."""

    text: str
    model: str
    filtered: bool = False
