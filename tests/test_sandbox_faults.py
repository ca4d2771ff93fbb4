"""The sandbox's fault injection, counters, integer credits, not-found answers and webHooks, over real
HTTP. Faults injected after a create are how the app is tested never to lose or double-charge a task
whose create reply was lost, so these check that the task really exists and was charged once."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import RunningSandbox, SandboxConfig
from sandbox.config import build_parser, config_from_args
from sandbox.control import control_headers
from sandbox.service import fingerprint

from .conftest import API_KEY, counter, make_clip, stats

AUTH = {"Authorization": f"Bearer {API_KEY}"}
VIDEO = "/v1/video/sora-video"
RESULT = "/v1/draw/result"
VIDEO_PRICE = 1600
CHARACTER_PRICE = 200
START = 2_000_000


# -- helpers -----------------------------------------------------------------------------------------
def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "the condition") -> Any:
    """Wait for ``condition()`` to be truthy, checking often, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)


def queue(running: RunningSandbox, **fault: Any) -> httpx.Response:
    return httpx.post(
        f"{running.base_url}/sandbox/faults", headers=control_headers(running.base_url), json=fault
    )


def create(running: RunningSandbox, prompt: str, **extra: Any) -> httpx.Response:
    body = {"model": "sora-2", "prompt": prompt, "webHook": "-1", **extra}
    return httpx.post(f"{running.base_url}{VIDEO}", json=body, headers=AUTH)


def poll(running: RunningSandbox, task_id: str, headers: dict[str, str] = AUTH) -> dict[str, Any]:
    return httpx.post(f"{running.base_url}{RESULT}", json={"id": task_id}, headers=headers).json()


def balance(running: RunningSandbox, api_key: str = API_KEY) -> int:
    reply = httpx.post(f"{running.base_url}/client/openapi/getAPIKeyCredits", json={"apiKey": api_key})
    credits = reply.json()["data"]["credits"]
    assert type(credits) is int
    return credits


def clip_uri() -> str:
    return "data:video/mp4;base64," + base64.b64encode(make_clip(1.0)).decode()


def creates(running: RunningSandbox, prompt: str) -> int:
    return stats(running)["creates_by_prompt"].get(prompt, 0)


def finished(running: RunningSandbox, task_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: (task := poll(running, task_id)["data"])["status"] != "running" and task,
        what=f"task {task_id} to finish",
    )


# -- faults after the handler ran: the task is made and charged, the reply is lost -----------------
@pytest.mark.parametrize("status", [503, 500, 429])
def test_a_status_fault_after_the_create_answers_the_fault_but_the_task_is_made_and_charged(
    make_sandbox, status: int
) -> None:
    running = make_sandbox()
    assert queue(running, status=status, after=True, path=VIDEO).status_code == 200
    reply = create(running, f"lost reply {status}")
    assert reply.status_code == status
    if status == 429:
        assert "Retry-After" in reply.headers
    else:
        assert reply.headers["content-type"].startswith("text/plain")
    assert creates(running, f"lost reply {status}") == 1
    assert balance(running) == START - VIDEO_PRICE
    assert counter(running, "accepted_video") == 1 and counter(running, "faults_injected_after") == 1
    # the task runs to the end as any other
    wait_until(lambda: stats(running)["tasks"].get("succeeded") == 1, what="the task to succeed")
    assert create(running, "next one").json()["code"] == 0  # the fault was used up
    assert balance(running) == START - 2 * VIDEO_PRICE


def test_a_status_fault_before_the_create_makes_nothing_and_charges_nothing(make_sandbox) -> None:
    running = make_sandbox()
    queue(running, status=502, path=VIDEO)
    assert create(running, "never made").status_code == 502
    assert creates(running, "never made") == 0 and balance(running) == START
    assert counter(running, "received_video") == 0


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.parametrize("reply_mode", ["-1", "stream"])
def test_a_truncated_reply_is_a_transport_error_and_after_leaves_the_task(
    make_sandbox, after: bool, reply_mode: str
) -> None:
    running = make_sandbox()
    queue(running, kind="truncated", after=after, path=VIDEO)
    prompt = f"cut {after} {reply_mode}"
    extra = {"webHook": "-1"} if reply_mode == "-1" else {"webHook": None}
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as caught:
        create(running, prompt, **extra)
    assert isinstance(caught.value, httpx.TransportError)
    assert creates(running, prompt) == (1 if after else 0)
    assert balance(running) == START - (VIDEO_PRICE if after else 0)


def test_a_truncated_reply_is_a_transport_error_for_an_async_client_too(make_sandbox) -> None:
    running = make_sandbox()
    queue(running, kind="truncated", after=True, path=VIDEO)

    async def send() -> None:
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{running.base_url}{VIDEO}", json={"prompt": "async cut", "webHook": "-1"}, headers=AUTH
            )

    with pytest.raises(httpx.TransportError):
        asyncio.run(send())
    assert creates(running, "async cut") == 1


@pytest.mark.parametrize("after", [False, True])
def test_garbage_is_http_200_that_is_not_json(make_sandbox, after: bool) -> None:
    running = make_sandbox()
    queue(running, kind="garbage", after=after, path=VIDEO)
    reply = create(running, f"garbage {after}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "bad gateway" in reply.text
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)
    assert creates(running, f"garbage {after}") == (1 if after else 0)
    assert balance(running) == START - (VIDEO_PRICE if after else 0)


@pytest.mark.parametrize("after", [False, True])
def test_a_malformed_reply_has_no_task_id_and_after_leaves_a_task_that_finishes(
    make_sandbox, after: bool
) -> None:
    running = make_sandbox()
    queue(running, kind="malformed", after=after, path=VIDEO)
    reply = create(running, f"malformed {after}")
    assert reply.status_code == 200
    assert reply.json() == {"code": 0, "msg": "success", "data": {"nope": 1}}
    assert creates(running, f"malformed {after}") == (1 if after else 0)
    assert balance(running) == START - (VIDEO_PRICE if after else 0)
    if after:
        wait_until(lambda: stats(running)["tasks"] == {"succeeded": 1}, what="the created task to succeed")


def test_an_after_fault_on_a_poll_still_counts_the_poll(make_sandbox) -> None:
    running = make_sandbox()
    task_id = create(running, "polled").json()["data"]["id"]
    queue(running, status=500, after=True, path=RESULT)
    assert httpx.post(f"{running.base_url}{RESULT}", json={"id": task_id}, headers=AUTH).status_code == 500
    queue(running, status=500, path=RESULT)  # before: the poll is not served, so not counted
    assert httpx.post(f"{running.base_url}{RESULT}", json={"id": task_id}, headers=AUTH).status_code == 500
    assert stats(running)["polls_by_task"] == {task_id: 1}


def test_faults_match_their_path_and_count_and_delete_clears_them(make_sandbox) -> None:
    running = make_sandbox()
    queued = queue(running, kind="garbage", count=2, path=RESULT).json()["queued"]
    assert queued == [{"status": None, "kind": "garbage", "after": False, "count": 2, "path": RESULT}]
    task_id = create(running, "unaffected").json()["data"]["id"]  # another path: served
    for _ in range(2):
        reply = httpx.post(f"{running.base_url}{RESULT}", json={"id": task_id}, headers=AUTH)
        assert reply.status_code == 200 and reply.text.startswith("<html>")
    assert poll(running, task_id)["code"] == 0  # both used: served again
    queue(running, status=503, count=5)
    assert stats(running)["queued_faults"][0]["count"] == 5
    assert httpx.delete(
        f"{running.base_url}/sandbox/faults", headers=control_headers(running.base_url)
    ).json() == {"queued": []}
    assert poll(running, task_id)["code"] == 0 and stats(running)["queued_faults"] == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 404},
        {"status": 200},
        {"kind": "garbage", "status": 500},
        {"kind": "nonsense"},
        {"status": 503, "count": 0},
        {"status": 503, "after": "yes"},
        {"status": 503, "path": "v1/no-slash"},
        {"status": 503, "colour": "red"},
    ],
)
def test_bad_faults_are_refused(sandbox: RunningSandbox, fault: dict[str, Any]) -> None:
    reply = queue(sandbox, **fault)
    assert reply.status_code == 400 and reply.json()["error"]


def test_a_fault_naming_a_media_file_hits_its_download(make_sandbox) -> None:
    running = make_sandbox()
    task = finished(running, create(running, "a download").json()["data"]["id"])
    url = task["results"][0]["url"]
    path = httpx.URL(url).path
    queue(running, status=500, path=path)
    assert httpx.get(url).status_code == 500
    assert httpx.get(url).content[4:8] == b"ftyp"


# -- counters ----------------------------------------------------------------------------------------
def test_the_counters_count_creates_polls_and_downloads_exactly(make_sandbox) -> None:
    running = make_sandbox()
    first = create(running, "counted").json()["data"]["id"]
    second = create(running, "counted").json()["data"]["id"]
    other = create(running, "other").json()["data"]["id"]
    character = httpx.post(
        f"{running.base_url}/v1/video/sora-upload-character",
        json={"url": clip_uri(), "timestamps": "0,1", "webHook": "-1"},
        headers=AUTH,
    ).json()["data"]["id"]
    before = stats(running)
    assert before["creates_by_prompt"] == {"counted": 2, "other": 1}  # video creates only
    assert before["polls_by_task"] == {} and before["downloads_by_name"] == {}

    task = finished(running, first)  # some number of polls of the first task
    polls_of_first = stats(running)["polls_by_task"][first]
    assert polls_of_first >= 1
    for _ in range(3):
        poll(running, second)
    alias = httpx.get(f"{running.base_url}/v1/video/tasks/{other}", headers=AUTH)
    assert alias.status_code == 200
    name = httpx.URL(task["results"][0]["url"]).path.rsplit("/", 1)[1]
    assert httpx.get(task["results"][0]["url"]).status_code == 200
    assert httpx.get(task["results"][0]["url"]).status_code == 200
    assert httpx.head(task["results"][0]["url"]).status_code == 200  # a HEAD is no download

    after = stats(running)
    assert after["polls_by_task"] == {first: polls_of_first, second: 3, other: 1}
    assert character not in after["polls_by_task"]
    assert after["downloads_by_name"] == {name: 2}
    assert after["counters"]["polls"] == polls_of_first + 4  # the old counters stay
    assert after["creates_by_prompt"] == {"counted": 2, "other": 1}


def test_creates_by_prompt_counts_the_tasks_kept_across_a_restart(make_sandbox, tmp_path: Path) -> None:
    first = make_sandbox(data_dir=tmp_path / "kept")
    create(first, "twice over a restart")
    first.stop()
    second = make_sandbox(data_dir=tmp_path / "kept")
    create(second, "twice over a restart")
    assert creates(second, "twice over a restart") == 2


# -- not found ---------------------------------------------------------------------------------------
def test_an_unknown_or_foreign_task_is_code_minus_22_and_the_alias_answers_404(make_sandbox) -> None:
    running = make_sandbox()
    mine = create(running, "mine").json()["data"]["id"]
    stranger = {"Authorization": "Bearer sk-someone-else-000"}
    for task_id, headers in (("sbx_no_such_task", AUTH), (mine, stranger)):
        reply = httpx.post(f"{running.base_url}{RESULT}", json={"id": task_id}, headers=headers)
        assert reply.status_code == 200 and reply.json()["code"] == -22 and reply.json()["data"] is None
        alias = httpx.get(f"{running.base_url}/v1/video/tasks/{task_id}", headers=headers)
        assert alias.status_code == 404 and alias.json()["code"] == -22
    assert poll(running, mine)["code"] == 0


# -- integer credits ---------------------------------------------------------------------------------
def test_credits_are_whole_numbers_charged_at_the_published_prices(make_sandbox) -> None:
    running = make_sandbox()
    assert balance(running) == START
    finished(running, create(running, "a whole number").json()["data"]["id"])
    assert balance(running) == START - VIDEO_PRICE
    upload = httpx.post(
        f"{running.base_url}/v1/video/sora-upload-character",
        json={"url": clip_uri(), "timestamps": "0,1", "webHook": "-1"},
        headers=AUTH,
    ).json()
    assert upload["code"] == 0
    assert balance(running) == START - VIDEO_PRICE - CHARACTER_PRICE
    saved = json.loads((Path(running.config.data_dir) / "balances.json").read_text())
    assert saved == {fingerprint(API_KEY): START - VIDEO_PRICE - CHARACTER_PRICE}
    assert stats(running)["balances"] == saved


@pytest.mark.parametrize("refunds", [False, True], ids=["like-the-service", "--refunds-refusals"])
def test_a_refusal_is_charged_as_the_real_service_does_and_an_error_is_refunded(make_sandbox, refunds) -> None:
    """The real service keeps a content refusal's credits (measured; GRSAI_PROTOCOL.md 2026-12) and
    refunds other failures; --refunds-refusals stands in for a service that refunds refusals too."""
    assert config_from_args(build_parser().parse_args(["--refunds-refusals"] if refunds else [])).refunds_refusals is refunds
    running = make_sandbox(refunds_refusals=refunds)
    refused = finished(running, create(running, "some gore").json()["data"]["id"])
    assert refused["status"] == "failed" and refused["failure_reason"] == "input_moderation"
    kept = 0 if refunds else VIDEO_PRICE
    assert balance(running) == START - kept
    httpx.patch(
        f"{running.base_url}/sandbox/config", json={"error_rate": 1.0}, headers=running.control_headers
    ).raise_for_status()
    failed = finished(running, create(running, "a plain kite").json()["data"]["id"])
    assert failed["status"] == "failed" and failed["failure_reason"] == "error"
    assert balance(running) == START - kept  # an error is refunded exactly


def test_the_credits_control_sets_whole_credits_only(make_sandbox) -> None:
    running = make_sandbox()
    url = f"{running.base_url}/sandbox/credits"
    assert httpx.post(
        url, headers=running.control_headers, json={"apiKey": API_KEY, "credits": 3000}
    ).json() == {"credits": 3000}
    assert httpx.post(
        url, headers=running.control_headers, json={"apiKey": API_KEY, "credits": 2000.0}
    ).json() == {"credits": 2000}
    assert (
        httpx.post(
            url, headers=running.control_headers, json={"apiKey": API_KEY, "credits": 0.24}
        ).status_code
        == 400
    )
    assert (
        httpx.post(url, headers=running.control_headers, json={"apiKey": API_KEY, "credits": -1}).status_code
        == 400
    )
    assert balance(running) == 2000
    assert create(running, "affordable").json()["code"] == 0
    reply = create(running, "too dear again")
    assert reply.json()["code"] != 0 and "insufficient credits" in reply.json()["msg"]
    assert "1600" in reply.json()["msg"] and "400" in reply.json()["msg"]
    assert balance(running) == 400 and creates(running, "too dear again") == 0


def test_an_old_decimal_balance_and_task_cost_are_converted_to_whole_credits(
    make_sandbox, tmp_path: Path
) -> None:
    data = tmp_path / "old"
    (data / "tasks").mkdir(parents=True)
    owner = fingerprint(API_KEY)
    (data / "balances.json").write_text(json.dumps({owner: "99.92", "0123456789abcdef": "100"}))
    old_task = {
        "id": "sbx_0123456789abcdef01234567",
        "kind": "video",
        "owner": owner,
        "cost": "0.08",
        "created_at": time.time(),
        "run_seconds": 0.3,
        "public_base": "http://127.0.0.1:1",
        "params": {
            "prompt": "old gore",
            "aspect_ratio": "16:9",
            "duration": 10,
            "size": "small",
            "look": {"hue": 0.5, "layout": 0},
            "cameos": [],
            "has_reference": False,
        },
        "webhook": None,
    }
    (data / "tasks" / f"{old_task['id']}.json").write_text(json.dumps(old_task))
    running = make_sandbox(data_dir=data, refunds_refusals=True)  # the refund shows the old cost's worth
    assert stats(running)["balances"]["0123456789abcdef"] == START
    assert balance(running) in (1_998_400, START)  # the resumed task may have failed already
    task = finished(running, old_task["id"])
    assert task["status"] == "failed"
    assert balance(running) == 1_998_400 + VIDEO_PRICE  # refunded 0.08 old = 1600 credits
    saved = json.loads((data / "balances.json").read_text())
    assert saved[owner] == START and all(type(v) is int for v in saved.values())


def test_the_price_knobs_are_whole_credits() -> None:
    config = SandboxConfig(credits=5000.0, video_price=1600, character_price=200)
    assert config.credits == 5000 and type(config.credits) is int
    assert SandboxConfig().credits == START and SandboxConfig().video_price == VIDEO_PRICE
    with pytest.raises(ValueError, match="whole number"):
        SandboxConfig(video_price=0.08)
    args = build_parser().parse_args(
        ["--credits", "30000", "--video-price", "1600", "--character-price", "2"]
    )
    from_cli = config_from_args(args)
    assert (from_cli.credits, from_cli.video_price, from_cli.character_price) == (30000, 1600, 2)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--video-price", "0.08"])


# -- webHooks ----------------------------------------------------------------------------------------
class Receiver:
    """A tiny webHook receiver on loopback: records every JSON body posted; answers HTTP 500 to the
    first ``fail_finals`` posts of a final task object."""

    def __init__(self, fail_finals: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        self.fail_finals = fail_finals
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.changed:
                    final = body.get("status") != "running"
                    if final and receiver.refused < receiver.fail_finals:
                        receiver.refused += 1
                        status = 500
                    else:
                        receiver.bodies.append(body)
                        status = 200
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_final(self, task_id: str, timeout: float = 20.0) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            return next(
                (b for b in self.bodies if b.get("id") == task_id and b.get("status") != "running"), None
            )

        with self.changed:
            assert self.changed.wait_for(final, timeout), f"no final task object for {task_id}"
            return final()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(**kwargs: Any) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]

    yield start
    for each in started:
        each.close()


@pytest.mark.parametrize(("prompt", "status"), [("a kite on a beach", "succeeded"), ("gore", "failed")])
def test_a_webhook_receives_rising_progress_and_the_final_task_object(
    make_sandbox, receiver, prompt: str, status: str
) -> None:
    running = make_sandbox(task_seconds=1.0)
    hook = receiver()
    reply = create(running, prompt, webHook=hook.url)
    assert reply.json()["code"] == 0 and list(reply.json()["data"]) == ["id"]
    task_id = reply.json()["data"]["id"]
    final = hook.wait_final(task_id)
    assert final == poll(running, task_id)["data"]  # the same task object a poll answers
    assert final["status"] == status
    if status == "succeeded":
        assert final["progress"] == 100 and final["results"][0]["url"] and final["results"][0]["pid"]
        progress = [b["progress"] for b in hook.bodies if b["id"] == task_id]
        assert progress == sorted(progress) and len(progress) >= 2
    else:
        assert final["failure_reason"] == "input_moderation"
    assert [b["status"] != "running" for b in hook.bodies].count(True) == 1  # the final once


def test_the_final_state_is_retried_until_delivered(make_sandbox, receiver) -> None:
    running = make_sandbox(webhook_backoff=0.05)
    hook = receiver(fail_finals=2)
    task_id = create(running, "retried", webHook=hook.url).json()["data"]["id"]
    assert hook.wait_final(task_id)["status"] == "succeeded"
    assert hook.refused == 2
    counters = wait_until(lambda: (c := stats(running)["counters"]).get("webhook_retries") == 2 and c)
    assert counters["webhook_failures"] >= 2 and "webhooks_abandoned" not in counters


def test_an_unreachable_webhook_never_breaks_the_task(make_sandbox, receiver) -> None:
    running = make_sandbox(webhook_attempts=3, webhook_backoff=0.05)
    gone = receiver()
    url = gone.url
    gone.close()  # nothing listens there now
    task_id = create(running, "shouted into the void", webHook=url).json()["data"]["id"]
    assert finished(running, task_id)["status"] == "succeeded"
    assert balance(running) == START - VIDEO_PRICE  # charged once, not refunded
    wait_until(lambda: counter(running, "webhooks_abandoned") == 1, what="the delivery to be given up")
    assert counter(running, "webhook_retries") == 2  # three tries of the final state


@pytest.mark.parametrize("hook", ["ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", 12])
def test_a_webhook_that_is_not_http_is_refused_before_charging(make_sandbox, hook: object) -> None:
    running = make_sandbox()
    reply = create(running, "nowhere", webHook=hook)
    assert reply.json()["code"] != 0 and "webHook" in reply.json()["msg"]
    assert creates(running, "nowhere") == 0 and balance(running) == START


# -- the streamed reply mode still works after the change to where it subscribes ---------------------
def test_a_stream_with_shut_progress_still_ends_with_the_final_object(make_sandbox) -> None:
    running = make_sandbox(task_seconds=0.3)
    with httpx.stream(
        "POST",
        f"{running.base_url}{VIDEO}",
        json={"prompt": "streamed", "shutProgress": True},
        headers=AUTH,
        timeout=30,
    ) as reply:
        lines = [json.loads(line[6:]) for line in reply.iter_lines() if line.startswith("data: ")]
    assert [t["status"] for t in lines] == ["succeeded"]
