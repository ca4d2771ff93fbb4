"""Video clips people bring for characters: read them, check them, take frames from them.

Every problem is a ClipError whose message can be shown next to the field as it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from grsai_api import InvalidRequestError, check_timestamps

from .safe_fetch import FetchError, fetch_bytes

MAX_CLIP_BYTES = 50 * 1024 * 1024
MAX_CLIP_SECONDS = 300.0
MAX_SPAN_SECONDS = 3.0


class ClipError(ValueError):
    """A clip that cannot be used, with a message for the person who chose it."""


@dataclass(frozen=True)
class ClipInfo:
    duration: float
    width: int
    height: int


def _source(clip: bytes | Path) -> io.BytesIO | str:
    return io.BytesIO(clip) if isinstance(clip, bytes | bytearray) else str(clip)


def probe(clip: bytes | Path) -> ClipInfo:
    """Length and size of a clip; ClipError when it is not a video, empty, too big or too long."""
    if isinstance(clip, bytes | bytearray):
        if not clip:
            raise ClipError("The file is empty.")
        if len(clip) > MAX_CLIP_BYTES:
            raise ClipError(
                f"The file is {len(clip) / 2**20:.0f} MB; clips can be at most "
                f"{MAX_CLIP_BYTES // 2**20} MB. Trim it to the moment you need."
            )
    try:
        with av.open(_source(clip)) as container:
            if not container.streams.video:
                raise ClipError("This file has no picture: choose a video clip (MP4, MOV or WebM).")
            if container.format.name == "image2" or container.format.name.endswith("_pipe"):
                raise ClipError("This is a picture, not a video: choose a video clip (MP4, MOV or WebM).")
            stream = container.streams.video[0]
            if container.duration:
                duration = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = 0.0
            info = ClipInfo(duration, stream.codec_context.width, stream.codec_context.height)
    except ClipError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError):
        raise ClipError("This file is not a video we can read: choose an MP4, MOV or WebM clip.") from None
    if info.duration <= 0.1:
        raise ClipError("This clip has no length: choose a clip of at least a second.")
    if info.duration > MAX_CLIP_SECONDS:
        raise ClipError(
            f"The clip is {info.duration / 60:.0f} minutes long; use one under "
            f"{MAX_CLIP_SECONDS / 60:.0f} minutes, trimmed around the character."
        )
    return info


def check_span(start: float, end: float, info: ClipInfo) -> str:
    """The wire form "start,end" of a span inside the clip, or ClipError saying what is wrong."""
    try:
        wire = check_timestamps((round(start, 2), round(end, 2)))
    except InvalidRequestError as exc:
        raise ClipError(exc.message) from None
    if end > info.duration + 0.05:
        raise ClipError(f"The span ends at {end:.1f} s but the clip is only {info.duration:.1f} s long.")
    return wire


def frame_at(clip: bytes | Path, seconds: float) -> Image.Image:
    """The first frame at or after ``seconds`` (the last frame when the clip ends first)."""
    last = None
    try:
        with av.open(_source(clip)) as container:
            for frame in container.decode(video=0):
                last = frame  # made a picture once, when it is the one taken
                if frame.time is not None and frame.time >= seconds - 1e-3:
                    break
            if last is None:
                raise ClipError("This clip has no frames.")
            return last.to_image()
    except (av.FFmpegError, OSError, IndexError):
        raise ClipError("This file is not a video we can read.") from None


def download_clip(url: str, *, timeout: float = 30.0, allow_local: bool = False) -> bytes:
    """Fetch a clip from the web for previewing: http(s) only, no local or private addresses
    (unless the service is the local sandbox), redirects re-checked, size and time capped, and it
    must be a video (studio.safe_fetch)."""
    try:
        return fetch_bytes(
            url.strip(), kind="clip", max_bytes=MAX_CLIP_BYTES, total_timeout=timeout, allow_local=allow_local
        )
    except FetchError as exc:
        raise ClipError(f"That clip could not be used: {exc.message}") from None
