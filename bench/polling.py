"""Polls per finished video and how soon its end is noticed: the engine's schedule against the
schedule before 2026-12 (the typical duration ruled young tasks) and a fixed 2-second beat (what the
playground's sidebar did), on the same sandbox in one run. Each engine starts on a fresh data
folder, so its first polls come from the model's typical seconds in the catalogue.

Tasks of 30-300 s are time-scaled (--scale 0.05: 1.5-15 s), and so is each schedule; delays are
reported scaled back to real seconds. The sandbox runs in its own process.

    .venv/bin/python -m bench.polling [--videos 40] [--scale 0.05] [--shortest 30] [--longest 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench._sandbox import headers, start, stop
from grsai_api import AsyncClient
from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import EngineSettings, PollPolicy, TaskEngine
from studio.generation import GenerationService
from studio.media import MediaStore


def quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def sandbox_stats(base_url: str) -> dict:
    return httpx.get(f"{base_url}/sandbox/stats", headers=headers(base_url), timeout=10).json()


async def fixed_beat(base_url: str, count: int, beat: float) -> tuple[list[int], list[float]]:
    """The old way: every task asked about every ``beat`` seconds until it ends."""
    noticed: dict[str, float] = {}
    polls: dict[str, int] = {}
    async with AsyncClient(api_key="sandbox-key", base_url=base_url) as client:
        ids = await asyncio.gather(*(client.create_video(prompt=f"fixed beat {n}") for n in range(count)))

        async def follow(task_id: str) -> None:
            polls[task_id] = 0
            while True:
                await asyncio.sleep(beat)
                task = await client.get_result(task_id)
                polls[task_id] += 1
                if task.done:
                    noticed[task_id] = time.time()
                    return

        await asyncio.gather(*(follow(t) for t in ids))
    finished = sandbox_stats(base_url)["finished_at_by_task"]
    return [polls[t] for t in ids], [noticed[t] - finished[t] for t in ids]


def engine_run(base_url: str, count: int, scale: float, policy: PollPolicy) -> tuple[list[int], list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-polling-"))  # fresh: nothing learned yet
    store = Store(f"sqlite:///{folder / 'store.db'}")
    media = MediaStore(folder / "media")
    connection = sandbox_connection(base_url)
    policy = policy.scaled(scale)
    settings = EngineSettings(policy=policy, polls_per_second=1000, tick=max(0.01, 0.2 * scale))
    engine = TaskEngine(store, media, settings=settings)  # its clock scaled too
    engine.hold(connection)
    service = GenerationService(store, media, connection)
    rows = [service.submit({"prompt": f"scheduled {n}"}) for n in range(count)]
    asyncio.run(engine.drain(timeout=600))
    done = store.get_many(r.id for r in rows)
    assert all(g.status == Status.SUCCEEDED for g in done), [g.status for g in done]
    stats = sandbox_stats(base_url)
    polls = [stats["polls_by_task"][g.task_id] for g in done]
    delays = [g.finished_at.timestamp() - stats["finished_at_by_task"][g.task_id] for g in done]
    return polls, delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument(
        "--scale", type=float, default=0.05, help="time scale: 0.05 turns 30-300 s into 1.5-15 s"
    )
    parser.add_argument("--shortest", type=float, default=30.0, help="a video's shortest time, real seconds")
    parser.add_argument("--longest", type=float, default=300.0, help="a video's longest time, real seconds")
    args = parser.parse_args()
    low, high = args.shortest * args.scale, args.longest * args.scale
    process, base_url = start(
        "--task-seconds",
        f"{low}",
        "--task-seconds-max",
        f"{high}",
        "--progress-interval",
        f"{0.5 * args.scale}",
        "--render-profile",
        "light",
    )
    try:
        fixed_polls, fixed_delays = asyncio.run(fixed_beat(base_url, args.videos, 2.0 * args.scale))
        before_polls, before_delays = engine_run(base_url, args.videos, args.scale, PollPolicy.before_2026_12())
        polls, delays = engine_run(base_url, args.videos, args.scale, PollPolicy())
    finally:
        stop(process)
    back = 1 / args.scale
    print(
        f"videos: {args.videos} of {args.shortest:g}-{args.longest:g} s each (time-scaled by {args.scale:g}); "
        "delays in real seconds"
    )
    runs = (
        ("fixed 2 s beat", fixed_polls, fixed_delays),
        ("schedule before", before_polls, before_delays),
        ("engine schedule", polls, delays),
    )
    for name, p, d in runs:
        pm, pp = quantiles([float(x) for x in p])
        dm, dp = quantiles([x * back for x in d])
        print(
            f"{name:16} polls/video median {pm:5.1f} p95 {pp:5.1f} · end noticed after median {dm:5.2f} s p95 {dp:5.2f} s"
        )
    print(
        f"polls ratio (fixed / engine, medians): {statistics.median(fixed_polls) / statistics.median(polls):.1f}x"
    )


if __name__ == "__main__":
    main()
