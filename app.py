"""The GrsAI video studio: a router. Pages live in app_pages/, shared pieces in components/."""

from __future__ import annotations

import streamlit as st

from components.guard import show_failure
from components.icon import favicon
from components.login import signed_in
from components.phone import close_sidebar_after_navigation
from components.resources import connection, read_balance_again, store, task_engine
from components.session import init_session
from components.sidebar import render_sidebar
from components.theme import apply_theme

st.set_page_config(page_title="GrsAI studio", page_icon=favicon(), layout="wide")
init_session()
apply_theme()
if not signed_in():  # a team server asks who is there first (components/login.py)
    st.stop()

presenting = bool(st.query_params.get("present"))  # a link ?present=… opens Present mode
page = st.navigation(
    [
        st.Page("app_pages/generate.py", title="Generate", icon=":material/movie:", default=not presenting),
        st.Page("app_pages/images.py", title="Images", icon=":material/image:"),
        st.Page("app_pages/remix.py", title="Remix", icon=":material/auto_fix_high:"),
        st.Page("app_pages/characters.py", title="Characters", icon=":material/face:"),
        st.Page("app_pages/batch.py", title="Batch", icon=":material/dataset:"),
        st.Page("app_pages/storyboard.py", title="Storyboard", icon=":material/movie_edit:"),
        st.Page("app_pages/brand_kit.py", title="Brand kit", icon=":material/palette:"),
        st.Page("app_pages/library.py", title="Library", icon=":material/video_library:"),
        st.Page("app_pages/insights.py", title="Insights", icon=":material/insights:"),
        st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
        st.Page("app_pages/present.py", title="Present", icon=":material/slideshow:", url_path="present",
                visibility="hidden", default=presenting),
    ]
)
current = connection()
st.session_state["connection"] = current
read_balance_again()  # the last run queued work: this run's figures all come from one new reading
try:
    task_engine().hold(current)  # the engine sends and follows this account's work with this key
    page.run()
    close_sidebar_after_navigation(page.url_path)
except Exception:  # noqa: BLE001 - a page's bug must never show a traceback to the person using it
    show_failure(f"page {page.title}")
# The sidebar comes after the page, so it shows what this run queued; it is guarded the same way.
with st.sidebar:
    try:
        render_sidebar(current, store())
    except Exception:  # noqa: BLE001 - the sidebar must never show a traceback either
        show_failure("the sidebar")
