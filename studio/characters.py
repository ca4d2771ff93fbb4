"""Cameo characters: made from a clip or cut out of an earlier video, stored, then used by id."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass

from PIL import ImageOps

from grsai_api._validation import visible

from .clips import ClipError, ClipInfo, check_span, frame_at, probe
from .costs import character_cost
from .db import Character
from .queueing import QueueingService

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])")
MAX_PER_VIDEO = 2
THUMB_SIZE = (320, 240)
THUMB_BACKGROUND = "#F4F2FB"  # .streamlit/config.toml secondaryBackgroundColor


@dataclass(frozen=True)
class MentionCheck:
    unknown: tuple[str, ...]
    saved: tuple[str, ...]  # saved characters named in the prompt
    count: int  # characters the video would use: saved ones named + one-off clips


def check_mentions(prompt: str, saved_ids: set[str], one_offs: int) -> MentionCheck:
    """Which @mentions name nothing, and how many characters the video would use."""
    names = list(dict.fromkeys(MENTION.findall(prompt or "")))
    numbered = {f"character{n}" for n in range(1, one_offs + 1)}
    saved = tuple(n for n in names if n in saved_ids)
    unknown = tuple(n for n in names if n not in saved_ids and n not in numbered)
    return MentionCheck(unknown=unknown, saved=saved, count=len(saved) + one_offs)


class CharacterService(QueueingService):
    """Character requests are written ``queued``; the task engine sends and follows them."""

    def _thumbnail(self, clip, seconds: float) -> str:
        # every card the same shape, whatever the clip's: fitted into 4:3 on the page's panel colour
        image = ImageOps.pad(frame_at(clip, seconds).convert("RGB"), THUMB_SIZE, color=THUMB_BACKGROUND)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        ref = self.media.keep_upload(buffer.getvalue(), ".jpg", folder="thumbs/characters")
        return ref.removeprefix("file:")

    def _queue(self, request_key: str | None, **values) -> Character:
        character, created = self.store.add_character(
            service=self.connection.service_id,
            account=self.connection.account,
            request_key=request_key,
            **values,
        )
        if created:
            self.on_queued()
        return character

    def _default_label(self) -> str:
        return f"Character {self.store.count_characters() + 1}"

    def from_clip(
        self,
        clip: bytes,
        start: float,
        end: float,
        *,
        label: str,
        url: str | None = None,
        request_key: str | None = None,
    ) -> Character:
        """Make a character from a clip (its bytes; ``url`` when it came from the web, which is what
        the service is sent then). ClipError, nothing stored, for a clip or span that will not do."""
        info: ClipInfo = probe(clip)
        timestamps = check_span(start, end, info)
        thumb = self._thumbnail(clip, (start + end) / 2)
        kept = url or self.media.keep_upload(clip, ".mp4", folder="clips")
        return self._queue(
            request_key,
            label=_label(label, self._default_label()),
            source="upload",
            timestamps=timestamps,
            source_ref=kept,
            thumb_path=thumb,
        )

    def from_video(
        self, generation_id: int, start: float, end: float, *, label: str, request_key: str | None = None
    ) -> Character:
        """Cut a character out of one of our finished videos, by its pid."""
        generation = self.store.get(generation_id)
        if generation is None or not generation.pid:
            raise ClipError("That video has no pid yet: only finished videos can give a character.")
        with contextlib.ExitStack() as stack:
            path = (
                stack.enter_context(self.media.working_copy(generation.video_path))
                if self.media.exists(generation.video_path)
                else None
            )
            info = probe(path) if path is not None else ClipInfo(float(generation.duration), 0, 0)
            timestamps = check_span(start, end, info)
            thumb = self._thumbnail(path, (start + end) / 2) if path is not None else generation.thumb_path
        return self._queue(
            request_key,
            label=_label(label, generation.prompt[:40]),
            source="video",
            timestamps=timestamps,
            source_pid=generation.pid,
            thumb_path=thumb,
        )

    def delete(self, row_id: int) -> None:
        self.store.delete_character(row_id)

    @staticmethod
    def price() -> int:
        return character_cost()


def _label(label: str, fallback: str) -> str:
    return visible(label)[:120] or fallback


__all__ = ["MAX_PER_VIDEO", "CharacterService", "ClipError", "MentionCheck", "check_mentions"]
