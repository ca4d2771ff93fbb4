"""Present: a set of results full-screen for a demo (a remix family, a storyboard, the takes of one
prompt, or two to four items to compare), one at a time or side by side, stepped with the buttons or
the ← → keys. Opened by a link, ``?present=<kind>:<id>``; nothing else is on screen."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.resources import media, store
from components.text import plain
from components.video import PORTRAIT_WIDTH, facts, play_in_sync
from studio.presenting import PresentError, presentation

SIDE_BY_SIDE = "present_side"
STAGE_WIDTH = 960  # one item at a time: wide, yet a 16:9 video and its controls fit a 900 px screen
PER_ROW = 4

# This page only: no header, no sidebar, the whole width (the style goes with the page).
FULL_SCREEN = """
<style>
header[data-testid="stHeader"], section[data-testid="stSidebar"],
[data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 1rem 1.5rem 1rem 1.5rem !important; max-width: 100% !important; }
</style>
"""
# ← and → press Previous and Next (Streamlit binds no keys); typing in a field is left alone. The
# script is a constant and listens once per browser tab.
STEP_KEYS = """
<script>
(() => {
  if (window.__studioPresentKeys) return;
  window.__studioPresentKeys = true;
  document.addEventListener('keydown', (event) => {
    const which = {ArrowLeft: 'present_previous', ArrowRight: 'present_next'}[event.key];
    if (!which || event.target.closest('input, textarea, [contenteditable="true"]')) return;
    const button = document.querySelector('.st-key-' + which + ' button');
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });
})();
</script>
"""

library, files = store(), media()
st.html(FULL_SCREEN)
value = st.query_params.get("present", "")


def show(generation, label: str, *, width: int | str) -> None:
    """One item: its picture(s) or video, and a line saying what it is."""
    if generation.makes == "image":
        pictures = files.present(generation.files)
        for item in pictures[:1] if width != "stretch" else pictures:
            st.image(files.source(item["path"]), width=width)
    elif files.exists(generation.video_path):
        portrait = generation.aspect_ratio in ("9:16", "portrait")
        st.video(
            files.source(generation.video_path),
            loop=True,
            width=min(PORTRAIT_WIDTH, width) if portrait and isinstance(width, int) else width,
        )
    else:
        st.warning("Its file is no longer in the media folder.", icon=":material/hide_source:")
    st.caption(f"**{label}** · {plain(generation.prompt, 140)} · {facts(generation)}",
               text_alignment="left" if width == "stretch" else "center")


def step(position_key: str, by: int, count: int) -> None:
    st.session_state[position_key] = (st.session_state.get(position_key, 0) + by) % count


try:
    shown = presentation(library, value)
except PresentError as exc:
    st.title("Present")
    st.error(str(exc), icon=":material/link_off:")
    st.page_link("app_pages/library.py", label="Open the Library", icon=":material/video_library:")
else:
    count = len(shown.items)
    position_key = "present_at_" + hashlib.sha1(value.encode()).hexdigest()[:10]
    position = min(st.session_state.get(position_key, 0), count - 1)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(f"**{plain(shown.title)}** · {count} item{'s' if count != 1 else ''}", width="stretch")
        side = st.toggle("Side by side", value=shown.kind == "compare", key=f"present_side_{value}")
        st.page_link("app_pages/library.py", label="Library", icon=":material/close:")
    if side:
        with st.container(key=SIDE_BY_SIDE):
            for start in range(0, count, PER_ROW):
                row = list(zip(shown.items, shown.labels, strict=True))[start : start + PER_ROW]
                for column, (generation, label) in zip(st.columns(min(count, PER_ROW)), row, strict=False):
                    with column:
                        show(generation, label, width="stretch")
        if shown.kind != "storyboard":  # takes, a family, a comparison: one scene, played together
            play_in_sync(SIDE_BY_SIDE)  # (a film and its shots are different lengths of one story)
    else:
        with st.container(horizontal_alignment="center", key="present_stage"):
            show(shown.items[position], shown.labels[position], width=STAGE_WIDTH)
        with st.container(horizontal=True, horizontal_alignment="center", vertical_alignment="center"):
            st.button("Previous", key="present_previous", icon=":material/arrow_back:", on_click=step,
                      args=(position_key, -1, count), disabled=count == 1)
            st.markdown(f"{position + 1} / {count}", width="content")
            st.button("Next", key="present_next", icon=":material/arrow_forward:", on_click=step,
                      args=(position_key, 1, count), disabled=count == 1)
        st.html(STEP_KEYS, unsafe_allow_javascript=True)
        # said only where there is a keyboard: a phone has the buttons above and no arrow keys
        st.html("<style>@media (pointer: coarse) { .st-key-present_keys { display: none; } }</style>")
        st.container(key="present_keys").caption("← and → step through them.", text_alignment="center")
