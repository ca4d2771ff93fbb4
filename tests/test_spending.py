"""One figure for what was spent: after a mixed session (videos, an image, N made at once with one
discarded, a refusal, a character, a batch and a storyboard) the Library's header, Settings' total,
Insights' total and each batch's summary all say what the service's own balance fell by."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from studio.batch import BatchService, plan_rows, read_table
from studio.characters import CharacterService
from studio.connection import sandbox_connection
from studio.costs import video_cost
from studio.db import LibraryFilter, Status, Store
from studio.generation import GenerationService
from studio.insights import Insights
from studio.library import export_csv, page_frame
from studio.media import MediaStore
from studio.storyboard import ShotPlan, StoryboardService

from .seed import TASK_SECONDS, drain, fast_engine

LIGHT = dict(task_seconds=TASK_SECONDS)  # on top of conftest.FAST, which make_sandbox starts from
STARTING_BALANCE = 2_000_000  # the sandbox's


@pytest.mark.slow
def test_every_page_says_what_the_balance_fell_by_after_a_mixed_session(make_sandbox, database_url, tmp_path) -> None:
    running = make_sandbox(**LIGHT)
    connection = sandbox_connection(running.base_url)
    store, media = Store(database_url), MediaStore(tmp_path / "media")
    try:
        engine = fast_engine(store, media, connection)
        made = GenerationService(store, media, connection)
        video = made.submit({"prompt": "a red kite over the sea"})
        made.submit({"prompt": "a teapot on a table", "model": "nano-banana-2"})
        refused = made.submit({"prompt": "a fox covered in gore"})  # the sandbox's block list
        group = made.queue_many({"prompt": "a paper lantern", "model": "veo3.1-fast"}, 2, request_key="takes")
        table = read_table(pd.DataFrame({"product": ["mug", "lamp"]}).to_csv(index=False).encode())
        BatchService(store, media, connection).create(
            "Two products", plan_rows(table, template="a {product} turning slowly"), request_key="batch-1"
        )
        StoryboardService(store, media, connection).make_all(
            "Dawn",
            [ShotPlan("veo3.1-fast", "a harbour at dawn"), ShotPlan("veo3.1-fast", "boats leave the harbour")],
            "16:9",
            request_key="board-1",
        )
        drain(engine, timeout=120)
        assert store.get(video.id).status == Status.SUCCEEDED and store.get(refused.id).status == Status.FAILED
        CharacterService(store, media, connection).from_video(video.id, 1, 3, label="Kite")
        first, second = (row for row, _ in group)
        made.keep(first.id)
        assert made.discard(second.id)  # its files go; it was paid
        drain(engine, timeout=60)
        assert all(c.status == Status.SUCCEEDED for c in store.characters())

        with connection.client() as client:
            fell_by = STARTING_BALANCE - client.credits()
        assert fell_by > 0
        totals = store.totals()
        assert totals["spent"] == fell_by  # the Library's header and Settings
        listed = store.search(LibraryFilter(), limit=100)[1]
        assert totals["count"] == listed  # "N generations" beside "Showing 1–12 of N"
        seen = Insights.load(store, LibraryFilter())
        assert int(seen.daily()["credits"].sum()) == fell_by  # Insights' "… credits over 1 day"
        # the film is listed as the storyboard, standing for its shots' credits (it was "Sora 2 · 0")
        items = store.search(LibraryFilter(), limit=100)[0]
        film = next(g for g in items if g.kind == "storyboard")
        line = page_frame(items, media, films=store.storyboard_costs([film.storyboard_id])).set_index("id").loc[film.id]
        assert (line["model"], line["cost"]) == ("Storyboard", 2 * video_cost(model="veo3.1-fast"))
        exported = pd.read_csv(io.BytesIO(export_csv(store, LibraryFilter()))).set_index("id").loc[film.id]
        assert (exported["model"], exported["cost"]) == ("storyboard", line["cost"])
        batches = BatchService(store, media, connection)
        (batch,) = store.batches()
        assert batches.progress(batch.id).spent == sum(
            g.cost for g in store.search(LibraryFilter(batch_id=batch.id), limit=10)[0]
        )
    finally:
        store.dispose()


def test_a_batch_rows_credits_add_up_to_the_batchs_spent_after_retries(make_sandbox, tmp_path) -> None:
    """The batch's summary counted every attempt while each row showed only its newest one's cost
    (0 while being sent again): after a refused row is retried, the rows' credits add up to it."""
    running = make_sandbox(**LIGHT)
    connection = sandbox_connection(running.base_url)
    store, media = Store(f"sqlite:///{tmp_path / 'studio.db'}"), MediaStore(tmp_path / "media")
    try:
        batches = BatchService(store, media, connection)
        table = read_table(pd.DataFrame({"thing": ["mug", "fox covered in gore"]}).to_csv(index=False).encode())
        batch = batches.create("Mixed", plan_rows(table, template="a {thing} turning slowly"), request_key="b")
        engine = fast_engine(store, media, connection)
        drain(engine, timeout=60)
        assert batches.retry_failed(batch.id, moderation_retries=1) == 1  # the refused row, once more
        drain(engine, timeout=60)
        rows = batches.results(batch.id, thumbnails=False)
        spent = batches.progress(batch.id).spent
        assert spent > 0 and int(rows["cost"].sum()) == spent
        with connection.client() as client:
            assert STARTING_BALANCE - client.credits() == spent
    finally:
        store.dispose()


def test_a_price_too_small_for_a_fen_never_reads_as_free() -> None:
    """A 20-credit help call read "20 credits (¥0.00)": it is charged, so it says under ¥0.01."""
    from studio.costs import credits_text

    assert credits_text(20) == "20 credits (under ¥0.01)"
    assert credits_text(0) == "0 credits (¥0.00)" and credits_text(1_600) == "1,600 credits (¥0.08)"
