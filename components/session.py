"""Per-session state, set up once by app.py; keys that belong to one page carry its prefix."""

from __future__ import annotations

import uuid

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

TOASTS = "pending_toasts"
SEEN_ACTIVE = "seen_active"  # what was being made at the sidebar's last look: its end earns a toast


def init_session() -> None:
    st.session_state.setdefault(TOASTS, [])
    st.session_state.setdefault(SEEN_ACTIVE, {})


def request_key(scope: str, *parts: object) -> str:
    """The key of one submission: the same while the person has not asked for another, so a
    second click on the same request finds the first one's row instead of paying twice."""
    nonce = st.session_state.setdefault(f"{scope}_nonce", uuid.uuid4().hex)
    digest = uuid.uuid5(uuid.NAMESPACE_URL, repr((nonce, *parts))).hex
    return f"{scope}-{digest}"


def new_request(scope: str) -> None:
    """The person asks for another one of the same: the next submission gets a new key."""
    st.session_state[f"{scope}_nonce"] = uuid.uuid4().hex


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


def keep_a_choice(key: str, options, default: object = None) -> list:
    """A control that must always have a choice (``required=True``) gets one before it is drawn: the
    value kept in the page state, if it is still one of ``options``, else ``default`` (when it is one),
    else the first option. A run cut short, or a rerun that dropped the state, can hand a control back
    with no choice at all, and a page reading ``None`` where it counts on a choice cannot go on.
    Returns the options, to pass to the control (which then takes no ``default=`` of its own)."""
    options = list(options)
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]
    return options


def catch_up() -> None:
    """Redraw the whole page once, because something a fragment watched has ended (a video, a batch,
    a storyboard, a sheet): unless a rerun of the whole app is already waiting. That is a click (a
    page link, a button) that came in while the fragment ran, and it redraws everything anyway.
    Streamlit folds a second rerun into the waiting one and keeps the newer one's page, so a plain
    ``st.rerun()`` here sent the person back to the page they had just left (CI, December 2026)."""
    if not _whole_app_rerun_waiting():
        st.rerun()


def _whole_app_rerun_waiting() -> bool:
    """Whether this session's request queue holds a rerun of the whole app. It reads two private
    fields of Streamlit's ``ScriptRequests`` under its own lock; should a later Streamlit rename them,
    this says no, and ``catch_up`` reruns as a plain ``st.rerun()`` does."""
    requests = getattr(get_script_run_ctx(), "script_requests", None)
    lock = getattr(requests, "_lock", None)
    if lock is None:
        return False
    with lock:
        state, data = getattr(requests, "_state", None), getattr(requests, "_rerun_data", None)
    return (
        state is ScriptRequestType.RERUN
        and data is not None
        and not getattr(data, "fragment_id", None)
        and not getattr(data, "fragment_id_queue", None)
        and not getattr(data, "is_fragment_scoped_rerun", False)
    )
