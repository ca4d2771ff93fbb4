"""The Sora 2 playground: a router. Pages live in app_pages/, shared pieces in components/."""

from __future__ import annotations

import streamlit as st

from components.resources import batch_runner, connection, media, store
from components.session import adopt_running, init_session
from components.sidebar import render_sidebar

st.set_page_config(page_title="Sora 2 Playground", page_icon=":material/movie:", layout="wide")
init_session()

page = st.navigation(
    [
        st.Page("app_pages/generate.py", title="Generate", icon=":material/movie:", default=True),
        st.Page("app_pages/remix.py", title="Remix", icon=":material/auto_fix_high:"),
        st.Page("app_pages/characters.py", title="Characters", icon=":material/face:"),
        st.Page("app_pages/batch.py", title="Batch", icon=":material/dataset:"),
        st.Page("app_pages/library.py", title="Library", icon=":material/video_library:"),
        st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
    ]
)
current = connection()
st.session_state["connection"] = current
if adopt_running(store(), current):
    batch_runner().resume_all(current)  # batches carry on after a restart, whichever page opens first
page.run()
# The sidebar comes after the page, so its poller sees what this run submitted.
render_sidebar(current, store(), media())
