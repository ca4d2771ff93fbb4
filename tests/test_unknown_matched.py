"""A send that went unanswered is ``unknown``, though the service most often made it. Where the
deployment has a public address, every create names its row in its webhook address: the service's
first post for that task gives the row its task id (once the service, asked with the row's key,
confirms the task), and it is followed, kept and counted as usual, saying so. Nothing is sent twice."""

from __future__ import annotations

import asyncio
import time

import httpx

from sandbox.control import control_headers
from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import EngineSettings, TaskEngine
from studio.engine.engine import MATCHED_BY_WEBHOOK
from studio.engine.webhooks import serve_webhooks
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import stats


def until(check, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never got there"
        time.sleep(0.05)


def test_an_unanswered_send_learns_its_task_from_the_services_webhook(make_sandbox, tmp_path, unused_tcp_port) -> None:
    running = make_sandbox(task_seconds=1.0, progress_interval=0.2)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds={"sandbox": 1.0}))
    engine.hold(connection)
    engine.start()
    hooks = serve_webhooks(engine, public_url=f"http://127.0.0.1:{unused_tcp_port}", port=unused_tcp_port)
    try:  # the service makes the task, then the answer to the create is lost (a 503 after making it)
        httpx.post(
            f"{running.base_url}/sandbox/faults",
            headers=control_headers(running.base_url),
            json={"status": 503, "after": True, "path": "/v1/video/sora-video", "count": 1},
        ).raise_for_status()
        row = GenerationService(store, media, connection, on_queued=engine.wake).submit({"prompt": "a heron at dusk"})
        until(lambda: store.get(row.id).status == Status.SUCCEEDED)
    finally:
        hooks.stop()
        engine.stop()
        store.dispose()
    kept = store.get(row.id)
    assert kept.task_id and kept.video_path and kept.error in (None, MATCHED_BY_WEBHOOK)
    assert stats(running)["creates_by_prompt"]["a heron at dusk"] == 1  # never sent again
    assert engine.stats["matched_by_webhook"] == 1


def test_a_forged_webhook_for_an_unknown_row_changes_nothing(make_sandbox, tmp_path, unused_tcp_port) -> None:
    """A post naming a task the service does not know for this key, or another row's task, leaves
    the unknown row as it is: only the service's own word moves it."""
    running = make_sandbox(task_seconds=0.4, progress_interval=0.1)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds={"sandbox": 0.4}))
    engine.hold(connection)
    service = GenerationService(store, media, connection)
    other = service.submit({"prompt": "a made one"})
    asyncio.run(engine.drain(20))
    httpx.post(
        f"{running.base_url}/sandbox/faults",
        headers=control_headers(running.base_url),
        json={"status": 500, "after": True, "path": "/v1/video/sora-video", "count": 1},
    ).raise_for_status()
    lost = service.submit({"prompt": "an unanswered one"})
    asyncio.run(engine.drain(20))
    assert store.get(lost.id).status == Status.UNKNOWN
    hooks = serve_webhooks(engine, public_url=f"http://127.0.0.1:{unused_tcp_port}", port=unused_tcp_port)
    try:
        for task_id in ("sbx_000000000000000000000000", store.get(other.id).task_id):
            answer = httpx.post(
                f"{hooks.url}?row=g{lost.id}",
                json={"id": task_id, "status": "succeeded", "results": [{"url": "http://127.0.0.1:1/evil.mp4"}]},
            )
            assert answer.status_code == 200
        assert len(engine._matches) == 2
        asyncio.run(engine.cycle())  # the pass that asks the service about them
    finally:
        hooks.stop()
        store.dispose()
    assert engine._matches == []
    still = store.get(lost.id)
    assert (still.status, still.task_id) == (Status.UNKNOWN, None)
    assert engine.stats["matched_by_webhook"] == 0
