"""The app's core without Streamlit: the send path and the polling tick, against the sandbox."""

from __future__ import annotations

import time

import httpx
import pytest

from grsai_api import InsufficientCreditsError, InvalidRequestError, SubmissionUnknownError
from studio.config import SANDBOX_API_KEY
from studio.connection import Connection, sandbox_connection
from studio.generation import GenerationService
from studio.media import MediaStore
from studio.store import LibraryFilter, ProgressUpdate, Store
from studio.tracking import tick

from .conftest import png


@pytest.fixture
def parts(tmp_path, make_sandbox):
    def build(**knobs):
        running = make_sandbox(**knobs)
        store = Store(f"sqlite:///{tmp_path / 'p.db'}")
        media = MediaStore(tmp_path / "media")
        return GenerationService(store, media, sandbox_connection(running.base_url)), running

    return build


def all_rows(service: GenerationService):
    return service.store.search(LibraryFilter(), limit=1000)[0]


def test_a_send_is_stored_as_running_with_its_task_and_cost(parts) -> None:
    service, _ = parts()
    generation = service.submit({"prompt": "a teapot", "duration": 15, "image_url": png()})
    assert generation.status == "running" and generation.task_id and generation.cost == pytest.approx(0.08)
    assert generation.kind == "image" and generation.image_ref.startswith("file:refs/")
    assert service.media.path(generation.image_ref[5:]).read_bytes() == png()  # kept for re-runs


def test_bad_input_stores_nothing(parts) -> None:
    service, running = parts()
    with pytest.raises(InvalidRequestError):
        service.submit({"prompt": "x", "duration": 12})
    assert all_rows(service) == []


def test_a_refused_send_stores_nothing(parts) -> None:
    service, _ = parts(credits=0.01)
    with pytest.raises(InsufficientCreditsError):
        service.submit({"prompt": "x"})
    assert all_rows(service) == []


def test_an_unclear_send_is_kept_as_unknown_and_not_resent(parts) -> None:
    service, running = parts(latency_ms=1500)
    slow = Connection("Sandbox", running.base_url, SANDBOX_API_KEY, is_sandbox=True)
    service.connection = slow
    original_client = slow.client
    object.__setattr__(slow, "client", lambda **kw: original_client(timeout=httpx.Timeout(0.4, connect=2)))
    with pytest.raises(SubmissionUnknownError) as caught:
        service.submit({"prompt": "did it arrive?"})
    [row] = all_rows(service)
    assert row.status == "unknown" and row.id == caught.value.generation_id and "not known" in row.error
    time.sleep(1.6)
    assert httpx.get(f"{running.base_url}/sandbox/stats").json()["counters"]["received_video"] == 1


def test_one_tick_follows_many_tasks_to_stored_videos_and_thumbnails(parts) -> None:
    service, _ = parts()
    ids = [service.submit({"prompt": f"kite {n}"}).id for n in range(6)]
    for _ in range(100):
        report = tick(service.connection, service.store, service.media, ids)
        if not report.still_running:
            break
        time.sleep(0.15)
    rows = service.store.get_many(ids)
    assert all(r.status == "succeeded" and r.pid for r in rows)
    assert all(service.media.exists(r.video_path) and service.media.exists(r.thumb_path) for r in rows)


def test_a_task_the_service_forgot_is_marked_failed(parts) -> None:
    service, _ = parts()
    generation = service.store.add_generation({"prompt": "ghost"}, service="sandbox", cost=0.08)
    service.store.mark_running(generation.id, "sbx_neverexisted")
    report = tick(service.connection, service.store, service.media, [generation.id])
    assert report.finished == [generation.id]
    row = service.store.get(generation.id)
    assert row.status == "failed" and "no longer knows" in row.error and row.cost == 0


def test_a_link_that_expired_before_copying_is_said(parts) -> None:
    service, running = parts(url_ttl=0.0)
    generation = service.submit({"prompt": "gone too soon"})
    for _ in range(60):
        if not tick(service.connection, service.store, service.media, [generation.id]).still_running:
            break
        time.sleep(0.15)
    row = service.store.get(generation.id)
    assert row.status == "succeeded" and row.video_path is None and "expired" in row.error


def test_poll_failures_change_nothing_and_are_reported(parts) -> None:
    service, running = parts()
    generation = service.submit({"prompt": "flaky"})
    httpx.post(
        f"{running.base_url}/sandbox/faults", json={"status": 503, "count": 10, "path": "/v1/draw/result"}
    )
    report = tick(service.connection, service.store, service.media, [generation.id])
    assert generation.id in report.errors and report.still_running == [generation.id]
    assert service.store.get(generation.id).status == "running"


def test_a_task_is_finished_once_even_with_two_writers(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    generation = store.add_generation({"prompt": "shared"}, service="sandbox", cost=0.08)
    store.mark_running(generation.id, "t-1")
    done = ProgressUpdate(generation.id, 100, status="succeeded", pid="s_" + "a" * 32)
    assert store.apply([done]) == [generation.id]
    assert store.apply([done]) == []  # the other tab's tick changes nothing


def test_a_send_cut_off_midway_becomes_unknown(tmp_path) -> None:
    from datetime import timedelta

    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    generation = store.add_generation({"prompt": "crash"}, service="sandbox", cost=0.08)
    assert store.expire_stale_submissions(older_than=timedelta(0)) == 1
    assert store.get(generation.id).status == "unknown"
