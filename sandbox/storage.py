"""GrsAI's storage, as the sandbox serves it: presigned upload addresses (one key each, used once,
expiring), the files stored through them, and where they are read from.

Tokens live in memory, as a signed address outlives no restart of the sandbox; the files stay.
"""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

UPLOAD_SECONDS = 3600  # how long a presigned upload address may be used
_KEY = re.compile(r"uploads/\d{8}/[0-9a-f]{32}\.[a-z0-9]{1,8}")
_SUFFIX = re.compile(r"[a-z0-9]{1,8}")


class BadSuffix(ValueError):
    """``sux`` is not a file extension."""


@dataclass
class _Upload:
    key: str
    owner: str
    expires: float
    state: Literal["new", "busy", "used"] = "new"


def write_atomically_bytes(path: Path, data: bytes) -> None:
    """Write whole or not at all, under a temporary name of this writer's own."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class Storage:
    def __init__(self, root: Path, stats: Counter[str]) -> None:
        self.root = root
        self.stats = stats
        self.downloads: Counter[str] = Counter()  # key -> GET requests of the stored file
        self._uploads: dict[str, _Upload] = {}  # signature token -> its upload

    def new_upload(self, owner: str, suffix: object) -> tuple[str, str, float]:
        """A presigned upload of one new key: returns the signature token, the key and when the
        address expires (epoch seconds)."""
        text = str(suffix or "").strip().lstrip(".").lower()
        if not _SUFFIX.fullmatch(text):
            raise BadSuffix("sux must be a file extension such as png or mp4")
        now = time.time()
        for token in [t for t, u in self._uploads.items() if u.expires < now or u.state == "used"]:
            del self._uploads[token]
        key = f"uploads/{time.strftime('%Y%m%d')}/{uuid.uuid4().hex}.{text}"
        token = secrets.token_urlsafe(24)
        self._uploads[token] = _Upload(key=key, owner=owner, expires=now + UPLOAD_SECONDS)
        self.stats["upload_tokens"] += 1
        return token, key, now + UPLOAD_SECONDS

    def claim(self, key: str, token: str) -> bool:
        """Whether a PUT may write ``key`` with ``token``: the token was made for that key, has not
        expired, and is neither used nor held by another PUT. A claim ends with ``store`` (the token
        is spent) or ``release`` (a PUT that failed, too large or cut off, may be tried again)."""
        upload = self._uploads.get(token)
        if upload is None or upload.key != key or upload.state != "new" or time.time() > upload.expires:
            return False
        upload.state = "busy"
        return True

    def release(self, token: str) -> None:
        upload = self._uploads.get(token)
        if upload is not None and upload.state == "busy":
            upload.state = "new"

    def store(self, token: str, data: bytes) -> None:
        upload = self._uploads[token]
        path = self.root / upload.key
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically_bytes(path, data)
        upload.state = "used"
        self.stats["uploads_stored"] += 1
        self.stats["upload_bytes"] += len(data)

    def path(self, key: str) -> Path | None:
        """Where a stored file is, or None for a key that is not one of ours or holds no file."""
        if not _KEY.fullmatch(key):
            return None
        found = self.root / key
        return found if found.exists() else None
