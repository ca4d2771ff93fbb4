"""Asking for a generation: checked, then written to the store as ``queued``; the task engine
sends it (studio.engine). Nothing here talks to the service, so a page never waits on it and a
closed tab loses nothing.

A request key, unique in the store, names one submission: a second click (or a rerun of the same
submission) finds the row the first one wrote instead of making another.
"""

from __future__ import annotations

from typing import Any

from grsai_api import InvalidRequestError, validate_video_request

from .connection import valid_url
from .costs import video_cost
from .db import Generation, Status
from .media import FILE_PREFIX
from .queueing import QueueingService

IMAGE_SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif", b"RIFF": ".webp"}


def _drop_empty(params: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional values that were not given; the prompt is always checked, even empty."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [], b"")}
    kept["prompt"] = params.get("prompt") or ""
    return kept


class GenerationService(QueueingService):
    def check(self, params: dict[str, Any], *, from_store: bool = False) -> dict[str, Any]:
        """The parameters as they will be stored, or InvalidRequestError (with the field) for what
        will not do. A typed image address must be a web address: a ``file:`` or local path typed
        by a person is refused, never read. Only rows from the store may name kept files."""
        params = _drop_empty(params)
        image = params.get("image_url")
        sendable = dict(params)
        if isinstance(image, str):
            image = image.strip()
            params["image_url"] = sendable["image_url"] = image
            if image.startswith(FILE_PREFIX) and from_store:
                sendable["image_url"] = self.media.resolve(image)
            elif not valid_url(image):
                raise InvalidRequestError(
                    "The image's address must be a web address starting with https:// — or upload the file.",
                    field="image_url",
                )
        validate_video_request(**sendable)  # bad input stops here: nothing stored, nothing sent
        if isinstance(image, bytes | bytearray):
            suffix = next((s for magic, s in IMAGE_SUFFIXES.items() if image.startswith(magic)), ".img")
            params["image_url"] = self.media.keep_upload(bytes(image), suffix)
        return params

    def queue(
        self, params: dict[str, Any], *, request_key: str | None = None, from_store: bool = False, **extra: Any
    ) -> tuple[Generation, bool]:
        """Queue one video; False with the first row when this request key was queued already.
        InvalidRequestError (nothing stored) for bad input."""
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
        removed = self.store.delete(generation_id)
        if removed is not None:
            self.media.remove(removed.video_path, removed.thumb_path)

    @staticmethod
    def price() -> int:
        return video_cost()
