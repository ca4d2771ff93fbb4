"""The app's core without Streamlit: a request is written ``queued``, the task engine sends it,
follows it and keeps its file, against a real sandbox over HTTP and on SQLite and PostgreSQL; and
the Library's queries (search, filters, paging, dates by zone, lineage, export).

Claims, leases, request keys and the Library's SQL run on both databases; flows whose point does
not depend on the database run on SQLite, with the first one as PostgreSQL's smoke (issue 22 #5)."""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pandas as pd
import pytest
from sqlalchemy import select, text

from grsai_api import InvalidRequestError
from sandbox import RunningSandbox
from sandbox.control import control_headers
from studio.accounts import fingerprint
from studio.connection import Connection, sandbox_connection
from studio.costs import video_cost
from studio.db import Generation, LibraryFilter, Status, Store, utcnow
from studio.db.tasks import UNKNOWN_AFTER_CRASH
from studio.engine import TaskEngine
from studio.generation import GenerationService
from studio.library import export_csv, page_frame
from studio.media import MediaStore

from .conftest import API_KEY, counter, fault, huge_png, png, stats
from .seed import TASK_SECONDS, cycles_until, drain, fast_engine, seed, seed_thumbnail

LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from
START_CREDITS = 2_000_000


@dataclass
class Studio:
    sandbox: RunningSandbox
    store: Store
    media: MediaStore
    connection: Connection
    service: GenerationService

    def engine(self, *more: Connection, **settings) -> TaskEngine:
        return fast_engine(self.store, self.media, self.connection, *more, **settings)

    def rows(self) -> list[Generation]:
        return self.store.search(LibraryFilter(), limit=1000)[0]

    def credits(self, api_key: str) -> int:
        reply = httpx.post(
            f"{self.sandbox.base_url}/client/openapi/getAPIKeyCredits", json={"apiKey": api_key}
        )
        return reply.json()["data"]["credits"]


@pytest.fixture
def studio(database_url, tmp_path, make_sandbox):
    """``studio(**sandbox_knobs)``: a store on the test's database, a media folder, a private fast
    sandbox and the page-side service; a key given as ``api_key`` makes a live-like connection."""
    stores: list[Store] = []

    def build(api_key: str | None = None, **knobs) -> Studio:
        running = make_sandbox(**{**LIGHT, **knobs})
        store = Store(database_url)
        stores.append(store)
        media = MediaStore(tmp_path / "media")
        connection = (
            Connection("GrsAI", running.base_url, api_key)
            if api_key
            else sandbox_connection(running.base_url)
        )
        return Studio(running, store, media, connection, GenerationService(store, media, connection))

    yield build
    for store in stores:
        store.dispose()


@pytest.fixture
def store(database_url):
    made = Store(database_url)
    yield made
    made.dispose()


# -- asking: written queued, never sent by the page --------------------------------------------------
def test_a_request_is_written_queued_then_the_engine_sends_follows_and_keeps_it(studio) -> None:
    parts = studio(api_key=API_KEY)
    generation, created = parts.service.queue(
        {"prompt": "a teapot", "duration": 15, "image_url": png()}, request_key="generate-1"
    )
    assert created and generation.state is Status.QUEUED and generation.task_id is None
    assert generation.account == parts.connection.account == fingerprint(API_KEY)
    assert generation.kind == "image" and generation.image_ref.startswith("file:refs/")
    assert parts.service.media.path(generation.image_ref[5:]).read_bytes() == png()  # kept for re-runs
    assert counter(parts.sandbox, "received_video") == 0  # the page sent nothing

    drain(parts.engine())
    done = parts.store.get(generation.id)
    assert done.state is Status.SUCCEEDED and done.task_id and done.pid.startswith("s_")
    assert done.cost == video_cost() == 1600 and done.duration == 15
    assert parts.credits(API_KEY) == START_CREDITS - 1600  # charged once, in whole credits
    assert parts.media.path(done.video_path).read_bytes()[4:8] == b"ftyp"
    assert parts.media.exists(done.thumb_path)
    with parts.store.db_engine.connect() as connection:
        everything = repr(connection.execute(text("SELECT * FROM generations")).all())
    assert API_KEY not in everything  # the key is never written, only its fingerprint


def test_the_same_request_key_is_one_row_and_one_send(studio) -> None:
    parts = studio()
    first, created = parts.service.queue({"prompt": "a double click"}, request_key="form-7")
    again, created_again = parts.service.queue({"prompt": "a double click"}, request_key="form-7")
    assert created and not created_again and again.id == first.id
    assert len(parts.rows()) == 1
    drain(parts.engine())
    assert counter(parts.sandbox, "accepted_video") == 1
    assert parts.store.get(first.id).state is Status.SUCCEEDED


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(store, tmp_path) -> None:
    service = GenerationService(
        store, MediaStore(tmp_path / "media"), sandbox_connection("http://127.0.0.1:9")
    )
    cases = [
        ({"prompt": "x", "duration": 12}, "duration"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "image_url": "file:refs/someone-elses.png"}, "image_url"),  # typed: never read
        ({"prompt": "x", "image_url": "/etc/passwd"}, "image_url"),
    ]
    for params, field in cases:
        with pytest.raises(InvalidRequestError) as caught:
            service.queue(params, request_key=f"bad-{field}")
        assert caught.value.field == field
    assert store.search(LibraryFilter())[1] == 0


def test_a_nul_character_in_a_prompt_or_request_key_is_refused_in_words_and_nothing_is_stored(
    store, tmp_path
) -> None:
    """Issue 23 #4: a NUL (\\0, pasted from a file) cannot be kept by PostgreSQL and cannot be seen:
    it is refused beside its field, never a database error, on SQLite as on PostgreSQL."""
    service = GenerationService(
        store, MediaStore(tmp_path / "media"), sandbox_connection("http://127.0.0.1:9")
    )
    with pytest.raises(InvalidRequestError) as caught:
        service.queue({"prompt": "a cat\x00 on a mat"}, request_key="nul-in-prompt")
    assert caught.value.field == "prompt"
    assert "The prompt has an invisible NUL character (\\0) at character 6" in caught.value.message
    with pytest.raises(InvalidRequestError) as caught:
        service.queue({"prompt": "a cat on a mat"}, request_key="form-\x00-7")
    assert caught.value.field == "request_key" and "NUL" in caught.value.message
    with pytest.raises(InvalidRequestError) as caught:
        service.queue({"prompt": "a cat", "image_url": "https://cdn.example/cat\x00.png"}, request_key="nul-url")
    assert caught.value.field == "image_url" and "NUL character" in caught.value.message
    assert store.search(LibraryFilter())[1] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_picture_of_too_many_pixels_is_refused_as_a_reference_in_words_and_nothing_is_sent(studio) -> None:
    """Issue 23 #5: a 30000×30000 PNG is a 110 KB file but 2.7 GB once decoded: it is refused by its size
    in pixels, read from its header, before anything decodes it; nothing is kept, stored or sent."""
    parts = studio()
    bomb = huge_png(30000, 30000)
    assert len(bomb) < 200_000
    cases = [
        ({"prompt": "a lighthouse", "image_url": bomb}, "image_url"),
        ({"model": "veo3.1-fast", "prompt": "a lighthouse", "reference_urls": [png(), bomb]}, "reference_urls"),
    ]
    for params, field in cases:
        with pytest.raises(InvalidRequestError) as caught:
            parts.service.queue(params, request_key=f"bomb-{field}")
        assert caught.value.field == field
        assert "This picture is 30000×30000 pixels; the most is 50 million" in caught.value.message
    drain(parts.engine())
    assert parts.rows() == [] and counter(parts.sandbox, "received_video") == 0
    assert not (parts.media.root / "refs").exists() or not any((parts.media.root / "refs").iterdir())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_send_refused_for_want_of_credits_fails_uncharged_and_is_not_sent_again(studio) -> None:
    parts = studio(credits=0)
    generation = parts.service.submit({"prompt": "no money"})
    drain(parts.engine())
    row = parts.store.get(generation.id)
    assert row.state is Status.FAILED and row.failure_reason == "refused" and row.cost == 0
    assert "credits" in row.error.lower()
    drain(parts.engine())
    assert counter(parts.sandbox, "received_video") == 1 and counter(parts.sandbox, "accepted_video") == 0


@pytest.mark.parametrize(
    "lost",
    [
        {"status": 503, "after": True},  # made, then the reply is an error
        {"kind": "garbage", "after": True},  # made, then the reply cannot be read
        {"kind": "truncated", "after": True},  # made, then the connection is cut mid-reply
        {"kind": "malformed", "after": True},  # made, then the reply has no task id
    ],
    ids=["503", "garbage", "truncated", "malformed"],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_create_whose_reply_is_lost_is_kept_as_unknown_and_never_sent_again(studio, lost) -> None:
    parts = studio()
    fault(parts.sandbox, path="/v1/video/sora-video", **lost)
    generation = parts.service.submit({"prompt": "did it arrive?"})
    drain(parts.engine())
    row = parts.store.get(generation.id)
    assert row.state is Status.UNKNOWN and "not sent again" in row.error and row.task_id is None
    assert row.cost == video_cost()  # it may have been charged: counted, so the spend is not understated
    assert counter(parts.sandbox, "accepted_video") == 1  # it was in fact made ...
    drain(parts.engine())  # ... and another engine, later, does not send it again
    assert counter(parts.sandbox, "received_video") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_the_person_sends_an_unknown_request_again(studio) -> None:
    parts = studio()
    fault(parts.sandbox, status=503, after=True, path="/v1/video/sora-video")
    generation = parts.service.submit({"prompt": "did it arrive?"})
    drain(parts.engine())  # the fault meets this one's create (alone, so no race for it)
    fine = parts.service.submit({"prompt": "fine"})
    drain(parts.engine())
    assert parts.store.get(generation.id).state is Status.UNKNOWN
    with pytest.raises(LookupError):
        parts.service.resend(fine.id)  # only an unknown one is sent again this way

    resent = parts.service.resend(generation.id, request_key="resend-1")
    assert (
        resent.id != generation.id and resent.resend_of == generation.id and resent.prompt == "did it arrive?"
    )
    assert parts.service.resend(generation.id, request_key="resend-1").id == resent.id  # a second click
    drain(parts.engine())
    assert parts.store.get(resent.id).state is Status.SUCCEEDED
    assert parts.store.get(generation.id).state is Status.UNKNOWN  # kept as it was, for the record
    assert counter(parts.sandbox, "received_video") == 3  # the unknown one, "fine", the resend


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_engine_follows_many_tasks_to_stored_videos_and_thumbnails(studio) -> None:
    parts = studio()
    ids = [parts.service.submit({"prompt": f"kite {n}"}, request_key=f"kite-{n}").id for n in range(6)]
    drain(parts.engine())
    rows = parts.store.get_many(ids)
    assert {r.status for r in rows} == {Status.SUCCEEDED} and all(r.pid for r in rows)
    assert len({r.task_id for r in rows}) == 6 and counter(parts.sandbox, "accepted_video") == 6
    assert all(parts.media.exists(r.video_path) and parts.media.exists(r.thumb_path) for r in rows)
    assert all(r.polls >= 1 for r in rows)  # found finished by a poll
    assert set(stats(parts.sandbox)["polls_by_task"]) == {r.task_id for r in rows}


def test_a_slow_service_is_asked_about_each_task_one_poll_at_a_time(studio) -> None:
    parts = studio(latency_ms=800)  # each answer takes longer than a few engine cycles
    ids = [parts.service.submit({"prompt": f"slow {n}"}, request_key=f"slow-{n}").id for n in range(3)]
    drain(parts.engine())
    rows = parts.store.get_many(ids)
    assert {r.status for r in rows} == {Status.SUCCEEDED}
    seen = stats(parts.sandbox)
    assert seen["polls_by_task"] == {r.task_id: r.polls for r in rows}  # every poll asked, recorded once
    assert set(seen["downloads_by_name"].values()) == {1}  # every file copied once


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_task_the_service_forgot_is_marked_failed_and_refunded(studio) -> None:
    parts = studio()
    generation = parts.service.submit({"prompt": "ghost"})
    account = (parts.connection.service_id, parts.connection.account)
    [claimed] = parts.store.claim_sends(Generation, "gone-engine", [account], limit=1, lease_seconds=0)
    assert parts.store.begin_send(Generation, claimed.id, "gone-engine", lease_seconds=0)
    parts.store.mark_sent(
        Generation, "gone-engine", [(claimed.id, "sbx_neverexisted", video_cost(), utcnow())]
    )
    engine = drain(parts.engine())
    row = parts.store.get(generation.id)
    assert row.state is Status.FAILED and "no longer knows" in row.error and row.cost == 0
    assert engine.stats["poll_errors"] >= 3  # asked a few times before giving up on it
    assert counter(parts.sandbox, "received_video") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_link_that_expired_before_copying_is_said_and_stays_charged(studio) -> None:
    parts = studio(url_ttl=0.0)
    generation = parts.service.submit({"prompt": "gone too soon"})
    drain(parts.engine())
    row = parts.store.get(generation.id)
    assert row.state is Status.FAILED and row.failure_reason == "copy" and row.video_path is None
    assert "could not be kept" in row.error and row.pid  # made (it has a pid), but not kept
    assert row.cost == video_cost()  # the service made it: it was paid for


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_poll_failures_change_nothing_and_are_reported_until_the_service_answers(studio) -> None:
    parts = studio()
    generation = parts.service.submit({"prompt": "flaky"})
    engine = parts.engine()

    def row() -> Generation:
        return parts.store.get(generation.id)

    async def scenario() -> None:
        # the service's polls are down from the start (not after the create: a poll that came first on
        # a loaded machine could find the video made, and no poll would ever fail) ...
        fault(parts.sandbox, status=503, count=1000, path="/v1/draw/result")
        await cycles_until(engine, lambda: row().task_id)
        task_ids.append(row().task_id)
        await cycles_until(engine, lambda: row().poll_failures >= 1)  # ... for a poll and its retries
        failing = row()
        assert failing.state is Status.RUNNING and "still trying" in failing.error
        assert failing.task_id == task_ids[0]  # the same task, followed on; nothing sent again
        httpx.delete(
            f"{parts.sandbox.base_url}/sandbox/faults", headers=control_headers(parts.sandbox.base_url)
        ).raise_for_status()  # ... and back
        await engine.drain(30)

    task_ids: list[str] = []
    asyncio.run(scenario())
    [task_id] = task_ids
    sent = row()
    assert sent.state is Status.SUCCEEDED and sent.error is None and sent.task_id == task_id
    assert counter(parts.sandbox, "accepted_video") == 1 and stats(parts.sandbox)["queued_faults"] == []


def test_a_send_cut_off_midway_becomes_unknown_and_is_never_sent(studio) -> None:
    parts = studio()
    generation = parts.service.submit({"prompt": "crash"})
    account = (parts.connection.service_id, parts.connection.account)
    [claimed] = parts.store.claim_sends(Generation, "crashed-engine", [account], limit=5, lease_seconds=0)
    assert parts.store.begin_send(Generation, claimed.id, "crashed-engine", lease_seconds=0)  # the create went out
    drain(parts.engine())  # another engine finds the lease lapsed mid-send
    row = parts.store.get(generation.id)
    assert row.state is Status.UNKNOWN and row.error == UNKNOWN_AFTER_CRASH and "not known" in row.error
    assert counter(parts.sandbox, "received_video") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_request_cancelled_before_sending_is_never_sent_nor_charged(studio) -> None:
    parts = studio()
    generation = parts.service.submit({"prompt": "never mind"})
    assert parts.service.cancel(generation.id)
    assert not parts.service.cancel(generation.id)  # once
    drain(parts.engine())
    row = parts.store.get(generation.id)
    assert row.state is Status.CANCELLED and row.cost == 0 and counter(parts.sandbox, "received_video") == 0


def test_each_account_is_sent_only_with_its_own_key(studio) -> None:
    parts = studio(api_key="sk-alice-0001")
    bob = Connection("GrsAI", parts.sandbox.base_url, "sk-bob-0002")
    bobs = GenerationService(parts.store, parts.media, bob)
    alice_row = parts.service.submit({"prompt": "alice's fox"})
    bob_row = bobs.submit({"prompt": "bob's owl"})
    assert alice_row.account != bob_row.account

    drain(parts.engine())  # holds Alice's key only
    assert parts.store.get(alice_row.id).state is Status.SUCCEEDED
    assert parts.store.get(bob_row.id).state is Status.QUEUED  # waits for its own key
    service = parts.connection.service_id
    assert [g.id for g in parts.store.recent_for(service, alice_row.account)] == [alice_row.id]
    assert [g.id for g in parts.store.active_for(service, bob_row.account)] == [bob_row.id]

    drain(parts.engine(bob))
    assert parts.store.get(bob_row.id).state is Status.SUCCEEDED
    assert parts.credits("sk-alice-0001") == parts.credits("sk-bob-0002") == START_CREDITS - 1600


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deleting_a_generation_removes_its_files(studio) -> None:
    parts = studio()
    generation = parts.service.submit({"prompt": "short-lived"})
    drain(parts.engine())
    done = parts.store.get(generation.id)
    video, thumb = parts.media.path(done.video_path), parts.media.path(done.thumb_path)
    assert video.exists() and thumb.exists()
    parts.service.delete(done.id)
    assert parts.store.get(done.id) is None and not video.exists() and not thumb.exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_engine_can_be_drained_again_in_a_new_event_loop(studio) -> None:
    parts = studio()
    engine = parts.engine()
    first = parts.service.submit({"prompt": "one"})
    drain(engine)
    second = parts.service.submit({"prompt": "two"})
    drain(engine)
    assert [g.status for g in parts.store.get_many([first.id, second.id])] == [Status.SUCCEEDED] * 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_connections_the_server_drops_are_replaced_not_shown_as_errors(store, database_url) -> None:
    """Issue 9: a restart or failover drops every connection in the pool; the next call gets a new
    one instead of an OperationalError (a traceback, before the page guard)."""
    first = store.add_generation({"prompt": "before the drop"}, service="sandbox", account="acct")[0]
    assert store.get(first.id).prompt == "before the drop"  # the pool now holds a connection
    killer = Store(database_url, run_migrations=False)
    try:
        with killer.db_engine.connect() as connection:
            dropped = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        killer.dispose()
    assert dropped >= 1
    assert store.get(first.id).prompt == "before the drop"
    second = store.add_generation({"prompt": "after the drop"}, service="sandbox", account="acct")[0]
    assert store.search(LibraryFilter(text="the drop"))[1] == 2 and second.id != first.id


# -- the store's guarded writes ------------------------------------------------------------------
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_claims_skip_rows_another_engine_holds_instead_of_waiting_for_them(store) -> None:
    """Issue 9: on PostgreSQL a claim is ``FOR UPDATE SKIP LOCKED``: while another transaction holds
    a row (an engine mid-claim on another replica), a second engine takes the others at once."""
    account = ("sandbox", "acct")
    ids = [store.add_generation({"prompt": f"locked {n}"}, service="sandbox", account="acct")[0].id for n in range(3)]
    holder = store.db_engine.connect()
    holding = holder.begin()
    holder.execute(select(Generation.id).where(Generation.id == ids[0]).with_for_update())
    claimed: list = []
    worker = threading.Thread(
        target=lambda: claimed.extend(store.claim_sends(Generation, "engine-b", [account], limit=5, lease_seconds=60))
    )
    try:
        worker.start()
        worker.join(timeout=10)
        finished = not worker.is_alive()  # without SKIP LOCKED the claim waits on the held row
    finally:
        holding.rollback()
        holder.close()
        worker.join(timeout=10)
    assert finished and {g.id for g in claimed} == set(ids[1:])
    assert [g.id for g in store.claim_sends(Generation, "engine-c", [account], limit=5, lease_seconds=60)] == [ids[0]]


def test_a_task_is_claimed_by_one_engine_and_finished_once(store) -> None:
    account = ("sandbox", "acct")
    ids = [
        store.add_generation({"prompt": f"shared {n}"}, service="sandbox", account="acct")[0].id
        for n in range(5)
    ]
    first = store.claim_sends(Generation, "engine-a", [account], limit=3, lease_seconds=60)
    second = store.claim_sends(Generation, "engine-b", [account], limit=5, lease_seconds=60)
    assert len(first) == 3 and len(second) == 2
    assert {g.id for g in first} | {g.id for g in second} == set(ids)
    assert store.claim_sends(Generation, "engine-c", [account], limit=5, lease_seconds=60) == []
    assert (
        store.claim_sends(Generation, "engine-c", [("sandbox", "someone-else")], limit=5, lease_seconds=60)
        == []
    )

    row = first[0]
    assert not store.begin_send(Generation, row.id, "engine-b", lease_seconds=60)  # engine-a's to send
    assert store.begin_send(Generation, row.id, "engine-a", lease_seconds=60)
    store.mark_sent(Generation, "engine-a", [(row.id, "t-1", video_cost(), utcnow())])
    done = dict(status=Status.SAVING, pid="s_" + "a" * 32, progress=100)
    assert store.finish(Generation, row.id, expect=(Status.RUNNING,), **done)
    assert not store.finish(Generation, row.id, expect=(Status.RUNNING,), **done)  # the other writer
    saved = store.get(row.id)
    assert saved.state is Status.SAVING and saved.task_id == "t-1"


# -- the Library --------------------------------------------------------------------------------
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_the_library_lists_newest_first_in_pages(store) -> None:
    seed(store, 30, start=NOON)
    page, total = store.search(LibraryFilter(), limit=24)
    assert total == 30 and len(page) == 24
    assert [g.prompt for g in page[:2]] == [
        "a red kite over the sea #0",
        "a bottle of lemonade on a table #1",
    ]
    rest, total_again = store.search(LibraryFilter(), offset=24, limit=24)
    assert total_again == 30 and len(rest) == 6 and rest[-1].prompt.endswith("#29")
    assert not {g.id for g in page} & {g.id for g in rest}


def test_search_and_filters_narrow_the_list(store) -> None:
    seed(store, 30, start=NOON)

    def count(**f) -> int:
        return store.search(LibraryFilter(**f))[1]

    assert count(text="LEMONADE") == 6  # any case
    assert count(statuses=("failed",)) == 6
    assert count(kinds=("remix",)) == 4
    assert count(aspect_ratios=("9:16",)) == 15
    assert count(text="kite", aspect_ratios=("16:9",)) == 3 and count(text="kite", statuses=("failed",)) == 0
    assert count(text="no such thing") == 0
    pid = store.search(LibraryFilter(statuses=("succeeded",)), limit=1)[0][0].pid
    assert [g.pid for g in store.search(LibraryFilter(text=pid[5:20]))[0]] == [pid]  # by pid, too


def test_a_percent_or_underscore_typed_in_search_is_meant_literally(store) -> None:
    for prompt in ("100% orange juice", "1000 oranges", "snake_case label", "snakeXcase label"):
        store.add_generation({"prompt": prompt}, service="sandbox", account=None)
    assert [g.prompt for g in store.search(LibraryFilter(text="100%"))[0]] == ["100% orange juice"]
    assert [g.prompt for g in store.search(LibraryFilter(text="snake_case"))[0]] == ["snake_case label"]


def test_dates_are_the_days_of_the_browsers_zone(store) -> None:
    seed(store, 30, start=datetime(2026, 3, 10, 0, 30, tzinfo=UTC))  # 00:01 to 00:30 UTC on the 10th
    tenth, ninth = date(2026, 3, 10), date(2026, 3, 9)

    def count(**f) -> int:
        return store.search(LibraryFilter(**f))[1]

    assert count(date_from=tenth, date_to=tenth) == 30
    assert count(date_from=tenth, tz="America/New_York") == 0  # still the evening of the 9th there
    assert count(date_from=ninth, date_to=ninth, tz="America/New_York") == 30
    assert count(date_to=ninth) == 0
    assert count(date_from=tenth, date_to=tenth, tz="Not/AZone") == 30  # an unknown zone reads as UTC


def test_the_table_and_the_csv_export_show_every_matching_row(store, tmp_path) -> None:
    media = MediaStore(tmp_path / "media")
    seed(store, 12, start=NOON, thumb=seed_thumbnail(media.root))
    frame = page_frame(store.search(LibraryFilter(), limit=5)[0], media)
    assert list(frame["status"]) == ["Ready", "Ready", "Ready", "Ready", "Failed"]
    assert frame["thumbnail"][0].startswith("data:image/jpeg;base64,") and frame["thumbnail"][4] == ""
    exported = pd.read_csv(io.BytesIO(export_csv(store, LibraryFilter(statuses=("succeeded",)))))
    assert len(exported) == 10 and set(exported["status"]) == {"succeeded"}
    assert set(exported["cost"]) == {video_cost()}
    totals = store.totals()
    assert totals["count"] == 12 and totals["by_status"] == {"succeeded": 10, "failed": 2}
    assert totals["spent"] == 10 * video_cost()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_three_generations_of_remixes_form_a_chain_and_a_family(studio) -> None:
    parts = studio()
    engine = parts.engine

    def made(params: dict) -> Generation:
        queued = parts.service.submit(params)
        drain(engine())
        done = parts.store.get(queued.id)
        assert done.state is Status.SUCCEEDED and done.pid, done.error
        return done

    original = made({"prompt": "a paper boat"})
    remix = made({"prompt": "the boat, at night", "remix_target_id": original.pid})
    again = made({"prompt": "the boat, at night, in the rain", "remix_target_id": remix.pid})
    sibling = made({"prompt": "the boat, in a storm", "remix_target_id": original.pid})
    stranger = made({"prompt": "a kite"})
    assert (original.kind, remix.kind, again.kind) == ("text", "remix", "remix")

    assert [g.id for g in parts.store.ancestors(again)] == [original.id, remix.id]
    assert parts.store.ancestors(original) == []
    assert [g.id for g in parts.store.children(original.pid)] == [remix.id, sibling.id]
    family = parts.store.family_pids(again.pid)  # from anywhere in it: the whole family
    assert set(family) == {original.pid, remix.pid, again.pid, sibling.pid} and family[0] == original.pid
    shown, total = parts.store.search(LibraryFilter(family_pids=family))
    assert total == 4 and stranger.id not in {g.id for g in shown}
    assert [g.id for g in parts.store.finished_videos()][0] == stranger.id


def test_user_text_is_escaped_for_markdown() -> None:
    from components.text import plain

    shown = plain("[map](http://evil.example) *bold* $x^2$ <b>hi</b> www.example.com", 200)
    for raw in ("[", "]", "(", ")", "*", "$", "<", ">"):
        assert all(shown[i - 1] == "\\" for i, c in enumerate(shown) if c == raw), raw
    assert "://" not in shown.replace("\\", "") and "www." not in shown.replace("\\", "")  # no autolinks
    assert plain("x" * 300, 10) == "x" * 10 + "…"


def test_a_model_board_that_could_not_ask_says_unknown_not_up() -> None:
    """A refused key or a fault leaves models unasked: they read "unknown" and are not counted up."""
    from grsai_api import ModelStatus
    from studio.availability import ModelBoard

    board = ModelBoard(statuses={"sora-2": ModelStatus(model="sora-2", available=True, message=None)})
    assert board.state("sora-2") == "up" and board.state("minimax-h3") == "unknown"
    assert board.said_up() == 1
    assert ModelBoard().said_up() == 0 and ModelBoard().state("sora-2") == "unknown"
