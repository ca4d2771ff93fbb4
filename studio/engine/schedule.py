"""When to ask about a running task next: from how long such tasks take and the progress the
service reports, so a video is asked about a handful of times and its end is noticed quickly."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PollPolicy:
    min_gap: float = 1.0  # never ask about one task more often than this
    max_gap: float = 90.0
    first_fraction: float = 0.15  # the first poll, as a fraction of the typical duration ...
    first_max: float = 20.0  # ... but no later than this (early refusals show up early)
    aim_after: float = 0.4  # aim this long after the predicted end
    approach: float = 0.9  # far from the end, go this fraction of the way there
    jitter: float = 0.08  # spread polls of tasks sent together
    video_seconds: float = 180.0  # typical durations before any were seen
    character_seconds: float = 30.0
    image_seconds: float = 40.0
    copy_retry: float = 5.0  # first wait before copying a file again
    # Progress outweighs the typical duration once the pace since the start and the pace since the
    # reading before agree within this factor; None keeps the typical while readings are young
    # (the schedule before 2026-12, kept so the polling bench can measure both in one run).
    agree: float | None = 2.5
    time_scale: float = 1.0  # the clock's factor: a model's listed typical seconds are scaled by it

    @classmethod
    def before_2026_12(cls) -> PollPolicy:
        """The schedule as it was: the typical rules young tasks, the later guess wins."""
        return cls(agree=None, max_gap=60.0, approach=0.85)

    def scaled(self, factor: float) -> PollPolicy:
        """The same policy on a faster clock (benchmarks run time-scaled tasks)."""
        return replace(
            self,
            min_gap=self.min_gap * factor,
            max_gap=self.max_gap * factor,
            first_max=self.first_max * factor,
            aim_after=self.aim_after * factor,
            video_seconds=self.video_seconds * factor,
            character_seconds=self.character_seconds * factor,
            image_seconds=self.image_seconds * factor,
            copy_retry=self.copy_retry * factor,
            time_scale=self.time_scale * factor,
        )

    def with_webhooks(self) -> PollPolicy:
        """Webhooks bring the news; polls stay as a slower fallback."""
        return replace(self, min_gap=max(self.min_gap, 15.0), aim_after=max(self.aim_after, 10.0))


_RNG = random.Random()


def _spread(policy: PollPolicy, seconds: float, rng: random.Random) -> float:
    return seconds * (1 + policy.jitter * (2 * rng.random() - 1))


def first_poll(policy: PollPolicy, typical: float, rng: random.Random = _RNG) -> float:
    return max(policy.min_gap, min(_spread(policy, typical * policy.first_fraction, rng), policy.first_max))


def next_poll(
    policy: PollPolicy,
    *,
    elapsed: float,
    progress: int,
    typical: float,
    previous: tuple[float, int] | None = None,
    rng: random.Random = _RNG,
) -> float:
    """Seconds until the next poll of a task ``elapsed`` seconds in, at ``progress`` percent;
    ``previous`` is the reading before (seconds in, percent), if there was one.

    The end is predicted from the pace since the start and from the pace since the last reading.
    Once both exist and agree, they alone count (the later of the two: progress often slows towards
    the end), whatever the typical duration says. Before that the typical only holds a reading's
    guess back: a task that reports rising progress is asked about no later than the progress says,
    and a task that reports none is expected at its typical end. Far from the end the poll goes
    most of the way there; near it, just after the predicted end."""
    since_start = elapsed * (100 - progress) / progress if progress > 0 else None
    since_last = None
    if previous is not None and progress > previous[1] and elapsed > previous[0]:
        since_last = (100 - progress) * (elapsed - previous[0]) / (progress - previous[1])
    left = typical - elapsed
    if policy.agree is None:
        remaining = _before_2026_12(since_start, since_last, elapsed, typical)
    elif since_start is not None and since_last is not None and _agree(policy, since_start, since_last):
        remaining = max(since_start, since_last)
    elif since_start is not None and since_last is not None and min(since_start, since_last) <= 6 * policy.min_gap:
        remaining = min(since_start, since_last)  # the last percent or so: whole percents say little
    elif since_start is not None or since_last is not None:
        guess = max(g for g in (since_start, since_last) if g is not None)
        remaining = min(guess, left) if left > 0 else guess
    else:
        remaining = left
    if remaining <= 0:  # past its expected end: ask again soon, then less often
        wait = policy.min_gap + (-remaining) * 0.1
    elif remaining > 6 * policy.min_gap:
        wait = _spread(policy, remaining * policy.approach, rng)
    else:
        wait = remaining + policy.aim_after
    return max(policy.min_gap, min(wait, policy.max_gap))


def _agree(policy: PollPolicy, a: float, b: float) -> bool:
    return max(a, b) <= policy.agree * max(min(a, b), policy.min_gap)


def _before_2026_12(since_start: float | None, since_last: float | None, elapsed: float, typical: float) -> float:
    guesses = [g for g in (since_start, since_last) if g is not None]
    if elapsed < typical * 0.25 or not guesses:  # young readings say little
        guesses.append(typical - elapsed)
    return max(guesses)
