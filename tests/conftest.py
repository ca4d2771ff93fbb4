"""Fixtures: real sandboxes over real HTTP on loopback, fast enough for a test suite."""

from __future__ import annotations

import asyncio
import io
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image

from grsai_api import AsyncClient, Client
from sandbox import RunningSandbox, SandboxConfig, serve_in_thread

pytest_plugins = ["tests.databases", "tests.buckets", "tests.speed", "tests.browser_report"]

API_KEY = "sk-test-0123456789abcdef"
# The suite's sandboxes: quick tasks and light renders (tiny 4 fps videos); a test about what a person
# sees in a video asks for render_profile="standard" (see test_sandbox_videos.py).
FAST = dict(task_seconds=0.6, character_seconds=0.3, progress_interval=0.1, retry_after=0.0, render_profile="light")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One shared sandbox with the default knobs (fast tasks, light renders)."""
    running = serve_in_thread(SandboxConfig(data_dir=tmp_path_factory.mktemp("sandbox"), **FAST))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def standard_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One shared sandbox rendering as users see it (full size, 24 fps)."""
    knobs = {**FAST, "render_profile": "standard"}
    running = serve_in_thread(SandboxConfig(data_dir=tmp_path_factory.mktemp("standard"), **knobs))
    yield running
    running.stop()


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """A private sandbox with its own knobs, stopped after the test."""
    started: list[RunningSandbox] = []

    def start(port: int = 0, **overrides: object) -> RunningSandbox:
        knobs = {**FAST, "data_dir": tmp_path / f"sandbox{len(started)}", **overrides}
        running = serve_in_thread(SandboxConfig(**knobs), port=port)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def unused_tcp_port() -> int:
    """A port nothing on this machine listens on right now (the webhook receiver's, in tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[Client]:
    with Client(api_key=API_KEY, base_url=sandbox.base_url) as c:
        c._sleep = lambda seconds: None  # retries without waiting; tests that time sleeps patch again
        yield c


def stats(running: RunningSandbox) -> dict:
    return httpx.get(f"{running.base_url}/sandbox/stats", headers=running.control_headers).json()


def counter(running: RunningSandbox, name: str) -> int:
    return stats(running)["counters"].get(name, 0)


def fault(running: RunningSandbox, **spec: object) -> None:
    """Queue a sandbox fault (``POST /sandbox/faults``, with the sandbox's control token)."""
    httpx.post(f"{running.base_url}/sandbox/faults", headers=running.control_headers, json=spec).raise_for_status()


def run(coro):
    return asyncio.run(coro)


def async_client(running: RunningSandbox, **kwargs: object) -> AsyncClient:
    return AsyncClient(api_key=API_KEY, base_url=running.base_url, **kwargs)


def make_clip(seconds: float = 3.0, color: tuple[int, int, int] = (230, 20, 200), size=(96, 96)) -> bytes:
    """A small real MP4 of one colour, for character uploads."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(int(seconds * 10)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, color))
            frame.pts, frame.time_base = index, Fraction(1, 10)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def png(color: tuple[int, int, int] = (220, 30, 30), size=(64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A real, valid one-colour PNG of ``width``×``height`` pixels that is a small file (1 bit a pixel):
    a decompression bomb, made in a blink without ever holding its pixels (one compressed block of
    rows, flushed so it stands alone, repeated)."""
    rows = b"\x00" * (1 + (width + 7) // 8) * 1000  # each row: filter byte, then black pixels
    whole, rest = divmod(height, 1000)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(rows) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(rows[: len(rows) // 1000 * rest]) + deflate.flush()
    checksum = 1
    for part in [rows] * whole + [rows[: len(rows) // 1000 * rest]]:
        checksum = zlib.adler32(part, checksum)
    data = b"\x78\xda" + block * whole + tail + struct.pack(">I", checksum)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# -- tiers: ``pytest -m "not slow and not browser"`` is the quick tier; scripts/test.sh runs everything --
# Modules that start whole processes (the app, workers, a team) or a real browser, longest first (as
# measured with --durations): they are collected first so that xdist, told to keep this order
# (scripts/test.sh), starts them at once and fills the other workers with the quick modules meanwhile,
# instead of leaving a three-minute module for the end of the run.
SLOW_MODULES = (
    "test_browser",
    "test_browser_walk",
    "test_team",
    "test_browser_models",
    "test_fault_survival",
    "test_serve",
    "test_sandbox_restart",
    "test_worker",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = _module(item)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and "postgresql" in callspec.params.values()
        if on_postgres or "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
    rank = {module: place for place, module in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(_module(item), len(SLOW_MODULES)))  # stable: the rest keep their order


def _module(item: pytest.Item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
