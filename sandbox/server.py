"""The HTTP face of the sandbox: the GrsAI routes, the media files, and /sandbox/* controls."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .config import SandboxConfig
from .control import HEADER as CONTROL_HEADER
from .control import allowed, write_token
from .service import (
    CODE_ERROR,
    CODE_TASK_NOT_FOUND,
    KeyRefused,
    Refused,
    SandboxService,
    TaskRecord,
    fingerprint,
)
from .storage import BadSuffix

log = logging.getLogger("sandbox")
Handler = Callable[[Request], Awaitable[Response]]

STORAGE_PUT = "/sandbox-storage"  # where presigned PUTs go (the real service's is another host)
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
}
GARBAGE_BODY = "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
MALFORMED_BODY = {"code": 0, "msg": "success", "data": {"nope": 1}}
# What a cut reply starts with when there was no reply to cut (a fault before the request is served).
_CUT_PLACEHOLDER = json.dumps({"code": 0, "msg": "success", "data": {"id": "sbx_" + "0" * 24}}).encode()


class TruncatedResponse(Response):
    """Declares the whole body's length, sends the first half, then ends without finishing: the
    server closes the connection mid-reply and the client sees the body cut short (a transport
    error such as httpx.RemoteProtocolError), never a complete reply."""

    def __init__(self, body: bytes, media_type: str = "application/json") -> None:
        super().__init__(body, media_type=media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cut = max(1, len(self.body) // 2)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[:cut], "more_body": True})
        # Returning now leaves the reply incomplete; uvicorn closes the connection (and logs it).


def _reply(data: Any = None, *, code: int = 0, msg: str = "success", prefix: bool = False) -> Response:
    body = json.dumps({"code": code, "msg": msg, "data": data})
    if prefix:
        return Response("data: " + body, media_type="application/json")
    return Response(body, media_type="application/json")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def fault_response(fault: dict[str, Any], service: SandboxService, served: Response | None = None) -> Response:
    """The reply an injected fault gives; ``served`` is the real reply it replaces (``after``)."""
    kind = fault["kind"]
    if kind == "garbage":
        return Response(GARBAGE_BODY, media_type="text/html")
    if kind == "malformed":
        return JSONResponse(MALFORMED_BODY)
    if kind == "truncated":
        body = getattr(served, "body", None)  # a streamed reply has none: cut a plain one instead
        return TruncatedResponse(body if isinstance(body, bytes) and len(body) > 1 else _CUT_PLACEHOLDER)
    if fault["status"] == 429:
        return JSONResponse(
            {"code": 429, "msg": "too many requests, slow down"},
            status_code=429,
            headers={"Retry-After": f"{service.config.retry_after:g}"},
        )
    return PlainTextResponse("upstream error (injected by the sandbox)", status_code=fault["status"])


def api_route(
    service: SandboxService, *, authenticated: bool = True
) -> Callable[[Callable[..., Awaitable[Response]]], Handler]:
    """Latency, injected faults, JSON parsing and the key check, the same for every API route.

    A fault is answered instead of serving the request, or with ``after`` once the request has been
    served (a create has then made and charged its task; its real reply is thrown away)."""

    def decorate(handler: Callable[..., Awaitable[Response]]) -> Handler:
        async def serve(request: Request, raw: bytes) -> Response:
            body: dict[str, Any] = {}
            if request.method == "POST":
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    return _reply(code=CODE_ERROR, msg="the request body is not JSON")
                if not isinstance(body, dict):
                    return _reply(code=CODE_ERROR, msg="the request body must be a JSON object")
            try:
                owner = service.authenticate(_bearer(request)) if authenticated else ""
                return await handler(request, body, owner)
            except KeyRefused as exc:
                service.stats["key_refused"] += 1
                if request.url.path == "/v1/api/generate" and body.get("replyType") == "async":
                    return Response(b"", status_code=200)  # how the service answers a wrong key here
                return JSONResponse({"code": exc.code, "msg": exc.msg, "data": None}, status_code=400)
            except Refused as exc:
                return _reply(code=exc.code, msg=exc.msg)

        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            service.stats["requests"] += 1
            raw = await request.body() if request.method == "POST" else b""  # received in full ...
            if service.config.latency_ms:  # ... then the service takes its time, as a slow one does
                await asyncio.sleep(service.config.latency_ms / 1000)
            fault = service.next_fault(request.url.path)
            if fault is None:
                return await serve(request, raw)
            if not fault["after"]:
                log.info("fault %s instead of %s", fault["kind"], request.url.path)
                return fault_response(fault, service)
            served = await serve(request, raw)
            if isinstance(served, StreamingResponse):
                await _discard(served)
            log.info("fault %s after serving %s", fault["kind"], request.url.path)
            return fault_response(fault, service, served)

        return wrapper

    return decorate


async def _discard(response: StreamingResponse) -> None:
    """Close a streamed reply that will never be sent, so it lets go of what it holds."""
    iterator = response.body_iterator
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def create_app(config: SandboxConfig | None = None) -> Starlette:
    service = SandboxService(config or SandboxConfig())
    write_token(service.config.data_dir, service.config.control_token)

    async def reply_for(request: Request, body: dict[str, Any], record: TaskRecord) -> Response:
        """The three reply modes: webHook "-1" or a URL answer at once; none streams."""
        if "webHook" in body and body["webHook"] not in (None, ""):
            return _reply({"id": record.id}, prefix=service.config.data_prefix)
        shut = bool(body.get("shutProgress"))
        base = _base(request)

        async def stream() -> AsyncIterator[str]:
            queue = service.subscribe(record.id)  # here, so a reply never sent holds no queue
            try:
                if not shut or record.status != "running":
                    yield f"data: {json.dumps(record.task_object(base))}\n\n"
                while record.status == "running":
                    try:
                        await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if shut and record.status == "running":
                        continue
                    yield f"data: {json.dumps(record.task_object(base))}\n\n"
                    if record.status != "running":
                        break
            finally:
                service.unsubscribe(record.id, queue)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @api_route(service)
    async def sora_video(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_video(owner, body, _base(request))
        return await reply_for(request, body, record)

    @api_route(service)
    async def upload_character(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_character(owner, body, _base(request), from_pid=False)
        return await reply_for(request, body, record)

    @api_route(service)
    async def create_character(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_character(owner, body, _base(request), from_pid=True)
        return await reply_for(request, body, record)

    @api_route(service)
    async def veo_video(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_veo(owner, body, _base(request))
        return await reply_for(request, body, record)

    @api_route(service)
    async def nano_banana(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_image(owner, body, _base(request), "nano-banana")
        return await reply_for(request, body, record)

    @api_route(service)
    async def completions(request: Request, body: dict[str, Any], owner: str) -> Response:
        record = await service.submit_image(owner, body, _base(request), "completions")
        return await reply_for(request, body, record)

    @api_route(service)
    async def unified_generate(request: Request, body: dict[str, Any], owner: str) -> Response:
        """The unified API: "async" answers {id, status} at once; "json" waits and answers the final
        task (whose id is then not pollable); "stream" sends task objects as they change."""
        reply_type = body.get("replyType") or "json"
        if reply_type not in ("async", "json", "stream"):
            raise Refused("replyType must be async, json or stream")
        record = await service.submit_unified(owner, body, _base(request))
        if reply_type == "async":
            return JSONResponse({"id": record.id, "status": record.status})
        if reply_type == "json":
            await service.answer_in_full(record)
            return JSONResponse(record.task_object(_base(request)))
        return await reply_for(request, {}, record)

    @api_route(service)
    async def chat(request: Request, body: dict[str, Any], owner: str) -> Response:
        """OpenAI-shaped chat completions (not streamed), on the same key: the sandbox's rule-based
        stand-in answers (sandbox/chat.py). ``chat_latency_ms`` holds the answer back after the call
        was charged, as a slow model does: a client that stops waiting has paid all the same."""
        answer = await service.chat(owner, body)
        if service.config.chat_latency_ms:
            await asyncio.sleep(service.config.chat_latency_ms / 1000)
        return JSONResponse(answer)

    @api_route(service)
    async def unified_result(request: Request, body: dict[str, Any], owner: str) -> Response:
        service.stats["polls"] += 1
        task_id = request.query_params.get("id", "")
        try:
            record = service.get(owner, task_id, poll=True)
        except Refused:
            record = None
        if record is None or not record.pollable or not record.unified:
            return JSONResponse({"code": CODE_TASK_NOT_FOUND, "msg": "result not exist"})
        return JSONResponse(record.task_object(_base(request)))

    @api_route(service)
    async def upload_token(request: Request, body: dict[str, Any], owner: str) -> Response:
        """A presigned PUT address for one key (S3-like: the key in the path, an expiry and a
        signature in the query), the key, and the domain the file is then served from."""
        try:
            token, key, expires = service.storage.new_upload(owner, body.get("sux"))
        except BadSuffix as exc:
            raise Refused(str(exc)) from None
        base = _base(request)
        put = f"{base}{STORAGE_PUT}/{key}?{urlencode({'expires': int(expires), 'signature': token})}"
        return _reply({"url": put, "key": key, "domain": f"{base}/files"})

    async def upload_put(request: Request) -> Response:
        """The presigned PUT: one file, once, at most ``upload_max_bytes``, read as it streams in. A
        PUT that fails (too large, cut off) leaves its address usable again."""
        key, token = request.path_params["key"], request.query_params.get("signature", "")
        fault = service.next_fault(request.url.path, queued_only=True)  # only a fault naming this key
        if fault is not None and not fault["after"]:
            return fault_response(fault, service)
        if not service.storage.claim(key, token):
            return PlainTextResponse(
                "this upload address is unknown, expired, or already used", status_code=403
            )
        cap = service.config.upload_max_bytes
        too_large = PlainTextResponse(f"the file is larger than the {cap} bytes allowed", status_code=413)
        try:
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                return too_large
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    return too_large
                chunks.append(chunk)
            service.storage.store(token, b"".join(chunks))
        finally:
            service.storage.release(token)  # nothing once stored; a failed PUT may be tried again
        if fault is not None:
            return fault_response(fault, service, Response(status_code=200))
        return Response(status_code=200)

    async def stored_file(request: Request) -> Response:
        key = request.path_params["key"]
        if request.method == "GET":
            service.storage.downloads[key] += 1
        fault = service.next_fault(request.url.path, queued_only=True)  # only a fault naming this file
        if fault is not None and not fault["after"]:
            return fault_response(fault, service)
        path = service.storage.path(key)
        if path is None:
            return PlainTextResponse("no such file", status_code=404)
        media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        if fault is not None:
            return fault_response(fault, service, Response(path.read_bytes(), media_type=media_type))
        return FileResponse(path, media_type=media_type)

    @api_route(service)
    async def draw_result(request: Request, body: dict[str, Any], owner: str) -> Response:
        service.stats["polls"] += 1
        record = service.get(owner, str(body.get("id", "")), poll=True)
        return _reply(record.task_object(_base(request)))

    @api_route(service)
    async def task_alias(request: Request, body: dict[str, Any], owner: str) -> Response:
        service.stats["polls"] += 1
        try:
            record = service.get(owner, request.path_params["task_id"], poll=True)
        except Refused as exc:
            return JSONResponse({"code": exc.code, "msg": exc.msg}, status_code=404)
        return JSONResponse(record.task_object(_base(request)))

    @api_route(service, authenticated=False)
    async def credits(request: Request, body: dict[str, Any], owner: str) -> Response:
        owner = service.authenticate(str(body.get("apiKey") or "") or None)
        return _reply({"credits": service.balance(owner)})

    @api_route(service, authenticated=False)
    async def model_status(request: Request, body: dict[str, Any], owner: str) -> Response:
        model = request.query_params.get("model", "")
        state = service.config.model_state(model)
        if state is None:
            return _reply({"status": False, "error": f"unknown model {model!r}"})
        up = bool(state["available"])
        message = str(state.get("message") or "") or ("" if up else f"{model} is temporarily unavailable")
        return _reply({"status": up, "error": message})

    async def media(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "GET":
            service.downloads_by_name[name] += 1
        fault = service.next_fault(request.url.path, queued_only=True)  # only a fault naming this file
        if fault is not None and not fault["after"]:
            return fault_response(fault, service)
        path = service.media_path(name)
        if path is None:
            return PlainTextResponse("this link has expired or never existed", status_code=404)
        media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        if fault is not None:
            return fault_response(fault, service, Response(path.read_bytes(), media_type=media_type))
        return FileResponse(path, media_type=media_type)

    # -- controls of the sandbox itself (not part of GrsAI's API) -------------------------------
    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        """A control of the sandbox (reading its knobs and counters too): only with its own token."""

        async def check(request: Request) -> Response:
            if not allowed(request.headers.get(CONTROL_HEADER), service.config.control_token):
                return JSONResponse(
                    {
                        "error": f"this control needs the sandbox's own token in {CONTROL_HEADER} (see "
                        "<data dir>/control-token, or start it with --control-token)"
                    },
                    status_code=401,
                )
            return await handler(request)

        return check

    async def sandbox_config(request: Request) -> Response:
        if request.method == "PATCH":
            try:
                unknown = service.config.update_runtime(await request.json())
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            if unknown:
                return JSONResponse({"error": f"not runtime knobs: {unknown}"}, status_code=400)
        return JSONResponse(service.config.runtime_view())

    async def sandbox_faults(request: Request) -> Response:
        """Queue faults for the next matching requests (see ``service.parse_fault``), e.g.
        {"status": 429, "count": 2, "path": "/v1/draw/result"},
        {"status": 503, "after": true, "path": "/v1/video/sora-video"}, {"kind": "truncated"}."""
        if request.method == "DELETE":
            service.faults.clear()
            return JSONResponse({"queued": []})
        try:
            service.queue_fault(await request.json())
        except ValueError as exc:  # a body that is not JSON is a ValueError too
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"queued": list(service.faults)})

    async def sandbox_stats(request: Request) -> Response:
        return JSONResponse(service.summary())

    async def sandbox_credits(request: Request) -> Response:
        try:
            body = await request.json()
            owner = fingerprint(str(body.get("apiKey", "")))
            service.set_balance(owner, body["credits"])
        except (ValueError, KeyError, AttributeError) as exc:
            return JSONResponse(
                {"error": f"send {{apiKey, credits: <whole credits>}}: {exc}"}, status_code=400
            )
        return JSONResponse({"credits": service.balance(owner)})

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "name": "GrsAI sandbox",
                "docs": "shared/GRSAI_PROTOCOL.md",
                "config": service.config.runtime_view(),
                "render_profile": service.config.render_profile,
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", lambda request: PlainTextResponse("ok")),
            Route("/v1/video/sora-video", sora_video, methods=["POST"]),
            Route("/v1/video/sora-upload-character", upload_character, methods=["POST"]),
            Route("/v1/video/sora-create-character", create_character, methods=["POST"]),
            Route("/v1/video/veo", veo_video, methods=["POST"]),
            Route("/v1/draw/nano-banana", nano_banana, methods=["POST"]),
            Route("/v1/draw/completions", completions, methods=["POST"]),
            Route("/v1/api/generate", unified_generate, methods=["POST"]),
            Route("/v1/api/result", unified_result, methods=["GET"]),
            Route("/client/resource/newUploadToken", upload_token, methods=["POST"]),
            Route(STORAGE_PUT + "/{key:path}", upload_put, methods=["PUT"]),
            Route("/files/{key:path}", stored_file, methods=["GET", "HEAD"]),
            Route("/v1/draw/result", draw_result, methods=["POST"]),
            Route("/v1/video/tasks/{task_id}", task_alias, methods=["GET"]),
            Route("/client/openapi/getAPIKeyCredits", credits, methods=["POST"]),
            Route("/client/common/getModelStatus", model_status, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/media/{name}", media, methods=["GET", "HEAD"]),
            Route("/sandbox/config", guarded(sandbox_config), methods=["GET", "PATCH"]),
            Route("/sandbox/faults", guarded(sandbox_faults), methods=["POST", "DELETE"]),
            Route("/sandbox/stats", guarded(sandbox_stats), methods=["GET"]),
            Route("/sandbox/credits", guarded(sandbox_credits), methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    return app
