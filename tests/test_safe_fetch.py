"""studio.safe_fetch over real HTTP: a small Starlette app served by uvicorn in a thread on loopback."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from studio import safe_fetch
from studio.safe_fetch import FetchError, check_url, fetch_bytes, fetch_to_file
from tests.conftest import huge_png, make_clip, png

MP4 = make_clip(seconds=0.5, color=(20, 200, 40), size=(64, 64))
PNG = png(size=(48, 48))
TRUNCATED_PNG = PNG[: len(PNG) // 2]
PUBLIC_IP = "93.184.216.34"
# Stand-ins for public hosts the tests can reach: loopback addresses the checks are told are public.
# The file host listens on STAND_IN as well as 127.0.0.1; nothing listens on NOBODY.
STAND_IN, NOBODY = "127.0.0.2", "127.0.0.3"
SECRET = "tok-SECRET-42"


def _bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="BMP")
    return buffer.getvalue()


FILES = {
    "clip.mp4": MP4,
    "image.png": PNG,
    "truncated.png": TRUNCATED_PNG,
    "image.bmp": _bmp(),  # a real image, but not a format we take
    "notes.txt": b"just text\n" * 50,
    "huge.png": huge_png(12000, 12000),  # 18 KB, 144 million pixels
}


@dataclass
class FileHost:
    base_url: str
    port: int
    hits: Counter = field(default_factory=Counter)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _app(host: FileHost) -> Starlette:
    def count(request: Request) -> int:
        key = request.url.path
        host.hits[key] += 1
        host.headers[key] = dict(request.headers)
        return host.hits[key]

    async def serve(request: Request) -> Response:
        count(request)
        name = request.path_params["name"]
        if name not in FILES:
            return PlainTextResponse("no such file", status_code=404)
        return Response(FILES[name], media_type="application/octet-stream")

    async def gone(request: Request) -> Response:
        count(request)
        return PlainTextResponse("gone", status_code=410)

    async def flaky(request: Request) -> Response:
        """500 for the first ``fail`` requests, then the PNG."""
        seen = count(request)
        if seen <= int(request.query_params["fail"]):
            return PlainTextResponse("busy", status_code=500)
        return Response(PNG, media_type="image/png")

    async def declared_big(request: Request) -> Response:
        count(request)
        return Response(b"\0" * 2 * 2**20, media_type="application/octet-stream")  # Content-Length: 2 MiB

    async def chunked_big(request: Request) -> Response:
        count(request)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(64):  # 4 MiB in 64 KiB chunks, no Content-Length
                yield b"\0" * 2**16

        return StreamingResponse(body(), media_type="application/octet-stream")

    async def dribble(request: Request) -> Response:
        """A byte every 50 ms for up to 30 s: never a timeout for any one read."""
        count(request)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(600):
                yield b"x"
                await asyncio.sleep(0.05)

        return StreamingResponse(body(), media_type="application/octet-stream")

    async def hops(request: Request) -> Response:
        count(request)
        left = int(request.path_params["left"])
        target = "/files/image.png" if left == 0 else f"/hops/{left - 1}"
        return RedirectResponse(target, status_code=302)

    async def to(request: Request) -> Response:
        count(request)
        return RedirectResponse(request.query_params["url"], status_code=307)

    async def no_location(request: Request) -> Response:
        count(request)
        return Response(status_code=302)

    return Starlette(
        routes=[
            Route("/files/{name}", serve),
            Route("/gone", gone),
            Route("/flaky/{key}", flaky),
            Route("/declared-big", declared_big),
            Route("/chunked-big", chunked_big),
            Route("/dribble", dribble),
            Route("/hops/{left:int}", hops),
            Route("/to", to),
            Route("/no-location", no_location),
        ]
    )


class _Server(uvicorn.Server):
    """Sets ``ready`` once it listens, so the fixture waits on an event instead of polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture(scope="module")
def file_host() -> Iterator[FileHost]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stand_in = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # the same server as a "public" host
    stand_in.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    stand_in.bind((STAND_IN, port))
    host = FileHost(f"http://127.0.0.1:{port}", port)
    server = _Server(
        uvicorn.Config(_app(host), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock, stand_in]}, daemon=True)
    thread.start()
    assert server.ready.wait(15), "the test file host did not start"
    yield host
    server.should_exit = True
    thread.join(10)
    sock.close()
    stand_in.close()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_fetch, "BACKOFF_BASE", 0.05)


def fetch(url: str, target: Path, **kwargs: object) -> Path:
    """fetch_to_file through a client that would leak credentials if safe_fetch let it."""
    options = {"kind": "any", "max_bytes": 2**20, "allow_local": True, **kwargs}

    async def go() -> Path:
        async with httpx.AsyncClient(
            timeout=10.0,
            trust_env=False,
            headers={"Authorization": f"Bearer {SECRET}"},
            cookies={"session": SECRET},
            auth=("user", SECRET),
        ) as http:
            return await fetch_to_file(http, url, target, **options)  # type: ignore[arg-type]

    return asyncio.run(go())


def failure(call, *args: object, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        call(*args, **kwargs)
    assert SECRET not in caught.value.message
    return caught.value


def assert_clean(directory: Path) -> None:
    """Nothing left behind: no target, no partial file."""
    assert list(directory.iterdir()) == []


@pytest.fixture
def stand_ins_are_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks take STAND_IN and NOBODY for public addresses (every other rule unchanged)."""
    real_is_public = safe_fetch._is_public
    monkeypatch.setattr(safe_fetch, "_is_public", lambda a: a in (STAND_IN, NOBODY) or real_is_public(a))


@pytest.fixture
def public_test_name(monkeypatch: pytest.MonkeyPatch, file_host: FileHost, stand_ins_are_public: None) -> str:
    """``public.test`` resolves to a "public" address (STAND_IN) where the loopback test host listens."""
    real_resolve = safe_fetch._resolve

    def resolve(host: str, port: int) -> list[str]:
        return [STAND_IN] if host == "public.test" else real_resolve(host, port)

    monkeypatch.setattr(safe_fetch, "_resolve", resolve)
    return "public.test"


# -- check_url --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:text/plain,hello",
        "ftp://example.com/video.mp4",
        "javascript:alert(1)",
        "http:///no-host",
        "example.com/video.mp4",
        "",
        f"https://user:{SECRET}@example.com/video.mp4",
        "http://example.com:abc/",
        "http://example.com:99999/",
    ],
)
def test_check_url_refuses_what_is_not_plain_http(url: str) -> None:
    for allow_local in (False, True):
        error = failure(check_url, url, allow_local=allow_local)
        assert error.permanent


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.1.2.3",
        "172.16.5.4",
        "192.168.1.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "2130706433",  # 127.0.0.1 as one number, which the resolver accepts
    ],
)
def test_check_url_refuses_local_and_private_addresses(host: str) -> None:
    error = failure(check_url, f"http://{host}:8080/video.mp4")
    assert error.permanent
    assert "not allowed" in error.message
    if host in NEVER:  # not even for a local service: a cloud's metadata answers on 169.254.169.254
        assert (
            "never fetched" in failure(check_url, f"http://{host}:8080/video.mp4", allow_local=True).message
        )
    else:
        check_url(f"http://{host}:8080/video.mp4", allow_local=True)  # the sandbox case


NEVER = ("169.254.169.254", "0.0.0.0", "224.0.0.1", "[fe80::1]")


def test_a_name_that_resolves_to_link_local_is_refused_even_for_a_local_service(monkeypatch) -> None:
    monkeypatch.setattr(safe_fetch, "_resolve", lambda host, port: ["169.254.169.254"])
    error = failure(check_url, "http://metadata.internal/latest/meta-data", allow_local=True)
    assert error.permanent and "metadata" in error.message


def test_check_url_accepts_public_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    check_url(f"https://{PUBLIC_IP}/a.mp4")
    check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/a.mp4")
    monkeypatch.setattr(safe_fetch, "_resolve", lambda host, port: [PUBLIC_IP])
    check_url("https://cdn.example.com/a.mp4?token=x")


def test_check_url_refuses_a_name_with_any_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_fetch, "_resolve", lambda host, port: [PUBLIC_IP, "10.0.0.7"])
    assert failure(check_url, "https://mixed.example.com/a.mp4").permanent


def test_check_url_unresolvable_host_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(safe_fetch, "_resolve", fail)
    error = failure(check_url, "https://nowhere.example.com/a.mp4")
    assert not error.permanent


# -- fetch_to_file: where it may go ------------------------------------------------------------------------
def test_loopback_host_is_refused_without_allow_local(file_host: FileHost, tmp_path: Path) -> None:
    before = file_host.hits["/files/clip.mp4"]
    for host in ("127.0.0.1", "localhost", "[::1]"):
        error = failure(fetch, file_host.url("/files/clip.mp4", host), tmp_path / "a.mp4", allow_local=False)
        assert error.permanent
    assert file_host.hits["/files/clip.mp4"] == before  # refused before connecting
    assert_clean(tmp_path)


def test_redirect_from_public_name_to_loopback_is_refused(
    file_host: FileHost, public_test_name: str, tmp_path: Path
) -> None:
    # The resolver fakes work: a public name serving the file directly is fetched.
    fetched = fetch(
        file_host.url("/files/image.png", public_test_name), tmp_path / "ok.png", allow_local=False
    )
    assert fetched.read_bytes() == PNG
    fetched.unlink()

    before_to, before_file = file_host.hits["/to"], file_host.hits["/files/clip.mp4"]
    for inner in ("127.0.0.1", "localhost"):
        hop = f"/to?url=http://{inner}:{file_host.port}/files/clip.mp4"
        url = file_host.url(hop, public_test_name)
        error = failure(fetch, url, tmp_path / "a.mp4", kind="video", allow_local=False)
        assert error.permanent and "not allowed" in error.message
        error = failure(fetch_bytes, url, kind="video", max_bytes=2**20, allow_local=False)
        assert error.permanent and "not allowed" in error.message
    assert file_host.hits["/to"] == before_to + 4  # the first hop was made each time...
    assert file_host.hits["/files/clip.mp4"] == before_file  # ...the second never
    assert_clean(tmp_path)


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_followed_there(
    file_host: FileHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stand_ins_are_public: None
) -> None:
    """DNS rebinding: ``rebind.test`` answers a public address to the check and 127.0.0.1 a moment
    later, when the connection looks it up. The fetch connects to the address that was checked (here
    nothing answers there), so the internal file is never asked for."""
    real_getaddrinfo = socket.getaddrinfo
    checked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        checked.append(host)
        return [NOBODY]

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        inside = host in ("rebind.test", b"rebind.test")  # the second answer (anyio passes bytes)
        return real_getaddrinfo("127.0.0.1" if inside else host, *args, **kwargs)

    monkeypatch.setattr(safe_fetch, "_resolve", resolve)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    before = file_host.hits["/files/notes.txt"]
    url = file_host.url("/files/notes.txt", "rebind.test")
    error = failure(fetch, url, tmp_path / "notes.txt", allow_local=False, attempts=1)
    assert not error.permanent and "Could not reach the file host" in error.message
    error = failure(fetch_bytes, url, kind="any", max_bytes=2**20, allow_local=False, attempts=1)
    assert "Could not reach the file host" in error.message
    assert checked == ["rebind.test", "rebind.test"]
    assert file_host.hits["/files/notes.txt"] == before  # the internal host was never reached
    assert_clean(tmp_path)


def test_a_pinned_connection_still_names_its_host(
    file_host: FileHost, public_test_name: str, tmp_path: Path
) -> None:
    """Connecting to the checked address does not change what the host is told: the Host header is the
    name (and port) of the link, and an https link keeps its name for TLS."""
    fetch(file_host.url("/files/notes.txt", public_test_name), tmp_path / "n.txt", allow_local=False)
    assert file_host.headers["/files/notes.txt"]["host"] == f"{public_test_name}:{file_host.port}"

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            await fetch_to_file(
                http, "https://public.test/a.bin?t=1", tmp_path / "a.bin", kind="any", max_bytes=100
            )

    asyncio.run(go())
    (request,) = seen
    assert request.url.host == STAND_IN and request.url.query == b"t=1"
    assert request.headers["host"] == "public.test"
    assert request.extensions["sni_hostname"] == "public.test"


def test_no_credentials_or_cookies_are_sent(file_host: FileHost, tmp_path: Path) -> None:
    fetch(file_host.url("/files/notes.txt"), tmp_path / "notes.txt")
    sent = file_host.headers["/files/notes.txt"]
    assert "authorization" not in sent and "cookie" not in sent
    assert SECRET not in str(sent)


# -- fetch_to_file: answers -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/files/missing.mp4", "/gone"])
def test_missing_link_is_permanent_without_retries(file_host: FileHost, tmp_path: Path, path: str) -> None:
    before = file_host.hits[path]
    error = failure(fetch, file_host.url(f"{path}?token={SECRET}"), tmp_path / "a.mp4")
    assert error.permanent
    assert "expired or never existed" in error.message
    assert file_host.hits[path] == before + 1
    assert_clean(tmp_path)


def test_two_500s_then_success(file_host: FileHost, tmp_path: Path) -> None:
    fetched = fetch(file_host.url("/flaky/twice?fail=2"), tmp_path / "a.png", kind="image", attempts=3)
    assert fetched.read_bytes() == PNG
    assert file_host.hits["/flaky/twice"] == 3
    assert list(tmp_path.iterdir()) == [fetched]


def test_500_forever_is_transient_after_the_attempts(file_host: FileHost, tmp_path: Path) -> None:
    error = failure(fetch, file_host.url("/flaky/always?fail=1000"), tmp_path / "a.png", attempts=3)
    assert not error.permanent
    assert "500" in error.message
    assert file_host.hits["/flaky/always"] == 3
    assert_clean(tmp_path)


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(fetch, f"http://127.0.0.1:{port}/a.mp4", tmp_path / "a.mp4", attempts=2)
    assert not error.permanent
    assert_clean(tmp_path)


def test_too_large_by_content_length(file_host: FileHost, tmp_path: Path) -> None:
    error = failure(fetch, file_host.url("/declared-big"), tmp_path / "a.bin", max_bytes=2**20)
    assert error.permanent
    assert "2.0 MB" in error.message  # judged from the header, before reading
    assert file_host.hits["/declared-big"] == 1
    assert_clean(tmp_path)


def test_too_large_while_streaming(file_host: FileHost, tmp_path: Path) -> None:
    error = failure(fetch, file_host.url("/chunked-big"), tmp_path / "a.bin", max_bytes=2**20)
    assert error.permanent
    assert "over the 1.0 MB limit" in error.message
    assert_clean(tmp_path)
    error = failure(fetch_bytes, file_host.url("/chunked-big"), kind="any", max_bytes=2**20, allow_local=True)
    assert error.permanent


def test_redirects_up_to_the_limit_are_followed(file_host: FileHost, tmp_path: Path) -> None:
    # /hops/2 -> /hops/1 -> /hops/0 -> /files/image.png: three redirects
    fetched = fetch(file_host.url("/hops/2"), tmp_path / "a.png", kind="image", max_redirects=3)
    assert fetched.read_bytes() == PNG


def test_redirect_chain_too_long(file_host: FileHost, tmp_path: Path) -> None:
    before = file_host.hits["/files/image.png"]
    error = failure(fetch, file_host.url("/hops/3"), tmp_path / "a.png", kind="image", max_redirects=3)
    assert error.permanent and "more than 3" in error.message
    assert file_host.hits["/files/image.png"] == before
    assert_clean(tmp_path)


def test_redirect_without_location(file_host: FileHost, tmp_path: Path) -> None:
    assert failure(fetch, file_host.url("/no-location"), tmp_path / "a.bin").permanent
    assert_clean(tmp_path)


def test_total_time_cap(file_host: FileHost, tmp_path: Path) -> None:
    started = time.monotonic()
    error = failure(fetch, file_host.url("/dribble"), tmp_path / "a.bin", total_timeout=1.0)
    elapsed = time.monotonic() - started
    assert not error.permanent
    assert "longer than 1 s" in error.message
    assert 0.9 <= elapsed < 3.0
    assert_clean(tmp_path)


def test_total_time_cap_sync(file_host: FileHost) -> None:
    started = time.monotonic()
    error = failure(
        fetch_bytes,
        file_host.url("/dribble"),
        kind="any",
        max_bytes=2**20,
        total_timeout=1.0,
        allow_local=True,
    )
    elapsed = time.monotonic() - started
    assert not error.permanent
    assert 0.9 <= elapsed < 3.0


# -- fetch_to_file: content ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["video", "clip"])
def test_real_mp4_passes(file_host: FileHost, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "videos" / "a.mp4"  # the folder is made
    fetched = fetch(file_host.url("/files/clip.mp4"), target, kind=kind)
    assert fetched == target and target.read_bytes() == MP4
    assert list(target.parent.iterdir()) == [target]


@pytest.mark.parametrize("kind", ["video", "clip"])
def test_text_served_as_video_is_refused(file_host: FileHost, tmp_path: Path, kind: str) -> None:
    error = failure(fetch, file_host.url("/files/notes.txt"), tmp_path / "a.mp4", kind=kind)
    assert error.permanent
    assert_clean(tmp_path)


def test_image_checks(file_host: FileHost, tmp_path: Path) -> None:
    assert fetch(file_host.url("/files/image.png"), tmp_path / "a.png", kind="image").read_bytes() == PNG
    (tmp_path / "a.png").unlink()
    for path in ("/files/truncated.png", "/files/notes.txt", "/files/clip.mp4", "/files/image.bmp"):
        error = failure(fetch, file_host.url(path), tmp_path / "a.png", kind="image")
        assert error.permanent, path
        assert_clean(tmp_path)


def test_a_picture_of_too_many_pixels_is_refused_in_words_before_it_is_decoded(file_host: FileHost, tmp_path: Path) -> None:
    """Issue 23 #5: an 18 KB PNG of 12000×12000 pixels was decoded whole (144 MB) to check it."""
    error = failure(fetch, file_host.url("/files/huge.png"), tmp_path / "a.png", kind="image")
    assert error.permanent
    assert error.message.startswith("This picture is 12000×12000 pixels; the most is 50 million pixels")
    assert_clean(tmp_path)


def test_any_kind_is_not_checked(file_host: FileHost, tmp_path: Path) -> None:
    assert fetch(file_host.url("/files/notes.txt"), tmp_path / "n.txt").read_bytes() == b"just text\n" * 50


def test_existing_target_survives_a_failure(file_host: FileHost, tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"earlier copy")
    failure(fetch, file_host.url("/files/truncated.png"), target, kind="image")
    assert target.read_bytes() == b"earlier copy"
    assert list(tmp_path.iterdir()) == [target]


# -- fetch_bytes -----------------------------------------------------------------------------------------
def test_fetch_bytes_same_rules(file_host: FileHost) -> None:
    assert fetch_bytes(file_host.url("/hops/1"), kind="image", max_bytes=2**20, allow_local=True) == PNG
    assert (
        fetch_bytes(file_host.url("/files/clip.mp4"), kind="clip", max_bytes=2**20, allow_local=True) == MP4
    )
    assert failure(fetch_bytes, file_host.url("/files/image.png"), kind="image", max_bytes=2**20).permanent
    assert failure(fetch_bytes, "file:///etc/passwd", kind="image", max_bytes=2**20).permanent
    for path in ("/files/truncated.png", "/gone", "/declared-big", "/hops/5"):
        error = failure(fetch_bytes, file_host.url(path), kind="image", max_bytes=2**20, allow_local=True)
        assert error.permanent, path
    before = file_host.hits["/flaky/sync"]
    data = fetch_bytes(file_host.url("/flaky/sync?fail=1"), kind="image", max_bytes=2**20, allow_local=True)
    assert data == PNG and file_host.hits["/flaky/sync"] == before + 2
    error = failure(
        fetch_bytes,
        file_host.url("/flaky/sync-always?fail=99"),
        kind="image",
        max_bytes=2**20,
        allow_local=True,
    )
    assert not error.permanent and file_host.hits["/flaky/sync-always"] == 3
