"""What a failure means, in words for the person who asked."""

from __future__ import annotations

import errno
from pathlib import Path

from grsai_api import is_refusal

from .costs import credits_text

REFUND_NOTE = "Nothing was charged: failed tasks are refunded at once."
REFUSALS_KEPT = "a refused try stays charged: the service does not refund refusals"

FAILURE_HELP = {
    "input_moderation": (
        "The prompt (or an image or clip in it) was turned down by content moderation before "
        "anything was made. Rephrase it: leave out violence, adult content, real people and brands."
    ),
    "output_moderation": (
        "The video was made, but content moderation withheld it. Try again, or describe the "
        "scene more gently."
    ),
    "violation": (
        "Content moderation refused this request: the prompt or its images break the model's rules. "
        "Rephrase it: leave out violence, adult content, real people and brands."
    ),
    "error": "The service could not make this. Trying again usually works.",
    "refused": "The service refused this request before making anything.",
    "copy": "It was made, but its file could not be copied before the link expired.",
}


def explain_failure(reason: str | None, detail: str | None = None, cost: int = 0) -> str:
    """The reason in words, then what it cost: ``cost`` is what the store counts as spent on it
    (a refusal the service kept; 0 when it was refunded)."""
    text = FAILURE_HELP.get(reason or "error", FAILURE_HELP["error"])
    if detail:
        text += f" ({detail})" if reason in ("refused", "copy") else f" (Service said: {detail})"
    if reason == "copy":
        return f"{text} It was charged: the service made it."
    if cost and is_refusal(reason):
        return f"{text} {refusal_charged(cost)}"
    return f"{text} {REFUND_NOTE}"


def retry_price(each: int, retries: int, *, refunds_refusals: bool) -> str:
    """What trying a refused video again by itself costs: each try is a new, charged video."""
    kept = "a refused try is refunded" if refunds_refusals else REFUSALS_KEPT
    words = f"Each new try is a new video at {credits_text(each)}; {kept}."
    return words + (f" At most {retries} more: up to {credits_text(each * retries)}." if retries else "")


def refusal_charged(cost: int) -> str:
    """A refusal the service kept the credits of, in words (the figure from studio.costs)."""
    return f"{credits_text(cost)} charged: the service does not refund refusals."


def media_fault(exc: OSError, folder: Path) -> str:
    """Why our own media folder took nothing, in words: which folder, full or not writable."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the media folder {folder} is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the media folder {folder} is not writable"
    if exc.errno == errno.ENOENT:
        return f"the media folder {folder} is missing"
    return f"the media folder {folder} could not be written ({exc.strerror or type(exc).__name__})"
