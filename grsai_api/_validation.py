"""Checks made before anything is sent, and the request bodies they produce.

Every message is written for the person filling in the form, and names the field at fault, so a
page can show it next to that field. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from . import _catalogue as catalogue
from ._catalogue import FieldSpec, ModelSpec
from ._constants import (
    MAX_CHARACTER_SPAN_SECONDS,
    MAX_CHARACTERS,
    MAX_PROMPT_CHARS,
    MODEL,
)
from ._exceptions import InvalidRequestError
from ._models import Character

PID_PATTERN = re.compile(r"^s_[0-9a-f]{32}$")

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.-]+)*;base64,(?P<data>.*)$", re.S)

Timestamps = str | Sequence[float] | Sequence[str]
CharacterLike = Character | Mapping[str, Any] | tuple[Any, Any]


def _fail(message: str, field: str) -> InvalidRequestError:
    return InvalidRequestError(message, field=field)


def visible(text: Any) -> str:
    """``text`` without what a person cannot see at its ends (spaces, zero-width and format characters,
    controls), or "" when nothing in it can be seen: such text is empty."""
    if not isinstance(text, str):
        return ""
    seen = [n for n, c in enumerate(text) if not _unseen(c)]
    return text[seen[0] : seen[-1] + 1] if seen else ""


def _unseen(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) in ("Cf", "Cc", "Zs", "Zl", "Zp")


def refuse_nul(text: str, field: str, what: str) -> str:
    """``text`` unless it holds a NUL (\\0): nobody can see one, and PostgreSQL cannot keep one in a
    text column, so it is refused in words (at the place the person typed it) before anything is kept."""
    at = text.find("\x00")
    if at >= 0:
        raise _fail(
            f"{what} has an invisible NUL character (\\0) at character {at + 1}: delete it and type that "
            "spot again.",
            field,
        )
    return text


def check_prompt(prompt: Any) -> str:
    text = visible(prompt)
    if not text:
        raise _fail("Write a prompt first: it is empty.", "prompt")
    refuse_nul(prompt, "prompt", "The prompt")
    if len(text) > MAX_PROMPT_CHARS:
        over = len(text) - MAX_PROMPT_CHARS
        raise _fail(
            f"The prompt is {len(text):,} characters long; the limit is {MAX_PROMPT_CHARS:,}. "
            f"Cut {over:,} characters.",
            "prompt",
        )
    return text


def check_pid(value: Any, field: str = "pid") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not PID_PATTERN.match(text):
        shown = f" {text[:40]!r} is not one." if text else ""
        raise _fail(
            "A video pid looks like s_ followed by 32 characters 0-9 and a-f "
            f"(for example s_68e0c4f1a2b34c5d9e8f7a6b5c4d3e2f).{shown}",
            field,
        )
    return text


def _format_seconds(value: float) -> str:
    return f"{value:g}"


def check_timestamps(value: Timestamps, field: str = "timestamps") -> str:
    """Accept "0,3" or (0, 3); return the wire form "0,3"."""
    parts: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    try:
        start, end = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise _fail("Give the span as a start and an end in seconds, for example 0,3.", field) from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise _fail("The start and end must be numbers of seconds.", field)
    if start < 0 or end < 0:
        raise _fail("Times cannot be negative: the clip starts at 0 seconds.", field)
    if end <= start:
        raise _fail(
            f"The end ({_format_seconds(end)} s) must come after the start ({_format_seconds(start)} s).",
            field,
        )
    if end - start > MAX_CHARACTER_SPAN_SECONDS + 1e-9:
        raise _fail(
            f"A character span can be at most {MAX_CHARACTER_SPAN_SECONDS:g} seconds long; "
            f"{_format_seconds(start)}-{_format_seconds(end)} s is "
            f"{_format_seconds(end - start)} seconds.",
            field,
        )
    return f"{_format_seconds(start)},{_format_seconds(end)}"


def _is_web_url(text: str) -> bool:
    parsed = urlparse(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _decoded_head(b64: str) -> bytes:
    """The first bytes of a base64 payload, or b"" when it is not base64."""
    head = re.sub(r"\s+", "", b64[:64])
    head = head[: len(head) - len(head) % 4]
    try:
        return base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return b""


def image_mime(data: bytes) -> str | None:
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def video_mime(data: bytes) -> str | None:
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[4:8] in (b"moov", b"mdat", b"free", b"wide"):
        return "video/quicktime"
    return None


_IMAGE_MESSAGE = (
    "The reference image must be a web address (https://...) or an image file (PNG, JPEG, WebP or GIF)."
)
_CLIP_MESSAGE = "The character clip must be a web address (https://...) or a video file (MP4, MOV or WebM)."


def _check_media(
    value: Any, field: str, sniff: Callable[[bytes], str | None], message: str, what: str
) -> str:
    """A file as the wire wants it: an http(s) URL, a data URI, or bare base64; bytes become a
    data URI. The content is sniffed so that a wrong file is refused before it is sent."""
    if isinstance(value, bytes | bytearray):
        if not value:
            raise _fail(f"The {what} file is empty.", field)
        mime = sniff(bytes(value))
        if not mime:
            raise _fail(message, field)
        return f"data:{mime};base64,{base64.b64encode(value).decode()}"
    text = value.strip() if isinstance(value, str) else ""
    if _is_web_url(text):
        return refuse_nul(text, field, f"The {what}'s address")
    match = _DATA_URI.match(text)
    payload = match["data"] if match else text
    mime = sniff(_decoded_head(payload)) if payload else None
    if not mime:
        raise _fail(message, field)
    return f"data:{mime};base64,{payload}" if match else text  # bare base64 is taken as it is


def check_image(value: Any, field: str = "image_url") -> str:
    """A reference image: a URL, a data URI, bare base64 or the file's bytes."""
    return _check_media(value, field, image_mime, _IMAGE_MESSAGE, "image")


def check_clip(value: Any, field: str = "url") -> str:
    """A character clip: a URL, a data URI, bare base64 or the file's bytes."""
    return _check_media(value, field, video_mime, _CLIP_MESSAGE, "clip")


def _as_character(item: CharacterLike) -> Character:
    if isinstance(item, Character):
        return item
    if isinstance(item, Mapping):
        return Character(url=item.get("url"), timestamps=item.get("timestamps", (0, 3)))
    url, timestamps = item
    return Character(url=url, timestamps=timestamps)


def check_characters(items: Sequence[CharacterLike] | None) -> list[dict[str, str]]:
    if not items:
        return []
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise _fail("Characters must be a list of clips, each with a span.", "characters")
    if len(items) > MAX_CHARACTERS:
        raise _fail(
            f"Sora takes at most {MAX_CHARACTERS} characters in one video; this request has {len(items)}.",
            "characters",
        )
    wire = []
    for number, item in enumerate(items, start=1):
        try:
            character = _as_character(item)
        except (TypeError, ValueError):
            raise _fail(f"Character {number} needs a clip and a span.", "characters") from None
        try:
            url = check_clip(character.url, "characters")
            timestamps = check_timestamps(character.timestamps, "characters")
        except InvalidRequestError as exc:
            raise _fail(f"Character {number}: {exc.message}", "characters") from None
        wire.append({"url": url, "timestamps": timestamps})
    return wire


def video_body(*, model: str = MODEL, **params: Any) -> dict[str, Any]:
    """The JSON body of a Sora video create, minus the reply-mode fields."""
    return build_body(catalogue.spec(model), params)


def upload_character_body(*, url: Any, timestamps: Timestamps) -> dict[str, Any]:
    return {"url": check_clip(url), "timestamps": check_timestamps(timestamps)}


def create_character_body(*, pid: Any, timestamps: Timestamps | None) -> dict[str, Any]:
    """``timestamps`` is optional here (one official copy of the document omits it)."""
    body: dict[str, Any] = {"pid": check_pid(pid)}
    if timestamps not in (None, ""):
        body["timestamps"] = check_timestamps(timestamps)
    return body


# -- every model: one builder over its catalogue entry -----------------------------------------------
_AUDIO_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)
_AUDIO_MESSAGE = "A reference sound must be a web address (https://...) or a sound file (MP3, WAV, M4A, OGG or FLAC)."
_RATIO_WORDS = {"16:9": "16:9 (landscape)", "9:16": "9:16 (portrait)", "1:1": "1:1 (square)"}
# Keywords that are not fields of the table: Sora's remix and Cameo (see FAMILY_RULES).
_EXTRAS = {"remix_target_id": "remix", "characters": "characters (Cameo)"}


def audio_mime(data: bytes) -> str | None:
    for signature, mime in _AUDIO_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def check_audio(value: Any, field: str = "audio_urls") -> str:
    """A reference sound: a URL, a data URI, bare base64 or the file's bytes."""
    return _check_media(value, field, audio_mime, _AUDIO_MESSAGE, "sound")


def _or(values: Sequence[Any], unit: str = "") -> str:
    words = [_RATIO_WORDS.get(str(v), str(v)) for v in values]
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"{text} {unit}".rstrip()


def _number(value: Any) -> float:
    """``value`` as a number, NaN when it is not one (True is not one second)."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _given(value: Any) -> bool:
    return value not in (None, "", [], (), b"") and not (isinstance(value, str) and not visible(value))


def _refuse_extra(model: ModelSpec, params: Mapping[str, Any], takes: set[str]) -> None:
    for name, value in params.items():
        if name in takes or not _given(value):
            continue
        what = _EXTRAS.get(name) or name.replace("_urls", " images").replace("_url", " image").replace("_", " ")
        raise _fail(f"{model.name} does not take {what}.", name)


def check_choice(value: Any, allowed: Sequence[Any], field: str, what: str, unit: str = "") -> Any:
    """One of ``allowed`` (words match whatever their case; numbers match "10" and 10.0)."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    for option in allowed:
        if isinstance(option, int) and not isinstance(option, bool):
            number = _number(value)
            if math.isfinite(number) and number == option:
                return option
        elif str(option).lower() == text.lower():
            return option
    raise _fail(f"{what} must be {_or(allowed, unit)}, not {value!r}.", field)


def _check_list(
    values: Any, model: ModelSpec, spec: FieldSpec, check: Callable[[Any, str], str], noun: str
) -> list[str]:
    if isinstance(values, str | bytes | bytearray):
        items = [values]
    elif isinstance(values, list | tuple):
        items = list(values)
    else:
        raise _fail(f"{spec.title} must be a list of web addresses or {noun} files.", spec.name)
    if len(items) > spec.count:
        plural = noun if spec.count == 1 else f"{noun}s"
        raise _fail(
            f"{model.name} takes at most {spec.count} {spec.title.lower() if spec.label else plural}; "
            f"this request has {len(items)}.",
            spec.name,
        )
    wire = []
    for number, item in enumerate(items, start=1):
        try:
            wire.append(check(item, spec.name))
        except InvalidRequestError as exc:
            raise _fail(f"{spec.title} {number}: {exc.message}", spec.name) from None
    return wire


def check_field(spec: FieldSpec, value: Any, model: ModelSpec) -> Any:
    """One field's value as the wire wants it; InvalidRequestError naming the field otherwise."""
    unit = "seconds" if spec.name == "duration" else ""
    if spec.kind == "choices":
        if spec.sends:  # a value sent may also be given ("landscape" for "16:9")
            back = {str(sent).lower(): given for given, sent in spec.sends.items()}
            value = back.get(str(value).strip().lower(), value)
        return spec.wire_value(check_choice(value, spec.choices, spec.name, spec.title, unit))
    if spec.kind == "integer":
        number = _number(value.strip() if isinstance(value, str) else value)
        low, high = spec.minimum, spec.maximum
        if not (math.isfinite(number) and number.is_integer() and low <= number <= high):  # type: ignore[operator]
            raise _fail(f"{spec.title} must be a whole number from {low} to {high}, not {value!r}.", spec.name)
        return int(number)
    if spec.kind == "images":
        if spec.single:
            if isinstance(value, list | tuple):
                if len(value) != 1:
                    raise _fail(f"{model.name} takes one {spec.title.lower()}.", spec.name)
                value = value[0]
            return check_image(value, spec.name)
        return _check_list(value, model, spec, check_image, "image")
    if spec.kind == "audios":
        return _check_list(value, model, spec, check_audio, "sound")
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise _fail(f"{spec.title} must be true or false, not {value!r}.", spec.name)
    text = value if isinstance(value, str) else ""
    if not text.strip():
        raise _fail(f"{spec.title} must be text.", spec.name)
    refuse_nul(text, spec.name, spec.title)
    if len(text) > spec.max_chars:
        raise _fail(f"{spec.title} takes at most {spec.max_chars:,} characters; this has {len(text):,}.", spec.name)
    return text


# -- the rules a table cannot say, by family ------------------------------------------------------
def _sora_rules(model: ModelSpec, params: Mapping[str, Any], body: dict[str, Any]) -> None:
    if _given(params.get("remix_target_id")):
        body["remixTargetId"] = check_pid(params["remix_target_id"], "remix_target_id")
    characters = check_characters(params.get("characters"))
    if characters:
        body["characters"] = characters


def _veo_rules(model: ModelSpec, params: Mapping[str, Any], body: dict[str, Any]) -> None:
    frames = any(_given(params.get(k)) for k in ("first_frame_url", "last_frame_url"))
    if frames and _given(params.get("reference_urls")):
        raise _fail(
            "Veo takes either a first/last frame or reference images, not both: clear one of them.",
            "reference_urls",
        )


def _longest_rule(model: ModelSpec, params: Mapping[str, Any], body: dict[str, Any]) -> None:
    duration, resolution = model.fields.get("duration"), model.fields.get("resolution")
    if duration is None or resolution is None or duration.wire not in body:
        return
    chosen = next((given for given in resolution.choices if resolution.wire_value(given) == body[resolution.wire]), None)
    longest = model.longest(str(chosen))
    if longest is not None and body[duration.wire] > longest:
        raise _fail(
            f"At {chosen}, {model.name} makes at most {longest} seconds; {params.get('duration')!r} is too long.",
            "duration",
        )


FAMILY_RULES: dict[str, Callable[[ModelSpec, Mapping[str, Any], dict[str, Any]], None]] = {
    "Sora 2": _sora_rules,
    "Veo 3.1": _veo_rules,
}  # and, for every family, the longest video at a resolution (catalogue.LONGEST_AT: MiniMax)


def build_body(entry: ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a create of ``entry`` from the client's keywords, field by field as its catalogue
    entry says (a value given is checked; a field not given sends its default unless it is optional),
    then the rules of its family. Nothing is sent when anything is wrong: InvalidRequestError names the
    field."""
    extras = {name for name in _EXTRAS if (name == "remix_target_id" and entry.remix) or (name == "characters" and entry.characters)}
    _refuse_extra(entry, params, {"prompt", *entry.fields, *extras})
    body: dict[str, Any] = {"model": entry.id, "prompt": check_prompt(params.get("prompt"))}
    for name, spec in entry.fields.items():
        value = params.get(name)
        if not _given(value):
            if spec.optional or spec.default is None:
                continue
            value = spec.default
        body[spec.wire] = check_field(spec, value, entry)
    if entry.family in FAMILY_RULES:
        FAMILY_RULES[entry.family](entry, params, body)
    _longest_rule(entry, params, body)
    if entry.api == "unified":
        body["replyType"] = "async"
    return body


def video_request(model: str, **params: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model's entry and the body of a video create (minus reply-mode fields); bad input raises
    InvalidRequestError naming the field, and nothing is sent."""
    entry = _model(model, "video")
    return entry, build_body(entry, params)


def image_request(model: str, **params: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model's entry and the body of an image create (minus reply-mode fields)."""
    entry = _model(model, "image")
    return entry, build_body(entry, params)


def _model(model: Any, kind: str) -> ModelSpec:
    try:
        entry = catalogue.spec(model)
    except catalogue.UnknownModelError as exc:
        raise _fail(str(exc), "model") from None
    if entry.kind != kind:
        other = "create_image" if entry.kind == "image" else "create_video"
        raise _fail(f"{entry.name} makes {entry.kind}s, not {kind}s: use {other}.", "model")
    return entry
