"""Generate's list: the account's latest videos, from the store, so a reload or a closed laptop
forgets nothing. Progress while they are made, the video when done. A fragment re-reads the store
while anything is active; the task engine does the work, so this never talks to the service."""

from __future__ import annotations

import streamlit as st

from studio.accounts import short
from studio.connection import Connection
from studio.costs import credits_text
from studio.db import Generation, Status, Store
from studio.generation import MAX_AT_ONCE, GenerationService
from studio.media import MediaStore

from .character_names import as_named
from .guard import guarded
from .keep_best import in_groups, keep_best_group, progress_words
from .prompt_help import softer_wording
from .session import handoff, show_toasts
from .text import plain
from .video import clock, download_button, facts, failure_note, status_badge, video_player

REDRAW_SECONDS = 1.0  # reads the store only
SHOWN = 6  # entries: a video, or the N made of one prompt at once
OPEN = 2  # of them shown open; the older ones fold away, so the newest stays in view by the button


def _card(generation: Generation, media: MediaStore, held: bool, actions) -> None:
    with st.container(border=True, key=f"card_{generation.id}"):
        status_badge(generation)
        st.markdown(f"**{plain(as_named(generation.prompt), 160)}**")
        if Status(generation.status).is_active:
            words = "saving the video" if generation.status == Status.SAVING else progress_words(generation)
            st.progress(
                generation.progress / 100,
                text=f"{words} · {clock(generation.elapsed)} elapsed · {facts(generation)}",
            )
            if not held:
                st.caption(
                    f":material/key_off: Waiting for the key of account {short(generation.account)}: "
                    "enter it in Settings to carry on."
                )
            elif generation.error:
                st.caption(f":material/info: {plain(generation.error)}")
            left, right = st.columns(2)
            if generation.status == Status.QUEUED and left.button(
                "Cancel", key=f"cancel_{generation.id}", icon=":material/cancel:", type="tertiary"
            ):
                actions["cancel"](generation.id)
            if right.button(
                "Hide",
                key=f"hide_{generation.id}",
                icon=":material/visibility_off:",
                type="tertiary",
                help="It goes on being made; you will find it in the Library.",
            ):
                actions["hide"](generation.id)
            return
        if generation.status == Status.SUCCEEDED:
            video_player(generation, media)
            st.caption(
                f"{facts(generation)} · made in {clock(generation.elapsed)} · {credits_text(generation.cost)}"
                + (" · pid" if generation.pid else "")
            )
            if generation.pid:  # Sora 2's videos: the name a remix or a character is made from
                st.code(generation.pid, language=None)
            left, right = st.columns(2)
            with left:
                download_button(generation, media, key=f"download_{generation.id}")
            if generation.pid and right.button(
                "Remix this", key=f"remix_{generation.id}", icon=":material/auto_fix_high:"
            ):
                handoff("generate", generate_remix_pid=generation.pid, generate_prompt=generation.prompt)
                st.rerun()
            return
        failure_note(generation)
        softer_wording(generation)  # after a refusal: which input, and a softer wording on a click
        left, right = st.columns(2)
        if left.button("Use this prompt again", key=f"again_{generation.id}", icon=":material/undo:"):
            handoff("generate", generate_prompt=generation.prompt)
            st.rerun()
        if generation.status == Status.UNKNOWN and right.button(
            "Send again…", key=f"resend_{generation.id}", icon=":material/send:"
        ):
            actions["resend"](generation.id)


def _video(generation: Generation, media: MediaStore) -> None:
    """A finished one of several made at once: its video and a download."""
    video_player(generation, media)
    download_button(generation, media, key=f"download_{generation.id}")


def _entries(connection: Connection, store: Store) -> list[list[Generation]]:
    """The latest SHOWN entries: a video alone, or the N made of one prompt at once together."""
    rows = store.recent_for(connection.service_id, connection.account, SHOWN * MAX_AT_ONCE, makes=("video",))
    return in_groups(rows, SHOWN)


def _entry(entry: list[Generation], media: MediaStore, held: bool, actions, service: GenerationService) -> None:
    if entry[0].group_key is None:
        _card(entry[0], media, held, actions)
    else:
        keep_best_group(entry, service, show=lambda g: _video(g, media), actions=actions)


def task_panel(connection: Connection, store: Store, media: MediaStore, actions, service: GenerationService) -> None:
    """``actions``: callables by name (cancel, hide, resend) taking a generation id; ``service``
    keeps and discards among the N made at once."""
    show_toasts()
    busy = any(Status(g.status).is_active for entry in _entries(connection, store) for g in entry)

    @st.fragment(run_every=REDRAW_SECONDS if busy else None)
    @guarded
    def panel() -> None:
        entries = _entries(connection, store)
        held = (connection.service_id, connection.account) in store.held_recently()
        active = sum(Status(g.status).is_active for entry in entries for g in entry)
        if not entries:
            st.info(
                "Your videos will appear here. Write a prompt and press **Generate**.",
                icon=":material/movie:",
            )
        elif active:
            noun = "video is" if active == 1 else "videos are"
            st.caption(f"{active} {noun} being made")
        for entry in entries[:OPEN]:
            _entry(entry, media, held, actions, service)
        older = entries[OPEN:]
        if older:
            with st.expander(f"{len(older)} earlier", icon=":material/history:"):
                for entry in older:
                    _entry(entry, media, held, actions, service)
                st.caption("Everything made is in the **Library**.")
        if busy and not active:
            st.rerun()  # everything ended: let the page (and its fragment timer) catch up

    panel()
