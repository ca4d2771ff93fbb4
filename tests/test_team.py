"""The team layout for real (issue 9): two ``streamlit run`` replicas and two ``python -m
studio.worker`` processes, each with a data folder of its own, sharing only a PostgreSQL server and
an S3 bucket that the tests start. 200 generations are started from both replicas' Batch pages in
Chromium; one worker is SIGKILLed mid-run. Each generation is created once, followed by one worker
at a time, copied once into the bucket and seen from both replicas. (bench/team.py measures it.)"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench.team import Team, all_final, library_counts, start_batches, tally, wait_for
from studio.db import Generation, Status, Store

from .buckets import BUCKET
from .test_browser import pytestmark  # noqa: F401 - the browser marks: Debian's chromium

ROWS_EACH = 100


def held_by(store: Store, engine_id: str, *statuses: Status) -> list[Generation]:
    with store.session() as session:
        return list(
            session.scalars(
                select(Generation).where(Generation.lease_owner == engine_id, Generation.status.in_(statuses))
            )
        )


def count(store: Store, *statuses: Status) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Generation).where(Generation.status.in_(statuses)))


@pytest.mark.timeout(600)
def test_two_replicas_and_two_workers_share_one_postgresql_and_one_bucket(
    fresh_database_url, s3, make_sandbox, tmp_path
) -> None:
    running = make_sandbox(task_seconds=3.0, progress_interval=0.5, render_profile="light")
    database_url = fresh_database_url("postgresql")
    team = Team(database_url, f"s3://{BUCKET}/team", running.base_url, tmp_path)
    store = Store(database_url)
    try:
        replicas = [team.start_replica(), team.start_replica()]
        doomed = team.start_worker()
        team.start_worker()
        prompts = start_batches(replicas, ROWS_EACH, "team", store)
        wait_for(
            lambda: held_by(store, doomed, Status.RUNNING),
            120,
            f"the first worker to be following a task (queued: {count(store, Status.QUEUED)})",
            every=0.05,
        )
        team.kill_worker(0)
        at_kill = {g.id: g for g in held_by(store, doomed, Status.SUBMITTING, Status.RUNNING, Status.SAVING)}
        wait_for(lambda: all_final(store, prompts), 300, "every generation to end", every=0.5)
        counted = tally(store, running.base_url, None, prompts)
        seen = library_counts(replicas)
    finally:
        team.stop()
        store.dispose()

    rows = {g.prompt: g for g in counted.rows}
    assert len(rows) == 2 * ROWS_EACH == len(prompts)
    cut = {g.prompt for g in at_kill.values() if g.status == Status.SUBMITTING}
    followed = {g.prompt for g in at_kill.values() if g.status != Status.SUBMITTING}
    assert followed, "the killed worker held tasks it was following"
    for prompt, row in rows.items():
        if prompt in cut:  # cut mid-send by the kill: unknown, never sent again (made at most once)
            assert row.status == Status.UNKNOWN and counted.creates[prompt] <= 1
        else:  # everything else, including what the dead worker was following, is made exactly once
            assert row.status == Status.SUCCEEDED, (prompt, row.status, row.error)
            assert counted.creates[prompt] == 1
    # one worker at a time: the service answered each task's polls as often as the store recorded them
    # (the dead worker's last poll of a task may have been answered but not recorded)
    for prompt, row in rows.items():
        if row.task_id:
            slack = 1 if prompt in followed else 0
            assert row.polls <= counted.polls.get(row.task_id, 0) <= row.polls + slack, prompt
    # every file copied once (a copy the dead worker had under way may be made again)
    for prompt, row in rows.items():
        if row.status == Status.SUCCEEDED:
            downloads = counted.downloads.get(counted.file_name(row), 0)
            assert 1 <= downloads <= (2 if prompt in followed else 1), (prompt, downloads)
    succeeded = [g for g in rows.values() if g.status == Status.SUCCEEDED]
    kept = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="team/videos/")
            for o in page.get("Contents", [])}  # fmt: skip
    assert kept == {f"team/{g.video_path}" for g in succeeded}  # every video in the bucket, once
    total = f"{2 * ROWS_EACH} generations · {len(succeeded)} ready"
    assert all(caption.startswith(total) for caption in seen), seen  # the same from both replicas
