"""The media folder: copies of the provider's videos (its URLs expire; our history must keep
playing next week), thumbnails made from a frame, and uploaded reference files.

Paths in the store are relative to the folder, so the folder can move.
"""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import av
from PIL import Image

THUMB_WIDTH = 320
FILE_PREFIX = "file:"


class MediaError(ValueError):
    """A reference that does not name a file kept in the media folder."""


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, relative: str) -> Path:
        """The file for a relative name, which must stay inside the media folder."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise MediaError(f"{relative!r} is not a file of the media folder")
        return target

    def exists(self, relative: str | None) -> bool:
        if not relative:
            return False
        try:
            return self.path(relative).exists()
        except MediaError:
            return False

    def make_thumbnail(self, video_relative: str, name: str, at_seconds: float = 1.0) -> str | None:
        """A JPEG of the frame at ``at_seconds`` (or the last one), THUMB_WIDTH wide."""
        relative = f"thumbs/{name}.jpg"
        target = self.path(relative)
        if target.exists():
            return relative
        image = None
        try:
            with av.open(str(self.path(video_relative))) as container:
                for frame in container.decode(video=0):
                    image = frame.to_image()
                    if frame.time is not None and frame.time >= at_seconds:
                        break
        except (av.FFmpegError, OSError, IndexError):
            return None
        if image is None:
            return None
        image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
        target.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").save(target, format="JPEG", quality=82)
        return relative

    def make_image_thumbnail(self, image_relative: str, name: str) -> str | None:
        """A JPEG of an image, THUMB_WIDTH wide (the Library's tiles of image generations)."""
        relative = f"thumbs/{name}.jpg"
        target = self.path(relative)
        if target.exists():
            return relative
        try:
            with Image.open(self.path(image_relative)) as image:
                image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
                target.parent.mkdir(parents=True, exist_ok=True)
                image.convert("RGB").save(target, format="JPEG", quality=82)
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        return relative

    def data_url(self, relative: str | None) -> str | None:
        """A data URL of a small file (thumbnails), for st.dataframe's ImageColumn."""
        if not self.exists(relative):
            return None
        return "data:image/jpeg;base64," + base64.b64encode(self.path(relative).read_bytes()).decode()

    # -- files people upload ------------------------------------------------------------------
    def keep_upload(self, data: bytes, suffix: str, folder: str = "refs") -> str:
        """Keep an uploaded file (by content, so the same file is kept once); returns "file:<path>"."""
        digest = hashlib.sha256(data).hexdigest()[:24]
        relative = f"{folder}/{digest}{suffix}"
        target = self.path(relative)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return FILE_PREFIX + relative

    def resolve(self, ref: str | None) -> str | bytes | None:
        """What to send for a stored reference: the file's bytes for "file:" refs, else the URL."""
        if ref and ref.startswith(FILE_PREFIX):
            return self.path(ref[len(FILE_PREFIX) :]).read_bytes()
        return ref

    def preview(self, ref: str | None) -> Image.Image | str | None:
        if ref and ref.startswith(FILE_PREFIX):
            return Image.open(io.BytesIO(self.path(ref[len(FILE_PREFIX) :]).read_bytes()))
        return ref

    def remove(self, *relatives: str | None) -> None:
        for relative in relatives:
            if relative and not relative.startswith(FILE_PREFIX):
                self.path(relative).unlink(missing_ok=True)
