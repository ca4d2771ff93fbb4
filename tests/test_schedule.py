"""When the engine asks about a running task: a fresh install plans from each model's typical
seconds in the catalogue, and rising progress takes over once its readings agree."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from studio.db import Store
from studio.engine import GENERATIONS, EngineSettings, PollPolicy, TaskEngine, first_poll, next_poll
from studio.media import MediaStore

# Progress as services report it: even, or slowing towards the end (the sandbox's shape).
CURVES = {"even": lambda f: f, "slowing": lambda f: 1 - (1 - f) ** 1.5}


def follow(policy: PollPolicy, typical: float, actual: float, curve, seed: int) -> tuple[int, float]:
    """Polls a task of ``actual`` seconds the way the engine does (each poll reads the progress and
    plans the next from it and the reading before); returns the polls and how late its end was seen."""
    rng = random.Random(seed)
    moment, polls, previous = first_poll(policy, typical, rng), 1, None
    while moment < actual:
        progress = min(99, int(100 * curve(moment / actual)))
        wait = next_poll(policy, elapsed=moment, progress=progress, typical=typical, previous=previous, rng=rng)
        previous = (moment, progress)
        moment += wait
        polls += 1
    return polls, moment - actual


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize(
    ("typical", "actual"),
    [(60, 60), (60, 30), (180, 60), (180, 30), (180, 120), (180, 180)],
    ids=["60s-model-on-time", "60s-model-twice-as-fast", "180s-typical-60s-video", "180s-typical-30s-video",
         "180s-typical-120s-video", "180s-model-on-time"],
)
def test_a_finished_video_is_noticed_within_seconds_in_a_handful_of_polls(typical, actual, curve):
    """Before, a video that ended before a fifth of its typical was seen 20-50 s late: the first
    reading's progress was outweighed by the typical (a 60 s video under a 180 s typical: 20 s)."""
    for seed in range(10):
        polls, late = follow(PollPolicy(), typical, actual, CURVES[curve], seed)
        assert late <= 3.0, (seed, late)
        assert polls <= 8, (seed, polls)


def test_the_schedule_before_is_kept_for_the_bench_and_shows_the_reported_delay():
    """bench/polling.py measures both schedules in one run: the old one must still be the old one."""
    polls, late = follow(PollPolicy.before_2026_12(), 180, 60, CURVES["even"], seed=0)
    assert late > 15


def test_progress_outweighs_the_typical_once_two_readings_agree():
    policy = PollPolicy(jitter=0)
    # 20 % at 10 s and 40 % at 20 s: both paces say 30 s are left; a 600 s typical is ignored.
    wait = next_poll(policy, elapsed=20, progress=40, typical=600, previous=(10, 20))
    assert wait == pytest.approx(30 * policy.approach)
    # A task that reports no progress is expected at its typical end (most of the way there).
    wait = next_poll(policy, elapsed=9, progress=0, typical=60)
    assert wait == pytest.approx(51 * policy.approach)
    # One reading only: the typical holds back neither an earlier end nor ...
    assert next_poll(policy, elapsed=9, progress=50, typical=60) == pytest.approx(9 * policy.approach)
    # ... is passed by it: a reading that promises a later end than the typical waits for the typical.
    assert next_poll(policy, elapsed=10, progress=5, typical=60) == pytest.approx(50 * policy.approach)


@pytest.fixture
def fresh_engine(tmp_path: Path):
    """A fresh data folder: nothing learned, no hint for the service."""

    def make(policy: PollPolicy) -> TaskEngine:
        store = Store(f"sqlite:///{tmp_path / 'store.db'}")
        return TaskEngine(store, MediaStore(tmp_path / "media"), settings=EngineSettings(policy=policy))

    return make


@pytest.mark.parametrize("scale", [1.0, 0.2])
def test_a_model_with_no_history_is_planned_from_its_catalogue_typical(fresh_engine, scale):
    """Veo 3.1 Fast's catalogue entry says 90 s: its first poll comes from 90 s (on the engine's
    clock, so a time-scaled bench or test sees the same plan), not from the 180 s every video
    was assumed to take."""
    policy = PollPolicy(jitter=0).scaled(scale)
    engine = fresh_engine(policy)
    typical = engine.typical(GENERATIONS, "sandbox-test", "video", "veo3.1-fast")
    assert typical == pytest.approx(90 * scale)
    assert first_poll(policy, typical) == pytest.approx(90 * policy.first_fraction * scale)
