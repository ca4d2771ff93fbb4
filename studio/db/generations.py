"""Generations: written by pages (queued), read by the Library, Generate, Remix and Batch pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from grsai_api import INPUT_REFUSALS, MODELS, default_model

from .database import Database
from .models import Character, ChatCall, Generation
from .status import ACTIVE, Status
from .types import utcnow

KINDS = ("text", "image", "remix")


@dataclass(frozen=True)
class LibraryFilter:
    text: str = ""
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    batch_id: int | None = None
    family_pids: tuple[str, ...] = ()  # one video's family: these pids and every remix of them
    models: tuple[str, ...] = ()  # model ids
    makes: tuple[str, ...] = ()  # "video" / "image"
    tz: str = "UTC"  # the zone the dates are in (the browser's)


# a model's own fields, kept in ``options`` (Sora's fields have columns of their own)
OPTION_FIELDS = ("first_frame_url", "last_frame_url", "reference_urls", "resolution", "seed", "image_size", "variants")
# Request fields with columns of their own; every other field a model's catalogue entry lists is
# kept in the row's options (quality, background, mask, audios, a field added by a models file …).
COLUMN_FIELDS = ("prompt", "model", "aspect_ratio", "duration", "size", "image_url", "remix_target_id", "characters")


def kind_of(params: dict[str, Any]) -> str:
    """What a generation starts from: a remix, images, or text alone."""
    if params.get("remix_target_id"):
        return "remix"
    if any(params.get(k) for k in ("image_url", "first_frame_url", "last_frame_url", "reference_urls")):
        return "image"
    return "text"


def generation_row(
    params: dict[str, Any], *, service: str, account: str | None, status: str, cost: int = 0, **extra: Any
) -> dict[str, Any]:
    """A generation's columns from request parameters (as the client takes them)."""
    model = str(params.get("model") or default_model("video"))
    entry = MODELS.get(model)
    names = [n for n in entry.fields if n not in COLUMN_FIELDS] if entry is not None else OPTION_FIELDS
    options = {k: params[k] for k in names if params.get(k) not in (None, "", [], ())}
    duration = params.get("duration") or (entry.default_duration if entry is not None else 10) or 0
    return {
        "kind": kind_of(params),
        "status": status,
        "model": model,
        "prompt": str(params.get("prompt") or "").strip(),
        "aspect_ratio": str(params.get("aspect_ratio") or (entry.aspect_ratios[0] if entry else "16:9")),
        "duration": int(duration),
        "size": str(params.get("size") or ("small" if entry is None or entry.sizes else "")),
        "options": options or None,
        "image_ref": params.get("image_url") or None,
        "remix_target_id": params.get("remix_target_id") or None,
        "characters": params.get("characters") or None,
        "service": service,
        "account": account,
        "cost": int(cost),
        "created_at": utcnow(),
        **extra,
    }


def _models_making(makes: tuple[str, ...]) -> list[str]:
    return [m.id for m in MODELS.values() if m.kind in makes]


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` literally (a % or _ typed in the search is not a wildcard)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _day_start(day: date, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = UTC
    return datetime.combine(day, time.min, zone).astimezone(UTC)


class GenerationQueries(Database):
    # -- writing ------------------------------------------------------------------------------
    def add_generation(
        self,
        params: dict[str, Any],
        *,
        service: str,
        account: str | None,
        request_key: str | None = None,
        **extra: Any,
    ) -> tuple[Generation, bool]:
        """Write a generation as ``queued`` (the engine sends it). A second write with the same
        request key (a double click, a second tab of the same submission) returns the first row
        and False."""
        values = generation_row(
            params, service=service, account=account, status=Status.QUEUED, **extra
        )
        values["request_key"] = request_key
        try:
            with self.session() as session, session.begin():
                row_id = session.execute(insert(Generation).values(**values).returning(Generation.id)).scalar_one()
        except IntegrityError:
            existing = self.by_request_key(request_key) if request_key else None
            if existing is None:
                raise
            return existing, False
        return self.get(row_id), True

    def by_request_key(self, request_key: str) -> Generation | None:
        with self.session() as session:
            return session.scalars(select(Generation).where(Generation.request_key == request_key)).first()

    def hide(self, generation_id: int) -> None:
        """Hide from Generate's list; the engine still follows it and the Library still shows it."""
        self._set(Generation, generation_id, hidden=True)

    def set_pick(self, generation_id: int, pick: str) -> bool:
        """Keep or discard one of N made of one prompt at once: only a finished one of a group,
        never one discarded already (its files are gone). Discarding also forgets its files, so
        nothing points at what the caller is about to remove; its cost stays (it was paid).
        False when nothing changed (another tab got there first, or it is not such a row)."""
        values: dict[str, Any] = {"pick": pick}
        if pick == "discarded":
            values.update(video_path=None, thumb_path=None, files=None)
        with self.session() as session, session.begin():
            result = session.execute(
                update(Generation)
                .where(
                    Generation.id == generation_id,
                    Generation.group_key.is_not(None),
                    Generation.status == Status.SUCCEEDED,
                    or_(Generation.pick.is_(None), Generation.pick != "discarded"),
                )
                .values(**values)
            )
        return bool(result.rowcount)

    def cancel_queued_generation(self, generation_id: int) -> bool:
        with self.session() as session, session.begin():
            result = session.execute(
                update(Generation)
                .where(Generation.id == generation_id, Generation.status == Status.QUEUED)
                .values(status=Status.CANCELLED, cost=0, finished_at=utcnow())
            )
        return bool(result.rowcount)

    def delete(self, generation_id: int) -> Generation | None:
        with self.session() as session, session.begin():
            generation = session.get(Generation, generation_id)
            if generation is not None:
                session.delete(generation)
            return generation

    # -- reading ------------------------------------------------------------------------------
    def get(self, generation_id: int) -> Generation | None:
        with self.session() as session:
            return session.get(Generation, generation_id)

    def get_many(self, ids) -> list[Generation]:
        ids = list(ids)
        if not ids:
            return []
        with self.session() as session:
            return list(session.scalars(select(Generation).where(Generation.id.in_(ids))))

    def by_pid(self, pid: str) -> Generation | None:
        with self.session() as session:
            return session.scalars(select(Generation).where(Generation.pid == pid)).first()

    def group_members(self, group_key: str) -> list[Generation]:
        """The N made of one prompt at once, in the order they were asked for."""
        with self.session() as session:
            return list(
                session.scalars(select(Generation).where(Generation.group_key == group_key).order_by(Generation.id))
            )

    def group_sizes(self, group_keys) -> dict[str, int]:
        """How many were made at once in each of these groups (one query for a page of tiles)."""
        keys = [k for k in set(group_keys) if k]
        if not keys:
            return {}
        with self.session() as session:
            rows = session.execute(
                select(Generation.group_key, func.count()).where(Generation.group_key.in_(keys)).group_by(
                    Generation.group_key
                )
            )
            return {key: count for key, count in rows}

    def _singles(self, service: str, account: str | None):
        """An account's single generations (not batch rows, not a storyboard's shots or film)."""
        return select(Generation).where(
            Generation.service == service,
            Generation.account == account,
            Generation.batch_id.is_(None),
            Generation.storyboard_id.is_(None),
        )

    def newest_refusal(self, service: str, account: str | None) -> int:
        """The id of an account's newest input refusal (0: none), so its history is read again only
        when there is something new in it."""
        with self.session() as session:
            return session.scalar(
                select(func.max(Generation.id)).where(
                    Generation.service == service,
                    Generation.account == account,
                    Generation.failure_reason.in_(INPUT_REFUSALS),
                )
            ) or 0

    def moderation_history(self, service: str, account: str | None, limit: int = 200) -> tuple[list[str], list[str]]:
        """An account's prompts the service refused at input (newest ``limit``), and its accepted ones."""
        base = select(Generation.prompt).where(Generation.service == service, Generation.account == account)
        with self.session() as session:
            refused = session.scalars(
                base.where(Generation.failure_reason.in_(INPUT_REFUSALS))
                .order_by(Generation.id.desc())
                .limit(limit)
            ).all()
            accepted = session.scalars(
                base.where(Generation.status == Status.SUCCEEDED).order_by(Generation.id.desc()).limit(limit * 5)
            ).all()
        return list(refused), list(accepted)

    def recent_for(
        self, service: str, account: str | None, limit: int = 6, makes: tuple[str, ...] = ()
    ) -> list[Generation]:
        """An account's latest single generations (not hidden), newest first; only videos or
        only images with ``makes``."""
        query = self._singles(service, account).where(Generation.hidden.is_(False))
        if makes:
            query = query.where(Generation.model.in_(_models_making(makes)))
        with self.session() as session:
            return list(session.scalars(query.order_by(Generation.id.desc()).limit(limit)))

    def active_for(self, service: str, account: str | None) -> list[Generation]:
        """An account's single generations still being sent, made or saved."""
        query = self._singles(service, account).where(Generation.status.in_(ACTIVE))
        with self.session() as session:
            return list(session.scalars(query.order_by(Generation.id)))

    def _filtered(self, f: LibraryFilter):
        query = select(Generation)
        if f.text.strip():
            like = _like(f.text.strip())
            query = query.where(
                or_(Generation.prompt.ilike(like, escape="\\"), Generation.pid.ilike(like, escape="\\"))
            )
        if f.statuses:
            query = query.where(Generation.status.in_(f.statuses))
        if f.kinds:
            query = query.where(Generation.kind.in_(f.kinds))
        if f.aspect_ratios:
            query = query.where(Generation.aspect_ratio.in_(f.aspect_ratios))
        if f.date_from:
            query = query.where(Generation.created_at >= _day_start(f.date_from, f.tz))
        if f.date_to:
            query = query.where(Generation.created_at < _day_start(f.date_to + timedelta(days=1), f.tz))
        if f.batch_id is not None:
            query = query.where(Generation.batch_id == f.batch_id)
        if f.models:
            query = query.where(Generation.model.in_(f.models))
        if f.makes:
            query = query.where(Generation.model.in_(_models_making(f.makes)))
        if f.family_pids:
            query = query.where(
                or_(Generation.pid.in_(f.family_pids), Generation.remix_target_id.in_(f.family_pids))
            )
        return query

    def character_clause(self, f: LibraryFilter):
        """Characters (Cameo) that a filter takes in, for counting what they cost: only a filter of
        dates and statuses does (they have no prompt, model choice, ratio or batch); None when it
        leaves them out."""
        if f.text.strip() or f.kinds or f.aspect_ratios or f.batch_id is not None or f.family_pids or f.models:
            return None
        if f.makes and "video" not in f.makes:
            return None
        clauses = [true()]
        if f.statuses:
            clauses.append(Character.status.in_(f.statuses))
        if f.date_from:
            clauses.append(Character.created_at >= _day_start(f.date_from, f.tz))
        if f.date_to:
            clauses.append(Character.created_at < _day_start(f.date_to + timedelta(days=1), f.tz))
        return and_(*clauses)

    def filter_clause(self, f: LibraryFilter):
        """The Library's filter as a WHERE clause, for queries of their own (Insights' aggregates)."""
        clause = self._filtered(f).whereclause
        return clause if clause is not None else true()

    def _listed(self, f: LibraryFilter):
        """The Library's items: the filter's rows, with what is folded under another item left
        out (discarded ones of N made at once, under their kept siblings; a storyboard's shots,
        under its film)."""
        return self._filtered(f).where(
            or_(Generation.pick.is_(None), Generation.pick != "discarded"),
            or_(Generation.storyboard_id.is_(None), Generation.kind == "storyboard"),
        )

    def search(self, f: LibraryFilter, *, offset: int = 0, limit: int = 24) -> tuple[list[Generation], int]:
        """One page of the Library's items, newest first, and how many match in all."""
        query = self._listed(f)
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Generation.created_at.desc(), Generation.id.desc()).offset(offset).limit(limit)
            )
            return list(rows), total

    def export_rows(self, f: LibraryFilter) -> list[Generation]:
        with self.session() as session:
            return list(session.scalars(self._listed(f).order_by(Generation.created_at.desc())))

    def recent_prompts(self, limit: int = 10) -> list[str]:
        """Prompts people typed (batch rows are left out: they are a template's output)."""
        with self.session() as session:
            rows = session.execute(
                select(Generation.prompt, func.max(Generation.created_at).label("last"))
                .where(Generation.batch_id.is_(None))
                .group_by(Generation.prompt)
                .order_by(func.max(Generation.created_at).desc())
                .limit(limit)
            )
            return [r.prompt for r in rows]

    def finished_videos(self, limit: int = 200) -> list[Generation]:
        """Videos that can be remixed or cut into characters (they have a pid)."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation)
                    .where(Generation.status == Status.SUCCEEDED, Generation.pid.is_not(None))
                    .order_by(Generation.created_at.desc())
                    .limit(limit)
                )
            )

    def totals(self) -> dict[str, Any]:
        """The Library's header: its items (what its list shows, folded as it folds them) by status,
        and what was spent on everything, from the one spending figure."""
        listed = self._listed(LibraryFilter()).subquery()
        with self.session() as session:
            rows = session.execute(select(listed.c.status, func.count()).group_by(listed.c.status))
            by_status = {status: count for status, count in rows}
        return {"count": sum(by_status.values()), "by_status": by_status, "spent": self.spent()}

    def spent(self) -> int:
        """Credits that were, or may have been, charged: every request sent to the service (each of
        N made at once, kept or discarded; each storyboard shot, not the film joined here; every
        character; every prompt-help chat call). The one figure the Library, Settings and Insights'
        total show."""
        with self.session() as session:
            made = session.scalar(
                select(func.coalesce(func.sum(Generation.cost), 0)).where(Generation.kind != "storyboard")
            )
            characters = session.scalar(select(func.coalesce(func.sum(Character.cost), 0)))
            chats = session.scalar(select(func.coalesce(func.sum(ChatCall.cost), 0)))
        return int(made or 0) + int(characters or 0) + int(chats or 0)

    # -- lineage: original -> remix -> remix of remix ----------------------------------------
    def ancestors(self, generation: Generation, limit: int = 50) -> list[Generation]:
        """The chain above a generation, oldest first (its parent, the parent's parent …)."""
        chain: list[Generation] = []
        parent_pid = generation.remix_target_id
        with self.session() as session:
            while parent_pid and len(chain) < limit:
                parent = session.scalars(select(Generation).where(Generation.pid == parent_pid)).first()
                if parent is None:
                    break
                chain.insert(0, parent)
                parent_pid = parent.remix_target_id
        return chain

    def children(self, pid: str) -> list[Generation]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Generation).where(Generation.remix_target_id == pid).order_by(Generation.created_at)
                )
            )

    def family_pids(self, pid: str, limit: int = 500) -> tuple[str, ...]:
        """Every pid in a video's family: its root original and all remixes below it."""
        root = self.by_pid(pid)
        if root is not None:
            ancestors = self.ancestors(root)
            root_pid = ancestors[0].pid if ancestors else pid
        else:
            root_pid = pid
        family, frontier = [root_pid], [root_pid]
        with self.session() as session:
            while frontier and len(family) < limit:
                below = list(
                    session.scalars(
                        select(Generation.pid).where(
                            Generation.remix_target_id.in_(frontier), Generation.pid.is_not(None)
                        )
                    )
                )
                frontier = [p for p in below if p not in family]
                family.extend(frontier)
        return tuple(family)
