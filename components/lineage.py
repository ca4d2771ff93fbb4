"""A video's family line: the originals above it and the remixes made from it."""

from __future__ import annotations

import streamlit as st

from studio.db import Generation, Store

from .text import plain


def _link(generation: Generation, current: bool) -> str:
    text = plain(generation.prompt, 48)
    return f"**{text}**" if current else f"[{text}](/library?generation={generation.id})"


def lineage(store: Store, generation: Generation) -> None:
    """Original → remix → remix of remix, down to this video, then what was remixed from it."""
    chain = [*store.ancestors(generation), generation]
    children = store.children(generation.pid) if generation.pid else []
    if len(chain) == 1 and not children:
        return
    st.caption("Family")
    st.markdown("  →  ".join(_link(g, g.id == generation.id) for g in chain))
    if children:
        noun = "remix" if len(children) == 1 else "remixes"
        st.caption(f"{len(children)} {noun} of this video: " + " · ".join(_link(c, False) for c in children))
