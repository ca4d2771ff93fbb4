"""Generate: a prompt and its settings in, videos out."""

from __future__ import annotations

import streamlit as st

from components.resources import credits_left
from components.task_panel import TASKS_KEY, task_panel
from grsai_api import MAX_PROMPT_CHARS, GrsaiError, InvalidRequestError
from studio.generation import submit_video

connection = st.session_state["connection"]
config = st.session_state["config"]

st.title("Generate")
st.caption("Describe a scene; Sora 2 turns it into a 10 or 15 second video.")

form, results = st.columns([1, 1], gap="large")
with form:
    prompt = st.text_area(
        "Prompt",
        key="generate_prompt",
        height=160,
        max_chars=MAX_PROMPT_CHARS,
        placeholder="A bottle of sparkling lemonade on a sunny café table, slow push-in, shallow depth of field",
    )
    prompt_error = st.empty()
    left, right = st.columns(2)
    aspect_ratio = left.segmented_control(
        "Aspect ratio",
        ["16:9", "9:16"],
        default="16:9",
        required=True,
        key="generate_aspect_ratio",
        format_func={"16:9": ":material/crop_16_9: 16:9", "9:16": ":material/crop_portrait: 9:16"}.get,
        help="16:9 is landscape (YouTube, web); 9:16 is portrait (Reels, TikTok, Shorts).",
    )
    duration = right.segmented_control(
        "Duration",
        [10, 15],
        default=10,
        required=True,
        key="generate_duration",
        format_func=lambda s: f"{s} s",
    )
    left, right = st.columns(2)
    size = left.segmented_control(
        "Size",
        ["small", "large"],
        default="small",
        required=True,
        key="generate_size",
        format_func=str.title,
        help="Small is 640×360 (or 360×640); large is 1280×720 (or 720×1280).",
    )
    settings_error = st.empty()
    if st.button("Generate", type="primary", icon=":material/auto_awesome:", width="stretch"):
        params = {"prompt": prompt, "aspect_ratio": aspect_ratio, "duration": duration, "size": size}
        try:
            tracked = submit_video(connection, params)
        except InvalidRequestError as exc:
            slot = prompt_error if exc.field in (None, "prompt") else settings_error
            slot.error(exc.message, icon=":material/error:")
        except GrsaiError as exc:
            settings_error.error(f"The video was not started: {exc}", icon=":material/error:")
        else:
            st.session_state[TASKS_KEY].append(tracked)
            credits_left.clear()
            st.toast("Started: you can watch it on the right.", icon=":material/hourglass_top:")

with results:
    task_panel(connection, config.media_dir)
