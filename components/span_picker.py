"""Choosing the ≤3 s span of a clip a character is made from: a start and a length, so no span the
service would refuse can be chosen, and a looping preview of exactly that span."""

from __future__ import annotations

import streamlit as st

from studio.clips import MAX_SPAN_SECONDS


def span_picker(clip: bytes | str, duration: float, key: str) -> tuple[float, float]:
    longest = round(min(MAX_SPAN_SECONDS, duration), 1)
    length = st.slider(
        "Length of the span (seconds)",
        0.5 if longest >= 0.5 else 0.1,
        longest,
        longest,
        step=0.1,
        key=f"{key}_length",
        help="The service takes at most 3 seconds of the clip.",
    )
    latest_start = max(0.0, round(duration - length, 1))
    start = st.slider(
        "Start at (seconds)",
        0.0,
        latest_start if latest_start > 0 else 0.1,
        0.0,
        step=0.1,
        key=f"{key}_start",
        disabled=latest_start <= 0,
    )
    start = min(start, latest_start)
    end = round(min(duration, start + length), 2)
    st.caption(f"The character is taken from **{start:.1f} s to {end:.1f} s** of a {duration:.1f} s clip.")
    st.video(
        clip,
        start_time=start,
        end_time=end,
        loop=True,
        autoplay=True,
        muted=True,
    )
    return start, end
