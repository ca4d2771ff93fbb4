"""Joining a storyboard's shots into one film (PyAV, re-encoded to one size): the time for 3 and
for 10 shots (median of runs), the film's length against the shots', and each join's peak memory
(its own process). The shots are the sandbox's real renders, alternating Veo 3.1 Fast 720p
(1280×720, 8 s) and Sora 2 small (640×360, 10 s), so every join also scales half its shots.

    python -m bench.storyboard [--shots 3 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path

from sandbox.render import RenderProfile, VideoSpec, render_video
from studio.storyboard import clip_seconds, join_videos


def render_shots(folder: Path, count: int) -> list[Path]:
    profile = RenderProfile.named("standard")
    shots = []
    for number in range(count):
        veo = number % 2 == 0
        spec = VideoSpec(
            prompt=f"bench shot {number}: a lighthouse, the sea, ships at night",
            duration=8 if veo else 10,
            frame=(1280, 720) if veo else None,
            badge="VEO 3.1 · SANDBOX" if veo else "SORA 2 · SANDBOX",
        )
        shots.append(render_video(spec, folder / f"shot-{number}.mp4", profile))
    return shots


def _join_once(paths: list[str], out: str, answer) -> None:
    started = time.perf_counter()
    join_videos([Path(p) for p in paths], Path(out))
    answer.send((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def join_in_child(paths: list[Path], out: Path) -> tuple[float, float]:
    """(seconds, peak MB) of one join, in a process of its own (so its peak is its own)."""
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_join_once, args=([str(p) for p in paths], str(out), send))
    child.start()
    result = receive.recv()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-storyboard-"))
    started = time.perf_counter()
    shots = render_shots(folder, max(args.shots))
    print(f"rendered {len(shots)} shots in {time.perf_counter() - started:.1f} s ({folder})")
    for count in args.shots:
        paths = shots[:count]
        parts = sum(clip_seconds(p) for p in paths)
        times, peaks = [], []
        for run in range(args.runs):
            seconds, peak = join_in_child(paths, folder / f"film-{count}-{run}.mp4")
            times.append(seconds)
            peaks.append(peak)
        film = clip_seconds(folder / f"film-{count}-0.mp4")
        print(
            f"{count:>2} shots ({parts:.1f} s of video): join median {statistics.median(times):.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in times)}), {statistics.median(times) / parts:.2f} s per second "
            f"of film; film {film:.2f} s (shots {parts:.2f} s, off by {abs(film - parts):.2f} s); "
            f"peak {max(peaks):.0f} MB"
        )


if __name__ == "__main__":
    main()
