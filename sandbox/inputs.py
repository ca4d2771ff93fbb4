"""Turning what a request names (a URL, a data URI, bare base64) into bytes the sandbox can use."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

import httpx
from PIL import Image, UnidentifiedImageError

from grsai_api._base import pinned_request

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_INPUT_PIXELS = 50_000_000  # a picture past this is refused before it is decoded
MAX_RENDER_SIDE = 4096  # no render uses a picture larger than this
_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.I)


class BadInput(ValueError):
    """A parameter the sandbox cannot use; the message goes back to the caller as ``msg``."""


LocalResolver = Callable[[str], Awaitable[bytes | None]]


MAX_REDIRECTS = 3
FETCH_SECONDS = 30.0  # the whole fetch, however slowly the other side sends


def fetchable(url: str, *, loopback: bool) -> bool:
    """Whether the sandbox fetches ``url``: http(s) only; never a link-local address (a cloud's
    metadata service); loopback and private addresses only when the request itself named one
    (``loopback``: tests and the sandbox's own files live there), never reached by a redirect.
    A name is checked here by its spelling only; ``_download`` checks what it resolves to."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    try:
        address = ipaddress.ip_address(parsed.hostname.strip("[]"))
    except ValueError:
        return loopback or parsed.hostname != "localhost"  # a name: see checked_address
    return _address_allowed(address, loopback=loopback)


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    if address.is_loopback or address.is_private or address.is_reserved:
        return loopback
    return True


async def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (a module function, so tests can stand in for DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class Unfetchable(ValueError):
    """A name that resolves to an address the sandbox may not fetch from."""


async def checked_address(url: str, *, loopback: bool) -> str | None:
    """For a URL naming a host: the address to connect to, once every address the name resolves to
    has passed (a name pointing at a metadata service, or at loopback behind a redirect, is refused
    like the address: Unfetchable). The caller connects to that address (``pinned_request``), so the
    name cannot answer differently a moment later (DNS rebinding). None when the URL holds an address
    (``fetchable`` has checked it) or the name does not resolve (the fetch then fails in words)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        addresses = await _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except OSError:
        return None
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise Unfetchable(text) from None
        if not _address_allowed(address, loopback=loopback):
            raise Unfetchable(text)
    return min(addresses, key=lambda text: ":" in text) if addresses else None  # IPv4 first


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    try:
        return ipaddress.ip_address((parsed.hostname or "").strip("[]")).is_loopback
    except ValueError:
        return parsed.hostname == "localhost"


async def load_bytes(source: str, what: str, http: httpx.AsyncClient, local: LocalResolver) -> bytes:
    """Bytes of ``source``: a data URI, bare base64, or an http(s) URL (our own media read from disk)."""
    if not isinstance(source, str) or not source.strip():
        raise BadInput(f"{what} is empty")
    text = source.strip()
    if _DATA_URI.match(text):
        return _b64(text.split(",", 1)[1], what)
    parsed = urlparse(text)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        own = await local(parsed.path)
        if own is not None:
            return own
        try:
            return await asyncio.wait_for(_download(text, what, http), FETCH_SECONDS)
        except TimeoutError:
            raise BadInput(f"could not download {what} (it took over {FETCH_SECONDS:g} s)") from None
    return _b64(text, what)


async def _download(url: str, what: str, http: httpx.AsyncClient) -> bytes:
    """GET ``url`` following at most MAX_REDIRECTS redirects, each hop checked, read as it streams
    and refused at MAX_INPUT_BYTES (the cap holds whatever Content-Length says)."""
    loopback = is_local(url)
    for _ in range(MAX_REDIRECTS + 1):
        refused = BadInput(f"{what}: {url[:100]} is not an address the sandbox fetches")
        if not fetchable(url, loopback=loopback):
            raise refused
        try:
            address = await checked_address(url, loopback=loopback)
        except Unfetchable:
            raise refused from None
        request = pinned_request(url, address, extensions={"timeout": httpx.Timeout(20.0).as_dict()})
        try:
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                if response.is_redirect:
                    url = str(httpx.URL(url).join(response.headers.get("location", "")))
                    continue
                if response.status_code != 200:
                    raise BadInput(f"could not download {what} (HTTP {response.status_code})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_INPUT_BYTES:
                    raise BadInput(f"{what} is larger than {MAX_INPUT_BYTES // 2**20} MB")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_INPUT_BYTES:
                        raise BadInput(f"{what} is larger than {MAX_INPUT_BYTES // 2**20} MB")
                return bytes(body)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise BadInput(f"could not download {what} ({type(exc).__name__})") from None
    raise BadInput(f"could not download {what} (too many redirects: more than {MAX_REDIRECTS})")


def _b64(payload: str, what: str) -> bytes:
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{what} is neither a URL nor base64 data") from None
    if not data:
        raise BadInput(f"{what} is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise BadInput(f"{what} is larger than {MAX_INPUT_BYTES // 2**20} MB")
    return data


def open_image(data: bytes, what: str = "url") -> Image.Image:
    """The picture, decoded, once its header says it is not too many pixels (a small file can hold a
    huge picture); a big one is decoded reduced (JPEG's draft) to the most a render uses."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_INPUT_PIXELS:
            raise BadInput(f"{what} is {image.width}x{image.height} pixels; at most {MAX_INPUT_PIXELS:,} are taken")
        image.draft("RGB", (MAX_RENDER_SIDE, MAX_RENDER_SIDE))
        image.load()
    except Image.DecompressionBombError:
        raise BadInput(f"{what} has more than {MAX_INPUT_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError):
        raise BadInput(f"{what} is not an image") from None
    return image.convert("RGB")


def parse_timestamps(value: object) -> tuple[float, float]:
    """ "start,end" in seconds, start >= 0, end > start, at most 3 s apart."""
    try:
        start, end = (float(p) for p in str(value).split(","))
    except ValueError:
        raise BadInput('timestamps must be "start,end" in seconds, e.g. "0,3"') from None
    if start < 0 or end <= start:
        raise BadInput("timestamps must have 0 <= start < end")
    if end - start > 3.0 + 1e-9:
        raise BadInput("timestamps may be at most 3 seconds apart")
    return start, end
