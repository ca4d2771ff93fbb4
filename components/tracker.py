"""What is being made, in the sidebar of every page. It only reads the store: the task engine
(studio.engine) does the sending, polling and copying, whether or not a tab is open. A fragment
re-reads while anything is active and switches itself off when nothing is; when something ends it
says so in a toast and reruns the page once, so the page catches up."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from studio.accounts import short
from studio.connection import Connection
from studio.db import Status, Store

from .guard import guarded
from .resources import credits_left, key_refused
from .session import SEEN_ACTIVE, catch_up, toast_later
from .text import plain

REDRAW_SECONDS = 2.0


def _ended_words(kind: str, row) -> str:
    if kind == "video":
        noun = row.makes  # "video" or "image"
        one = "An image" if noun == "image" else "A video"
        return {Status.SUCCEEDED: f"Your {noun} is ready", Status.UNKNOWN: f"{one}'s send could not be confirmed"}.get(
            row.status, f"{one} could not be made"
        )
    if row.status == Status.SUCCEEDED:
        return f"Character @{row.character_id} is ready"
    return f"The character “{row.label}” could not be made"


def _group_words(members: list) -> str:
    """One line for N made at once, said when the last of them ends (not one toast each)."""
    noun = members[0].makes  # "video" or "image"
    ready = sum(m.status == Status.SUCCEEDED for m in members)
    if ready == len(members):
        return f"Your {len(members)} {noun}s are ready: keep the best"
    if ready:
        return f"{ready} of your {len(members)} {noun}s are ready: keep the best"
    return f"None of your {len(members)} {noun}s could be made"


def being_made(count: int, makes: str, refused: bool) -> str:
    """"2 videos are being made", or, queued under a key the service refuses (``key_refused``), "2 videos
    waiting: the service refused the key": the words of the sidebar and of Generate's and Images' lists."""
    if refused:
        return f"{count} {makes}{'' if count == 1 else 's'} waiting: the service refused the key"
    return f"{count} {makes} is being made" if count == 1 else f"{count} {makes}s are being made"


def making_now(connection: Connection, store: Store) -> bool:
    """Whether the account has a single video, image or character being made (the tracker redraws)."""
    return bool(
        store.active_for(connection.service_id, connection.account)
        or store.active_characters(connection.service_id, connection.account)
    )


def look(connection: Connection, store: Store) -> tuple[list, list, bool]:
    """The account's active videos and characters; True when something seen active has ended."""
    videos = store.active_for(connection.service_id, connection.account)
    characters = store.active_characters(connection.service_id, connection.account)
    now_active = {("video", g.id) for g in videos} | {("character", c.id) for c in characters}
    seen = st.session_state[SEEN_ACTIVE]
    ended = [key for key in seen.get(connection.service_id, set()) if key not in now_active]
    if ended:
        credits_left.clear()  # the engine sent it (charged) or it failed (an error refunded): read the balance again
        told: set[str] = set()  # groups of N made at once already said
        for kind, row_id in ended:
            row = store.get(row_id) if kind == "video" else store.get_character(row_id)
            group = getattr(row, "group_key", None) if kind == "video" else None
            if row is None or group in told:
                continue
            if group is None:
                toast_later(plain(_ended_words(kind, row)))
                continue
            members = store.group_members(group)
            if not any(Status(m.status).is_active for m in members):  # the last of them: said once
                told.add(group)
                toast_later(plain(_group_words(members)))
    seen[connection.service_id] = now_active
    return videos, characters, bool(ended)


def tracker(connection: Connection, store: Store, elsewhere: Callable[[], bool] = lambda: False) -> None:
    """The account's single videos, images and characters being made. ``elsewhere`` says whether a
    batch or a storyboard is at work (listed under it), so "Nothing is being made" is never said
    above a line that says something is."""
    active = making_now(connection, store)

    @st.fragment(run_every=REDRAW_SECONDS if active else None)
    @guarded
    def watcher() -> None:
        videos, characters, ended = look(connection, store)
        refused = bool(videos or characters) and key_refused(connection)  # the sidebar's one reading
        held = store.held_recently()
        if (videos or characters) and (connection.service_id, connection.account) not in held:
            st.caption(
                f":material/key_off: Waiting for the key of account {short(connection.account)}: "
                "the app's engine is not running."
            )
        for makes, icon in (("video", ":material/progress_activity:"), ("image", ":material/image:")):
            rows = [g for g in videos if g.makes == makes]
            if not rows:
                continue
            st.caption(f"{':material/key_off:' if refused else icon} {being_made(len(rows), makes, refused)}")
            for generation in rows[:5]:
                st.progress(
                    generation.progress / 100, text=f"{plain(generation.prompt, 28)} {generation.progress}%"
                )
        if characters:
            st.caption(f"{':material/key_off:' if refused else ':material/face:'} {being_made(len(characters), 'character', refused)}")
            for character in characters[:3]:
                st.progress(
                    character.progress / 100,
                    text=f"{plain(character.label or 'Character', 28)} {character.progress}%",
                )
        if not videos and not characters and not elsewhere():
            st.caption("Nothing is being made right now.")
        if ended:
            catch_up()  # once, for the whole page

    watcher()
