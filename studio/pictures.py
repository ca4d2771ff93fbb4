"""Pictures people upload or the service returns, opened safely: their size in pixels is read from the
header and checked before anything is decoded (a 110 KB PNG can hold 30000×30000 pixels, 2.7 GB once
decoded), and small copies are made from a reduced decode (JPEG's draft, Pillow's reduce) rather than
from the whole picture."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile, UnidentifiedImageError

MAX_PICTURE_PIXELS = 50_000_000  # 50 megapixels: any camera's photo, 4K and 8K pictures fit
READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, Image.DecompressionBombError)


class PictureTooLarge(Exception):
    """A picture with more pixels than MAX_PICTURE_PIXELS; its message says so in words (a sentence
    without its full stop, for the caller to finish: what to do depends on where the picture came from)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(
            f"This picture is {width}×{height} pixels; the most is {MAX_PICTURE_PIXELS // 1_000_000} million "
            "pixels (for example 8000×6000)"
        )
        self.size = (width, height)


def _source(data: bytes | str | Path | BinaryIO) -> str | BinaryIO:
    if isinstance(data, bytes | bytearray):
        return io.BytesIO(data)
    return str(data) if isinstance(data, Path) else data


def open_picture(data: bytes | str | Path | BinaryIO) -> ImageFile.ImageFile:
    """The picture, opened but not decoded; PictureTooLarge when it has too many pixels,
    UnidentifiedImageError (an OSError) when it is not a picture. Close it (``with``) when done."""
    source = _source(data)
    try:
        image = Image.open(source)
    except Image.DecompressionBombError:  # past Pillow's own limit: read the header for the words
        raise PictureTooLarge(*_header_size(source)) from None
    if image.width * image.height > MAX_PICTURE_PIXELS:
        image.close()
        raise PictureTooLarge(*image.size)
    return image


def _header_size(source: str | BinaryIO) -> tuple[int, int]:
    """The size a picture's header states, read by Pillow's format readers without its pixel limit
    (Image.open refuses to say it past that limit); nothing is decoded."""
    Image.init()
    stream = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115 - closed below
    try:
        stream.seek(0)
        head = stream.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            if accept and not accept(head):
                continue
            stream.seek(0)
            try:
                return factory(stream, "").size
            except READ_ERRORS:
                continue
        raise UnidentifiedImageError("not a picture")
    finally:
        if stream is not source:
            stream.close()


def check_picture(data: bytes) -> None:
    """PictureTooLarge for an upload with too many pixels; nothing is decoded. Other faults are left to
    the checks that name the file's kind."""
    try:
        with open_picture(data):
            pass
    except PictureTooLarge:
        raise
    except READ_ERRORS:
        return


def small_copy(image: Image.Image, width: int, height: int | None = None) -> Image.Image:
    """An RGB copy of a picture just opened (not yet decoded) that fits ``width``×``height`` (twice as
    high as wide by default), decoded no larger than needed: Pillow's thumbnail asks a JPEG's decoder
    for a half, a quarter or an eighth (draft) and reduces by a whole factor before resampling. The
    opened picture is shrunk in place."""
    image.thumbnail((width, height or width * 2))
    return image.convert("RGB")


def preview_jpeg(data: bytes, width: int) -> bytes | None:
    """A small JPEG of an uploaded picture for its page (twice ``width`` wide at most, for sharp
    screens), from a reduced decode; None when it is not a picture we can read; PictureTooLarge."""
    try:
        with open_picture(data) as image:
            small = small_copy(image, width * 2)
    except READ_ERRORS:
        return None
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


__all__ = ["MAX_PICTURE_PIXELS", "PictureTooLarge", "check_picture", "open_picture", "preview_jpeg", "small_copy"]
