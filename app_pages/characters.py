"""Characters (Cameo): make a character from a clip or an earlier video, then use it by @mention."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.feedback import send
from components.resources import balance_changed, character_service, connection, media, model_board, store
from components.session import handoff, keep_a_choice, request_key, take_handoff, toast_later
from components.span_picker import span_picker
from components.text import plain
from components.video import clock
from components.video_picker import video_picker
from grsai_api import character_model
from studio.characters import CharacterNames, with_mention
from studio.clips import MAX_CLIP_BYTES, ClipError, download_clip, probe
from studio.costs import character_cost, credits_text
from studio.db import LibraryFilter, Status
from studio.messages import explain_failure

take_handoff("characters")
conn, library, files = connection(), store(), media()
service = character_service()
COLUMNS = 3
PICKER_SIZE = 8  # videos offered at once; the search finds older ones


FORM = (  # what one character's form holds: emptied once it is made, ready for the next
    "characters_clip_url",
    "characters_loaded",
    "characters_clip_start",
    "characters_clip_length",
    "characters_clip_label",
    "characters_source_id",
    "characters_video_start",
    "characters_video_length",
    "characters_video_label",
)


def clear_form() -> None:
    for key in FORM:
        st.session_state.pop(key, None)
    # an uploader cannot be emptied by its state: a new key gives a new, empty one
    st.session_state["characters_uploads"] = st.session_state.get("characters_uploads", 0) + 1


def create(action, slot) -> None:
    """Send one character request; show what went wrong next to the form, or start watching it."""
    character = send(action, slot, what="make this character")
    if character is not None:
        balance_changed()
        clear_form()
        toast_later("Making your character: it appears in the gallery below")
        st.rerun()


def create_button(key: str) -> bool:
    """The one "Create character" button of each way to make one, with its price."""
    return st.button(
        f"Create character · {credits_text(character_cost())}",
        type="primary",
        icon=":material/face:",
        key=key,
        disabled=sora_down,
    )


st.title("Characters")
st.caption("Cameo: make a character once from a short clip, then put it in any video by its @name.")
sora_down = model_board(conn).is_down(character_model())
if sora_down:
    st.error(
        f"{model_board(conn).why_down(character_model())}, and characters (Cameo) are Sora 2's, so none can be made "
        "now. Your saved characters stay here for when it is back.",
        icon=":material/cloud_off:",
    )
st.info(
    "**No real people.** Use clips of animals, toys, mascots, drawings or made-up figures: the service "
    "refuses clips of real people. A character comes from at most 3 seconds of a clip.",
    icon=":material/policy:",
)

from_clip, from_video = st.tabs(
    ["From a clip", "From one of your videos"],
    default="From one of your videos" if st.session_state.get("characters_source_id") else None,
)
with from_clip:
    way = st.segmented_control(
        "The clip",
        keep_a_choice("characters_clip_way", ["Upload a file", "Web address"]),
        required=True,
        key="characters_clip_way",
    )
    clip, clip_url = None, None
    clip_slot = st.empty()
    if way == "Upload a file":
        upload = st.file_uploader(
            f"Video clip (MP4, MOV or WebM, up to {MAX_CLIP_BYTES // 2**20} MB)",
            type=["mp4", "mov", "webm", "m4v"],
            key=f"characters_upload{st.session_state.get('characters_uploads') or ''}",
            max_upload_size=MAX_CLIP_BYTES // 2**20,
        )
        if upload is not None:
            clip = upload.getvalue()
    else:
        url = st.text_input("Clip address", key="characters_clip_url", placeholder="https://…/clip.mp4")
        if st.button("Load clip", icon=":material/download:", disabled=not url):
            try:
                st.session_state["characters_loaded"] = (
                    url.strip(),
                    download_clip(url, allow_local=conn.is_local),
                )
            except ClipError as exc:
                clip_slot.error(str(exc), icon=":material/error:")
        loaded = st.session_state.get("characters_loaded")
        if loaded and loaded[0] == (url or "").strip():
            clip_url, clip = loaded
    if clip is not None:
        try:
            info = probe(clip)
        except ClipError as exc:
            clip_slot.error(str(exc), icon=":material/error:")
        else:
            whole, span = st.columns(2, gap="large")
            with whole:
                st.caption(f"The whole clip · {clock(info.duration)} · {info.width}×{info.height}")
                st.video(clip)
            with span:
                start, end = span_picker(clip, info.duration, "characters_clip")
            label = st.text_input(
                "Name", key="characters_clip_label", placeholder="e.g. Mascot in a red hat", max_chars=120
            )
            slot = st.empty()
            if create_button("characters_create_clip"):
                key = request_key(
                    "characters", "clip", clip_url or hashlib.sha256(clip).hexdigest(), start, end, label
                )
                create(
                    lambda: service.from_clip(clip, start, end, label=label, url=clip_url, request_key=key),
                    slot,
                )

with from_video:
    chosen_id = st.session_state.get("characters_source_id")
    chosen = library.get(chosen_id) if chosen_id else None
    if chosen is not None and chosen.pid:  # the form first: a video chosen in the Library lands here
        st.markdown(f"**From:** {plain(chosen.prompt)}")
        span, form = st.columns([3, 2], gap="large")  # side by side on a wide screen, so Create stays in view
        with span:
            if files.exists(chosen.video_path):
                clip_of_video = files.read(chosen.video_path)
                start, end = span_picker(clip_of_video, probe(clip_of_video).duration, "characters_video")
            else:
                start, end = 0.0, 3.0
                st.caption("The video file is not here, so the first 3 seconds are used.")
        with form:
            label = st.text_input(
                "Name",
                key="characters_video_label",
                placeholder="e.g. The fox from the snow video",
                max_chars=120,
            )
            slot = st.empty()
            if create_button("characters_create_video"):
                key = request_key("characters", "video", chosen.id, start, end, label)
                create(lambda: service.from_video(chosen.id, start, end, label=label, request_key=key), slot)
    with st.expander(
        "Choose another video" if chosen is not None else "Choose the video",
        expanded=chosen is None,
        icon=":material/video_library:",
    ):
        search = st.text_input(
            "Find a video",
            key="characters_search",
            placeholder="Words in its prompt, or its pid",
            icon=":material/search:",
        )
        found, matching = library.search(
            LibraryFilter(text=search or "", statuses=(Status.SUCCEEDED,), models=(character_model(),)), limit=PICKER_SIZE
        )
        if not found:
            st.caption(
                "No finished Sora 2 videos match."
                if search
                else "Your finished Sora 2 videos will appear here. Make one on **Generate** first."
            )
        video_picker(
            found,
            files,
            key="characters_choose",
            chosen=lambda video: video.id == chosen_id,
            on_pick=lambda video: st.session_state.update(characters_source_id=video.id),
        )
        if matching > len(found):
            st.caption(f"The newest {len(found)} of {matching} are shown: add words to find an older one.")

st.divider()
st.subheader("Your characters")
characters = library.characters()
names = CharacterNames((c for c in characters if c.status == Status.SUCCEEDED), account=conn.account)
if not characters:
    st.caption("None yet. Characters you make appear here, ready to use in prompts.")


def from_video_caption(character) -> str:
    """Which video a character was cut from, by its prompt: people know their videos, not their pids."""
    video = library.by_pid(character.source_pid) if character.source_pid else None
    if video is None:
        return f"From the video {plain((character.source_pid or '')[:12])}…"
    words = video.prompt if len(video.prompt) <= 40 else video.prompt[:40].rsplit(" ", 1)[0] + "…"
    return f"From “{plain(words)}”"


def rename(row_id: int, label: str) -> None:
    """Keep the new name, or put the old one back and say why beside the field."""
    key = f"characters_label_{row_id}"
    try:
        service.rename(row_id, st.session_state[key])
    except ClipError as exc:
        st.session_state[key] = label
        st.session_state["characters_rename_error"] = (row_id, str(exc))


for begin in range(0, len(characters), COLUMNS):
    for column, character in zip(st.columns(COLUMNS), characters[begin : begin + COLUMNS], strict=False):
        with column, st.container(border=True, key=f"character_{character.id}"):
            if files.exists(character.thumb_path):
                st.image(files.source(character.thumb_path), width="stretch")
            st.text_input(
                "Name",
                value=character.label,
                key=f"characters_label_{character.id}",
                on_change=rename,
                args=(character.id, character.label),
                label_visibility="collapsed",
            )
            refused = st.session_state.get("characters_rename_error")
            if refused and refused[0] == character.id:
                st.error(st.session_state.pop("characters_rename_error")[1], icon=":material/error:")
            if character.status == Status.SUCCEEDED:
                st.code(f"@{names.typed(character)}", language=None)  # what to type in a prompt
                if names.typed(character) != character.character_id:
                    st.caption(f"Sent as @{plain(character.character_id)}")
            elif character.status in (Status.QUEUED, Status.RUNNING, Status.SUBMITTING):
                st.progress(character.progress / 100, text=f"Being made · {character.progress}%")
                if character.error:
                    st.caption(f":material/info: {plain(character.error)}")
            elif character.status == Status.FAILED:
                st.error(explain_failure(character.failure_reason, character.error, character.cost), icon=":material/block:")
            else:
                st.warning(
                    "It is not known whether the service received this; it was not sent again.",
                    icon=":material/help:",
                )
            source = "From a clip" if character.source == "upload" else from_video_caption(character)
            span = character.timestamps.replace(",", "–")
            st.caption(f"{source} · {span} s · {character.created_at:%d %b %Y}")
            use, remove = st.columns([3, 1])
            if character.status == Status.SUCCEEDED and use.button(
                "Use in a prompt",
                key=f"characters_use_{character.id}",
                icon=":material/add_comment:",
                width="stretch",
            ):
                kept = st.session_state.get("_kept_generate_prompt") or ""
                handoff("generate", generate_prompt=with_mention(kept, names.typed(character)))
                st.switch_page("app_pages/generate.py")
            if st.session_state.get("characters_confirm_delete") == character.id:
                st.warning("Delete this character? Prompts that name it will no longer find it.")
                yes, no = st.columns(2)
                if yes.button("Yes, delete", key=f"characters_yes_{character.id}", type="primary"):
                    service.delete(character.id)
                    st.session_state.pop("characters_confirm_delete", None)
                    st.rerun()
                if no.button("Keep", key=f"characters_no_{character.id}"):
                    st.session_state.pop("characters_confirm_delete", None)
                    st.rerun()
            elif remove.button(
                "",
                key=f"characters_delete_{character.id}",
                icon=":material/delete:",
                help="Delete this character",
                width="stretch",
            ):
                st.session_state["characters_confirm_delete"] = character.id
                st.rerun()
