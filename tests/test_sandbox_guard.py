"""The sandbox's controls (issue 11 #14): reading or changing knobs, reading counters, queueing faults
and setting credits take the sandbox's own token; the GrsAI endpoints take only the key, as the real
service's do. Its own fetches of request URLs are streamed under a cap, follow few redirects and never
reach link-local addresses; webhooks are not sent there either."""

from __future__ import annotations

import asyncio
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sandbox import RunningSandbox, SandboxConfig, inputs, serve_in_thread
from sandbox.config import build_parser, config_from_args
from sandbox.control import HEADER, control_headers, read_token

from .conftest import API_KEY, png
from .test_sandbox_faults import AUTH, balance, create, wait_until

CHANGES = [
    ("patch", "/sandbox/config", {"task_seconds": 99}),
    ("post", "/sandbox/faults", {"status": 500, "count": 5}),
    ("delete", "/sandbox/faults", None),
    ("post", "/sandbox/credits", {"apiKey": API_KEY, "credits": 7}),
]
READS = [("get", "/sandbox/config"), ("get", "/sandbox/stats")]
WITHOUT = [{}, {HEADER: "not-the-token"}, {HEADER: ""}, {"Authorization": f"Bearer {API_KEY}"}]
WITHOUT_IDS = ["none", "wrong", "empty", "the-api-key"]


@pytest.mark.parametrize("headers", WITHOUT, ids=WITHOUT_IDS)
def test_every_change_without_the_token_is_refused_and_changes_nothing(make_sandbox, headers) -> None:
    running = make_sandbox()
    before = httpx.get(f"{running.base_url}/sandbox/config", headers=running.control_headers).json()
    for method, path, body in CHANGES:
        reply = httpx.request(method, f"{running.base_url}{path}", json=body, headers=headers)
        assert reply.status_code == 401, (method, path)
        assert HEADER in reply.json()["error"]  # it says what is missing, in words
    assert httpx.get(f"{running.base_url}/sandbox/config", headers=running.control_headers).json() == before
    assert balance(running) == 2_000_000  # credits untouched
    assert create(running, "no fault was queued").json()["code"] == 0


@pytest.mark.parametrize("headers", WITHOUT, ids=WITHOUT_IDS)
def test_reading_the_knobs_and_counters_needs_the_token_too(make_sandbox, headers) -> None:
    running = make_sandbox()
    for method, path in READS:
        reply = httpx.request(method, f"{running.base_url}{path}", headers=headers)
        assert reply.status_code == 401, (method, path)
        assert "task_seconds" not in reply.text and "counters" not in reply.text  # nothing leaks
        assert HEADER in reply.json()["error"]
        opened = httpx.request(method, f"{running.base_url}{path}", headers=running.control_headers)
        assert opened.status_code == 200, (method, path)
    knobs = httpx.get(f"{running.base_url}/sandbox/config", headers=running.control_headers).json()
    assert knobs["task_seconds"] == running.config.task_seconds
    stats = httpx.get(f"{running.base_url}/sandbox/stats", headers=running.control_headers).json()
    assert "counters" in stats


def test_the_apps_sandbox_helpers_send_the_token(make_sandbox, monkeypatch) -> None:
    from sandbox import control
    from studio.sandbox_host import sandbox_knobs, set_sandbox_knobs

    running = make_sandbox()
    assert set_sandbox_knobs(running.base_url, {"latency_ms": 5})["latency_ms"] == 5
    assert sandbox_knobs(running.base_url)["latency_ms"] == 5
    monkeypatch.setattr(control, "_in_process", {})  # a sandbox whose token this process does not know
    with pytest.raises(ValueError, match=HEADER):  # refused in words, not a KeyError later
        sandbox_knobs(running.base_url)


def test_the_token_opens_the_controls_and_the_api_needs_only_the_key(make_sandbox) -> None:
    running = make_sandbox()
    headers = running.control_headers
    assert headers == control_headers(running.base_url)  # what this process's helpers send
    assert (
        httpx.patch(f"{running.base_url}/sandbox/config", json={"url_ttl": 60}, headers=headers).json()[
            "url_ttl"
        ]
        == 60
    )
    credits = {"apiKey": API_KEY, "credits": 5_000}
    assert httpx.post(f"{running.base_url}/sandbox/credits", json=credits, headers=headers).json() == {
        "credits": 5_000
    }
    assert (
        httpx.post(f"{running.base_url}/sandbox/faults", json={"status": 503}, headers=headers).status_code
        == 200
    )
    assert create(running, "meets the fault").status_code == 503
    made = create(running, "a GrsAI call with only the key").json()
    assert made["code"] == 0 and AUTH.keys() == {"Authorization"}


def test_the_token_is_kept_for_the_owner_only_and_stays_across_a_restart(tmp_path) -> None:
    folder = tmp_path / "box"
    first = serve_in_thread(SandboxConfig(data_dir=folder, task_seconds=0.3))
    token = first.config.control_token
    first.stop()
    path = folder / "control-token"
    assert read_token(folder) == token and len(token) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = serve_in_thread(SandboxConfig(data_dir=folder, task_seconds=0.3))
    try:
        assert again.config.control_token == token  # the app and tests sharing the folder keep working
    finally:
        again.stop()


def test_the_token_can_be_given(tmp_path, monkeypatch) -> None:
    args = build_parser().parse_args(
        ["--data-dir", str(tmp_path / "a"), "--control-token", "chosen-token-1234"]
    )
    assert config_from_args(args).control_token == "chosen-token-1234"
    monkeypatch.setenv("SANDBOX_CONTROL_TOKEN", "from-the-environment")
    assert SandboxConfig(data_dir=tmp_path / "b").control_token == "from-the-environment"


# -- the sandbox's own fetches --------------------------------------------------------------------
class Origin(BaseHTTPRequestHandler):
    """A web server for the sandbox to fetch from: /big (a body past the cap), /declared (a length
    past it), /hop/N (N redirects then a picture), /to?url=… (a redirect there)."""

    served = 0

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no length: the cap must hold while it streams
            try:
                for _ in range(1024):
                    self.wfile.write(b"\0" * 65536)
                    Origin.served += 65536
            except OSError:
                pass
            return
        if self.path == "/declared":  # says it is 100 MB: refused on the header, before any body
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(100 * 2**20))
            self.end_headers()
            self.wfile.write(png())
            return
        if self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            if left:
                self.send_response(302)
                self.send_header("Location", f"/hop/{left - 1}")
                self.end_headers()
                return
            body = png()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/to?url="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Origin.served = 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def refused(running: RunningSandbox, image_url: str) -> str:
    reply = create(running, f"from {image_url}", url=image_url).json()
    assert reply["code"] != 0, reply
    return reply["msg"]


def test_a_body_past_the_cap_is_refused_while_it_streams_and_nothing_is_charged(
    make_sandbox, origin, monkeypatch
) -> None:
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 1 * 2**20)
    running = make_sandbox()
    assert "larger than 1 MB" in refused(running, f"{origin}/big")
    # it stopped reading soon after the cap, not at the end of 64 MB (socket buffers may take a few MB)
    assert Origin.served < 24 * 2**20
    assert "larger than 1 MB" in refused(running, f"{origin}/declared")
    assert balance(running) == 2_000_000


def test_redirects_are_few_and_never_to_link_local_or_other_schemes(make_sandbox, origin) -> None:
    running = make_sandbox()
    assert create(running, "three hops are fine", url=f"{origin}/hop/3").json()["code"] == 0
    assert "too many redirects" in refused(running, f"{origin}/hop/4")
    assert "not an address the sandbox fetches" in refused(
        running, f"{origin}/to?url=http://169.254.169.254/latest/meta-data"
    )
    assert "not an address the sandbox fetches" in refused(running, f"{origin}/to?url=file:///etc/passwd")
    assert "not an address the sandbox fetches" in refused(running, "http://169.254.169.254/latest/meta-data")
    assert balance(running) == 2_000_000 - 1600  # only the good one was charged


def test_a_webhook_to_a_link_local_address_is_refused_before_charging(make_sandbox) -> None:
    running = make_sandbox()
    reply = create(running, "a hook to the metadata service", webHook="http://169.254.169.254/hook").json()
    assert reply["code"] != 0 and "webHook" in reply["msg"]
    assert wait_until(lambda: balance(running) == 2_000_000)


def _fetch(url: str, answer) -> bytes:
    """``inputs.load_bytes`` over a stand-in network (``answer`` gets each request)."""

    async def nothing_local(path: str) -> None:
        return None

    async def go() -> bytes:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await inputs.load_bytes(url, "url", http, nothing_local)

    return asyncio.run(go())


def test_a_public_name_redirecting_to_loopback_is_refused_and_loopback_never_asked(monkeypatch) -> None:
    """The redirect rule on its own: a request naming a public host may not be bounced to loopback or
    a private address (which only a request naming loopback itself may reach)."""
    asked: list[str] = []

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"http://{request.headers['host']}{request.url.raw_path.decode()}")
        return httpx.Response(302, headers={"Location": request.url.params["to"]})

    monkeypatch.setattr(inputs, "_resolve", public)
    for target in ("http://127.0.0.1:9/secret", "http://10.0.0.5/admin", "http://localhost/x"):
        with pytest.raises(inputs.BadInput, match="not an address the sandbox fetches"):
            _fetch(f"http://images.example/a.png?to={target}", answer)
    assert asked and all(url.startswith("http://images.example/") for url in asked)


def test_a_name_that_resolves_to_link_local_or_behind_a_redirect_to_loopback_is_refused(monkeypatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"metadata.example": ["169.254.169.254"], "sneaky.example": ["127.0.0.1"]}.get(
            host, ["93.184.216.34"]
        )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "bounce.example":
            return httpx.Response(302, headers={"Location": "http://sneaky.example/inside"})
        return httpx.Response(200, content=png())

    monkeypatch.setattr(inputs, "_resolve", resolve)
    with pytest.raises(inputs.BadInput, match="not an address the sandbox fetches"):
        _fetch("http://metadata.example/latest/meta-data", answer)
    with pytest.raises(inputs.BadInput, match="not an address the sandbox fetches"):
        _fetch("http://bounce.example/a.png", answer)  # its name is public, where it sends is not
    assert _fetch("http://fine.example/a.png", answer) == png()  # a public name is fetched
    assert inputs.fetchable("http://[::ffff:169.254.169.254]/", loopback=True) is False  # mapped too


def test_a_name_that_rebinds_after_the_check_is_fetched_from_the_checked_address(monkeypatch) -> None:
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 after it. The
    sandbox connects to the address it checked, telling the host its name, and never to the name
    (which would be looked up again)."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    connected: list[tuple[str, str]] = []

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        connected.append((request.url.host, request.headers["host"]))
        return httpx.Response(200, content=png())

    monkeypatch.setattr(inputs, "_resolve", rebinding)
    assert _fetch("http://rebind.example/a.png", answer) == png()
    assert connected == [("93.184.216.34", "rebind.example")]


def test_a_stopped_sandboxs_token_is_forgotten_and_a_folders_own_token_wins(make_sandbox, tmp_path) -> None:
    """A sandbox of this process stopped, and another process's sandbox took its port: the stale
    token was sent (401, seen in CI). A stopped sandbox is forgotten; a given folder's token wins."""
    first = make_sandbox()
    first.stop()
    assert control_headers(first.base_url) == {}
    other = tmp_path / "other"
    other.mkdir()
    (other / "control-token").write_text("the-other-sandbox")
    second = make_sandbox()
    assert control_headers(second.base_url, other) == {HEADER: "the-other-sandbox"}
