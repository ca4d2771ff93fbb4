"""Characters (Cameo): written queued by the Characters page, sent and followed by the engine."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from .database import Database
from .models import Character
from .status import ACTIVE, Status
from .types import utcnow


class CharacterQueries(Database):
    def add_character(
        self,
        *,
        label: str,
        source: str,
        timestamps: str,
        service: str,
        account: str | None,
        request_key: str | None = None,
        source_pid: str | None = None,
        source_ref: str | None = None,
        thumb_path: str | None = None,
    ) -> tuple[Character, bool]:
        """Write a character request as ``queued``; the same request key returns the first row."""
        values = {
            "label": label,
            "source": source,
            "timestamps": timestamps,
            "service": service,
            "account": account,
            "cost": 0,
            "request_key": request_key,
            "source_pid": source_pid,
            "source_ref": source_ref,
            "thumb_path": thumb_path,
            "status": Status.QUEUED,
            "created_at": utcnow(),
        }
        try:
            with self.session() as session, session.begin():
                row_id = session.execute(insert(Character).values(**values).returning(Character.id)).scalar_one()
        except IntegrityError:
            with self.session() as session:
                existing = session.scalars(select(Character).where(Character.request_key == request_key)).first()
            if existing is None or request_key is None:
                raise
            return existing, False
        return self.get_character(row_id), True

    def get_character(self, row_id: int) -> Character | None:
        with self.session() as session:
            return session.get(Character, row_id)

    def characters(self, *, ready_only: bool = False) -> list[Character]:
        query = select(Character).order_by(Character.created_at.desc(), Character.id.desc())
        if ready_only:
            query = query.where(Character.status == Status.SUCCEEDED, Character.character_id.is_not(None))
        with self.session() as session:
            return list(session.scalars(query))

    def active_characters(self, service: str, account: str | None) -> list[Character]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Character)
                    .where(
                        Character.service == service,
                        Character.account == account,
                        Character.status.in_(ACTIVE),
                    )
                    .order_by(Character.id)
                )
            )

    def count_characters(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Character)) or 0

    def rename_character(self, row_id: int, label: str) -> None:
        self._set(Character, row_id, label=label.strip()[:120])

    def delete_character(self, row_id: int) -> Character | None:
        with self.session() as session, session.begin():
            character = session.get(Character, row_id)
            if character is not None:
                session.delete(character)
            return character
