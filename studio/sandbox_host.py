"""The sandbox the app starts inside its own process when no key is set (once per process)."""

from __future__ import annotations

from sandbox import RunningSandbox, SandboxConfig, serve_in_thread

from .config import AppConfig


def start_sandbox(config: AppConfig) -> RunningSandbox:
    """Serve the sandbox on a free loopback port, keeping its videos and tasks in the data folder,
    so pids and running tasks survive an app restart."""
    sandbox_config = SandboxConfig(data_dir=config.sandbox_dir, task_seconds=config.sandbox_task_seconds)
    return serve_in_thread(sandbox_config)
