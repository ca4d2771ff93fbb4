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

from . import _catalogue as catalogue
from ._catalogue import ModelSpec
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


def video_body(
    *,
    prompt: Any = None,
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


def create_character_body(*, pid: Any, timestamps: Timestamps | None) -> dict[str, Any]:
    """``timestamps`` is optional here (one official copy of the document omits it)."""
    body: dict[str, Any] = {"pid": check_pid(pid)}
    if timestamps not in (None, ""):
        body["timestamps"] = check_timestamps(timestamps)
    return body


# -- every model: one entry point per kind, dispatching on the catalogue ---------------------------
_SORA_ONLY = {"duration", "size", "image_url", "remix_target_id", "characters"}
_FIELD_WORDS = {
    "duration": "a choice of duration",
    "size": "a size (small/large)",
    "image_url": "a single reference image (use reference_urls)",
    "remix_target_id": "remix",
    "characters": "characters (Cameo)",
    "first_frame_url": "a first frame",
    "last_frame_url": "a last frame",
    "reference_urls": "reference images",
    "image_size": "an image size",
    "variants": "several variants",
    "resolution": "a resolution",
    "seed": "a seed",
}


def _refuse_extra(model: ModelSpec, params: Mapping[str, Any], takes: set[str]) -> None:
    for name, value in params.items():
        if name in takes or value in (None, "", [], (), b""):
            continue
        what = _FIELD_WORDS.get(name, name)
        raise _fail(f"{model.name} does not take {what}.", name)


def check_choice(value: Any, allowed: Sequence[str], field: str, what: str) -> str:
    text = str(value).strip() if value is not None else ""
    match = next((a for a in allowed if a.lower() == text.lower()), None)
    if match is None:
        raise _fail(f"{what} must be one of {', '.join(allowed)}, not {value!r}.", field)
    return match


def check_references(values: Any, model: ModelSpec, field: str = "reference_urls") -> list[str]:
    if isinstance(values, str | bytes | bytearray):
        items = [values]
    elif isinstance(values, list | tuple):
        items = list(values)
    else:
        raise _fail("Reference images must be a list of web addresses or image files.", field)
    if len(items) > model.max_references:
        raise _fail(
            f"{model.name} takes at most {model.max_references} reference images; this request has {len(items)}.",
            field,
        )
    wire = []
    for number, item in enumerate(items, start=1):
        try:
            wire.append(check_image(item, field))
        except InvalidRequestError as exc:
            raise _fail(f"Reference {number}: {exc.message}", field) from None
    return wire


def _number(value: Any) -> float:
    """``value`` as a number of seconds, NaN when it is not one (True is not one second)."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _check_seconds(value: Any, model: ModelSpec, resolution: str | None) -> int:
    number = _number(value)
    longest = model.longest(resolution)
    if not (math.isfinite(number) and number.is_integer() and int(number) in model.durations):
        low, high = min(model.durations), max(model.durations)
        raise _fail(f"Duration must be a whole number of seconds from {low} to {high}, not {value!r}.", "duration")
    if longest is not None and number > longest:
        raise _fail(f"At {resolution}, {model.name} makes at most {longest} seconds; {value!r} is too long.", "duration")
    return int(number)


def _veo_body(model: ModelSpec, p: dict[str, Any]) -> dict[str, Any]:
    _refuse_extra(model, p, {"prompt", "aspect_ratio", "first_frame_url", "last_frame_url", "reference_urls", "duration"})
    if p.get("duration") not in (None, "") and _number(p["duration"]) != model.seconds:
        raise _fail(f"{model.name} videos are {model.seconds} seconds long; there is no other length.", "duration")
    body: dict[str, Any] = {
        "model": model.id,
        "prompt": check_prompt(p.get("prompt")),
        "aspectRatio": check_choice(p.get("aspect_ratio") or "16:9", model.aspect_ratios, "aspect_ratio", "Aspect ratio"),
    }
    frames = {k: p.get(k) for k in ("first_frame_url", "last_frame_url") if p.get(k) not in (None, "", b"")}
    references = p.get("reference_urls") or []
    if frames and references:
        raise _fail(
            "Veo takes either a first/last frame or reference images, not both: clear one of them.",
            "reference_urls",
        )
    if "first_frame_url" in frames:
        body["firstFrameUrl"] = check_image(frames["first_frame_url"], "first_frame_url")
    if "last_frame_url" in frames:
        body["lastFrameUrl"] = check_image(frames["last_frame_url"], "last_frame_url")
    if references:
        body["urls"] = check_references(references, model)
    return body


def _unified_video_body(model: ModelSpec, p: dict[str, Any]) -> dict[str, Any]:
    _refuse_extra(model, p, {"prompt", "aspect_ratio", "duration", "resolution", "reference_urls", "seed"})
    resolution = check_choice(p.get("resolution") or model.resolutions[-1], model.resolutions, "resolution", "Resolution")
    ratio = str(p.get("aspect_ratio") or "16:9").strip().lower()
    wire_ratio = {"16:9": "landscape", "landscape": "landscape", "9:16": "portrait", "portrait": "portrait"}.get(ratio)
    if wire_ratio is None:
        raise _fail(f"Aspect ratio must be 16:9 (landscape) or 9:16 (portrait), not {p.get('aspect_ratio')!r}.", "aspect_ratio")
    duration = p.get("duration")
    body: dict[str, Any] = {
        "model": model.id,
        "prompt": check_prompt(p.get("prompt")),
        "aspectRatio": wire_ratio,
        "resolution": resolution,
        "duration": _check_seconds(model.default_duration if duration in (None, "") else duration, model, resolution),
        "replyType": "async",
    }
    references = p.get("reference_urls") or []
    if references:
        body["images"] = check_references(references, model)
    seed = p.get("seed")
    if seed not in (None, ""):
        try:
            body["seed"] = int(str(seed).strip())
        except ValueError:
            raise _fail(f"The seed must be a whole number, not {seed!r}.", "seed") from None
    return body


def video_request(model: str, **params: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model's entry and the body of a video create (minus reply-mode fields); bad input raises
    InvalidRequestError naming the field, and nothing is sent."""
    entry = _model(model, "video")
    if entry.api == "sora":
        _refuse_extra(entry, params, {"prompt", "aspect_ratio", *_SORA_ONLY})
        given = {k: v for k, v in params.items() if v is not None and k in {"prompt", "aspect_ratio", *_SORA_ONLY}}
        given.setdefault("duration", 10)
        given.setdefault("size", "small")
        return entry, video_body(model=entry.id, **given)
    if entry.api == "veo":
        return entry, _veo_body(entry, params)
    return entry, _unified_video_body(entry, params)


def image_request(model: str, **params: Any) -> tuple[ModelSpec, dict[str, Any]]:
    """The model's entry and the body of an image create (minus reply-mode fields)."""
    entry = _model(model, "image")
    p = params
    if entry.api == "nano-banana":
        _refuse_extra(entry, p, {"prompt", "aspect_ratio", "image_size", "reference_urls"})
        body: dict[str, Any] = {
            "model": entry.id,
            "prompt": check_prompt(p.get("prompt")),
            "aspectRatio": check_choice(p.get("aspect_ratio") or "auto", entry.aspect_ratios, "aspect_ratio", "Aspect ratio"),
            "imageSize": check_choice(p.get("image_size") or "1K", entry.image_sizes, "image_size", "Image size"),
        }
    else:
        _refuse_extra(entry, p, {"prompt", "aspect_ratio", "variants", "reference_urls"})
        variants = p.get("variants") or 1
        try:
            count = int(str(variants).strip())
        except ValueError:
            count = 0
        if not 1 <= count <= entry.max_variants:
            raise _fail(f"Variants must be a whole number from 1 to {entry.max_variants}, not {variants!r}.", "variants")
        body = {
            "model": entry.id,
            "prompt": check_prompt(p.get("prompt")),
            "aspectRatio": check_choice(p.get("aspect_ratio") or "1:1", entry.aspect_ratios, "aspect_ratio", "Aspect ratio"),
            "variants": count,
        }
    references = p.get("reference_urls") or []
    if references:
        body["urls"] = check_references(references, entry)
    return entry, body


def _model(model: Any, kind: str) -> ModelSpec:
    try:
        entry = catalogue.spec(model)
    except catalogue.UnknownModelError as exc:
        raise _fail(str(exc), "model") from None
    if entry.kind != kind:
        other = "create_image" if entry.kind == "image" else "create_video"
        raise _fail(f"{entry.name} makes {entry.kind}s, not {kind}s: use {other}.", "model")
    return entry
