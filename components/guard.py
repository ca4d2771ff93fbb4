"""No traceback ever reaches the page. ``app.py`` guards each page run; fragments and dialogs run
on their own (Streamlit draws their exceptions itself, traceback and all), so each is wrapped here
too. The traceback goes to the log; the person sees what happened in words and the page stays usable.
(st.rerun, st.stop and st.switch_page raise BaseExceptions, which pass through untouched.)"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st

log = logging.getLogger("studio.pages")
P = ParamSpec("P")
R = TypeVar("R")

MESSAGE = (
    "Something went wrong here. Nothing was sent or charged by the error itself; your work is safe in "
    "the Library. Reload the page to carry on."
)


def show_failure(where: str) -> None:
    """Log the exception being handled, and say in words that something went wrong."""
    log.exception("%s failed", where)
    st.error(MESSAGE, icon=":material/error:")


def guarded(function: Callable[P, R]) -> Callable[P, R | None]:
    """``function`` (a fragment's or dialog's body) with its exceptions shown as words, not tracebacks."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - whatever it was, the person sees words and the log the rest
            show_failure(function.__qualname__)
            return None

    return run
