"""The sandbox the app starts inside its own process when no key is set (once per process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from sandbox import RunningSandbox, SandboxConfig, serve_in_thread
from sandbox.control import control_headers

from .config import AppConfig


def _port_file(config: AppConfig) -> Path:
    return config.sandbox_dir / "port"


def start_sandbox(config: AppConfig) -> RunningSandbox:
    """Serve the sandbox on loopback, keeping its videos and tasks in the data folder, so pids and
    running tasks survive an app restart. It takes the same port each time (saved in the data
    folder), so the links and tasks it gave out stay its own; when another process already serves
    this folder's sandbox there, this one takes a free port and is a sandbox of its own."""
    sandbox_config = SandboxConfig(
        data_dir=config.sandbox_dir,
        task_seconds=config.sandbox_task_seconds,
        render_profile=config.sandbox_render_profile,
        refunds_refusals=config.refunds_refusals,
    )
    saved = _saved_port(config)
    if saved:
        try:
            return serve_in_thread(sandbox_config, port=saved)
        except OSError:  # taken: another app process serves this folder's sandbox
            return serve_in_thread(sandbox_config)
    running = serve_in_thread(sandbox_config)
    config.sandbox_dir.mkdir(parents=True, exist_ok=True)
    _port_file(config).write_text(str(urlparse(running.base_url).port))
    return running


def _saved_port(config: AppConfig) -> int | None:
    try:
        return int(_port_file(config).read_text().strip())
    except (OSError, ValueError):
        return None


def sandbox_id(config: AppConfig, base_url: str) -> str:
    """Which sandbox tasks belong to: the data folder's own ("sandbox"), or one on another port
    (two app processes on one folder): tasks are never followed on a sandbox that did not make them."""
    port = urlparse(base_url).port
    return "sandbox" if port == _saved_port(config) else f"sandbox:{port}"


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        try:
            said = response.json().get("error", response.text)
        except ValueError:
            said = response.text
        raise ValueError(said)
    return response.json()


def sandbox_knobs(base_url: str) -> dict[str, Any]:
    """The sandbox's demo knobs (a control: it takes the sandbox's own token, which this process knows
    for the sandbox it serves, see ``sandbox.control``). ValueError, in words, when they cannot be read."""
    try:
        return _answer(httpx.get(f"{base_url}/sandbox/config", headers=control_headers(base_url), timeout=5))
    except httpx.HTTPError as exc:
        raise ValueError(f"the sandbox did not answer ({type(exc).__name__})") from exc


def set_sandbox_knobs(base_url: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the sandbox's demo knobs while it runs (task time, failure rates, latency …)."""
    return _answer(
        httpx.patch(f"{base_url}/sandbox/config", json=changes, headers=control_headers(base_url), timeout=5)
    )
