"""The seed article's stress test: N video submissions sent at once to the sandbox, all of which
must be accepted and finish, none lost or duplicated.

The sandbox runs as its own process (`python -m sandbox`), so client and server do not share a GIL.

    python -m bench.concurrent_submissions [--n 500] [--latency-ms 0] [--task-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from grsai_api import AsyncClient

from . import _sandbox

KEY = "bench-key"


async def run(base_url: str, n: int) -> dict[str, float]:
    async with AsyncClient(api_key=KEY, base_url=base_url, max_connections=n, timeout=60.0) as client:
        start = time.perf_counter()
        ids = await asyncio.gather(
            *(client.create_video(prompt=f"product {i}: a bottle on a table") for i in range(n))
        )
        submitted = time.perf_counter() - start
        pending = set(ids)
        while pending:  # poll the way the app does: every running task together, once a second
            tasks = await asyncio.gather(*(client.get_result(i) for i in pending))
            pending = {t.id for t in tasks if not t.done}
            failed = [t for t in tasks if t.status == "failed"]
            if failed:
                raise SystemExit(f"{len(failed)} tasks failed: {failed[0]}")
            if pending:
                await asyncio.sleep(1.0)
        finished = time.perf_counter() - start
    return {"ids": len(ids), "unique": len(set(ids)), "submit_s": submitted, "finish_s": finished}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--task-seconds", type=float, default=5.0)
    args = parser.parse_args()
    process, base_url = _sandbox.start(
        "--render-profile",
        "light",
        "--task-seconds",
        str(args.task_seconds),
        "--latency-ms",
        str(args.latency_ms),
    )
    try:
        figures = asyncio.run(run(base_url, args.n))
        counters = httpx.get(f"{base_url}/sandbox/stats", headers=_sandbox.headers(base_url)).json()[
            "counters"
        ]
    finally:
        _sandbox.stop(process)
    print(
        f"submissions sent at once:  {args.n}  (sandbox latency {args.latency_ms:g} ms, task {args.task_seconds:g} s)"
    )
    print(f"task ids returned:         {figures['ids']} ({figures['unique']} distinct)")
    print(
        f"creates the sandbox got:   {counters.get('received_video', 0)}, accepted "
        f"{counters.get('accepted_video', 0)}, succeeded {counters.get('succeeded_video', 0)}"
    )
    print(f"all submitted in:          {figures['submit_s']:.2f} s")
    print(f"all finished in:           {figures['finish_s']:.2f} s")
    ok = figures["unique"] == args.n == counters.get("accepted_video") == counters.get("succeeded_video")
    print("result:                    " + ("OK, none lost or duplicated" if ok else "MISMATCH"))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
