"""Generate's list: the account's latest videos, from the store, so a reload or a closed laptop
forgets nothing. Progress while they are made, the video when done. A fragment re-reads the store
while anything is active; the task engine does the work, so this never talks to the service."""

from __future__ import annotations

import streamlit as st

from grsai_api import MODELS
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
from .resources import key_refused
from .session import catch_up, handoff, show_toasts
from .text import plain
from .tracker import being_made
from .video import clock, download_button, facts, failure_note, status_badge, video_player, video_preview

REDRAW_SECONDS = 1.0  # reads the store only
SHOWN = 6  # entries: a video, or the N made of one prompt at once
OPEN = 2  # of them shown open; the older ones fold away, so the newest stays in view by the button


def _card(generation: Generation, media: MediaStore, held: bool, actions, live: bool) -> None:
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
                + (" · pid" if remixable(generation) else "")
            )
            if remixable(generation):
                st.code(generation.pid, language=None)
            left, right = st.columns(2)
            with left:
                download_button(generation, media, key=f"download_{generation.id}", live=live)
            with right:
                remix_button(generation)
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


def remixable(generation: Generation) -> bool:
    """A finished video of a model the catalogue says remixes by pid (and the pid it was given)."""
    spec = MODELS.get(generation.model)
    return bool(generation.pid) and spec is not None and spec.remix


def remix_button(generation: Generation) -> None:
    """"Remix this": Generate with the video as the remix target and its prompt to change."""
    if remixable(generation) and st.button("Remix this", key=f"remix_{generation.id}", icon=":material/auto_fix_high:"):
        handoff("generate", generate_remix_pid=generation.pid, generate_prompt=generation.prompt)
        st.rerun()


def _video(generation: Generation, media: MediaStore, live: bool) -> None:
    """A finished take of several made at once: its preview, its pid when it can be remixed (the name a
    remix or a character is made from), a download and "Remix this"."""
    video_preview(generation, media)
    if remixable(generation):
        st.code(generation.pid, language=None)
    with st.container(horizontal=True, gap="small"):  # side by side where they fit
        download_button(generation, media, key=f"download_{generation.id}", live=live)
        remix_button(generation)


def _entries(connection: Connection, store: Store) -> list[list[Generation]]:
    """The latest SHOWN entries: a video alone, or the N made of one prompt at once together."""
    rows = store.recent_for(connection.service_id, connection.account, SHOWN * MAX_AT_ONCE, makes=("video",))
    return in_groups(rows, SHOWN)


def _entry(entry: list[Generation], media: MediaStore, held: bool, actions, service: GenerationService, live: bool) -> None:
    """``live``: drawn in the panel while it is redrawn every second."""
    if entry[0].group_key is None:
        _card(entry[0], media, held, actions, live)
    else:
        keep_best_group(entry, service, show=lambda g: _video(g, media, live), actions=actions)


# Streamlit stacks columns below 640 px: the list then comes after the whole form, so the newest is
# repeated under the button there, and only there.
_PHONE_ONLY = (
    "<style>.st-key-generate_latest { display: none; }"
    "@media (max-width: 640px) { .st-key-generate_latest { display: flex; } }</style>"
)


# Brings the newest into view once, when a new one has just been sent (not when the page opens, nor
# later, so nobody is pulled away from the settings); only where it is shown, on a phone. The only
# values put in it are numbers (a generation id, 0 or 1).
_SHOW_NEW = """<script>
(() => {
  const newest = %(newest)d, active = %(active)d, seen = window.__studioLatest;
  window.__studioLatest = newest;
  if (seen === undefined || seen === newest || !active) return;
  const strip = document.querySelector('.st-key-generate_latest');
  if (strip && strip.offsetParent !== null) strip.scrollIntoView({block: 'center', behavior: 'smooth'});
})();
</script>"""


def _latest_words(entry: list[Generation]) -> str:
    """The newest entry in one line: "Making · 40% · 0:12" or, for N at once, "2 of 3 ready, 1 being made"."""
    if len(entry) == 1:
        generation = entry[0]
        if Status(generation.status).is_active:
            return f"{progress_words(generation).capitalize()} · {clock(generation.elapsed)} elapsed"
        return Status.label_of(generation.status)
    ready = sum(g.status == Status.SUCCEEDED for g in entry)
    making = sum(Status(g.status).is_active for g in entry)
    return f"{ready} of {len(entry)} ready" + (f", {making} being made" if making else "")


def latest_on_phone(connection: Connection, store: Store, media: MediaStore) -> None:
    """On a phone, right under the button: the newest video or group, its progress while it is made,
    then its frame (nothing to click here: the card, which plays it, is in the list below the settings)."""
    entries = _entries(connection, store)
    if not entries:  # what is newest is known from the start, so the first one sent is shown too
        st.html(_SHOW_NEW % {"newest": 0, "active": 0}, unsafe_allow_javascript=True)
        return
    st.html(_PHONE_ONLY)
    busy = any(Status(g.status).is_active for g in entries[0])

    @st.fragment(run_every=REDRAW_SECONDS if busy else None)
    @guarded
    def latest() -> None:
        entry = _entries(connection, store)[0]
        with st.container(border=True, key="generate_latest"):
            st.caption(f":material/schedule: Newest · {plain(as_named(entry[0].prompt), 60)}")
            active = [g for g in entry if Status(g.status).is_active]
            done = next((g for g in entry if g.status == Status.SUCCEEDED and g.pick != "discarded"), None)
            if active:
                share = sum(100 if g.status == Status.SUCCEEDED else g.progress for g in entry) / len(entry)
                st.progress(min(share, 100) / 100, text=_latest_words(entry))
            else:
                st.caption(_latest_words(entry))
            if done is not None and len(entry) == 1 and media.exists(done.thumb_path):
                st.image(media.source(done.thumb_path), width="stretch")  # its frame: it plays in the list
            elif len(entry) > 1 and done is not None:  # the frames of the takes made so far, in a row
                with st.container(horizontal=True, gap="small"):
                    for take in entry:
                        if take.status == Status.SUCCEEDED and take.pick != "discarded" and media.exists(take.thumb_path):
                            st.image(media.source(take.thumb_path), width=96)
            elif not active and entry[0].status != Status.SUCCEEDED:
                failure_note(entry[0])
            st.caption(":material/arrow_downward: The list below the settings has it, to play, download or remix.")
        st.html(_SHOW_NEW % {"newest": max(g.id for g in entry), "active": int(bool(active))}, unsafe_allow_javascript=True)

    latest()


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
            st.caption(being_made(active, "video", key_refused(connection)))
        for entry in entries[:OPEN]:
            _entry(entry, media, held, actions, service, busy)
        older = entries[OPEN:]
        if older:
            with st.expander(f"{len(older)} earlier", icon=":material/history:"):
                for entry in older:
                    _entry(entry, media, held, actions, service, busy)
                st.caption("Everything made is in the **Library**.")
        if busy and not active:
            catch_up()  # everything ended: let the page (and its fragment timer) catch up

    panel()
