"""Clips and characters without Streamlit: what is refused before sending, and what is made."""

from __future__ import annotations

import time

import httpx
import pytest

from studio.characters import CharacterService, check_mentions
from studio.clips import MAX_CLIP_BYTES, ClipError, check_span, probe
from studio.connection import sandbox_connection
from studio.media import MediaStore
from studio.store import Store
from studio.tracking import tick

from .conftest import make_clip, png


@pytest.fixture
def service(tmp_path, sandbox):
    return CharacterService(
        Store(f"sqlite:///{tmp_path / 'p.db'}"),
        MediaStore(tmp_path / "media"),
        sandbox_connection(sandbox.base_url),
    )


def sent(sandbox, kind: str) -> int:
    return httpx.get(f"{sandbox.base_url}/sandbox/stats").json()["counters"].get(f"received_{kind}", 0)


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        (b"", "empty"),
        (png(), "a picture, not a video"),
        (b"just some text, not a clip", "not a video we can read"),
        (b"\x00" * (MAX_CLIP_BYTES + 1), "at most 50 MB"),
    ],
)
def test_clips_that_will_not_do_are_refused_before_sending(service, sandbox, clip, message) -> None:
    before = sent(sandbox, "upload_character")
    with pytest.raises(ClipError, match=message):
        service.from_clip(clip, 0, 3, label="x")
    assert sent(sandbox, "upload_character") == before and service.store.characters() == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(1.0, 4.5, "at most 3 seconds"), (1.5, 2.5 + 1.0, "only 2.0 s long"), (2.0, 1.0, "must come after")],
)
def test_spans_outside_the_rules_or_the_clip_are_refused(service, start, end, message) -> None:
    with pytest.raises(ClipError, match=message):
        check_span(start, end, probe(make_clip(2.0)))


def test_a_clip_becomes_a_character_with_a_thumbnail_of_its_span(service, sandbox) -> None:
    character = service.from_clip(make_clip(3.0), 0.5, 2.5, label="  Magenta blob  ")
    assert (
        character.status == "running"
        and character.label == "Magenta blob"
        and character.timestamps == "0.5,2.5"
    )
    assert service.media.exists(character.thumb_path)
    for _ in range(50):
        report = tick(service.connection, service.store, service.media, [], [character.id])
        if not report.characters_still_running:
            break
        time.sleep(0.1)
    done = service.store.get_character(character.id)
    assert done.status == "succeeded" and done.character_id and report.characters_finished == [character.id]


def test_mentions_are_checked_against_saved_characters_and_attached_clips() -> None:
    check = check_mentions("@fox.a1b2c3 meets @character1 and @ghost; mail me at a@b.com", {"fox.a1b2c3"}, 1)
    assert check.unknown == ("ghost",) and check.saved == ("fox.a1b2c3",) and check.count == 2
    assert check_mentions("@character2 alone", set(), 1).unknown == ("character2",)
