"""A batch of N product rows through the real path: the Batch service writes every row, the task
engine sends them (the batch's concurrency at a time), follows and copies them. Prints creates (must
be exactly N), seconds until all were sent and until all finished, and the peak memory.

    .venv/bin/python -m bench.batch [--rows 5000] [--concurrency 16] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pandas as pd

from bench._sandbox import headers, start, stop
from studio.batch import BatchService, plan_rows
from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import EngineSettings, TaskEngine
from studio.media import MediaStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--task-seconds", type=float, default=5)
    args = parser.parse_args()
    process, base_url = start(
        "--task-seconds",
        str(args.task_seconds),
        "--latency-ms",
        str(args.latency_ms),
        "--render-profile",
        "light",
        "--credits",
        str(1600 * args.rows * 2),
        "--progress-interval",
        "0.5",
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    store = Store(f"sqlite:///{folder / 'store.db'}")
    media = MediaStore(folder / "media")
    connection = sandbox_connection(base_url)
    frame = pd.DataFrame({"product": [f"product {n}" for n in range(args.rows)], "color": "red"})
    plan = plan_rows(frame, template="A {color} {product} on a white table, slow turn")
    engine = TaskEngine(
        store,
        media,
        settings=EngineSettings(
            sends_per_account=args.concurrency,
            polls_per_second=200,
            typical_seconds={"sandbox": args.task_seconds},
        ),
    )
    engine.hold(connection)
    started = time.perf_counter()
    batch = BatchService(store, media, connection).create("bench", plan, concurrency=args.concurrency)
    written = time.perf_counter() - started
    sent_at: list[float] = []

    def watch_sends() -> None:
        while store.count_status(batch.id, Status.QUEUED, Status.SUBMITTING):
            time.sleep(0.2)
        sent_at.append(time.perf_counter() - started)

    watcher = threading.Thread(target=watch_sends, daemon=True)
    watcher.start()
    try:
        asyncio.run(engine.drain(timeout=3600))
        finished = time.perf_counter() - started
        watcher.join(5)
        creates = (
            httpx.get(f"{base_url}/sandbox/stats", headers=headers(base_url), timeout=30)
            .json()["counters"]
            .get("received_video", 0)
        )
    finally:
        stop(process)
    rows = store.batch_rows(batch.id)
    statuses = pd.Series([r.status for r in rows]).value_counts().to_dict()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows: {args.rows:,} · concurrency {args.concurrency} · service latency {args.latency_ms:g} ms · tasks {args.task_seconds:g} s"
    )
    print(
        f"written to the store in {written:.1f} s; all sent after {sent_at[0] if sent_at else float('nan'):.1f} s; all finished after {finished:.1f} s"
    )
    print(f"creates received by the service: {creates:,} (rows: {len(rows):,}); statuses: {statuses}")
    print(
        f"polls: {engine.stats['polls']:,} ({engine.stats['polls'] / max(1, len(rows)):.1f} a row); peak memory {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
