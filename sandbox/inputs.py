"""Turning what a request names (a URL, a data URI, bare base64) into bytes the sandbox can use."""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

import httpx
from PIL import Image, UnidentifiedImageError

MAX_INPUT_BYTES = 64 * 1024 * 1024
_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.I)


class BadInput(ValueError):
    """A parameter the sandbox cannot use; the message goes back to the caller as ``msg``."""


LocalResolver = Callable[[str], Awaitable[bytes | None]]


async def load_bytes(source: str, what: str, http: httpx.AsyncClient, local: LocalResolver) -> bytes:
    """Bytes of ``source``: a data URI, bare base64, or an http(s) URL (our own media read from disk)."""
    if not isinstance(source, str) or not source.strip():
        raise BadInput(f"{what} is empty")
    text = source.strip()
    if _DATA_URI.match(text):
        return _b64(text.split(",", 1)[1], what)
    parsed = urlparse(text)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        own = await local(parsed.path)
        if own is not None:
            return own
        try:
            response = await http.get(text, timeout=20.0, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise BadInput(f"could not download {what} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise BadInput(f"could not download {what} (HTTP {response.status_code})")
        if len(response.content) > MAX_INPUT_BYTES:
            raise BadInput(f"{what} is larger than {MAX_INPUT_BYTES // 2**20} MB")
        return response.content
    return _b64(text, what)


def _b64(payload: str, what: str) -> bytes:
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{what} is neither a URL nor base64 data") from None
    if not data:
        raise BadInput(f"{what} is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise BadInput(f"{what} is larger than {MAX_INPUT_BYTES // 2**20} MB")
    return data


def open_image(data: bytes, what: str = "url") -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise BadInput(f"{what} is not an image") from None
    return image.convert("RGB")


def parse_timestamps(value: object) -> tuple[float, float]:
    """ "start,end" in seconds, start >= 0, end > start, at most 3 s apart."""
    try:
        start, end = (float(p) for p in str(value).split(","))
    except ValueError:
        raise BadInput('timestamps must be "start,end" in seconds, e.g. "0,3"') from None
    if start < 0 or end <= start:
        raise BadInput("timestamps must have 0 <= start < end")
    if end - start > 3.0 + 1e-9:
        raise BadInput("timestamps may be at most 3 seconds apart")
    return start, end
