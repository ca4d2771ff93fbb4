"""A sandbox in its own process, for benches (client and server do not share a GIL)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*flags: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            tempfile.mkdtemp(prefix="bench-sandbox-"),
            "--log-level",
            "warning",
            "--credits",
            "100000000",
            *flags,
        ],
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base_url}/healthz", timeout=1)
            return process, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)
