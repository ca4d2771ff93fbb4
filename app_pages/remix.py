"""Remix: an earlier video's look with a new prompt, then the two side by side."""

from __future__ import annotations

import streamlit as st

from components.feedback import send
from components.guard import guarded
from components.lineage import lineage
from components.prompt_help import prompt_help
from components.resources import balance_changed, connection, generation_service, media, model_board, store
from components.session import catch_up, keep_a_choice, request_key, take_handoff
from components.text import plain
from components.video import clock, failure_note, play_in_sync, video_player
from components.video_picker import video_picker
from grsai_api import MODELS, InvalidRequestError, check_pid, remix_model
from studio.costs import credits_text, price
from studio.db import ACTIVE, LibraryFilter, Status

take_handoff("remix")
conn, library, files = connection(), store(), media()
SIDE_BY_SIDE = "remix_side_by_side"  # the container whose two videos play in sync
# Offered on "Use an example", never shown grey in the field as if it were written.
EXAMPLE_PROMPT = "The same scene, but at night in a snowstorm"


def choose(pid: str) -> None:
    st.session_state["remix_source_pid"] = pid
    st.session_state.pop("remix_result_id", None)


st.title("Remix")
st.caption(
    "A remix keeps the look of an earlier video (its palette and layout) and tells a new story with it."
)

sora_down = model_board(conn).is_down(remix_model())
if sora_down:
    st.error(
        f"{model_board(conn).why_down(remix_model())}, and remixes are made by Sora 2 only, so nothing can be "
        "sent from here. On **Generate**, Veo 3.1 can start a new video from an image of the old one.",
        icon=":material/cloud_off:",
    )

source_pid = st.session_state.get("remix_source_pid")
source = library.by_pid(source_pid) if source_pid else None
# the catalogue says which models a remix can be made of; a storyboard's film has no pid to remix
remixable = [m for m in MODELS.values() if m.remix and m.kind == "video"]
remixable_names = " or ".join(sorted({m.family for m in remixable})) or "remixable"

chooser = (
    "Choose the video to remix"
    if source_pid is None
    else f"Remixing “{plain(source.prompt, 48) if source else source_pid}” · choose another"
)
with st.expander(chooser, expanded=source_pid is None, icon=":material/video_library:"):
    search = st.text_input(
        "Find a video", key="remix_search", placeholder="Words in its prompt", icon=":material/search:"
    )
    found, _ = library.search(
        LibraryFilter(
            text=search or "",
            statuses=(Status.SUCCEEDED,),
            models=tuple(m.id for m in remixable),
            kinds=("text", "image", "remix"),
        ),
        limit=8,
    )
    found = [video for video in found if video.pid]  # a remix names its original by pid
    if not found:
        st.caption(f"No finished {remixable_names} videos match. Make one on **Generate** first.")
    video_picker(
        found,
        files,
        key="remix_pick",
        chosen=lambda video: source_pid is not None and video.pid == source_pid,
        on_pick=lambda video: choose(video.pid),
        label="Remix this one",
        chosen_label="Remix this one",
    )
    pasted = st.text_input(
        "…or paste a pid",
        key="remix_pasted",
        placeholder="s_…",
        help="Every finished Sora video has a pid: s_ and 32 characters.",
    )
    if st.button("Use this pid", disabled=not pasted):
        try:
            choose(check_pid(pasted, "remix_target_id"))
            st.rerun()
        except InvalidRequestError as exc:
            st.error(exc.message, icon=":material/error:")


def remix_form(source_pid: str, source) -> None:
    """The new prompt and its button, then right under it the original beside the remix: the
    result lands where the person is looking, and the original is drawn once."""

    st.subheader("Your remix")
    prompt = st.text_area(
        "New prompt",
        key="remix_prompt",
        height=100,
        max_chars=5000,
        placeholder="Say what changes: the place, the time of day, the weather, the style",
    )
    prompt_help("remix_prompt", MODELS[remix_model()], key="remix", example=EXAMPLE_PROMPT)
    ratio_column, duration_column, button_column = st.columns([1, 1, 2], vertical_alignment="bottom")
    aspect_ratio = ratio_column.segmented_control(
        "Aspect ratio",
        keep_a_choice("remix_aspect_ratio", ["16:9", "9:16"], source.aspect_ratio if source else "16:9"),
        required=True,
        key="remix_aspect_ratio",
        format_func={"16:9": ":material/crop_16_9: 16:9", "9:16": ":material/crop_portrait: 9:16"}.get,
    )
    duration = duration_column.segmented_control(
        "Duration",
        keep_a_choice("remix_duration", [10, 15], source.duration if source else 10),
        required=True,
        key="remix_duration",
        format_func=lambda s: f"{s} s",
    )
    slot = st.empty()
    if button_column.button(
        f"Remix · {credits_text(price(remix_model()))}",
        type="primary",
        icon=":material/auto_fix_high:",
        width="stretch",
        disabled=sora_down,
    ):
        params = {
            "prompt": prompt,
            "aspect_ratio": aspect_ratio,
            "duration": duration,
            "size": source.size if source else "small",
            "remix_target_id": source_pid,
        }
        key = request_key("remix", source_pid, prompt, aspect_ratio, duration)
        remix = send(
            lambda: generation_service().submit(params, request_key=key), slot, what="start this remix"
        )
        if remix is not None:
            balance_changed()
            st.session_state["remix_result_id"] = remix.id
            st.toast("Remixing: it appears beside the original.", icon=":material/auto_fix_high:")

    result_id = st.session_state.get("remix_result_id")
    shown = library.get(result_id) if result_id is not None else None
    if shown is not None and shown.remix_target_id != source_pid:
        shown = None  # a remix of another video than the one shown here
    busy = shown is not None and shown.status in ACTIVE
    done = shown is not None and shown.status == Status.SUCCEEDED

    st.subheader("Side by side" if done else "Original")
    # side by side at every width (columns would stack on a phone and push the remix off screen)
    with st.container(key=SIDE_BY_SIDE, horizontal=True, gap="medium"):
        before, after = st.container(), st.container()
    with before:
        if done:
            st.caption("Original")
        if source is not None:
            video_player(source, files, autoplay=done)
            st.caption(plain(source.prompt))
            lineage(library, source)
        else:
            st.caption(f"`{source_pid}` is not in this library; the service will find it by its pid.")

    @st.fragment(run_every=1.0 if busy else None)
    @guarded
    def result() -> None:
        remix = library.get(result_id)
        if remix is None:
            return
        if remix.status in ACTIVE:
            st.progress(
                remix.progress / 100,
                text=f"Remixing · {remix.progress}% · {clock(remix.elapsed)} elapsed",
            )
            if remix.error:
                st.caption(f":material/info: {plain(remix.error)}")
            return
        if busy:  # it finished while this fragment watched: the whole page draws the side by side
            catch_up()
        if remix.status != Status.SUCCEEDED:
            failure_note(remix)
            return
        st.caption("Remix")
        video_player(remix, files, autoplay=True)
        st.caption("The remix's pid: paste it here to remix it again, or make a character from it.")
        st.code(remix.pid or "", language=None)

    with after:
        if shown is None:
            st.caption("Your remix appears here, beside the original, once you press Remix.")
        else:
            result()
    if done and source is not None and files.exists(source.video_path):
        play_in_sync(SIDE_BY_SIDE)
        st.caption("The two play together: pause or move either one and the other follows.")


if source_pid is None:
    st.info("Pick a video above to remix it.", icon=":material/auto_fix_high:")
else:
    remix_form(source_pid, source)  # no st.stop(): the sidebar is drawn after the page
