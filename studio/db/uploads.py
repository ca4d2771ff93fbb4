"""Files put in the service's storage: one row per (service, account, content), so a reference image
used in a hundred requests is uploaded once and then named by its URL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .database import Database
from .models import Upload
from .types import utcnow


class UploadQueries(Database):
    def uploaded(self, service: str, account: str, digest: str, max_age: timedelta) -> str | None:
        """The URL of this content in this account's storage, if put there within ``max_age``."""
        with self.session() as session:
            row = session.scalars(
                select(Upload).where(Upload.service == service, Upload.account == account, Upload.digest == digest)
            ).first()
        if row is None or utcnow() - row.created_at > max_age:
            return None
        return row.url

    def remember_upload(self, service: str, account: str, digest: str, url: str) -> None:
        try:
            with self.session() as session, session.begin():
                session.execute(
                    delete(Upload).where(Upload.service == service, Upload.account == account, Upload.digest == digest)
                )
                session.add(Upload(service=service, account=account, digest=digest, url=url, created_at=utcnow()))
        except IntegrityError:  # another process put the same file at the same moment: theirs is as good
            pass
