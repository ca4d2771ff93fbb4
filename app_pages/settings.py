"""Settings: which service to use, the key, a connection test, and the sandbox's demo knobs."""

from __future__ import annotations

import streamlit as st

from components.resources import app_config, connection, credits_left, store
from grsai_api import GrsaiError
from studio.connection import CHOICES, default_choice, valid_url
from studio.costs import format_credits
from studio.sandbox_host import sandbox_knobs, set_sandbox_knobs

config = app_config()
# Widget state is dropped when a page is left, so the choices live on in plain session keys.
PERSISTED = {
    "settings_connection": "conn_choice",
    "settings_custom_url": "conn_custom_url",
    "settings_api_key": "conn_api_key",
}
st.session_state.setdefault("conn_choice", default_choice(config))
for widget_key, kept_key in PERSISTED.items():
    if widget_key not in st.session_state and st.session_state.get(kept_key) is not None:
        st.session_state[widget_key] = st.session_state[kept_key]


def keep(widget_key: str) -> None:
    st.session_state[PERSISTED[widget_key]] = st.session_state[widget_key]
    credits_left.clear()


st.title("Settings")

st.subheader("Connection")
choice = st.radio(
    "Service",
    list(CHOICES),
    format_func=CHOICES.get,
    key="settings_connection",
    on_change=keep,
    args=("settings_connection",),
    horizontal=True,
)
if choice == "custom":
    url = st.text_input(
        "Service URL",
        key="settings_custom_url",
        placeholder="https://…",
        on_change=keep,
        args=("settings_custom_url",),
        help="Any server that speaks GrsAI's protocol, for example a sandbox on another machine.",
    )
    if url and not valid_url(url):
        st.error(
            "This is not a web address: it should start with http:// or https://.", icon=":material/error:"
        )

if choice != "sandbox":
    if config.key_source:
        st.success(f"An API key is set in {config.key_source}.", icon=":material/key:")
    st.text_input(
        "API key for this session" if config.key_source else "API key",
        type="password",
        key="settings_api_key",
        on_change=keep,
        args=("settings_api_key",),
        placeholder="sk-…" if not config.key_source else "Leave empty to use the configured key",
        help="Kept in this browser session only: never saved, logged or shown. To keep a key, put "
        "GRSAI_API_KEY in .streamlit/secrets.toml.",
    )

current = connection()
if current.note:
    st.warning(current.note, icon=":material/info:")
else:
    st.caption(f"In use: **{current.label}**" + ("" if current.is_sandbox else f" · {current.base_url}"))

if st.button("Test connection", icon=":material/network_check:"):
    try:
        with current.client(max_retries=0, timeout=8.0) as client:
            credits = client.credits()
            status = client.model_status("sora-2")
    except GrsaiError as exc:
        st.error(f"{current.label} did not answer as expected: {exc}", icon=":material/cloud_off:")
    else:
        credits_left.clear()
        up = "sora-2 is up" if status.available else f"sora-2 is down ({status.message or 'no reason given'})"
        (st.success if status.available else st.warning)(
            f"Connected to {current.label}: {format_credits(credits)} credits left; {up}.",
            icon=":material/cloud_done:" if status.available else ":material/warning:",
        )

if current.is_sandbox:
    st.subheader("Sandbox demo knobs")
    st.caption("Shape the built-in sandbox for a demo: how long videos take, and how often they fail.")
    knobs = sandbox_knobs(current.base_url)
    with st.form("settings_sandbox"):
        left, right = st.columns(2)
        task_seconds = left.slider("Seconds to make a video", 1, 120, int(knobs["task_seconds"]))
        latency = right.slider("Added latency per request (ms)", 0, 2000, int(knobs["latency_ms"]), step=50)
        moderation = left.slider(
            "Share refused by output moderation", 0.0, 1.0, float(knobs["output_moderation_rate"]), step=0.05
        )
        errors = right.slider(
            "Share that fail with an error", 0.0, 1.0, float(knobs["error_rate"]), step=0.05
        )
        rate_limited = left.slider(
            "Share of requests answered 429", 0.0, 1.0, float(knobs["rate_429"]), step=0.05
        )
        blocklist = right.text_input(
            "Words refused by input moderation (comma-separated)", ", ".join(knobs["blocklist"])
        )
        if st.form_submit_button("Apply", type="primary"):
            set_sandbox_knobs(
                current.base_url,
                {
                    "task_seconds": task_seconds,
                    "latency_ms": latency,
                    "output_moderation_rate": moderation,
                    "error_rate": errors,
                    "rate_429": rate_limited,
                    "blocklist": blocklist,
                },
            )
            st.toast("Sandbox updated", icon=":material/science:")

st.subheader("Storage")
library = store()
totals = library.totals()
url = library.engine.url.render_as_string(hide_password=True)
st.markdown(
    f"- Database: `{url}`\n- Media folder: `{config.media_dir}`\n- {totals['count']:,} generations stored"
)
