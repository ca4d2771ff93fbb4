"""One send from a form, with what went wrong said next to the form (nothing raised to the page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from grsai_api import GrsaiError, InvalidRequestError, SubmissionUnknownError
from studio.clips import ClipError

T = TypeVar("T")


def send(action: Callable[[], T], slot, *, what: str) -> T | None:
    """Run ``action``; on failure show why in ``slot`` and return None. ``what`` finishes the
    sentence "The service did not …" (e.g. "make this character")."""
    try:
        return action()
    except SubmissionUnknownError as exc:  # maybe sent: say so, never send again by itself
        slot.warning(str(exc), icon=":material/help:")
    except (InvalidRequestError, ClipError) as exc:  # the person's input: nothing was sent
        slot.error(getattr(exc, "message", str(exc)), icon=":material/error:")
    except GrsaiError as exc:
        slot.error(f"The service did not {what}: {exc.message}", icon=":material/error:")
    return None
