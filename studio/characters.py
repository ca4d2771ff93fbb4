"""Cameo characters: made from a clip or cut out of an earlier video, stored, then used by id."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import ImageOps

from grsai_api._validation import visible

from .clips import ClipError, ClipInfo, check_span, frame_at, probe
from .costs import character_cost
from .db import Character
from .queueing import QueueingService

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])")
NAMED = re.compile(r"(?<![\w@])@(\w(?:[\w.-]*\w)?)")  # @Goldie: any letters, as names are given
TYPING = re.compile(r"(?:^|[^\w@])@([\w.-]*)$")  # a prompt that ends while an @name is being typed
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


def mention_name(label: str) -> str:
    """The name a character is typed by after @: its label, spaces as ``_``, only letters, digits,
    ``_``, ``-`` and ``.`` (none at either end, so a sentence's full stop is not part of it)."""
    name = re.sub(r"\s+", "_", visible(label or "").strip())
    return "".join(c for c in name if c.isalnum() or c in "_-.").strip(".-")


class CharacterNames:
    """The account's finished characters by the names people gave them: ``@Goldie`` (any case) stands
    for ``@swift_maple.82dc77``, which is what the service is sent; titles show the name again."""

    def __init__(self, characters: Iterable[Character], *, account: str | None = None):
        """``account``: only its characters are named (names are unique per account); every handle
        stays known."""
        ready = [c for c in characters if c.character_id]
        self.handles = {c.character_id for c in ready}
        lowered = {h.lower() for h in self.handles}
        by_name: dict[str, list[Character]] = {}
        for character in ready:
            if account is not None and character.account != account:
                continue
            name = mention_name(character.label)
            if name and name.lower() not in lowered:  # a handle always means its own character
                by_name.setdefault(name.lower(), []).append(character)
        # a name two characters share (made before names were unique) stands for neither
        self._handle = {key: found[0].character_id for key, found in by_name.items() if len(found) == 1}
        self._name = {found[0].character_id: mention_name(found[0].label) for found in by_name.values() if len(found) == 1}

    def names(self) -> list[str]:
        return list(self._name.values())

    def typed(self, character: Character) -> str:
        """What to type after @ for this character: its name, or its handle when it has none."""
        return self._name.get(character.character_id, character.character_id)

    def handle(self, word: str) -> str | None:
        """The handle a name (or a handle) stands for; None when it names nothing."""
        word = word.strip().removeprefix("@")
        return word if word in self.handles else self._handle.get(word.lower())

    def resolve(self, text: str) -> str:
        """``@Goldie`` as ``@swift_maple.82dc77``; handles, ``@character1`` and unknown words stay."""

        def swap(match: re.Match) -> str:
            word = match.group(1)
            found = None if word in self.handles else self._handle.get(word.lower())
            return f"@{found}" if found else match.group(0)

        return NAMED.sub(swap, text or "")

    def show(self, text: str) -> str:
        """A prompt as people read it: each ``@handle`` of a named character as ``@Goldie``."""
        return MENTION.sub(lambda m: f"@{self._name[m.group(1)]}" if m.group(1) in self._name else m.group(0), text or "")

    def typing(self, text: str) -> list[str] | None:
        """While the prompt ends with ``@`` or ``@Go…``: the names that fit what was typed, else None."""
        match = TYPING.search(text or "")
        if match is None:
            return None
        typed = match.group(1).lower()
        return [name for name in self.names() if name.lower().startswith(typed)]


def with_mention(text: str, name: str) -> str:
    """The prompt with ``@name`` added at its end (Streamlit does not say where the cursor is),
    finishing the ``@Go…`` being typed there when the name begins so."""
    text = (text or "").rstrip()
    typing = TYPING.search(text)
    if typing is not None and name.lower().startswith(typing.group(1).lower()):
        text = text[: typing.start(1) - 1].rstrip()
    return f"{text} @{name} ".lstrip()


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

    def _others(self, row_id: int | None, request_key: str | None) -> list[Character]:
        """The account's other characters (not this row, nor the first send of this very request)."""
        return [
            c
            for c in self.store.characters()
            if c.id != row_id
            and (request_key is None or c.request_key != request_key)
            and c.service == self.connection.service_id
            and c.account == self.connection.account
        ]

    def _named(self, label: str, fallback: str, row_id: int | None = None, request_key: str | None = None) -> str:
        """The label to store: the one given, refused (ClipError, nothing stored) when another of the
        account's characters has that @name or handle (any case); a blank one gets a free fallback."""
        others = self._others(row_id, request_key)
        taken = {mention_name(c.label).lower() for c in others} | {c.character_id.lower() for c in others if c.character_id}
        given = _label(label, "")
        if given:
            name = mention_name(given)
            if name and name.lower() in taken:
                raise ClipError(
                    f"Another of your characters is already called @{name}: give this one another name, "
                    "so that each @name means one character."
                )
            return given
        fallback = _label(fallback, "Character")
        candidate, number = fallback, 1
        while mention_name(candidate).lower() in taken:
            number += 1
            candidate = f"{fallback[:110]} {number}"
        return candidate

    def rename(self, row_id: int, label: str) -> None:
        """Rename a character; ClipError (nothing stored) for a blank name or one already used."""
        if not _label(label, ""):
            raise ClipError("A character needs a name.")
        self.store.rename_character(row_id, self._named(label, "", row_id))

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
        label = self._named(label, self._default_label(), request_key=request_key)
        thumb = self._thumbnail(clip, (start + end) / 2)
        kept = url or self.media.keep_upload(clip, ".mp4", folder="clips")
        return self._queue(
            request_key,
            label=label,
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
        label = self._named(label, generation.prompt[:40], request_key=request_key)
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
            label=label,
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


__all__ = [
    "MAX_PER_VIDEO",
    "CharacterNames",
    "CharacterService",
    "ClipError",
    "MentionCheck",
    "check_mentions",
    "mention_name",
    "with_mention",
]
