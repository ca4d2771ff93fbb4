"""Where media lives: copies of the provider's videos and images (its URLs expire; our history must
keep playing next week), thumbnails made from a frame, and uploaded reference files.

Names in the store are relative ("videos/12.mp4"), so the place can move. Two places, one interface:
``MediaStore`` is a folder (the default); ``BucketMedia`` is any S3-compatible bucket
(``SORA_MEDIA_URL=s3://bucket/prefix``, the usual AWS variables, ``AWS_ENDPOINT_URL`` for a server
that is not AWS), for replicas and workers on several machines. Pages never see a path: they get
``source()`` (bytes from a folder, a presigned URL from a bucket) or ``read()``; code that needs a
file on disk (PyAV, zip) borrows one with ``working_copy()``; a new file is written to ``staging()``
and then ``commit()``-ted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import av
from PIL import Image

from .pictures import READ_ERRORS, PictureTooLarge, open_picture, small_copy

THUMB_WIDTH = 320
FILE_PREFIX = "file:"


class MediaError(ValueError):
    """A reference that does not name a file kept in the media folder."""


class MediaStore:
    gives_links = False  # whether ``url()`` gives browsers a link (a bucket) or nothing (a folder)

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

    # -- the primitives a bucket overrides ------------------------------------------------------
    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def write(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def source(self, relative: str) -> bytes | str:
        """What st.video / st.image take for a kept file: its bytes here, a link from a bucket."""
        return self.read(relative)

    def url(self, relative: str) -> str | None:
        """A link a browser can fetch the file from (a bucket's presigned URL); none for a folder."""
        return None

    def download_url(self, relative: str, file_name: str) -> str | None:
        """A link that makes a browser save the file as ``file_name`` (a bucket's); none for a folder."""
        return None

    @contextlib.contextmanager
    def working_copy(self, relative: str) -> Iterator[Path]:
        """A file on disk with the kept file's bytes, for the time of the ``with``."""
        yield self.path(relative)

    def staging(self, relative: str) -> Path:
        """Where to write a new file that will be kept as ``relative`` (then ``commit`` it)."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def commit(self, relative: str, staged: Path) -> None:
        """Keep the file written at ``staging(relative)`` (a folder has it in place already)."""

    def _delete(self, relative: str) -> None:
        self.path(relative).unlink(missing_ok=True)

    def make_thumbnail(
        self, video_relative: str, name: str, at_seconds: float = 1.0, *, source: Path | None = None
    ) -> str | None:
        """A JPEG of the frame at ``at_seconds`` (or the last one), THUMB_WIDTH wide (read from
        ``source`` when the video is on disk already)."""
        relative = f"thumbs/{name}.jpg"
        if self.exists(relative):
            return relative
        image = None
        try:
            with contextlib.ExitStack() as stack:
                path = source or stack.enter_context(self.working_copy(video_relative))
                with av.open(str(path)) as container:
                    for frame in container.decode(video=0):
                        image = frame.to_image()
                        if frame.time is not None and frame.time >= at_seconds:
                            break
        except (av.FFmpegError, OSError, IndexError, MediaError):
            return None
        if image is None:
            return None
        return self._keep_thumbnail(image, relative)

    def make_image_thumbnail(self, image_relative: str, name: str, *, source: Path | None = None) -> str | None:
        """A JPEG of an image, THUMB_WIDTH wide (the Library's tiles of image generations); none for a
        picture that cannot be read or has too many pixels."""
        try:
            return self._picture_thumbnail(image_relative, name, source)
        except (PictureTooLarge, MediaError, *READ_ERRORS):
            return None

    def _picture_thumbnail(self, image_relative: str, name: str, source: Path | None = None) -> str:
        """Made once from a reduced decode, after the picture's size in pixels was checked
        (PictureTooLarge): never the whole picture in memory for a tile."""
        relative = f"thumbs/{name}.jpg"
        if self.exists(relative):
            return relative
        with contextlib.ExitStack() as stack:
            path = source or stack.enter_context(self.working_copy(image_relative))
            with open_picture(path) as image:
                return self._keep_thumbnail(small_copy(image, THUMB_WIDTH), relative)

    def _keep_thumbnail(self, image: Image.Image, relative: str) -> str:
        image = image.copy()
        image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=82)
        self.write(relative, buffer.getvalue())
        return relative

    def present(self, files: list | None) -> list[dict]:
        """The entries of a generation's ``files`` ({"path", "thumb"}) whose file is still kept."""
        return [f for f in files or [] if isinstance(f, dict) and self.exists(f.get("path"))]

    def data_url(self, relative: str | None) -> str | None:
        """A data URL of a small file (thumbnails), for st.dataframe's ImageColumn."""
        if not self.exists(relative):
            return None
        return "data:image/jpeg;base64," + base64.b64encode(self.read(relative)).decode()

    # -- files people upload ------------------------------------------------------------------
    def keep_upload(self, data: bytes, suffix: str, folder: str = "refs") -> str:
        """Keep an uploaded file (by content, so the same file is kept once); returns "file:<path>"."""
        digest = hashlib.sha256(data).hexdigest()[:24]
        relative = f"{folder}/{digest}{suffix}"
        if not self.exists(relative):
            self.write(relative, data)
        return FILE_PREFIX + relative

    def resolve(self, ref: str | None) -> str | bytes | None:
        """What to send for a stored reference: the file's bytes for "file:" refs, else the URL."""
        if ref and ref.startswith(FILE_PREFIX):
            return self.read(ref[len(FILE_PREFIX) :])
        return ref

    def preview(self, ref: str | None) -> bytes | str | None:
        """What st.image shows of a reference: a kept file's small copy (a JPEG made once; none when
        it cannot be read; PictureTooLarge, in words, for one with too many pixels), a URL as it is."""
        if ref and ref.startswith(FILE_PREFIX):
            relative = ref[len(FILE_PREFIX) :]
            name = "ref-" + hashlib.sha256(relative.encode()).hexdigest()[:24]
            try:
                return self.source(self._picture_thumbnail(relative, name))
            except (MediaError, *READ_ERRORS):
                return None
        return ref

    def remove(self, *relatives: str | None) -> None:
        for relative in relatives:
            if relative and not relative.startswith(FILE_PREFIX):
                self._delete(relative)


class BucketMedia(MediaStore):
    """Media in an S3-compatible bucket under ``prefix``; ``cache`` is a local folder for files
    borrowed or being written. Links handed to browsers are presigned for ``link_seconds``."""

    def __init__(self, bucket: str, prefix: str, cache: Path, *, client=None, link_seconds: int = 3600) -> None:
        super().__init__(cache)
        import boto3  # only deployments with a bucket need it loaded

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client("s3")
        self.link_seconds = link_seconds

    def key(self, relative: str) -> str:
        self.path(relative)  # the same rule as a folder: a name may not climb out of its place
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def exists(self, relative: str | None) -> bool:
        from botocore.exceptions import ClientError

        if not relative:
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(relative))
        except MediaError:
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read(self, relative: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(relative))["Body"].read()
        except ClientError as exc:  # the same error a folder gives for a file that is not there
            raise FileNotFoundError(f"{relative} is not in the bucket") from exc

    def write(self, relative: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(relative), Body=data)

    def url(self, relative: str) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(relative)}, ExpiresIn=self.link_seconds
        )

    def download_url(self, relative: str, file_name: str) -> str | None:
        safe = "".join(c for c in file_name if c.isalnum() or c in "-_.") or "download"
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(relative),
                "ResponseContentDisposition": f'attachment; filename="{safe}"',
            },
            ExpiresIn=self.link_seconds,
        )

    def source(self, relative: str) -> bytes | str:
        return self.url(relative) or self.read(relative)

    @contextlib.contextmanager
    def working_copy(self, relative: str) -> Iterator[Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root) as folder:
            copy = Path(folder) / Path(relative).name
            self.client.download_file(self.bucket, self.key(relative), str(copy))
            yield copy

    def staging(self, relative: str) -> Path:
        self.key(relative)
        folder = Path(tempfile.mkdtemp(prefix="staging-", dir=self._cache()))
        return folder / Path(relative).name

    def commit(self, relative: str, staged: Path) -> None:
        try:
            self.client.upload_file(str(staged), self.bucket, self.key(relative))  # multipart when large
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)

    def _delete(self, relative: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(relative))

    def _cache(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root


def open_media(url: str | None, folder: Path) -> MediaStore:
    """The media place a deployment names: ``s3://bucket/prefix`` (``SORA_MEDIA_URL``), else the
    folder. A bucket keeps its borrowed and half-written files in ``folder``."""
    if not url:
        return MediaStore(folder)
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"SORA_MEDIA_URL must look like s3://bucket/prefix, not {url!r}")
    return BucketMedia(parsed.netloc, parsed.path, folder)
