"""The client against the sandbox over real HTTP: every endpoint and reply mode, sync and async."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from grsai_api import PID_PATTERN, AsyncClient, Client, TaskFailedError, WaitTimeoutError
from sandbox import RunningSandbox

from .conftest import API_KEY, async_client, make_clip, run

CHARACTER_ID = re.compile(r"^[a-z]+_[a-z]+\.[0-9a-f]{6}$")


def test_video_progress_rises_and_the_result_is_a_downloadable_video(client: Client) -> None:
    seen: list[int] = []
    task = client.wait(
        client.create_video(prompt="A red fox in fresh snow"),
        interval=0.1,
        on_progress=lambda t: seen.append(t.progress),
    )
    assert task.status == "succeeded" and task.progress == 100
    assert seen == sorted(seen) and len(set(seen)) >= 3, seen
    assert PID_PATTERN.match(task.pid)
    response = httpx.get(task.video_url)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert response.content[4:8] == b"ftyp"


def test_async_client_makes_videos_concurrently(sandbox: RunningSandbox) -> None:
    async def scenario():
        async with async_client(sandbox) as client:
            import asyncio

            ids = await asyncio.gather(*(client.create_video(prompt=f"bottle {n}") for n in range(5)))
            tasks = await asyncio.gather(*(client.wait(i, interval=0.1) for i in ids))
            return ids, tasks

    ids, tasks = run(scenario())
    assert len(set(ids)) == 5
    assert all(t.status == "succeeded" for t in tasks)
    assert len({t.pid for t in tasks}) == 5


def test_upload_character_from_bytes_and_create_one_from_a_pid(client: Client) -> None:
    uploaded = client.wait(client.upload_character(url=make_clip(3.0), timestamps=(0, 3)), interval=0.1)
    assert CHARACTER_ID.match(uploaded.character_id), uploaded.character_id
    video = client.wait(client.create_video(prompt="a dancer on a rooftop"), interval=0.1)
    cut = client.wait(client.create_character(pid=video.pid, timestamps="1,3.5"), interval=0.1)
    assert CHARACTER_ID.match(cut.character_id) and cut.character_id != uploaded.character_id


def test_async_character_endpoints(sandbox: RunningSandbox) -> None:
    async def scenario():
        async with async_client(sandbox) as client:
            uploaded = await client.wait(
                await client.upload_character(url=make_clip(2.0), timestamps="0,2"), interval=0.1
            )
            video = await client.wait(await client.create_video(prompt="a kite"), interval=0.1)
            cut = await client.wait(
                await client.create_character(pid=video.pid, timestamps=(0, 1)), interval=0.1
            )
            return uploaded, cut

    uploaded, cut = run(scenario())
    assert uploaded.character_id and cut.character_id


def test_streaming_mode_yields_rising_progress_and_ends_final(client: Client) -> None:
    updates = list(client.stream_video(prompt="a lighthouse at dusk"))
    assert len(updates) >= 3
    assert [u.progress for u in updates] == sorted(u.progress for u in updates)
    assert all(not u.done for u in updates[:-1]) and updates[-1].status == "succeeded"
    assert updates[-1].pid and len({u.id for u in updates}) == 1


def test_streaming_with_shut_progress_sends_only_the_final_update(client: Client) -> None:
    updates = list(client.stream_video(prompt="a lighthouse at dawn", shut_progress=True))
    assert [u.status for u in updates] == ["succeeded"]


def test_async_streaming(sandbox: RunningSandbox) -> None:
    async def scenario():
        async with async_client(sandbox) as client:
            return [t async for t in client.stream_video(prompt="waves")]

    updates = run(scenario())
    assert updates[-1].status == "succeeded" and len(updates) >= 2


@pytest.fixture
def webhook_receiver():
    received: list[dict] = []
    done = threading.Event()

    async def hook(request: Request) -> PlainTextResponse:
        payload = await request.json()
        received.append(payload)
        if payload["status"] != "running":
            done.set()
        return PlainTextResponse("ok")

    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), log_level="warning")
    )
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook", received, done
    server.should_exit = True
    thread.join(5)


def test_webhook_mode_posts_every_change_then_the_final_task(client: Client, webhook_receiver) -> None:
    url, received, done = webhook_receiver
    task_id = client.create_video(prompt="a paper boat", webhook=url)
    assert done.wait(15), "no final webhook arrived"
    assert {p["id"] for p in received} == {task_id}
    assert received[-1]["status"] == "succeeded" and received[-1]["results"][0]["pid"].startswith("s_")
    progress = [p["progress"] for p in received]
    assert progress == sorted(progress) and len(received) >= 3


def test_a_reply_prefixed_with_data_is_still_read(make_sandbox) -> None:
    running = make_sandbox(data_prefix=True)
    raw = httpx.post(
        f"{running.base_url}/v1/video/sora-video",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": "sora-2", "prompt": "x", "webHook": "-1"},
    )
    assert raw.text.startswith("data: ")
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        assert client.wait(client.create_video(prompt="prefixed"), interval=0.1).status == "succeeded"


def test_the_unwrapped_task_alias_path_answers_the_same_task(client: Client, sandbox: RunningSandbox) -> None:
    task = client.wait(client.create_video(prompt="alias"), interval=0.1)
    raw = httpx.get(
        f"{sandbox.base_url}/v1/video/tasks/{task.id}", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert raw.json()["id"] == task.id and raw.json()["status"] == "succeeded"
    assert raw.json()["results"][0]["pid"] == task.pid


def test_credits_fall_by_the_price_errors_are_refunded_and_refusals_are_not(make_sandbox) -> None:
    running = make_sandbox(credits=20_000, video_price=1600)
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        assert client.credits() == 20_000
        client.wait(client.create_video(prompt="ok"), interval=0.1)
        assert client.credits() == 18_400
        with pytest.raises(TaskFailedError):
            client.wait(client.create_video(prompt="lots of gore"), interval=0.1)
        assert client.credits() == 16_800  # the real service keeps a refusal's credits
        httpx.patch(
            f"{running.base_url}/sandbox/config", json={"error_rate": 1.0}, headers=running.control_headers
        ).raise_for_status()
        with pytest.raises(TaskFailedError):
            client.wait(client.create_video(prompt="ok again"), interval=0.1)
        assert client.credits() == 16_800  # an error is refunded


def test_model_status_reports_up_and_down(make_sandbox) -> None:
    with Client(api_key=API_KEY, base_url=make_sandbox().base_url) as client:
        status = client.model_status("sora-2")
        assert status.available and status.model == "sora-2"
    with Client(api_key=API_KEY, base_url=make_sandbox(model_available=False).base_url) as client:
        down = client.model_status()
        assert not down.available and "unavailable" in down.message


@pytest.mark.parametrize(
    ("knobs", "prompt", "reason", "words"),
    [
        ({}, "a scene of graphic violence", "input_moderation", "moderation"),
        ({"output_moderation_rate": 1.0}, "a calm lake", "output_moderation", "moderation"),
        ({"error_rate": 1.0}, "a calm lake", "error", "failed"),
    ],
)
def test_each_failure_reason_reaches_the_caller(make_sandbox, knobs, prompt, reason, words) -> None:
    with Client(api_key=API_KEY, base_url=make_sandbox(**knobs).base_url) as client:
        with pytest.raises(TaskFailedError) as caught:
            client.wait(client.create_video(prompt=prompt), interval=0.1)
    assert caught.value.reason == reason and caught.value.task.failure_reason == reason
    assert words in caught.value.task.error.lower()


def test_wait_gives_up_at_its_deadline_and_the_task_goes_on(make_sandbox) -> None:
    with Client(api_key=API_KEY, base_url=make_sandbox(task_seconds=3).base_url) as client:
        task_id = client.create_video(prompt="slow")
        with pytest.raises(WaitTimeoutError) as caught:
            client.wait(task_id, interval=0.1, timeout=0.3)
        assert caught.value.task.status == "running"
        assert client.wait(task_id, interval=0.2).status == "succeeded"


def test_host_names_resolve_and_bad_ones_are_refused() -> None:
    assert Client(api_key="k", base_url="overseas").base_url == "https://grsaiapi.com"
    assert Client(api_key="k", base_url="overseas-legacy").base_url == "https://api.grsai.com"
    assert AsyncClient(api_key="k", base_url="domestic").base_url == "https://grsai.dakka.com.cn"
    with pytest.raises(Exception, match="base_url"):
        Client(api_key="k", base_url="ftp://nowhere")
