"""Error mapping, retry rules and key hygiene: the sandbox where it can, MockTransport where it can't."""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest

from grsai_api import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncClient,
    AuthenticationError,
    Client,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    SubmissionUnknownError,
)
from sandbox import RunningSandbox
from sandbox.control import control_headers

from .conftest import API_KEY, counter, run


def queue_fault(running: RunningSandbox, status: int, count: int = 1, path: str | None = None) -> None:
    httpx.post(
        f"{running.base_url}/sandbox/faults",
        headers=control_headers(running.base_url),
        json={"status": status, "count": count, "path": path},
    )


def recording_client(running: RunningSandbox, **kwargs) -> tuple[Client, list[float]]:
    sleeps: list[float] = []
    client = Client(api_key=API_KEY, base_url=running.base_url, **kwargs)
    client._sleep = sleeps.append
    return client, sleeps


# -- service errors keep their message and map to a type by meaning -------------------------------
def test_a_refused_key_is_an_authentication_error_without_the_key(make_sandbox) -> None:
    running = make_sandbox(api_keys=("sk-the-right-one",))
    with Client(api_key="sk-wrong-key-9999", base_url=running.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.create_video(prompt="hello")
    assert "apikey error" in str(caught.value) and caught.value.status_code == 400
    assert "sk-wrong-key-9999" not in str(caught.value) + repr(caught.value.body)
    assert counter(running, "accepted_video") == 0


def test_a_wrong_key_on_an_async_submit_is_refused_not_unknown(make_sandbox) -> None:
    """The service answers a wrong key's unified submit with an empty HTTP 200: the client asks
    the free balance call, which refuses the key, so it is a refused key and not a maybe-charge."""
    running = make_sandbox(api_keys=("sk-the-right-one",))
    raw = httpx.post(
        f"{running.base_url}/v1/api/generate",
        headers={"Authorization": "Bearer sk-wrong-key-9999"},
        json={"model": "minimax-h3", "prompt": "hello", "replyType": "async"},
    )
    assert (raw.status_code, raw.content) == (200, b"")  # the sandbox answers as the service does
    with Client(api_key="sk-wrong-key-9999", base_url=running.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.create_video(prompt="hello", model="minimax-h3")
    assert "empty reply" in str(caught.value) and "Nothing was made" in str(caught.value)
    assert "sk-wrong-key-9999" not in str(caught.value) + repr(caught.value.body)
    assert counter(running, "accepted_video") == 0


def test_an_empty_reply_with_a_good_key_is_not_called_a_refused_key() -> None:
    """With the balance call answering, an empty create reply stays unread (maybe made)."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("Credits"):
            return httpx.Response(200, json={"code": 0, "msg": "success", "data": {"credits": 500}})
        return httpx.Response(200, content=b"")

    client = Client(api_key=API_KEY, base_url="http://grsai.test", transport=httpx.MockTransport(handler))
    with pytest.raises(APIResponseValidationError) as caught:
        client.create_video(prompt="hello")
    assert not isinstance(caught.value, AuthenticationError)
    assert len(seen) == 2 and seen[1].endswith("Credits")  # one create, then one free check


def test_an_empty_async_reply_is_checked_with_the_balance_call_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("Credits"):
            return httpx.Response(400, json={"code": -1, "msg": "apikey error"})
        return httpx.Response(200, content=b"  ")

    async def scenario() -> BaseException:
        client = AsyncClient(api_key=API_KEY, base_url="http://grsai.test", transport=httpx.MockTransport(handler))
        try:
            await client.create_image(prompt="a cup", model="nano-banana-fast")
        except Exception as exc:  # noqa: BLE001 - the type is what is checked
            return exc
        finally:
            await client.close()
        raise AssertionError("the create did not fail")

    assert isinstance(run(scenario()), AuthenticationError)


def test_http_400_apikey_error_is_an_authentication_error() -> None:
    client = Client(
        api_key=API_KEY,
        base_url="http://grsai.test",
        max_retries=0,
        transport=httpx.MockTransport(lambda r: httpx.Response(400, json={"code": -1, "msg": "apikey error"})),
    )
    with pytest.raises(AuthenticationError):
        client.credits()
    with pytest.raises(AuthenticationError):
        client.get_result("t")


def test_too_few_credits_is_refused_and_nothing_is_charged(make_sandbox) -> None:
    running = make_sandbox(credits=1000, video_price=1600)
    with Client(api_key=API_KEY, base_url=running.base_url) as client:
        with pytest.raises(InsufficientCreditsError, match="insufficient credits"):
            client.create_video(prompt="hello")
        assert client.credits() == 1000


def test_an_unknown_task_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_result("sbx_doesnotexist")
    assert caught.value.code == -22


def test_a_parameter_the_service_refuses_is_an_invalid_request_with_its_message(client: Client) -> None:
    with pytest.raises(InvalidRequestError, match="not a video of this account") as caught:
        client.create_video(prompt="remix", remix_target_id="s_" + "0" * 32)
    assert caught.value.status_code == 200 and caught.value.code == -1


def test_the_service_rejects_a_clip_that_is_not_a_video(client: Client) -> None:
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200  # looks like MP4 to a sniffer, decodes as nothing
    with pytest.raises(InvalidRequestError, match="not a video"):
        client.upload_character(url=fake, timestamps=(0, 3))


def test_the_service_rejects_a_span_outside_the_clip(client: Client) -> None:
    from .conftest import make_clip

    with pytest.raises(InvalidRequestError, match="outside the clip"):
        client.upload_character(url=make_clip(2.0), timestamps=(1, 3.5))


# -- retries: polls as OpenAI does, creates as Replicate does --------------------------------------
def test_a_poll_retries_429_honouring_retry_after(make_sandbox) -> None:
    running = make_sandbox(retry_after=1.5)
    client, sleeps = recording_client(running)
    task_id = client.create_video(prompt="retry me")
    queue_fault(running, 429, count=2, path="/v1/draw/result")
    assert client.get_result(task_id).id == task_id
    assert sleeps == [1.5, 1.5]
    assert counter(running, "faults_injected") == 2


def test_a_poll_retries_5xx_with_capped_exponential_backoff(sandbox: RunningSandbox, client: Client) -> None:
    client, sleeps = recording_client(sandbox)
    task_id = client.create_video(prompt="flaky")
    queue_fault(sandbox, 503, count=2, path="/v1/draw/result")
    assert client.get_result(task_id).id == task_id
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0  # 0.5·2ⁿ less up to 25 % jitter


def test_a_poll_gives_up_after_max_retries(sandbox: RunningSandbox) -> None:
    client, sleeps = recording_client(sandbox, max_retries=2)
    task_id = client.create_video(prompt="down")
    queue_fault(sandbox, 500, count=3, path="/v1/draw/result")
    with pytest.raises(InternalServerError, match="injected"):
        client.get_result(task_id)
    assert len(sleeps) == 2


def test_a_create_answered_5xx_or_429_is_not_sent_again(make_sandbox) -> None:
    running = make_sandbox()
    client, sleeps = recording_client(running)
    queue_fault(running, 500, path="/v1/video/sora-video")
    with pytest.raises(InternalServerError):
        client.create_video(prompt="once")
    queue_fault(running, 429, path="/v1/video/sora-video")
    with pytest.raises(RateLimitError):
        client.create_video(prompt="once")
    assert sleeps == [] and counter(running, "requests") == 2


def test_a_create_that_timed_out_after_sending_is_unknown_and_not_resent(make_sandbox) -> None:
    running = make_sandbox(latency_ms=800)
    client, sleeps = recording_client(running, timeout=httpx.Timeout(0.3, connect=2.0))
    with pytest.raises(SubmissionUnknownError, match="not known whether the task was created"):
        client.create_video(prompt="slow service")
    import time

    time.sleep(1.0)  # the service goes on and creates the task it received
    assert counter(running, "accepted_video") == 1 and sleeps == []


def test_a_create_that_never_connected_is_retried() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"code": 0, "msg": "success", "data": {"id": "t-1"}})

    client = Client(api_key=API_KEY, base_url="http://grsai.test", transport=httpx.MockTransport(handler))
    client._sleep = lambda s: None
    assert client.create_video(prompt="hello") == "t-1"
    assert len(attempts) == 2


def test_nothing_listening_is_a_connection_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = Client(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    client._sleep = lambda s: None
    with pytest.raises(APIConnectionError) as caught:
        client.create_video(prompt="hello")
    assert not isinstance(caught.value, SubmissionUnknownError)  # provably never sent


def test_async_polls_retry_too(sandbox: RunningSandbox) -> None:
    async def scenario():
        client = AsyncClient(api_key=API_KEY, base_url=sandbox.base_url)
        slept: list[float] = []

        async def no_wait(seconds: float) -> None:
            slept.append(seconds)

        client._sleep = no_wait
        task_id = await client.create_video(prompt="async retry")
        queue_fault(sandbox, 502, count=2, path="/v1/draw/result")
        task = await client.get_result(task_id)
        await client.close()
        return task, slept

    task, slept = run(scenario())
    assert task.status in ("running", "succeeded") and len(slept) == 2


# -- replies that are not what they should be -----------------------------------------------------
@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(200, text="<html>gateway</html>"), APIResponseValidationError),
        (httpx.Response(502, text="Bad Gateway"), InternalServerError),
        (httpx.Response(401, json={"code": 401, "msg": "unauthorized"}), AuthenticationError),
        (httpx.Response(200, json={"code": 0, "msg": "success", "data": {}}), APIResponseValidationError),
    ],
)
def test_odd_replies_become_typed_errors(response: httpx.Response, error: type[Exception]) -> None:
    client = Client(
        api_key=API_KEY,
        base_url="http://grsai.test",
        max_retries=0,
        transport=httpx.MockTransport(lambda request: response),
    )
    with pytest.raises(error):
        client.create_video(prompt="hello")


def test_a_server_message_echoing_the_key_is_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": -1, "msg": f"apikey {API_KEY} is invalid"})

    client = Client(api_key=API_KEY, base_url="http://grsai.test", transport=httpx.MockTransport(handler))
    with pytest.raises(AuthenticationError) as caught:
        client.get_result("t")
    assert API_KEY not in str(caught.value) and API_KEY not in json.dumps(caught.value.body)
    assert "***" in str(caught.value)


def test_the_key_is_in_no_repr_and_no_log_line(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = recording_client(sandbox)
    assert API_KEY not in repr(client)
    task_id = client.create_video(prompt="quiet")
    queue_fault(sandbox, 503, path="/v1/draw/result")
    client.get_result(task_id)
    assert "retrying /v1/draw/result" in caplog.text  # the retry was logged ...
    assert API_KEY not in caplog.text  # ... without the key
    assert API_KEY not in repr(client.get_result(task_id))


def test_a_poll_whose_error_quotes_the_key_is_redacted_everywhere_in_the_task() -> None:
    """A failed task's error text (from a poll, not a create) that quotes the key."""

    def handler(request: httpx.Request) -> httpx.Response:
        task = {"id": "t1", "status": "failed", "progress": 0, "failure_reason": "error",
                "error": f"upstream said: key {API_KEY} over quota", "results": []}
        return httpx.Response(200, json={"code": 0, "msg": "success", "data": task})

    client = Client(api_key=API_KEY, base_url="http://grsai.test", transport=httpx.MockTransport(handler))
    task = client.get_result("t1")
    assert task.status == "failed" and "over quota" in task.error and "***" in task.error
    assert API_KEY not in task.error and API_KEY not in json.dumps(task.raw) and API_KEY not in repr(task)
