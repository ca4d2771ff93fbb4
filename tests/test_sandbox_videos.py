"""The sandbox's videos are real: decodable H.264, the right size and length, and they show what
was asked (the prompt changes over time, a remix keeps its source's look, characters and reference
images appear)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import av
import httpx
import numpy as np
import pytest

from grsai_api import Client

from .conftest import API_KEY, make_clip, png


@pytest.fixture
def client(standard_sandbox) -> Iterator[Client]:
    """What these tests look at is the picture a person sees: the standard render."""
    with Client(api_key=API_KEY, base_url=standard_sandbox.base_url) as c:
        c._sleep = lambda seconds: None
        yield c


def fetch(url: str) -> bytes:
    response = httpx.get(url)
    assert response.status_code == 200
    return response.content


def frames_at(data: bytes, seconds: list[float]) -> list[np.ndarray]:
    wanted, found = sorted(seconds), []
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            if wanted and frame.time >= wanted[0] - 1e-6:
                found.append(frame.to_ndarray(format="rgb24").astype(int))
                wanted.pop(0)
    return found


@pytest.mark.parametrize(
    ("aspect_ratio", "size", "duration", "expected"),
    [
        ("16:9", "small", 10, (640, 360)),
        ("9:16", "small", 15, (360, 640)),
        ("16:9", "large", 10, (1280, 720)),
        ("9:16", "large", 10, (720, 1280)),
    ],
)
def test_videos_are_h264_yuv420p_of_the_asked_size_and_length(
    client: Client, aspect_ratio, size, duration, expected
) -> None:
    task = client.wait(
        client.create_video(
            prompt="a glass of lemonade", aspect_ratio=aspect_ratio, size=size, duration=duration
        ),
        interval=0.1,
    )
    with av.open(io.BytesIO(fetch(task.video_url))) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == expected
        assert container.duration / 1_000_000 == pytest.approx(duration, abs=0.1)
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == duration * 24


def test_the_picture_moves(client: Client) -> None:
    task = client.wait(client.create_video(prompt="a spinning top"), interval=0.1)
    early, late = frames_at(fetch(task.video_url), [1.0, 8.0])
    assert np.abs(early - late).mean() > 5


def test_a_remix_keeps_its_sources_look_with_the_new_prompt(client: Client) -> None:
    source = client.wait(client.create_video(prompt="a quiet harbour at sunrise, boats"), interval=0.1)
    remix = client.wait(
        client.create_video(prompt="the same harbour in a snowstorm", remix_target_id=source.pid),
        interval=0.1,
    )
    other = client.wait(client.create_video(prompt="a neon city street, rain, night"), interval=0.1)
    [a], [b], [c] = (frames_at(fetch(t.video_url), [3.0]) for t in (source, remix, other))
    top = slice(None, a.shape[0] // 2)  # the scene, above the caption
    same_look = np.abs(a[top].mean((0, 1)) - b[top].mean((0, 1))).sum()
    different_look = np.abs(a[top].mean((0, 1)) - c[top].mean((0, 1))).sum()
    assert same_look < 10 < different_look
    assert np.abs(a - b).mean() > 1  # ... but it is a new video


def test_the_same_prompt_asked_again_is_another_take_and_its_remix_keeps_that_take(client: Client) -> None:
    """Like a real model, a second ask of one prompt gives another take (Generate N, keep the best
    has N to choose from); a remix of that take keeps its look."""
    prompt = "a paper boat on a rainy street, another take"
    first, second = (client.wait(client.create_video(prompt=prompt), interval=0.1) for _ in range(2))
    remix = client.wait(client.create_video(prompt="the boat at night", remix_target_id=second.pid), interval=0.1)
    [a], [b], [c] = (frames_at(fetch(t.video_url), [3.0]) for t in (first, second, remix))
    top = slice(None, a.shape[0] // 2)
    assert np.abs(a[top].mean((0, 1)) - b[top].mean((0, 1))).sum() > 10  # two takes look different
    assert np.abs(b[top].mean((0, 1)) - c[top].mean((0, 1))).sum() < 10  # the remix keeps its take's look
    one, two = (client.wait(client.create_image(prompt=prompt, model="nano-banana"), interval=0.1) for _ in range(2))
    assert fetch(one.urls[0]) != fetch(two.urls[0])


def _share_near(frame: np.ndarray, color: tuple[int, int, int], tolerance: int = 40) -> float:
    return float((np.abs(frame - np.array(color)).sum(axis=2) < tolerance).mean())


def test_characters_appear_in_the_videos_that_use_them(client: Client) -> None:
    magenta = (230, 20, 200)
    plain = client.wait(client.create_video(prompt="a park bench"), interval=0.1)
    with_character = client.wait(
        client.create_video(
            prompt="@character1 sits on a park bench",
            characters=[{"url": make_clip(3.0, magenta), "timestamps": "0,3"}],
        ),
        interval=0.1,
    )
    [without], [with_it] = (frames_at(fetch(t.video_url), [2.0]) for t in (plain, with_character))
    assert _share_near(with_it, magenta) > 0.03 > _share_near(without, magenta)


def test_an_uploaded_character_appears_when_mentioned_by_id(client: Client) -> None:
    lime = (40, 230, 30)
    character = client.wait(
        client.upload_character(url=make_clip(3.0, lime), timestamps=(0, 2)), interval=0.1
    )
    video = client.wait(client.create_video(prompt=f"@{character.character_id} waves hello"), interval=0.1)
    [frame] = frames_at(fetch(video.video_url), [2.0])
    assert _share_near(frame, lime) > 0.03


def test_a_reference_image_is_used(client: Client) -> None:
    red = (220, 30, 30)
    video = client.wait(
        client.create_video(prompt="a product shot", image_url=png(red, (320, 180))), interval=0.1
    )
    [frame] = frames_at(fetch(video.video_url), [2.0])
    assert frame[: frame.shape[0] // 2].mean((0, 1))[0] > 120  # the backdrop is the red image, tinted


def test_result_urls_expire_as_the_providers_do(make_sandbox) -> None:
    running = make_sandbox(url_ttl=1.0)
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        task = client.wait(client.create_video(prompt="fleeting"), interval=0.1)
        assert httpx.get(task.video_url).status_code == 200
        time.sleep(1.2)
        assert httpx.get(task.video_url).status_code == 404


def test_a_restarted_sandbox_resumes_its_running_tasks(make_sandbox, tmp_path) -> None:
    first = make_sandbox(task_seconds=2.0, data_dir=tmp_path / "kept")
    with Client(api_key=API_KEY, base_url=first.base_url) as client:
        task_id = client.create_video(prompt="survives a restart")
        credits = client.credits()
    first.stop()
    second = make_sandbox(task_seconds=2.0, data_dir=tmp_path / "kept")
    with Client(api_key=API_KEY, base_url=second.base_url) as client:
        task = client.wait(task_id, interval=0.2, timeout=30)
        assert task.status == "succeeded" and fetch(task.video_url)[4:8] == b"ftyp"
        assert client.credits() == pytest.approx(credits)


def test_many_concurrent_submissions_are_all_accepted_once(make_sandbox) -> None:
    import asyncio

    from grsai_api import AsyncClient

    running = make_sandbox(render_profile="light", task_seconds=0.5)

    async def burst():
        async with AsyncClient(api_key=API_KEY, base_url=running.base_url) as client:
            ids = await asyncio.gather(*(client.create_video(prompt=f"product {n}") for n in range(60)))
            done = await asyncio.gather(*(client.wait(i, interval=0.2) for i in ids))
            return ids, done

    ids, done = asyncio.run(burst())
    assert len(set(ids)) == 60 and all(t.status == "succeeded" for t in done)
    stats = httpx.get(f"{running.base_url}/sandbox/stats", headers=running.control_headers).json()["counters"]
    assert stats["accepted_video"] == 60 and stats["succeeded_video"] == 60
