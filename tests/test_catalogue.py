"""The model catalogue and the price table: the offer made when a model is down, the default
picked, and prices a person overrides, seen by every process of the deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from grsai_api import MODELS, InvalidRequestError, best, closest, image_request, video_request
from studio import costs
from studio.db import Store


def test_the_closest_model_that_is_up_is_of_the_same_kind_and_nearest_in_price():
    up = {m for m in MODELS if m != "sora-2"}
    assert closest("sora-2", up).id == "veo3.1-fast"  # 2,400 credits: the nearest video model to 1,600
    assert closest("veo3.1-pro-4k", up).id == "veo3.1-pro-1080p"  # the same family first
    banana = {m for m in MODELS if MODELS[m].family == "Nano Banana"}
    assert closest("nano-banana", up).id == "nano-banana-2"  # the same family, the nearest price
    assert closest("nano-banana", up - banana).id == "gpt-image-2-vip"  # then the nearest price of any
    assert closest("sora-2", {"nano-banana"}) is None  # never an image model for a video


def test_the_default_is_the_best_model_that_is_up():
    assert best("video", set(MODELS)).id == "sora-2"
    assert best("video", set(MODELS) - {"sora-2"}).id == "veo3.1-fast"
    assert best("image", set(MODELS)).id == "nano-banana-2"  # the newest public client's default
    assert best("image", set(MODELS) - {"nano-banana-2"}).id == "nano-banana-fast"
    assert best("video", set()) is None


@pytest.mark.parametrize(
    ("build", "params", "field"),
    [
        (video_request, {"model": "veo3.1-fast", "duration": 15}, "duration"),
        (video_request, {"model": "minimax-h3", "audio_urls": ["https://a.example/s.mp3"] * 4}, "audio_urls"),
        (video_request, {"model": "minimax-h3", "audio_urls": [b"not a sound"]}, "audio_urls"),
        (video_request, {"model": "veo3.1-fast", "audio_urls": ["https://a.example/s.mp3"]}, "audio_urls"),
        (image_request, {"model": "gpt-image-2.5", "quality": "ultra"}, "quality"),
        (image_request, {"model": "gpt-image-2.5", "background": "green"}, "background"),
        (image_request, {"model": "gpt-image-2.5", "mask_url": b"not an image"}, "mask_url"),
        (image_request, {"model": "nano-banana-2", "quality": "high"}, "quality"),
        (image_request, {"model": "nano-banana-fast", "aspect_ratio": "1:8"}, "aspect_ratio"),
        (video_request, {"model": "veo3.1-fast", "reference_urls": ["https://a.example/1.png"] * 4}, "reference_urls"),
        (
            video_request,
            {"model": "veo3.1-fast", "first_frame_url": "https://a.example/f.png", "reference_urls": ["https://a.example/r.png"]},
            "reference_urls",
        ),
        (video_request, {"model": "minimax-h3", "duration": 12, "resolution": "1080p"}, "duration"),
        (video_request, {"model": "minimax-h3", "seed": "lucky"}, "seed"),
        (video_request, {"model": "sora-2", "first_frame_url": "https://a.example/f.png"}, "first_frame_url"),
        (video_request, {"model": "nano-banana"}, "model"),
        (video_request, {"model": "sora-3"}, "model"),
        (image_request, {"model": "nano-banana", "image_size": "8K"}, "image_size"),
        (image_request, {"model": "gpt-image-2", "variants": 5}, "variants"),
        (image_request, {"model": "gpt-image-2", "aspect_ratio": "21:9"}, "aspect_ratio"),
        (image_request, {"model": "nano-banana", "reference_urls": ["file:///etc/passwd"]}, "reference_urls"),
    ],
)
def test_what_a_model_does_not_take_is_refused_naming_the_field(build, params, field):
    with pytest.raises(InvalidRequestError) as refused:
        build(prompt="a red kite", **params)
    assert refused.value.field == field
    assert refused.value.message and "Traceback" not in refused.value.message


def test_price_overrides_are_whole_credits_shared_by_every_process(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'studio.db'}"
    first, second = Store(url), Store(url)
    try:
        costs.save(first, {**costs.DEFAULT_PRICES, "veo3.1-fast": 2_000, "sora-2": "lots"})
        assert costs.load(second, force=True)["veo3.1-fast"] == 2_000
        assert costs.video_cost(3, "veo3.1-fast") == 6_000
        assert costs.price("sora-2") == 1_600  # a value that is not whole credits is not kept
        costs.save(first, dict(costs.DEFAULT_PRICES))
        assert costs.load(second, force=True)["veo3.1-fast"] == 2_400
    finally:
        costs.load(first, force=True)
        first.dispose()
        second.dispose()
