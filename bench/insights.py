"""The Insights page with N generations (several models, refusals, a spread of days and times):
the page's whole run (median, AppTest in this process), the aggregates alone, and peak memory.

    python -m bench.insights [--n 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from streamlit.testing.v1 import AppTest

from studio.db import Generation, LibraryFilter, Status, Store, default_url
from studio.insights import Insights

APP = Path(__file__).resolve().parent.parent / "app.py"
MODELS = [("sora-2", 1600, 120), ("veo3.1-fast", 2400, 90), ("veo3.1-pro", 8000, 150), ("nano-banana", 1400, 12)]


def fill(store: Store, count: int) -> None:
    """``count`` generations over 60 days: 85 % made, the rest refused at input or output."""
    chance = random.Random(7)
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        model, price, seconds = MODELS[n % len(MODELS)]
        made = chance.random() < 0.85
        created = now - timedelta(minutes=chance.randrange(60 * 24 * 60))
        rows.append(
            {
                "kind": "text", "prompt": f"bench {n}", "aspect_ratio": "16:9", "duration": 10,
                "size": "small", "model": model, "service": "sandbox", "account": None,
                "task_id": f"b-{n}", "status": Status.SUCCEEDED if made else Status.FAILED,
                "failure_reason": None if made else chance.choice(["input_moderation", "output_moderation"]),
                "cost": price if made else 0, "created_at": created, "submitted_at": created,
                "finished_at": created + timedelta(seconds=chance.gauss(seconds, seconds / 4)),
            }
        )  # fmt: skip
    with store.session() as session, session.begin():
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Generation), rows[chunk : chunk + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    store = Store(default_url(data))
    started = time.perf_counter()
    fill(store, args.n)
    seeded = time.perf_counter() - started
    loads = []
    for _ in range(args.runs):
        started = time.perf_counter()
        seen = Insights.load(store, LibraryFilter())
        seen.daily(), seen.success(), seen.time_spread()
        loads.append(time.perf_counter() - started)
    os.environ.update(SORA_DATA_DIR=str(data), SANDBOX_TASK_SECONDS="5")
    os.environ.pop("GRSAI_API_KEY", None)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/insights.py")
    runs = []
    for _ in range(args.runs):
        started = time.perf_counter()
        at.run()
        runs.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    assert f"{len(seen.hourly):,}" and at.get("vega_lite_chart"), "the page drew no chart"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"generations in the store:   {args.n:,} (seeded in {seeded:.1f} s)")
    print(f"aggregates (SQL + shaping): {statistics.median(loads) * 1000:7.0f} ms median of {args.runs}")
    print(f"Insights page, whole run:   {statistics.median(runs) * 1000:7.0f} ms median of {args.runs}")
    print(f"rows the page's data hold:  {len(seen.hourly):,} hourly + {len(seen.times):,} time buckets")
    print(f"process peak memory (RSS):  {peak_mb:7.0f} MB")
    print("target: a run within 1 s at 100,000 generations")


if __name__ == "__main__":
    main()
