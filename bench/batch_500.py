"""A batch of N product rows through the real batch path (store -> BatchRunner -> AsyncClient ->
sandbox over HTTP), the sandbox in its own process with added latency and the light render profile.

Prints: seconds until every row was submitted, seconds until every video was finished and copied,
creates the sandbox accepted (must equal N), 429s absorbed, peak memory of this process.

    python -m bench.batch_500 [--rows 500] [--latency-ms 50] [--concurrency 8] [--task-seconds 5]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import httpx

from studio.batch import BatchRunner, BatchService, plan_rows, read_table
from studio.connection import Connection
from studio.media import MediaStore
from studio.store import Store

from . import _sandbox

KEY = "bench-key"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--task-seconds", type=float, default=5)
    parser.add_argument("--rate-429", type=float, default=0.0)
    args = parser.parse_args()

    process, base_url = _sandbox.start(
        "--render-profile",
        "light",
        "--latency-ms",
        str(args.latency_ms),
        "--task-seconds",
        str(args.task_seconds),
        "--rate-429",
        str(args.rate_429),
        "--retry-after",
        "0.2",
    )
    try:
        work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
        store = Store(f"sqlite:///{work / 'db.sqlite'}")
        media = MediaStore(work / "media")
        connection = Connection("Sandbox", base_url, KEY, is_sandbox=True)
        table = "product,colour\n" + "".join(f"Product {n},colour {n % 7}\n" for n in range(args.rows))
        plan = plan_rows(read_table(table), template="A {colour} {product} turning on a studio table")
        service = BatchService(store, media, connection)
        runner = BatchRunner(store, media)  # polls every 2 s, as in the app

        began = time.perf_counter()
        batch = service.create("bench", plan, concurrency=args.concurrency)
        runner.drive(batch.id, connection)
        submitted_at = None
        while True:
            progress = service.progress(batch.id)
            if submitted_at is None and not (progress.queued or progress.sending):
                submitted_at = time.perf_counter() - began
                print(f"all submitted after       {submitted_at:.2f} s", flush=True)
            if not progress.active:
                break
            time.sleep(0.5)
        finished_at = time.perf_counter() - began
        runner.stop()
        counters = httpx.get(f"{base_url}/sandbox/stats").json()["counters"]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rows                      {args.rows}")
        print(f"latency / concurrency     {args.latency_ms:.0f} ms / {args.concurrency}")
        print(f"all finished after        {finished_at:.2f} s  (tasks take {args.task_seconds:g} s)")
        print(f"creates accepted          {counters.get('accepted_video', 0)}")
        print(f"429s absorbed             {runner.rate_limited(batch.id)}")
        print(f"succeeded / failed        {progress.succeeded} / {progress.failed + progress.unknown}")
        print(f"peak memory (this process) {peak_mb:.0f} MB")
    finally:
        _sandbox.stop(process)


if __name__ == "__main__":
    main()
