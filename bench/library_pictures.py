"""The Library's detail of a generation whose reference picture is huge: the process's peak memory
(ru_maxrss) and the time of the page run that opens it, each case in a fresh process, the page driven
by Streamlit's AppTest. The pictures are written by a child process, so making them costs this one
nothing.

    python -m bench.library_pictures [--side 12000] [--big 7000]

Cases: no reference; a PNG of side×side pixels (one colour: a small file); a JPEG and a PNG of big×big
pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def _make_picture(path: Path, side: int, kind: str) -> None:
    code = (
        "import sys; from PIL import Image; Image.MAX_IMAGE_PIXELS = None; "
        f"Image.new('RGB', ({side}, {side}), (40, 120, 200)).save(sys.argv[1], format={kind!r})"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def _one_case(data: Path, picture: Path | None) -> dict:
    """In this (fresh) process: seed a store, point the newest generation at ``picture``, open it."""
    from sqlalchemy import update
    from streamlit.testing.v1 import AppTest

    from studio.db import Generation, LibraryFilter, Store, default_url
    from studio.media import MediaStore
    from tests.seed import seed, seed_thumbnail

    store = Store(default_url(data))
    seed(store, 20, thumb=seed_thumbnail(data / "media"))
    newest = store.search(LibraryFilter(), limit=1)[0][0]
    if picture is not None:
        ref = MediaStore(data / "media").keep_upload(picture.read_bytes(), picture.suffix)
        with store.db_engine.begin() as connection:
            connection.execute(update(Generation).where(Generation.id == newest.id).values(image_ref=ref))
    os.environ.update(SORA_DATA_DIR=str(data), SANDBOX_TASK_SECONDS="5", SANDBOX_RENDER_PROFILE="light")
    os.environ.pop("GRSAI_API_KEY", None)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("app_pages/library.py")
    at.run()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    at.query_params["generation"] = str(newest.id)
    started = time.perf_counter()
    at.run()
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shown = " ".join(c.value for c in at.caption if "pixels" in c.value or "Reference" in c.value)
    return {"peak_before_mb": round(before), "peak_after_mb": round(after), "seconds": round(took, 2),
            "exception": bool(at.exception), "said": shown[:120]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=12_000)
    parser.add_argument("--big", type=int, default=7_000)
    parser.add_argument("--case", help=argparse.SUPPRESS)  # the child's: data folder and picture
    args = parser.parse_args()
    if args.case:
        data, picture = json.loads(args.case)
        print(json.dumps(_one_case(Path(data), Path(picture) if picture else None)))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-library-pictures-"))
    cases: list[tuple[str, Path | None]] = [("no reference", None)]
    for side, kind in ((args.side, "PNG"), (args.big, "JPEG"), (args.big, "PNG")):
        picture = work / f"{side}.{kind.lower()}"
        _make_picture(picture, side, kind)
        cases.append((f"{side}² {kind} ({picture.stat().st_size // 1024} KB)", picture))
    print(f"{'reference':<28} {'peak before':>12} {'peak after':>11} {'page run':>9}  said")
    for number, (name, picture) in enumerate(cases):
        case = json.dumps([str(work / f"data-{number}"), str(picture) if picture else None])
        out = subprocess.run(
            [sys.executable, "-m", "bench.library_pictures", "--case", case],
            check=True, capture_output=True, text=True, cwd=APP.parent,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        got = json.loads(out)
        print(
            f"{name:<28} {got['peak_before_mb']:>9} MB {got['peak_after_mb']:>8} MB {got['seconds']:>7} s  "
            f"{'EXCEPTION ' if got['exception'] else ''}{got['said']}"
        )


if __name__ == "__main__":
    main()
