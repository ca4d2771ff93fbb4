"""Client (sync) and AsyncClient: the same methods, one blocking, one awaitable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from . import _validation as validation
from ._base import (
    BaseClient,
    EmptyReplyError,
    RetryPolicy,
    parse_retry_after,
    shared_ssl_context,
)
from ._constants import (
    CHAT_PATH,
    CREATE_CHARACTER_PATH,
    CREDITS_PATH,
    DEFAULT_CHAT_MODEL,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_MAX_RETRIES,
    MODEL,
    MODEL_STATUS_PATH,
    RETRYABLE_STATUS,
    STREAM_TIMEOUT,
    UPLOAD_CHARACTER_PATH,
    UPLOAD_TOKEN_PATH,
)
from ._exceptions import (
    AuthenticationError,
    GrsaiError,
    InvalidRequestError,
    StreamInterruptedError,
    SubmissionUnknownError,
    TaskFailedError,
    WaitTimeoutError,
)
from ._models import ChatReply, ModelStatus, Task
from ._validation import Timestamps

ProgressCallback = Callable[[Task], Any]
KEEPALIVE_SECONDS = 2.0


class Client(BaseClient):
    """Blocking client. One connection pool per instance; close it, or use ``with``."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = "overseas",
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.timeout,
            transport=transport,
            verify=shared_ssl_context(),
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, self._url(path), json=json, params=params, headers=self._headers()
                )
            except httpx.TransportError as exc:
                if not self._should_retry_error(exc, policy, attempt):
                    raise self._connection_error(exc, policy) from exc
                delay = self._retry_delay(attempt, None)
                self._log_retry(path, attempt, delay, type(exc).__name__)
            else:
                if not self._should_retry_status(response, policy, attempt):
                    return self._parse(response)
                delay = self._retry_delay(attempt, _retry_after(response))
                self._log_retry(path, attempt, delay, f"HTTP {response.status_code}")
            self._sleep(delay)
            attempt += 1

    # -- creates: never re-sent once they may have arrived ------------------------------------
    def _create(self, path: str, body: dict[str, Any]) -> str:
        """Send one create. An empty reply is judged by the free balance call on the same key: a
        refused key is an AuthenticationError (nothing was made); otherwise the reply stays unread."""
        try:
            return self._task_id(self._request("POST", path, policy="connect", json=body))
        except EmptyReplyError:
            try:
                self.credits()
            except AuthenticationError as refused:
                raise self._key_refused_after_empty(refused) from None
            except GrsaiError:
                pass
            raise

    def create_video(self, *, prompt: str, model: str = MODEL, webhook: str = "-1", **fields: Any) -> str:
        """Submit a video of any video model; returns the task id. The fields are the model's in the
        catalogue (grsai_api/models.toml): Sora 2 ``aspect_ratio, duration, size, image_url,
        remix_target_id, characters``; Veo 3.1 ``aspect_ratio, duration, first_frame_url,
        last_frame_url, reference_urls``; MiniMax H3 ``aspect_ratio, duration, resolution,
        reference_urls, audio_urls, seed``. A field the model does not take, or a value it does not
        list, is refused (InvalidRequestError) and nothing is sent."""
        path, body = self._create_request("video", webhook, {"prompt": prompt, "model": model, **fields})
        return self._create(path, body)

    def create_image(
        self, *, prompt: str, model: str = DEFAULT_IMAGE_MODEL, webhook: str = "-1", **fields: Any
    ) -> str:
        """Submit an image; returns the task id. The fields are the model's in the catalogue: Nano
        Banana ``aspect_ratio, image_size, reference_urls``; GPT image 2 ``aspect_ratio, variants,
        reference_urls``; GPT image 2.5 ``aspect_ratio, quality, background, mask_url,
        reference_urls``."""
        path, body = self._create_request("image", webhook, {"prompt": prompt, "model": model, **fields})
        return self._create(path, body)

    def upload_file(self, data: bytes, suffix: str = "png") -> str:
        """Put a file in GrsAI's storage (an upload token, then a PUT); returns its address, which
        any url/urls field takes, so the file is not sent again as base64 with every call."""
        token = self._request("POST", UPLOAD_TOKEN_PATH, policy="all", json={"sux": _suffix(suffix)})
        put_url, address = self._upload_target(token)
        self._put(put_url, bytes(data))
        return address

    def _put(self, url: str, data: bytes) -> None:
        attempt = 0
        while True:  # a PUT of the same bytes to the same key is safe to repeat
            try:
                response = self._http.put(url, content=data)  # presigned: no Authorization header
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise self._connection_error(exc, "all") from exc
            else:
                if response.is_success:
                    return
                if attempt >= self.max_retries or response.status_code not in RETRYABLE_STATUS:
                    raise self._upload_error(response)
            self._sleep(self._retry_delay(attempt, None))
            attempt += 1

    def upload_character(
        self, *, url: str | bytes, timestamps: Timestamps | None = (0, 3), webhook: str = "-1"
    ) -> str:
        """Make a character from a clip (URL, data URI or the file's bytes); returns the task id."""
        body = self._with_reply_mode(
            validation.upload_character_body(url=url, timestamps=timestamps), webhook
        )
        return self._create(UPLOAD_CHARACTER_PATH, body)

    def create_character(
        self, *, pid: str, timestamps: Timestamps | None = (0, 3), webhook: str = "-1"
    ) -> str:
        """Cut a character out of an earlier video by its pid; returns the task id."""
        body = self._with_reply_mode(
            validation.create_character_body(pid=pid, timestamps=timestamps), webhook
        )
        return self._create(CREATE_CHARACTER_PATH, body)

    def stream_video(self, *, shut_progress: bool = False, **params: Any) -> Iterator[Task]:
        """The no-webHook mode: one Task per streamed update, the last one final."""
        path, body = self._stream_request(shut_progress, params)
        last: Task | None = None
        try:
            with self._http.stream(
                "POST", self._url(path), json=body, headers=self._headers(), timeout=STREAM_TIMEOUT
            ) as response:
                if not response.is_success or "json" in response.headers.get("content-type", ""):
                    response.read()
                    last = self._task(self._parse(response), "")
                    yield last
                    return
                for line in response.iter_lines():
                    task = self._stream_line(line)
                    if task is not None:
                        last = task
                        yield task
                        if task.done:
                            return
        except httpx.TransportError as exc:
            if last is None:
                raise self._connection_error(exc, "connect") from exc
            raise StreamInterruptedError(
                f"The stream broke off at {last.progress}%; poll task {last.id} for the outcome.",
                last_task=last,
            ) from exc
        if last is None:  # the request went out and a reply began, but no task came: it may exist
            raise SubmissionUnknownError(
                "The stream closed before its first update, so it is not known whether the task was "
                "created. It was not sent again, because every create is charged."
            )
        raise StreamInterruptedError("The stream ended before the final update.", last_task=last)

    # -- reads: retried ---------------------------------------------------------------------
    def get_result(self, task_id: str, *, model: str | None = None) -> Task:
        """The task now. Give the model for unified-API tasks, which are polled on their own path."""
        method, path, args = self._result_request(task_id, model)
        return self._task(self._request(method, path, policy="all", **args), task_id)

    def wait(
        self,
        task_id: str,
        *,
        interval: float = 3.0,
        timeout: float = 900.0,
        on_progress: ProgressCallback | None = None,
        model: str | None = None,
    ) -> Task:
        """Poll until the task ends. Returns it on success; TaskFailedError on failure,
        WaitTimeoutError past ``timeout`` seconds (the task itself goes on)."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get_result(task_id, model=model)
            if on_progress is not None:
                on_progress(task)
            if task.status == "succeeded":
                return task
            if task.status == "failed":
                raise TaskFailedError(task)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(task, timeout)
            self._sleep(interval)

    def credits(self) -> int | float:
        return self._credits(
            self._request("POST", CREDITS_PATH, policy="all", json={"apiKey": self._api_key})
        )

    def model_status(self, model: str = MODEL) -> ModelStatus:
        data = self._request("GET", MODEL_STATUS_PATH, policy="all", params={"model": model})
        return self._model_status(model, data)

    def chat(self, *, messages: Any, model: str = DEFAULT_CHAT_MODEL) -> ChatReply:
        """One chat completion (``POST /v1/chat/completions``, OpenAI-shaped, not streamed) on the
        same key: ``messages`` as OpenAI takes them, or one string. Sent again only when it never
        reached the service (a reply is charged by the token)."""
        body = self._chat_body(messages, model)
        return self._chat_reply(self._request("POST", CHAT_PATH, policy="connect", json=body), body["model"])


class AsyncClient(BaseClient):
    """The same methods as Client, awaitable. Share one instance across concurrent polls."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = "overseas",
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_connections: int = 100,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=self.timeout,
            transport=transport,
            verify=shared_ssl_context(),
            # idle connections are let go before a server's usual 5 s keep-alive ends: a create sent on a
            # connection the server is closing would come back unknown (and must not be sent again)
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=20,
                keepalive_expiry=KEEPALIVE_SECONDS,
            ),
        )
        self._sleep: Callable[[float], Any] = asyncio.sleep

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, self._url(path), json=json, params=params, headers=self._headers()
                )
            except httpx.TransportError as exc:
                if not self._should_retry_error(exc, policy, attempt):
                    raise self._connection_error(exc, policy) from exc
                delay = self._retry_delay(attempt, None)
                self._log_retry(path, attempt, delay, type(exc).__name__)
            else:
                if not self._should_retry_status(response, policy, attempt):
                    return self._parse(response)
                delay = self._retry_delay(attempt, _retry_after(response))
                self._log_retry(path, attempt, delay, f"HTTP {response.status_code}")
            await self._sleep(delay)
            attempt += 1

    async def _create(self, path: str, body: dict[str, Any]) -> str:
        try:
            return self._task_id(await self._request("POST", path, policy="connect", json=body))
        except EmptyReplyError:
            try:
                await self.credits()
            except AuthenticationError as refused:
                raise self._key_refused_after_empty(refused) from None
            except GrsaiError:
                pass
            raise

    async def create_video(
        self, *, prompt: str, model: str = MODEL, webhook: str = "-1", **fields: Any
    ) -> str:
        path, body = self._create_request("video", webhook, {"prompt": prompt, "model": model, **fields})
        return await self._create(path, body)

    async def create_image(
        self, *, prompt: str, model: str = DEFAULT_IMAGE_MODEL, webhook: str = "-1", **fields: Any
    ) -> str:
        path, body = self._create_request("image", webhook, {"prompt": prompt, "model": model, **fields})
        return await self._create(path, body)

    async def upload_file(self, data: bytes, suffix: str = "png") -> str:
        token = await self._request("POST", UPLOAD_TOKEN_PATH, policy="all", json={"sux": _suffix(suffix)})
        put_url, address = self._upload_target(token)
        attempt = 0
        while True:
            try:
                response = await self._http.put(put_url, content=bytes(data))
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise self._connection_error(exc, "all") from exc
            else:
                if response.is_success:
                    return address
                if attempt >= self.max_retries or response.status_code not in RETRYABLE_STATUS:
                    raise self._upload_error(response)
            await self._sleep(self._retry_delay(attempt, None))
            attempt += 1

    async def upload_character(
        self, *, url: str | bytes, timestamps: Timestamps | None = (0, 3), webhook: str = "-1"
    ) -> str:
        body = self._with_reply_mode(
            validation.upload_character_body(url=url, timestamps=timestamps), webhook
        )
        return await self._create(UPLOAD_CHARACTER_PATH, body)

    async def create_character(
        self, *, pid: str, timestamps: Timestamps | None = (0, 3), webhook: str = "-1"
    ) -> str:
        body = self._with_reply_mode(
            validation.create_character_body(pid=pid, timestamps=timestamps), webhook
        )
        return await self._create(CREATE_CHARACTER_PATH, body)

    async def stream_video(self, *, shut_progress: bool = False, **params: Any) -> AsyncIterator[Task]:
        path, body = self._stream_request(shut_progress, params)
        last: Task | None = None
        try:
            async with self._http.stream(
                "POST", self._url(path), json=body, headers=self._headers(), timeout=STREAM_TIMEOUT
            ) as response:
                if not response.is_success or "json" in response.headers.get("content-type", ""):
                    await response.aread()
                    last = self._task(self._parse(response), "")
                    yield last
                    return
                async for line in response.aiter_lines():
                    task = self._stream_line(line)
                    if task is not None:
                        last = task
                        yield task
                        if task.done:
                            return
        except httpx.TransportError as exc:
            if last is None:
                raise self._connection_error(exc, "connect") from exc
            raise StreamInterruptedError(
                f"The stream broke off at {last.progress}%; poll task {last.id} for the outcome.",
                last_task=last,
            ) from exc
        if last is None:  # the request went out and a reply began, but no task came: it may exist
            raise SubmissionUnknownError(
                "The stream closed before its first update, so it is not known whether the task was "
                "created. It was not sent again, because every create is charged."
            )
        raise StreamInterruptedError("The stream ended before the final update.", last_task=last)

    async def get_result(self, task_id: str, *, model: str | None = None) -> Task:
        method, path, args = self._result_request(task_id, model)
        return self._task(await self._request(method, path, policy="all", **args), task_id)

    async def wait(
        self,
        task_id: str,
        *,
        interval: float = 3.0,
        timeout: float = 900.0,
        on_progress: ProgressCallback | None = None,
        model: str | None = None,
    ) -> Task:
        deadline = time.monotonic() + timeout
        while True:
            task = await self.get_result(task_id, model=model)
            if on_progress is not None:
                result = on_progress(task)
                if asyncio.iscoroutine(result):
                    await result
            if task.status == "succeeded":
                return task
            if task.status == "failed":
                raise TaskFailedError(task)
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(task, timeout)
            await self._sleep(interval)

    async def credits(self) -> int | float:
        data = await self._request("POST", CREDITS_PATH, policy="all", json={"apiKey": self._api_key})
        return self._credits(data)

    async def model_status(self, model: str = MODEL) -> ModelStatus:
        data = await self._request("GET", MODEL_STATUS_PATH, policy="all", params={"model": model})
        return self._model_status(model, data)

    async def chat(self, *, messages: Any, model: str = DEFAULT_CHAT_MODEL) -> ChatReply:
        body = self._chat_body(messages, model)
        data = await self._request("POST", CHAT_PATH, policy="connect", json=body)
        return self._chat_reply(data, body["model"])


def _suffix(suffix: str) -> str:
    text = str(suffix).strip().lstrip(".").lower()
    if not text.isalnum() or len(text) > 8:
        raise InvalidRequestError(f"A file extension such as png or mp4, not {suffix!r}.", field="suffix")
    return text


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))
