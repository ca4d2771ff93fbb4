"""Run the sandbox inside another process (the app, the tests) on a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from .config import SandboxConfig
from .control import HEADER, forget, remember
from .server import create_app


@dataclass
class RunningSandbox:
    base_url: str
    config: SandboxConfig
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def control_headers(self) -> dict[str, str]:
        """What this sandbox's controls (knobs, faults, credits, stats) need: its own token."""
        return {HEADER: self.config.control_token}

    def stop(self, timeout: float = 10.0) -> None:
        forget(self.base_url)
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0
) -> RunningSandbox:
    """Start the sandbox on ``host:port`` (0: any free port) and return once it answers."""
    config = config or SandboxConfig()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    )
    server.install_signal_handlers = lambda: None  # not the main thread
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="grsai-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.02)
    base_url = f"http://{host}:{bound_port}"
    remember(base_url, config.control_token)
    return RunningSandbox(base_url, config, server, thread)
