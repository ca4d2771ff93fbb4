"""Batch core: planning rows from a table, the cost check, and the runner against a real sandbox
over HTTP (pause, resume, cancel, restart, 429 storms, retries, the zip)."""

from __future__ import annotations

import io
import time
import zipfile
from collections import Counter

import httpx
import pandas as pd
import pytest

from studio.batch import (
    BatchInputError,
    BatchRunner,
    BatchService,
    NotEnoughCredits,
    plan_rows,
    read_table,
)
from studio.connection import Connection
from studio.media import MediaStore
from studio.store import LibraryFilter, Store

from .conftest import API_KEY, counter

PRODUCTS = (
    "Product Name,Colour,Slogan,duration\n"
    "Trail sneaker,red,Run further,10\n"
    "Water bottle,,Cold all day,10\n"
    "Coffee mug,sand,Slow mornings,12\n"
    "Desk lamp,black,See clearly,15\n"
)
TEMPLATE = "A {colour} {product_name} on a studio table, the words “{slogan}” appear"
LIGHT = dict(render_profile="light", task_seconds=0.4, progress_interval=0.1)


def rows_csv(count: int, word: str = "sneaker") -> str:
    return "prompt\n" + "".join(f"A {word} number {n}\n" for n in range(count))


def wait_for(condition, timeout: float = 30.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("the condition did not come true in time")


@pytest.fixture
def parts(tmp_path, make_sandbox):
    """A store, a media folder, a sandbox and a runner that polls fast; stopped afterwards."""
    made: list[BatchRunner] = []

    def build(**knobs):
        running = make_sandbox(**{**LIGHT, **knobs})
        connection = Connection("Sandbox", running.base_url, API_KEY, is_sandbox=True)
        store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
        media = MediaStore(tmp_path / "media")
        service = BatchService(store, media, connection)

        def runner() -> BatchRunner:
            made.append(BatchRunner(store, media, poll_seconds=0.1))
            return made[-1]

        return running, connection, store, service, runner

    yield build
    for runner in made:
        runner.stop(timeout=5)


def start(service, frame_text: str, *, template: str = "", concurrency: int = 4, limit=None):
    plan = plan_rows(read_table(frame_text), template=template)
    return service.create("Test batch", plan, concurrency=concurrency, limit=limit, template=template)


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
    assert plan.cost() == pytest.approx(0.16)
    assert list(plan.preview()["prompt"]) == [r.params["prompt"] for r in plan.rows]


def test_pasted_spreadsheet_rows_with_per_row_settings_and_clips() -> None:
    pasted = (
        "prompt\taspect_ratio\tsize\tcharacters\n"
        "@character1 waves from a beach\t9:16\tLarge\thttps://cdn.example.com/fox.mp4 1-3.5\n"
        "A lamp at night\t4:3\tsmall\t\n"
        "Three friends @character1 @character2 @character3\t16:9\tsmall\thttps://a.example/1.mp4|https://a.example/2.mp4\n"
        "@nobody dances\t16:9\tsmall\t\n"
    )
    plan = plan_rows(read_table(pasted), defaults={"duration": 15})
    [first] = plan.rows
    assert first.params["aspect_ratio"] == "9:16" and first.params["size"] == "large"
    assert first.params["duration"] == 15
    assert first.params["characters"] == [{"url": "https://cdn.example.com/fox.mp4", "timestamps": "1,3.5"}]
    reasons = {r.row: r.reason for r in plan.invalid}
    assert reasons[2].startswith("aspect_ratio:")
    assert reasons[3] == "prompt: @character3 is not one of your characters."
    assert reasons[4] == "prompt: @nobody is not one of your characters."


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
    with pytest.raises(BatchInputError, match=None) as caught:
        plan_rows(read_table(table), template=template)
    assert message in str(caught.value)


def test_a_batch_costing_more_than_the_credits_is_refused_and_nothing_is_written(parts) -> None:
    _, _, store, service, _ = parts()
    plan = plan_rows(read_table(rows_csv(30)))
    with pytest.raises(NotEnoughCredits, match="cap the batch at 12 videos"):
        service.create("Too dear", plan, credits=1.0)
    assert store.batches() == [] and store.search(LibraryFilter())[1] == 0
    capped = service.create("Capped", plan, credits=1.0, limit=12)
    assert service.progress(capped.id).total == 12 and service.progress(capped.id).queued == 12


# -- running -------------------------------------------------------------------------------------
def test_every_row_is_sent_once_and_the_zip_holds_every_video_and_a_manifest(parts, tmp_path) -> None:
    sandbox, connection, store, service, runner = parts()
    batch = start(service, PRODUCTS, template=TEMPLATE)
    driver = runner()
    assert driver.drive(batch.id, connection)
    driver.wait(batch.id, 60)
    progress = service.progress(batch.id)
    assert (progress.succeeded, progress.failed, progress.total) == (2, 0, 2)
    assert counter(sandbox, "accepted_video") == 2
    assert store.get_batch(batch.id).state == "done"
    assert progress.spent == pytest.approx(0.16)

    archive = zipfile.ZipFile(service.write_zip(batch.id, tmp_path / "out.zip"))
    manifest = pd.read_csv(io.BytesIO(archive.read("manifest.csv")), keep_default_na=False)
    assert list(manifest["row"]) == [1, 4]
    assert set(manifest.columns) >= {"row", "file", "pid", "prompt", "cost"}
    assert sorted(manifest["file"]) == sorted(n for n in archive.namelist() if n.endswith(".mp4"))
    assert all(p.startswith("s_") for p in manifest["pid"])
    for name in manifest["file"]:
        assert archive.read(name)[4:8] == b"ftyp"  # real MP4s
    assert "A red Trail sneaker" in manifest.loc[0, "prompt"]


def test_a_429_storm_slows_the_batch_down_but_loses_and_repeats_nothing(parts) -> None:
    sandbox, connection, store, service, runner = parts(rate_429=0.6, retry_after=0.05)
    batch = start(service, rows_csv(25), concurrency=6)
    driver = runner()
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 90)
    assert service.progress(batch.id).succeeded == 25
    assert counter(sandbox, "accepted_video") == 25
    assert driver.rate_limited(batch.id) > 0
    task_ids = [g.task_id for g in store.batch_rows(batch.id)]
    assert len(set(task_ids)) == 25


def test_pause_stops_sending_resume_finishes_and_cancel_drops_what_was_not_sent(parts) -> None:
    sandbox, connection, store, service, runner = parts(latency_ms=60)
    batch = start(service, rows_csv(30), concurrency=1)
    driver = runner()
    driver.drive(batch.id, connection)
    wait_for(lambda: counter(sandbox, "accepted_video") >= 3)
    service.pause(batch.id)
    time.sleep(0.4)  # a send already out gets its answer
    sent = counter(sandbox, "accepted_video")
    time.sleep(0.6)
    assert counter(sandbox, "accepted_video") == sent < 30  # nothing more goes out while paused
    assert service.progress(batch.id).queued == 30 - sent

    service.resume(batch.id)
    driver.drive(batch.id, connection)
    wait_for(lambda: counter(sandbox, "accepted_video") >= sent + 3)
    cancelled = service.cancel(batch.id)
    assert cancelled > 0
    driver.wait(batch.id, 30)
    progress = service.progress(batch.id)
    assert progress.cancelled == cancelled
    assert progress.succeeded == counter(sandbox, "accepted_video") == 30 - cancelled
    assert store.get_batch(batch.id).state == "cancelled"
    assert all(g.cost == 0 for g in store.batch_rows(batch.id, "cancelled"))


def test_a_restart_mid_batch_carries_on_without_sending_any_row_twice(parts) -> None:
    sandbox, connection, store, service, runner = parts(latency_ms=40)
    batch = start(service, rows_csv(20), concurrency=2)
    first = runner()
    first.drive(batch.id, connection)
    wait_for(lambda: counter(sandbox, "accepted_video") >= 5)
    first.stop()  # the app goes down
    assert 5 <= counter(sandbox, "accepted_video") < 20

    second = runner()  # the app comes back: it finds the batch and carries on
    assert second.resume_all(connection) == [batch.id]
    second.wait(batch.id, 60)
    rows = store.batch_rows(batch.id)
    assert len(rows) == 20 and {g.status for g in rows} == {"succeeded"}
    assert counter(sandbox, "accepted_video") == 20
    assert len({g.task_id for g in rows}) == 20
    assert Counter(g.batch_row for g in rows).most_common(1)[0][1] == 1


def test_a_row_cut_off_mid_send_is_shown_as_unknown_and_never_sent_again(parts) -> None:
    sandbox, connection, store, service, runner = parts()
    batch = start(service, rows_csv(4))
    cut = store.claim_queued(batch.id)  # claimed by a process that then died before the answer
    with store.session() as session, session.begin():
        session.get(type(cut), cut.id).submitted_at = cut.submitted_at.replace(year=2020)
    driver = runner()
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 30)
    progress = service.progress(batch.id)
    assert (progress.succeeded, progress.unknown) == (3, 1)
    assert counter(sandbox, "accepted_video") == 3
    assert "not known" in service.results(batch.id).set_index("row").loc[1, "reason"]


def test_retry_failed_sends_service_errors_again_and_moderation_only_when_asked(parts) -> None:
    sandbox, connection, store, service, runner = parts(error_rate=1.0)
    table = "prompt\nA red kite\nA blue kite\nviolence in the street\n"
    batch = start(service, table)
    driver = runner()
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 30)
    assert service.progress(batch.id).failures == {"error": 2, "input_moderation": 1}

    httpx.patch(f"{sandbox.base_url}/sandbox/config", json={"error_rate": 0.0}).raise_for_status()
    assert service.retry_failed(batch.id) == 2  # the refused prompt is not sent again by default
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 30)
    progress = service.progress(batch.id)
    assert (progress.succeeded, progress.failed) == (2, 1)
    assert service.retryable(batch.id) == []
    assert len(service.retryable(batch.id, moderation_retries=1)) == 1
    assert service.retry_failed(batch.id, moderation_retries=1) == 1
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 30)
    assert service.retryable(batch.id, moderation_retries=1) == []  # the cap is reached
    results = service.results(batch.id).set_index("row")
    assert results.loc[3, "attempts"] == 2 and "moderation" in results.loc[3, "reason"]
    assert results.loc[1, "attempts"] == 2 and results.loc[1, "status"] == "succeeded"
    assert counter(sandbox, "received_video") == 3 + 2 + 1


def test_running_out_of_credits_pauses_the_batch_and_keeps_the_unsent_rows(parts) -> None:
    sandbox, connection, store, service, runner = parts()
    httpx.post(f"{sandbox.base_url}/sandbox/credits", json={"apiKey": API_KEY, "credits": 0.24})
    batch = start(service, rows_csv(6), concurrency=1)
    driver = runner()
    driver.drive(batch.id, connection)
    driver.wait(batch.id, 30)
    current = store.get_batch(batch.id)
    assert current.state == "paused" and "credit" in current.settings["paused_because"].lower()
    progress = service.progress(batch.id)
    assert progress.succeeded == 3 and progress.queued == 3  # nothing lost, nothing charged twice
