"""The Library page with N generations in the store: script run time (median) and the process's
peak memory, the page driven by Streamlit's AppTest in a fresh process.

    python -m bench.library_page [--n 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from studio.db import Store, default_url
from tests.seed import seed, seed_thumbnail

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-library-"))
    start = time.perf_counter()
    seed(Store(default_url(data)), args.n, thumb=seed_thumbnail(data / "media"))
    seeded = time.perf_counter() - start
    os.environ.update(SORA_DATA_DIR=str(data), SANDBOX_TASK_SECONDS="5")
    os.environ.pop("GRSAI_API_KEY", None)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/library.py")
    results = {}
    for view in ("Grid", "Table"):
        at.session_state["library_view"] = view
        times = []
        for run in range(args.runs):
            pager = at.get("pagination")
            if pager:
                pager[0].set_value(1 + run * 37 % max(1, args.n // 50))
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            assert not at.exception, at.exception
        results[view] = statistics.median(times)
        shown = " ".join(c.value for c in at.caption)
        assert f"of {args.n:,}" in shown, f"the {view} page did not list the store: {shown[:200]}"
    search = []
    for word in ("lemonade", "kite", "piano", "zeppelin", "#99"):
        at.text_input(key="library_search").set_value(word)
        started = time.perf_counter()
        at.run()
        search.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"generations in the store:     {args.n:,} (seeded in {seeded:.1f} s)")
    print(
        f"Library page, grid (12/page): {results['Grid'] * 1000:7.0f} ms median of {args.runs} (whole app run)"
    )
    print(f"Library page, table (50/page):{results['Table'] * 1000:7.0f} ms median of {args.runs}")
    print(f"with a search:                {statistics.median(search) * 1000:7.0f} ms median of {len(search)}")
    print(
        f"process peak memory (RSS):    {peak_mb:7.0f} MB (Python, Streamlit, pandas, the sandbox and the page)"
    )
    print("targets: under 1.5 s and 400 MB")


if __name__ == "__main__":
    main()
