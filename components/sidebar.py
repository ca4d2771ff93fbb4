"""What every page shows in the sidebar: the connection, the credits, the work under way."""

from __future__ import annotations

import streamlit as st

from studio.connection import Connection

from .resources import credits_left


def render_sidebar(connection: Connection, running: int) -> None:
    with st.sidebar:
        if connection.is_sandbox:
            st.badge("Sandbox", icon=":material/science:", color="orange")
            st.caption(
                "Videos are rendered on this machine by the built-in sandbox: no key, no cost. "
                "Add a GrsAI key in `.streamlit/secrets.toml` to use the real service."
            )
        else:
            st.badge(connection.label, icon=":material/cloud_done:", color="green")
        credits = credits_left(connection, connection.base_url)
        st.metric("Credits left", "—" if credits is None else f"{credits:,.2f}")
        if running:
            noun = "video is" if running == 1 else "videos are"
            st.caption(f":material/progress_activity: {running} {noun} being made")
