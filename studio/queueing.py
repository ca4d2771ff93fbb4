"""What every service that asks for work shares: it checks a request, writes it to the store as
``queued`` for the current connection's account, and tells the task engine (``on_queued``)."""

from __future__ import annotations

from collections.abc import Callable

from .connection import Connection
from .db import Store
from .media import MediaStore


class QueueingService:
    def __init__(
        self,
        store: Store,
        media: MediaStore,
        connection: Connection,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.connection = connection
        self.on_queued = on_queued or (lambda: None)
