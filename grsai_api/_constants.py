"""Wire-level constants of the GrsAI API (see shared/GRSAI_PROTOCOL.md)."""

from __future__ import annotations

import httpx

HOSTS: dict[str, str] = {
    "overseas": "https://grsaiapi.com",
    "overseas-legacy": "https://api.grsai.com",  # the older name, still answered
    "domestic": "https://grsai.dakka.com.cn",
}

MODEL = "sora-2"
DEFAULT_IMAGE_MODEL = "nano-banana-2"  # the newest public client's default (2026-09)

DEFAULT_CHAT_MODEL = "gemini-3-flash"
CHAT_PATH = "/v1/chat/completions"
VIDEO_PATH = "/v1/video/sora-video"
UPLOAD_CHARACTER_PATH = "/v1/video/sora-upload-character"
CREATE_CHARACTER_PATH = "/v1/video/sora-create-character"
RESULT_PATH = "/v1/draw/result"
CREDITS_PATH = "/client/openapi/getAPIKeyCredits"
MODEL_STATUS_PATH = "/client/common/getModelStatus"
UPLOAD_TOKEN_PATH = "/client/resource/newUploadToken"

MAX_PROMPT_CHARS = 5000
MAX_CHARACTERS = 2
MAX_CHARACTER_SPAN_SECONDS = 3.0

# Explicit timeouts: connecting should be quick, the service itself answers a create at once.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# The streaming mode keeps one response open for minutes; only the gap between updates is bounded.
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0, read=180.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))

# The service's own code for "no such task" (seen in public clients).
CODE_TASK_NOT_FOUND = -22
