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
        batches(store)


def batches(store: Store) -> None:
    """Batches still at work, so a batch running in the background is never out of sight."""

    def at_work() -> list[tuple[str, int, int, str]]:
        lines = []
        for batch in store.batches(20):
            if batch.state not in ("running", "paused"):
                continue
            total = int(batch.settings.get("rows", 0))
            left = store.count_status(batch.id, "queued", "submitting", "running")  # newest attempts only
            if left:
                lines.append((batch.name, total - left, total, batch.state))
        return lines

    @st.fragment(run_every=3.0 if at_work() else None)
    def summary() -> None:
        for name, done, total, state in at_work():
            word = "paused" if state == "paused" else "being made"
            st.caption(f":material/dataset: Batch “{name}”: {done:,} of {total:,} done, {word}")

    summary()
