"""What Present mode and Compare show: the finished results of one set (a remix family, a
storyboard's film and shots, the takes of one prompt, or chosen items), in the order shown."""

from __future__ import annotations

from sqlalchemy import or_, select

from .database import Database
from .models import Generation
from .status import Status

MAX_SHOWN = 48  # a presentation of more than this many is not a demo


def _finished():
    """Made, and its file still kept (a discarded take's files are gone)."""
    return (Generation.status == Status.SUCCEEDED) & or_(Generation.pick.is_(None), Generation.pick != "discarded")


class PresentQueries(Database):
    def family_to_present(self, pid: str) -> list[Generation]:
        """A video's family, the original first, then every remix in the order they were made."""
        family = self.family_pids(pid)  # type: ignore[attr-defined] - GenerationQueries, in Store
        with self.session() as session:
            rows = session.scalars(
                select(Generation).where(Generation.pid.in_(family), _finished()).order_by(Generation.created_at, Generation.id)
            )
            found = {row.pid: row for row in rows}
        return [found[p] for p in family if p in found][:MAX_SHOWN]

    def storyboard_to_present(self, board_id: int) -> list[Generation]:
        """A storyboard's film, then its shots in order (the newest made try of each)."""
        with self.session() as session:
            rows = list(
                session.scalars(
                    select(Generation)
                    .where(Generation.storyboard_id == board_id, _finished())
                    .order_by(Generation.storyboard_shot, Generation.id)
                )
            )
        films = [r for r in rows if r.kind == "storyboard"]
        shots = {r.storyboard_shot: r for r in rows if r.kind != "storyboard"}  # the newest try wins
        return (films[-1:] + [shots[n] for n in sorted(shots)])[:MAX_SHOWN]

    def group_to_present(self, group_key: str) -> list[Generation]:
        """The takes of one prompt made at once, in the order they were asked for."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation)
                    .where(Generation.group_key == group_key, _finished())
                    .order_by(Generation.id)
                    .limit(MAX_SHOWN)
                )
            )

    def chosen_to_present(self, ids: list[int]) -> list[Generation]:
        """Items chosen by id (Compare), in the order they were chosen; what is not finished is left out."""
        with self.session() as session:
            rows = {r.id: r for r in session.scalars(select(Generation).where(Generation.id.in_(ids), _finished()))}
        return [rows[i] for i in ids if i in rows]
