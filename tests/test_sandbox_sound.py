"""MiniMax H3's reference sounds are heard: the sandbox puts the first one under the video, looped
to its length, as the model follows a reference sound; a file that is not a sound is refused."""

from __future__ import annotations

import base64
import io
import wave

import av
import httpx
import numpy as np

from grsai_api import Client

from .conftest import API_KEY

QUICK = {"task_seconds": 0.4}  # on top of conftest.FAST, which make_sandbox starts from


def tone(hertz: float, seconds: float = 0.5, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    samples = (np.sin(2 * np.pi * hertz * np.arange(int(seconds * rate)) / rate) * 20_000).astype("<i2")
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples.tobytes())
    return buffer.getvalue()


def heard(mp4: bytes) -> tuple[float, float]:
    """(seconds of sound, its loudest frequency in Hz)."""
    with av.open(io.BytesIO(mp4)) as container:
        assert container.streams.audio, "the video has no sound track"
        rate = container.streams.audio[0].rate
        wave_ = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(wave_))
    return len(wave_) / rate, float(np.fft.rfftfreq(len(wave_), 1 / rate)[spectrum.argmax()])


def test_the_first_reference_sound_is_heard_through_the_whole_video(make_sandbox) -> None:
    running = make_sandbox(**QUICK)
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        task_id = client.create_video(
            prompt="waves on a pier", model="minimax-h3", resolution="480p", duration=3,
            audio_urls=[tone(440), tone(1000)],
        )  # fmt: skip
        done = client.wait(task_id, model="minimax-h3", interval=0.2, timeout=60)
        plain = client.wait(
            client.create_video(prompt="waves on a pier", model="minimax-h3", resolution="480p", duration=3),
            model="minimax-h3", interval=0.2, timeout=60,
        )  # fmt: skip
    seconds, pitch = heard(httpx.get(done.video_url).content)
    assert abs(seconds - 3) < 0.1 and abs(pitch - 440) < 5  # the first sound, the video's whole length
    with av.open(io.BytesIO(httpx.get(plain.video_url).content)) as container:
        assert not container.streams.audio  # no reference sound: no sound track


def test_a_reference_sound_that_is_not_a_sound_is_refused_in_words(make_sandbox) -> None:
    """The client refuses it first; the sandbox, as the service would, refuses it too when sent."""
    running = make_sandbox(**QUICK)
    junk = base64.b64encode(b"not a sound at all" * 40).decode()
    answer = httpx.post(
        f"{running.base_url}/v1/api/generate",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": "minimax-h3", "prompt": "waves", "duration": 2, "resolution": "480p", "audios": [junk],
              "replyType": "async"},
    ).json()  # fmt: skip
    assert "audios[0]" in str(answer) and "not a sound" in str(answer) and not answer.get("id")
