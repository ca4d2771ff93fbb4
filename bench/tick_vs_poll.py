"""One polling tick over N running tasks against one single poll, with latency added to every
request (the issue's target: the tick at most 3x a single poll, at N=100 and 50 ms).

    python -m bench.tick_vs_poll [--n 100] [--latency-ms 50] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from studio.connection import sandbox_connection
from studio.generation import GenerationService
from studio.media import MediaStore
from studio.store import Store
from studio.tracking import tick

from . import _sandbox


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    process, base_url = _sandbox.start(
        "--task-seconds", "3600", "--render-profile", "light", "--latency-ms", str(args.latency_ms)
    )
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-tick-"))
        connection = sandbox_connection(base_url)
        service = GenerationService(
            Store(f"sqlite:///{folder / 'p.db'}"), MediaStore(folder / "media"), connection
        )
        ids = [service.submit({"prompt": f"product {n}"}).id for n in range(args.n)]
        first_task = service.store.get(ids[0]).task_id
        with connection.client() as client:
            client.get_result(first_task)  # warm
            single = median_seconds(lambda: client.get_result(first_task), args.runs)
        tick(connection, service.store, service.media, ids)  # warm
        whole = median_seconds(lambda: tick(connection, service.store, service.media, ids), args.runs)
    finally:
        _sandbox.stop(process)
    print(
        f"latency added per request: {args.latency_ms:g} ms; {args.n} running tasks; medians of {args.runs}"
    )
    print(f"one poll (warm client):    {single * 1000:7.1f} ms")
    print(
        f"one tick over all {args.n}:   {whole * 1000:7.1f} ms  (new pool, {args.n} polls at once, store writes)"
    )
    print(f"ratio tick / poll:         {whole / single:7.2f}x  (target <= 3x)")


if __name__ == "__main__":
    main()
