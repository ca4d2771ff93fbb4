"""Bad input gets a message a marketer understands, names its field, and sends nothing."""

from __future__ import annotations

import pytest

from grsai_api import Client, InvalidRequestError, video_request
from sandbox import RunningSandbox

from .conftest import API_KEY, counter, png

PID = "s_" + "a1" * 16


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"prompt": "   "}, "prompt", "Write a prompt first"),
        ({"prompt": "x" * 5001}, "prompt", "5,001 characters long; the limit is 5,000"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio", "16:9 (landscape) or 9:16 (portrait)"),
        ({"duration": 12}, "duration", "10 or 15 seconds"),
        ({"size": "huge"}, "size", "small or large"),
        ({"remix_target_id": "s_123"}, "remix_target_id", "s_ followed by 32 characters"),
        ({"remix_target_id": "S_" + "A1" * 16}, "remix_target_id", "s_ followed by 32"),
        ({"image_url": "not a url"}, "image_url", "web address (https://...) or an image file"),
        ({"image_url": b"GIF89... not really? no: plain text"}, "image_url", "image file"),
        ({"image_url": "ftp://example.com/a.png"}, "image_url", "web address"),
        ({"characters": [{"url": "https://x/a.mp4", "timestamps": "0,3"}] * 3}, "characters", "at most 2"),
        (
            {"characters": [{"url": "https://x/a.mp4", "timestamps": "2,6"}]},
            "characters",
            "at most 3 seconds",
        ),
        ({"characters": [{"url": "https://x/a.mp4", "timestamps": "3,1"}]}, "characters", "must come after"),
        (
            {"characters": [{"url": "https://x/a.mp4", "timestamps": "-1,1"}]},
            "characters",
            "cannot be negative",
        ),
        ({"characters": [{"url": b"%PDF-1.4", "timestamps": "0,1"}]}, "characters", "video file (MP4, MOV"),
    ],
)
def test_bad_video_requests_are_explained_and_nothing_is_sent(
    sandbox: RunningSandbox, params, field, message
) -> None:
    before = counter(sandbox, "requests")
    with Client(api_key=API_KEY, base_url=sandbox.base_url) as client:
        with pytest.raises(InvalidRequestError) as caught:
            client.create_video(**{"prompt": "a fine prompt", **params})
    assert caught.value.field == field
    assert message in caught.value.message
    assert caught.value.status_code is None  # decided before sending
    assert counter(sandbox, "requests") == before


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda c: c.upload_character(url=b"", timestamps=(0, 3)), "url", "empty"),
        (
            lambda c: c.upload_character(url="https://x/clip.mp4", timestamps=(0, 3.5)),
            "timestamps",
            "3 seconds",
        ),
        (
            lambda c: c.upload_character(url="https://x/clip.mp4", timestamps="soon"),
            "timestamps",
            "start and an end",
        ),
        (lambda c: c.upload_character(url=png(), timestamps=(0, 1)), "url", "video file"),
        (lambda c: c.create_character(pid="12345", timestamps=(0, 3)), "pid", "s_ followed by 32"),
        (lambda c: c.create_character(pid=PID, timestamps=(2, 2)), "timestamps", "must come after"),
    ],
)
def test_bad_character_requests_are_explained_and_nothing_is_sent(sandbox, call, field, message) -> None:
    before = counter(sandbox, "requests")
    with Client(api_key=API_KEY, base_url=sandbox.base_url) as client:
        with pytest.raises(InvalidRequestError) as caught:
            call(client)
    assert caught.value.field == field and message in caught.value.message
    assert counter(sandbox, "requests") == before


def test_good_inputs_in_every_accepted_form_are_sent(sandbox: RunningSandbox) -> None:
    import base64

    image = png()
    forms = [
        image,
        "data:image/png;base64," + base64.b64encode(image).decode(),
        base64.b64encode(image).decode(),
    ]
    with Client(api_key=API_KEY, base_url=sandbox.base_url) as client:
        for form in forms:
            assert client.create_video(prompt=" padded prompt ", image_url=form, duration="15", size="LARGE")


@pytest.mark.parametrize("unseen", ["\u200b\u200b", " \u00a0\t", "\u2060\ufeff", "\u3000", "\u200d \u200c"])
def test_a_prompt_of_characters_nobody_can_see_is_empty(unseen) -> None:
    """Issue 19 #11: what a person sees as empty is empty (zero-width and format characters too)."""
    with pytest.raises(InvalidRequestError) as refused:
        video_request("sora-2", prompt=unseen)
    assert refused.value.field == "prompt" and "empty" in refused.value.message
    assert video_request("sora-2", prompt=f"{unseen}a kite{unseen}")[1]["prompt"] == "a kite"
