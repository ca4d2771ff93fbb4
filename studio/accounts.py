"""Accounts: who owns a task, named by a fingerprint of the key (never the key itself)."""

from __future__ import annotations

import hashlib

SANDBOX_API_KEY = "sandbox-key"  # the in-process sandbox accepts any key; this one is not a secret


def fingerprint(api_key: str) -> str:
    """A short, stable name for a key. One-way: the key cannot be read back from it."""
    return hashlib.sha256(b"grsai-account\x00" + api_key.strip().encode()).hexdigest()[:16]


SANDBOX_ACCOUNT = fingerprint(SANDBOX_API_KEY)


def short(account: str | None) -> str:
    """How an account is shown to people: the first characters of its fingerprint."""
    return f"{account[:6]}…" if account else "an earlier key"
