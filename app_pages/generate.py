"""Generate: a prompt and its settings in, videos out."""

from __future__ import annotations

import hashlib
import io

import streamlit as st
from PIL import Image, UnidentifiedImageError

from components.resources import connection, credits_for, credits_left, generation_service, media, store
from components.session import keep_widgets, new_request, request_key, restore_widgets, take_handoff
from components.task_panel import task_panel
from components.text import plain
from grsai_api import MAX_PROMPT_CHARS, InvalidRequestError, check_timestamps
from studio.characters import MAX_PER_VIDEO, check_mentions
from studio.connection import valid_url
from studio.costs import credits_text, format_credits, video_cost

KEPT = (
    "generate_prompt",
    "generate_aspect_ratio",
    "generate_duration",
    "generate_size",
    "generate_image_url",
    "generate_remix_pid",
    "generate_remix_pick",
)

restore_widgets(KEPT)
take_handoff("generate")
st.session_state.setdefault("generate_one_offs", [])
conn, library, files = connection(), store(), media()


def use_prompt(text: str) -> None:
    st.session_state["generate_prompt"] = text


def mention(name: str) -> None:
    """Add an @mention to the prompt (at its end: Streamlit does not tell where the cursor is)."""
    text = (st.session_state.get("generate_prompt") or "").rstrip()
    st.session_state["generate_prompt"] = f"{text} @{name} ".lstrip()


def attach_clip() -> None:
    url = (st.session_state.get("generate_clip_url") or "").strip()
    start = float(st.session_state.get("generate_clip_start") or 0)
    length = float(st.session_state.get("generate_clip_length") or 3)
    if not valid_url(url):
        st.session_state["generate_clip_error"] = "The clip needs a web address starting with https://"
        return
    try:
        timestamps = check_timestamps((start, start + length))
    except InvalidRequestError as exc:
        st.session_state["generate_clip_error"] = exc.message
        return
    st.session_state["generate_one_offs"].append({"url": url, "timestamps": timestamps})
    st.session_state["generate_clip_url"] = ""
    mention(f"character{len(st.session_state['generate_one_offs'])}")


def detach_clip(index: int) -> None:
    st.session_state["generate_one_offs"].pop(index)


st.title("Generate")
st.caption("Describe a scene; Sora 2 turns it into a 10 or 15 second video.")

form, results = st.columns([1, 1], gap="large")
with form:
    recent = library.recent_prompts(8)
    if recent:
        with st.popover("Recent prompts", icon=":material/history:"):
            for number, text in enumerate(recent):
                st.button(
                    text[:90] + ("…" if len(text) > 90 else ""),
                    key=f"generate_recent_{number}",
                    on_click=use_prompt,
                    args=(text,),
                    width="stretch",
                    type="tertiary",
                )
    prompt = st.text_area(
        "Prompt",
        key="generate_prompt",
        height=150,
        max_chars=MAX_PROMPT_CHARS,
        placeholder="A bottle of sparkling lemonade on a sunny café table, slow push-in, shallow depth of field",
        help="Say what is seen and how the camera moves. Up to 5,000 characters.",
    )
    slots = {"prompt": st.empty()}
    saved = library.characters(ready_only=True)
    one_offs = st.session_state["generate_one_offs"]
    mentions = check_mentions(prompt, {c.character_id for c in saved}, len(one_offs))
    if mentions.unknown:
        names = ", ".join(f"@{n}" for n in mentions.unknown)
        st.warning(
            f"{names} matches no character: add one under **Characters** below, or remove the @.",
            icon=":material/person_off:",
        )
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
    slots["settings"] = st.empty()

    image_file = st.session_state.get("generate_image_file")
    with st.expander(
        "Reference image (optional)",
        icon=":material/image:",
        expanded=bool(image_file or st.session_state.get("generate_image_url")),
    ):
        image_file = st.file_uploader(
            "Upload an image",
            type=["png", "jpg", "jpeg", "webp", "gif"],
            key="generate_image_file",
            max_upload_size=20,
        )
        image_url = st.text_input(
            "…or give its web address", key="generate_image_url", placeholder="https://…"
        )
        if image_file is not None:
            try:
                with Image.open(io.BytesIO(image_file.getvalue())) as picture:
                    picture.verify()
            except (UnidentifiedImageError, OSError, ValueError):
                st.error(
                    "This file is not an image that can be read (PNG, JPEG, WebP or GIF). Choose another.",
                    icon=":material/broken_image:",
                )
            else:
                st.image(image_file.getvalue(), caption="The video starts from this image.", width=220)
            if image_url:
                st.caption("The uploaded image is used; the address is ignored.")
        elif image_url and valid_url(image_url.strip()):
            st.caption(":material/link: The video starts from the image at this address (checked when it is sent).")
        elif image_url:
            st.caption(":material/error: This is not a web address: it should start with https://")
        slots["image_url"] = st.empty()

    with st.expander(
        f"Characters (optional) · {mentions.count} of {MAX_PER_VIDEO}",
        icon=":material/face:",
        expanded=bool(one_offs or mentions.saved),
    ):
        st.caption(
            f"Sora puts up to {MAX_PER_VIDEO} characters in one video. A character joins the video when "
            "the prompt names it with @."
        )
        full = mentions.count >= MAX_PER_VIDEO
        if saved:
            st.markdown("**Your characters**")
            with st.container(horizontal=True):
                for character in saved[:12]:
                    named = character.character_id in mentions.saved
                    st.button(
                        f"@{character.label}",
                        key=f"generate_mention_{character.id}",
                        on_click=mention,
                        args=(character.character_id,),
                        disabled=named or full,
                        icon=":material/check:" if named else ":material/add:",
                        help=f"Adds @{character.character_id} to the prompt",
                    )
        else:
            st.caption("No saved characters yet: make one on the **Characters** page.")
        st.markdown("**Or a clip just for this video**")
        for number, clip in enumerate(one_offs, start=1):
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.caption(
                f"@character{number} · {clip['url'][:60]} · {clip['timestamps'].replace(',', '–')} s"
            )
            right.button("Remove", key=f"generate_detach_{number}", on_click=detach_clip, args=(number - 1,))
        url_col, start_col, length_col = st.columns([3, 1, 1])
        url_col.text_input("Clip address", key="generate_clip_url", placeholder="https://…/clip.mp4")
        start_col.number_input("Start (s)", min_value=0.0, value=0.0, step=0.5, key="generate_clip_start")
        length_col.number_input(
            "Length (s)", min_value=0.5, max_value=3.0, value=3.0, step=0.5, key="generate_clip_length"
        )
        st.button("Attach clip", icon=":material/attach_file:", on_click=attach_clip, disabled=full)
        if st.session_state.get("generate_clip_error"):
            st.error(st.session_state.pop("generate_clip_error"), icon=":material/error:")
        slots["characters"] = st.empty()
        if mentions.count > MAX_PER_VIDEO:
            slots["characters"].error(
                f"Sora takes at most {MAX_PER_VIDEO} characters in one video; this prompt "
                f"names {mentions.count}. Remove one.",
                icon=":material/error:",
            )

    with st.expander(
        "Remix an earlier video (optional)",
        icon=":material/auto_fix_high:",
        expanded=bool(st.session_state.get("generate_remix_pid")),
    ):
        videos = library.finished_videos(100)
        labels = {
            v.pid: f"{v.prompt[:60]}{'…' if len(v.prompt) > 60 else ''} · {v.pid[:10]}…" for v in videos
        }
        picked = st.selectbox(
            "Pick one from the library",
            [None, *labels],
            key="generate_remix_pick",
            format_func=lambda pid: "—" if pid is None else labels[pid],
        )
        pasted = st.text_input(
            "…or paste its pid",
            key="generate_remix_pid",
            placeholder="s_…",
            help="Every finished video has a pid (s_ and 32 characters): it names the video to remix.",
        )
        remix_target = (pasted or "").strip() or picked
        if remix_target:
            st.caption("The new video keeps the look of the original, with your new prompt.")
        slots["remix_target_id"] = st.empty()

    cost = video_cost()
    credits = credits_for(conn)
    st.markdown(f"This video costs **{credits_text(cost)}** · **{format_credits(credits)}** left")
    if credits is not None and credits < cost:
        st.warning(
            "There are not enough credits left for this video.", icon=":material/account_balance_wallet:"
        )
    clicked = st.button("Generate", type="primary", icon=":material/auto_awesome:", width="stretch")
    slots["general"] = st.empty()

    if clicked:
        params = {
            "prompt": prompt or "",
            "aspect_ratio": aspect_ratio,
            "duration": duration,
            "size": size,
            "image_url": image_file.getvalue() if image_file is not None else (image_url or "").strip(),
            "remix_target_id": remix_target,
            "characters": list(one_offs),
        }
        fingerprint = hashlib.sha256(
            repr(sorted((k, v if isinstance(v, bytes) else str(v)) for k, v in params.items())).encode()
        ).hexdigest()
        if mentions.count > MAX_PER_VIDEO:
            pass  # explained next to Characters; nothing is sent
        elif mentions.unknown:
            slots["prompt"].error(
                f"{plain(', '.join('@' + n for n in mentions.unknown))} names no character, so nothing was sent. "
                "Add the character, or remove the @.",
                icon=":material/person_off:",
            )
        else:
            try:
                generation, created = generation_service().queue(
                    params, request_key=request_key("generate", fingerprint)
                )
            except InvalidRequestError as exc:
                slot = slots.get(
                    exc.field or "",
                    slots["settings" if exc.field in ("aspect_ratio", "duration", "size") else "general"],
                )
                slot.error(exc.message, icon=":material/error:")
            else:
                if created:
                    credits_left.clear()
                    st.toast("Started: it appears in the list as it is made.", icon=":material/hourglass_top:")
                else:
                    slots["general"].info(
                        "This exact request was already sent: it is in the list. To make one more of it, "
                        "press “Make another”.",
                        icon=":material/info:",
                    )
                    st.session_state["generate_offer_another"] = True
    if st.session_state.get("generate_offer_another") and st.button(
        "Make another", icon=":material/add:", help="Sends the same request once more (charged again)."
    ):
        new_request("generate")
        st.session_state["generate_offer_another"] = False
        st.rerun()


def ask_resend(generation_id: int) -> None:
    """Open the confirmation from page state, so it is drawn on every full run until answered."""
    st.session_state["generate_resend"] = generation_id
    st.rerun()


@st.dialog("Send it again?", on_dismiss=lambda: st.session_state.pop("generate_resend", None))
def confirm_resend(generation_id: int) -> None:
    st.write(
        "It is not known whether the service received this request. If it did, sending it again "
        "makes a second video and is charged a second time."
    )
    if st.button("Send it again", type="primary", icon=":material/send:"):
        generation_service().resend(generation_id, request_key=f"resend-{generation_id}")
        st.session_state.pop("generate_resend", None)
        st.rerun()


with results:
    task_panel(
        conn,
        library,
        files,
        {
            "cancel": lambda gid: (generation_service().cancel(gid), st.rerun()),
            "hide": lambda gid: (generation_service().hide(gid), st.rerun()),
            "resend": ask_resend,
        },
    )
if st.session_state.get("generate_resend") is not None:
    confirm_resend(st.session_state["generate_resend"])

keep_widgets(KEPT)
