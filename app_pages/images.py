"""Images: every image model of the catalogue (Nano Banana, GPT image, and any a deployment adds by
file), its form drawn from the model's fields; the results in a grid, each with a download and "Animate this", which opens Generate with the image as the video's
first frame (Veo) or reference (Sora)."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.brand_picker import brand_picker, house_style_choice, picked_pictures, styled, with_kit
from components.guard import guarded
from components.keep_best import in_groups, keep_best_group
from components.model_picker import model_down, model_picker
from components.moderation_hints import moderation_hints
from components.prompt_help import form_pictures, picture_of, prompt_help
from components.resources import (
    balance_changed,
    connection,
    credits_for,
    generation_service,
    key_refused,
    media,
    model_board,
    store,
)
from components.session import (
    catch_up,
    handoff,
    keep_a_choice,
    keep_widgets,
    request_key,
    restore_widgets,
    show_toasts,
    take_handoff,
)
from components.spec_form import model_form, widget_key, widget_keys
from components.text import plain
from components.tracker import being_made
from components.video import clock, facts, failure_note, kept_download, status_badge
from grsai_api import InvalidRequestError, models
from studio.costs import credits_text, format_credits, price
from studio.db import Generation, Status
from studio.generation import MAX_AT_ONCE

KEPT = ("images_model", "images_prompt", "images_count", *widget_keys(models("image"), "images"))
SHOWN = 8  # entries: a request, or the N made of one prompt at once
REDRAW_SECONDS = 1.0
# Offered on "Use an example", never shown grey in the field as if it were written.
EXAMPLE_PROMPT = "A glass bottle of cold-brew coffee on a marble counter, soft morning light, product shot"

restore_widgets(KEPT)
take_handoff("images")
conn, library, files = connection(), store(), media()
board = model_board(conn)

st.title("Images")
st.caption("Stills from a prompt and your references — to use as they are, or to animate into a video.")

form, results = st.columns([1, 1], gap="large")
with form:
    spec = model_picker("image", board, key="images")
    down = model_down(spec, board, key="images")
    prompt = st.text_area(
        "Prompt",
        key="images_prompt",
        height=120,
        placeholder="Say what is seen, the light and the style",
        help="Say what is seen, the light and the style. Up to 5,000 characters.",
    )
    moderation_hints(prompt or "", conn)
    house_style_choice("images_house_style")
    slots = {"prompt": st.empty()}
    refs = widget_key("images", "reference_urls") if "reference_urls" in spec.fields else None
    prompt_help("images_prompt", spec, key="images", example=EXAMPLE_PROMPT, image=lambda: picture_of(  # a reference picture can be described
        form_pictures(f"{refs}_files", f"{refs}_urls") + picked_pictures("images_brand")) if refs else None)  # fmt: skip
    fields, field_slots = model_form(spec, "images")  # the model's own fields, from the catalogue
    slots.update(field_slots)
    kit = brand_picker("images_brand", limit=spec.fields["reference_urls"].count if "reference_urls" in spec.fields else 0)
    variants = int(fields.get("variants", 1))
    count = st.segmented_control(
        "How many", keep_a_choice("images_count", range(1, MAX_AT_ONCE + 1)), required=True, key="images_count",
        help="Each one is its own request, charged on its own: they arrive side by side, to keep the "
        "best and discard the rest.",
    )
    slots["settings"] = st.empty()

    each = price(spec.id)
    credits = credits_for(conn)
    if count == 1:
        what = "This request" if variants > 1 else "This image"
        st.markdown(f"{what} costs **{credits_text(each)}** · **{format_credits(credits)}** left")
    else:
        what = f"{count} requests of {variants} images" if variants > 1 else f"{count} images"
        st.markdown(
            f"{what} cost **{credits_text(each * count)}** ({format_credits(each)} each) · "
            f"**{format_credits(credits)}** left"
        )
    if credits is not None and credits < each * count:
        st.warning("There are not enough credits left for this.", icon=":material/account_balance_wallet:")
    clicked = st.button("Make images", type="primary", icon=":material/image:", width="stretch", disabled=down)
    slots["general"] = st.empty()
    if clicked:
        params = with_kit({"model": spec.id, "prompt": styled(prompt or "", "images_house_style"), **fields}, kit)
        fingerprint = hashlib.sha256(
            repr([(k, v if isinstance(v, bytes) else str(v)) for k, v in sorted(params.items())]).encode()
        ).hexdigest()
        how_many = (count,) if count > 1 else ()  # N of one prompt is its own submission
        try:
            made = [
                created
                for _, created in generation_service().queue_many(
                    params, count, request_key=request_key("images", fingerprint, *how_many)
                )
            ]
        except InvalidRequestError as exc:
            field = exc.field if exc.field in slots else ("settings" if exc.field else "general")
            slots[field].error(exc.message, icon=":material/error:")
        else:
            if any(made):
                balance_changed()
                st.toast("Started: the images appear as they are made.", icon=":material/hourglass_top:")
            else:
                slots["general"].info("This exact request was already sent: its images are in the list.")


def animate(generation: Generation, path: str) -> None:
    """Open Generate with this image as the video's start (the best video model that is up) and its
    prompt as the video's, to add the motion to."""
    video = board.best("video")
    handoff(
        "generate",
        generate_model=video.id if video else "veo3.1-fast",
        generate_animate=f"file:{path}",
        generate_prompt=generation.prompt,
    )
    st.switch_page("app_pages/generate.py")


def _card(generation: Generation) -> None:
    with st.container(border=True, key=f"image_card_{generation.id}"):
        status_badge(generation)
        st.markdown(f"**{plain(generation.prompt, 140)}**")
        if Status(generation.status).is_active:
            st.progress(generation.progress / 100, text=f"{generation.progress}% · {clock(generation.elapsed)} elapsed")
            st.caption(facts(generation))
            return
        if generation.status != Status.SUCCEEDED:
            failure_note(generation)
            return
        _pictures(generation)
        st.caption(f"{facts(generation)} · {credits_text(generation.cost)}")


def _pictures(generation: Generation) -> None:
    """A finished request's images in a grid, each with "Animate this" and a download."""
    kept = files.present(generation.files)
    columns = st.columns(min(2, max(1, len(kept))))
    for number, item in enumerate(kept):
        with columns[number % len(columns)]:
            st.image(files.source(item["path"]), width="stretch")
            if st.button(
                "Animate this",
                key=f"animate_{generation.id}_{number}",
                icon=":material/movie:",
                width="stretch",
                help="Open Generate with this image as the start of a video",
            ):
                animate(generation, item["path"])
            kept_download(
                files,
                item["path"],
                file_name=f"image-{generation.id}-{number + 1}.png",
                mime="image/png",
                key=f"image_download_{generation.id}_{number}",
                live=busy,
                type="tertiary",
                width="stretch",
            )


def _entries() -> list[list[Generation]]:
    """The latest SHOWN entries: one request alone, or the N made of one prompt at once together."""
    rows = library.recent_for(conn.service_id, conn.account, SHOWN * MAX_AT_ONCE, makes=("image",))
    return in_groups(rows, SHOWN)


with results:
    show_toasts()
    busy = any(Status(g.status).is_active for entry in _entries() for g in entry)

    @st.fragment(run_every=REDRAW_SECONDS if busy else None)
    @guarded
    def grid() -> None:
        entries = _entries()
        if not entries:
            st.info("Your images will appear here. Write a prompt and press **Make images**.", icon=":material/image:")
        active = sum(Status(g.status).is_active for entry in entries for g in entry)
        if active:
            st.caption(being_made(active, "image", key_refused(conn)))
        for entry in entries:
            if entry[0].group_key is None:
                _card(entry[0])
            else:
                keep_best_group(entry, generation_service(), show=_pictures)
        if busy and not active:
            catch_up()  # everything ended: the page (and its timer) catches up

    grid()

keep_widgets(KEPT)
