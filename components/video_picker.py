"""A grid of finished videos to pick one from, by thumbnail and prompt (people know their videos,
not their pids). Used where a page needs a source video: Remix, Characters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from studio.db import Generation
from studio.media import MediaStore

from .text import plain

COLUMNS = 4


def video_picker(
    videos: Sequence[Generation],
    files: MediaStore,
    *,
    key: str,
    chosen: Callable[[Generation], bool],
    on_pick: Callable[[Generation], None],
    label: str = "Choose",
    chosen_label: str = "Chosen",
) -> None:
    """One bordered card a video; its button (keyed ``{key}_{id}``) calls ``on_pick`` and reruns."""
    for begin in range(0, len(videos), COLUMNS):
        for column, video in zip(st.columns(COLUMNS), videos[begin : begin + COLUMNS], strict=False):
            with column, st.container(border=True):
                if files.exists(video.thumb_path):
                    st.image(files.source(video.thumb_path), width="stretch")
                st.caption(plain(video.prompt, 70))
                picked = chosen(video)
                st.button(
                    chosen_label if picked else label,
                    key=f"{key}_{video.id}",
                    on_click=on_pick,
                    args=(video,),
                    type="primary" if picked else "secondary",
                    icon=":material/check:" if picked else None,
                    width="stretch",
                )
