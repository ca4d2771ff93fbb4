"""On a phone the sidebar that was opened to choose a page stays open over the page it opened and
takes the taps meant for it (Streamlit keeps the sidebar's state across pages: streamlit#12065, and
``initial_sidebar_state`` is not applied on navigation in 1.67). Once the page has changed, it is
closed, on narrow screens only: a wide screen keeps its sidebar as the person left it."""

from __future__ import annotations

import streamlit as st

NARROW = 768  # Streamlit's own breakpoint: below it the sidebar covers the page instead of sitting beside it
_KEY = "phone_last_page"

CLOSE_SIDEBAR = f"""<script>
(() => {{
  if (window.innerWidth >= {NARROW}) return;
  const bar = document.querySelector('[data-testid="stSidebar"]');
  const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (bar && close && bar.getBoundingClientRect().right > 0) close.click();
}})();
</script>"""


def close_sidebar_after_navigation(page: str) -> bool:
    """Close the sidebar on a phone when ``page`` is not the page of this session's last run (not on
    the first page a session opens, nor on a rerun of the same page). True when it was asked to."""
    last = st.session_state.get(_KEY)
    st.session_state[_KEY] = page
    if last is None or last == page:
        return False
    st.html(CLOSE_SIDEBAR, unsafe_allow_javascript=True)
    return True
