"""The task engine, against the sandbox over real HTTP, on SQLite and on a real PostgreSQL server.

Each test here is one of the engine issue's findings, reproduced as a user would meet it: work
followed with no tab open, tasks kept per account, no second charge after a fault that came *after*
the service had made the task, nothing stuck, each task polled and downloaded by one engine.

Claims, leases, two engines or processes on one store, the store going away and the spending figures
run on both databases; flows whose point does not depend on the database (a lost reply, a refusal,
a wrong key, a webhook's checks) run on SQLite, with the first flow as PostgreSQL's smoke (issue 22 #5)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from sandbox.control import control_headers
from studio.accounts import SANDBOX_ACCOUNT
from studio.connection import Connection, sandbox_connection
from studio.db import ACTIVE, Generation, LibraryFilter, Status, Store, as_utc, utcnow
from studio.engine import GENERATIONS, EngineSettings, PollPolicy, TaskEngine
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import FAST, fault, stats
from tests.seed import cycles_until

TYPICAL = {"sandbox": 0.6}
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def engine_for(store: Store, media: MediaStore, *connections: Connection, **settings) -> TaskEngine:
    typical = settings.pop("typical_seconds", TYPICAL)
    engine = TaskEngine(store, media, settings=EngineSettings(typical_seconds=typical, **settings))
    for connection in connections:
        engine.hold(connection)
    return engine


def creates(running, prompt: str) -> int:
    return stats(running).get("creates_by_prompt", {}).get(prompt, 0)


@pytest.fixture
def store(database_url: str) -> Store:
    store = Store(database_url)
    yield store
    store.dispose()


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def test_a_video_is_made_and_kept_with_no_tab_open(make_sandbox, store, media):
    """Closing the tab right after Generate used to lose the video: now the engine thread does it all."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    engine = engine_for(store, media, connection).start()
    try:
        queued = GenerationService(store, media, connection, on_queued=engine.wake).submit(
            {"prompt": "a lighthouse in a storm"}, request_key="tab-closed"
        )
        deadline = utcnow() + timedelta(seconds=30)
        while (row := store.get(queued.id)).status != Status.SUCCEEDED:
            assert utcnow() < deadline, f"still {row.status}: {row.error}"
            time.sleep(0.05)  # the engine thread does the work; the test only reads the store
    finally:
        engine.stop()
    assert media.exists(row.video_path) and media.exists(row.thumb_path)
    assert row.cost == 1600 and row.pid and row.account == connection.account
    assert creates(running, "a lighthouse in a storm") == 1


def test_each_account_is_followed_only_with_its_own_key(make_sandbox, store, media):
    """Two processes with different keys on one store: neither touches the other's tasks."""
    running = make_sandbox(**FAST)
    alice = Connection("Live", running.base_url, "sk-alice-0001")
    bob = Connection("Live", running.base_url, "sk-bob-0002")
    GenerationService(store, media, alice).submit({"prompt": "alice's fox"}, request_key="a")
    GenerationService(store, media, bob).submit({"prompt": "bob's owl"}, request_key="b")
    only_bob = engine_for(store, media, bob, typical_seconds={running.base_url: 0.6})
    asyncio.run(only_bob.drain(30))
    rows = {g.prompt: g for g in store.search(LibraryFilter())[0]}
    assert rows["bob's owl"].status == Status.SUCCEEDED
    assert rows["alice's fox"].status == Status.QUEUED  # waits for alice's key; never sent with bob's
    assert creates(running, "alice's fox") == 0
    only_alice = engine_for(store, media, alice, typical_seconds={running.base_url: 0.6})
    asyncio.run(only_alice.drain(30))
    assert store.get(rows["alice's fox"].id).status == Status.SUCCEEDED
    assert store.held_recently() >= {(alice.service_id, alice.account), (bob.service_id, bob.account)}


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 503, "after": True},
        {"status": 502, "after": True},
        {"kind": "garbage", "after": True},
        {"kind": "malformed", "after": True},
        {"kind": "truncated", "after": True},
    ],
    ids=["503", "502", "unreadable-200", "no-task-id", "cut-reply"],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_fault_after_the_task_was_made_is_unknown_and_never_sent_again(make_sandbox, store, media, spec):
    """The service made (and charged) the task, then the reply was lost: the row is kept as
    unknown, counted as spent, and the engine never sends it again by itself."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    fault(running, path="/v1/video/sora-video", **spec)
    service = GenerationService(store, media, connection)
    row = service.submit({"prompt": "a paid fox"}, request_key="one-click")
    engine = engine_for(store, media, connection)
    asyncio.run(engine.drain(20))
    for _ in range(5):  # more passes change nothing
        asyncio.run(engine.cycle())
    row = store.get(row.id)
    assert row.status == Status.UNKNOWN, row.error
    assert row.cost == 1600  # what may have been charged is shown as spent
    assert "not sent again" in row.error
    assert creates(running, "a paid fox") == 1
    assert service.submit({"prompt": "a paid fox"}, request_key="one-click").id == row.id  # a second click


@pytest.mark.parametrize(
    "raised",
    [ValueError("the reply's task id could not be read"), OSError(104, "Connection reset by peer")],
    ids=["ValueError", "OSError"],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_error_raised_once_the_create_went_out_is_unknown_not_refused(make_sandbox, store, media, monkeypatch, raised):
    """The create reached the service (the task is made and charged), then our side raised a plain
    ValueError or OSError: the row is kept as unknown and counted as spent, never sent again. It
    used to be written off as 'a file this request needs is missing', failed and free."""
    from grsai_api import AsyncClient

    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    real = AsyncClient._create

    async def made_then_failed(self, path, body):
        await real(self, path, body)
        raise raised

    monkeypatch.setattr(AsyncClient, "_create", made_then_failed)
    row = GenerationService(store, media, connection).submit({"prompt": "a fox made then lost"})
    asyncio.run(passes(engine_for(store, media, connection), 3))
    kept = store.get(row.id)
    assert kept.status == Status.UNKNOWN, (kept.status, kept.error)
    assert kept.cost == 1600 and "not sent again" in kept.error
    assert store.totals()["spent"] == 1600
    assert creates(running, "a fox made then lost") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_kept_picture_gone_before_sending_is_refused_and_nothing_is_sent_or_charged(make_sandbox, store, media):
    """Our own file is missing when the row's files are made ready: nothing went out, so the row
    fails in words about the file and costs nothing."""
    from studio.media import FILE_PREFIX
    from tests.conftest import png

    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit(
        {"model": "veo3.1-fast", "prompt": "a vanished first frame", "first_frame_url": png(size=(128, 72))}
    )
    kept_ref = row.options["first_frame_url"]
    assert kept_ref.startswith(FILE_PREFIX)
    media.path(kept_ref[len(FILE_PREFIX):]).unlink()
    asyncio.run(passes(engine_for(store, media, connection), 2))
    kept = store.get(row.id)
    assert kept.status == Status.FAILED and kept.failure_reason == "refused", (kept.status, kept.error)
    assert kept.cost == 0 and "A file this request needs is missing" in kept.error
    assert creates(running, "a vanished first frame") == 0


def test_a_running_task_of_no_known_account_becomes_the_account_whose_key_answered(make_sandbox, store, media):
    """A task made before accounts were recorded is followed by a key of its service: the row becomes
    that key's account once the service answers for it, and an account once written is never
    overwritten by another key's answer."""
    from sqlalchemy import update

    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "a fox of no account"})
    engine = engine_for(store, media, connection)

    async def scenario() -> None:  # one event loop: a poll under way is never cut off between steps
        await passes(engine, 1)
        assert store.get(row.id).status == Status.RUNNING
        with store.session() as session, session.begin():  # as a store from before accounts has it
            session.execute(update(Generation).where(Generation.id == row.id).values(account=None))
        await cycles_until(engine, lambda: store.get(row.id).account is not None)
        assert store.get(row.id).account == connection.account
        await engine.drain(30)  # and it is this account's work from then on: followed to the end

    asyncio.run(scenario())
    kept = store.get(row.id)
    assert kept.status == Status.SUCCEEDED and kept.account == connection.account, (kept.status, kept.error)
    assert not store.adopt(Generation, row.id, "another-account")
    assert store.get(row.id).account == connection.account


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_send_is_retried_and_made_once(make_sandbox, store, media):
    """Refused before processing (429, 503 before the handler) or never connected: sent again later."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    fault(running, path="/v1/video/sora-video", status=429, count=2)
    row = GenerationService(store, media, connection).submit({"prompt": "a patient fox"})
    asyncio.run(engine_for(store, media, connection).drain(30))
    assert store.get(row.id).status == Status.SUCCEEDED
    assert creates(running, "a patient fox") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_user_may_send_an_unknown_one_again(make_sandbox, store, media):
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    fault(running, path="/v1/video/sora-video", status=500, after=True)
    service = GenerationService(store, media, connection)
    lost = service.submit({"prompt": "a twice-paid fox"})
    engine = engine_for(store, media, connection)
    asyncio.run(engine.drain(20))
    again = service.resend(lost.id, request_key=f"resend-{lost.id}")
    assert service.resend(lost.id, request_key=f"resend-{lost.id}").id == again.id  # one resend per click
    asyncio.run(engine.drain(30))
    assert store.get(again.id).status == Status.SUCCEEDED, store.get(again.id).error
    assert store.get(again.id).resend_of == lost.id
    assert store.get(lost.id).status == Status.UNKNOWN
    assert creates(running, "a twice-paid fox") == 2


def test_a_send_cut_by_a_crash_becomes_unknown_when_its_lease_ends(make_sandbox, store, media):
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "cut mid-send"})
    crashed = store.claim_sends(
        Generation,
        "crashed-engine",
        [(connection.service_id, connection.account)],
        limit=5,
        lease_seconds=0.01,
    )
    assert [r.id for r in crashed] == [row.id]
    assert store.begin_send(Generation, row.id, "crashed-engine", lease_seconds=0.01)  # its create was going out
    time.sleep(0.05)  # let the 10 ms lease run out
    assert store.expire_stale_sends() == 1
    assert store.get(row.id).status == Status.UNKNOWN
    asyncio.run(engine_for(store, media, connection).drain(10))
    assert creates(running, "cut mid-send") == 0  # never sent by anyone after the crash


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_model_status_check_that_fails_leaves_the_row_queued_and_sends_nothing(make_sandbox, store, media, monkeypatch):
    """The row was marked 'submitting' before the model's status was asked, so a fault in that
    check was written off as maybe charged (unknown): it stays queued and unsent, and goes once
    the check works."""
    from grsai_api import AsyncClient

    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "a fox checked first"})
    engine = engine_for(store, media, connection)

    async def crashing(*_args, **_kwargs):
        raise RuntimeError("the status check fell over")

    monkeypatch.setattr(AsyncClient, "model_status", crashing)
    asyncio.run(passes(engine, 2))
    kept = store.get(row.id)
    assert kept.status == Status.QUEUED and kept.cost == 0 and not kept.task_id, (kept.status, kept.error)
    assert creates(running, "a fox checked first") == 0
    monkeypatch.undo()
    asyncio.run(engine.drain(30))
    assert store.get(row.id).status == Status.SUCCEEDED
    assert creates(running, "a fox checked first") == 1


def test_an_engine_that_dies_before_its_create_leaves_the_row_queued_for_another(make_sandbox, store, media):
    """Claimed, then killed while it asked about the key and the model (nothing sent yet): when
    its claim runs out, another engine sends the row, once; it is not written off as unknown."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "claimed by the dead"})
    held = [(connection.service_id, connection.account)]
    claimed = store.claim_sends(Generation, "died-checking", held, limit=5, lease_seconds=0)
    assert [r.id for r in claimed] == [row.id]
    assert store.expire_stale_sends() == 0 and store.get(row.id).status == Status.QUEUED
    asyncio.run(engine_for(store, media, connection).drain(30))
    assert store.get(row.id).status == Status.SUCCEEDED
    assert creates(running, "claimed by the dead") == 1


@pytest.mark.parametrize("failing", ["mark_sent", "typical_seconds"], ids=["write-of-the-task-id", "read-after-create"])
def test_a_store_outage_right_after_a_create_keeps_the_paid_task_and_its_id(make_sandbox, store, media, monkeypatch, failing):
    """The database restarts just as the service answers a create (a PostgreSQL restart lost 16 of
    40 paid tasks): the task id is kept in memory and written when the store is back, so the
    video is followed and kept, never written off as unknown, never made twice."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "a fox paid for once"})
    real = getattr(store, failing)
    outages: list[str] = []

    def away_once(*args, **kwargs):
        if not outages:
            outages.append(failing)
            raise OperationalError("UPDATE generations", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, failing, away_once)
    engine = engine_for(store, media, connection, send_lease=2.0).start()  # a short lease: a lost id shows soon
    try:
        deadline = time.monotonic() + 30
        while (kept := store.get(row.id)).status in ACTIVE:
            assert time.monotonic() < deadline, f"still {kept.status}: {kept.error}"
            time.sleep(0.05)  # the engine thread does the work; the test only reads the store
    finally:
        engine.stop()
    assert outages == [failing]  # the store really was away once, right after the create
    assert kept.status == Status.SUCCEEDED, (kept.status, kept.error)
    assert kept.task_id and media.exists(kept.video_path) and kept.cost == 1600
    assert creates(running, "a fox paid for once") == 1


def test_a_paid_task_written_off_while_the_store_was_away_runs_once_its_id_is_written(make_sandbox, store, media, monkeypatch):
    """The store stays away longer than the send's lease, so the crash sweep calls the row unknown
    (no task id): when the id is written at last, the row runs and the video is kept."""
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "a fox written off"})
    real = store.mark_sent
    refused: list[int] = []

    def away_until_written_off(*args, **kwargs):
        if store.get(row.id).status != Status.UNKNOWN:
            refused.append(1)
            raise OperationalError("UPDATE generations", {}, Exception("the database system is starting up"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "mark_sent", away_until_written_off)
    engine = engine_for(store, media, connection, send_lease=0.5).start()
    try:
        deadline = time.monotonic() + 30
        while (kept := store.get(row.id)).status in ACTIVE or kept.status == Status.UNKNOWN:
            assert time.monotonic() < deadline, f"still {kept.status}: {kept.error}"
            time.sleep(0.05)  # the engine thread does the work; the test only reads the store
    finally:
        engine.stop()
    assert refused  # the write waited for the store
    assert kept.status == Status.SUCCEEDED and kept.task_id and kept.error is None, (kept.status, kept.error)
    assert creates(running, "a fox written off") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_link_that_cannot_be_copied_fails_in_words_instead_of_running_forever(make_sandbox, store, media):
    running = make_sandbox(**FAST)
    connection = sandbox_connection(running.base_url)
    row = GenerationService(store, media, connection).submit({"prompt": "an unreachable file"})
    engine = engine_for(store, media, connection)

    async def scenario() -> None:
        await engine.cycle()  # sent
        await engine._settle(10)
        # the service's answer names a link the app must not fetch
        store._set(
            Generation, row.id, status=Status.SAVING, remote_url="file:///etc/passwd", finished_at=utcnow()
        )
        store._set(Generation, row.id, next_poll_at=utcnow(), lease_until=None)
        await engine.drain(20)

    asyncio.run(scenario())
    row = store.get(row.id)
    assert row.status == Status.FAILED and row.failure_reason == "copy"
    assert "could not be kept" in row.error and not row.video_path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_bad_reply_does_not_stall_the_others(make_sandbox, store, media):
    running = make_sandbox(task_seconds=1.0, progress_interval=0.1)
    connection = sandbox_connection(running.base_url)
    service = GenerationService(store, media, connection)
    rows = [service.submit({"prompt": f"fox number {n}"}) for n in range(4)]
    engine = engine_for(store, media, connection, typical_seconds={"sandbox": 1.0})

    async def scenario() -> None:
        await engine.cycle()  # all four sent
        await engine._settle(10)
        fault(running, path="/v1/draw/result", kind="garbage", count=3)  # the next three polls: junk
        await engine.drain(40)

    asyncio.run(scenario())
    assert all(store.get(r.id).status == Status.SUCCEEDED for r in rows)
    assert engine.stats["poll_errors"] >= 1


def test_two_engines_on_one_store_poll_and_download_each_task_once_at_a_time(make_sandbox, store, media):
    running = make_sandbox(task_seconds=2.0, progress_interval=0.1)
    connection = sandbox_connection(running.base_url)
    service = GenerationService(store, media, connection)
    rows = [service.submit({"prompt": f"shared fox {n}"}) for n in range(12)]
    first = engine_for(store, media, connection, typical_seconds={"sandbox": 2.0})
    second = engine_for(store, media, connection, typical_seconds={"sandbox": 2.0})

    async def both() -> None:
        await asyncio.gather(first.drain(60), second.drain(60))

    asyncio.run(both())
    finished = store.get_many(r.id for r in rows)
    assert all(g.status == Status.SUCCEEDED for g in finished)
    summary = stats(running)
    assert sum(creates(running, f"shared fox {n}") for n in range(12)) == 12
    assert max(summary["downloads_by_name"].values()) == 1  # every file copied once
    # every poll the service saw was made by the engine holding the task's lease (its count is
    # written only by the holder): no task was polled by both engines
    assert [summary["polls_by_task"][g.task_id] for g in finished] == [g.polls for g in finished]
    assert first.stats["sent"] + second.stats["sent"] == 12


def test_polls_follow_the_schedule_not_a_fixed_beat():
    """A 180 s video is asked about a handful of times, and its end is caught within seconds."""
    from studio.engine import first_poll, next_poll

    policy = PollPolicy()
    typical, actual = 180.0, 200.0
    moment, polls = first_poll(policy, typical), 1
    while moment < actual:
        progress = min(99, int(100 * moment / actual))
        moment += next_poll(policy, elapsed=moment, progress=progress, typical=typical)
        polls += 1
    assert polls <= 8
    assert moment - actual <= 3.0


def test_a_store_made_before_the_engine_upgrades_with_nothing_lost(tmp_path):
    """A data folder from the playground (no migrations, float credits, 'watch', settings JSON)."""
    path = tmp_path / "playground.db"
    with sqlite3.connect(path) as old:
        old.executescript((FIXTURES / "store_before_engine.sql").read_text())
    store = Store(f"sqlite:///{path}")
    rows = {g.prompt: g for g in store.export_rows(LibraryFilter())}
    assert len(rows) == 6
    fox = rows["A red fox in fresh snow"]
    assert (fox.status, fox.cost, fox.video_path, fox.account) == (
        "succeeded",
        1600,
        "videos/1.mp4",
        SANDBOX_ACCOUNT,
    )
    assert rows["Refused prompt"].cost == 0 and rows["Lost reply"].status == "unknown"
    assert rows["Still running lighthouse"].account is None  # a live key's row: adopted by the next key held
    batch = store.get_batch(1)
    assert (batch.concurrency, batch.paused_because, batch.state) == (4, "The API key was refused", "paused")
    assert "service" not in batch.settings and batch.settings["template"] == "{name} on a table"
    assert store.characters()[0].character_id == "snow_fox.a1b2c3" and store.characters()[0].cost == 200
    store.dispose()
    assert Store(f"sqlite:///{path}").totals()["count"] == 6  # a second start finds it current


def test_webhooks_bring_the_news_and_polls_stay_the_fallback(make_sandbox, store, media, unused_tcp_port):
    from studio.engine.webhooks import serve_webhooks

    running = make_sandbox(task_seconds=1.0, progress_interval=0.2)
    connection = sandbox_connection(running.base_url)
    engine = engine_for(store, media, connection, typical_seconds={"sandbox": 60.0}).start()
    hooks = serve_webhooks(engine, public_url=f"http://127.0.0.1:{unused_tcp_port}", port=unused_tcp_port)
    try:
        row = GenerationService(store, media, connection, on_queued=engine.wake).submit(
            {"prompt": "hooked fox"}
        )
        deadline = utcnow() + timedelta(seconds=10)  # a 60 s task's first scheduled poll is 15 s or more away
        while store.get(row.id).status != Status.SUCCEEDED:
            assert utcnow() < deadline, store.get(row.id).status
            time.sleep(0.05)
    finally:
        hooks.stop()
        engine.stop()
    done = store.get(row.id)
    assert engine.stats["webhooks"] >= 1
    # each webhook is confirmed by one poll with the account's key, and no poll came but for one
    assert 1 <= stats(running)["polls_by_task"].get(done.task_id, 0) <= engine.stats["webhooks"]


def test_a_webhook_that_comes_while_its_task_is_being_polled_still_brings_a_poll(store):
    """The last webhook (the video is done) came while a poll was out; that poll's answer (still
    running) then put the next poll 15 s or more away, and the news waited for it."""
    account = ("sandbox", "acct")
    row = store.add_generation({"prompt": "polled as the hook came"}, service="sandbox", account="acct")[0]
    store.claim_sends(Generation, "engine-a", [account], limit=1, lease_seconds=60)
    assert store.begin_send(Generation, row.id, "engine-a", lease_seconds=60)
    store.mark_sent(Generation, "engine-a", [(row.id, "t-hooked", 1600, utcnow())])
    [polling] = store.lease_due(Generation, "engine-a", [account], limit=1, lease_seconds=30)
    assert store.poll_soon("t-hooked")  # the webhook, while that poll is out
    later = utcnow() + timedelta(seconds=15)
    store.record_progress(Generation, "engine-a", [(polling.id, 90, later, later + timedelta(seconds=30), utcnow())])
    assert store.lease_due(Generation, "engine-a", [account], limit=1, lease_seconds=30)  # due now: polled again


def test_a_task_being_followed_when_its_engine_stopped_is_due_for_the_next_at_once(store):
    """A clean stop releases what the engine followed, but a poll (or copy) it cut short had put the
    row's next poll at the end of its follow lease (210 s by default), so the next engine left a
    finished video 'being made' that long. Released, it is due at once; a row merely waiting for its
    next poll keeps its time."""
    account = ("sandbox", "acct")
    rows = [store.add_generation({"prompt": p}, service="sandbox", account="acct")[0] for p in ("cut short", "waiting")]
    store.claim_sends(Generation, "engine-a", [account], limit=2, lease_seconds=60)
    for row in rows:
        assert store.begin_send(Generation, row.id, "engine-a", lease_seconds=60)
    cut, waiting = rows
    store.mark_sent(Generation, "engine-a", [(cut.id, "t-cut", 1600, utcnow()), (waiting.id, "t-waiting", 1600, utcnow())])
    assert len(store.lease_due(Generation, "engine-a", [account], limit=2, lease_seconds=210)) == 2  # both polled
    later = utcnow() + timedelta(seconds=60)  # the waiting one's poll came back: next one in a minute
    store.record_progress(Generation, "engine-a", [(waiting.id, 40, later, later + timedelta(seconds=30), utcnow())])
    store.release_leases("engine-a")  # the stop, with the other's poll still out
    assert [r.id for r in store.lease_due(Generation, "engine-b", [account], limit=2, lease_seconds=210)] == [cut.id]
    assert abs((as_utc(store.get(waiting.id).next_poll_at) - later).total_seconds()) < 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_forged_webhook_changes_nothing_and_reads_like_one_for_an_unknown_task(make_sandbox, store, media, unused_tcp_port):
    """Whoever learns the receiver's path (it goes to the service with every create) may post
    anything: a webhook is only a hint to poll the task with the account's key, so a forged
    'failed' or 'succeeded with another file' changes nothing, and the reply is the same whether
    the id is ours or not."""
    from studio.engine.webhooks import serve_webhooks

    running = make_sandbox(task_seconds=30.0, progress_interval=0.2)
    connection = sandbox_connection(running.base_url)
    engine = engine_for(store, media, connection, typical_seconds={"sandbox": 60.0}).start()
    hooks = serve_webhooks(engine, public_url=f"http://127.0.0.1:{unused_tcp_port}", port=unused_tcp_port)

    def polls(task_id: str) -> int:
        return stats(running)["polls_by_task"].get(task_id, 0)

    try:
        row = GenerationService(store, media, connection, on_queued=engine.wake).submit({"prompt": "a fox kept"})
        deadline = time.monotonic() + 20
        while not (task_id := store.get(row.id).task_id):
            assert time.monotonic() < deadline, store.get(row.id).status
            time.sleep(0.05)  # the engine thread sends; the test only reads the store
        asked = polls(task_id)
        forged = [
            {"id": task_id, "status": "failed", "failure_reason": "error", "error": "forged failure"},
            {"id": task_id, "status": "succeeded", "progress": 100, "pid": "s_" + "f" * 32,
             "results": [{"url": f"{running.base_url}/files/another.mp4"}]},
        ]
        replies = [httpx.post(hooks.url, json=body) for body in forged]
        stranger = httpx.post(hooks.url, json={**forged[0], "id": "sbx-no-such-task"})
        while polls(task_id) <= asked:  # the hint made the engine ask the service itself
            assert time.monotonic() < deadline, "no poll followed the webhook"
            time.sleep(0.05)
        kept = store.get(row.id)
    finally:
        hooks.stop()
        engine.stop()
    assert {(r.status_code, r.text) for r in replies} == {(stranger.status_code, stranger.text)}
    assert kept.status == Status.RUNNING and kept.cost == 1600, (kept.status, kept.error)
    assert kept.error is None and kept.remote_url is None and kept.pid is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_webhook_receiver_listens_on_the_loopback_unless_told_otherwise(tmp_path, store, media, unused_tcp_port):
    """It listened on every interface (0.0.0.0): now on 127.0.0.1 behind the proxy that serves
    SORA_PUBLIC_URL, elsewhere only where SORA_WEBHOOK_HOST says."""
    from studio.config import AppConfig
    from studio.engine.webhooks import serve_webhooks

    config = AppConfig.load(environ={"SORA_DATA_DIR": str(tmp_path), "SORA_PUBLIC_URL": "https://studio.example"})
    assert AppConfig.load(environ={"SORA_DATA_DIR": str(tmp_path), "SORA_WEBHOOK_HOST": "10.0.0.7"}).webhook_host == "10.0.0.7"
    hooks = serve_webhooks(
        engine_for(store, media), public_url=config.public_url, host=config.webhook_host, port=unused_tcp_port
    )
    try:
        [listening] = [sock.getsockname()[0] for server in hooks.server.servers for sock in server.sockets]
    finally:
        hooks.stop()
    assert listening == "127.0.0.1"
    assert hooks.url.startswith("https://studio.example/grsai/webhook/")


def test_two_app_processes_on_one_data_folder_never_follow_each_others_sandbox_tasks(tmp_path, store, media):
    """Each app process starts a sandbox; the folder's own keeps its port across restarts, a
    second one at the same time is a sandbox of its own, so neither fails the other's tasks."""
    from studio.config import AppConfig
    from studio.sandbox_host import sandbox_id, start_sandbox

    config = AppConfig(data_dir=tmp_path / "data", sandbox_task_seconds=0.6)
    first, second = start_sandbox(config), start_sandbox(config)
    try:
        ids = sandbox_id(config, first.base_url), sandbox_id(config, second.base_url)
        assert ids[0] == "sandbox" and ids[1].startswith("sandbox:") and first.base_url != second.base_url
        a = replace(sandbox_connection(first.base_url), sandbox_id=ids[0])
        b = replace(sandbox_connection(second.base_url), sandbox_id=ids[1])
        made_by_a = GenerationService(store, media, a).submit({"prompt": "made in process A"})
        made_by_b = GenerationService(store, media, b).submit({"prompt": "made in process B"})
        engine_a, engine_b = engine_for(store, media, a), engine_for(store, media, b)

        async def both() -> None:
            await asyncio.gather(engine_a.drain(60), engine_b.drain(60))

        asyncio.run(both())
        assert store.get(made_by_a.id).status == store.get(made_by_b.id).status == Status.SUCCEEDED
        assert engine_a.stats["sent"] == engine_b.stats["sent"] == 1
    finally:
        second.stop()
        first.stop()
    again = start_sandbox(config)  # a restart takes the folder's port back
    try:
        assert again.base_url == first.base_url
    finally:
        again.stop()


async def passes(engine: TaskEngine, count: int) -> None:
    """``count`` engine passes, each waiting for the sends it started."""
    for _ in range(count):
        await engine.cycle()
        await engine._settle(5.0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_key_holds_the_work_and_charges_nothing(make_sandbox, store, media):
    """The service refuses the key (HTTP 400 "apikey error"; an empty HTTP 200 on a unified
    submit): the engine asks the free balance call before the first send, sends nothing, keeps
    every row queued with words about the key, and counts nothing as spent."""
    running = make_sandbox(api_keys=("sk-the-right-one",), **FAST)
    wrong = Connection("Live", running.base_url, "sk-wrong-key-4242")
    service = GenerationService(store, media, wrong)
    rows = [
        service.submit({"prompt": "a wrong-key fox"}),
        service.submit({"prompt": "a wrong-key owl", "model": "minimax-h3", "duration": 6}),
    ]
    engine = engine_for(store, media, wrong, typical_seconds={running.base_url: 0.6})
    asyncio.run(passes(engine, 4))
    for row in rows:
        kept = store.get(row.id)
        assert kept.status == Status.QUEUED and kept.cost == 0, (kept.status, kept.error)
        assert "is refused" in kept.error and "nothing charged" in kept.error
        assert "cancel it, change the key in Settings and send it again" in kept.error  # not "change it": these stay
        assert "sk-wrong-key-4242" not in kept.error
    assert creates(running, "a wrong-key fox") == creates(running, "a wrong-key owl") == 0
    assert stats(running)["counters"].get("received_unified", 0) == 0
    assert store.totals()["spent"] == 0 and store.totals()["by_status"] == {"queued": 2}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_reply_to_a_send_is_checked_before_it_is_called_unknown(make_sandbox, store, media):
    """Even when the key check before the first send passed (the key was revoked since), the
    empty HTTP 200 a wrong key's unified submit gets is a refused key, not a maybe-charge."""
    running = make_sandbox(api_keys=("sk-the-right-one",), **FAST)
    revoked = Connection("Live", running.base_url, "sk-revoked-7777")
    engine = engine_for(store, media, revoked, typical_seconds={running.base_url: 0.6})
    engine._keys_accepted.add((revoked.base_url, revoked.account))  # it was taken earlier
    row = GenerationService(store, media, revoked).submit({"prompt": "an owl", "model": "minimax-h3", "duration": 6})
    asyncio.run(passes(engine, 1))
    kept = store.get(row.id)
    assert kept.status == Status.QUEUED and kept.cost == 0 and "is refused" in kept.error
    assert store.totals()["spent"] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_webhook_whose_error_quotes_a_held_key_is_stored_without_it(make_sandbox, store, media):
    """News that came from the service (here a webhook's failed task) may quote the key: the
    engine blanks every key it holds out of it before the row is written."""
    from grsai_api import Task

    running = make_sandbox(task_seconds=60.0)
    live = Connection("Live", running.base_url, "sk-quoted-5151")
    engine = engine_for(store, media, live, typical_seconds={running.base_url: 0.6})
    row = GenerationService(store, media, live).submit({"prompt": "a quoted fox"})
    asyncio.run(passes(engine, 2))
    sent = store.get(row.id)
    assert sent.task_id and sent.status == Status.RUNNING
    failed = Task.from_payload(
        {"id": sent.task_id, "status": "failed", "failure_reason": "error",
         "error": "the key sk-quoted-5151 was rate limited"}
    )
    asyncio.run(engine.apply(GENERATIONS, sent, failed))
    kept = store.get(row.id)
    assert kept.status == Status.FAILED and "rate limited" in kept.error
    assert "sk-quoted-5151" not in kept.error


def _engine_lines(caplog) -> list:
    return [r for r in caplog.records if r.name == "studio.engine"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_starting_and_stopping_an_engine_logs_no_error(store, media, caplog):
    """Stopping the app printed "engine cycle failed … cannot schedule new futures after shutdown":
    as the process ends, Python shuts the engine's thread pool before the engine's own stop. That is
    stopping, not a failure: the loop ends quietly and the engine says it stopped."""
    caplog.set_level(logging.INFO, logger="studio.engine")
    engine = engine_for(store, media).start()
    deadline = time.monotonic() + 10
    while engine._loop is None or engine._loop._default_executor is None:  # a first cycle ran
        assert time.monotonic() < deadline, "the engine never ran a cycle"
        time.sleep(0.02)
    engine._loop._default_executor.shutdown(wait=False)  # what the interpreter's exit does to it
    engine._thread.join(10)
    assert not engine._thread.is_alive()  # the loop ended by itself
    engine.stop()
    assert not [r for r in _engine_lines(caplog) if r.levelno >= logging.ERROR or r.exc_info]
    engine = engine_for(store, media).start()  # and a plain start and stop says nothing wrong either
    engine.stop()
    assert not [r for r in _engine_lines(caplog) if r.levelno >= logging.ERROR or r.exc_info]


def test_a_storyboard_pass_cut_by_the_process_ending_logs_no_error(caplog):
    """The storyboards' pass runs in the thread pool that the interpreter's exit shuts first: a pass
    that finds it shut is the engine stopping, said as such, not an error (the start-and-stop test
    above met it now and then, when the pool was shut before the pass's first step)."""
    from studio.engine.engine import _storyboard_pass_ended

    async def cut() -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    async def run_pass() -> None:
        steps = asyncio.create_task(cut())
        steps.add_done_callback(_storyboard_pass_ended)
        await asyncio.wait([steps])
        await asyncio.sleep(0)  # the done callback runs on the next turn of the loop

    caplog.set_level(logging.INFO, logger="studio.engine")
    asyncio.run(run_pass())
    assert not [r for r in _engine_lines(caplog) if r.levelno >= logging.ERROR or r.exc_info]
    assert any("shutting down" in r.getMessage() for r in _engine_lines(caplog))


def test_a_database_away_for_several_cycles_logs_one_line_a_cycle_not_a_traceback(store, media, monkeypatch, caplog):
    """A PostgreSQL restart printed a whole traceback every cycle: one warning line a cycle says it."""
    caplog.set_level(logging.INFO, logger="studio.engine")
    failed: list[int] = []

    def away(*args, **kwargs):
        failed.append(1)
        raise OperationalError("SELECT generations", {}, Exception("the database system is starting up"))

    monkeypatch.setattr(store, "claim_sends", away)
    engine = engine_for(store, media, sandbox_connection("http://127.0.0.1:9"), tick=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while len(failed) < 4:
            assert time.monotonic() < deadline, "the engine stopped asking the store"
            time.sleep(0.02)  # the engine thread cycles; the test only counts
    finally:
        engine.stop()
    said = [r for r in _engine_lines(caplog) if "database" in r.getMessage()]
    assert said and len(said) <= len(failed)  # one line a failed cycle at most
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in said)
    assert "starting up" in said[0].getMessage()  # what the database said, in one line


@pytest.mark.parametrize("refunds", [False, True], ids=["refusals-charged", "refusals-refunded"])
def test_a_refusal_counts_as_spent_unless_the_service_refunds_refusals(make_sandbox, store, media, refunds):
    """The real service keeps a refusal's credits (GRSAI_PROTOCOL.md, 2026-12): a refused video is
    counted at its price in the store, the Library's total and Insights, as the balance fell; a
    deployment whose service refunds refusals counts it 0. An error is refunded either way."""
    from studio.costs import video_cost
    from studio.insights import Insights

    running = make_sandbox(**FAST, refunds_refusals=refunds)
    connection = sandbox_connection(running.base_url)
    service = GenerationService(store, media, connection)
    refused = service.submit({"prompt": "a fox covered in gore"})
    engine = engine_for(store, media, connection, refunds_refusals=refunds)
    asyncio.run(engine.drain(30))
    httpx.patch(
        f"{running.base_url}/sandbox/config", json={"error_rate": 1.0}, headers=control_headers(running.base_url)
    ).raise_for_status()
    errored = service.submit({"prompt": "a fox the service drops"})
    asyncio.run(engine.drain(30))
    expected = 0 if refunds else video_cost(model="sora-2")
    assert (store.get(refused.id).failure_reason, store.get(refused.id).cost) == ("input_moderation", expected)
    assert (store.get(errored.id).failure_reason, store.get(errored.id).cost) == ("error", 0)
    assert store.totals()["spent"] == expected  # the Library's "… spent" and the Batch/sidebar figures
    assert int(Insights.load(store, LibraryFilter()).hourly["credits"].sum()) == expected
    with connection.client() as client:
        assert 2_000_000 - client.credits() == expected  # the service's own balance drop
