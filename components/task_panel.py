"""This session's videos on Generate: progress while they are made, the video when done.

Redrawn from the store by a fragment while anything is running; the sidebar's tracker does the
polling, so this never talks to the service."""

from __future__ import annotations

import streamlit as st

from studio.media import MediaStore
from studio.store import Generation, Store

from .session import SHOWN, handoff, show_toasts, unwatch
from .tracker import ERRORS
from .video import clock, download_button, facts, failure_note, status_badge, video_player

REDRAW_SECONDS = 1.0  # reads the store only; the sidebar's tracker does the polling


def _card(generation: Generation, media: MediaStore, poll_error: str | None) -> None:
    with st.container(border=True, key=f"card_{generation.id}"):
        status_badge(generation)
        st.markdown(f"**{generation.prompt[:160]}{'…' if len(generation.prompt) > 160 else ''}**")
        if generation.status in ("running", "submitting"):
            st.progress(
                generation.progress / 100,
                text=f"{generation.progress}% · {clock(generation.elapsed)} elapsed · {facts(generation)}",
            )
            if poll_error:
                st.caption(
                    f":material/wifi_off: Can't reach the service right now; still trying. ({poll_error})"
                )
            if st.button(
                "Stop watching",
                key=f"stop_{generation.id}",
                icon=":material/visibility_off:",
                type="tertiary",
                help="It goes on being made; you will find it in the Library.",
            ):
                st.session_state["stop_watching"] = generation.id
                st.rerun()
            return
        if generation.status == "succeeded":
            video_player(generation, media)
            st.caption(
                f"{facts(generation)} · made in {clock(generation.elapsed)} · {generation.cost:.2f} credits · pid"
            )
            st.code(generation.pid or "", language=None)
            left, right = st.columns(2)
            with left:
                download_button(generation, media, key=f"download_{generation.id}")
            if right.button("Remix this", key=f"remix_{generation.id}", icon=":material/auto_fix_high:"):
                handoff("generate", generate_remix_pid=generation.pid, generate_prompt=generation.prompt)
                st.rerun()
            return
        failure_note(generation)
        if st.button("Use this prompt again", key=f"again_{generation.id}", icon=":material/undo:"):
            handoff("generate", generate_prompt=generation.prompt)
            st.rerun()


def task_panel(store: Store, media: MediaStore) -> None:
    stopped = st.session_state.pop("stop_watching", None)
    if stopped is not None:
        store.stop_watching(stopped)
        unwatch(stopped)
        st.session_state[SHOWN].remove(stopped)
    show_toasts()
    shown = store.get_many(st.session_state[SHOWN])
    busy = any(g.status in ("running", "submitting") for g in shown)

    @st.fragment(run_every=REDRAW_SECONDS if busy else None)
    def panel() -> None:
        generations = sorted(store.get_many(st.session_state[SHOWN]), key=lambda g: g.id, reverse=True)
        running = sum(g.status == "running" for g in generations)
        if not generations:
            st.info(
                "Your videos will appear here. Write a prompt and press **Generate**.",
                icon=":material/movie:",
            )
        elif running:
            noun = "video is" if running == 1 else "videos are"
            st.caption(f"{running} {noun} being made")
        errors = st.session_state.get(ERRORS, {})
        for generation in generations:
            _card(generation, media, errors.get(generation.id))

    panel()
