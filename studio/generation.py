"""Sending a generation: validate, send once, and start tracking it."""

from __future__ import annotations

from typing import Any

from .connection import Connection
from .tracking import TrackedTask


def submit_video(connection: Connection, params: dict[str, Any]) -> TrackedTask:
    """Send one video request; InvalidRequestError (nothing sent) for bad input. Creates are
    never retried once they may have reached the service, so a task is never charged twice."""
    with connection.client() as client:
        task_id = client.create_video(**params)
    return TrackedTask(id=task_id, prompt=str(params["prompt"]).strip(), params=dict(params))
