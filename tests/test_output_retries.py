"""Retrying output refusals by themselves (issue 12): a single generation that asked for it is made
again when its finished video is refused, at most N times, each attempt once and each charged (the
service keeps a refusal's credits, issue 19)."""

from __future__ import annotations

import httpx

from studio.connection import sandbox_connection
from studio.costs import video_cost
from studio.db import Generation, LibraryFilter, Status, Store
from studio.generation import GenerationService
from studio.media import MediaStore

from .conftest import stats
from .seed import TASK_SECONDS, drain, fast_engine

LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from


def test_a_refused_video_is_tried_again_up_to_n_times_each_once_and_each_charged(make_sandbox, tmp_path) -> None:
    running = make_sandbox(**LIGHT, output_moderation_rate=1.0)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        service = GenerationService(store, media, connection)
        service.submit({"prompt": "a kite the censor dislikes"}, request_key="retry-1", output_retries=2)
        drain(fast_engine(store, media, connection))
        rows = sorted(store.search(LibraryFilter(text="censor"))[0], key=lambda g: g.id)
        each = video_cost()
        assert [(g.status, g.failure_reason, g.cost, g.output_retries) for g in rows] == [
            (Status.FAILED, "output_moderation", each, 2),
            (Status.FAILED, "output_moderation", each, 1),
            (Status.FAILED, "output_moderation", each, 0),
        ]
        assert store.totals()["spent"] == 3 * each  # as the balance fell: three refusals kept
        assert [g.retry_of for g in rows] == [None, rows[0].id, rows[1].id]  # a chain, one try each
        assert stats(running)["creates_by_prompt"]["a kite the censor dislikes"] == 3
        drain(fast_engine(store, media, connection))  # another engine pass adds nothing
        assert stats(running)["creates_by_prompt"]["a kite the censor dislikes"] == 3

        httpx.patch(
            f"{running.base_url}/sandbox/config", json={"output_moderation_rate": 0.0}, headers=running.control_headers
        ).raise_for_status()
        service.submit({"prompt": "a kite the censor likes"}, request_key="retry-2", output_retries=2)
        service.submit({"prompt": "a kite with no second chance"}, request_key="retry-3")
        drain(fast_engine(store, media, connection))
        made = store.search(LibraryFilter(text="a kite the censor likes"))[0]
        assert [(g.status, g.retry_of) for g in made] == [(Status.SUCCEEDED, None)]
        assert stats(running)["creates_by_prompt"]["a kite the censor likes"] == 1
    finally:
        store.dispose()


def test_batch_rows_keep_their_own_retry_rule(make_sandbox, tmp_path) -> None:
    """Batches retry on the person's word (Retry failed); a batch row never retries by itself."""
    running = make_sandbox(**LIGHT, output_moderation_rate=1.0)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        from studio.batch import BatchService, plan_rows, read_table

        batch = BatchService(store, media, connection).create("b", plan_rows(read_table("prompt\na batch kite\n")))
        with store.session() as session, session.begin():
            session.query(Generation).filter(Generation.batch_id == batch.id).update({"output_retries": 2})
        drain(fast_engine(store, media, connection))
        assert len(store.batch_rows(batch.id)) == 1 and stats(running)["creates_by_prompt"]["a batch kite"] == 1
    finally:
        store.dispose()
