"""The task engine survives each fault a service or a host can throw at it: nothing is lost, nothing
is made twice. Every test counts the sandbox's creates (by prompt) and reads what a user would see:
the row's status and its words.

Faults proven elsewhere (not repeated here):
- a 429 storm before the create: tests/test_batch.py::test_a_429_storm_slows_the_batch_down_but_loses_and_repeats_nothing
  and tests/test_engine.py::test_a_refused_send_is_retried_and_made_once;
- a fault *after* the create (5xx, unreadable, no task id, a cut reply): tests/test_engine.py::
  test_a_fault_after_the_task_was_made_is_unknown_and_never_sent_again;
- non-JSON replies on polls: tests/test_engine.py::test_one_bad_reply_does_not_stall_the_others;
- the service down during sends: tests/test_app_resilience.py::
  test_the_app_keeps_working_while_the_service_is_down_and_recovers;
- two engines on one store: tests/test_engine.py::
  test_two_engines_on_one_store_poll_and_download_each_task_once_at_a_time and
  tests/test_batch.py::test_two_engines_on_one_store_send_every_row_once.
A worker SIGKILLed inside the whole team layout (replicas, PostgreSQL, S3, Chromium) is
tests/test_team.py; the two kill tests here are the quick, exact ones (the moment of the kill chosen
from the store), without a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from sandbox import RunningSandbox
from studio.accounts import SANDBOX_API_KEY
from studio.batch import BatchService, plan_rows, read_table
from studio.connection import Connection, sandbox_connection
from studio.db import FINAL, Status, Store
from studio.db.tasks import UNKNOWN_AFTER_CRASH
from studio.generation import GenerationService
from studio.media import MediaStore

from .conftest import counter, fault, stats
from .databases import start_postgres_server, stop_postgres_server
from .seed import TASK_SECONDS, drain, fast_engine

ROOT = Path(__file__).resolve().parent.parent
VIDEO = "/v1/video/sora-video"
RESULT = "/v1/draw/result"
QUICK = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from
NOT_SENT_AGAIN = "It is kept as unknown and was not sent again"
SEND_LEASE = 4.0  # the killed worker's send lease (90 s by default): how long a cut send stays in doubt


# -- helpers ---------------------------------------------------------------------------------------
def knobs(running: RunningSandbox, **changes: Any) -> None:
    """Turn the sandbox's runtime knobs (``PATCH /sandbox/config``)."""
    httpx.patch(
        f"{running.base_url}/sandbox/config", headers=running.control_headers, json=changes
    ).raise_for_status()


def creates(running: RunningSandbox, prompt: str) -> int:
    return stats(running)["creates_by_prompt"].get(prompt, 0)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> Any:
    """Check ``condition()`` often; fail after ``timeout`` seconds (never a blind sleep)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


async def until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> None:
    """``wait_until`` inside an engine's event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Impatient(Connection):
    """The sandbox, asked by a client that waits only ``patience`` seconds for an answer (the real
    client waits 30 s; a test cannot)."""

    patience: float = 0.5

    def async_client(self, **kwargs):
        return super().async_client(timeout=self.patience, **kwargs)


def impatient(running: RunningSandbox, patience: float = 0.5) -> Impatient:
    return Impatient("Sandbox", running.base_url, SANDBOX_API_KEY, is_sandbox=True, patience=patience)


@pytest.fixture
def store(fresh_database_url) -> Iterator[Store]:
    store = Store(fresh_database_url("sqlite"))
    yield store
    store.dispose()


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def batch_of(store: Store, media: MediaStore, connection: Connection, prompts: list[str], concurrency: int):
    table = "prompt\n" + "".join(f"{p}\n" for p in prompts)
    return BatchService(store, media, connection).create(
        "Fault batch", plan_rows(read_table(table)), concurrency=concurrency
    )


# -- the database ----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_a_postgresql_restart_mid_run_loses_no_paid_task_and_makes_none_twice(make_sandbox, media):
    """Two workers, PostgreSQL restarted while creates are out (it lost 16 of 40 paid tasks: made,
    acknowledged, then 'unknown' with no task id): every task keeps its id and is fetched, nothing
    is written off as unknown, nothing is made twice."""
    server = start_postgres_server()  # its own server: the session's stays up for the other tests
    store = Store(server.url(server.create_database()))
    try:
        running = make_sandbox(**QUICK, latency_ms=1500)  # creates still out when the database goes
        connection = sandbox_connection(running.base_url)
        prompts = [f"a fox made across a restart {n}" for n in range(12)]
        service = GenerationService(store, media, connection)
        ids = [service.submit({"prompt": prompt}).id for prompt in prompts]
        engines = [fast_engine(store, media, connection, send_lease=12.0).start() for _ in range(2)]
        try:
            wait_until(lambda: counter(running, "received_video") >= 4, what="creates on their way")
            server.stop()
            time.sleep(6.0)  # the outage itself: the engines keep cycling against a database that is gone
            server.start_again()
            wait_until(
                # the service's 1.5-s answers and two engines on a loaded 2-core machine: minutes, not seconds
                lambda: {r.status for r in store.get_many(ids)} <= FINAL, timeout=180, what="every task to end"
            )
        finally:
            for engine in engines:
                engine.stop()
        kept = store.get_many(ids)
        assert [(r.status, bool(r.task_id)) for r in kept] == [(Status.SUCCEEDED, True)] * len(ids), [
            (r.status, r.error) for r in kept if r.status != Status.SUCCEEDED
        ]
        assert [creates(running, prompt) for prompt in prompts] == [1] * len(prompts)
    finally:
        store.dispose()
        stop_postgres_server(server)


class Outage:
    """The database going away from the engine at one chosen write, for ``seconds``: from that
    write on, every statement from a thread other than the test's fails as SQLite's or a restarting
    PostgreSQL's does, so the engine's fallbacks (its note of the failed poll) fail too."""

    def __init__(self, store: Store, seconds: float) -> None:
        self.seconds = seconds
        self.began: float | None = None
        event.listen(store.db_engine, "before_cursor_execute", self._refuse)

    @property
    def over(self) -> bool:
        return self.began is not None and time.monotonic() >= self.began + self.seconds

    def begin_at(self, write: Callable[..., Any]) -> Callable[..., Any]:
        """``write`` that fails the first time, beginning the outage; later calls are the real
        ``write`` (failing while the outage lasts, as every other statement does)."""

        def chosen(*args: Any, **kwargs: Any) -> Any:
            if self.began is None:
                self.began = time.monotonic()
                raise OperationalError("UPDATE generations", {}, sqlite3.OperationalError("disk I/O error"))
            return write(*args, **kwargs)

        return chosen

    def _refuse(self, *_: Any) -> None:
        away = self.began is not None and not self.over
        if away and threading.current_thread() is not threading.main_thread():
            raise sqlite3.OperationalError("disk I/O error")


@pytest.mark.parametrize(
    "write, away_at",
    [("record_progress", None), ("record_poll_failure", None), ("finish", Status.SAVING), ("finish", Status.SUCCEEDED)],
    ids=["progress-of-a-running-task", "note-of-a-failed-poll", "success-of-a-poll", "end-of-the-copy"],
)
def test_a_polls_result_unwritten_while_the_database_was_away_is_written_once_it_answers(
    make_sandbox, store, media, monkeypatch, write, away_at
):
    """The database goes away just as a poll's news is written (the progress of a task still
    running, a poll the service did not answer, the success, or the end of the file's copy): the
    engine keeps the news and writes it once the store answers again, so the video is kept seconds
    later, not after the 210-s follow lease (a finished video read as 'being made' for minutes).
    Each end is written once; nothing is made twice."""
    running = make_sandbox(**{**QUICK, "task_seconds": 2.0})  # polled while running, then finished
    connection = sandbox_connection(running.base_url)
    prompt = f"a fox polled across an outage ({write} {away_at})"
    row = GenerationService(store, media, connection).submit({"prompt": prompt})
    outage = Outage(store, seconds=1.0)
    ends: dict[Status, list[bool]] = {Status.SAVING: [], Status.SUCCEEDED: []}  # each write: moved the row?
    real_finish, away_finish = store.finish, outage.begin_at(store.finish)

    def finish(*args, **values):
        status = values.get("status")
        moved = (away_finish if status == away_at else real_finish)(*args, **values)
        ends.setdefault(status, []).append(moved)
        return moved

    monkeypatch.setattr(store, "finish", finish)
    if write != "finish":
        monkeypatch.setattr(store, write, outage.begin_at(getattr(store, write)))
    if write == "record_poll_failure":
        fault(running, kind="truncated", path=RESULT, count=3)  # a whole poll (the client's 3 tries)
    engine = fast_engine(store, media, connection).start()
    try:
        wait_until(lambda: outage.over, what="the write to meet the outage")
        done = wait_until(  # its follow lease is 210 s (the cap leaves room for a loaded machine): the news was kept
            lambda: (r := store.get(row.id)).status in FINAL and r, timeout=20, what="the video to be kept"
        )
    finally:
        engine.stop()
    assert done.status == Status.SUCCEEDED and media.exists(done.video_path), (done.status, done.error)
    assert ends == {Status.SAVING: [True], Status.SUCCEEDED: [True]}  # the success and the copy, once each
    assert creates(running, prompt) == 1


# -- a slow service ------------------------------------------------------------------------------
def test_a_create_slower_than_the_clients_patience_is_unknown_and_never_sent_again(
    make_sandbox, store, media
):
    """The service took longer to answer the create than the client waits: the task may have been
    made (here it was), so the row says unknown, counts as spent, and is not sent a second time."""
    running = make_sandbox(**QUICK, latency_ms=1500)
    connection = impatient(running, patience=0.5)
    row = GenerationService(store, media, connection).submit({"prompt": "a create that took too long"})
    engine = fast_engine(store, media, connection)
    drain(engine, 30)
    wait_until(lambda: creates(running, "a create that took too long") == 1, what="the slow create to land")
    for _ in range(5):  # more passes, with the service now answering: nothing is sent again
        asyncio.run(engine.cycle())
    row = store.get(row.id)
    assert row.status == Status.UNKNOWN and row.task_id is None
    assert NOT_SENT_AGAIN in row.error and "ReadTimeout" in row.error
    assert row.cost == 1600  # it may have been charged: shown as spent
    assert creates(running, "a create that took too long") == 1
    assert engine.stats["sent"] == 0 and engine.stats["send_unknown"] == 1


def test_polls_slower_than_the_clients_patience_keep_the_task_and_it_finishes(make_sandbox, store, media):
    """Polls that time out leave the task running with words saying so; once the service answers
    (slowly, but within the client's patience) the video is kept. One create."""
    running = make_sandbox(**{**QUICK, "task_seconds": 1.5})
    connection = impatient(running, patience=0.5)
    row = GenerationService(store, media, connection).submit({"prompt": "polled through a slow spell"})
    engine = fast_engine(store, media, connection).start()
    try:
        wait_until(lambda: store.get(row.id).status == Status.RUNNING, what="the task to be sent")
        knobs(running, latency_ms=1500)  # every answer now comes after the client gave up
        stalled = wait_until(
            lambda: (r := store.get(row.id)).poll_failures >= 1 and r, what="a poll to time out"
        )
        assert stalled.status == Status.RUNNING
        assert stalled.error.startswith("Can't reach the service right now; still trying.")
        knobs(running, latency_ms=200)  # slow, but within the client's patience
        done = wait_until(
            lambda: (r := store.get(row.id)).status not in (Status.RUNNING, Status.SAVING) and r,
            what="the task to finish",
        )
    finally:
        engine.stop()
    assert done.status == Status.SUCCEEDED, done.error
    assert done.error is None and media.exists(done.video_path)
    assert creates(running, "polled through a slow spell") == 1
    assert engine.stats["poll_errors"] >= 1


# -- a 5xx storm on creates, before the service made anything -------------------------------------
def test_a_5xx_storm_before_the_create_makes_nothing_twice_and_a_resend_makes_each_once(
    make_sandbox, store, media
):
    """A 5xx does not say whether the service made the task (here it did not: the storm came before
    the create), so those rows are unknown and never re-sent by the engine; every other row is made
    once; the person's own resend then makes each storm row once. No prompt is ever made twice."""
    running = make_sandbox(**QUICK)
    connection = sandbox_connection(running.base_url)
    prompts = [f"storm row {n}" for n in range(1, 7)]
    # one send at a time, so rows 1-3 are the ones the storm meets
    batch = batch_of(store, media, connection, prompts, concurrency=1)
    for status in (500, 502, 503):
        fault(running, status=status, path=VIDEO)
    engine = drain(fast_engine(store, media, connection))
    for _ in range(5):
        asyncio.run(engine.cycle())
    rows = {g.prompt: g for g in store.batch_rows(batch.id)}
    for prompt, status in zip(prompts[:3], (500, 502, 503), strict=True):
        assert rows[prompt].status == Status.UNKNOWN
        assert f"HTTP {status}" in rows[prompt].error and NOT_SENT_AGAIN in rows[prompt].error
        assert creates(running, prompt) == 0  # the storm turned it away: not made, not re-sent
    for prompt in prompts[3:]:
        assert rows[prompt].status == Status.SUCCEEDED and creates(running, prompt) == 1
    assert counter(running, "received_video") == 3 and counter(running, "faults_injected") == 3

    service = GenerationService(store, media, connection)
    again = [service.resend(rows[p].id, request_key=f"resend-{rows[p].id}") for p in prompts[:3]]
    drain(fast_engine(store, media, connection))
    assert all(store.get(g.id).status == Status.SUCCEEDED for g in again)
    assert {p: creates(running, p) for p in prompts} == {p: 1 for p in prompts}
    assert counter(running, "received_video") == 6  # six rows, six creates


# -- cut replies ----------------------------------------------------------------------------------
def test_cut_replies_lose_nothing_a_cut_create_is_unknown_and_cut_polls_are_asked_again(
    make_sandbox, store, media
):
    """A create whose reply is cut (the service had not made it, but the client cannot know) is
    unknown and never re-sent; a task whose poll replies are cut is asked again and finishes."""
    running = make_sandbox(**QUICK)
    connection = sandbox_connection(running.base_url)
    service = GenerationService(store, media, connection)
    cut_create = service.submit({"prompt": "its create reply was cut"})
    cut_polls = service.submit({"prompt": "its poll replies were cut"})
    fault(running, kind="truncated", path=VIDEO)  # the first create: cut before it is served
    fault(running, kind="truncated", path=RESULT, count=3)  # a whole poll (the client's 3 tries)
    engine = drain(fast_engine(store, media, connection, sends_per_account=1))  # one send at a time
    for _ in range(3):
        asyncio.run(engine.cycle())
    lost = store.get(cut_create.id)
    assert lost.status == Status.UNKNOWN and NOT_SENT_AGAIN in lost.error
    assert creates(running, "its create reply was cut") == 0
    kept = store.get(cut_polls.id)
    assert kept.status == Status.SUCCEEDED and media.exists(kept.video_path), kept.error
    assert creates(running, "its poll replies were cut") == 1
    assert engine.stats["poll_errors"] >= 1 and stats(running)["queued_faults"] == []


# -- result links that do not give a video ---------------------------------------------------------
@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        (
            "expired",
            "The video was made but could not be kept: The link has expired or never existed (HTTP 404).",
        ),
        (
            "not a video",
            "The video was made but could not be kept: The file at that address is not a video we can play.",
        ),
    ],
    ids=["link-404", "not-a-video"],
)
def test_a_result_link_that_gives_no_video_fails_in_words_not_stuck(
    make_sandbox, store, media, breakage, words
):
    """The task succeeded but its link answers 404 (expired), or serves a page that is not a video:
    the row fails with the reason in words, the cost kept (it was paid), instead of copying forever."""
    running = make_sandbox(**QUICK)
    connection = sandbox_connection(running.base_url)
    queued = GenerationService(store, media, connection).submit({"prompt": f"a link that is {breakage}"})
    engine = fast_engine(store, media, connection)

    async def scenario() -> None:
        await engine.cycle()  # sent, not yet polled
        await engine._settle(10)
        task_id = store.get(queued.id).task_id
        await until(lambda: stats(running)["tasks"].get("succeeded") == 1, what="the service to finish")
        if breakage == "expired":
            knobs(running, url_ttl=0)  # its link now answers 404
        else:
            fault(running, kind="garbage", path=f"/media/{task_id}.mp4")  # an HTML page, HTTP 200
        await engine.drain(20)

    asyncio.run(scenario())
    row = store.get(queued.id)
    assert row.status == Status.FAILED and row.failure_reason == "copy"
    assert row.error == words
    assert row.cost == 1600 and not row.video_path  # made and paid for, but not kept: said so
    assert creates(running, f"a link that is {breakage}") == 1
    downloads = stats(running)["downloads_by_name"]
    assert downloads == {f"{row.task_id}.mp4": 1}  # a lost cause is not fetched again and again


# -- the worker process killed --------------------------------------------------------------------
class Worker:
    """``python -m studio.worker`` on a data folder and a store, as test_worker.py starts it (its
    log is kept beside the test's files)."""

    def __init__(
        self, running: RunningSandbox, data: Path, url: str, log: Path, task_seconds: float, *flags: str
    ) -> None:
        env = {
            **os.environ,
            "SORA_DATA_DIR": str(data),
            "DATABASE_URL": url,
            "SANDBOX_TASK_SECONDS": str(task_seconds),  # what it plans its first polls from
            "PYTHONPATH": str(ROOT),
        }
        env.pop("GRSAI_API_KEY", None)
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "studio.worker",
                "--sandbox-url",
                running.base_url,
                "--health-seconds",
                "60",
                *flags,
            ],
            cwd=data.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        first = json.loads(self.proc.stdout.readline())
        assert first["state"] == "started", first
        self.id = first["worker"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no clean stop, leases are left as they were
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self) -> dict[str, Any]:
        """SIGTERM; the last health line (its counts)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        self.log.close()
        assert self.proc.returncode == 0, self.proc.returncode
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def workers(tmp_path, database_url) -> Iterator[Callable[..., Worker]]:
    """``workers(sandbox, *flags)``: a worker process on this test's store (SQLite, then PostgreSQL)
    and data folder; any still running at the end are killed."""
    started: list[Worker] = []

    def start(running: RunningSandbox, *flags: str, task_seconds: float = 20.0) -> Worker:
        log = tmp_path / f"worker{len(started)}.log"
        worker = Worker(running, tmp_path / "data", database_url, log, task_seconds, *flags)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.alive():
            worker.proc.kill()
            worker.proc.wait(timeout=30)


def test_a_worker_killed_with_a_task_running_is_followed_to_the_end_by_the_next(
    make_sandbox, workers, tmp_path, database_url
):
    """SIGKILL after the task was sent, before it finished: the next worker takes it over when the
    dead one's lease ends, copies the video, and never sends it again."""
    running = make_sandbox(**{**QUICK, "task_seconds": 1.0})
    store = Store(database_url)
    media = MediaStore(tmp_path / "data" / "media")
    queued = GenerationService(store, media, sandbox_connection(running.base_url)).submit(
        {"prompt": "made across a worker crash"}
    )
    first = workers(running)  # plans its first poll 3 s after the send (20 s tasks, 15 %)
    wait_until(
        lambda: first.alive() and store.get(queued.id).status == Status.RUNNING,
        what="the first worker to send the task",
    )
    first.kill()
    cut = store.get(queued.id)
    assert (cut.status, cut.polls, cut.lease_owner) == (Status.RUNNING, 0, first.id)  # sent, not followed yet
    assert creates(running, "made across a worker crash") == 1

    second = workers(running)
    done = wait_until(
        lambda: (r := store.get(queued.id)).status not in (Status.RUNNING, Status.SAVING) and r,
        what="the second worker to finish the task",
    )
    last = second.stop()
    assert done.status == Status.SUCCEEDED and done.error is None and media.exists(done.video_path)
    assert done.task_id == cut.task_id and done.cost == 1600
    # followed and copied, never sent (a count of 0 is left out of the line)
    assert (last.get("sent", 0), last.get("copied", 0)) == (0, 1)
    assert creates(running, "made across a worker crash") == 1 and counter(running, "received_video") == 1
    store.dispose()


def test_a_worker_killed_mid_batch_leaves_no_row_lost_or_made_twice(
    make_sandbox, workers, tmp_path, database_url
):
    """SIGKILL while a batch is being sent (two sends out at a time, each slow): rows it had sent are
    followed to the end by the next worker, rows still queued are sent once by it, and a row cut off
    mid-send is unknown once its send lease ends, never sent again (its create may or may not have
    reached the service: at most one)."""
    running = make_sandbox(**{**QUICK, "task_seconds": 1.0, "latency_ms": 400})
    store = Store(database_url)
    media = MediaStore(tmp_path / "data" / "media")
    prompts = [f"crash batch row {n}" for n in range(1, 9)]
    batch = batch_of(store, media, sandbox_connection(running.base_url), prompts, concurrency=2)

    def count(*statuses: Status) -> int:
        return store.count_status(batch.id, *statuses)

    first = workers(running, "--send-lease", str(SEND_LEASE))
    wait_until(
        lambda: first.alive() and count(Status.RUNNING) >= 3 and count(Status.SUBMITTING) >= 1,
        what="three rows sent and more being sent",
    )
    first.kill()
    at_kill = {g.prompt: g for g in store.batch_rows(batch.id)}
    sent = {p for p, g in at_kill.items() if g.status == Status.RUNNING}
    cut = {p for p, g in at_kill.items() if g.status == Status.SUBMITTING}
    waiting = {p for p, g in at_kill.items() if g.status == Status.QUEUED}
    assert sent and cut and waiting and len(sent | cut | waiting) == len(prompts), at_kill
    assert all(g.polls == 0 for g in at_kill.values())  # none followed yet: each lease is its first poll

    assert store.expire_stale_sends() == 0  # a send's lease outlives the create: nobody decides yet

    second = workers(running)  # marks the cut rows unknown once their lease is over, sends the rest
    wait_until(
        lambda: count(Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING) == 0,
        timeout=40,
        what="the second worker to finish the batch",
    )
    last = second.stop()
    rows = {g.prompt: g for g in store.batch_rows(batch.id)}
    for prompt in sent | waiting:
        row = rows[prompt]
        assert row.status == Status.SUCCEEDED and media.exists(row.video_path), row.error
        assert creates(running, prompt) == 1
    for prompt in cut:
        assert rows[prompt].status == Status.UNKNOWN and rows[prompt].error == UNKNOWN_AFTER_CRASH
        assert rows[prompt].task_id is None and creates(running, prompt) <= 1
    assert last.get("sent", 0) == len(waiting)  # the second worker sent exactly the rows left queued
    assert len({g.task_id for g in rows.values() if g.task_id}) == len(sent | waiting)
    progress = BatchService(store, media, sandbox_connection(running.base_url)).progress(batch.id)
    assert (progress.succeeded, progress.unknown, progress.queued) == (len(sent | waiting), len(cut), 0)
    store.dispose()
