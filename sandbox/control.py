"""The sandbox's control token: every ``/sandbox/*`` control (reading or changing its knobs, queueing
faults, setting credits, reading its counters) takes a token of the sandbox's own (not a GrsAI key),
sent as ``X-Sandbox-Token``. Anyone who can reach a sandbox started with ``--host 0.0.0.0`` for a demo
could otherwise rewrite its prices, break it, or read what others asked of it (prompts, task ids).

The token comes from ``--control-token`` / ``SANDBOX_CONTROL_TOKEN``, or is made at start. It is
written to ``<data dir>/control-token`` (readable by its owner only), so a process sharing the data
folder (the app, a test) can read it, and kept here for sandboxes run in this process."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

HEADER = "X-Sandbox-Token"
ENV = "SANDBOX_CONTROL_TOKEN"
FILE = "control-token"

_in_process: dict[str, str] = {}  # "host:port" -> token, for sandboxes served from this process


def new_token(data_dir: Path | None = None) -> str:
    """The environment's token, else the one this data folder already has (so it stays the same
    across restarts and for every process on the folder), else a new one."""
    return os.environ.get(ENV) or (read_token(data_dir) if data_dir else None) or secrets.token_urlsafe(24)


def write_token(data_dir: Path, token: str) -> Path:
    """``<data dir>/control-token``, created with mode 0600 (never readable by others)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    os.chmod(path, 0o600)
    return path


def read_token(data_dir: Path) -> str | None:
    try:
        return (Path(data_dir) / FILE).read_text().strip() or None
    except OSError:
        return None


def allowed(given: str | None, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _where(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = "127.0.0.1" if parts.hostname in ("localhost", "::1") else parts.hostname
    return f"{host}:{parts.port}"


def remember(base_url: str, token: str) -> None:
    _in_process[_where(base_url)] = token


def forget(base_url: str) -> None:
    """A sandbox of this process stopped: its port may be taken by another sandbox with another token."""
    _in_process.pop(_where(base_url), None)


def control_headers(base_url: str, data_dir: Path | None = None) -> dict[str, str]:
    """The header that lets this process control the sandbox at ``base_url``: the token file in
    ``data_dir`` when given (the sandbox serving that folder), else a sandbox served from this
    process. Empty when neither knows it."""
    token = (read_token(data_dir) if data_dir else None) or _in_process.get(_where(base_url))
    return {HEADER: token} if token else {}
