"""The live list of this session's videos: progress while they are made, the video when done.

A fragment polls every running task together and switches itself off when none is left.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio.connection import Connection
from studio.messages import explain_failure
from studio.tracking import TrackedTask, refresh

POLL_SECONDS = 1.5
TASKS_KEY = "generate_tasks"
TOASTS_KEY = "pending_toasts"


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def _draw(task: TrackedTask) -> None:
    with st.container(border=True):
        st.markdown(f"**{task.prompt[:140]}{'…' if len(task.prompt) > 140 else ''}**")
        p = task.params
        facts = f"{p.get('aspect_ratio')} · {p.get('duration')} s · {p.get('size')}"
        if task.status == "running":
            st.progress(
                task.progress / 100, text=f"{task.progress}% · {_clock(task.elapsed)} elapsed · {facts}"
            )
            if task.poll_error:
                st.caption(
                    f":material/wifi_off: Can't reach the service right now; still trying. ({task.poll_error})"
                )
        elif task.status == "succeeded" and task.video_path:
            st.video(task.video_path)
            st.caption(f"{facts} · made in {_clock(task.elapsed)} · pid `{task.pid}`")
            st.download_button(
                "Download MP4",
                Path(task.video_path).read_bytes(),
                file_name=f"{task.pid or task.id}.mp4",
                mime="video/mp4",
                icon=":material/download:",
                key=f"download_{task.id}",
            )
        else:
            st.error(explain_failure(task.failure_reason, task.error), icon=":material/block:")


def task_panel(connection: Connection, media_dir: Path) -> None:
    for message in st.session_state.pop(TOASTS_KEY, []):
        st.toast(message, icon=":material/movie:")
    tasks: list[TrackedTask] = st.session_state.setdefault(TASKS_KEY, [])
    active = any(t.status == "running" for t in tasks)

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def live_tasks() -> None:
        finished = refresh(connection, tasks, media_dir) if active else []
        running = sum(t.status == "running" for t in tasks)
        if not tasks:
            st.info(
                "Your videos will appear here. Write a prompt and press **Generate**.",
                icon=":material/movie:",
            )
        elif running:
            noun = "video is" if running == 1 else "videos are"
            st.caption(f"{running} {noun} being made")
        for task in reversed(tasks):
            _draw(task)
        if finished:
            st.session_state[TOASTS_KEY] = [
                "Your video is ready" if t.status == "succeeded" else "A video could not be made"
                for t in finished
            ]
            st.rerun()  # once: the rest of the page catches up and the timer switches off when idle

    live_tasks()
