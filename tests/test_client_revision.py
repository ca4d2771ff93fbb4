"""Every model of the protocol page's "Revision of 2026-12", made through the client against the
sandbox over real HTTP: the body on the wire carries each field under the name the page gives, on
the path the page gives (images and MiniMax on the unified API with ``replyType: "async"``, polled
on ``/v1/api/result``; the older models on their ``/v1/*`` paths), and the result is made."""

from __future__ import annotations

import io
import json
import wave

import httpx
import pytest
from PIL import Image

from grsai_api import Client
from sandbox import SandboxConfig, serve_in_thread
from tests.conftest import API_KEY, FAST, png
from tests.test_client_models import QUICK, image, video

PICTURE = png((250, 200, 0), size=(64, 64))


def wav() -> bytes:
    """A quarter second of silence: a real sound file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 2000)
    return buffer.getvalue()


NANO_UNIFIED = [
    "nano-banana-2",
    "nano-banana-2-cl",
    "nano-banana-2-2k-cl",
    "nano-banana-2-4k-cl",
    "nano-banana-pro-vt",
    "nano-banana-pro-cl",
    "nano-banana-pro-vip",
    "nano-banana-pro-4k-vip",
]
GPT_UNIFIED = ["gpt-image-2-vip", "gpt-image-2.5", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst"]
UNIFIED = "/v1/api/generate"

# model -> (the client's keywords, the wire fields the protocol page names, the path it is sent to)
CASES: dict[str, tuple[dict, dict, str]] = {
    **{
        model: (
            {"aspect_ratio": "1:4", "image_size": "2K", "reference_urls": [PICTURE]},
            {"aspectRatio": "1:4", "imageSize": "2K", "replyType": "async"},
            UNIFIED,
        )
        for model in NANO_UNIFIED
    },
    **{
        model: (
            {"aspect_ratio": "1536x1024", "quality": "high", "background": "transparent", "mask_url": PICTURE},
            {"aspectRatio": "1536x1024", "quality": "high", "background": "transparent", "replyType": "async"},
            UNIFIED,
        )
        for model in GPT_UNIFIED
    },
    **{
        model: ({"aspect_ratio": "3:4", "image_size": "1K"}, {"aspectRatio": "3:4", "imageSize": "1K"}, "/v1/draw/nano-banana")
        for model in ("nano-banana", "nano-banana-fast", "nano-banana-pro")
    },
    "gpt-image-2": ({"aspect_ratio": "3:2", "variants": 2}, {"aspectRatio": "3:2", "variants": 2}, "/v1/draw/completions"),
    "minimax-h3": (
        {
            "aspect_ratio": "9:16",
            "resolution": "480p",
            "duration": 2,
            "reference_urls": [PICTURE],
            "audio_urls": [wav()],
            "seed": 7,
        },
        {"aspectRatio": "portrait", "resolution": "480p", "duration": 2, "seed": 7, "replyType": "async"},
        UNIFIED,
    ),
    **{
        model: ({"aspect_ratio": "9:16", "duration": 4}, {"aspectRatio": "9:16", "duration": 4}, "/v1/video/veo")
        for model in ("veo3.1-fast", "veo3.1-pro")
    },
}


@pytest.fixture(scope="module")
def quick_module(tmp_path_factory):
    """One fast sandbox for the module (light renders)."""
    running = serve_in_thread(
        SandboxConfig(**{**FAST, **QUICK}, data_dir=tmp_path_factory.mktemp("revision")), port=0
    )
    yield running
    running.stop()


@pytest.mark.parametrize("model", list(CASES))
def test_each_model_of_the_revision_is_sent_as_the_protocol_page_says(quick_module, model):
    asked, wire, path = CASES[model]
    sent: list[httpx.Request] = []
    with (
        httpx.Client(event_hooks={"request": [sent.append]}, timeout=30) as http,
        Client(api_key=API_KEY, base_url=quick_module.base_url, http_client=http) as client,
    ):
        makes_video = model.startswith(("minimax", "veo"))
        create = client.create_video if makes_video else client.create_image
        task = client.wait(create(prompt=f"a brass lamp on {model}", model=model, **asked), interval=0.1, model=model)
    assert task.status == "succeeded"
    [create_request] = [r for r in sent if r.method == "POST" and r.url.path == path]
    body = json.loads(create_request.content)
    assert body["model"] == model and body["prompt"] == f"a brass lamp on {model}"
    assert {k: body.get(k) for k in wire} == wire
    polled = {r.url.path for r in sent if r is not create_request}
    assert polled == ({"/v1/api/result"} if path == UNIFIED else {"/v1/draw/result"})
    if "reference_urls" in asked:  # the pictures go as a list under the page's name for the path
        assert len(body["images" if path == UNIFIED else "urls"]) == 1
    if "mask_url" in asked:
        assert isinstance(body["mask"], str) and body["mask"]
    if "audio_urls" in asked:
        assert len(body["audios"]) == 1 and isinstance(body["audios"][0], str)
    if model in NANO_UNIFIED:
        assert image(task.urls[0]).size[0] * 4 == image(task.urls[0]).size[1]  # 1:4, as asked
    if model in GPT_UNIFIED:
        picture = Image.open(io.BytesIO(httpx.get(task.urls[0]).content))
        assert picture.width > picture.height and picture.mode == "RGBA"
        assert picture.getextrema()[3][0] == 0  # transparent where there is no subject
    if makes_video:
        assert video(task.video_url)[2] == pytest.approx(asked["duration"], abs=0.2)  # the length asked
