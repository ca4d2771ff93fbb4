"""The session's one poller, in the sidebar of every page: a fragment that asks about every watched
generation together (studio.tracking.tick), writes through to the store, and switches itself off
when nothing is left. When something finishes it reruns the page once, so the page catches up."""

from __future__ import annotations

import streamlit as st

from studio.connection import Connection
from studio.media import MediaStore
from studio.store import Store
from studio.tracking import tick

from .session import ACTIVE, ACTIVE_CHARACTERS, toast_later, unwatch

POLL_SECONDS = 2.0
ERRORS = "poll_errors"
CHARACTER_ERRORS = "character_poll_errors"


def poll_once(connection: Connection, store: Store, media: MediaStore) -> bool:
    """One tick over the watched videos and characters; True when something stopped being watched."""
    active = list(st.session_state[ACTIVE])
    characters = list(st.session_state[ACTIVE_CHARACTERS])
    if not active and not characters:
        return False
    try:
        report = tick(connection, store, media, active, characters)
    except Exception as exc:  # the store or the network hiccuped: say so, try again next tick
        st.session_state[ERRORS] = {i: f"could not check ({type(exc).__name__})" for i in active}
        return False
    st.session_state[ERRORS] = report.errors
    st.session_state[CHARACTER_ERRORS] = report.character_errors
    done = {i for i in active if i not in report.still_running}  # finished here, elsewhere, or unpollable
    for generation_id in done:
        unwatch(generation_id)
    st.session_state[ACTIVE_CHARACTERS] = list(report.characters_still_running)
    for generation in store.get_many(report.finished):
        toast_later(
            "Your video is ready" if generation.status == "succeeded" else "A video could not be made"
        )
    for character in store.get_characters(report.characters_finished):
        toast_later(
            f"Character @{character.character_id} is ready"
            if character.status == "succeeded"
            else f"The character “{character.label}” could not be made"
        )
    return bool(done) or len(report.characters_still_running) < len(characters)


def tracker(connection: Connection, store: Store, media: MediaStore) -> None:
    watching = bool(st.session_state[ACTIVE] or st.session_state[ACTIVE_CHARACTERS])

    @st.fragment(run_every=POLL_SECONDS if watching else None)
    def poller() -> None:
        done = poll_once(connection, store, media)
        running = store.get_many(st.session_state[ACTIVE])
        characters = store.get_characters(st.session_state[ACTIVE_CHARACTERS])
        if running:
            noun = "video is" if len(running) == 1 else "videos are"
            st.caption(f":material/progress_activity: {len(running)} {noun} being made")
            for generation in sorted(running, key=lambda g: g.id)[:5]:
                st.progress(
                    generation.progress / 100, text=f"{generation.prompt[:28]}… {generation.progress}%"
                )
        if characters:
            noun = "character is" if len(characters) == 1 else "characters are"
            st.caption(f":material/face: {len(characters)} {noun} being made")
            for character in sorted(characters, key=lambda c: c.id)[:3]:
                st.progress(
                    character.progress / 100,
                    text=f"{(character.label or 'Character')[:28]} {character.progress}%",
                )
        if not running and not characters:
            st.caption("Nothing is being made right now.")
        if done:
            st.rerun()  # once, for the whole page

    poller()
