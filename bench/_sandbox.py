"""A sandbox in its own process, for benches (client and server do not share a GIL)."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from sandbox.control import control_headers, remember


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*flags: str) -> tuple[subprocess.Popen, str]:
    """Start a sandbox with a control token this process knows (``headers(base_url)`` sends it)."""
    port = free_port()
    token = secrets.token_urlsafe(24)
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
            "--control-token",
            token,
            *flags,
        ],
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    remember(base_url, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base_url}/healthz", timeout=1)
            return process, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


def headers(base_url: str) -> dict[str, str]:
    """What the sandbox's controls and stats need: its own token."""
    return control_headers(base_url)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)
