"""Generate N, keep the best: the N made of one prompt at once, drawn as one group while they are
made and after, each kept or discarded (a discarded one's files leave the media store for good);
and, in the Library, the siblings of one of them. Used by Generate, Images and the Library."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import streamlit as st

from studio.costs import credits_text
from studio.db import Generation, Status, Store
from studio.generation import GenerationService
from studio.library import STATUS_LABELS
from studio.media import MediaStore

from .text import plain
from .video import clock, facts, failure_note, status_badge

log = logging.getLogger(__name__)
PROGRESS_WORDS = {
    Status.QUEUED: "waiting to be sent",
    Status.SUBMITTING: "sending",
    Status.SAVING: "saving",
}
DISCARD_HELP = "Removes its file from the media store for good (its cost stays: it was paid)."


def progress_words(generation: Generation) -> str:
    """What an active one is doing, in words: "waiting to be sent", "sending", "40%", "saving"."""
    return PROGRESS_WORDS.get(Status(generation.status), f"{generation.progress}%")


def in_groups(rows: Sequence[Generation], limit: int) -> list[list[Generation]]:
    """Newest-first rows as a list's entries, at most ``limit``: one row alone, or the rows made of
    one prompt at once together (in the order they were asked for), where the newest of them is."""
    entries: list[list[Generation]] = []
    groups: dict[str, list[Generation]] = {}
    for row in rows:
        if row.group_key is None:
            entries.append([row])
        elif row.group_key in groups:
            groups[row.group_key].insert(0, row)
        else:
            groups[row.group_key] = [row]
            entries.append(groups[row.group_key])
    return entries[:limit]


def _choose(choice: Callable[[int], bool], generation_id: int) -> None:
    """Keep or discard (a button's callback, run before the page: a failure is said in a toast)."""
    try:
        choice(generation_id)
    except Exception:  # noqa: BLE001 - a callback's failure must never reach the page as a traceback
        log.exception("keep or discard of %s failed", generation_id)
        st.toast("That did not work: try again in a moment.", icon=":material/error:")


def _discard_rest(service: GenerationService, group_key: str) -> None:
    try:
        gone = service.discard_rest(group_key)
    except Exception:  # noqa: BLE001 - as above
        log.exception("discarding the rest of %s failed", group_key)
        st.toast("That did not work: try again in a moment.", icon=":material/error:")
        return
    if gone:
        st.toast(f"Discarded {len(gone)}: {'its file is' if len(gone) == 1 else 'their files are'} removed.")


def _member(
    generation: Generation,
    service: GenerationService,
    show: Callable[[Generation], None],
    actions: dict[str, Callable[[int], object]],
) -> None:
    with st.container(key=f"member_{generation.id}"):
        if generation.pick == "discarded":
            st.caption(":material/delete: Discarded · file removed")
            return
        with st.container(horizontal=True):
            status_badge(generation)
            if generation.pick == "kept":
                st.badge("Kept", icon=":material/favorite:", color="violet")
        if Status(generation.status).is_active:
            st.progress(
                generation.progress / 100,
                text=f"{progress_words(generation)} · {clock(generation.elapsed)} elapsed",
            )
            if generation.status == Status.QUEUED and "cancel" in actions and st.button(
                "Cancel", key=f"cancel_{generation.id}", icon=":material/cancel:", type="tertiary"
            ):
                actions["cancel"](generation.id)
            return
        if generation.status != Status.SUCCEEDED:
            failure_note(generation)
            if generation.status == Status.UNKNOWN and "resend" in actions and st.button(
                "Send again…", key=f"resend_{generation.id}", icon=":material/send:"
            ):
                actions["resend"](generation.id)
            return
        show(generation)
        st.caption(f"made in {clock(generation.elapsed)} · {credits_text(generation.cost)}")
        if generation.pick == "kept":
            return
        with st.container(horizontal=True, gap="small"):  # side by side where they fit (labels only: narrow)
            st.button(
                "Keep",
                key=f"keep_{generation.id}",
                type="primary",
                on_click=_choose,
                args=(service.keep, generation.id),
            )
            st.button(
                "Discard",
                key=f"discard_{generation.id}",
                help=DISCARD_HELP,
                on_click=_choose,
                args=(service.discard, generation.id),
            )


def keep_best_group(
    members: Sequence[Generation],
    service: GenerationService,
    *,
    show: Callable[[Generation], None],
    actions: dict[str, Callable[[int], object]] | None = None,
) -> None:
    """One bordered group for the N made of one prompt at once: the prompt once, then each as it
    finishes (``show`` draws a finished one's video or images), with Keep and Discard; once one is
    kept, "Discard the rest". ``actions``: optional cancel / resend, taking a generation id."""
    first = members[0]
    with st.container(border=True, key=f"keep_best_{first.id}"):
        st.caption(f":material/filter_none: {len(members)} of one prompt · keep the best")
        st.markdown(f"**{plain(first.prompt, 160)}**")
        st.caption(facts(first))
        for start in range(0, len(members), 2):
            for column, member in zip(st.columns(2), members[start : start + 2], strict=False):
                with column:
                    _member(member, service, show, actions or {})
        undecided = [m for m in members if m.status == Status.SUCCEEDED and m.pick is None]
        if undecided and any(m.pick == "kept" for m in members):
            st.button(
                "Discard the rest",
                key=f"discard_rest_{first.id}",
                icon=":material/delete_sweep:",
                help=f"Removes the {len(undecided)} not kept from the media store for good.",
                on_click=_discard_rest,
                args=(service, first.group_key),
            )


def _pick_words(generation: Generation) -> str:
    if generation.pick == "discarded":
        return "Discarded · file removed"
    words = STATUS_LABELS.get(generation.status, generation.status)
    return f"{words} · kept" if generation.pick == "kept" else words


def made_with_it(store: Store, media: MediaStore, generation: Generation, open_one: Callable[[int], None]) -> None:
    """The Library's detail of one of N made at once: the others, each with its thumbnail (while
    it has one), what became of it, and a button that opens it."""
    if not generation.group_key:
        return
    if generation.pick == "discarded":
        st.caption(":material/delete: Discarded · file removed")
    siblings = [g for g in store.group_members(generation.group_key) if g.id != generation.id]
    if not siblings:
        return
    st.markdown(f"**Made with it** · {len(siblings) + 1} of one prompt")
    for sibling in siblings:
        picture, words, action = st.columns([1, 2, 1], vertical_alignment="center")
        if media.exists(sibling.thumb_path):
            picture.image(media.source(sibling.thumb_path), width=72)
        else:
            picture.caption(":material/hide_image:")
        words.caption(f"#{sibling.id} · {_pick_words(sibling)}")
        if action.button("Open", key=f"library_sibling_{sibling.id}", icon=":material/open_in_new:"):
            open_one(sibling.id)
            st.rerun()
