"""Under a prompt: what may get it refused, in words, with a suggestion. Never blocks."""

from __future__ import annotations

import streamlit as st

from studio.connection import Connection
from studio.moderation import lint, refused_words

from .resources import store
from .text import plain


@st.cache_data(show_spinner=False, max_entries=32)
def _history(service: str, account: str | None, newest: int) -> dict[str, int]:
    """Read again only when the account has a new refusal (``newest``)."""
    refused, accepted = store().moderation_history(service, account)
    return refused_words(refused, accepted)


def moderation_hints(prompt: str, connection: Connection) -> None:
    if not prompt.strip():
        return
    service, account = connection.service_id, connection.account
    hints = lint(prompt, _history(service, account, store().newest_refusal(service, account)))
    for hint in hints[:3]:
        st.caption(f":material/shield: {plain(hint.why)}: {plain(hint.suggestion)}.")
