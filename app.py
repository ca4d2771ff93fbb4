"""The Sora 2 playground: a router. Pages live in pages/, shared pieces in components/."""

from __future__ import annotations

import streamlit as st

from components.resources import app_config, connection
from components.sidebar import render_sidebar
from components.task_panel import TASKS_KEY

st.set_page_config(page_title="Sora 2 Playground", page_icon=":material/movie:", layout="wide")

st.session_state.setdefault(TASKS_KEY, [])

page = st.navigation([st.Page("pages/generate.py", title="Generate", icon=":material/movie:", default=True)])
st.session_state["connection"] = connection()
st.session_state["config"] = app_config()
render_sidebar(
    st.session_state["connection"], sum(t.status == "running" for t in st.session_state[TASKS_KEY])
)
page.run()
