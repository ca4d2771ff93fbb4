"""What every page shows in the sidebar: the connection, the credits, the work under way."""

from __future__ import annotations

import streamlit as st

from studio.connection import Connection
from studio.costs import format_credits
from studio.media import MediaStore
from studio.store import Store

from .resources import credits_for
from .tracker import tracker


def render_sidebar(connection: Connection, store: Store, media: MediaStore) -> None:
    with st.sidebar:
        if connection.is_sandbox:
            st.badge("Sandbox", icon=":material/science:", color="orange")
            st.caption("Videos are made on this machine by the built-in sandbox: no key, no cost.")
        else:
            st.badge(connection.label, icon=":material/cloud_done:", color="green")
        if connection.note:
            st.caption(f":material/info: {connection.note}")
        st.metric("Credits left", format_credits(credits_for(connection)))
        tracker(connection, store, media)
