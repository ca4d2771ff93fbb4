"""A model's form drawn from its catalogue entry: one widget per field (grsai_api/models.toml), so a
model a deployment adds by file gets its form with no code. The widgets only collect; the client's
checks (``image_request`` / ``video_request``) judge, and their messages go into the field's slot.

Choices become a segmented control (a few short ones) or a select box; small integer ranges a
segmented control, larger ones a number box (empty when the field is optional); booleans a toggle;
text a text box; image and sound lists an uploader beside a box for addresses, one per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from components.pictures import show_uploads
from grsai_api import FieldSpec, ModelSpec
from studio.library import choice_words

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]
AUDIO_TYPES = ["mp3", "wav", "m4a", "ogg", "flac"]
# Widget names kept from before the forms were drawn from the catalogue (tests and links use them).
_NAMES = {"image_size": "size", "reference_urls": "ref", "audio_urls": "sound"}
_RATIO_WORDS = {
    "16:9": ":material/crop_16_9: 16:9",
    "9:16": ":material/crop_portrait: 9:16",
    "1:1": ":material/crop_square: 1:1",
}


def widget_key(prefix: str, field: FieldSpec | str) -> str:
    name = field if isinstance(field, str) else field.name
    return f"{prefix}_{_NAMES.get(name, name)}"


def widget_keys(specs: Iterable[ModelSpec], prefix: str) -> tuple[str, ...]:
    """Every widget key the forms of these models use (to keep them when the page is left)."""
    keys: dict[str, None] = {}
    for spec in specs:
        for field in spec.fields.values():
            key = widget_key(prefix, field)
            if field.kind in ("images", "audios"):
                keys[f"{key}_urls"] = None
            else:
                keys[key] = None
    return tuple(keys)


def _short(values: tuple[Any, ...]) -> bool:
    return len(values) <= 5 and all(len(str(v)) <= 8 for v in values)


def _label(value: Any, field: FieldSpec, icons: bool = True) -> str:
    if field.name == "aspect_ratio" and icons:
        return _RATIO_WORDS.get(str(value), str(value))
    if field.name == "duration":
        return f"{value} s"
    return choice_words(value)


def _start(key: str, values: tuple[Any, ...], default: Any) -> None:
    """Give the widget its first value (or a valid one, when the model changed under it). The value is
    set again each run: a key another model's widget used (Sora's duration, then MiniMax's) would
    otherwise start the new widget from its own default."""
    value = st.session_state.get(key)
    st.session_state[key] = value if value in values else (default if default in values else values[0])


def _choice(field: FieldSpec, key: str, where: Any) -> Any:
    values = field.values
    _start(key, values, field.default)
    if _short(values):
        return where.segmented_control(
            field.title,
            list(values),
            required=True,
            key=key,
            format_func=lambda v: _label(v, field),
            help=field.help or None,
        )
    return where.selectbox(
        field.title, list(values), key=key, format_func=lambda v: _label(v, field, icons=False), help=field.help or None
    )


def _number(field: FieldSpec, key: str, where: Any) -> Any:
    if field.values and len(field.values) <= 6 and not field.optional:
        return _choice(field, key, where)
    if field.optional:
        if key not in st.session_state:
            st.session_state[key] = None
        return where.number_input(
            f"{field.title} (optional)",
            min_value=field.minimum,
            max_value=field.maximum,
            step=1,
            key=key,
            placeholder="leave empty for none",
            help=field.help or None,
        )
    value = st.session_state.get(key)
    fits = isinstance(value, int) and field.minimum <= value <= field.maximum  # type: ignore[operator]
    st.session_state[key] = value if fits else (field.default if field.default is not None else field.minimum)
    return where.slider(
        field.title, field.minimum, field.maximum, key=key, help=field.help or None, format="%d"
    )


def _files(field: FieldSpec, key: str, where: Any) -> tuple[list[Any], Any]:
    """Uploads, then each address typed on its own line; and the slot for its message, under them."""
    sound = field.kind == "audios"
    noun = "sound" if sound else "image"
    many = field.count > 1
    heading = f"{field.title} (optional, up to {field.count})" if many else f"{field.title} (optional)"
    with where.expander(heading, icon=":material/graphic_eq:" if sound else ":material/image:"):
        if field.help:
            st.caption(field.help)
        uploads = st.file_uploader(
            f"Upload {noun}s" if many else f"Upload an {noun}" if noun == "image" else "Upload a sound",
            type=AUDIO_TYPES if sound else IMAGE_TYPES,
            accept_multiple_files=many,
            key=f"{key}_files",
            max_upload_size=20,
        )
        typed = st.text_area(
            "…or their addresses, one per line" if many else "…or its address",
            key=f"{key}_urls",
            height=80 if many else 68,
        )
        slot = st.empty()
        uploads = [] if uploads is None else (uploads if isinstance(uploads, list) else [uploads])
        if uploads and not sound:
            show_uploads([f.getvalue() for f in uploads[: field.count]], 96)
        elif uploads:
            for upload in uploads[: field.count]:
                st.audio(upload.getvalue())
    items = [f.getvalue() for f in uploads]
    return items + [line.strip() for line in (typed or "").splitlines() if line.strip()], slot


def model_form(
    spec: ModelSpec, prefix: str, *, skip: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The widgets of ``spec``'s fields (but ``skip``), choices two to a row, then the lists of files.
    Returns the parameters as the client takes them (a field left empty is left out) and an empty slot
    per field, for the message when a check refuses it."""
    skipped = set(skip)
    fields = [f for f in spec.fields.values() if f.name not in skipped]
    owner = f"_{prefix}_fields_of"  # whose values the widgets hold: another model's start from defaults
    if st.session_state.get(owner) not in (None, spec.id):
        for field in fields:
            if field.name != "aspect_ratio" and field.kind in ("choices", "integer", "boolean"):
                key = widget_key(prefix, field)
                st.session_state[key] = None if field.optional and field.kind == "integer" else field.default
    st.session_state[owner] = spec.id
    params: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    settings = [f for f in fields if f.kind not in ("images", "audios")]
    for start in range(0, len(settings), 2):
        pair = settings[start : start + 2]
        columns = st.columns(2)
        for field, column in zip(pair, columns, strict=False):
            key = widget_key(prefix, field)
            if field.kind == "choices":
                value = _choice(field, key, column)
            elif field.kind == "integer":
                value = _number(field, key, column)
            elif field.kind == "boolean":
                current = st.session_state.get(key)
                st.session_state[key] = current if isinstance(current, bool) else bool(field.default)
                value = column.toggle(field.title, key=key, help=field.help or None)
            else:
                value = column.text_input(field.title, key=key, max_chars=field.max_chars, help=field.help or None)
            left_as_is = field.optional and value == field.default  # optional: sent only when chosen
            if value not in (None, "") and not left_as_is:
                params[field.name] = int(value) if field.kind == "integer" else value
            slots[field.name] = column.empty()
    for field in fields:
        if field.kind not in ("images", "audios"):
            continue
        items, slots[field.name] = _files(field, widget_key(prefix, field), st)
        if items:
            params[field.name] = items[0] if field.single else items
    return params, slots
