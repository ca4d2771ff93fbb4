"""Storyboards (issue 12): shots made one after another through the engine, each continuing the
one before by its model's own means, then joined with PyAV into one film kept in the Library."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from grsai_api import InvalidRequestError
from studio.connection import sandbox_connection
from studio.db import Character, Generation, LibraryFilter, Status, Store
from studio.media import MediaStore
from studio.storyboard import ShotPlan, StoryboardService, clip_seconds, join_videos

from .conftest import counter, stats
from .seed import TASK_SECONDS, drain, fast_engine

LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from


def make_clip(path: Path, seconds: float, size: tuple[int, int], fps: int, colour, *, tone: float | None = None) -> Path:
    """A clip of one colour (and a sine tone, if asked) of exactly ``seconds``."""
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        audio = out.add_stream("aac", rate=44_100, layout="mono") if tone else None
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            total, done = round(seconds * 44_100), 0
            while done < total:
                n = min(1024, total - done)
                wave = np.sin(2 * np.pi * tone * (np.arange(done, done + n) / 44_100)).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44_100, done
                for packet in audio.encode(frame):
                    out.mux(packet)
                done += n
            for packet in audio.encode():
                out.mux(packet)
    return path


def sound_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0)) / container.streams.audio[0].rate


def test_join_fits_every_shot_to_one_size_and_lasts_as_long_as_the_shots(tmp_path) -> None:
    clips = [
        make_clip(tmp_path / "a.mp4", 2.0, (640, 360), 24, (200, 30, 30), tone=440),
        make_clip(tmp_path / "b.mp4", 1.5, (1280, 720), 30, (30, 200, 30)),  # no sound: silence under it
        make_clip(tmp_path / "c.mp4", 3.0, (360, 640), 12, (30, 30, 200), tone=660),  # portrait: letterboxed
    ]
    shots = [clip_seconds(c) for c in clips]
    film = tmp_path / "film.mp4"
    reported = join_videos(clips, film)

    joined = clip_seconds(film)
    assert abs(joined - sum(shots)) <= 0.5 and abs(reported - sum(shots)) <= 0.1
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert stream.codec_context.name == "h264" and container.streams.audio[0].codec_context.name == "aac"
        # each shot's picture is where its time is: red, then green, then blue (letterboxed)
        seen = {}
        for frame in container.decode(stream):
            seen.setdefault(round(frame.time * 4) / 4, frame.to_ndarray(format="rgb24")[360, 640])
    red, green, blue = seen[1.0], seen[2.75], seen[5.0]
    assert red[0] > 150 > red[1] and green[1] > 150 > green[0] and blue[2] > 150 > blue[0]
    assert abs(sound_seconds(film) - sum(shots)) <= 0.1  # sound the whole way, silence where there was none


def test_a_clip_that_is_not_a_video_is_refused_in_words(tmp_path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(ValueError, match="not a video"):
        join_videos([bad], tmp_path / "film.mp4")


def _service(store, media, connection) -> StoryboardService:
    return StoryboardService(store, media, connection)


def test_make_all_runs_the_shots_in_order_with_continuity_and_keeps_one_film(make_sandbox, tmp_path) -> None:
    running = make_sandbox(**LIGHT)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        service = _service(store, media, connection)
        shots = [
            ShotPlan("veo3.1-fast", "a lighthouse at dawn"),
            ShotPlan("veo3.1-fast", "the lighthouse lamp turns on"),
            ShotPlan("sora-2", "waves below the lighthouse", duration=10),
            ShotPlan("sora-2", "the waves at night", duration=10),
        ]
        board_id, created = service.make_all("Lighthouse", shots, "16:9", request_key="board-1")
        assert created
        assert service.make_all("Lighthouse", shots, "16:9", request_key="board-1") == (board_id, False)
        queued = store.shots_of(board_id)
        assert list(queued) == [0]  # one shot at a time: the next needs this one's last frame

        drain(fast_engine(store, media, connection), timeout=120)

        board = store.storyboard(board_id)
        assert board.state == "done", board.error
        made = [store.shots_of(board_id)[n] for n in range(4)]
        assert [g.status for g in made] == [Status.SUCCEEDED] * 4
        # Veo: shot 2 starts on shot 1's last frame; Sora after Veo: that frame as its image;
        # Sora after Sora: a remix of it
        first_frame = made[1].options["first_frame_url"]
        assert first_frame.startswith("file:frames/")
        with media.working_copy(made[0].video_path) as path, av.open(str(path)) as container:
            *_, last = container.decode(video=0)
        kept = Image.open(io.BytesIO(media.read(first_frame.removeprefix("file:"))))
        assert np.abs(np.asarray(kept, dtype=int) - last.to_ndarray(format="rgb24").astype(int)).mean() < 1
        assert made[2].image_ref and made[2].image_ref.startswith("file:frames/")
        assert made[3].remix_target_id == made[2].pid and made[3].kind == "remix"
        assert made[0].options is None or "first_frame_url" not in made[0].options

        film = store.get(board.film_id)
        assert film.kind == "storyboard" and film.status == Status.SUCCEEDED and film.storyboard_id == board_id
        with media.working_copy(film.video_path) as path:
            joined = clip_seconds(path)
        parts = []
        for shot in made:
            with media.working_copy(shot.video_path) as path:
                parts.append(clip_seconds(path))
        assert abs(joined - sum(parts)) <= 0.5
        # the Library: the film, one item; its shots are folded under it
        items, total = store.search(LibraryFilter(text="lighthouse"))
        assert [g.id for g in items] == [film.id] and total == 1
        assert sum(stats(running)["creates_by_prompt"].values()) == 4  # each shot sent once
        assert store.recent_for(connection.service_id, connection.account) == []  # not in Generate's list
    finally:
        store.dispose()


def test_a_refused_shot_stops_the_storyboard_in_words_and_go_on_makes_it_anew(
    make_sandbox, tmp_path, database_url
) -> None:
    running = make_sandbox(**LIGHT, output_moderation_rate=1.0)
    connection = sandbox_connection(running.base_url)
    store, media = Store(database_url), MediaStore(tmp_path / "media")
    try:
        service = _service(store, media, connection)
        shots = [ShotPlan("veo3.1-fast", "a storm"), ShotPlan("veo3.1-fast", "after the storm")]
        board_id, _ = service.make_all("", shots, "16:9", request_key="board-2")
        drain(fast_engine(store, media, connection), timeout=60)
        board = store.storyboard(board_id)
        assert board.state == "stopped" and board.error.startswith("Shot 1 was not made")
        assert board.name == "a storm"  # named after its first prompt
        assert list(store.shots_of(board_id)) == [0]  # nothing sent after the refusal

        import httpx

        httpx.patch(
            f"{running.base_url}/sandbox/config", json={"output_moderation_rate": 0.0}, headers=running.control_headers
        ).raise_for_status()
        assert service.resume(board_id)
        drain(fast_engine(store, media, connection), timeout=60)
        board = store.storyboard(board_id)
        assert board.state == "done"
        with store.session() as session:
            tries = session.query(Generation).filter(Generation.storyboard_id == board_id, Generation.storyboard_shot == 0)
            assert sorted(g.status for g in tries) == [Status.FAILED, Status.SUCCEEDED]
    finally:
        store.dispose()


def test_bad_shots_are_named_and_nothing_is_kept(make_sandbox, tmp_path) -> None:
    running = make_sandbox(**LIGHT)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        service = _service(store, media, connection)
        cases = [
            ([], "16:9", "at least one"),
            ([ShotPlan("veo3.1-fast", "fine"), ShotPlan("veo3.1-fast", "  ")], "16:9", "Shot 2"),
            ([ShotPlan("nano-banana", "a still")], "16:9", "Shot 1: choose a video model"),
            ([ShotPlan("veo3.1-fast", "x", image="file:/etc/passwd")], "16:9", "Shot 1"),
            ([ShotPlan("veo3.1-fast", "x", image=b"hello, not a picture")], "16:9", "Shot 1: .*image file"),
            ([ShotPlan("veo3.1-fast", "y" * 6000)], "16:9", "Shot 1: .*Cut 1,000 characters"),
            ([ShotPlan("sora-2", "z")] * 13, "16:9", "at most 12 shots"),
        ]
        for shots, ratio, words in cases:
            with pytest.raises(InvalidRequestError, match=words):
                service.make_all("bad", shots, ratio, request_key=f"bad-{words}")
        assert store.storyboards_for(connection.service_id, connection.account) == []
        assert store.search(LibraryFilter())[1] == 0
    finally:
        store.dispose()


def test_a_shot_whose_create_had_no_usable_answer_is_unknown_and_not_sent_again_by_itself(make_sandbox, tmp_path) -> None:
    """A 5xx to a shot's create: the shot may have been made, so it is ``unknown``, kept, and the
    storyboard stops saying so; no engine pass sends it again. Go on (the person's word) sends it once."""
    from .test_fault_survival import fault

    running = make_sandbox(**LIGHT)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        service = _service(store, media, connection)
        fault(running, status=502, path="/v1/video/veo")
        board_id, _ = service.make_all("", [ShotPlan("veo3.1-fast", "a cliff in fog")], "16:9", request_key="b-5xx")
        drain(fast_engine(store, media, connection), timeout=60)
        drain(fast_engine(store, media, connection), timeout=60)  # a second pass changes nothing
        board = store.storyboard(board_id)
        (shot,) = store.shots_of(board_id).values()
        assert shot.status == Status.UNKNOWN and board.state == "stopped" and "Shot 1 was not made" in board.error
        # the one create reached the service (answered by the fault) and was never repeated
        assert (counter(running, "faults_injected"), counter(running, "received_veo")) == (1, 0)

        assert service.resume(board_id)
        drain(fast_engine(store, media, connection), timeout=60)
        assert store.storyboard(board_id).state == "done"
        assert counter(running, "received_veo") == 1  # sent again once, on the person's word
        assert store.get(shot.id).status == Status.UNKNOWN  # the doubtful one is kept, not deleted
    finally:
        store.dispose()


def test_a_sora_shot_names_a_character_as_people_named_it(tmp_path) -> None:
    """@goldie in a Sora shot is kept (and so sent) as Goldie's handle; other models' shots keep their words."""
    connection = sandbox_connection("http://127.0.0.1:9")  # checking sends nothing
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        goldie, _ = store.add_character(
            label="Goldie", source="upload", timestamps="0,3", service=connection.service_id, account=connection.account
        )
        with store.session() as session, session.begin():
            row = session.get(Character, goldie.id)
            row.character_id, row.status = "swift_maple.82dc77", Status.SUCCEEDED
        sora, veo = _service(store, media, connection).check(
            [ShotPlan("sora-2", "@goldie waves, then @ghost"), ShotPlan("veo3.1-fast", "@goldie waves")], "16:9"
        )
        assert sora["prompt"] == "@swift_maple.82dc77 waves, then @ghost" and veo["prompt"] == "@goldie waves"
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("name", "title"),
    [
        # seen in the Library at 1400 px: "A trail runner laces a bright… — A trail runner laces a bright
        # orange sneaker …": a storyboard left unnamed is named after its first shot, said once
        (None, "a kite rises over the sea at dawn, slow / the kite dives"),
        ("Kite film", "Kite film — a kite rises over the sea at dawn, slow / the kite dives"),
    ],
)
def test_the_films_title_says_the_first_shot_once(tmp_path, name, title) -> None:
    from types import SimpleNamespace

    from studio.storyboard import _name_from, join_shots

    media = MediaStore(tmp_path / "media")
    prompts = ["a kite rises over the sea at dawn, slow", "the kite dives"]
    shots = []
    for number, (prompt, colour) in enumerate(zip(prompts, [(200, 30, 30), (30, 200, 30)], strict=True)):
        clip = make_clip(tmp_path / f"{number}.mp4", 0.5, (320, 180), 12, colour)
        media.write(f"videos/shot-{number}.mp4", clip.read_bytes())
        shots.append(SimpleNamespace(video_path=f"videos/shot-{number}.mp4", prompt=prompt, model="sora-2",
                                     aspect_ratio="16:9"))  # fmt: skip
    board = SimpleNamespace(id=7, name=name or _name_from(prompts[0]), service="sandbox", account=None,
                            created_at=None)  # fmt: skip
    assert join_shots(Store(f"sqlite:///{tmp_path / 'studio.db'}"), media, board, shots)["prompt"] == title
