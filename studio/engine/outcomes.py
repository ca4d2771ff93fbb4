"""What a failed send means, one rule set for every path (single, character, batch row, resend).

GrsAI charges every create it receives and submitting is not idempotent, so the only question is
whether the request may have been processed:
- provably not sent (no connection was made) -> it may be sent again;
- refused before processing (429, a refused key, a ``code != 0`` reply) -> nothing was made;
- anything after the request may have been processed (5xx, a timeout after sending, a cut or
  unreadable reply) -> ``unknown``: kept, shown, never re-sent by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from grsai_api import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    GrsaiError,
    InsufficientCreditsError,
    InvalidRequestError,
    RateLimitError,
    StreamInterruptedError,
    SubmissionUnknownError,
)


class Outcome(StrEnum):
    RETRY = "retry"  # not created: send again after a pause
    HOLD = "hold"  # not created, and every send of this account would fail the same way (the key)
    NO_CREDITS = "no_credits"  # not created: the account has too few credits
    REFUSED = "refused"  # not created: this request itself was refused; failed, not charged
    UNKNOWN = "unknown"  # may have been created (and charged): never sent again by itself


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    retry_after: float | None = None


MAYBE_CHARGED = (
    "The request may have reached the service, but no usable answer came back ({detail}). It is "
    "kept as unknown and was not sent again, because every send is charged: check the service's "
    "task list, or send it again yourself (it may then be charged twice)."
)


def judge(exc: BaseException) -> Verdict:
    """The one rule set. Anything unexpected counts as maybe sent: a second charge is worse than a
    question."""
    if isinstance(exc, StreamInterruptedError | SubmissionUnknownError):
        return Verdict(Outcome.UNKNOWN, MAYBE_CHARGED.format(detail=_short(exc)))
    if isinstance(exc, APIConnectionError):  # the client raises this only when nothing went out
        return Verdict(Outcome.RETRY, f"Could not reach the service yet: {_short(exc)}")
    if isinstance(exc, RateLimitError):
        return Verdict(Outcome.RETRY, "The service asked to slow down (429).", exc.retry_after)
    if isinstance(exc, AuthenticationError):
        return Verdict(Outcome.HOLD, exc.message)
    if isinstance(exc, InsufficientCreditsError):
        return Verdict(Outcome.NO_CREDITS, exc.message)
    if isinstance(exc, APIResponseValidationError):
        return Verdict(Outcome.UNKNOWN, MAYBE_CHARGED.format(detail="the reply could not be read"))
    if isinstance(exc, APIStatusError):
        if exc.status_code is not None and exc.status_code >= 500:
            return Verdict(Outcome.UNKNOWN, MAYBE_CHARGED.format(detail=f"HTTP {exc.status_code}"))
        if isinstance(exc, InvalidRequestError) or (exc.status_code or 200) < 500:
            return Verdict(Outcome.REFUSED, exc.message)
    if isinstance(exc, GrsaiError):
        return Verdict(Outcome.UNKNOWN, MAYBE_CHARGED.format(detail=_short(exc)))
    return Verdict(Outcome.UNKNOWN, MAYBE_CHARGED.format(detail=type(exc).__name__))


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
