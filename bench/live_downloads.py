"""What a Download that carries its file costs a page run, against one that reads the file only on the
click: Generate's list while a video is being made (redrawn every second), and the Library's detail
(drawn again on every run of the page while it is open). Each case is the median of ``--runs``
AppTest runs of the page and the bytes read from the media folder per run, measured in one process
on a fresh data folder, so the ratios compare like with like.

    python -m bench.live_downloads [--runs 9] [--mb 8] [--videos 6]

The videos are files of ``--mb`` MB: the page does not decode them, it reads them (for the player,
and for a Download that carries its file). "On the click" is the same page with its Downloads
made on the click (``live=False``), patched in this process for the comparison.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


class _Reads:
    """Counts what MediaStore.read hands out (the player's bytes and a carried Download's)."""

    def __init__(self) -> None:
        self.bytes = self.calls = 0

    def install(self) -> None:
        from studio.media import MediaStore

        original = MediaStore.read

        def counted(store, relative: str) -> bytes:
            data = original(store, relative)
            self.bytes += len(data)
            self.calls += 1
            return data

        MediaStore.read = counted  # type: ignore[method-assign]


def _timed(at, runs: int, reads: _Reads) -> dict:
    times, read = [], []
    for _ in range(runs):
        reads.bytes = reads.calls = 0
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        read.append(reads.bytes)
        assert not at.exception, at.exception
    return {"median_ms": round(statistics.median(times) * 1000, 1), "mb_read": round(statistics.median(read) / 2**20, 2)}


def _live(flag: bool | None) -> None:
    """None: the code as it is. False: every Download made on the click (the comparison)."""
    import components.task_panel as task_panel
    import components.video as video

    if not hasattr(video, "_bench_original"):
        video._bench_original = video.download_button  # type: ignore[attr-defined]
    original = video._bench_original  # type: ignore[attr-defined]

    def patched(generation, media, *, key: str, live: bool = False) -> None:
        original(generation, media, key=key, live=live if flag is None else flag)

    video.download_button = patched
    task_panel.download_button = patched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--videos", type=int, default=6)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-live-downloads-"))
    os.environ.update(SORA_DATA_DIR=str(data), SORA_ENGINE="external", SANDBOX_RENDER_PROFILE="light")
    os.environ.pop("GRSAI_API_KEY", None)
    from streamlit.testing.v1 import AppTest

    from studio.db import Generation, Status, Store, default_url

    reads = _Reads()
    reads.install()
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    connection = at.session_state["connection"]
    store = Store(default_url(data))
    (data / "media" / "videos").mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(args.videos):
        relative = f"videos/bench-{n}.mp4"
        (data / "media" / relative).write_bytes(secrets.token_bytes(int(args.mb * 2**20)))
        row, _ = store.add_generation({"prompt": f"A bench video #{n}"}, service=connection.service_id, account=connection.account)
        store.finish(Generation, row.id, expect=[Status.QUEUED], status=Status.SUCCEEDED, progress=100, cost=1600,
                     video_path=relative, pid="s_" + secrets.token_hex(16))  # fmt: skip
        made.append(row.id)

    results = {}
    at.run()
    results["Generate, nothing being made"] = _timed(at, args.runs, reads)
    waiting, _ = store.add_generation(  # nothing sends it (an external engine): the list is redrawn every second
        {"prompt": "A bench video being made"}, service=connection.service_id, account=connection.account
    )
    for flag, name in ((False, "on the click"), (None, "carried (as it is)")):
        _live(flag)
        at.run()
        results[f"Generate, one being made, Downloads {name}"] = _timed(at, args.runs, reads)
    store.finish(Generation, waiting.id, expect=[Status.QUEUED], status=Status.CANCELLED)

    at.switch_page("app_pages/library.py")
    at.query_params["generation"] = str(made[-1])
    for flag, name in ((False, "on the click"), (None, "carried (as it is)")):
        _live(flag)
        at.run()
        results[f"Library detail, Download {name}"] = _timed(at, args.runs, reads)
    store.dispose()

    print(f"{args.videos} videos of {args.mb:g} MB, {args.runs} runs a case, data folder {data}")
    for name, figures in results.items():
        print(f"  {name:55} {figures['median_ms']:8.1f} ms  {figures['mb_read']:7.2f} MB read a run")
    for page in ("Generate, one being made", "Library detail"):
        before = results[f"{page}, Download{'s' if page.startswith('Generate') else ''} on the click"]
        after = results[f"{page}, Download{'s' if page.startswith('Generate') else ''} carried (as it is)"]
        print(f"  {page}: carried / on the click = {after['median_ms'] / before['median_ms']:.2f}x the time, "
              f"{after['mb_read'] / max(before['mb_read'], 1e-9):.2f}x the bytes")  # fmt: skip


if __name__ == "__main__":
    main()
