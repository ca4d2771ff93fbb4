"""The client with every model family, over real HTTP against the sandbox: Veo (frames, references,
its fixed length and tier sizes), Nano Banana and GPT image, MiniMax H3 on the unified API (its own
result path, `violation`), GrsAI storage, `-22`, models that are down, and the prices charged.
Raw-HTTP shapes the client cannot express are in test_sandbox_models.py."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from PIL import Image

from grsai_api import (
    MODELS,
    AsyncClient,
    Client,
    InvalidRequestError,
    NotFoundError,
    TaskFailedError,
)
from sandbox.control import control_headers
from tests.conftest import API_KEY, png, run, stats

QUICK = {"task_seconds": 0.4, "image_seconds": 0.2}  # on top of conftest.FAST (make_sandbox starts from it)
RED, BLUE, GREEN = (220, 30, 30), (30, 40, 230), (20, 210, 60)


@pytest.fixture
def quick(make_sandbox):
    """Fast tasks, light renders: for everything but the size of a video."""
    return make_sandbox(**QUICK)


@pytest.fixture
def standard(make_sandbox):
    """Fast tasks, videos at their real sizes."""
    return make_sandbox(**{**QUICK, "render_profile": "standard"})


@pytest.fixture
def client(quick):
    with Client(api_key=API_KEY, base_url=quick.base_url) as c:
        yield c


def credits(running) -> int:
    return httpx.post(f"{running.base_url}/client/openapi/getAPIKeyCredits", json={"apiKey": API_KEY}).json()[
        "data"
    ]["credits"]


def received(running, kind: str) -> int:
    return stats(running)["counters"].get(f"received_{kind}", 0)


def video(url: str) -> tuple[Image.Image, Image.Image, float, tuple[int, int]]:
    """The first and last frames, the length in seconds and the frame size of the video at ``url``."""
    with av.open(io.BytesIO(httpx.get(url).content)) as container:
        stream = container.streams.video[0]
        first = last = None
        for frame in container.decode(stream):
            first = first or frame.to_image()
            last = frame
        seconds = container.duration / 1_000_000
        return first, last.to_image(), seconds, (stream.codec_context.width, stream.codec_context.height)


def image(url: str) -> Image.Image:
    return Image.open(io.BytesIO(httpx.get(url).content)).convert("RGB")


def middle(picture: Image.Image) -> tuple[int, int, int]:
    return picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))


def close(a, b, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def shows(
    picture: Image.Image, colour: tuple[int, int, int], share: float = 0.01, tolerance: int = 40
) -> bool:
    """Whether at least ``share`` of the picture is near ``colour``."""
    near = sum(n for n, c in picture.convert("RGB").getcolors(1 << 22) if close(c, colour, tolerance))
    return near >= share * picture.width * picture.height


# -- Veo ---------------------------------------------------------------------------------------------
def test_a_veo_video_runs_from_its_first_frame_to_its_last_at_the_tiers_size(standard):
    with Client(api_key=API_KEY, base_url=standard.base_url) as client:
        before = client.credits()
        task = client.wait(
            client.create_video(
                prompt="a red card turns blue",
                model="veo3.1-fast",
                first_frame_url=png(RED, size=(160, 90)),
                last_frame_url=png(BLUE, size=(90, 160)),  # covered, whatever its own shape
            ),
            interval=0.1,
        )
        spent = before - client.credits()
    assert task.id.startswith("4-")  # ids of the newer models
    assert task.raw["url"] == task.video_url  # the top-level url one adapter reads
    first, last, seconds, size = video(task.video_url)
    assert seconds == pytest.approx(8, abs=0.2) and size == (1280, 720)
    assert close(middle(first), RED) and close(middle(last), BLUE)
    assert spent == MODELS["veo3.1-fast"].price == 2_400


def test_veo_takes_three_references_and_shows_them(client):
    colours = [(250, 200, 0), (0, 200, 200), (250, 0, 250)]
    task = client.wait(
        client.create_video(
            prompt="three cans",
            model="veo3.1-pro",
            aspect_ratio="9:16",
            reference_urls=[png(c) for c in colours],
        ),
        interval=0.1,
    )
    first, _, seconds, size = video(task.video_url)
    assert seconds == pytest.approx(8, abs=0.2) and size[0] < size[1]  # 9:16 (quartered: light profile)
    assert all(shows(first, colour, share=0.005) for colour in colours)  # each reference, as a card


def test_what_veo_cannot_take_is_refused_before_sending(client, quick):
    refs = [png((40 * n, 200, 90)) for n in range(1, 5)]
    sent = received(quick, "veo")
    with pytest.raises(InvalidRequestError) as too_many:
        client.create_video(prompt="four cans", model="veo3.1-pro", reference_urls=refs)
    assert too_many.value.field == "reference_urls" and "at most 3" in too_many.value.message
    with pytest.raises(InvalidRequestError) as both:
        client.create_video(prompt="x", model="veo3.1-fast", first_frame_url=refs[0], reference_urls=refs[:1])
    assert both.value.field == "reference_urls"
    for field, value in (("remix_target_id", "s_" + "0" * 32), ("duration", 15), ("size", "large")):
        with pytest.raises(InvalidRequestError) as refused:
            client.create_video(prompt="x", model="veo3.1-fast", **{field: value})
        assert refused.value.field == field and refused.value.status_code is None  # never sent
    assert received(quick, "veo") == sent  # none of them reached the sandbox


def test_veo_streams_like_sora(client):
    updates = list(client.stream_video(prompt="a streamed wave", model="veo3.1-fast-1080p"))
    assert updates[-1].status == "succeeded" and updates[-1].video_url
    assert [u.progress for u in updates] == sorted(u.progress for u in updates)


# -- images ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ratio", "size_name", "expected"),
    [("16:9", "1K", (1024, 576)), ("3:4", "2K", (1536, 2048)), ("1:1", "1K", (1024, 1024))],
)
def test_nano_banana_images_have_the_ratio_and_size_asked(client, ratio, size_name, expected):
    task = client.wait(
        client.create_image(
            prompt="a teapot", model="nano-banana-fast", aspect_ratio=ratio, image_size=size_name
        ),
        interval=0.1,
    )
    [url] = task.urls
    assert image(url).size == expected


def test_nano_banana_auto_ratio_follows_the_reference_and_uses_it(client):
    tall = png((250, 200, 0), size=(90, 160))
    task = client.wait(
        client.create_image(
            prompt="in the style of this", model="nano-banana", aspect_ratio="auto", reference_urls=[tall]
        ),
        interval=0.1,
    )
    picture = image(task.urls[0])
    assert picture.size == (576, 1024)
    assert shows(picture, (250, 200, 0), share=0.005, tolerance=12)  # the reference is in it


def test_gpt_image_variants_are_that_many_different_images(client, quick):
    before = credits(quick)
    task = client.wait(
        client.create_image(prompt="a logo", model="gpt-image-2", variants=3, aspect_ratio="3:2"),
        interval=0.1,
    )
    pictures = [httpx.get(url).content for url in task.urls]
    assert len(pictures) == 3 and len(set(pictures)) == 3
    assert {Image.open(io.BytesIO(p)).size for p in pictures} == {(1536, 1024)}
    assert before - credits(quick) == 600  # one call, whatever the variants
    with pytest.raises(InvalidRequestError) as five:
        client.create_image(prompt="a logo", model="gpt-image-2", variants=5)
    assert five.value.field == "variants"


# -- MiniMax H3 on the unified API -------------------------------------------------------------------
def test_minimax_makes_the_duration_asked_and_a_refused_prompt_is_a_violation(standard):
    async def scenario():
        async with AsyncClient(api_key=API_KEY, base_url=standard.base_url) as client:
            before = await client.credits()
            task_id = await client.create_video(
                prompt="waves", model="minimax-h3", duration=3, resolution="480p"
            )
            done = await client.wait(task_id, interval=0.1, model="minimax-h3")
            with pytest.raises(TaskFailedError) as refused:
                await client.wait(
                    await client.create_video(
                        prompt="explicit scene", model="minimax-h3", duration=2, resolution="480p"
                    ),
                    interval=0.1,
                    model="minimax-h3",
                )
            with pytest.raises(InvalidRequestError) as too_long:
                await client.create_video(prompt="x", model="minimax-h3", duration=11, resolution="1080p")
            return done, refused.value, too_long.value, before - await client.credits()

    done, refused, too_long, spent = run(scenario())
    _, _, seconds, size = video(done.video_url)
    assert seconds == pytest.approx(3, abs=0.2) and size == (854, 480)
    assert refused.reason == "violation" and refused.task.failure_reason == "violation"
    assert spent == 2 * MODELS["minimax-h3"].price  # the refused prompt was charged too, as GrsAI does
    assert too_long.field == "duration"
    assert stats(standard)["polls_by_task"].get(done.id, 0) >= 1  # polled on /v1/api/result


def test_a_unified_task_is_not_found_on_its_result_path_once_gone(client):
    with pytest.raises(NotFoundError) as missing:
        client.get_result("4-00000000-0000-4000-8000-000000000000", model="minimax-h3")
    assert missing.value.code == -22 and "result not exist" in missing.value.message


# -- not found, storage ------------------------------------------------------------------------------
def test_an_unknown_task_is_not_found(client):
    with pytest.raises(NotFoundError) as missing:
        client.get_result("4-00000000-0000-0000-0000-000000000000")
    assert missing.value.code == -22


def test_a_file_uploaded_to_storage_is_served_and_usable_as_a_frame(client, quick):
    green = png(GREEN, size=(160, 90))
    address = client.upload_file(green, suffix="png")
    assert httpx.get(address).content == green
    task = client.wait(
        client.create_video(prompt="from storage", model="veo3.1-fast", first_frame_url=address), interval=0.1
    )
    first, _, _, _ = video(task.video_url)
    assert close(middle(first), GREEN)
    assert stats(quick)["counters"]["uploads_stored"] == 1


def test_the_async_client_uploads_too(quick):
    async def scenario():
        async with AsyncClient(api_key=API_KEY, base_url=quick.base_url) as client:
            address = await client.upload_file(png(BLUE), suffix=".png")
            task = await client.wait(
                await client.create_image(prompt="blue", model="nano-banana-fast", reference_urls=[address]),
                interval=0.1,
            )
            return address, task

    address, task = run(scenario())
    assert httpx.get(address).content == png(BLUE) and task.urls
    assert stats(quick)["downloads_by_file"] == {address.split("/files/", 1)[1]: 1}  # ours, not the sandbox's


def test_a_file_too_large_for_the_storage_is_refused_in_words(make_sandbox):
    tiny = make_sandbox(**QUICK, upload_max_bytes=100)
    with (
        Client(api_key=API_KEY, base_url=tiny.base_url) as client,
        pytest.raises(InvalidRequestError) as refused,
    ):
        client.upload_file(png(size=(64, 64)), suffix="png")  # not "the API key was refused"
    assert refused.value.status_code == 413 and "too large" in refused.value.message


# -- models that are down, prices --------------------------------------------------------------------
def test_a_model_taken_down_is_reported_and_refused_without_charge(client, quick):
    httpx.patch(
        f"{quick.base_url}/sandbox/config",
        headers=control_headers(quick.base_url),
        json={"models": {"sora-2": {"available": False, "message": "retired"}}},
    ).raise_for_status()
    status = client.model_status("sora-2")
    assert not status.available and status.message == "retired"
    assert client.model_status("veo3.1-fast").available
    unknown = client.model_status("sora-9")
    assert not unknown.available and "unknown" in unknown.message
    before = credits(quick)
    with pytest.raises(InvalidRequestError) as refused:  # the service's refusal: a non-zero code
        client.create_video(prompt="still there?", model="sora-2")
    assert "unavailable" in refused.value.message and "retired" in refused.value.message
    assert credits(quick) == before and stats(quick)["creates_by_model"] == {}
    httpx.patch(
        f"{quick.base_url}/sandbox/config",
        headers=control_headers(quick.base_url),
        json={"models": {"veo3.1-fast": {"price": 2_000}}},
    )
    client.wait(client.create_video(prompt="cheaper now", model="veo3.1-fast"), interval=0.1)
    assert before - credits(quick) == 2_000  # the price set while running


def test_every_model_is_charged_its_catalogue_price(client, quick):
    task_ids = {}
    makers = [m for m in MODELS.values() if m.kind != "chat"]  # chat is charged by the token
    for model in makers:
        before = credits(quick)
        if model.kind == "image":
            task_ids[model.id] = client.create_image(prompt=f"priced {model.id}", model=model.id)
        elif model.api == "unified":
            task_ids[model.id] = client.create_video(
                prompt="priced", model=model.id, duration=1, resolution="480p"
            )
        else:
            task_ids[model.id] = client.create_video(prompt=f"priced {model.id}", model=model.id)
        assert before - credits(quick) == model.price, model.id
    for model, task_id in task_ids.items():
        assert client.wait(task_id, interval=0.1, model=model).status == "succeeded"
    assert stats(quick)["creates_by_model"] == dict.fromkeys((m.id for m in makers), 1)
