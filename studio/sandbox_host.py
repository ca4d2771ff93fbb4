"""The sandbox the app starts inside its own process when no key is set (once per process)."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox import RunningSandbox, SandboxConfig, serve_in_thread

from .config import AppConfig


def start_sandbox(config: AppConfig) -> RunningSandbox:
    """Serve the sandbox on a free loopback port, keeping its videos and tasks in the data folder,
    so pids and running tasks survive an app restart."""
    sandbox_config = SandboxConfig(data_dir=config.sandbox_dir, task_seconds=config.sandbox_task_seconds)
    return serve_in_thread(sandbox_config)


def sandbox_knobs(base_url: str) -> dict[str, Any]:
    return httpx.get(f"{base_url}/sandbox/config", timeout=5).json()


def set_sandbox_knobs(base_url: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the sandbox's demo knobs while it runs (task time, failure rates, latency …)."""
    response = httpx.patch(f"{base_url}/sandbox/config", json=changes, timeout=5)
    if response.status_code != 200:
        raise ValueError(response.json().get("error", response.text))
    return response.json()
