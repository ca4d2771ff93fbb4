"""Clips and characters without Streamlit: what is refused before anything is written, what is
queued, what the task engine makes of it against a real sandbox, and the gallery's store."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sandbox import RunningSandbox
from studio.characters import CharacterNames, CharacterService, check_mentions, mention_name, with_mention
from studio.clips import MAX_CLIP_BYTES, ClipError, check_span, probe
from studio.connection import Connection, sandbox_connection
from studio.costs import character_cost
from studio.db import Character, Status, Store
from studio.generation import GenerationService
from studio.media import MediaStore

from .conftest import counter, make_clip, png
from .seed import TASK_SECONDS, drain, fast_engine

LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from


@dataclass
class Parts:
    sandbox: RunningSandbox
    store: Store
    media: MediaStore
    connection: Connection
    service: CharacterService

    def drain(self) -> None:
        drain(fast_engine(self.store, self.media, self.connection))

    def sent(self, kind: str) -> int:
        return counter(self.sandbox, f"received_{kind}")


# A character made from a clip (PostgreSQL's smoke) and the gallery's queries run on both databases;
# a character from a video's pid, the same flow by another source, on SQLite (issue 22 #5).
@pytest.fixture
def parts(database_url, tmp_path, make_sandbox):
    running = make_sandbox(**LIGHT)
    store = Store(database_url)
    media = MediaStore(tmp_path / "media")
    connection = sandbox_connection(running.base_url)
    yield Parts(running, store, media, connection, CharacterService(store, media, connection))
    store.dispose()


@pytest.fixture
def offline(tmp_path):
    """The page-side service with nothing behind it: what it refuses, it refuses before any send."""
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    yield CharacterService(store, MediaStore(tmp_path / "media"), sandbox_connection("http://127.0.0.1:9"))
    store.dispose()


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        (b"", "empty"),
        (png(), "a picture, not a video"),
        (b"just some text, not a clip", "not a video we can read"),
        (b"\x00" * (MAX_CLIP_BYTES + 1), "at most 50 MB"),
    ],
)
def test_clips_that_will_not_do_are_refused_before_anything_is_written(offline, clip, message) -> None:
    with pytest.raises(ClipError, match=message):
        offline.from_clip(clip, 0, 3, label="x")
    assert offline.store.characters() == [] and offline.store.count_characters() == 0


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(1.0, 4.5, "at most 3 seconds"), (1.5, 2.5 + 1.0, "only 2.0 s long"), (2.0, 1.0, "must come after")],
)
def test_spans_outside_the_rules_or_the_clip_are_refused(start, end, message) -> None:
    with pytest.raises(ClipError, match=message):
        check_span(start, end, probe(make_clip(2.0)))


def test_a_clip_is_queued_then_made_into_a_character_by_the_engine(parts) -> None:
    character = parts.service.from_clip(
        make_clip(3.0), 0.5, 2.5, label="  Magenta blob  ", request_key="characters-1"
    )
    assert character.state is Status.QUEUED and character.label == "Magenta blob"
    assert character.timestamps == "0.5,2.5" and character.source == "upload"
    assert character.account == parts.connection.account and character.source_ref.startswith("file:clips/")
    assert parts.media.exists(character.thumb_path)  # drawn from the span's middle, before sending
    assert parts.sent("upload_character") == 0  # the page sent nothing
    again = parts.service.from_clip(make_clip(3.0), 0.5, 2.5, label="Magenta blob", request_key="characters-1")
    assert again.id == character.id and parts.store.count_characters() == 1  # a second click

    parts.drain()
    done = parts.store.get_character(character.id)
    assert done.state is Status.SUCCEEDED and done.character_id and done.task_id
    assert done.cost == character_cost() == 200
    assert parts.sent("upload_character") == 1 and counter(parts.sandbox, "accepted_upload_character") == 1
    assert [c.id for c in parts.store.characters(ready_only=True)] == [character.id]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_finished_video_gives_a_character_by_its_pid(parts) -> None:
    videos = GenerationService(parts.store, parts.media, parts.connection)
    video = videos.submit({"prompt": "a fox in a red scarf waves"})
    with pytest.raises(ClipError, match="no pid yet"):
        parts.service.from_video(video.id, 1, 3, label="")  # not made yet
    parts.drain()
    with pytest.raises(ClipError, match="at most 3 seconds"):
        parts.service.from_video(video.id, 1, 5, label="")

    character = parts.service.from_video(video.id, 1, 3, label="")
    made = parts.store.get(video.id)
    assert character.source == "video" and character.source_pid == made.pid and character.timestamps == "1,3"
    assert character.label == "a fox in a red scarf waves"  # named after the video when left blank
    assert parts.media.exists(character.thumb_path)
    parts.drain()
    done = parts.store.get_character(character.id)
    assert done.state is Status.SUCCEEDED and done.character_id and done.cost == character_cost()
    assert parts.sent("create_character") == 1 and parts.sent("upload_character") == 0


def test_the_gallery_lists_renames_and_deletes(parts) -> None:
    clip = make_clip(3.0)
    first = parts.service.from_clip(clip, 0, 2, label="", request_key="a")
    second = parts.service.from_clip(clip, 1, 3, label="Owl", request_key="b")
    assert first.label == "Character 1"  # a name is made up when none is given
    assert [c.id for c in parts.store.characters()] == [second.id, first.id]  # newest first
    assert parts.store.characters(ready_only=True) == []  # nothing made yet
    service, account = parts.connection.service_id, parts.connection.account
    assert {c.id for c in parts.store.active_characters(service, account)} == {first.id, second.id}

    parts.drain()
    assert parts.store.active_characters(service, account) == []
    parts.store.rename_character(first.id, "   Fox  ")
    assert parts.store.get_character(first.id).label == "Fox"
    parts.store.rename_character(first.id, "x" * 200)
    assert parts.store.get_character(first.id).label == "x" * 120
    parts.service.delete(second.id)
    assert [c.id for c in parts.store.characters(ready_only=True)] == [first.id]
    assert parts.store.get_character(second.id) is None


def test_mentions_are_checked_against_saved_characters_and_attached_clips() -> None:
    check = check_mentions("@fox.a1b2c3 meets @character1 and @ghost; mail me at a@b.com", {"fox.a1b2c3"}, 1)
    assert check.unknown == ("ghost",) and check.saved == ("fox.a1b2c3",) and check.count == 2
    assert check_mentions("@character2 alone", set(), 1).unknown == ("character2",)
    assert check_mentions("@fox.a1b2c3, then @fox.a1b2c3.", {"fox.a1b2c3"}, 0).saved == ("fox.a1b2c3",)


def test_a_character_is_typed_by_its_name_and_sent_by_its_handle() -> None:
    goldie = Character(label="Goldie", character_id="swift_maple.82dc77")
    goran = Character(label="Goran the  Great!", character_id="calm_river.11aa22")
    names = CharacterNames([goldie, goran, Character(label="Not made yet", character_id=None)])
    assert mention_name("Goran the  Great!") == "Goran_the_Great" and mention_name("…") == ""
    sent = names.resolve("@goldie meets @GORAN_THE_GREAT, @character1, @swift_maple.82dc77 and @ghost. Mail a@b.com")
    assert sent == (
        "@swift_maple.82dc77 meets @calm_river.11aa22, @character1, @swift_maple.82dc77 and @ghost. Mail a@b.com"
    )
    assert check_mentions(sent, names.handles, 1).unknown == ("ghost",)  # a word naming nothing is still said
    assert names.show(sent) == "@Goldie meets @Goran_the_Great, @character1, @Goldie and @ghost. Mail a@b.com"
    assert names.typing("a fox and @") == ["Goldie", "Goran_the_Great"]
    assert names.typing("a fox and @gol") == ["Goldie"] and names.typing("@Goldie waves") is None
    assert names.handle("Goldie") == names.handle("@swift_maple.82dc77") == "swift_maple.82dc77"
    assert names.handle("nobody") is None
    twins = [Character(label="Goldie", character_id="a.1", account="x"), Character(label="goldie", character_id="b.2", account="y")]
    assert CharacterNames(twins, account="x").resolve("@goldie") == "@a.1"  # names are the account's own
    assert CharacterNames(twins).resolve("@goldie") == "@goldie"  # two of one name: neither is guessed
    assert with_mention("a fox and @go", "Goldie") == "a fox and @Goldie "  # finishes what was typed
    assert with_mention("@Goldie waves", "Goran") == "@Goldie waves @Goran "


def test_a_name_already_used_is_refused_in_words_and_nothing_is_stored(offline) -> None:
    first = offline.from_clip(make_clip(3.0), 0, 3, label="Goldie", request_key="goldie")
    assert offline.from_clip(make_clip(3.0), 0, 3, label="Goldie", request_key="goldie").id == first.id  # a second click
    with pytest.raises(ClipError, match="already called @goldie"):
        offline.from_clip(make_clip(3.0), 0, 3, label="goldie", request_key="another")
    other = offline.from_clip(make_clip(3.0), 0, 3, label="Goran", request_key="goran")
    with offline.store.session() as session, session.begin():
        session.get(Character, first.id).character_id = "swift_maple.82dc77"
    for taken in ("GOLDIE", "swift_maple.82dc77"):
        with pytest.raises(ClipError, match="already called"):
            offline.rename(other.id, taken)
    with pytest.raises(ClipError, match="needs a name"):
        offline.rename(other.id, "   ")
    assert [c.label for c in offline.store.characters()] == ["Goran", "Goldie"]
    blank = offline.from_clip(make_clip(3.0), 0, 3, label="", request_key="blank")
    offline.rename(blank.id, "Goldie two")
    assert offline.store.get_character(blank.id).label == "Goldie two"
