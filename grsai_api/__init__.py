"""A thin client for GrsAI's Sora 2 API: the one place that knows the wire protocol.

from grsai_api import Client
with Client(api_key=..., base_url="overseas") as client:
    task = client.wait(client.create_video(prompt="a red fox in snow"))
    print(task.video_url, task.pid)
"""

from ._client import AsyncClient, Client
from ._constants import ASPECT_RATIOS, DURATIONS, HOSTS, MAX_CHARACTERS, MAX_PROMPT_CHARS, SIZES
from ._exceptions import (
    APIConnectionError,
    APIError,
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
    StreamInterruptedError,
    SubmissionUnknownError,
    TaskFailedError,
    WaitTimeoutError,
)
from ._models import Character, FailureReason, ModelStatus, Task, TaskResult, TaskStatus
from ._validation import PID_PATTERN, check_pid, check_timestamps
from ._validation import video_body as validate_video_request

__all__ = [
    "check_pid",
    "check_timestamps",
    "validate_video_request",
    "ASPECT_RATIOS",
    "DURATIONS",
    "HOSTS",
    "MAX_CHARACTERS",
    "MAX_PROMPT_CHARS",
    "PID_PATTERN",
    "SIZES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "Character",
    "Client",
    "FailureReason",
    "GrsaiError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "ModelStatus",
    "NotFoundError",
    "RateLimitError",
    "StreamInterruptedError",
    "SubmissionUnknownError",
    "Task",
    "TaskFailedError",
    "TaskResult",
    "TaskStatus",
    "WaitTimeoutError",
]
