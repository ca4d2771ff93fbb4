"""The keys an engine holds, in memory only: one entry per account (a fingerprint of the key) and
service. A key typed in Settings joins here for as long as the process lives; it is never stored."""

from __future__ import annotations

import threading
import time

from ..connection import Connection

Held = tuple[str, str]


class KeyRing:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[Held, Connection] = {}
        self._paused: dict[Held, tuple[float, str]] = {}  # refused keys: until when, and why

    def hold(self, connection: Connection) -> bool:
        """Hold this connection's key; True when it is new (or its address changed)."""
        held = (connection.service_id, connection.account)
        with self._lock:
            known = self._connections.get(held)
            self._connections[held] = connection
            return known is None or known.base_url != connection.base_url

    def get(self, service: str, account: str | None) -> Connection | None:
        with self._lock:
            if account is None:  # a row from before accounts: any key of its service
                return next((c for (s, _), c in self._connections.items() if s == service), None)
            return self._connections.get((service, account))

    def held(self) -> list[Held]:
        with self._lock:
            return list(self._connections)

    def services(self) -> set[str]:
        with self._lock:
            return {s for s, _ in self._connections}

    def redact(self, text: str | None) -> str | None:
        """Service text with every key held here blanked out: what a service sends back (a poll's
        error, a webhook) may quote a key, and nothing that quotes one is stored or shown."""
        if not text:
            return text
        with self._lock:
            keys = {c.api_key for c in self._connections.values() if c.api_key}
        for key in sorted(keys, key=len, reverse=True):
            text = text.replace(key, "***")
        return text

    def pause(self, held: Held, seconds: float, why: str) -> None:
        with self._lock:
            self._paused[held] = (time.monotonic() + seconds, why)

    def paused(self, held: Held) -> str | None:
        with self._lock:
            until, why = self._paused.get(held, (0.0, ""))
        return why if until > time.monotonic() else None
