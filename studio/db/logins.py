"""Wrong team passwords per client address and account: the first few are free, then the address
waits, longer after each wrong one, and a right one clears it. Kept in the store, so a reload (a new
session), another tab or another replica cannot start the count again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .database import Database
from .models import LoginTries
from .types import utcnow

FREE_TRIES = 5  # wrong passwords in a row before the first pause
FIRST_PAUSE = timedelta(seconds=30)  # then doubled by each wrong one after the pause
LONGEST_PAUSE = timedelta(minutes=15)
FORGOTTEN_AFTER = timedelta(days=1)  # a day without a wrong one starts the count again


def pause_after(failures: int, now: datetime) -> datetime | None:
    """Until when an address waits after ``failures`` wrong passwords in a row (None: not yet)."""
    beyond = failures - FREE_TRIES
    if beyond < 0:
        return None
    return now + min(FIRST_PAUSE * 2 ** min(beyond, 16), LONGEST_PAUSE)


def _key(address: str, account: str) -> tuple[str, str]:
    return address[:64], account[:80]


class LoginQueries(Database):
    def login_paused_until(self, address: str, account: str, *, now: datetime | None = None) -> datetime | None:
        """When this address may try the account's password again, if it must wait."""
        now = now or utcnow()
        with self.session() as session:
            row = session.get(LoginTries, _key(address, account))
        if row is None or row.paused_until is None or row.paused_until <= now:
            return None
        return row.paused_until

    def login_failed(self, address: str, account: str, *, now: datetime | None = None) -> datetime | None:
        """Count one more wrong password from this address; until when it must now wait, if it must.
        The row is locked while counted, so tries from several sessions at once each count."""
        now = now or utcnow()
        address, account = _key(address, account)
        for attempt in range(2):
            try:
                with self.session() as session, session.begin():
                    row = session.get(LoginTries, (address, account), with_for_update=True)
                    if row is None:
                        row = LoginTries(address=address, account=account, failures=0, last_failure_at=now)
                        session.add(row)
                    elif now - row.last_failure_at > FORGOTTEN_AFTER:
                        row.failures = 0
                    row.failures += 1
                    row.last_failure_at = now
                    row.paused_until = pause_after(row.failures, now)
                    return row.paused_until
            except IntegrityError:  # another session counted this address's first one at the same moment
                if attempt:
                    raise
        return None  # not reached

    def login_succeeded(self, address: str, account: str) -> None:
        """A right password: this address starts again with its free tries."""
        address, account = _key(address, account)
        with self.session() as session, session.begin():
            session.execute(delete(LoginTries).where(LoginTries.address == address, LoginTries.account == account))
