"""The webhook receiver: when the deployment has a public address (``SORA_PUBLIC_URL``), tasks are
created with ``webHook`` pointing here and the service posts task objects as they change. A secret
in the path (shared by every process through the store) keeps strangers from posting. The secret
goes to the service with every create, so a webhook is only a hint: the task it names is polled at
once with its account's key and only the service's answer is acted on. Polls stay the fallback,
slower, for anything a webhook misses."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .engine import TaskEngine

MAX_BODY = 1 << 20
PATH = "/grsai/webhook/{secret}"


def receiver(engine: TaskEngine, secret: str) -> Starlette:
    async def hook(request: Request) -> JSONResponse:
        if request.path_params["secret"] != secret:
            return JSONResponse({"error": "not found"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            payload = json.loads(body.decode().removeprefix("data:").strip() or "{}")
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "not JSON"}, status_code=400)
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict) and "status" not in payload:
            payload = payload["data"]
        if not isinstance(payload, dict):
            return JSONResponse({"error": "not a task object"}, status_code=400)
        row = request.query_params.get("row")  # the row a create named, for a send that went unanswered
        await asyncio.to_thread(engine.report, payload, row)  # a hint to poll: the body itself is never believed
        return JSONResponse({"ok": True})  # the same for every id: a reply never says whether a task exists

    return Starlette(routes=[Route(PATH, hook, methods=["POST"])])


@dataclass
class WebhookServer:
    server: uvicorn.Server
    thread: threading.Thread
    url: str  # what the service is told to post to

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_webhooks(engine: TaskEngine, *, public_url: str, host: str = "127.0.0.1", port: int = 8599) -> WebhookServer:
    """Start the receiver in a thread and point the engine's creates at it."""
    secret = engine.store.webhook_secret()
    config = uvicorn.Config(receiver(engine, secret), host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webhooks", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the webhook receiver could not listen on {host}:{port}")
        time.sleep(0.02)
    url = public_url.rstrip("/") + PATH.format(secret=secret)
    engine.use_webhooks(url)
    return WebhookServer(server, thread, url)
