"""What a failure means, in words for the person who asked."""

from __future__ import annotations

import errno
from pathlib import Path

from .costs import credits_text
from .db.status import FailureReason

REFUND_NOTE = "Nothing was charged: failed tasks are refunded at once."
REFUSALS_KEPT = "a refused try stays charged: the service does not refund refusals"



def explain_failure(reason: str | None, detail: str | None = None, cost: int = 0) -> str:
    """The reason in words, then what it cost: ``cost`` is what the store counts as spent on it
    (a refusal the service kept; 0 when it was refunded)."""
    why = FailureReason.of(reason)
    text = why.help
    if detail:
        text += f" ({detail})" if why in (FailureReason.REFUSED, FailureReason.COPY) else f" (Service said: {detail})"
    if why is FailureReason.COPY:
        return f"{text} It was charged: the service made it."
    if cost and why.is_moderation:
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


def held_by_refused_key(waiting: str, undo: str, redo: str, settings: str = "Settings") -> str:
    """What waits under a key the service refused, and what to do: it goes once that key is accepted
    again; a new key is a new account, so using one means undoing and doing it again. ``waiting``
    names what waits ("Its shots"), ``undo`` and ``redo`` how ("stop it", "make it again")."""
    return (
        f"{waiting} wait, and nothing is charged for them: they go once the service accepts that key again. "
        f"To use another key, {undo}, change the key in {settings} and {redo}."
    )
