"""Per-session state, set up once by app.py; keys that belong to one page carry its prefix."""

from __future__ import annotations

import streamlit as st

from studio.connection import Connection
from studio.store import Store

ACTIVE = "active_ids"  # generations this session polls
ACTIVE_CHARACTERS = "active_character_ids"  # character tasks this session polls
SHOWN = "session_ids"  # generations shown in this session's panel, newest last
TOASTS = "pending_toasts"
ADOPTED = "adopted_services"


def init_session() -> None:
    st.session_state.setdefault(ACTIVE, [])
    st.session_state.setdefault(ACTIVE_CHARACTERS, [])
    st.session_state.setdefault(SHOWN, [])
    st.session_state.setdefault(TOASTS, [])
    st.session_state.setdefault(ADOPTED, set())


def adopt_running(store: Store, connection: Connection) -> bool:
    """Once per session and service: take up what the store still has running, so a refresh, a
    closed tab or an app restart loses nothing. True the first time (the caller adopts more)."""
    if connection.service_id in st.session_state[ADOPTED]:
        return False
    st.session_state[ADOPTED].add(connection.service_id)
    for generation_id in store.running_ids(connection.service_id):
        watch(generation_id)
    for row_id in store.running_character_ids(connection.service_id):
        watch_character(row_id)
    return True


def watch(generation_id: int) -> None:
    if generation_id not in st.session_state[ACTIVE]:
        st.session_state[ACTIVE].append(generation_id)
    if generation_id not in st.session_state[SHOWN]:
        st.session_state[SHOWN].append(generation_id)


def watch_character(row_id: int) -> None:
    if row_id not in st.session_state[ACTIVE_CHARACTERS]:
        st.session_state[ACTIVE_CHARACTERS].append(row_id)


def unwatch(generation_id: int) -> None:
    if generation_id in st.session_state[ACTIVE]:
        st.session_state[ACTIVE].remove(generation_id)


def toast_later(message: str) -> None:
    st.session_state[TOASTS].append(message)


def show_toasts() -> None:
    while st.session_state[TOASTS]:
        st.toast(st.session_state[TOASTS].pop(0), icon=":material/movie:")


def handoff(page_prefix: str, **values) -> None:
    """Pass values to another page's widgets; that page applies them before drawing them."""
    st.session_state[f"{page_prefix}_handoff"] = values


def take_handoff(page_prefix: str) -> None:
    for key, value in st.session_state.pop(f"{page_prefix}_handoff", {}).items():
        st.session_state[key] = value


def restore_widgets(keys: tuple[str, ...]) -> None:
    """Widget state is dropped when its page is left: bring back what the person had entered."""
    for key in keys:
        if key not in st.session_state and f"_kept_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"_kept_{key}"]


def keep_widgets(keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in st.session_state:
            st.session_state[f"_kept_{key}"] = st.session_state[key]
