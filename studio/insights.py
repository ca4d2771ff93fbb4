"""Insights: what was made, what it cost, what was refused and how long things take, as SQL
aggregates (an hour x model x status table at most; never the rows themselves), shaped here with
pandas for the Insights page's charts and their one-line readings."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, case, extract, func, literal, select

from grsai_api import MODELS

from .db import Batch, Character, FailureReason, Generation, LibraryFilter, Status, Store
from .db.models import ChatCall
from .library import choice_words

BUCKET_SECONDS = 1  # generation times are counted to the second (a bounded table: seconds x model x size)


CHARACTERS = "characters"  # the hourly table's "model" for characters (Cameo): paid, not generations
PROMPT_HELP = "prompt help"  # the hourly table's "model" for prompt help's chat calls: paid, nothing made


def model_name(model: str) -> str:
    if model == CHARACTERS:
        return "Characters (Cameo)"
    if model == PROMPT_HELP:
        return "Prompt help (chat)"
    entry = MODELS.get(model)
    return entry.name if entry is not None else model


def makes(model: str) -> str:
    if model in (CHARACTERS, PROMPT_HELP):
        return model
    entry = MODELS.get(model)
    return "images" if entry is not None and entry.kind == "image" else "videos"


NOUNS = {"videos": ("video", "videos"), "images": ("image", "images"), CHARACTERS: ("character", "characters")}


def made_words(made: pd.DataFrame) -> str:
    """What "Made per day" shows, in words: "24 videos, 0 images and 1 character; the busiest day was
    20 Nov (25)." ``made``: day, makes, made. Videos and images are always named, characters when
    there are any, so the words add up to the bars and the busiest day."""
    totals = made.groupby("makes")["made"].sum()
    counts = [(kind, int(totals.get(kind, 0))) for kind in NOUNS if kind != CHARACTERS or totals.get(kind, 0)]
    parts = [f"{count:,} {NOUNS[kind][count != 1]}" for kind, count in counts]
    said = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    busiest = made.groupby("day")["made"].sum()
    if busiest.empty or not busiest.max():
        return said + "."
    return said + f"; the busiest day was {busiest.idxmax():%d %b} ({int(busiest.max()):,})."


def _hour(store: Store, column):
    if store.dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _seconds(store: Store):
    if store.dialect == "postgresql":
        return extract("epoch", Generation.finished_at - Generation.submitted_at)
    return (func.julianday(Generation.finished_at) - func.julianday(Generation.submitted_at)) * 86400.0


@dataclass
class Insights:
    """The aggregates for one filter (dates in the browser's zone, models, kinds)."""

    hourly: pd.DataFrame  # hour (UTC), model, status, count, credits
    outcomes: pd.DataFrame  # model, status, failure_reason, count
    times: pd.DataFrame  # model, size, bucket (seconds), count
    batches: pd.DataFrame  # batch, name, rows, succeeded, seconds
    zone: str

    @classmethod
    def load(cls, store: Store, wanted: LibraryFilter) -> Insights:
        # the Library's own filters; a storyboard's joined film is not a request to the service (its shots are)
        where = and_(store.filter_clause(wanted), Generation.kind != "storyboard")
        hour = _hour(store, Generation.created_at).label("hour")
        seconds = _seconds(store)
        bucket = (func.round(seconds / BUCKET_SECONDS) * BUCKET_SECONDS).label("bucket")
        finished = and_(Generation.status == Status.SUCCEEDED, Generation.submitted_at.is_not(None),
                        Generation.finished_at.is_not(None))  # fmt: skip
        with store.session() as session:
            hourly = session.execute(
                select(hour, Generation.model, Generation.status, func.count().label("count"),
                       func.sum(Generation.cost).label("credits"))
                .where(where).group_by(hour, Generation.model, Generation.status)
            ).all()  # fmt: skip
            outcomes = session.execute(
                select(Generation.model, Generation.status, Generation.failure_reason, func.count().label("count"))
                .where(where).group_by(Generation.model, Generation.status, Generation.failure_reason)
            ).all()  # fmt: skip
            times = session.execute(
                select(Generation.model, Generation.size, bucket, func.count().label("count"))
                .where(where, finished).group_by(Generation.model, Generation.size, bucket)
            ).all()  # fmt: skip
            characters = store.character_clause(wanted)
            if characters is not None:  # paid too: the spend per day is the service's balance drop
                character_hour = _hour(store, Character.created_at).label("hour")
                hourly = list(hourly) + list(session.execute(
                    select(character_hour, literal(CHARACTERS), Character.status, func.count(),
                           func.sum(Character.cost))
                    .where(characters).group_by(character_hour, Character.status)
                ).all())  # fmt: skip
            chats = store.chat_call_clause(wanted)
            if chats is not None:  # paid as well: each prompt-help call is charged
                chat_hour = _hour(store, ChatCall.created_at).label("hour")
                hourly = list(hourly) + list(session.execute(
                    select(chat_hour, literal(PROMPT_HELP), ChatCall.status, func.count(), func.sum(ChatCall.cost))
                    .where(chats).group_by(chat_hour, ChatCall.status)
                ).all())  # fmt: skip
            batches = session.execute(
                select(
                    Batch.id.label("batch"), Batch.name, func.count(Generation.id).label("rows"),
                    func.sum(case((Generation.status == Status.SUCCEEDED, 1), else_=0)).label("succeeded"),
                    func.min(Generation.submitted_at).label("first"), func.max(Generation.finished_at).label("last"),
                )
                .join(Generation, Generation.batch_id == Batch.id)
                .where(where).group_by(Batch.id, Batch.name).order_by(Batch.id.desc()).limit(20)
            ).all()  # fmt: skip
        hourly_frame = pd.DataFrame(hourly, columns=["hour", "model", "status", "count", "credits"])
        batch_frame = pd.DataFrame(batches, columns=["batch", "name", "rows", "succeeded", "first", "last"])
        if not batch_frame.empty:
            span = pd.to_datetime(batch_frame["last"]) - pd.to_datetime(batch_frame["first"])
            batch_frame["seconds"] = span.dt.total_seconds()
        return cls(
            hourly_frame,
            pd.DataFrame(outcomes, columns=["model", "status", "failure_reason", "count"]),
            pd.DataFrame(times, columns=["model", "size", "bucket", "count"]),
            batch_frame,
            wanted.tz,
        )

    @property
    def empty(self) -> bool:
        return self.hourly.empty

    def daily(self) -> pd.DataFrame:
        """day (the browser's), model, makes, made (finished), credits: per day and model."""
        frame = self.hourly.copy()
        if frame.empty:
            return pd.DataFrame(columns=["day", "model", "makes", "made", "credits"])
        hours = pd.to_datetime(frame["hour"], utc=True)
        frame["day"] = hours.dt.tz_convert(ZoneInfo(self.zone)).dt.date
        # a prompt-help call is paid for (its credits count) but makes nothing to count as made
        frame["made"] = frame["count"].where((frame["status"] == Status.SUCCEEDED) & (frame["model"] != PROMPT_HELP), 0)
        frame["credits"] = frame["credits"].fillna(0).astype(int)
        grouped = frame.groupby(["day", "model"], as_index=False)[["made", "credits"]].sum()
        grouped["makes"] = grouped["model"].map(makes)
        grouped["model"] = grouped["model"].map(model_name)
        return grouped

    def success(self) -> pd.DataFrame:
        """model, ended, succeeded, rate, and the failures by reason, per model (finished work only)."""
        frame = self.outcomes[self.outcomes["status"].isin([Status.SUCCEEDED, Status.FAILED])].copy()
        if frame.empty:
            return pd.DataFrame(columns=["model", "outcome", "count", "rate"])
        frame["outcome"] = [
            "Made" if status == Status.SUCCEEDED else FailureReason.of(reason).short
            for status, reason in zip(frame["status"], frame["failure_reason"], strict=True)
        ]
        frame["model"] = frame["model"].map(model_name)
        grouped = frame.groupby(["model", "outcome"], as_index=False)["count"].sum()
        totals = grouped.groupby("model")["count"].transform("sum")
        grouped["rate"] = grouped["count"] / totals
        return grouped

    def time_spread(self) -> pd.DataFrame:
        """model, size, median, q1, q3 (seconds from sent to finished), made: from the buckets."""
        rows = []
        for (model, size), part in self.times.groupby(["model", "size"]):
            part = part.sort_values("bucket")
            counts = part["count"].cumsum()
            total = int(counts.iloc[-1])

            def at(share: float, part=part, counts=counts, total=total) -> float:
                return float(part["bucket"].iloc[int((counts >= share * total).to_numpy().argmax())])

            rows.append({"model": model_name(model), "size": choice_words(size) if size else size, "q1": at(0.25), "median": at(0.5), "q3": at(0.75), "made": total})
        return pd.DataFrame(rows, columns=["model", "size", "q1", "median", "q3", "made"])

    def credits_left(self, now_left: int | None) -> pd.DataFrame:
        """day, left: the balance at each day's end, worked back from today's by what was spent
        since (top-ups are not known to the studio)."""
        daily = self.daily().groupby("day", as_index=False)["credits"].sum().sort_values("day")
        if daily.empty or now_left is None:
            return pd.DataFrame(columns=["day", "left"])
        spent_after = daily["credits"][::-1].cumsum()[::-1].shift(-1, fill_value=0)
        daily["left"] = now_left + spent_after
        return daily[["day", "left"]]

