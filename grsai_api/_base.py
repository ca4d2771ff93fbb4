"""What Client and AsyncClient share: request bodies, reply parsing, error mapping, retry rules.

The two clients differ only in how they wait for I/O; everything that decides *what* to send and
*what a reply means* lives here, once.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import random
import re
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlparse

import httpx

from . import _catalogue as catalogue
from . import _validation as validation
from ._constants import (
    CODE_TASK_NOT_FOUND,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    HOSTS,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRYABLE_STATUS,
)
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    GrsaiError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    SubmissionUnknownError,
)
from ._models import ChatReply, ModelStatus, Task

log = logging.getLogger("grsai_api")

RetryPolicy = Literal["all", "connect"]
"""``all``: polls and reads, retried on connection errors, 408/409/429 and 5xx.
``connect``: creates, retried only when the request provably never left (GrsAI charges each)."""

_AUTH_WORDS = re.compile(r"api ?key|apikey|token|unauthori[sz]ed|密钥|令牌", re.I)
# a 400 that is about the key (the service's "apikey error"), not about a parameter
_KEY_REFUSED_WORDS = re.compile(r"api[ _-]?key|unauthori[sz]ed|密钥", re.I)
_CREDIT_WORDS = re.compile(r"credit|balance|insufficient|余额|积分", re.I)
_NOT_FOUND_WORDS = re.compile(r"not found|no such|不存在", re.I)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA store costs ~15 ms, too much for every client."""
    return ssl.create_default_context()


def pinned_request(url: str, address: str | None, *, method: str = "GET", **options: Any) -> httpx.Request:
    """A request for ``url`` that connects to ``address`` (the one a check has just approved) while still
    speaking to the URL's host: the address goes into the URL, the name into the Host header and, for
    https, into TLS (the SNI name the certificate is checked against). Nothing resolves the name again,
    so a name that answers a public address to the check and 127.0.0.1 a moment later (DNS rebinding)
    cannot move the connection. With no ``address`` (an IP literal, or a local service's own name) the
    URL is used as it is. ``options`` go to httpx.Request (headers, extensions)."""
    target = httpx.URL(url)
    headers = dict(options.pop("headers", None) or {})
    extensions = dict(options.pop("extensions", None) or {})
    if address is not None:
        name = target.raw_host.decode("ascii")
        headers["Host"] = target.netloc.decode("ascii")  # the name, and the port if the URL gave one
        if target.scheme == "https":
            extensions["sni_hostname"] = name
        target = target.copy_with(host=address.split("%", 1)[0])
    return httpx.Request(method, target, headers=headers, extensions=extensions, **options)


def resolve_base_url(base_url: str) -> str:
    url = HOSTS.get(base_url.strip().lower(), base_url.strip()).rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise GrsaiError(f"base_url must be 'overseas', 'domestic' or an http(s) URL, not {base_url!r}")
    return url


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped; None when unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:  # "-0000" dates come back naive: they are UTC
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None if math.isnan(seconds) else MAX_RETRY_AFTER
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def never_sent(exc: httpx.TransportError) -> bool:
    """True when the request provably did not reach the server, so a create may be re-sent."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def decode_reply(text: str) -> Any:
    """JSON of a reply; some mode-1 replies carry a leading ``data: `` (stripped here)."""
    payload = text.strip()
    if payload.startswith("data:"):
        payload = payload[5:].strip()
    try:
        return json.loads(payload)
    except RecursionError:  # nested deeper than Python parses: not a reply we can read
        raise json.JSONDecodeError("nested too deeply", payload[:20], 0) from None


def resolve_ok(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def credits_from(data: Any) -> int | float:
    if isinstance(data, int | float | str) and not isinstance(data, bool):
        value = float(data)  # ValueError/OverflowError for text that is not a number
        if math.isfinite(value):
            return int(value) if value.is_integer() else value  # the service counts whole credits
    if isinstance(data, dict):
        for key in ("credits", "credit", "balance", "points", "remaining"):
            if key in data:
                return credits_from(data[key])
    raise APIResponseValidationError(f"Could not read the credits from the reply: {data!r}")


def model_status_from(model: str, data: Any, msg: str | None) -> ModelStatus:
    message = msg if msg and msg.lower() != "success" else None
    value: Any = data
    if isinstance(data, dict):
        message = data.get("error") or data.get("message") or message
        value = next((data[k] for k in ("status", "available", "state", "online") if k in data), None)
    if isinstance(value, str):
        available = value.strip().lower() in {"ok", "up", "normal", "available", "online", "true", "1"}
    else:
        available = bool(value)
    return ModelStatus(model=model, available=available, message=message or None)


class EmptyReplyError(APIResponseValidationError):
    """A successful HTTP status with nothing in the body. On a create it may mean a refused key
    (the service answers a wrong key's submit so) or a lost answer: the key is checked to tell."""


class BaseClient:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("GRSAI_API_KEY")
        if not key or not key.strip():
            raise AuthenticationError("No API key: pass api_key=... or set GRSAI_API_KEY.", status_code=None)
        self._api_key = key.strip()
        self.base_url = resolve_base_url(base_url)
        self.timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout)
            else (DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        )
        self.max_retries = max(0, int(max_retries if max_retries is not None else DEFAULT_MAX_RETRIES))

    def __repr__(self) -> str:  # the key is deliberately absent
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # -- requests ----------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        """OpenAI's schedule: min(0.5 * 2^n, 8) s less up to 25 % jitter; Retry-After wins."""
        if retry_after is not None:
            return retry_after
        delay = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        return delay * (1 - 0.25 * random.random())

    def _should_retry_status(self, response: httpx.Response, policy: RetryPolicy, attempt: int) -> bool:
        return policy == "all" and attempt < self.max_retries and response.status_code in RETRYABLE_STATUS

    def _should_retry_error(self, exc: httpx.TransportError, policy: RetryPolicy, attempt: int) -> bool:
        if attempt >= self.max_retries:
            return False
        return policy == "all" or never_sent(exc)

    def _connection_error(self, exc: httpx.TransportError, policy: RetryPolicy) -> GrsaiError:
        host = urlparse(self.base_url).netloc
        if policy == "connect" and not never_sent(exc):
            return SubmissionUnknownError(
                f"The request reached {host} but no answer came back ({type(exc).__name__}), so "
                "it is not known whether the task was created. It was not sent again, because "
                "every create is charged: check the task list before trying again."
            )
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"{host} did not answer in time ({type(exc).__name__}).")
        return APIConnectionError(f"Could not reach {host}: {type(exc).__name__}: {self._redact(str(exc))}")

    def _log_retry(self, path: str, attempt: int, delay: float, why: str) -> None:
        log.warning("retrying %s after %s (attempt %d, waiting %.2f s)", path, why, attempt + 1, delay)

    # -- replies -----------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _parse(self, response: httpx.Response) -> Any:
        """The ``data`` of a successful reply; a typed error for anything else."""
        if response.is_success and not response.content.strip():
            raise EmptyReplyError(
                f"The service answered HTTP {response.status_code} with an empty reply.", body=""
            )
        try:
            body = decode_reply(response.text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
            if response.is_success:
                snippet = self._redact(response.text[:200])
                raise APIResponseValidationError(
                    f"The service's reply was not JSON (HTTP {response.status_code}): {snippet!r}",
                    body=snippet,
                ) from None
        if not response.is_success:
            if body is None and response.text.strip():  # a plain-text error page: keep its words
                body = {"msg": response.text.strip()[:300]}
            raise self._status_error(response.status_code, body, response.headers)
        if isinstance(body, dict) and "code" in body:
            if body.get("code") not in (0, "0", 200):
                raise self._status_error(response.status_code, body, response.headers)
            return body.get("data")
        return body

    def _status_error(self, status: int, body: Any, headers: httpx.Headers) -> APIStatusError:
        code = body.get("code") if isinstance(body, dict) else None
        try:
            code = int(code) if code is not None else None
        except (TypeError, ValueError, OverflowError):
            code = None
        raw_msg = ""
        if isinstance(body, dict):
            raw_msg = str(body.get("msg") or body.get("message") or body.get("error") or "")
        msg = self._redact(raw_msg) or f"HTTP {status}"
        safe_body = json.loads(self._redact(json.dumps(body))) if body is not None else None
        kwargs: dict[str, Any] = {"status_code": status, "body": safe_body, "code": code}
        if status == 429:
            return RateLimitError(
                f"Too many requests: {msg}",
                retry_after=parse_retry_after(headers.get("retry-after")),
                **kwargs,
            )
        if (
            status in (401, 403)
            or (status == 400 and _KEY_REFUSED_WORDS.search(raw_msg))
            or (status < 400 and _AUTH_WORDS.search(raw_msg))
        ):
            return AuthenticationError(f"The API key was refused: {msg}", **kwargs)
        if status == 402 or _CREDIT_WORDS.search(raw_msg):
            return InsufficientCreditsError(f"Not enough credits: {msg}", **kwargs)
        if status == 404 or code == CODE_TASK_NOT_FOUND or _NOT_FOUND_WORDS.search(raw_msg):
            return NotFoundError(f"Not found: {msg}", **kwargs)
        if status >= 500:
            return InternalServerError(f"The service failed (HTTP {status}): {msg}", **kwargs)
        if status in (400, 422) or status < 400:
            return InvalidRequestError(f"The service refused the request: {msg}", **kwargs)
        return APIStatusError(f"HTTP {status}: {msg}", **kwargs)

    def _key_refused_after_empty(self, refused: AuthenticationError) -> AuthenticationError:
        """What an empty create reply meant when the free balance call then refused the key: the
        service's way of answering a wrong key on a submit. Nothing was made or charged."""
        return AuthenticationError(
            "The API key was refused: the service answered the create with an empty reply, and its "
            f"balance call then refused the same key ({refused.message}). Nothing was made.",
            status_code=refused.status_code,
            body=refused.body,
            code=refused.code,
        )

    def _upload_error(self, response: httpx.Response) -> APIStatusError:
        """A PUT to the storage's presigned address that was refused. The address carries its own
        signature, so a 403 there is an expired or used address, never a refused API key."""
        status = response.status_code
        words = self._redact(response.text.strip()[:200]) or f"HTTP {status}"
        kwargs: dict[str, Any] = {"status_code": status, "body": {"msg": words}}
        if status == 413:
            return InvalidRequestError(
                f"The file is too large for GrsAI's storage: {words}", field="data", **kwargs
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return RateLimitError(f"Too many uploads: {words}", retry_after=retry_after, **kwargs)
        if status >= 500:
            return InternalServerError(f"GrsAI's storage failed (HTTP {status}): {words}", **kwargs)
        return APIStatusError(f"GrsAI's storage refused the upload (HTTP {status}): {words}", **kwargs)

    def _shown(self, data: Any) -> str:
        """A reply quoted in a message: short, and without the key even when the reply echoes it."""
        try:
            text = repr(data)
        except (RecursionError, ValueError):
            text = "<unreadable>"
        return self._redact(text[:300])

    def _task_id(self, data: Any) -> str:
        if (
            isinstance(data, dict)
            and isinstance(data.get("id"), str | int)
            and data.get("id") not in ("", True)
        ):
            return str(data["id"])
        raise APIResponseValidationError(f"The reply carried no task id: {self._shown(data)}")

    def _task(self, data: Any, task_id: str) -> Task:
        if not isinstance(data, dict):
            raise APIResponseValidationError(f"The reply carried no task object: {self._shown(data)}")
        text = json.dumps(data, default=str)
        if self._api_key in text:  # a service text (an error, a message) quoting the key
            data = json.loads(self._redact(text))
        return Task.from_payload(data, task_id=task_id)

    def _credits(self, data: Any) -> int | float:
        try:
            return credits_from(data)
        except (APIResponseValidationError, ValueError, TypeError, OverflowError, RecursionError):
            raise APIResponseValidationError(
                f"Could not read the credits from the reply: {self._shown(data)}"
            ) from None

    def _model_status(self, model: str, data: Any) -> ModelStatus:
        status = model_status_from(model, data, None)
        if status.message is not None:
            status = ModelStatus(
                model=model, available=status.available, message=self._redact(str(status.message))[:300]
            )
        return status

    def _stream_line(self, line: str) -> Task | None:
        """One line of the streaming mode: a task, or None for blank lines and keep-alives."""
        text = line.strip()
        if not text or text.startswith(":"):
            return None
        if text.startswith("data:"):
            text = text[5:].strip()
        if text == "[DONE]":
            return None
        try:
            obj = decode_reply(text)
        except json.JSONDecodeError:
            raise APIResponseValidationError(
                f"A streamed update was not JSON: {self._redact(text[:200])!r}"
            ) from None
        if isinstance(obj, dict) and "code" in obj and "status" not in obj:
            if obj.get("code") not in (0, "0", 200):
                raise self._status_error(200, obj, httpx.Headers())
            obj = obj.get("data")
        return self._task(obj, "")

    # -- bodies ------------------------------------------------------------------------------
    @staticmethod
    def _stream_request(shut_progress: bool, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The no-webHook mode of an old-style video path: the path and body."""
        entry, body = validation.video_request(**{"model": catalogue.SORA_MODEL, **params})
        if entry.api == "unified":
            raise InvalidRequestError(f"{entry.name} is polled; it has no streamed reply.", field="model")
        body["shutProgress"] = bool(shut_progress)
        return entry.path, body

    @staticmethod
    def _create_request(kind: str, webhook: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The path and body of a create of any model; InvalidRequestError before anything is sent."""
        build = validation.video_request if kind == "video" else validation.image_request
        entry, body = build(**params)
        if entry.api != "unified":  # the unified API is polled; it has no webHook field
            body["webHook"] = _check_webhook(webhook)
            body["shutProgress"] = False
        return entry.path, body

    @staticmethod
    def _chat_body(messages: Any, model: str) -> dict[str, Any]:
        """An OpenAI-shaped chat body (``stream: false`` said outright: the documents default to
        streaming); InvalidRequestError before anything is sent."""
        entry = catalogue.MODELS.get(str(model))
        if entry is None or entry.kind != "chat":
            chats = ", ".join(m.id for m in catalogue.models("chat"))
            raise InvalidRequestError(f"{model!r} is not a chat model; the chat models are {chats}.", field="model")
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        if not isinstance(messages, list | tuple) or not messages:
            raise InvalidRequestError("Give the chat at least one message.", field="messages")
        wire = []
        for number, message in enumerate(messages, start=1):
            role = message.get("role") if isinstance(message, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if role not in ("system", "user", "assistant") or not (
                (isinstance(content, str) and content.strip()) or isinstance(content, list)
            ):
                raise InvalidRequestError(
                    f"Message {number} needs a role (system, user or assistant) and some content.",
                    field="messages",
                )
            wire.append({"role": role, "content": content})
        return {"model": entry.id, "messages": wire, "stream": False}

    def _chat_reply(self, data: Any, model: str) -> ChatReply:
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise APIResponseValidationError(f"The chat reply had no message: {self._shown(data)}") from None
        if not isinstance(text, str):
            raise APIResponseValidationError(f"The chat reply's message was not text: {self._shown(data)}")
        flags = [choice.get("content_filter_results"), *(p.get("content_filter_results") for p in data.get("prompt_filter_results") or [] if isinstance(p, dict))]
        filtered = choice.get("finish_reason") == "content_filter" or any(
            isinstance(f, dict) and any(isinstance(v, dict) and v.get("filtered") for v in f.values()) for f in flags
        )
        return ChatReply(text=self._redact(text), model=str(data.get("model") or model), filtered=filtered)

    @staticmethod
    def _result_request(task_id: str, model: str | None) -> tuple[str, str, dict[str, Any]]:
        """How a task is polled: old-style paths POST /v1/draw/result; the unified API has its own."""
        if model and catalogue.MODELS.get(model) is not None and catalogue.MODELS[model].api == "unified":
            return "GET", catalogue.UNIFIED_RESULT_PATH, {"params": {"id": task_id}}
        return "POST", catalogue.RESULT_PATH, {"json": {"id": task_id}}

    def _upload_target(self, data: Any) -> tuple[str, str]:
        """The presigned PUT address and the file's final address from a newUploadToken reply."""
        if isinstance(data, dict) and all(
            isinstance(data.get(k), str) and data.get(k) for k in ("url", "key", "domain")
        ):
            put, address = data["url"], data["domain"].rstrip("/") + "/" + data["key"].lstrip("/")
            if resolve_ok(put) and resolve_ok(address):
                return put, address
        raise APIResponseValidationError(
            f"The upload token reply lacked a usable url, key or domain: {self._shown(data)}"
        )

    @staticmethod
    def _with_reply_mode(body: dict[str, Any], webhook: str) -> dict[str, Any]:
        body["webHook"] = _check_webhook(webhook)
        body["shutProgress"] = False
        return body


def _check_webhook(webhook: str) -> str:
    if webhook == "-1":
        return webhook
    parsed = urlparse(webhook)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidRequestError(
            "webhook must be '-1' (poll for the result) or an http(s) URL.", field="webhook"
        )
    return webhook
