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

from .character_names import as_named
from .text import plain
from .video import clock, facts, failure_note, status_badge

log = logging.getLogger(__name__)
PROGRESS_WORDS = {
    Status.QUEUED: "waiting to be sent",
    Status.SUBMITTING: "sending",
    Status.SAVING: "saving",
}
DISCARD_HELP = "Removes its file from the media store for good (its cost stays: it was paid)."
CONFIRM_DISCARD = "keep_best_confirm_discard"  # the group whose "Discard the rest" waits for a yes


def take_name(number: int) -> str:
    """How one of N made at once is called on every page: "Take 2"."""
    return f"Take {number}"


def _names(numbers: Sequence[int]) -> str:
    names = [take_name(n) for n in numbers]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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


@st.dialog("Discard the rest?", on_dismiss=lambda: st.session_state.pop(CONFIRM_DISCARD, None))
def _confirm_discard_rest(service: GenerationService, members: Sequence[Generation]) -> None:
    """Files removed for good are asked about first, by name: which takes go, which stay."""
    going = [n for n, m in enumerate(members, 1) if m.status == Status.SUCCEEDED and m.pick is None]
    kept = [n for n, m in enumerate(members, 1) if m.pick == "kept"]
    cost = sum(members[n - 1].cost for n in going)
    st.markdown(
        f"{_names(going)} of “{plain(members[0].prompt, 80)}” will be deleted: "
        f"{'its file leaves' if len(going) == 1 else 'their files leave'} the media store for good "
        f"and cannot be brought back. The {credits_text(cost)} {'it' if len(going) == 1 else 'they'} "
        "cost stay spent."
    )
    if kept:
        st.markdown(f"{_names(kept)}, kept, stays.")
    left, right = st.columns(2)
    if left.button(
        f"Discard {len(going)} take{'s' if len(going) != 1 else ''}",
        type="primary",
        icon=":material/delete_sweep:",
        width="stretch",
    ):
        st.session_state.pop(CONFIRM_DISCARD, None)
        _discard_rest(service, members[0].group_key)
        st.rerun()
    if right.button("Cancel", width="stretch"):
        st.session_state.pop(CONFIRM_DISCARD, None)
        st.rerun()


def _member(
    generation: Generation,
    take: int,
    service: GenerationService,
    show: Callable[[Generation], None],
    actions: dict[str, Callable[[int], object]],
) -> None:
    with st.container(key=f"member_{generation.id}"):
        if generation.pick == "discarded":
            st.caption(f"**{take_name(take)}** · :material/delete: Discarded · file removed")
            return
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{take_name(take)}**", width="content")
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
        st.markdown(f"**{plain(as_named(first.prompt), 160)}**")
        st.caption(facts(first))
        for start in range(0, len(members), 2):
            columns = st.columns(2)
            for offset, (column, member) in enumerate(zip(columns, members[start : start + 2], strict=False)):
                with column:
                    _member(member, start + offset + 1, service, show, actions or {})
        undecided = [m for m in members if m.status == Status.SUCCEEDED and m.pick is None]
        if undecided and any(m.pick == "kept" for m in members):
            if st.button(
                "Discard the rest",
                key=f"discard_rest_{first.id}",
                icon=":material/delete_sweep:",
                help=f"Asks first, then removes the {len(undecided)} not kept from the media store for good.",
            ):
                st.session_state[CONFIRM_DISCARD] = first.group_key
            if st.session_state.get(CONFIRM_DISCARD) == first.group_key:
                _confirm_discard_rest(service, members)


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
    members = store.group_members(generation.group_key)
    siblings = [(n, g) for n, g in enumerate(members, 1) if g.id != generation.id]
    if not siblings:
        return
    this = next((n for n, g in enumerate(members, 1) if g.id == generation.id), None)
    st.markdown(
        f"**Made with it** · {len(members)} of one prompt" + (f", this is {take_name(this)}" if this else "")
    )
    for number, sibling in siblings:
        picture, words, action = st.columns([1, 2, 1], vertical_alignment="center")
        if media.exists(sibling.thumb_path):
            picture.image(media.source(sibling.thumb_path), width=72)
        else:
            picture.caption(":material/hide_image:")
        words.caption(f"{take_name(number)} · #{sibling.id} · {_pick_words(sibling)}")
        if action.button("Open", key=f"library_sibling_{sibling.id}", icon=":material/open_in_new:"):
            open_one(sibling.id)
            st.rerun()
