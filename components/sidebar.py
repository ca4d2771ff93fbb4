"""What every page shows in the sidebar: the connection, the credits, the work under way."""

from __future__ import annotations

from functools import partial

import streamlit as st

from studio import costs
from studio.connection import Connection
from studio.costs import format_credits, format_yuan
from studio.db import BatchState, Status, Store, StoryboardState

from .guard import guarded
from .resources import credits_for, key_refused
from .text import plain
from .tracker import making_now, tracker


def render_sidebar(connection: Connection, store: Store) -> None:
    costs.load(store)  # price overrides made by another process of the deployment (rate-limited)
    with st.sidebar:
        if connection.is_sandbox:
            st.badge("Sandbox", icon=":material/science:", color="orange")
            st.caption("Videos and images are made on this machine by the built-in sandbox, with free test credits.")
        credits = credits_for(connection)
        if not connection.is_sandbox and credits is None and key_refused(connection):
            st.badge(f"{connection.label} · key refused", icon=":material/key_off:", color="red")
            st.caption(
                "The service answered, and refused this API key: nothing is sent or charged with it. "
                "Change it in **Settings**."
            )
        elif not connection.is_sandbox and credits is None:  # the service did not answer the credits call
            st.badge(f"{connection.label} · not answering", icon=":material/cloud_off:", color="red")
            st.caption("The service did not answer just now: work waits and is sent when it does.")
        elif not connection.is_sandbox:
            st.badge(connection.label, icon=":material/cloud_done:", color="green")
        if connection.note:
            st.caption(f":material/info: {connection.note}")
        st.metric("Credits left", format_credits(credits), help=f"As the service reports them ({format_yuan(credits)})")
        tracker(connection, store, elsewhere=lambda: others_at_work(connection, store))
        batches(store)
        storyboards(connection, store)


def redraws_itself(connection: Connection, store: Store) -> bool:
    """Whether the sidebar redraws itself on a timer now: something of the account is being made (a
    video, image or character, a batch, a storyboard). Each redraw ends a run, and Streamlit drops a
    file made on a click two run-ends later, so a download made on the click is then gone in 3 to 6 s."""
    return making_now(connection, store) or others_at_work(connection, store)


def others_at_work(connection: Connection, store: Store) -> bool:
    """A batch or a storyboard at work (the sidebar lists them under the tracker)."""
    return bool(batches_at_work(store) or storyboards_at_work(connection, store))


def batches_at_work(store: Store) -> list[tuple[str, int, int, str]]:
    """(name, rows done, rows, state) of each batch with rows still to make."""
    lines = []
    for batch in store.batches(20):
        if batch.state not in (BatchState.RUNNING, BatchState.PAUSED):
            continue
        total = int(batch.settings.get("rows", 0))
        left = store.count_status(batch.id, Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING)
        if left:
            lines.append((batch.name, total - left, total, batch.state))
    return lines


def storyboards_at_work(connection: Connection, store: Store) -> list[tuple[str, str]]:
    """(name, state in words) of each of the account's storyboards still being made or joined; one
    whose shots cannot be sent (the service refused the key) says so, as the lists do."""
    boards = [
        board
        for board in store.storyboards_for(connection.service_id, connection.account)
        if board.state in (StoryboardState.RUNNING, StoryboardState.JOINING)
    ]
    refused = bool(boards) and key_refused(connection)
    return [
        (board.name, "waiting: the service refused the key"
         if refused and board.state == StoryboardState.RUNNING
         else StoryboardState(board.state).words.lower())  # fmt: skip
        for board in boards
    ]


def storyboards(connection: Connection, store: Store) -> None:
    """Storyboards still at work, by name and state only: how many shots are made is the
    Storyboard page's own line, redrawn on its own clock, so a second count here could differ."""

    @st.fragment(run_every=3.0 if storyboards_at_work(connection, store) else None)
    @guarded
    def summary() -> None:
        for name, words in storyboards_at_work(connection, store):
            st.caption(f":material/movie_edit: Storyboard “{plain(name)}”: {words}")

    summary()


def batches(store: Store) -> None:
    """Batches still at work, so a batch running in the background is never out of sight."""
    at_work = partial(batches_at_work, store)

    @st.fragment(run_every=3.0 if at_work() else None)
    @guarded
    def summary() -> None:
        for name, done, total, state in at_work():
            word = "paused" if state == BatchState.PAUSED else "being made"
            st.caption(f":material/dataset: Batch “{plain(name)}”: {max(done, 0):,} of {total:,} done, {word}")

    summary()
