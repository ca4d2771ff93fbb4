"""Sending a generation: validated, written to the store, then sent exactly once.

The path (shared/DESIGN.md): stored as ``submitting`` before it is sent; ``running`` with its task id
once the service answers; ``unknown`` when the send's outcome cannot be known (never re-sent by
itself, since GrsAI charges every create it receives); dropped when the service refused it outright.
"""

from __future__ import annotations

from typing import Any

from grsai_api import GrsaiError, SubmissionUnknownError, validate_video_request

from .connection import Connection
from .costs import video_cost
from .media import FILE_PREFIX, MediaStore
from .store import Generation, Store

IMAGE_SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif", b"RIFF": ".webp"}


class GenerationService:
    def __init__(self, store: Store, media: MediaStore, connection: Connection) -> None:
        self.store = store
        self.media = media
        self.connection = connection

    def _stored_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters as kept in the store: uploaded bytes become files in the media folder."""
        stored = dict(params)
        image = params.get("image_url")
        if isinstance(image, bytes | bytearray):
            suffix = next((s for magic, s in IMAGE_SUFFIXES.items() if image.startswith(magic)), ".img")
            stored["image_url"] = self.media.keep_upload(bytes(image), suffix)
        return stored

    def _sendable(self, params: dict[str, Any]) -> dict[str, Any]:
        sendable = dict(params)
        image = params.get("image_url")
        if isinstance(image, str) and image.startswith(FILE_PREFIX):
            sendable["image_url"] = self.media.resolve(image)
        return sendable

    def submit(self, params: dict[str, Any]) -> Generation:
        """Send one video request. InvalidRequestError (nothing stored or sent) for bad input;
        SubmissionUnknownError leaves the generation as ``unknown``; other service errors drop it."""
        params = {k: v for k, v in params.items() if v not in (None, "", [], b"")}
        sendable = self._sendable(params)
        validate_video_request(**sendable)  # bad input stops here: nothing stored, nothing sent
        generation = self.store.add_generation(
            self._stored_params(params),
            service=self.connection.service_id,
            cost=video_cost(),
        )
        try:
            with self.connection.client() as client:
                task_id = client.create_video(**sendable)
        except SubmissionUnknownError as exc:
            self.store.mark_unknown(generation.id, str(exc))
            exc.generation_id = generation.id  # so the page can show it as unknown
            raise
        except GrsaiError:
            self.store.discard(generation.id)
            raise
        self.store.mark_running(generation.id, task_id)
        return self.store.get(generation.id)

    def rerun(self, generation_id: int) -> Generation:
        """Send a past generation's parameters again, as a new generation."""
        original = self.store.get(generation_id)
        if original is None:
            raise LookupError(f"generation {generation_id} is gone")
        return self.submit(original.request_params())

    def delete(self, generation_id: int) -> None:
        removed = self.store.delete(generation_id)
        if removed is not None:
            self.media.remove(removed.video_path, removed.thumb_path)
