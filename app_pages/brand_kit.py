"""Brand kit: logos, product photos and face or mascot sheets kept once and named @name, the brand's
colours and a house-style sentence, to reuse on every form that takes reference images."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.brand_picker import brand_kit
from components.guard import guarded
from components.resources import balance_changed, generation_service, media, store
from components.session import catch_up, request_key, toast_later
from grsai_api import InvalidRequestError
from studio.brand import (
    KINDS,
    MAX_ASSET_BYTES,
    MAX_COLOURS,
    MAX_HOUSE_STYLE,
    MAX_SUBJECT,
    SHEET_MODEL,
    BrandError,
)
from studio.costs import credits_text, price
from studio.db import Status
from studio.messages import explain_failure

kit, files, library = brand_kit(), media(), store()
CARD_WIDTH = 170  # two cards side by side on a phone, as many as fit on a wide screen

st.title("Brand kit")
st.caption(
    "Keep your logo, product photos and a face or mascot sheet once, name them (@sneaker, @logo) and pick "
    "them as references on Images and Storyboard, or name them in a Batch's image columns. Each is sent to "
    "the service's storage once, then named by its address."
)

# -- add an asset -----------------------------------------------------------------------------------
with st.form("brand_add", clear_on_submit=True, border=True):
    st.markdown("**Add an asset**")
    upload = st.file_uploader(
        "Picture",
        type=["png", "jpg", "jpeg", "webp", "gif"],
        key="brand_file",
        max_upload_size=MAX_ASSET_BYTES // 1_048_576,
        help=f"PNG, JPEG, WebP or GIF, at most {MAX_ASSET_BYTES // 1_048_576} MB.",
    )
    file_slot = st.empty()
    name_column, kind_column = st.columns(2)
    name = name_column.text_input("Name", key="brand_name", placeholder="sneaker", help="Used as @sneaker.")
    name_slot = name_column.empty()
    kind = kind_column.selectbox("What it is", list(KINDS), format_func=KINDS.get, key="brand_kind")
    kind_slot = kind_column.empty()
    added = st.form_submit_button("Add to the kit", type="primary", icon=":material/add_photo_alternate:")

if added:
    slots = {"file": file_slot, "name": name_slot, "kind": kind_slot}
    if upload is None:
        file_slot.error("Choose a picture to add.", icon=":material/error:")
    else:
        try:
            asset = kit.add(upload.getvalue(), name, kind)
        except BrandError as exc:
            slots.get(exc.field, file_slot).error(exc.message, icon=":material/error:")
        else:
            toast_later(f"@{asset.name} is in the kit")
            st.rerun()


# -- a character sheet, made by Nano Banana ---------------------------------------------------------
@guarded
def sheet_result(sheet_id: int, was_making: bool) -> None:
    """The sheet being made, then the picture with "Add to the kit"; the fragment re-reads it while it
    is made, and redraws the page once when it is done (so the re-reading stops)."""
    row = library.get(sheet_id)
    if row is None:
        st.session_state.pop("brand_sheet_id", None)
        return
    if was_making and Status(row.status).is_final:
        catch_up()
    if Status(row.status).is_active:
        st.progress(row.progress / 100, text=f"Drawing the sheet · {row.progress}%")
    elif row.status == Status.SUCCEEDED:
        kept = files.present(row.files)
        if kept:
            st.image(files.source(kept[0]["path"]), width="stretch")
        name_column, add_column = st.columns([2, 1], vertical_alignment="bottom")
        name = name_column.text_input("Name", key="brand_sheet_name", placeholder="mascot")
        if add_column.button("Add to the kit", key="brand_sheet_add", type="primary", width="stretch"):
            try:
                asset = kit.add_made(sheet_id, name, "mascot")
            except BrandError as exc:
                st.error(exc.message, icon=":material/error:")
            else:
                st.session_state.pop("brand_sheet_id", None)
                toast_later(f"@{asset.name} is in the kit")
                st.rerun()
    else:
        st.error(explain_failure(row.failure_reason, row.error, row.cost), icon=":material/block:")


with st.expander("Make a character sheet", icon=":material/view_carousel:"):
    st.caption(
        "Nano Banana draws a character from the front, the side and the back, to keep in the kit and use "
        "in every shot. No real people: describe a made-up character, or upload a mascot."
    )
    subject = st.text_area(
        "Describe the character",
        key="brand_sheet_subject",
        max_chars=MAX_SUBJECT,
        height=80,
        placeholder="a cheerful orange fox mascot in a green hiking jacket",
    )
    subject_slot = st.empty()
    mascot = st.file_uploader(
        "…or upload the mascot (no real person's face)",
        type=["png", "jpg", "jpeg", "webp"],
        key="brand_sheet_mascot",
        max_upload_size=20,
    )
    if st.button(
        f"Make the sheet · {credits_text(price(SHEET_MODEL))}", key="brand_sheet_make", icon=":material/draw:"
    ):
        picture = mascot.getvalue() if mascot is not None else None
        digest = hashlib.sha256(picture or b"").hexdigest()
        try:
            params = kit.sheet_request(subject, picture)
            sheet, _ = generation_service().queue(
                params, request_key=request_key("brand_sheet", subject, digest)
            )
        except BrandError as exc:
            subject_slot.error(exc.message, icon=":material/error:")
        except InvalidRequestError as exc:
            subject_slot.error(exc.message, icon=":material/error:")
        else:
            balance_changed()
            st.session_state["brand_sheet_id"] = sheet.id
    if st.session_state.get("brand_sheet_id"):
        sheet_row = library.get(st.session_state["brand_sheet_id"])
        making = sheet_row is not None and Status(sheet_row.status).is_active
        st.fragment(run_every=2 if making else None)(sheet_result)(st.session_state["brand_sheet_id"], making)


# -- the assets -------------------------------------------------------------------------------------
@st.dialog("Delete this asset?", on_dismiss=lambda: st.session_state.pop("brand_confirm_delete", None))
@guarded
def confirm_delete(asset_id: int, name: str) -> None:
    st.write(
        f"@{name} leaves the kit and its picture leaves the media store. What was made with it stays; "
        "new requests can no longer name it."
    )
    yes, no = st.columns(2)
    if yes.button("Yes, delete", type="primary", key="brand_delete_yes", width="stretch"):
        kit.delete(asset_id)
        st.session_state.pop("brand_confirm_delete", None)
        st.rerun()
    if no.button("Keep it", key="brand_delete_no", width="stretch"):
        st.session_state.pop("brand_confirm_delete", None)
        st.rerun()


def rename(asset_id: int) -> None:
    try:
        kit.rename(asset_id, st.session_state[f"brand_name_{asset_id}"])
    except BrandError as exc:
        st.session_state[f"brand_rename_error_{asset_id}"] = exc.message


st.subheader("Assets")
assets = kit.assets()
if not assets:
    st.caption("None yet. Add a logo, a product photo or a face or mascot sheet above.")
with st.container(horizontal=True, gap="small"):  # cards that wrap: two a row on a phone
    for asset in assets:
        with st.container(border=True, key=f"brand_asset_{asset.id}", width=CARD_WIDTH):
            if files.exists(asset.thumb_path):
                st.image(files.source(asset.thumb_path), width="stretch")
            st.code(f"@{asset.name}", language=None)
            st.caption(KINDS.get(asset.kind, asset.kind), help=f"Added {asset.created_at:%d %b %Y}")
            st.text_input(
                "Rename", value=asset.name, key=f"brand_name_{asset.id}", on_change=rename, args=(asset.id,)
            )
            problem = st.session_state.pop(f"brand_rename_error_{asset.id}", None)
            if problem:
                st.error(problem, icon=":material/error:")
            if st.button("Delete", key=f"brand_delete_{asset.id}", icon=":material/delete:", width="stretch"):
                st.session_state["brand_confirm_delete"] = (asset.id, asset.name)
if st.session_state.get("brand_confirm_delete"):
    confirm_delete(*st.session_state["brand_confirm_delete"])

# -- colours and house style ------------------------------------------------------------------------
st.subheader("Colours and house style")
style = kit.style()
with st.form("brand_style", border=True):
    st.caption(f"Up to {MAX_COLOURS} colours; untick one to leave it out.")
    picked = []
    with st.container(horizontal=True, gap="medium"):  # wraps on a phone: three a row
        for number in range(MAX_COLOURS):
            existing = style.colours[number] if number < len(style.colours) else None
            with st.container(width=80):
                value = st.color_picker(
                    f"Colour {number + 1}", existing or "#ffffff", key=f"brand_colour_{number}"
                )
                if st.checkbox("Use", value=existing is not None, key=f"brand_colour_used_{number}"):
                    picked.append(value)
    colours_slot = st.empty()
    sentence = st.text_area(
        "House style",
        value=style.house_style,
        max_chars=MAX_HOUSE_STYLE,
        key="brand_house_style",
        placeholder="Warm daylight, matte finish, the logo small in a corner.",
        help="One sentence that can be appended to prompts (Images, Storyboard) when you tick it there.",
    )
    style_slot = st.empty()
    saved = st.form_submit_button("Save colours and house style", icon=":material/palette:")
if saved:
    try:
        kit.save_style(picked, sentence)
    except BrandError as exc:
        (colours_slot if exc.field == "colours" else style_slot).error(exc.message, icon=":material/error:")
    else:
        st.toast("Saved", icon=":material/palette:")
