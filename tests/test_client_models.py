"""The client with every model family, over real HTTP against the sandbox: Veo (frames, references,
every reply mode), Nano Banana and GPT image, MiniMax H3 on the unified API (its replies, its result
path, `violation`), GrsAI storage, `-22`, and a model that is down."""

from __future__ import annotations

import io
import json

import av
import httpx
import pytest
from PIL import Image

from grsai_api import (
    AsyncClient,
    Client,
    InvalidRequestError,
    NotFoundError,
    TaskFailedError,
)
from tests.conftest import API_KEY, png, run, stats

QUICK = {"task_seconds": 0.5, "image_seconds": 0.2, "progress_interval": 0.1, "render_profile": "light"}


@pytest.fixture
def quick(make_sandbox):
    return make_sandbox(**QUICK)


@pytest.fixture
def client(quick):
    with Client(api_key=API_KEY, base_url=quick.base_url) as c:
        yield c


def credits(running) -> int:
    return httpx.post(
        f"{running.base_url}/client/openapi/getAPIKeyCredits", json={"apiKey": API_KEY}
    ).json()["data"]["credits"]


def frames(data: bytes) -> tuple[list[Image.Image], float, tuple[int, int]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        images = [frame.to_image() for frame in container.decode(stream)]
        seconds = container.duration / 1_000_000
        return images, seconds, (stream.codec_context.width, stream.codec_context.height)


def middle(image: Image.Image) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


def close(a, b, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_a_veo_video_runs_from_its_first_frame_to_its_last(client, quick):
    red, blue = png((220, 30, 30), size=(160, 90)), png((30, 40, 230), size=(160, 90))
    before = credits(quick)
    task = client.wait(
        client.create_video(
            prompt="a red card turns blue", model="veo3.1-fast", first_frame_url=red, last_frame_url=blue
        ),
        interval=0.1,
    )
    assert task.id.startswith("4-")  # ids of the newer models
    assert task.raw["url"] == task.video_url  # the top-level url one adapter reads
    images, seconds, size = frames(httpx.get(task.video_url).content)
    assert abs(seconds - 8) < 0.5 and size[0] > size[1]  # 8 s, landscape (light profile: scaled down)
    assert close(middle(images[0]), (220, 30, 30)) and close(middle(images[-1]), (30, 40, 230))
    assert before - credits(quick) == 2_400


def test_veo_takes_three_references_and_refuses_a_fourth_before_sending(client, quick):
    refs = [png((40 * n, 200, 90)) for n in range(1, 4)]
    task = client.wait(client.create_video(prompt="three cans", model="veo3.1-pro", reference_urls=refs), interval=0.1)
    assert task.status == "succeeded"
    received = stats(quick)["counters"].get("received_veo", 0)
    with pytest.raises(InvalidRequestError) as too_many:
        client.create_video(prompt="four cans", model="veo3.1-pro", reference_urls=[*refs, png()])
    assert too_many.value.field == "reference_urls"
    with pytest.raises(InvalidRequestError) as both:
        client.create_video(prompt="x", model="veo3.1-fast", first_frame_url=refs[0], reference_urls=refs[:1])
    assert both.value.field == "reference_urls"
    for field, value in (("remix_target_id", "s_" + "0" * 32), ("duration", 15)):
        with pytest.raises(InvalidRequestError) as refused:
            client.create_video(prompt="x", model="veo3.1-fast", **{field: value})
        assert refused.value.field == field
    assert stats(quick)["counters"].get("received_veo", 0) == received  # none of them was sent


def test_veo_streams_and_posts_like_sora(quick):
    """The no-webHook mode (a stream of task objects) serves Veo too."""
    with Client(api_key=API_KEY, base_url=quick.base_url) as client:
        updates = list(client.stream_video(prompt="a streamed wave", model="veo3.1-fast"))
    assert updates[-1].status == "succeeded" and updates[-1].video_url


@pytest.mark.parametrize(
    ("ratio", "size_name", "expected"),
    [("16:9", "1K", (1024, 576)), ("3:4", "2K", (1536, 2048)), ("1:1", "1K", (1024, 1024))],
)
def test_nano_banana_images_have_the_ratio_and_size_asked(client, ratio, size_name, expected):
    task = client.wait(
        client.create_image(prompt="a teapot", model="nano-banana-fast", aspect_ratio=ratio, image_size=size_name),
        interval=0.1,
    )
    [url] = task.urls
    assert Image.open(io.BytesIO(httpx.get(url).content)).size == expected


def test_nano_banana_auto_ratio_follows_the_reference_and_uses_it(client):
    tall = png((250, 200, 0), size=(90, 160))
    task = client.wait(
        client.create_image(prompt="in the style of this", model="nano-banana", aspect_ratio="auto", reference_urls=[tall]),
        interval=0.1,
    )
    image = Image.open(io.BytesIO(httpx.get(task.urls[0]).content)).convert("RGB")
    assert image.size == (576, 1024)
    colours = image.getcolors(maxcolors=1 << 20)
    assert any(close(colour, (250, 200, 0), 12) for _, colour in colours)  # the reference is in it


def test_gpt_image_variants_are_that_many_different_images(client, quick):
    before = credits(quick)
    task = client.wait(client.create_image(prompt="a logo", model="gpt-image-2", variants=3, aspect_ratio="3:2"), interval=0.1)
    pictures = [httpx.get(url).content for url in task.urls]
    assert len(pictures) == 3 and len(set(pictures)) == 3
    assert {Image.open(io.BytesIO(p)).size for p in pictures} == {(1536, 1024)}
    assert before - credits(quick) == 600  # one call, whatever the variants


def test_minimax_on_the_unified_api(quick):
    async def scenario():
        async with AsyncClient(api_key=API_KEY, base_url=quick.base_url) as client:
            task_id = await client.create_video(prompt="waves", model="minimax-h3", duration=3, resolution="480p")
            done = await client.wait(task_id, interval=0.1, model="minimax-h3")
            with pytest.raises(TaskFailedError) as refused:
                await client.wait(
                    await client.create_video(prompt="explicit scene", model="minimax-h3", duration=2, resolution="480p"),
                    interval=0.1,
                    model="minimax-h3",
                )
            return done, refused.value

    done, refused = run(scenario())
    _, seconds, size = frames(httpx.get(done.video_url).content)
    assert abs(seconds - 3) < 0.5 and size[0] > size[1]
    assert refused.reason == "violation"  # the unified API's own end, refunded
    polls = stats(quick)["polls_by_task"]
    assert polls.get(done.id, 0) >= 1  # polled on /v1/api/result (the old path would not know it)


def test_the_unified_api_answers_json_and_stream_replies_and_says_result_not_exist(quick):
    base, auth = quick.base_url, {"Authorization": f"Bearer {API_KEY}"}
    body = {"model": "minimax-h3", "prompt": "a kite", "duration": 2, "resolution": "480p"}
    whole = httpx.post(f"{base}/v1/api/generate", json={**body, "replyType": "json"}, headers=auth, timeout=30).json()
    assert whole["status"] == "succeeded" and whole["results"][0]["url"]
    gone = httpx.get(f"{base}/v1/api/result", params={"id": whole["id"]}, headers=auth).json()
    assert gone == {"code": -22, "msg": "result not exist", "data": None}  # a json reply's id is not pollable
    with httpx.stream("POST", f"{base}/v1/api/generate", json={**body, "replyType": "stream"}, headers=auth, timeout=30) as r:
        updates = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    assert updates[-1]["status"] == "succeeded"
    with Client(api_key=API_KEY, base_url=base) as client, pytest.raises(NotFoundError):
        client.get_result(whole["id"], model="minimax-h3")


def test_an_unknown_task_is_not_found(client):
    with pytest.raises(NotFoundError) as missing:
        client.get_result("4-00000000-0000-0000-0000-000000000000")
    assert missing.value.code == -22


def test_a_file_uploaded_to_storage_is_served_and_usable_as_a_frame(client, quick):
    green = png((20, 210, 60), size=(160, 90))
    address = client.upload_file(green, suffix="png")
    assert httpx.get(address).content == green
    task = client.wait(client.create_video(prompt="from storage", model="veo3.1-fast", first_frame_url=address), interval=0.1)
    images, _, _ = frames(httpx.get(task.video_url).content)
    assert close(middle(images[0]), (20, 210, 60))
    assert stats(quick)["counters"]["uploads_stored"] == 1


def test_the_storage_put_is_single_use_and_capped(quick):
    auth = {"Authorization": f"Bearer {API_KEY}"}
    token = httpx.post(f"{quick.base_url}/client/resource/newUploadToken", json={"sux": "png"}, headers=auth).json()
    put = token["data"]["url"]
    assert httpx.put(put, content=png()).status_code == 200
    assert httpx.put(put, content=png()).status_code == 403  # used
    assert httpx.put(put.rsplit("/", 1)[0] + "/not-a-token", content=png()).status_code == 403
    big = httpx.post(f"{quick.base_url}/client/resource/newUploadToken", json={"sux": "mp4"}, headers=auth).json()
    assert httpx.put(big["data"]["url"], content=b"\0" * (50 * 1024 * 1024 + 1)).status_code == 413


def test_a_model_taken_down_is_reported_and_refused_without_charge(client, quick):
    httpx.patch(
        f"{quick.base_url}/sandbox/config", json={"models": {"sora-2": {"available": False, "message": "retired"}}}
    ).raise_for_status()
    status = client.model_status("sora-2")
    assert not status.available and status.message == "retired"
    assert client.model_status("veo3.1-fast").available
    assert not client.model_status("sora-9").available
    before = credits(quick)
    with pytest.raises(InvalidRequestError):  # the service's refusal: a non-zero code
        client.create_video(prompt="still there?", model="sora-2")
    assert credits(quick) == before
    httpx.patch(f"{quick.base_url}/sandbox/config", json={"models": {"veo3.1-fast": {"price": 2_000}}})
    client.wait(client.create_video(prompt="cheaper now", model="veo3.1-fast"), interval=0.1)
    assert before - credits(quick) == 2_000  # the price set while running
