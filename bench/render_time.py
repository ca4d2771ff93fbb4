"""How long the sandbox takes to render a video, by profile and size (median of N runs).

python -m bench.render_time [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sandbox.render import RenderProfile, VideoSpec, render_video

CASES = [
    ("standard", "16:9", "small", 10),
    ("standard", "16:9", "small", 15),
    ("standard", "16:9", "large", 10),
    ("light", "16:9", "small", 10),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-render-"))
    print(f"{'profile':9} {'ratio':5} {'size':5} {'sec':>3}  {'median s':>8}  {'min s':>6}  {'MB':>5}")
    for profile, aspect, size, duration in CASES:
        times = []
        for run in range(args.runs):
            spec = VideoSpec(
                prompt=f"A bottle of lemonade on a café table, take {run}",
                aspect_ratio=aspect,
                size=size,
                duration=duration,
            )
            path = folder / f"{profile}-{size}-{duration}-{run}.mp4"
            start = time.perf_counter()
            render_video(spec, path, RenderProfile.named(profile))
            times.append(time.perf_counter() - start)
        megabytes = path.stat().st_size / 1e6
        print(
            f"{profile:9} {aspect:5} {size:5} {duration:>3}  {statistics.median(times):8.3f}  {min(times):6.3f}"
            f"  {megabytes:5.2f}"
        )


if __name__ == "__main__":
    main()
