"""Asking for a generation: checked, then written to the store as ``queued``; the task engine
sends it (studio.engine). Nothing here talks to the service, so a page never waits on it and a
closed tab loses nothing.

A request key, unique in the store, names one submission: a second click (or a rerun of the same
submission) finds the row the first one wrote instead of making another.
"""

from __future__ import annotations

from typing import Any

from grsai_api import (
    FieldSpec,
    InvalidRequestError,
    ModelSpec,
    UnknownModelError,
    default_model,
    image_request,
    model_spec,
    video_request,
)
from grsai_api._validation import audio_mime, refuse_nul

from .brand import BrandKit
from .connection import valid_url
from .db import Generation, Status
from .media import FILE_PREFIX
from .pictures import PictureTooLarge, check_picture
from .queueing import QueueingService

MAX_AT_ONCE = 8  # "Generate N, keep the best": at most this many of one prompt at once
IMAGE_SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif", b"RIFF": ".webp"}


def _drop_empty(params: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional values that were not given; the prompt is always checked, even empty."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [], b"")}
    kept["prompt"] = params.get("prompt") or ""
    return kept


def _check_request_key(request_key: str | None) -> None:
    """A key the store cannot keep (a NUL in it) is refused before anything is written."""
    if request_key is not None:
        refuse_nul(request_key, "request_key", "The request key")


_FILE_WORDS = {
    "image_url": "The image's",
    "first_frame_url": "The first frame's",
    "last_frame_url": "The last frame's",
    "reference_urls": "A reference image's",
    "mask_url": "The mask's",
    "audio_urls": "A reference sound's",
}
SOUND_SUFFIXES = {"audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/ogg": ".ogg", "audio/flac": ".flac", "audio/mp4": ".m4a"}


def file_fields(entry: ModelSpec) -> dict[str, FieldSpec]:
    """The fields of a model that name files (pictures or sounds): its catalogue entry says which."""
    return {name: field for name, field in entry.fields.items() if field.kind in ("images", "audios")}


def _files_of(row: Generation) -> list[str | None]:
    """Every file a generation made: its video (or first image), thumbnail, and each kept file."""
    kept = [f.get(k) for f in row.files or [] if isinstance(f, dict) for k in ("path", "thumb")]
    return [row.video_path, row.thumb_path, *kept]


def _suffix(data: bytes, sound: bool = False) -> str:
    if sound:
        return SOUND_SUFFIXES.get(audio_mime(data) or "", ".sound")
    return next((s for magic, s in IMAGE_SUFFIXES.items() if data.startswith(magic)), ".img")


class GenerationService(QueueingService):
    @property
    def _brand_kit(self) -> BrandKit:
        return BrandKit(self.store, self.media, self.connection)

    def _file(self, value: Any, field: str, from_store: bool, sound: bool = False) -> tuple[Any, Any]:
        """(as stored, as sent) for one file field: a typed address must be a web address; a
        ``file:`` name is taken only from the store or this account's brand kit; bytes are checked, then kept."""
        if isinstance(value, bytes | bytearray):
            try:
                if not sound:  # a sound is checked by the client, beside its field
                    check_picture(bytes(value))
            except PictureTooLarge as exc:
                raise InvalidRequestError(f"{exc}: make it smaller and upload it again.", field=field) from None
            return bytes(value), bytes(value)
        text = str(value).strip()
        if text.startswith(FILE_PREFIX) and (from_store or self._brand_kit.owns(text)):
            return text, self.media.resolve(text)  # kept here, or a picture of this account's brand kit
        if not valid_url(text):
            words = _FILE_WORDS.get(field, "The file's")
            raise InvalidRequestError(
                f"{words} address must be a web address starting with https:// — or upload the file.",
                field=field,
            )
        return text, text

    def check(self, params: dict[str, Any], *, from_store: bool = False) -> dict[str, Any]:
        """The parameters as they will be stored, or InvalidRequestError (with the field) for what
        will not do, checked against the chosen model (``model``, the catalogue's default when absent). A typed
        image address must be a web address: a ``file:`` or local path typed by a person is
        refused, never read. Only rows from the store may name kept files."""
        params = _drop_empty(params)
        params["model"] = str(params.get("model") or default_model("video")).strip()
        try:
            entry = model_spec(params["model"])
        except UnknownModelError as exc:
            raise InvalidRequestError(str(exc), field="model") from None
        sendable = dict(params)
        files = file_fields(entry)
        for name, field in files.items():
            if name not in params:
                continue
            sound = field.kind == "audios"
            if field.count == 1 and isinstance(params[name], str | bytes):
                params[name], sendable[name] = self._file(params[name], name, from_store, sound)
                continue
            items = [params[name]] if isinstance(params[name], str | bytes) else list(params[name])
            pairs = [self._file(item, name, from_store, sound) for item in items]
            params[name], sendable[name] = [p[0] for p in pairs], [p[1] for p in pairs]
        build = video_request if entry.kind == "video" else image_request
        build(**sendable)  # bad input stops here: nothing stored, nothing sent
        for name, field in files.items():  # uploads are kept here; the row names them
            sound = field.kind == "audios"
            if isinstance(params.get(name), bytes):
                params[name] = self.media.keep_upload(params[name], _suffix(params[name], sound))
            elif isinstance(params.get(name), list):
                params[name] = [
                    self.media.keep_upload(item, _suffix(item, sound)) if isinstance(item, bytes) else item
                    for item in params[name]
                ]
        return params

    def queue(
        self, params: dict[str, Any], *, request_key: str | None = None, from_store: bool = False, **extra: Any
    ) -> tuple[Generation, bool]:
        """Queue one video; False with the first row when this request key was queued already.
        InvalidRequestError (nothing stored) for bad input."""
        _check_request_key(request_key)
        stored = self.check(params, from_store=from_store)
        generation, created = self.store.add_generation(
            stored,
            service=self.connection.service_id,
            account=self.connection.account,
            request_key=request_key,
            **extra,
        )
        if created:
            self.on_queued()
        return generation, created

    def queue_many(
        self, params: dict[str, Any], n: int, *, request_key: str, **extra: Any
    ) -> list[tuple[Generation, bool]]:
        """Queue ``n`` of one prompt at once, to keep the best: checked once, then ``n`` rows, the
        i-th with the request key ``{request_key}#{i}`` and all with ``request_key`` as their group
        key. A second click with the same key finds the rows instead of making more (False beside
        each). One is a plain :meth:`queue` (no group). InvalidRequestError (nothing stored) for bad
        input or a count out of range."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_AT_ONCE:
            raise InvalidRequestError(f"Make between 1 and {MAX_AT_ONCE} at once.", field="count")
        if n == 1:
            return [self.queue(params, request_key=request_key, **extra)]
        _check_request_key(request_key)
        stored = self.check(params)
        made = [
            self.store.add_generation(
                stored,
                service=self.connection.service_id,
                account=self.connection.account,
                request_key=f"{request_key}#{i}",
                group_key=request_key,
                **extra,
            )
            for i in range(n)
        ]
        if any(created for _, created in made):
            self.on_queued()
        return made

    def keep(self, generation_id: int) -> bool:
        """Mark a finished one of several made at once as kept (False: not such a row)."""
        return self.store.set_pick(generation_id, "kept")

    def discard(self, generation_id: int) -> bool:
        """Discard a finished one of several made at once: its files leave the media store for
        good; the row stays, with its cost (it was paid). False, and nothing removed, for a row
        that is not finished, not one of a group, or discarded already."""
        row = self.store.get(generation_id)
        if row is None or not self.store.set_pick(generation_id, "discarded"):
            return False
        self.media.remove(*_files_of(row))
        return True

    def discard_rest(self, group_key: str) -> list[int]:
        """Discard every finished member of a group that is not kept, once one is kept (never the
        whole group by accident). The ids discarded."""
        members = self.store.group_members(group_key)
        if not any(m.pick == "kept" for m in members):
            return []
        rest = [m.id for m in members if m.status == Status.SUCCEEDED and m.pick is None]
        return [gid for gid in rest if self.discard(gid)]

    def submit(
        self, params: dict[str, Any], *, request_key: str | None = None, from_store: bool = False, **extra: Any
    ) -> Generation:
        return self.queue(params, request_key=request_key, from_store=from_store, **extra)[0]

    def rerun(self, generation_id: int, *, request_key: str | None = None) -> Generation:
        """Ask again with a past generation's parameters, as a new generation."""
        original = self.store.get(generation_id)
        if original is None:
            raise LookupError(f"generation {generation_id} is gone")
        return self.submit(original.request_params(), request_key=request_key, from_store=True)

    def resend(self, generation_id: int, *, request_key: str | None = None) -> Generation:
        """Send an ``unknown`` one again, because the person chose to (it may be charged twice)."""
        original = self.store.get(generation_id)
        if original is None or original.status != Status.UNKNOWN:
            raise LookupError("Only a request whose outcome is unknown can be sent again this way.")
        return self.submit(
            original.request_params(), request_key=request_key, from_store=True, resend_of=original.id
        )

    def hide(self, generation_id: int) -> None:
        self.store.hide(generation_id)

    def cancel(self, generation_id: int) -> bool:
        """Cancel a request not sent yet (nothing is charged)."""
        return self.store.cancel_queued_generation(generation_id)

    def delete(self, generation_id: int) -> None:
        """Delete a generation and its files; a storyboard's film goes with its shots."""
        removed = self.store.delete(generation_id)
        if removed is None:
            return
        self.media.remove(*_files_of(removed))
        if removed.kind == "storyboard" and removed.storyboard_id is not None:
            for shot in self.store.shots_of(removed.storyboard_id, every_try=True):
                if self.store.delete(shot.id) is not None:
                    self.media.remove(*_files_of(shot))
