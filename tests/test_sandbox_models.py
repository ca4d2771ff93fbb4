"""The sandbox's models besides Sora 2, over raw HTTP, for what the client cannot express: the
unified API's three replies and its `result not exist`, Veo's and the image paths' wire shapes and
webHooks, GrsAI storage's presigned PUT (its refusals and its cap), each model's state and price
set while running, faults on the new paths, and a restart in the middle of the new tasks."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from grsai_api import MODELS, Client, TaskFailedError
from sandbox import RunningSandbox, SandboxConfig
from sandbox.config import build_parser, config_from_args
from sandbox.control import control_headers

from .conftest import API_KEY, fault, png, stats
from .test_sandbox_faults import Receiver, wait_until

AUTH = {"Authorization": f"Bearer {API_KEY}"}
START = 2_000_000
QUICK = {"task_seconds": 0.4, "image_seconds": 0.2}  # on top of conftest.FAST (make_sandbox starts from it)
NOT_EXIST = {"code": -22, "msg": "result not exist"}


# -- helpers -----------------------------------------------------------------------------------------
@pytest.fixture
def quick(make_sandbox) -> RunningSandbox:
    return make_sandbox(**QUICK)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(**kwargs: Any) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]

    yield start
    for each in started:
        each.close()


def post(running: RunningSandbox, path: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{running.base_url}{path}", json=body, headers=AUTH, timeout=30, **kwargs)


def veo(running: RunningSandbox, **body: Any) -> httpx.Response:
    return post(
        running, "/v1/video/veo", {"model": "veo3.1-fast", "prompt": "a lighthouse", "webHook": "-1", **body}
    )


def generate(running: RunningSandbox, **body: Any) -> httpx.Response:
    base = {
        "model": "minimax-h3",
        "prompt": "a kite",
        "duration": 2,
        "resolution": "480p",
        "replyType": "async",
    }
    return post(running, "/v1/api/generate", {**base, **body})


def unified_result(running: RunningSandbox, task_id: str) -> dict[str, Any]:
    return httpx.get(f"{running.base_url}/v1/api/result", params={"id": task_id}, headers=AUTH).json()


def unified_end(running: RunningSandbox, task_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: (task := unified_result(running, task_id)).get("status") != "running" and task,
        what=f"unified task {task_id} to end",
    )


def balance(running: RunningSandbox) -> int:
    reply = httpx.post(f"{running.base_url}/client/openapi/getAPIKeyCredits", json={"apiKey": API_KEY})
    return reply.json()["data"]["credits"]


def config(running: RunningSandbox, **changes: Any) -> httpx.Response:
    if changes:
        return httpx.patch(
            f"{running.base_url}/sandbox/config", headers=control_headers(running.base_url), json=changes
        )
    return httpx.get(f"{running.base_url}/sandbox/config", headers=running.control_headers)


def model_status(running: RunningSandbox, model: str) -> dict[str, Any]:
    reply = httpx.get(f"{running.base_url}/client/common/getModelStatus", params={"model": model}).json()
    assert reply["code"] == 0
    return reply["data"]


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def video_facts(data: bytes) -> tuple[float, tuple[int, int]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return container.duration / 1_000_000, (stream.codec_context.width, stream.codec_context.height)


def first_frame(data: bytes) -> tuple[int, int, int]:
    with av.open(io.BytesIO(data)) as container:
        image = next(container.decode(video=0)).to_image()
    return image.getpixel((image.width // 2, image.height // 2))


def close(a, b, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def upload_token(running: RunningSandbox, sux: str = "png") -> dict[str, Any]:
    reply = post(running, "/client/resource/newUploadToken", {"sux": sux}).json()
    assert reply["code"] == 0, reply
    return reply["data"]


def refused_without_charge(running: RunningSandbox, reply: httpx.Response, *words: str) -> None:
    body = reply.json()
    assert reply.status_code == 200 and body["code"] != 0, body
    assert all(word in body["msg"] for word in words), body["msg"]
    assert balance(running) == START
    assert stats(running)["creates_by_model"] == {}


# -- Veo and the image paths: ids, result shapes, webHooks -------------------------------------------
def test_a_veo_task_has_a_new_style_id_and_its_url_at_the_top_level_too(quick, receiver) -> None:
    hook = receiver()
    reply = veo(quick, aspectRatio="9:16", webHook=hook.url).json()
    assert reply["code"] == 0 and list(reply["data"]) == ["id"]
    task_id = reply["data"]["id"]
    assert task_id.startswith("4-") and uuid.UUID(task_id[2:]).version == 4
    final = hook.wait_final(task_id)
    assert final == post(quick, "/v1/draw/result", {"id": task_id}).json()["data"]  # what a poll answers
    [result] = final["results"]
    assert set(result) == {"url", "removeWatermark"} and final["url"] == result["url"]
    assert final["model"] == "veo3.1-fast" and final["status"] == "succeeded"
    video = httpx.get(result["url"])
    assert video.headers["content-type"] == "video/mp4"
    seconds, size = video_facts(video.content)
    assert seconds == pytest.approx(8, abs=0.3) and size == (180, 320)  # 720x1280 in the light profile


@pytest.mark.parametrize(
    ("model", "frame"),
    [("veo3.1-fast", (1280, 720)), ("veo3.1-pro-1080p", (1920, 1080)), ("veo3.1-fast-4k", (3840, 2160))],
)
def test_each_veo_tier_renders_its_own_frame_size(quick, model, frame) -> None:
    with Client(api_key=API_KEY, base_url=quick.base_url) as client:
        task = client.wait(client.create_video(prompt="a tier", model=model), interval=0.05)
    seconds, size = video_facts(httpx.get(task.video_url).content)
    assert seconds == pytest.approx(8, abs=0.3)
    assert size == (frame[0] // 4, frame[1] // 4)  # the tier's frame, quartered by the light profile


def test_image_tasks_post_their_pngs_to_a_webhook(quick, receiver) -> None:
    hook = receiver()
    task_id = post(
        quick,
        "/v1/draw/completions",
        {
            "model": "gpt-image-2",
            "prompt": "two logos",
            "variants": 2,
            "aspectRatio": "2:3",
            "webHook": hook.url,
        },
    ).json()["data"]["id"]
    final = hook.wait_final(task_id)
    assert final["status"] == "succeeded" and [set(r) for r in final["results"]] == [{"url"}, {"url"}]
    for result in final["results"]:
        assert re.search(r"/media/[\w-]+\.png$", result["url"])
        picture = httpx.get(result["url"])
        assert picture.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(picture.content)).size == (1024, 1536)


def test_a_streamed_image_task_ends_with_its_results(quick) -> None:
    body = {"model": "nano-banana-fast", "prompt": "a pear", "aspectRatio": "4:3", "shutProgress": True}
    with httpx.stream(
        "POST", f"{quick.base_url}/v1/draw/nano-banana", json=body, headers=AUTH, timeout=30
    ) as reply:
        updates = [json.loads(line[6:]) for line in reply.iter_lines() if line.startswith("data: ")]
    assert [u["status"] for u in updates] == ["succeeded"]
    assert Image.open(io.BytesIO(httpx.get(updates[0]["results"][0]["url"]).content)).size == (1024, 768)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"urls": [data_uri(png())], "firstFrameUrl": data_uri(png())}, ("urls", "firstFrameUrl")),
        ({"urls": [data_uri(png())] * 4}, ("at most 3",)),
        ({"aspectRatio": "1:1"}, ("aspectRatio",)),
        ({"model": "sora-2"}, ("not served here",)),
        ({"prompt": " "}, ("prompt",)),
        ({"firstFrameUrl": data_uri(b"not a picture at all")}, ("firstFrameUrl", "not an image")),
        ({"webHook": "ftp://nowhere"}, ("webHook",)),
    ],
)
def test_a_veo_request_it_cannot_make_is_refused_without_charge(quick, body, words) -> None:
    refused_without_charge(quick, veo(quick, **body), *words)


def test_a_blocked_prompt_fails_an_image_and_is_charged_like_the_real_service(quick) -> None:
    body = {"model": "nano-banana", "prompt": "gore", "webHook": "-1"}
    task_id = post(quick, "/v1/draw/nano-banana", body).json()["data"]["id"]
    with Client(api_key=API_KEY, base_url=quick.base_url) as client, pytest.raises(TaskFailedError) as failed:
        client.wait(task_id, interval=0.05)
    assert failed.value.task.raw["status"] == "failed" and failed.value.reason == "input_moderation"
    assert balance(quick) == START - MODELS["nano-banana"].price  # a refusal is not refunded


# -- the unified API ---------------------------------------------------------------------------------
def test_the_unified_api_answers_async_json_and_stream_and_only_async_ids_are_pollable(quick) -> None:
    started = generate(quick)
    assert started.json().keys() == {"id", "status"} and started.json()["status"] == "running"  # unwrapped
    task_id = started.json()["id"]
    assert task_id.startswith("4-")
    done = unified_end(quick, task_id)
    assert "code" not in done and done["status"] == "succeeded" and done["model"] == "minimax-h3"
    assert video_facts(httpx.get(done["results"][0]["url"]).content)[0] == pytest.approx(2, abs=0.3)

    whole = generate(quick, replyType="json").json()
    assert "code" not in whole and whole["status"] == "succeeded" and whole["progress"] == 100
    assert unified_result(quick, whole["id"]) == NOT_EXIST  # answered in full: not pollable after

    with httpx.stream(
        "POST",
        f"{quick.base_url}/v1/api/generate",
        json={
            "model": "minimax-h3",
            "prompt": "a stream",
            "duration": 1,
            "resolution": "480p",
            "replyType": "stream",
        },
        headers=AUTH,
        timeout=30,
    ) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line.strip()]
    assert all(line.startswith("data: ") for line in lines)
    updates = [json.loads(line[6:]) for line in lines]
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress) and updates[-1]["status"] == "succeeded"
    assert balance(quick) == START - 3 * MODELS["minimax-h3"].price


def test_result_not_exist_for_unknown_ids_and_for_old_style_tasks(quick) -> None:
    assert unified_result(quick, "4-00000000-0000-4000-8000-000000000000") == NOT_EXIST
    assert unified_result(quick, "") == NOT_EXIST
    veo_id = veo(quick).json()["data"]["id"]
    assert unified_result(quick, veo_id) == NOT_EXIST  # a Veo task is polled on /v1/draw/result
    missing = post(quick, "/v1/draw/result", {"id": "4-00000000-0000-4000-8000-000000000000"}).json()
    assert missing["code"] == -22 and missing["msg"] == "task not found"


def test_a_prompt_the_unified_api_refuses_ends_as_violation_and_is_charged(quick) -> None:
    task = unified_end(quick, generate(quick, prompt="an explicit scene").json()["id"])
    assert (task["status"], task["failure_reason"], task["results"]) == ("violation", "violation", [])
    assert task["error"]
    assert balance(quick) == START - MODELS["minimax-h3"].price  # a refusal is not refunded


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"resolution": "1080p", "duration": 11}, ("duration", "1080p")),
        ({"duration": 16}, ("duration",)),
        ({"duration": 0}, ("duration",)),
        ({"resolution": "720p"}, ("resolution",)),
        ({"aspectRatio": "diagonal"}, ("aspectRatio",)),
        ({"images": [data_uri(png())] * 10}, ("at most 9",)),
        ({"audios": ["https://example.invalid/a.mp3"] * 4}, ("audios",)),
        ({"seed": "lucky"}, ("seed",)),
        ({"replyType": "sse"}, ("replyType",)),
        ({"model": "veo3.1-fast"}, ("not served here",)),
    ],
)
def test_a_unified_request_it_cannot_make_is_refused_without_charge(quick, body, words) -> None:
    refused_without_charge(quick, generate(quick, **body), *words)


def test_minimax_makes_portrait_videos_with_its_images(make_sandbox) -> None:
    running = make_sandbox(**{**QUICK, "render_profile": "standard"})
    orange = data_uri(png((250, 120, 0), (120, 120)))
    task = unified_end(
        running,
        generate(running, aspectRatio="portrait", duration=1, images=[orange] * 2, seed=7).json()["id"],
    )
    data = httpx.get(task["results"][0]["url"]).content
    seconds, size = video_facts(data)
    assert seconds == pytest.approx(1, abs=0.2) and size == (480, 854)
    with av.open(io.BytesIO(data)) as container:
        picture = next(container.decode(video=0)).to_image().convert("RGB")
    oranges = sum(n for n, colour in picture.getcolors(1 << 20) if close(colour, (250, 120, 0), 30))
    assert oranges > 0.02 * picture.width * picture.height  # the images are shown as cards


# -- GrsAI storage -----------------------------------------------------------------------------------
def test_an_upload_token_is_a_presigned_put_for_one_key(quick) -> None:
    anonymous = httpx.post(f"{quick.base_url}/client/resource/newUploadToken", json={"sux": "png"}).json()
    assert anonymous["code"] != 0 and "apikey" in anonymous["msg"]  # authenticated like other API routes
    assert post(quick, "/client/resource/newUploadToken", {"sux": "../png"}).json()["code"] != 0
    token = upload_token(quick, ".PNG")
    assert re.fullmatch(r"uploads/\d{8}/[0-9a-f]{32}\.png", token["key"])
    assert token["domain"] == f"{quick.base_url}/files"
    assert token["url"].startswith(f"{quick.base_url}/sandbox-storage/{token['key']}?")
    query = httpx.URL(token["url"]).params
    assert len(query["signature"]) >= 32 and int(query["expires"]) > 0


def test_a_put_address_works_once_and_only_for_its_key(quick) -> None:
    picture, other = upload_token(quick), upload_token(quick)
    address = f"{picture['domain']}/{picture['key']}"
    forged = httpx.URL(picture["url"]).copy_set_param("signature", "x" * 32)
    assert httpx.put(forged, content=png()).status_code == 403
    borrowed = httpx.URL(picture["url"]).copy_set_param(
        "signature", httpx.URL(other["url"]).params["signature"]
    )
    assert httpx.put(borrowed, content=png()).status_code == 403  # another key's signature
    assert httpx.get(address).status_code == 404  # nothing stored yet
    data = png((10, 200, 250))
    assert httpx.put(picture["url"], content=data).status_code == 200
    assert httpx.put(picture["url"], content=png()).status_code == 403  # used
    served = httpx.get(address)
    assert served.content == data and served.headers["content-type"] == "image/png"
    assert httpx.head(address).status_code == 200
    clip = upload_token(quick, "mp4")
    assert httpx.put(clip["url"], content=b"\0\0\0\x18ftypmp42").status_code == 200
    assert httpx.get(f"{clip['domain']}/{clip['key']}").headers["content-type"] == "video/mp4"
    counters = stats(quick)["counters"]
    assert counters["uploads_stored"] == 2 and counters["upload_tokens"] == 3


def test_a_file_over_the_cap_is_refused_and_its_address_can_be_used_again(make_sandbox) -> None:
    assert SandboxConfig().upload_max_bytes == 50 * 2**20
    running = make_sandbox(upload_max_bytes=1000)
    token = upload_token(running)
    assert httpx.put(token["url"], content=b"\0" * 1001).status_code == 413  # by its declared length

    def chunks() -> Iterator[bytes]:  # no declared length: counted as it streams in
        yield from (b"\0" * 400 for _ in range(3))

    assert httpx.put(token["url"], content=chunks()).status_code == 413
    assert httpx.put(token["url"], content=b"\1" * 1000).status_code == 200  # a file that fits
    assert httpx.get(f"{token['domain']}/{token['key']}").content == b"\1" * 1000
    assert stats(running)["counters"]["uploads_stored"] == 1


def test_the_sandbox_reads_its_own_files_from_disk_and_uses_them(quick) -> None:
    token = upload_token(quick)
    httpx.put(token["url"], content=png((250, 200, 0), (90, 160))).raise_for_status()
    stored = f"{token['domain']}/{token['key']}"
    with Client(api_key=API_KEY, base_url=quick.base_url) as client:
        first = client.wait(
            client.create_image(prompt="from storage", model="nano-banana", reference_urls=[stored]),
            interval=0.05,
        )
        again = client.wait(
            client.create_image(prompt="from a result", model="gpt-image-2", reference_urls=[first.urls[0]]),
            interval=0.05,
        )
    assert Image.open(io.BytesIO(httpx.get(first.urls[0]).content)).size == (
        576,
        1024,
    )  # auto: the upload's ratio
    picture = Image.open(io.BytesIO(httpx.get(again.urls[0]).content)).convert("RGB")
    assert any(close(colour, (250, 200, 0), 12) for _, colour in picture.getcolors(1 << 20))  # pasted in
    downloads = stats(quick)
    assert downloads["downloads_by_file"] == {}  # read from disk, never over HTTP
    assert downloads["downloads_by_name"] == {
        first.urls[0].rsplit("/", 1)[1]: 1,
        again.urls[0].rsplit("/", 1)[1]: 1,
    }
    missing = f"{token['domain']}/uploads/20260101/{'0' * 32}.png"
    reply = post(
        quick,
        "/v1/draw/nano-banana",
        {"model": "nano-banana", "prompt": "x", "urls": [missing], "webHook": "-1"},
    )
    assert reply.json()["code"] != 0 and "HTTP 404" in reply.json()["msg"]


# -- each model's state and price, settable while running -------------------------------------------
def test_the_config_lists_every_model_and_patches_them_whole_or_not_at_all(quick) -> None:
    models = config(quick).json()["models"]
    assert {m: (s["available"], s["price"]) for m, s in models.items()} == {
        m.id: (True, m.price) for m in MODELS.values()
    }
    changed = config(
        quick,
        models={"veo3.1-fast": {"price": 2000, "message": "overloaded"}, "sora-2": {"available": False}},
    )
    assert changed.status_code == 200
    view = changed.json()
    assert view["models"]["veo3.1-fast"] == {"available": True, "price": 2000, "message": "overloaded"}
    assert view["models"]["sora-2"]["available"] is False and view["model_available"] is False
    assert model_status(quick, "veo3.1-fast") == {"status": True, "error": "overloaded"}
    down = model_status(quick, "sora-2")
    assert down["status"] is False and "unavailable" in down["error"]
    unknown = model_status(quick, "sora-9")
    assert unknown["status"] is False and "unknown" in unknown["error"]
    for bad in (
        {"models": {"nano-banana": {"price": 10}, "veo3.1-pro": {"price": 0.5}}},
        {"models": {"nano-banana": {"price": 10}, "veo-9": {"price": 1}}},
        {"models": {"nano-banana": {"available": "no"}}},
        {"models": {"nano-banana": {"colour": "red"}}},
        {"models": ["nano-banana"]},
    ):
        assert config(quick, **bad).status_code == 400, bad
    assert (
        config(quick).json()["models"]["nano-banana"]["price"] == MODELS["nano-banana"].price
    )  # none applied
    assert config(quick, model_available=True).json()["models"]["sora-2"]["available"] is True  # the old knob


@pytest.mark.parametrize(
    ("model", "send"),
    [
        ("veo3.1-pro-4k", lambda r: veo(r, model="veo3.1-pro-4k")),
        (
            "nano-banana-pro",
            lambda r: post(r, "/v1/draw/nano-banana", {"model": "nano-banana-pro", "prompt": "x"}),
        ),
        ("gpt-image-2", lambda r: post(r, "/v1/draw/completions", {"model": "gpt-image-2", "prompt": "x"})),
        ("minimax-h3", lambda r: generate(r)),
        (
            "sora-2",
            lambda r: post(r, "/v1/video/sora-video", {"model": "sora-2", "prompt": "x", "webHook": "-1"}),
        ),
    ],
)
def test_a_model_that_is_down_is_refused_and_nothing_is_charged(quick, model, send) -> None:
    config(
        quick, models={model: {"available": False, "message": "maintenance until 18:00"}}
    ).raise_for_status()
    refused_without_charge(quick, send(quick), model, "unavailable", "maintenance until 18:00")


def test_models_are_taken_down_by_name_from_the_command_line(make_sandbox) -> None:
    args = build_parser().parse_args(["--model-down", "veo3.1-pro", "--model-down"])
    downed = config_from_args(args).models
    assert [m for m, s in downed.items() if not s["available"]] == ["sora-2", "veo3.1-pro"]
    with pytest.raises(ValueError, match="unknown model 'veo9'"):
        config_from_args(build_parser().parse_args(["--model-down", "veo9"]))
    assert build_parser().parse_args([]).url_ttl == SandboxConfig().url_ttl == 7200  # links live 2 hours
    old_knob = make_sandbox(model_available=False)
    assert (
        model_status(old_knob, "sora-2")["status"] is False
        and model_status(old_knob, "veo3.1-fast")["status"]
    )


def test_the_index_names_the_grsai_sandbox(quick) -> None:
    assert httpx.get(f"{quick.base_url}/").json()["name"] == "GrsAI sandbox"


# -- faults on the new paths -------------------------------------------------------------------------
def test_faults_hit_the_new_create_and_result_paths(quick) -> None:
    fault(quick, status=503, path="/v1/video/veo")
    assert veo(quick).status_code == 503
    assert stats(quick)["creates_by_model"] == {} and balance(quick) == START  # made nothing

    fault(quick, status=502, after=True, path="/v1/draw/nano-banana")
    lost = post(
        quick, "/v1/draw/nano-banana", {"model": "nano-banana", "prompt": "lost reply", "webHook": "-1"}
    )
    assert lost.status_code == 502
    assert stats(quick)["creates_by_model"] == {"nano-banana": 1}  # made and charged; its reply lost
    assert balance(quick) == START - MODELS["nano-banana"].price

    task_id = generate(quick).json()["id"]
    fault(quick, status=429, path="/v1/api/result")
    limited = httpx.get(f"{quick.base_url}/v1/api/result", params={"id": task_id}, headers=AUTH)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert unified_end(quick, task_id)["status"] == "succeeded"

    fault(quick, kind="truncated", path="/v1/api/generate")
    with pytest.raises(httpx.RemoteProtocolError):
        generate(quick)
    fault(quick, kind="garbage", path="/client/resource/newUploadToken")
    assert "html" in post(quick, "/client/resource/newUploadToken", {"sux": "png"}).headers["content-type"]


def test_faults_naming_a_stored_file_or_its_put_hit_only_that_request(quick) -> None:
    token = upload_token(quick)
    put_path = httpx.URL(token["url"]).path
    fault(quick, status=503, path=put_path)
    assert httpx.put(token["url"], content=png()).status_code == 503  # answered before storing ...
    assert httpx.put(token["url"], content=png()).status_code == 200  # ... so the address still works
    address = f"{token['domain']}/{token['key']}"
    fault(quick, status=500, path=httpx.URL(address).path)
    assert httpx.get(address).status_code == 500
    assert httpx.get(address).content == png()
    assert stats(quick)["downloads_by_file"] == {token["key"]: 2}


# -- a restart in the middle of the new tasks ---------------------------------------------------------
def test_new_tasks_and_stored_files_survive_a_restart(make_sandbox, tmp_path) -> None:
    knobs = {**QUICK, "task_seconds": 1.5, "image_seconds": 1.5, "data_dir": tmp_path / "kept"}
    first = make_sandbox(**knobs)
    token = upload_token(first)
    httpx.put(token["url"], content=png((200, 30, 200), (160, 90))).raise_for_status()
    stored = f"{token['domain']}/{token['key']}"
    with Client(api_key=API_KEY, base_url=first.base_url) as client:
        veo_id = client.create_video(prompt="kept", model="veo3.1-fast", first_frame_url=stored)
        image_id = client.create_image(prompt="kept too", model="gpt-image-2", variants=2)
        unified_id = client.create_video(prompt="and me", model="minimax-h3", duration=1, resolution="480p")
        assert client.get_result(veo_id).status == "running"
    spent = balance(first)
    first.stop()

    second = make_sandbox(**{**knobs, "data_dir": tmp_path / "kept"})
    with Client(api_key=API_KEY, base_url=second.base_url) as client:
        video = client.wait(veo_id, interval=0.1)
        image = client.wait(image_id, interval=0.1)
        unified = client.wait(unified_id, interval=0.1, model="minimax-h3")
    assert close(first_frame(httpx.get(video.video_url).content), (200, 30, 200))
    assert len(image.urls) == 2 and unified.video_url
    assert balance(second) == spent  # charged once, before the restart
    assert httpx.get(stored.replace(first.base_url, second.base_url)).content == png(
        (200, 30, 200), (160, 90)
    )


def test_result_links_of_images_expire_too(make_sandbox) -> None:
    running = make_sandbox(**{**QUICK, "url_ttl": 0.5})
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        task = client.wait(client.create_image(prompt="fleeting", model="nano-banana-fast"), interval=0.05)
    assert httpx.get(task.urls[0]).status_code == 200
    wait_until(lambda: httpx.get(task.urls[0]).status_code == 404, timeout=5, what="the link to expire")
