"""Fetching files from addresses we do not control: the provider's result links (they live two hours and
their hosts sometimes answer 500) and addresses people paste in (reference images, character clips).

The rules: http(s) only; no address that points into a private network (checked on every redirect hop,
which we follow by hand); a size limit, known before reading when the host says it and enforced while
reading when it does not; one time limit for the whole call, retries included; a check that the bytes are
what we asked for; and no credentials or cookies sent anywhere.

The rules live in ``_plan``, a generator that says what to do next (check an address, send a request,
read the body, wait before a retry) and judges each answer. ``_drive_async`` and ``_drive_sync`` only do
the I/O it asks for, so the asynchronous and synchronous paths cannot drift apart.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import itertools
import secrets
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import av
import httpx
from PIL import Image

from grsai_api._base import pinned_request, shared_ssl_context

from .pictures import PictureTooLarge, open_picture

Kind = Literal["video", "image", "clip", "any"]

# MPO is what Pillow calls a camera's JPEG that holds two pictures.
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "GIF"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429})  # and every 5xx
BACKOFF_BASE = 0.5  # seconds before the second try; doubles after each failure
BACKOFF_MAX = 4.0
# Sent instead of the client's defaults (and with auth=None): no Authorization, no cookies.
# "identity" keeps Content-Length meaningful and spares us decompressing a bomb.
REQUEST_HEADERS = {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": "grsai-studio"}

_WHAT = {"video": "a video", "clip": "a video clip", "image": "an image", "any": "a file"}


class FetchError(Exception):
    """A fetch that failed. ``message`` is for a person and never holds the address (links can carry
    tokens); ``permanent`` says whether trying again could help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# -- addresses ---------------------------------------------------------------------------------------
def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a seam for tests)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url(url: str, *, allow_local: bool = False) -> str | None:
    """Refuse (permanent FetchError) anything but an http(s) address with a host and no user name or
    password in it; any host that resolves to a link-local, multicast or unspecified address; and,
    unless ``allow_local``, loopback, private and reserved ones. A host that does not resolve is a
    transient error.

    Returns the address the name was checked at, which the fetch then connects to (pinned: the name is
    not looked up again, so it cannot answer differently a moment later), or None when the URL holds
    an address itself or (``allow_local``) names a local service the resolver does not know."""
    try:
        parsed = httpx.URL(url.strip())  # parsed as httpx will parse it when it connects
    except (httpx.InvalidURL, TypeError):
        raise FetchError("That is not a valid web address.", permanent=True) from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError("Only http:// and https:// addresses can be fetched.", permanent=True)
    host = parsed.raw_host.decode("ascii", "replace")  # IDNA-encoded, as handed to the resolver
    if not host:
        raise FetchError("That web address has no host name.", permanent=True)
    if parsed.userinfo:
        raise FetchError(
            "Web addresses with a user name or password in them are not allowed.", permanent=True
        )
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise FetchError("That web address has an impossible port number.", permanent=True)
    try:
        addresses = [host] if _is_ip(host) else _resolve(host, port)
    except (OSError, UnicodeError):
        if allow_local:
            return None  # the connection will say it: a local service may use names of its own
        raise FetchError(f"Could not find the host {host}.", permanent=False) from None
    if not addresses and not allow_local:
        raise FetchError(f"Could not find the host {host}.", permanent=False)
    for address in addresses:
        if _never(address):
            raise FetchError(
                f"{host} points at {address}: link-local addresses (where clouds answer with their "
                "metadata), multicast and unspecified ones are never fetched, so that is not allowed.",
                permanent=True,
            )
        if not allow_local and not _is_public(address):
            raise FetchError(
                f"{host} points into a private or local network ({address}); "
                "fetching from there is not allowed.",
                permanent=True,
            )
    if _is_ip(host) or not addresses:
        return None
    # Every address passed; connect to an IPv4 one when there is one (a host that also answers ::1
    # often listens on IPv4 only), as the resolver's own order would usually have it.
    return min(addresses, key=lambda address: ":" in address)


def _never(address: str) -> bool:
    """Addresses fetched from under no rule, not even for a local service: link-local (169.254.x.x,
    fe80::, where clouds answer with their metadata and credentials), multicast and unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- the rules -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rules:
    kind: Kind
    max_bytes: int
    allow_local: bool
    max_redirects: int
    attempts: int


# What _plan asks the drivers to do. _Check answers with the address checked, _Open with the response
# (headers read, body not yet); the others answer None.
@dataclass(frozen=True)
class _Check:
    url: str
    allow_local: bool


@dataclass(frozen=True)
class _Open:
    url: str
    address: str | None  # where check_url found the host: the connection goes there


@dataclass(frozen=True)
class _Read:
    pass


@dataclass(frozen=True)
class _Wait:
    seconds: float


_Step = _Check | _Open | _Read | _Wait


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _judge(response: httpx.Response, url: str, hop: int, rules: _Rules) -> str | None:
    """The next address when ``response`` is a redirect to follow, None when its body is to be read;
    otherwise a FetchError (permanent or not)."""
    status = response.status_code
    if status in REDIRECT_STATUSES:
        location = response.headers.get("location")
        if not location:
            raise FetchError(
                f"The address answered HTTP {status} without saying where to go.", permanent=True
            )
        if hop >= rules.max_redirects:
            raise FetchError(f"The address redirected more than {rules.max_redirects} times.", permanent=True)
        try:
            return str(httpx.URL(url).join(location.strip()))
        except httpx.InvalidURL:
            raise FetchError(
                "The address redirected to something that is not a web address.", permanent=True
            ) from None
    if status in (404, 410):
        raise FetchError(f"The link has expired or never existed (HTTP {status}).", permanent=True)
    if status >= 500 or status in RETRY_STATUSES:
        raise FetchError(f"The file host answered HTTP {status}; it may be busy.", permanent=False)
    if not 200 <= status < 300:
        raise FetchError(f"The address answered HTTP {status}.", permanent=True)
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > rules.max_bytes:
        raise FetchError(
            f"The file is {_megabytes(int(declared))}, over the {_megabytes(rules.max_bytes)} limit.",
            permanent=True,
        )
    return None


def _plan(url: str, rules: _Rules) -> Generator[_Step, Any, None]:
    """Yield the steps of a fetch; the driver sends back each step's answer, or throws in its error.
    Transient failures start a new attempt from the original address after a backoff."""
    failure: FetchError | None = None
    for attempt in range(rules.attempts):
        if attempt:
            yield _Wait(min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX))
        try:
            current = url
            for hop in itertools.count():
                address = yield _Check(current, rules.allow_local)
                response = yield _Open(current, address)
                following = _judge(response, current, hop, rules)
                if following is None:
                    break
                current = following
            yield _Read()
            return
        except FetchError as exc:
            if exc.permanent:
                raise
            failure = exc
        except httpx.TransportError as exc:  # connection refused or reset, per-operation timeouts, bad TLS...
            failure = FetchError(f"Could not reach the file host ({type(exc).__name__}).", permanent=False)
        except httpx.DecodingError:
            raise FetchError("The file host sent a body that could not be decoded.", permanent=True) from None
        except httpx.InvalidURL:
            raise FetchError("That is not a valid web address.", permanent=True) from None
    assert failure is not None
    tries = "once" if rules.attempts == 1 else f"{rules.attempts} times"
    raise FetchError(f"{failure.message} (tried {tries})", permanent=False)


class _Sink:
    """Where the body goes, enforcing the size limit; emptied at the start of each read."""

    def __init__(self, out: BinaryIO, max_bytes: int) -> None:
        self.out, self.max_bytes, self.size = out, max_bytes, 0

    def reset(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FetchError(f"The file is over the {_megabytes(self.max_bytes)} limit.", permanent=True)
        self.out.write(chunk)


def _request(step: _Open, timeout: httpx.Timeout) -> httpx.Request:
    # Built by hand, not with client.build_request: that would add the client's headers and cookies.
    return pinned_request(
        step.url, step.address, headers=REQUEST_HEADERS, extensions={"timeout": timeout.as_dict()}
    )


def _time_up(total_timeout: float) -> FetchError:
    return FetchError(f"The download took longer than {total_timeout:g} s; try again later.", permanent=False)


# -- content -------------------------------------------------------------------------------------------
def _check_content(source: Path | bytes, kind: Kind) -> None:
    """Permanent FetchError unless ``source`` holds what ``kind`` promises."""

    def opened() -> str | BinaryIO:
        return io.BytesIO(source) if isinstance(source, bytes) else str(source)

    if kind == "any":
        return
    if kind in ("video", "clip"):
        try:
            with av.open(opened()) as container:
                playable = next(iter(container.decode(video=0)), None) is not None
        except (av.FFmpegError, OSError, ValueError, IndexError, EOFError):
            playable = False
        if not playable:
            raise FetchError(f"The file at that address is not {_WHAT[kind]} we can play.", permanent=True)
        return
    try:
        with open_picture(opened()) as image:  # its size in pixels first: nothing decoded yet
            image_format = image.format
            image.verify()  # structure and checksums
        with Image.open(opened()) as image:
            image.load()  # and the pixels themselves: catches truncated JPEGs that verify() lets through
    except PictureTooLarge as exc:
        raise FetchError(f"{exc}, so it is not opened.", permanent=True) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, Image.DecompressionBombError):
        raise FetchError("The file at that address is not an image we can read.", permanent=True) from None
    if image_format not in IMAGE_FORMATS:
        raise FetchError(
            f"The image is {image_format or 'of an unknown format'}; use PNG, JPEG, WEBP or GIF.",
            permanent=True,
        )


# -- the drivers ---------------------------------------------------------------------------------------
async def _drive_async(http: httpx.AsyncClient, plan: Generator[_Step, Any, None], sink: _Sink) -> None:
    response: httpx.Response | None = None
    try:
        step = next(plan)
        while True:
            answer = None
            try:
                if isinstance(step, _Check):
                    answer = await asyncio.to_thread(check_url, step.url, allow_local=step.allow_local)
                elif isinstance(step, _Open):
                    if response is not None:
                        await response.aclose()
                    request = _request(step, http.timeout)
                    response = answer = await http.send(
                        request, stream=True, auth=None, follow_redirects=False
                    )
                elif isinstance(step, _Read):
                    assert response is not None
                    sink.reset()
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                else:
                    await asyncio.sleep(step.seconds)
            except Exception as exc:  # the plan decides what an error means
                step = plan.throw(exc)
            else:
                step = plan.send(answer)
    except StopIteration:
        return
    finally:
        plan.close()
        if response is not None:
            await response.aclose()


def _drive_sync(http: httpx.Client, plan: Generator[_Step, Any, None], sink: _Sink, deadline: float) -> None:
    """As _drive_async, with the time limit enforced by hand: every operation gets the time left as its
    timeout and the deadline is checked between chunks (TimeoutError, which the plan does not catch)."""

    def time_left() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    response: httpx.Response | None = None
    try:
        step = next(plan)
        while True:
            answer = None
            try:
                if isinstance(step, _Check):
                    time_left()
                    answer = check_url(step.url, allow_local=step.allow_local)
                elif isinstance(step, _Open):
                    if response is not None:
                        response.close()
                    left = time_left()
                    request = _request(step, httpx.Timeout(left, connect=min(left, 10.0)))
                    response = answer = http.send(request, stream=True, auth=None, follow_redirects=False)
                elif isinstance(step, _Read):
                    assert response is not None
                    sink.reset()
                    for chunk in response.iter_bytes():
                        time_left()
                        sink.write(chunk)
                else:
                    if step.seconds >= time_left():
                        raise TimeoutError
                    time.sleep(step.seconds)
            except Exception as exc:
                step = plan.throw(exc)
            else:
                step = plan.send(answer)
    except StopIteration:
        return
    finally:
        plan.close()
        if response is not None:
            response.close()


# -- the public calls ----------------------------------------------------------------------------------
async def fetch_to_file(
    http: httpx.AsyncClient,
    url: str,
    target: Path,
    *,
    kind: Kind,
    max_bytes: int,
    total_timeout: float = 120.0,
    allow_local: bool = False,
    max_redirects: int = 3,
    attempts: int = 3,
) -> Path:
    """Copy ``url`` to ``target`` under the rules above: streamed to a temporary file beside ``target``,
    checked, then renamed into place, so ``target`` is either the whole checked file or untouched.
    ``http`` supplies the connection pool, TLS settings and per-operation timeouts; its headers, cookies
    and authentication are not used, nor does it follow redirects."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    rules = _Rules(kind, max_bytes, allow_local, max_redirects, max(1, attempts))
    # A name of our own beside the target, created with the usual permissions (mkstemp's are 0600).
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        try:
            async with asyncio.timeout(total_timeout):
                with partial.open("xb") as out:
                    await _drive_async(http, _plan(url.strip(), rules), _Sink(out, max_bytes))
                await asyncio.to_thread(_check_content, partial, kind)
        except TimeoutError:
            raise _time_up(total_timeout) from None
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def fetch_bytes(
    url: str,
    *,
    kind: Kind,
    max_bytes: int,
    total_timeout: float = 30.0,
    allow_local: bool = False,
    max_redirects: int = 3,
    attempts: int = 3,
) -> bytes:
    """The synchronous twin of fetch_to_file for pages (addresses people paste in): the same rules,
    returning the checked bytes."""
    rules = _Rules(kind, max_bytes, allow_local, max_redirects, max(1, attempts))
    deadline = time.monotonic() + total_timeout
    buffer = io.BytesIO()
    try:
        with httpx.Client(verify=shared_ssl_context(), follow_redirects=False) as http:
            _drive_sync(http, _plan(url.strip(), rules), _Sink(buffer, max_bytes), deadline)
    except TimeoutError:
        raise _time_up(total_timeout) from None
    data = buffer.getvalue()
    _check_content(data, kind)
    return data
