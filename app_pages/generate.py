"""Generate: a model, a prompt and that model's settings in, videos out. The picker offers every
video model the key buys, with its status and price; a model that is down cannot be sent to, and
the page offers the closest one that is up, carrying the prompt, ratio and images across."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.brand_picker import (
    brand_picker,
    fill_from_kit,
    house_style_choice,
    picked_pictures,
    styled,
    with_kit,
)
from components.character_names import name_chips
from components.guard import guarded
from components.model_picker import model_down, model_picker
from components.moderation_hints import moderation_hints
from components.pictures import show_uploads
from components.prompt_help import picture_of, prompt_help
from components.resources import (
    app_config,
    balance_changed,
    connection,
    credits_for,
    generation_service,
    media,
    model_board,
    store,
)
from components.session import (
    keep_a_choice,
    keep_widgets,
    new_request,
    request_key,
    restore_widgets,
    take_handoff,
)
from components.spec_form import model_form, widget_keys
from components.task_panel import latest_on_phone, task_panel
from components.text import plain
from grsai_api import MAX_PROMPT_CHARS, InvalidRequestError, ModelSpec, check_timestamps, models
from studio.characters import MAX_PER_VIDEO, CharacterNames, check_mentions, with_mention
from studio.connection import valid_url
from studio.costs import credits_text, format_credits, price
from studio.generation import MAX_AT_ONCE
from studio.media import FILE_PREFIX
from studio.messages import retry_price

KEPT = (
    "generate_prompt",
    "generate_aspect_ratio",
    "generate_duration",
    "generate_size",
    "generate_image_url",
    "generate_remix_pid",
    "generate_remix_pick",
    "generate_model",
    "generate_frame_mode",
    "generate_first_url",
    "generate_last_url",
    "generate_ref_urls",
    "generate_resolution",
    "generate_count",
    *widget_keys(models("video"), "generate"),
)
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]

restore_widgets(KEPT)
take_handoff("generate")
st.session_state.setdefault("generate_one_offs", [])
st.session_state.setdefault("generate_carried", [])  # images brought from another model or page
conn, library, files = connection(), store(), media()
MAX_OUTPUT_RETRIES = 3
# Offered on "Use an example", never shown grey in the field as if it were written.
EXAMPLE_PROMPT = "A bottle of sparkling lemonade on a sunny café table, slow push-in, shallow depth of field"
board = model_board(conn)


def _animate_handoff() -> None:
    """Images' "Animate this": the image becomes the video's first frame (or Sora's reference)."""
    ref = st.session_state.pop("generate_animate", None)
    if not ref:
        return
    try:
        data = files.read(ref[len(FILE_PREFIX) :]) if ref.startswith(FILE_PREFIX) else None
    except (OSError, ValueError):
        data = None
    if data is not None:
        st.session_state["generate_carried"] = [{"data": data, "from": "Images"}]
    elif valid_url(ref):
        st.session_state["generate_carried"] = [{"url": ref, "from": "Images"}]


_animate_handoff()


def _images_in_form(*, from_kit: bool = True) -> list[dict]:
    """Every image the form holds now (uploads and addresses, any model's fields, then the brand kit's
    picks unless ``from_kit`` is False), in order."""
    state, found = st.session_state, []
    for key in ("generate_image_file", "generate_first_file", "generate_last_file"):
        if state.get(key) is not None:
            found.append({"data": state[key].getvalue()})
    for item in state.get("generate_ref_files") or []:
        found.append({"data": item.getvalue()})
    for key in ("generate_image_url", "generate_first_url", "generate_last_url"):
        if valid_url((state.get(key) or "").strip()):
            found.append({"url": state[key].strip()})
    for line in (state.get("generate_ref_urls") or "").splitlines():
        if valid_url(line.strip()):
            found.append({"url": line.strip()})
    for key in ("generate_brand_image", "generate_brand_frames", "generate_brand") if from_kit else ():
        found += picked_pictures(key)
    return found


def carry_images(old: ModelSpec, new: ModelSpec) -> None:
    """Switching to another model keeps the prompt (the same widget) and brings the images along."""
    images = _images_in_form(from_kit=False) or list(st.session_state["generate_carried"])  # the kit's stay picked
    limit = 2 if new.first_last_frames else max(1, new.max_references)
    st.session_state["generate_carried"] = [{**item, "from": old.name} for item in images[:limit]]
    st.session_state["generate_frame_mode"] = "Frames"


def use_prompt(text: str) -> None:
    st.session_state["generate_prompt"] = text


def mention(name: str) -> None:
    """Add an @mention to the prompt (at its end: Streamlit does not tell where the cursor is)."""
    st.session_state["generate_prompt"] = with_mention(st.session_state.get("generate_prompt") or "", name)


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
st.caption("Pick a model, describe a scene: the video is made while you carry on, and kept in the Library.")

form, results = st.columns([1, 1], gap="large")
with form:
    spec = model_picker("video", board, key="generate")
    down = model_down(spec, board, key="generate", carry=lambda new: carry_images(spec, new))
    sora, veo = spec.api == "sora", spec.api == "veo"
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
        height=120,
        placeholder="Say what is seen and how the camera moves",
        help="Say what is seen and how the camera moves. Up to 5,000 characters.",
    )
    saved = library.characters(ready_only=True)
    by_name = CharacterNames(saved if sora else [], account=conn.account)  # @Goldie stands for Goldie's handle, on Sora
    name_chips(by_name, "generate_prompt")
    moderation_hints(prompt or "", conn)
    house_style_choice("generate_house_style")
    typed = len((prompt or "").strip())
    if typed > MAX_PROMPT_CHARS:
        st.error(
            f"The prompt is {typed:,} characters long; the limit is {MAX_PROMPT_CHARS:,}. "
            f"Cut {typed - MAX_PROMPT_CHARS:,} characters.",
            icon=":material/error:",
        )
    elif typed > MAX_PROMPT_CHARS * 0.9:
        st.caption(f"{typed:,} of {MAX_PROMPT_CHARS:,} characters")
    slots = {"prompt": st.empty()}
    prompt_help("generate_prompt", spec, key="generate", example=EXAMPLE_PROMPT, image=lambda: picture_of(_images_in_form() or st.session_state["generate_carried"]))
    # The button and its price sit right under the prompt, in the first screen; the settings follow.
    # The area is filled at the end of the form, once every setting below it has been read.
    action = st.container(key="generate_action")
    st.markdown("**Settings**")
    one_offs = st.session_state["generate_one_offs"]
    mentions = check_mentions(by_name.resolve(prompt) if sora else "", by_name.handles, len(one_offs) if sora else 0)
    if mentions.unknown:
        names = ", ".join(f"@{n}" for n in mentions.unknown)
        st.warning(
            f"{names} matches no character: add one under **Characters** below, or remove the @.",
            icon=":material/person_off:",
        )
    aspect_ratio = None
    if sora or veo:  # laid out by hand: their images and characters have controls of their own
        aspect_ratio = st.segmented_control(
            "Aspect ratio",
            keep_a_choice("generate_aspect_ratio", spec.aspect_ratios),
            required=True,
            key="generate_aspect_ratio",
            format_func={"16:9": ":material/crop_16_9: 16:9", "9:16": ":material/crop_portrait: 9:16"}.get,
            help="16:9 is landscape (YouTube, web); 9:16 is portrait (Reels, TikTok, Shorts).",
        )
        own = {"aspect_ratio", "image_url", "first_frame_url", "last_frame_url", "reference_urls"}
        fields, field_slots = model_form(spec, "generate", skip=own)  # duration, size …
    else:  # every other model (MiniMax, or one added by file): its form is its catalogue entry
        fields, field_slots = model_form(spec, "generate")
    if spec.api == "veo":
        st.caption(f"{spec.label} · {spec.fields['duration'].help}" if "duration" in spec.fields else spec.label)
    slots["settings"] = st.empty()
    slots["aspect_ratio"] = slots["settings"]
    slots.update(field_slots)
    # the brand kit beside each picture field: Sora's image and Veo's frames or references below, with
    # their own fields; every other model's references here
    kit, kit_frames, kit_image = [], [], []
    if not (sora or veo):
        kit = brand_picker("generate_brand", limit=spec.max_references if "reference_urls" in spec.fields else 0)

    carried = st.session_state["generate_carried"]


    def drop_carried(index: int) -> None:
        st.session_state["generate_carried"].pop(index)


    def _image_list(uploads, typed: str) -> list:
        """Uploaded files' bytes, then each address typed on its own line."""
        items = [f.getvalue() for f in uploads or []]
        return items + [line.strip() for line in (typed or "").splitlines() if line.strip()]


    if carried:
        with st.container(border=True, key="generate_carried_box"):
            st.caption(f":material/swap_horiz: Carried over from {plain(carried[0]['from'])}")
            for number, item in enumerate(carried):
                left, right = st.columns([3, 1], vertical_alignment="center")
                if "data" in item:
                    left.image(item["data"], width=160)
                else:
                    left.caption(plain(item["url"], 80))
                right.button("Remove", key=f"generate_drop_carried_{number}", on_click=drop_carried, args=(number,))
            use = "the first frame" if veo else ("the reference image" if sora else "a reference")
            st.caption(f"Used as {use} unless you choose another below.")
    carried_values = [item.get("data") or item.get("url") for item in carried]

    if veo:
        chosen = ("generate_first_file", "generate_first_url", "generate_last_file", "generate_last_url",
                  "generate_ref_files", "generate_ref_urls", "generate_brand_frames", "generate_brand")  # fmt: skip
        with st.expander(
            "Start and end frames, or references (optional)",
            icon=":material/image:",
            expanded=bool(carried) or any(st.session_state.get(k) for k in chosen),
        ):
            mode = st.segmented_control(
                "Start from",
                ["Frames", "References"],
                default="Frames",
                required=True,
                key="generate_frame_mode",
                help="Veo starts on a first frame (and ends on a last frame), or takes up to 3 reference "
                "images for its look — not both.",
            )
            if mode == "Frames":
                first_col, last_col = st.columns(2)
                with first_col:
                    first_file = st.file_uploader("First frame", type=IMAGE_TYPES, key="generate_first_file", max_upload_size=20)
                    first_url = st.text_input("…or its address", key="generate_first_url", placeholder="https://…")
                    if first_file is not None:
                        show_uploads([first_file.getvalue()], 160)
                    slots["first_frame_url"] = st.empty()
                with last_col:
                    last_file = st.file_uploader("Last frame", type=IMAGE_TYPES, key="generate_last_file", max_upload_size=20)
                    last_url = st.text_input("…or its address", key="generate_last_url", placeholder="https://…")
                    if last_file is not None:
                        show_uploads([last_file.getvalue()], 160)
                    slots["last_frame_url"] = st.empty()
                kit_frames = brand_picker("generate_brand_frames", limit=2,
                                          label="…or from the brand kit (the first frame, then the last)")  # fmt: skip
                ref_files, ref_urls = [], ""
            else:
                ref_files = st.file_uploader(
                    f"Reference images (up to {spec.max_references})",
                    type=IMAGE_TYPES,
                    accept_multiple_files=True,
                    key="generate_ref_files",
                    max_upload_size=20,
                )
                ref_urls = st.text_area("…or their addresses, one per line", key="generate_ref_urls", height=80)
                kit = brand_picker("generate_brand", limit=spec.max_references)
                first_file = last_file = None
                first_url = last_url = ""
            slots["reference_urls"] = st.empty()
    if sora:
        image_file = st.session_state.get("generate_image_file")
        with st.expander(
            "Reference image (optional)",
            icon=":material/image:",
            expanded=bool(image_file or st.session_state.get("generate_image_url") or st.session_state.get("generate_brand_image")),
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
            kit_image = brand_picker("generate_brand_image", limit=1, label="…or one from the brand kit")
            if image_file is not None:
                show_uploads([image_file.getvalue()], 220, caption="The video starts from this image.")
                if image_url:
                    st.caption("The uploaded image is used; the address is ignored.")
            elif image_url and valid_url(image_url.strip()):
                st.caption(":material/link: The video starts from the image at this address (checked when it is sent).")
            elif image_url:
                st.caption(":material/error: This is not a web address: it should start with https://")
            elif kit_image:
                st.caption(f":material/palette: The video starts from @{plain(kit_image[0].name)}, from the brand kit.")
            slots["image_url"] = st.empty()

    if sora:
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
                            f"{plain(character.label, 40)} · @{plain(by_name.typed(character))}",  # name and what is typed
                            key=f"generate_mention_{character.id}",
                            on_click=mention,
                            args=(by_name.typed(character),),
                            disabled=named or full,
                            icon=":material/check:" if named else ":material/add:",
                            help=f"Adds @{by_name.typed(character)} to the prompt (sent as @{character.character_id})",
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

    each = price(spec.id)
    with st.expander("If the finished video is refused", icon=":material/replay:"):
        retries = st.number_input(
            "Try again by itself, up to this many times",
            min_value=0,
            max_value=MAX_OUTPUT_RETRIES,
            value=0,
            key="generate_output_retries",
            help="A video refused by moderation after it was made is sent again as a new video, charged "
            "again. Off by default: the same prompt is often refused again.",
        )
        st.caption(retry_price(each, int(retries or 0), refunds_refusals=app_config().refunds_refusals))
    with action:
        count = st.segmented_control(  # kept across pages: the state, not a default, says it
            "How many",
            keep_a_choice("generate_count", range(1, MAX_AT_ONCE + 1)),
            required=True,
            key="generate_count",
            help="Several videos of this prompt at once, each charged on its own: they arrive side by "
            "side, to keep the best and discard the rest.",
        )
        cost = each * count
        credits = credits_for(conn)
        if count == 1:
            st.markdown(f"This video costs **{credits_text(cost)}** · **{format_credits(credits)}** left")
        else:
            st.markdown(
                f"{count} videos cost **{credits_text(cost)}** ({format_credits(each)} each) · "
                f"**{format_credits(credits)}** left"
            )
        if credits is not None and credits < cost:
            st.warning(
                f"There are not enough credits left for {'this video' if count == 1 else f'these {count} videos'}.",
                icon=":material/account_balance_wallet:",
            )
        clicked = st.button(
            "Generate" if count == 1 else f"Generate {count}",
            type="primary",
            icon=":material/auto_awesome:",
            width="stretch",
            disabled=down,
        )
        slots["general"] = st.empty()

    if clicked:
        params = {"model": spec.id, "prompt": styled(by_name.resolve(prompt or ""), "generate_house_style"), **fields}
        if aspect_ratio is not None:
            params["aspect_ratio"] = aspect_ratio
        if sora:
            image = image_file.getvalue() if image_file is not None else (image_url or "").strip()
            [image] = fill_from_kit([image], kit_image)
            params.update(
                image_url=image or (carried_values[0] if carried_values else ""),
                remix_target_id=remix_target,
                characters=list(one_offs),
            )
        elif veo:
            if mode == "Frames":
                first = first_file.getvalue() if first_file is not None else (first_url or "").strip()
                last = last_file.getvalue() if last_file is not None else (last_url or "").strip()
                first, last = fill_from_kit([first, last], kit_frames)
                params.update(
                    first_frame_url=first or (carried_values[0] if carried_values else ""),
                    last_frame_url=last or (carried_values[1] if len(carried_values) > 1 else ""),
                )
            else:
                params["reference_urls"] = _image_list(ref_files, ref_urls) or carried_values
        elif carried_values and "reference_urls" in spec.fields and "reference_urls" not in params:
            params["reference_urls"] = carried_values
        params = with_kit(params, kit)  # the brand kit's picks, after the references given above
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
            # N of one prompt is its own submission: "Generate 4" after "Generate 3" makes four more
            how_many = (count,) if count > 1 else ()
            try:
                made = generation_service().queue_many(
                    params,
                    count,
                    request_key=request_key("generate", fingerprint, int(retries), *how_many),
                    output_retries=int(retries),
                )
            except InvalidRequestError as exc:
                slot = slots.get(
                    exc.field or "",
                    slots["settings" if exc.field in ("aspect_ratio", "duration", "size", "model") else "general"],
                )
                slot.error(exc.message, icon=":material/error:")
            else:
                if any(created for _, created in made):
                    balance_changed()
                    st.toast(
                        "Started: it appears in the list as it is made."
                        if count == 1
                        else f"Started {count}: they appear side by side as they are made.",
                        icon=":material/hourglass_top:",
                    )
                else:
                    slots["general"].info(
                        "This exact request was already sent: it is in the list. To make one more of it, "
                        "press “Make another”.",
                        icon=":material/info:",
                    )
                    st.session_state["generate_offer_another"] = True
    if st.session_state.get("generate_offer_another") and action.button(
        "Make another", icon=":material/add:", help="Sends the same request once more (charged again)."
    ):
        new_request("generate")
        st.session_state["generate_offer_another"] = False
        st.rerun()
    with action:  # on a phone the list comes after the whole form: the newest is shown here too
        latest_on_phone(conn, library, files)


def ask_resend(generation_id: int) -> None:
    """Open the confirmation from page state, so it is drawn on every full run until answered."""
    st.session_state["generate_resend"] = generation_id
    st.rerun()


@st.dialog("Send it again?", on_dismiss=lambda: st.session_state.pop("generate_resend", None))
@guarded
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
        generation_service(),
    )
if st.session_state.get("generate_resend") is not None:
    confirm_resend(st.session_state["generate_resend"])

keep_widgets(KEPT)
