"""Wrong team passwords counted in the store per client address and account (issue 23 #3), on SQLite
and PostgreSQL: five free tries, then a pause that doubles with each wrong one, capped; a right one
clears it; another address is not held back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from studio.db import Store, utcnow
from studio.db.logins import FIRST_PAUSE, FREE_TRIES, LONGEST_PAUSE


@pytest.fixture
def store(database_url):
    made = Store(database_url)
    yield made
    made.dispose()


def test_wrong_passwords_pause_an_address_longer_each_time_until_a_right_one(store) -> None:
    now = utcnow()
    for _ in range(FREE_TRIES - 1):
        assert store.login_failed("203.0.113.7", "team", now=now) is None
    assert store.login_paused_until("203.0.113.7", "team", now=now) is None
    assert store.login_failed("203.0.113.7", "team", now=now) == now + FIRST_PAUSE == now + timedelta(seconds=30)
    assert store.login_paused_until("203.0.113.7", "team", now=now) == now + FIRST_PAUSE
    assert store.login_paused_until("198.51.100.4", "team", now=now) is None  # another address
    assert store.login_paused_until("203.0.113.7", "team", now=now + FIRST_PAUSE) is None  # waited it out

    pauses = []
    for _ in range(8):
        now += LONGEST_PAUSE
        pauses.append(store.login_failed("203.0.113.7", "team", now=now) - now)
    assert pauses[:4] == [timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert pauses[4:] == [LONGEST_PAUSE] * 4

    store.login_succeeded("203.0.113.7", "team")
    assert store.login_paused_until("203.0.113.7", "team", now=now) is None
    assert store.login_failed("203.0.113.7", "team", now=now) is None  # five free tries again


def test_a_quiet_day_forgets_the_wrong_tries(store) -> None:
    now = utcnow()
    for _ in range(FREE_TRIES):
        store.login_failed("203.0.113.7", "team", now=now)
    later = now + timedelta(days=2)
    assert store.login_failed("203.0.113.7", "team", now=later) is None
