"""Batch core: planning rows from a table, the credit check, and a batch sent and followed by the
task engine against a real sandbox over HTTP (pause, resume, cancel, concurrency, restarts, two
engines at once, 429 storms, retries, running out of credits, the zip), on SQLite and PostgreSQL.

Claims, leases, restarts, races with a cancel, request keys, the rows' own columns (JSON) and the
tallies run on both databases; flows whose point does not depend on the database (a 429 storm,
refusals, credits) run on SQLite, with the zip's flow as PostgreSQL's smoke (issue 22 #5)."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass

import httpx
import pandas as pd
import pytest

from sandbox import RunningSandbox
from sandbox.control import control_headers
from studio.batch import BatchInputError, BatchService, NotEnoughCredits, plan_rows, read_table, tally_of
from studio.characters import CharacterNames
from studio.connection import Connection
from studio.costs import video_cost
from studio.db import BatchState, Character, Generation, LibraryFilter, Status, Store
from studio.db.tasks import UNKNOWN_AFTER_CRASH
from studio.engine import TaskEngine
from studio.media import MediaStore

from .conftest import API_KEY, counter, stats
from .seed import TASK_SECONDS, cycles_until, drain, fast_engine

PRODUCTS = (
    "Product Name,Colour,Slogan,duration\n"
    "Trail sneaker,red,Run further,10\n"
    "Water bottle,,Cold all day,10\n"
    "Coffee mug,sand,Slow mornings,12\n"
    "Desk lamp,black,See clearly,15\n"
)
TEMPLATE = "A {colour} {product_name} on a studio table, the words “{slogan}” appear"
LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from
ACTIVE = (Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING)


def rows_csv(count: int, word: str = "sneaker") -> str:
    return "prompt\n" + "".join(f"A {word} number {n}\n" for n in range(count))


@dataclass
class Parts:
    sandbox: RunningSandbox
    connection: Connection
    store: Store
    media: MediaStore
    service: BatchService

    def engine(self, **settings) -> TaskEngine:
        return fast_engine(self.store, self.media, self.connection, **settings)

    def accepted(self) -> int:
        return counter(self.sandbox, "accepted_video")

    def creates_by_prompt(self) -> Counter[str]:
        return Counter(stats(self.sandbox)["creates_by_prompt"])

    def start(self, table: str, *, template: str = "", concurrency: int = 4, limit=None):
        plan = plan_rows(read_table(table), template=template)
        return self.service.create(
            "Test batch", plan, concurrency=concurrency, limit=limit, template=template
        )


@pytest.fixture
def parts(database_url, tmp_path, make_sandbox):
    """``parts(**sandbox_knobs)``: a store on the test's database, a media folder, a private fast
    sandbox, a key for it and the Batch page's service."""
    stores: list[Store] = []

    def build(**knobs) -> Parts:
        running = make_sandbox(**{**LIGHT, **knobs})
        connection = Connection("Sandbox", running.base_url, API_KEY, is_sandbox=True)
        store = Store(database_url)
        stores.append(store)
        media = MediaStore(tmp_path / "media")
        return Parts(running, connection, store, media, BatchService(store, media, connection))

    yield build
    for store in stores:
        store.dispose()


def wait_until(condition, timeout: float = 30.0, what: str = "the condition"):
    """For an engine running in its own thread: check often, fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)
    return value


# -- planning ------------------------------------------------------------------------------------
def test_a_template_fills_each_row_and_rows_that_will_not_do_are_listed_with_reasons() -> None:
    plan = plan_rows(read_table(PRODUCTS), template=TEMPLATE)
    assert [r.row for r in plan.rows] == [1, 4]
    assert (
        plan.rows[0].params["prompt"]
        == "A red Trail sneaker on a studio table, the words “Run further” appear"
    )
    assert plan.rows[1].params["duration"] == 15  # the row's own duration wins over the default
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[2] == "colour is empty, so the template cannot be filled."
    assert reasons[3].startswith("duration:") and "10 or 15" in reasons[3]
    assert plan.cost() == 2 * video_cost() == 3200 and plan.cost(limit=1) == 1600
    assert list(plan.preview()["prompt"]) == [r.params["prompt"] for r in plan.rows]


def test_pasted_spreadsheet_rows_with_per_row_settings_and_clips() -> None:
    pasted = (
        "prompt\taspect_ratio\tsize\tcharacters\n"
        "@character1 waves from a beach\t9:16\tLarge\thttps://cdn.example.com/fox.mp4 1-3.5\n"
        "A lamp at night\t4:3\tsmall\t\n"
        "Three friends @character1 @character2 @character3\t16:9\tsmall\thttps://a.example/1.mp4|https://a.example/2.mp4\n"
        "@nobody dances\t16:9\tsmall\t\n"
        "@fox.a1b2c3 and @character1 meet @owl.d4e5f6\t16:9\tsmall\thttps://a.example/1.mp4\n"
    )
    plan = plan_rows(
        read_table(pasted), defaults={"duration": 15}, saved_characters={"fox.a1b2c3", "owl.d4e5f6"}
    )
    [first] = plan.rows
    assert first.params["aspect_ratio"] == "9:16" and first.params["size"] == "large"
    assert first.params["duration"] == 15
    assert first.params["characters"] == [{"url": "https://cdn.example.com/fox.mp4", "timestamps": "1,3.5"}]
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[2].startswith("aspect_ratio:")
    assert reasons[3] == "prompt: @character3 is not one of your characters."
    assert reasons[4] == "prompt: @nobody is not one of your characters."
    assert reasons[5] == "characters: Sora takes at most 2 in one video; this row has 3."


def test_characters_cells_and_templates_name_characters_by_the_names_people_gave_them() -> None:
    """``Goldie`` in a characters cell, or @goldie in a template, is sent as Goldie's handle."""
    names = CharacterNames(
        [Character(label="Goldie", character_id="swift_maple.82dc77"), Character(label="Goran", character_id="calm_river.11aa22")]
    )
    table = (
        "scene,who,characters\n"
        "walks on a beach,@goldie,\n"
        "rides a bike,@Goran,Goldie\n"
        "sings,@nobody,\n"
        "jumps,@goran,Goran|https://a.example/1.mp4|@GOLDIE\n"
        "dances,@goran,Nobody\n"
    )
    plan = plan_rows(read_table(table), template="{who} {scene}", saved_characters=names)
    sent = {row.row: row.params for row in plan.rows}
    assert sent[1]["prompt"] == "@swift_maple.82dc77 walks on a beach"
    assert sent[2]["prompt"] == "@calm_river.11aa22 rides a bike @swift_maple.82dc77" and "characters" not in sent[2]
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[3] == "prompt: @nobody is not one of your characters."
    assert reasons[4] == "characters: Sora takes at most 2 in one video; this row has 3."
    assert reasons[5] == "characters: “Nobody” is neither one of your characters nor a clip address."


@pytest.mark.parametrize(
    ("table", "template", "message"),
    [
        ("", "", "The table is empty"),
        ("product,colour\n", "", "no rows"),
        ("product,colour\nmug,red\n", "", "no prompt column"),
        ("product,colour\nmug,red\n", "A {product} in {color}", "{color}, which is not a column"),
        ("product,colour\nmug,red\n", "A {product in red", "stray brace"),
        ("Colour,colour\nred,blue\n", "A {colour} mug", "Two columns have the same name: colour"),
    ],
)
def test_tables_and_templates_that_cannot_be_used_say_why(table, template, message) -> None:
    with pytest.raises(BatchInputError) as caught:
        plan_rows(read_table(table), template=template)
    assert message in str(caught.value)


def test_a_csv_file_with_a_byte_order_mark_and_semicolons_reads_like_a_spreadsheet() -> None:
    frame = read_table("\ufeffPrompt;Aspect Ratio\nA kite;9:16\n;\nA boat;16:9\n".encode())
    assert list(frame.columns) == ["prompt", "aspect_ratio"] and list(frame["prompt"]) == ["A kite", "A boat"]


# -- writing a batch -------------------------------------------------------------------------------
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_costing_more_than_the_credits_is_refused_and_nothing_is_written(parts) -> None:
    p = parts()
    plan = plan_rows(read_table(rows_csv(30)))
    credits = 12 * video_cost() + 100
    with pytest.raises(NotEnoughCredits, match="cap the batch at 12 rows"):
        p.service.create("Too dear", plan, credits=credits)
    assert p.store.batches() == [] and p.store.search(LibraryFilter())[1] == 0
    capped = p.service.create("Capped", plan, credits=credits, limit=12)
    progress = p.service.progress(capped.id)
    assert (progress.total, progress.queued, progress.spent) == (12, 12, 0)
    assert capped.settings["capped"] == 18 and capped.account == p.connection.account
    assert p.accepted() == 0  # written, not sent: the engine sends


def test_a_second_click_on_start_is_the_same_batch(parts) -> None:
    p = parts()
    plan = plan_rows(read_table(rows_csv(5)))
    first = p.service.create("Once", plan, request_key="batch-form-1")
    again = p.service.create("Once", plan, request_key="batch-form-1")
    assert again.id == first.id and len(p.store.batches()) == 1
    assert len(p.store.batch_rows(first.id)) == 5


# -- running ---------------------------------------------------------------------------------------
def test_every_row_is_sent_once_and_the_zip_holds_every_video_and_a_manifest(parts, tmp_path) -> None:
    p = parts()
    batch = p.start(PRODUCTS, template=TEMPLATE)
    assert p.store.finish_batches() == 0  # rows still to send: not done
    drain(p.engine())
    progress = p.service.progress(batch.id)
    assert (progress.succeeded, progress.failed, progress.total) == (2, 0, 2)
    assert p.accepted() == 2 and set(p.creates_by_prompt().values()) == {1}
    assert progress.spent == 2 * video_cost() and not progress.active
    p.store.finish_batches()  # the engine's periodic chore
    assert p.store.get_batch(batch.id).state == BatchState.DONE
    assert p.store.search(LibraryFilter(batch_id=batch.id))[1] == 2  # the Library shows the batch's videos
    assert p.store.recent_prompts() == []  # a template's output is not something a person typed

    archive = zipfile.ZipFile(p.service.write_zip(batch.id, tmp_path / "out.zip"))
    manifest = pd.read_csv(io.BytesIO(archive.read("manifest.csv")), keep_default_na=False)
    assert list(manifest["row"]) == [1, 4]
    assert set(manifest.columns) >= {"row", "file", "pid", "prompt", "cost"}
    assert sorted(manifest["file"]) == sorted(n for n in archive.namelist() if n.endswith(".mp4"))
    assert all(pid.startswith("s_") for pid in manifest["pid"]) and set(manifest["cost"]) == {video_cost()}
    for name in manifest["file"]:
        assert archive.read(name)[4:8] == b"ftyp"  # real MP4s
    assert "A red Trail sneaker" in manifest.loc[0, "prompt"]


def test_the_tables_own_columns_follow_each_row_into_results_file_names_and_manifest(parts, tmp_path) -> None:
    """Issue 11: results, the zip's names and the manifest say which product a row was (SKU, name),
    not only its prompt; a column called like one of the results' own is kept apart."""
    p = parts()
    table = "SKU,Product Name,Colour,status\nSNK-001,Trail sneaker,red,new\nMUG-7,Café crème mug,sand,old\n"
    batch = p.start(table, template="A {colour} {product_name} on a studio table")
    drain(p.engine())
    results = p.service.results(batch.id).set_index("row")
    assert list(results.loc[[1, 2], "sku"]) == ["SNK-001", "MUG-7"]
    assert results.loc[2, "product_name"] == "Café crème mug" and results.loc[2, "status (table)"] == "old"
    assert set(results["status"]) == {"succeeded"}  # the row's status is not the table's
    archive = zipfile.ZipFile(p.service.write_zip(batch.id, tmp_path / "named.zip"))
    assert sorted(n for n in archive.namelist() if n.endswith(".mp4")) == [
        "videos/row-0001-snk-001-trail-sneaker.mp4",
        "videos/row-0002-mug-7-café-crème-mug.mp4",
    ]
    manifest = pd.read_csv(io.BytesIO(archive.read("manifest.csv")), keep_default_na=False)
    assert list(manifest.columns[:5]) == ["row", "sku", "product_name", "colour", "status (table)"]
    assert list(manifest["sku"]) == ["SNK-001", "MUG-7"] and list(manifest["status"]) == ["succeeded"] * 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_429_storm_slows_the_batch_down_but_loses_and_repeats_nothing(parts) -> None:
    p = parts(rate_429=0.6, retry_after=0.05)
    batch = p.start(rows_csv(25), concurrency=6)
    engine = drain(p.engine(), 120)
    assert p.service.progress(batch.id).succeeded == 25
    assert p.accepted() == 25 and set(p.creates_by_prompt().values()) == {1}
    assert engine.stats["send_retry"] > 0  # it was told to slow down, and did
    assert len({g.task_id for g in p.store.batch_rows(batch.id)}) == 25


def test_a_batch_never_has_more_sends_out_than_its_concurrency(parts) -> None:
    p = parts(latency_ms=150)
    batch = p.start(rows_csv(8), concurrency=8)
    p.service.set_concurrency(batch.id, 2)
    assert p.store.get_batch(batch.id).concurrency == 2
    engine = p.engine()
    out: list[int] = []

    def all_sent() -> bool:
        out.append(p.store.count_status(batch.id, Status.SUBMITTING))
        return p.store.count_status(batch.id, Status.QUEUED, Status.SUBMITTING) == 0

    async def scenario() -> None:
        await cycles_until(engine, all_sent)
        await engine.drain(30)

    asyncio.run(scenario())
    assert max(out) == 2  # two at a time: never more, and the cap was used
    assert p.service.progress(batch.id).succeeded == 8 and p.accepted() == 8


def test_pause_stops_sending_resume_finishes_and_cancel_drops_what_was_not_sent(parts) -> None:
    p = parts(latency_ms=50)
    total = 12
    batch = p.start(rows_csv(total), concurrency=1)
    engine = p.engine()
    paused: dict[str, int] = {}

    def nothing_out() -> bool:
        return p.store.count_status(batch.id, Status.SUBMITTING, Status.RUNNING, Status.SAVING) == 0

    async def scenario() -> None:
        await cycles_until(engine, lambda: p.accepted() >= 3)
        p.service.pause(batch.id)
        await cycles_until(engine, nothing_out)  # a send already out gets its answer, tasks finish
        paused["sent"] = p.accepted()
        for _ in range(3):  # and then the engine, going round, sends nothing more
            await engine.cycle()
        paused["after"] = p.accepted()
        paused["queued"] = p.service.progress(batch.id).queued

        p.service.resume(batch.id)
        await cycles_until(engine, lambda: p.accepted() >= paused["sent"] + 3)
        paused["cancelled"] = p.service.cancel(batch.id)
        await engine.drain(30)

    asyncio.run(scenario())
    assert paused["after"] == paused["sent"] < total  # nothing more went out while paused
    assert paused["queued"] == total - paused["sent"]
    cancelled = paused["cancelled"]
    assert cancelled > 0
    progress = p.service.progress(batch.id)
    assert progress.cancelled == cancelled
    assert progress.succeeded == p.accepted() == total - cancelled
    assert p.store.get_batch(batch.id).state == BatchState.CANCELLED
    assert all(g.cost == 0 and g.task_id is None for g in p.store.batch_rows(batch.id, Status.CANCELLED))
    assert p.service.cancel(batch.id) == 0  # nothing left to cancel


def test_a_restart_mid_batch_carries_on_without_sending_any_row_twice(parts) -> None:
    p = parts(latency_ms=40)
    total = 20
    batch = p.start(rows_csv(total), concurrency=2)
    first = p.engine().start()  # the app's engine thread
    try:
        wait_until(lambda: p.accepted() >= 5, what="five rows sent")
    finally:
        first.stop()  # the app goes down: sends out get their answer, leases are let go
    sent = p.accepted()
    assert 5 <= sent < total
    assert p.store.count_status(batch.id, Status.SUBMITTING) == 0  # no send left in doubt
    assert p.store.count_status(batch.id, Status.QUEUED) == total - sent

    drain(p.engine())  # the app comes back: a new engine finds the batch and carries on
    rows = p.store.batch_rows(batch.id)
    assert len(rows) == total and {g.status for g in rows} == {Status.SUCCEEDED}
    assert p.accepted() == total and p.creates_by_prompt() == Counter({g.prompt: 1 for g in rows})
    assert len({g.task_id for g in rows}) == total
    assert Counter(g.batch_row for g in rows).most_common(1)[0][1] == 1


def test_two_engines_on_one_store_send_every_row_once(parts) -> None:
    p = parts(latency_ms=20)
    total = 16
    batch = p.start(rows_csv(total), concurrency=8)
    one, two = p.engine(), p.engine()

    async def together() -> None:
        await asyncio.gather(one.drain(60), two.drain(60))

    asyncio.run(together())
    rows = p.store.batch_rows(batch.id)
    assert {g.status for g in rows} == {Status.SUCCEEDED} and len({g.task_id for g in rows}) == total
    assert p.accepted() == total and set(p.creates_by_prompt().values()) == {1}
    assert one.stats["sent"] + two.stats["sent"] == total


def test_a_row_cut_off_mid_send_is_shown_as_unknown_and_never_sent_again(parts) -> None:
    p = parts()
    batch = p.start(rows_csv(4))
    held = [(p.connection.service_id, p.connection.account)]
    [cut] = p.store.claim_sends(Generation, "died-mid-send", held, limit=1, lease_seconds=0)
    assert cut.batch_row == 1
    assert p.store.begin_send(Generation, cut.id, "died-mid-send", lease_seconds=0)  # its create went out
    drain(p.engine())
    progress = p.service.progress(batch.id)
    assert (progress.succeeded, progress.unknown) == (3, 1)
    assert p.accepted() == 3 and counter(p.sandbox, "received_video") == 3
    reason = p.service.results(batch.id).set_index("row").loc[1, "reason"]
    assert reason == UNKNOWN_AFTER_CRASH and "not known" in reason
    assert p.service.retryable(batch.id) == []  # unknown is not failed: never retried by itself


@pytest.mark.parametrize("reply", [{"status": 503, "after": True}, {"kind": "garbage", "after": True}])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_row_whose_reply_was_lost_after_it_was_made_is_never_made_again(parts, reply) -> None:
    """The playground re-queued a 503 (and failed a 502 or an unreadable 200, which "Retry failed"
    then sent again): each was a second charge for a task the service had made."""
    p = parts()
    batch = p.start(rows_csv(3), concurrency=1)
    httpx.post(
        f"{p.sandbox.base_url}/sandbox/faults",
        headers=control_headers(p.sandbox.base_url),
        json={**reply, "path": "/v1/video/sora-video"},
    )
    drain(p.engine())
    progress = p.service.progress(batch.id)
    assert (progress.succeeded, progress.unknown) == (2, 1)
    assert progress.spent == 3 * video_cost()  # the unknown one may have been charged: it is counted
    assert p.service.retry_failed(batch.id) == 0
    drain(p.engine())
    assert set(p.creates_by_prompt().values()) == {1} and sum(p.creates_by_prompt().values()) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_minimax_row_refused_as_a_violation_is_capped_like_any_refusal(parts) -> None:
    """Issue 19 #4: the unified API refuses with "violation"; "Retry failed" re-created such a row on
    every press whatever the cap, because only reasons ending in "moderation" counted as refusals."""
    p = parts()
    batch = p.start("prompt,model,resolution,duration\nviolence in the street,minimax-h3,480p,1\n")
    drain(p.engine())
    assert p.service.progress(batch.id).failures == {"violation": 1}
    assert p.service.progress(batch.id).moderated == 1  # the page offers its capped retry
    for _ in range(3):
        assert p.service.retry_failed(batch.id) == 0  # cap 0: a refusal is never sent again
        drain(p.engine())
    assert p.service.retryable(batch.id) == []
    assert p.service.retry_failed(batch.id, moderation_retries=1) == 1
    drain(p.engine())
    assert p.service.retryable(batch.id, moderation_retries=1) == []  # the cap is reached
    assert counter(p.sandbox, "received_unified") == 2
    reason = p.service.results(batch.id).set_index("row").loc[1, "reason"]
    assert reason.startswith("Refused by moderation"), reason  # not "The service could not make it"


def test_retry_failed_sends_service_errors_again_and_moderation_only_when_asked(parts) -> None:
    p = parts(error_rate=1.0)
    batch = p.start("prompt\nA red kite\nA blue kite\nviolence in the street\n")
    drain(p.engine())
    assert p.service.progress(batch.id).failures == {"error": 2, "input_moderation": 1}
    assert p.service.progress(batch.id).spent == video_cost()  # errors are refunded, the refusal is kept
    assert p.service.retry_cost(batch.id) == 2 * video_cost()  # what "Retry failed" says it costs
    assert p.service.retry_cost(batch.id, moderation_retries=1) == 3 * video_cost()

    httpx.patch(
        f"{p.sandbox.base_url}/sandbox/config",
        headers=control_headers(p.sandbox.base_url),
        json={"error_rate": 0.0},
    ).raise_for_status()
    assert p.service.retry_failed(batch.id) == 2  # the refused prompt is not sent again by default
    drain(p.engine())
    progress = p.service.progress(batch.id)
    assert (progress.succeeded, progress.failed) == (2, 1)
    assert p.service.retryable(batch.id) == []
    assert len(p.service.retryable(batch.id, moderation_retries=1)) == 1
    assert p.service.retry_failed(batch.id, moderation_retries=1) == 1
    drain(p.engine())
    assert p.service.retryable(batch.id, moderation_retries=1) == []  # the cap is reached
    assert len(p.service.retryable(batch.id, moderation_retries=2)) == 1
    results = p.service.results(batch.id).set_index("row")
    assert results.loc[3, "attempts"] == 2 and "moderation" in results.loc[3, "reason"]
    assert results.loc[1, "attempts"] == 2 and results.loc[1, "status"] == "succeeded"
    assert counter(p.sandbox, "received_video") == 3 + 2 + 1
    assert p.service.progress(batch.id).spent == 4 * video_cost()  # two made, and both refusals were kept
    earlier = tally_of(*p.store.batch_tallies([batch.id])[batch.id], total=3)  # Earlier batches' line
    assert earlier == (3, 2, 1, 4 * video_cost())  # a row retried into a video is ready, not failed too


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_running_out_of_credits_pauses_the_batch_and_keeps_the_unsent_rows(parts) -> None:
    p = parts()
    set_credits = f"{p.sandbox.base_url}/sandbox/credits"
    httpx.post(
        set_credits, headers=p.sandbox.control_headers, json={"apiKey": API_KEY, "credits": 3 * video_cost()}
    ).raise_for_status()
    batch = p.start(rows_csv(6), concurrency=1)
    engine = p.engine()

    def paused_and_settled() -> bool:
        return (
            p.store.get_batch(batch.id).state == BatchState.PAUSED
            and p.store.count_status(batch.id, Status.SUBMITTING, Status.RUNNING, Status.SAVING) == 0
        )

    asyncio.run(cycles_until(engine, paused_and_settled))
    current = p.store.get_batch(batch.id)
    assert "credit" in current.paused_because.lower()
    progress = p.service.progress(batch.id)
    assert (progress.succeeded, progress.queued, progress.failed) == (3, 3, 0)  # nothing lost
    assert p.accepted() == 3 and counter(p.sandbox, "received_video") == 4  # the fourth was refused

    httpx.post(
        set_credits, headers=p.sandbox.control_headers, json={"apiKey": API_KEY, "credits": 10 * video_cost()}
    ).raise_for_status()
    p.service.resume(batch.id)
    assert p.store.get_batch(batch.id).paused_because is None
    drain(p.engine())
    assert p.service.progress(batch.id).succeeded == 6 and p.accepted() == 6
    assert p.service.progress(batch.id).spent == 6 * video_cost()  # nothing charged twice


def test_a_send_turned_away_after_its_batch_was_cancelled_is_cancelled_too(parts) -> None:
    p = parts(latency_ms=1000)  # the service is slow to answer: the cancel comes while row 1 is out
    batch = p.start(rows_csv(3), concurrency=1)
    httpx.post(
        f"{p.sandbox.base_url}/sandbox/faults",
        headers=control_headers(p.sandbox.base_url),
        json={"status": 429, "path": "/v1/video/sora-video"},
    )
    engine = p.engine()

    async def scenario() -> None:
        await cycles_until(engine, lambda: p.store.count_status(batch.id, Status.SUBMITTING) == 1)
        assert p.service.cancel(batch.id) == 2
        await cycles_until(engine, lambda: p.store.count_status(batch.id, Status.SUBMITTING) == 0)

    asyncio.run(scenario())
    assert p.accepted() == 0 and engine.stats["send_retry"] == 1  # turned away (429): not made
    progress = p.service.progress(batch.id)
    assert (progress.queued, progress.cancelled) == (0, 3) and not progress.active


# -- every model ---------------------------------------------------------------------------------
MIXED = (
    "prompt,model,first_frame_url,resolution,duration,variants\n"
    "a red sneaker turning,sora-2,,,,\n"
    "a blue bottle on ice,veo3.1-fast,,,,\n"
    "waves on a pier,minimax-h3,,480p,3,\n"
    "a logo for a café,gpt-image-2,,,,2\n"
    "a kite,sora-9,,,,\n"
    "a field,veo3.1-fast,file:///etc/passwd,,,\n"
    "a long pan,minimax-h3,,1080p,12,\n"
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_table_with_a_model_column_prices_each_row_and_makes_every_model(parts) -> None:
    p = parts(image_seconds=0.2)
    plan = plan_rows(read_table(MIXED))
    assert [r.params["model"] for r in plan.rows] == ["sora-2", "veo3.1-fast", "minimax-h3", "gpt-image-2"]
    reasons = {r.row: r.reason for r in plan.invalid}
    assert "no model “sora-9”" in reasons[5]
    assert reasons[6].startswith("first_frame_url:")  # a local path is never read
    assert reasons[7].startswith("duration:") and "at most 10 seconds" in reasons[7]
    assert plan.cost() == 1_600 + 2_400 + 3_000 + 600 and plan.affordable(4_000) == 2
    down = plan_rows(read_table(MIXED), down={"veo3.1-fast": "Veo 3.1 Fast · 720p is down right now"})
    assert "is down right now" in {r.row: r.reason for r in down.invalid}[2]
    batch = p.service.create("Mixed", plan, concurrency=4)
    drain(p.engine())
    rows = {g.model: g for g in p.store.batch_rows(batch.id)}
    assert all(g.status == Status.SUCCEEDED for g in rows.values()), {m: g.error for m, g in rows.items()}
    assert len(rows["gpt-image-2"].files) == 2 and rows["minimax-h3"].duration == 3
    manifest = p.service.manifest(batch.id)
    assert sorted(manifest["model"]) == sorted(rows) and manifest["cost"].sum() == plan.cost()


def test_a_nul_character_in_a_cell_refuses_its_row_in_words_and_the_others_are_made(parts) -> None:
    """Issue 23 #4: a NUL (\\0) in a cell made PostgreSQL refuse the whole batch with a DataError: its row
    is listed with the reason, like any row that will not do, and the others are written and made."""
    p = parts()
    pasted = "sku,prompt\nK-1,A red kite\nK-2,A blue\x00 kite\nK\x003,A green kite\nK-4,A grey kite\n"
    plan = plan_rows(read_table(pasted))
    assert [r.row for r in plan.rows] == [1, 4]
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[2] == (
        "prompt: The prompt cell has an invisible NUL character (\\0) at character 7: delete it and type that spot again."
    )
    assert reasons[3].startswith("sku: ") and "NUL character" in reasons[3]
    batch = p.service.create("Kites", plan, template="")
    drain(p.engine())
    rows = p.store.batch_rows(batch.id)
    assert sorted(r.batch_row for r in rows) == [1, 4] and {r.status for r in rows} == {"succeeded"}
    assert p.accepted() == 2 and set(p.creates_by_prompt()) == {"A red kite", "A grey kite"}


# -- encodings (issue 11 #4) ---------------------------------------------------------------------
def test_tables_saved_by_excel_in_other_encodings_read_as_written() -> None:
    table = "product,colour\nCafé crème latte,crème brûlée\nJalapeño salsa,rouge\n"
    for encoding in ("cp1252", "utf-16", "utf-8-sig", "utf-8"):
        frame = read_table(table.encode(encoding))
        assert list(frame.columns) == ["product", "colour"], encoding
        assert frame["product"].tolist() == ["Café crème latte", "Jalapeño salsa"], encoding


def test_a_file_that_is_not_text_is_refused_not_read_as_rows() -> None:
    import random

    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(4000))
    for data in (noise, png_bytes()):
        with pytest.raises(BatchInputError, match="not a text table"):
            read_table(data)


def png_bytes() -> bytes:
    from .conftest import png

    return png()


# -- the time left -------------------------------------------------------------------------------------
def _batch_rows(start, *, refused_at=None, made_at=(), running=0):
    """Rows of a batch all sent at ``start``: one refused ``refused_at`` s later, ones made after each
    of ``made_at`` seconds, and ``running`` still being made."""
    from datetime import timedelta

    rows = []
    if refused_at is not None:
        rows.append(Generation(status=Status.FAILED, failure_reason="input_moderation", cost=1600,
                               submitted_at=start, finished_at=start + timedelta(seconds=refused_at)))
    for seconds in made_at:
        rows.append(Generation(status=Status.SUCCEEDED, cost=1600, submitted_at=start,
                               finished_at=start + timedelta(seconds=seconds)))
    rows += [Generation(status=Status.RUNNING, cost=1600, submitted_at=start) for _ in range(running)]
    for number, row in enumerate(rows, start=1):
        row.batch_row = number
    return rows


def test_the_time_left_of_a_batch_made_side_by_side_is_not_a_queue_of_its_rows():
    """Issue 20: nineteen videos being made side by side, one row refused at once, read "about 21:16
    left" a minute in: the one quick refusal was taken as the pace of rows finishing one by one."""
    from datetime import timedelta

    from studio.batch import progress_of
    from studio.db import utcnow

    start = utcnow() - timedelta(seconds=60)
    early = progress_of(_batch_rows(start, refused_at=1, running=19), now=start + timedelta(seconds=60))
    assert early.eta_seconds is None  # no video made yet: nothing to say how long one takes
    later = progress_of(
        _batch_rows(start, refused_at=1, made_at=(70, 71, 72), running=16), now=start + timedelta(seconds=73)
    )
    assert later.eta_seconds is not None and later.eta_seconds < 30  # the rest are due about now
    # one at a time (the service the bottleneck): a minute each, so 16 more take about 16 minutes
    queue = progress_of(_batch_rows(start, made_at=(60, 120, 180), running=16), now=start + timedelta(seconds=181))
    assert 14 * 60 < queue.eta_seconds < 18 * 60
