"""How long one AppTest run of a page takes, as Streamlit's AppTest does it (a new ScriptCache, so
app.py and the page are parsed, magic-rewritten and compiled again on every run) and with the one
process-wide cache the suite uses (tests/speed.py), as the Streamlit server keeps one.

    .venv/bin/python -m bench.apptest_runs [runs]      # default 20 runs of each page, each way

Prints the median seconds a run and the ratio, per page, on a fresh data folder and the sandbox."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("generate", "library", "batch", "storyboard")


def _median_run(at, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return statistics.median(times)


def main(runs: int = 20) -> None:
    os.environ.update(
        SORA_DATA_DIR=tempfile.mkdtemp(prefix="bench-apptest-"),
        SANDBOX_RENDER_PROFILE="light",
        SORA_POLL_SCALE="0.2",
    )
    sys.path.insert(0, str(ROOT))
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test

    from components import resources
    from tests.speed import _ProcessScriptCache

    print(f"{'page':<12} {'AppTest as is':>14} {'one cache':>10} {'ratio':>6}")
    for page in PAGES:
        medians = []
        for cache in (ScriptCache, _ProcessScriptCache):
            shared = cache()
            app_test.ScriptCache = lambda shared=shared, cache=cache: cache() if cache is ScriptCache else shared
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
            at.run()
            if page != "generate":
                at.switch_page(f"app_pages/{page}.py")
                at.run()
            medians.append(_median_run(at, runs))
        print(f"{page:<12} {medians[0]:>13.3f}s {medians[1]:>9.3f}s {medians[0] / medians[1]:>5.1f}x")
    resources.task_engine().stop()
    os._exit(0)  # the app's sandbox thread is not waited for


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
