"""The error tree, shaped like OpenAI's: catch GrsaiError for everything, or a subclass by meaning.

No exception text ever contains the API key: server messages are redacted before they are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Task


class GrsaiError(Exception):
    """Anything this client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIError(GrsaiError):
    """The service answered, and the answer was an error or could not be read."""

    def __init__(self, message: str, *, body: Any = None, code: int | None = None) -> None:
        super().__init__(message)
        self.body = body
        self.code = code


class APIResponseValidationError(APIError):
    """The reply was not JSON, or not of the documented shape."""


class APIStatusError(APIError):
    """An error reply: HTTP 4xx/5xx, or HTTP 200 with a non-zero ``code``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message, body=body, code=code)
        self.status_code = status_code


class AuthenticationError(APIStatusError):
    """The key is missing, wrong or revoked."""


class InsufficientCreditsError(APIStatusError):
    """The key has too few credits for this call."""


class NotFoundError(APIStatusError):
    """No such task (or path)."""


class RateLimitError(APIStatusError):
    """Too many requests; ``retry_after`` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """The service failed (5xx)."""


class InvalidRequestError(APIStatusError):
    """A parameter is wrong. Raised before sending (``status_code`` None) or by the service.

    ``field`` names the request parameter at fault, so a form can show the message beside it.
    """

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class APIConnectionError(GrsaiError):
    """The service could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """The service did not answer in time."""


class SubmissionUnknownError(APIConnectionError):
    """A create went out but no answer came back: the task may exist and may be charged.

    It is never re-sent by this client, since GrsAI charges every create it receives.
    """


class StreamInterruptedError(APIConnectionError):
    """The streaming reply broke off before the final update; ``last_task`` has the task id."""

    def __init__(self, message: str, *, last_task: Task | None = None) -> None:
        super().__init__(message)
        self.last_task = last_task


class TaskFailedError(GrsaiError):
    """The task ended as failed. ``reason`` is input_moderation, output_moderation or error."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.reason = task.failure_reason or "error"
        detail = f": {task.error}" if task.error else ""
        super().__init__(f"Task {task.id} failed ({self.reason}){detail}")


class WaitTimeoutError(GrsaiError):
    """``wait`` gave up before the task finished; the task itself goes on."""

    def __init__(self, task: Task, timeout: float) -> None:
        self.task = task
        super().__init__(f"Task {task.id} was still {task.status} at {task.progress}% after {timeout:g} s")
