"""A thin client for GrsAI's API (Sora 2, Veo 3.1, Nano Banana, GPT image, the unified API's
models): the one place that knows the wire protocol.

from grsai_api import Client
with Client(api_key=..., base_url="overseas") as client:
    task = client.wait(client.create_video(prompt="a red fox in snow", model="veo3.1-fast"))
    print(task.video_url)
"""

from ._catalogue import (
    MODELS,
    FieldSpec,
    ModelSpec,
    UnknownModelError,
    best,
    character_model,
    closest,
    default_model,
    families,
    models,
    remix_model,
)
from ._catalogue import spec as model_spec
from ._client import AsyncClient, Client
from ._constants import HOSTS, MAX_CHARACTERS, MAX_PROMPT_CHARS
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
from ._models import (
    INPUT_REFUSALS,
    REFUSALS,
    Character,
    ChatReply,
    FailureReason,
    ModelStatus,
    Task,
    TaskResult,
    TaskStatus,
    is_refusal,
)
from ._validation import PID_PATTERN, check_pid, check_timestamps, image_request, video_request
from ._validation import video_body as validate_video_request

__all__ = [
    "MODELS",
    "INPUT_REFUSALS",
    "REFUSALS",
    "is_refusal",
    "ChatReply",
    "FieldSpec",
    "ModelSpec",
    "UnknownModelError",
    "best",
    "character_model",
    "closest",
    "default_model",
    "families",
    "image_request",
    "model_spec",
    "remix_model",
    "models",
    "video_request",
    "check_pid",
    "check_timestamps",
    "validate_video_request",
    "HOSTS",
    "MAX_CHARACTERS",
    "MAX_PROMPT_CHARS",
    "PID_PATTERN",
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
