"""Checks made before anything is sent, and the request bodies they produce.

Every message is written for the person filling in the form, and names the field at fault, so a
page can show it next to that field. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from ._constants import (
    ASPECT_RATIOS,
    DURATIONS,
    MAX_CHARACTER_SPAN_SECONDS,
    MAX_CHARACTERS,
    MAX_PROMPT_CHARS,
    MODEL,
    SIZES,
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


def check_prompt(prompt: Any) -> str:
    text = prompt.strip() if isinstance(prompt, str) else ""
    if not text:
        raise _fail("Write a prompt first: it is empty.", "prompt")
    if len(text) > MAX_PROMPT_CHARS:
        over = len(text) - MAX_PROMPT_CHARS
        raise _fail(
            f"The prompt is {len(text):,} characters long; the limit is {MAX_PROMPT_CHARS:,}. "
            f"Cut {over:,} characters.",
            "prompt",
        )
    return text


def check_aspect_ratio(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    if text not in ASPECT_RATIOS:
        raise _fail(
            f"Aspect ratio must be 16:9 (landscape) or 9:16 (portrait), not {value!r}.",
            "aspect_ratio",
        )
    return text


def check_duration(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if number not in DURATIONS:
        raise _fail(f"Duration must be 10 or 15 seconds, not {value!r}.", "duration")
    return int(number)


def check_size(value: Any) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text not in SIZES:
        raise _fail(f"Size must be small or large, not {value!r}.", "size")
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
        return text
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


def video_body(
    *,
    prompt: Any,
    aspect_ratio: Any = "16:9",
    duration: Any = 10,
    size: Any = "small",
    image_url: Any = None,
    remix_target_id: Any = None,
    characters: Sequence[CharacterLike] | None = None,
    model: str = MODEL,
) -> dict[str, Any]:
    """The JSON body of a video create, minus the reply-mode fields."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": check_prompt(prompt),
        "aspectRatio": check_aspect_ratio(aspect_ratio),
        "duration": check_duration(duration),
        "size": check_size(size),
    }
    if image_url not in (None, "", b""):
        body["url"] = check_image(image_url)
    if remix_target_id not in (None, ""):
        body["remixTargetId"] = check_pid(remix_target_id, "remix_target_id")
    wire_characters = check_characters(characters)
    if wire_characters:
        body["characters"] = wire_characters
    return body


def upload_character_body(*, url: Any, timestamps: Timestamps) -> dict[str, Any]:
    return {"url": check_clip(url), "timestamps": check_timestamps(timestamps)}


def create_character_body(*, pid: Any, timestamps: Timestamps) -> dict[str, Any]:
    return {"pid": check_pid(pid), "timestamps": check_timestamps(timestamps)}
