"""Uploaded pictures shown on their form: small copies made from a reduced decode, never the file
itself (Streamlit would decode the whole picture to resize it), and a picture with too many pixels or
one that cannot be read said in words instead."""

from __future__ import annotations

import streamlit as st

from studio.pictures import PictureTooLarge, preview_jpeg

NOT_A_PICTURE = "This file is not an image that can be read (PNG, JPEG, WebP or GIF). Choose another."


def show_uploads(uploads: list[bytes], width: int, caption: str | None = None) -> None:
    shown = []
    for data in uploads:
        try:
            small = preview_jpeg(data, width)
        except PictureTooLarge as exc:
            st.error(f"{exc}: make it smaller and upload it again.", icon=":material/photo_size_select_large:")
            continue
        if small is None:
            st.error(NOT_A_PICTURE, icon=":material/broken_image:")
            continue
        shown.append(small)
    if shown:
        st.image(shown, width=width, caption=[caption] * len(shown) if caption else None)
