"""Batch: a table of products -> many videos.

Three parts, free of Streamlit:

- planning: read a CSV (or pasted rows), fill a prompt template from each row's columns, check every
  row the way a single request is checked; invalid rows are listed with the reason and never sent;
- ``BatchService``: write the batch and all its rows to the store *before* anything is sent (each a
  ``queued`` generation), then pause / resume / cancel / retry the failed, results, the zip;
- ``BatchRunner``: one per process, a background thread with its own event loop that sends the
  queued rows through ``AsyncClient`` with bounded concurrency (a shared back-off on 429 and 503),
  follows the running ones with the same tick as the sidebar, and picks up where it was after a
  restart. A row is claimed in the store before it is sent, so no row is ever sent twice.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import csv
import io
import random
import re
import string
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from grsai_api import (
    APIConnectionError,
    AuthenticationError,
    GrsaiError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    SubmissionUnknownError,
    check_timestamps,
    validate_video_request,
)

from .characters import check_mentions
from .connection import Connection
from .costs import video_cost
from .media import MediaStore
from .store import CANCELLED, QUEUED, RUNNING, Batch, Generation, Store, utcnow
from .tracking import tick_async

MAX_ROWS = 5000
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
MAX_MODERATION_RETRIES = 3
POLL_BUDGET = 100  # running tasks asked about per tick
OPTIONAL_COLUMNS = ("aspect_ratio", "duration", "size", "image_url", "characters")
CLIP_WITH_SPAN = re.compile(
    r"^(?P<url>\S+?)(?:\s+(?P<start>\d+(?:\.\d+)?)\s*[-–]\s*(?P<end>\d+(?:\.\d+)?))?$"
)


class BatchInputError(ValueError):
    """The table or the template cannot be used at all (not a single row's problem)."""


class NotEnoughCredits(ValueError):
    pass


# -- planning -------------------------------------------------------------------------------------
def read_table(data: bytes | str) -> pd.DataFrame:
    """A CSV (or rows pasted from a spreadsheet: tabs, commas or semicolons) as text columns with
    tidy names (``Product Name`` -> ``product_name``); empty rows dropped."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise BatchInputError("The table is empty: add a header row and at least one product.")
    first = text.lstrip().splitlines()[0]
    separator = max(("\t", ",", ";"), key=first.count) if any(c in first for c in "\t,;") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise BatchInputError(f"This is not a readable CSV: {str(exc).splitlines()[0]}") from None
    frame.columns = [
        re.sub(r"\W+", "_", str(c).strip().lower()).strip("_") or f"column_{i + 1}"
        for i, c in enumerate(frame.columns)
    ]
    if frame.columns.duplicated().any():
        twice = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise BatchInputError(f"Two columns have the same name: {', '.join(twice)}.")
    frame = frame[~(frame.apply(lambda r: "".join(r).strip(), axis=1) == "")].reset_index(drop=True)
    if frame.empty:
        raise BatchInputError("The table has a header but no rows.")
    if len(frame) > MAX_ROWS:
        raise BatchInputError(f"The table has {len(frame):,} rows; a batch takes at most {MAX_ROWS:,}.")
    return frame


def template_fields(template: str) -> list[str]:
    """The ``{column}`` placeholders of a template, in order; BatchInputError if it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise BatchInputError(
            f"The template has a stray brace ({exc}). Write {{column}} for a value, {{{{ or }}}} for a brace."
        ) from None
    fields = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not re.fullmatch(r"\w+", name):
            raise BatchInputError(f"“{{{name}}}” is not a column name: use letters, digits and _ only.")
        fields.append(name)
    return list(dict.fromkeys(fields))


@dataclass(frozen=True)
class PlannedRow:
    row: int  # 1 = the first row under the header, as a spreadsheet user counts
    params: dict[str, Any]


@dataclass(frozen=True)
class InvalidRow:
    row: int
    reason: str


@dataclass
class Plan:
    rows: list[PlannedRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)

    def cost(self, limit: int | None = None) -> float:
        return video_cost(len(self.rows) if limit is None else min(limit, len(self.rows)))

    def preview(self, count: int = 10) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "row": r.row,
                    "prompt": r.params["prompt"],
                    "aspect_ratio": r.params["aspect_ratio"],
                    "duration": r.params["duration"],
                    "size": r.params["size"],
                    "image_url": r.params.get("image_url") or "",
                    "characters": len(r.params.get("characters") or []),
                }
                for r in self.rows[:count]
            ]
        )


def _clips(cell: str) -> list[dict[str, str]]:
    """``characters`` cell: clip URLs separated by ``|`` or ``;``, each optionally with a span
    ``start-end`` in seconds (``https://…/fox.mp4 1-3``); the first 3 s by default."""
    clips = []
    for part in re.split(r"[|;]", cell):
        part = part.strip()
        if not part:
            continue
        match = CLIP_WITH_SPAN.match(part)
        if not match:
            raise InvalidRequestError(
                f"“{part}” is not a clip address with an optional span.", field="characters"
            )
        span = (float(match["start"]), float(match["end"])) if match["start"] else (0, 3)
        clips.append({"url": match["url"], "timestamps": check_timestamps(span, "characters")})
    return clips


def plan_rows(
    frame: pd.DataFrame,
    *,
    template: str | None = None,
    defaults: dict[str, Any] | None = None,
    saved_characters: set[str] | None = None,
) -> Plan:
    """What each row will send, checked like a single request; rows that will not do are listed."""
    defaults = {"aspect_ratio": "16:9", "duration": 10, "size": "small", **(defaults or {})}
    template = (template or "").strip()
    columns = set(frame.columns)
    fields = template_fields(template) if template else []
    if template:
        missing = [f for f in fields if f not in columns]
        if missing:
            raise BatchInputError(
                f"The template names {', '.join('{' + m + '}' for m in missing)}, which "
                f"{'is not a column' if len(missing) == 1 else 'are not columns'} of the table. "
                f"Its columns are: {', '.join(frame.columns)}."
            )
    elif "prompt" not in columns:
        raise BatchInputError(
            "The table has no prompt column. Add one, or write a prompt template with "
            f"{{column}} placeholders from: {', '.join(frame.columns)}."
        )
    saved = saved_characters or set()
    plan = Plan()
    for index, record in enumerate(frame.to_dict("records"), start=1):
        record = {k: (v or "").strip() for k, v in record.items()}
        empty = [f for f in fields if not record.get(f)]
        if empty:
            plan.invalid.append(
                InvalidRow(index, f"{', '.join(empty)} is empty, so the template cannot be filled.")
            )
            continue
        prompt = template.format_map(record) if template else record.get("prompt", "")
        params: dict[str, Any] = {
            "prompt": prompt.strip(),
            "aspect_ratio": record.get("aspect_ratio") or defaults["aspect_ratio"],
            "duration": record.get("duration") or defaults["duration"],
            "size": (record.get("size") or defaults["size"]).lower(),
        }
        if record.get("image_url"):
            params["image_url"] = record["image_url"]
        try:
            if record.get("characters"):
                params["characters"] = _clips(record["characters"])
            validate_video_request(**params)
            params["duration"] = int(float(params["duration"]))
        except InvalidRequestError as exc:
            plan.invalid.append(
                InvalidRow(index, f"{exc.field}: {exc.message}" if exc.field else exc.message)
            )
            continue
        mentions = check_mentions(params["prompt"], saved, len(params.get("characters") or []))
        if mentions.unknown:
            names = ", ".join("@" + n for n in mentions.unknown)
            plan.invalid.append(InvalidRow(index, f"prompt: {names} is not one of your characters."))
            continue
        if mentions.count > 2:
            plan.invalid.append(
                InvalidRow(
                    index, f"characters: Sora takes at most 2 in one video; this row has {mentions.count}."
                )
            )
            continue
        plan.rows.append(PlannedRow(index, params))
    return plan


# -- progress and results --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchProgress:
    total: int
    queued: int
    sending: int
    running: int
    succeeded: int
    failed: int
    unknown: int
    cancelled: int
    spent: float
    eta_seconds: float | None
    failures: dict[str, int]  # failure reason -> rows

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.unknown + self.cancelled

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def active(self) -> bool:
        return bool(self.queued or self.sending or self.running)


def latest_attempts(rows: list[Generation]) -> list[Generation]:
    """The newest attempt of each row (rows in row order)."""
    latest: dict[int, Generation] = {}
    for row in rows:
        latest[row.batch_row] = row  # rows come oldest attempt first
    return [latest[k] for k in sorted(latest)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def progress_of(rows: list[Generation], *, now: datetime | None = None) -> BatchProgress:
    now = now or utcnow()
    attempts = rows
    rows = latest_attempts(rows)
    counts = Counter(r.status for r in rows)
    finished = [r for r in rows if r.status in ("succeeded", "failed") and r.submitted_at and r.finished_at]
    eta = None
    if finished:
        task_seconds = sum(
            (_aware(r.finished_at) - _aware(r.submitted_at)).total_seconds() for r in finished
        ) / len(finished)
        sent = sorted(_aware(r.submitted_at) for r in rows if r.submitted_at)
        rate = (len(sent) - 1) / max((sent[-1] - sent[0]).total_seconds(), 1e-3) if len(sent) > 1 else None
        out = [
            task_seconds - (now - _aware(r.submitted_at)).total_seconds()
            for r in rows
            if r.status == RUNNING and r.submitted_at
        ]
        waiting = counts[QUEUED] + counts["submitting"]
        eta = max([0.0, *out])
        if waiting:
            eta = max(eta, (waiting / rate if rate else 0.0) + task_seconds)
        # when the service is the bottleneck, finishing slower than tasks take: go by the pace so far
        left = sum(counts[k] for k in (QUEUED, "submitting", RUNNING))
        if left:
            pace = (now - sent[0]).total_seconds() / len(finished)
            eta = max(eta, pace * left)
    failures = Counter(r.failure_reason or "error" for r in rows if r.status == "failed")
    return BatchProgress(
        total=len(rows),
        queued=counts[QUEUED],
        sending=counts["submitting"],
        running=counts[RUNNING],
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        unknown=counts["unknown"],
        cancelled=counts[CANCELLED],
        spent=round(sum(r.cost for r in attempts), 4),
        eta_seconds=eta,
        failures=dict(failures),
    )


# -- the service the page calls ------------------------------------------------------------------
class BatchService:
    def __init__(self, store: Store, media: MediaStore, connection: Connection) -> None:
        self.store = store
        self.media = media
        self.connection = connection

    def create(
        self,
        name: str,
        plan: Plan,
        *,
        limit: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        credits: float | None = None,
        template: str = "",
    ) -> Batch:
        """Write the batch and its rows (nothing sent yet). NotEnoughCredits when it costs more
        than the balance: nothing is written then."""
        rows = plan.rows[: limit if limit is not None else None]
        if not rows:
            raise BatchInputError("There is no valid row to send.")
        cost = video_cost(len(rows))
        if credits is not None and cost > credits + 1e-9:
            affordable = int(credits // video_cost())
            raise NotEnoughCredits(
                f"{len(rows)} videos cost {cost:,.2f} credits and {credits:,.2f} are left: "
                f"cap the batch at {affordable} videos or add credits."
            )
        settings = {
            "service": self.connection.service_id,
            "concurrency": max(1, min(int(concurrency), MAX_CONCURRENCY)),
            "template": template,
            "rows": len(rows),
            "skipped": [{"row": r.row, "reason": r.reason} for r in plan.invalid],
            "capped": len(plan.rows) - len(rows),
        }
        return self.store.add_batch(name, settings, [(r.row, r.params) for r in rows])

    def pause(self, batch_id: int) -> None:
        self.store.set_batch(batch_id, state="paused")

    def resume(self, batch_id: int) -> None:
        self.store.set_batch(batch_id, state="running")
        self.store.update_batch_settings(batch_id, paused_because=None)

    def cancel(self, batch_id: int) -> int:
        """Stop sending: rows not sent yet are cancelled (never charged). Tasks already with the
        service run to the end and are kept."""
        self.store.set_batch(batch_id, state="cancelled")
        return self.store.cancel_queued(batch_id)

    def set_concurrency(self, batch_id: int, concurrency: int) -> None:
        self.store.update_batch_settings(batch_id, concurrency=max(1, min(int(concurrency), MAX_CONCURRENCY)))

    def progress(self, batch_id: int) -> BatchProgress:
        return progress_of(self.store.batch_rows(batch_id))

    def retryable(self, batch_id: int, *, moderation_retries: int = 0) -> list[Generation]:
        """The rows whose newest attempt failed and may be tried again: service errors always;
        moderation refusals only up to ``moderation_retries`` times a row (0, the default: never,
        since a prompt refused once is usually refused again)."""
        cap = max(0, min(int(moderation_retries), MAX_MODERATION_RETRIES))
        attempts = self.store.batch_rows(batch_id)
        refused = Counter(r.batch_row for r in attempts if r.status == "failed" and _moderated(r))
        return [
            row
            for row in latest_attempts(attempts)
            if row.status == "failed" and (not _moderated(row) or refused[row.batch_row] <= cap)
        ]

    def retry_failed(self, batch_id: int, *, moderation_retries: int = 0) -> int:
        """Queue one more attempt of each retryable row; the batch runs again."""
        rows = self.retryable(batch_id, moderation_retries=moderation_retries)
        return self.store.add_batch_attempts(batch_id, rows)

    def results(self, batch_id: int, *, thumbnails: bool = True) -> pd.DataFrame:
        """One line a row: its newest attempt, with how many attempts it took."""
        attempts = self.store.batch_rows(batch_id)
        tries = Counter(r.batch_row for r in attempts)
        lines = []
        for g in latest_attempts(attempts):
            lines.append(
                {
                    "row": g.batch_row,
                    "status": g.status,
                    "prompt": g.prompt,
                    "reason": failure_words(g),
                    "pid": g.pid or "",
                    "thumbnail": (self.media.data_url(g.thumb_path) or "") if thumbnails else "",
                    "attempts": tries[g.batch_row],
                    "cost": g.cost,
                    "generation_id": g.id,
                }
            )
        return pd.DataFrame(lines)

    def manifest(self, batch_id: int) -> pd.DataFrame:
        """The CSV in the zip: row -> file, pid, prompt, cost (every attempt's cost added up)."""
        attempts = self.store.batch_rows(batch_id)
        cost = Counter()
        for g in attempts:
            cost[g.batch_row] += g.cost
        lines = []
        for g in latest_attempts(attempts):
            has_file = g.status == "succeeded" and self.media.exists(g.video_path)
            lines.append(
                {
                    "row": g.batch_row,
                    "status": g.status,
                    "file": video_name(g) if has_file else "",
                    "pid": g.pid or "",
                    "prompt": g.prompt,
                    "aspect_ratio": g.aspect_ratio,
                    "duration": g.duration,
                    "size": g.size,
                    "failure_reason": g.failure_reason or "",
                    "cost": round(cost[g.batch_row], 4),
                }
            )
        return pd.DataFrame(lines)

    def write_zip(self, batch_id: int, target: Path) -> Path:
        """Every finished video of the batch and manifest.csv, written to ``target`` (videos are
        stored, not compressed again: MP4 does not shrink)."""
        manifest = self.manifest(batch_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        rows = {g.batch_row: g for g in latest_attempts(self.store.batch_rows(batch_id))}
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for line in manifest.itertuples():
                if line.file:
                    archive.write(self.media.path(rows[line.row].video_path), line.file)
            archive.writestr("manifest.csv", manifest.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
        partial.replace(target)
        return target


def _moderated(generation: Generation) -> bool:
    return (generation.failure_reason or "").endswith("moderation")


def video_name(generation: Generation) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", generation.prompt.lower()).strip("-")[:40].rstrip("-")
    return f"videos/row-{generation.batch_row:04d}-{words or 'video'}.mp4"


def failure_words(generation: Generation) -> str:
    if generation.status == "failed":
        reason = {
            "input_moderation": "Refused by moderation (the prompt or image)",
            "output_moderation": "Refused by moderation (the finished video)",
        }.get(generation.failure_reason or "", "The service could not make it")
        return f"{reason}: {generation.error}" if generation.error else reason
    if generation.status == "unknown":
        return generation.error or "Not known whether the service received it; not sent again."
    return ""


# -- the runner ---------------------------------------------------------------------------------
class Backoff:
    """One back-off shared by a batch's senders: a 429 or 503 slows them all, not just one."""

    def __init__(self) -> None:
        self.until = 0.0
        self.strikes = 0
        self.hits = 0

    def hit(self, retry_after: float | None) -> None:
        self.hits += 1
        delay = (
            retry_after
            if retry_after is not None
            else min(0.5 * 2**self.strikes, 8.0) * (1 - 0.25 * random.random())
        )
        self.strikes += 1
        self.until = max(self.until, time.monotonic() + delay)

    def ok(self) -> None:
        self.strikes = 0

    async def wait(self) -> None:
        while (left := self.until - time.monotonic()) > 0:
            await asyncio.sleep(left)


@dataclass
class _Live:
    """What a batch's senders need to know, read from the store a few times a second."""

    state: str = "running"
    concurrency: int = DEFAULT_CONCURRENCY
    queued: int = 0
    excess: int = 0  # senders asked to stop because the concurrency was lowered
    stopping: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    sent: list[tuple[int, str]] = field(default_factory=list)  # accepted, task id not stored yet
    polled: dict[int, float] = field(default_factory=dict)  # running row -> when last asked about

    def flush(self, store: Store) -> None:
        sent, self.sent = self.sent, []
        store.mark_running_many(sent, cost=video_cost())


class BatchRunner:
    """Drives batches in a background thread; one per process (Streamlit's cache_resource)."""

    def __init__(self, store: Store, media: MediaStore, *, poll_seconds: float = 2.0) -> None:
        self.store = store
        self.media = media
        self.poll_seconds = poll_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="batch-runner", daemon=True)
        self._thread.start()
        self._driving: dict[int, concurrent.futures.Future] = {}
        self._live: dict[int, _Live] = {}
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop, 3.0)  # a clean shutdown lets the sends already out finish

    # -- from any thread ---------------------------------------------------------------------
    def drive(self, batch_id: int, connection: Connection) -> bool:
        """Start following a batch in this process unless it already is; True if it started."""
        with self._lock:
            future = self._driving.get(batch_id)
            if future is not None and not future.done():
                return False
            self._driving[batch_id] = asyncio.run_coroutine_threadsafe(
                self._drive(batch_id, connection), self._loop
            )
            return True

    def resume_all(self, connection: Connection) -> list[int]:
        """Take up every batch of this service that has work left (after a restart, say)."""
        return [b for b in self.store.batches_to_drive(connection.service_id) if self.drive(b, connection)]

    def driving(self, batch_id: int) -> bool:
        future = self._driving.get(batch_id)
        return future is not None and not future.done()

    def rate_limited(self, batch_id: int) -> int:
        live = self._live.get(batch_id)
        return live.backoff.hits if live else 0

    def wait(self, batch_id: int, timeout: float | None = None) -> None:
        future = self._driving.get(batch_id)
        if future is not None:
            future.result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking new rows, let the sends already out get their answer, then stop."""
        if self._stopped:
            return
        self._stopped = True
        for live in self._live.values():
            live.stopping = True
        for future in list(self._driving.values()):
            try:
                future.result(timeout)
            except Exception:  # noqa: BLE001 - stopping regardless
                future.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    # -- in the runner's loop ----------------------------------------------------------------
    def _refresh(self, batch_id: int, live: _Live) -> bool:
        batch = self.store.get_batch(batch_id)
        if batch is None:
            return False
        live.state = batch.state
        wanted = int(batch.settings.get("concurrency", DEFAULT_CONCURRENCY))
        live.concurrency = max(1, min(wanted, MAX_CONCURRENCY))
        live.queued = self.store.count_status(batch_id, QUEUED)
        return True

    async def _drive(self, batch_id: int, connection: Connection) -> None:
        live = self._live.setdefault(batch_id, _Live())
        live.stopping = False
        if not self._refresh(batch_id, live):
            return
        async with connection.async_client(max_retries=2) as client:
            sender = asyncio.create_task(self._send_all(batch_id, client, live))
            last_poll = 0.0
            try:
                while True:
                    if time.monotonic() - last_poll >= self.poll_seconds:
                        last_poll = time.monotonic()
                        await self._poll(batch_id, connection, live)
                    if not self._refresh(batch_id, live):
                        break
                    out = self.store.count_status(batch_id, RUNNING, "submitting")
                    if live.stopping and sender.done():
                        break
                    if sender.done() and live.state == "running" and live.queued and not live.stopping:
                        await sender  # rows were added (a retry): send them too
                        sender = asyncio.create_task(self._send_all(batch_id, client, live))
                    if sender.done() and not out and (live.state != "running" or not live.queued):
                        break
                    await asyncio.sleep(min(0.25, self.poll_seconds))
            finally:
                live.stopping = True
                await sender
        if (
            self._refresh(batch_id, live)
            and live.state == "running"
            and not live.queued
            and not self.store.count_status(batch_id, RUNNING, "submitting")
        ):
            self.store.set_batch(batch_id, state="done")

    async def _poll(self, batch_id: int, connection: Connection, live: _Live) -> None:
        """Ask about the batch's running tasks, at most POLL_BUDGET of them a tick, the ones asked
        about longest ago first: a big batch does not flood the service (or slow its own sends)."""
        self.store.expire_stale_submissions()
        running = self.store.batch_row_ids(batch_id, RUNNING)
        now = time.monotonic()
        asked = {i: live.polled.get(i, now) for i in running}  # a new task waits its turn
        live.polled = asked
        chosen = sorted(running, key=asked.__getitem__)[:POLL_BUDGET]
        for row_id in chosen:
            asked[row_id] = now
        if chosen:
            try:
                await tick_async(connection, self.store, self.media, chosen)
            except Exception:  # noqa: BLE001 - a poll that failed is tried again next time
                pass

    async def _send_all(self, batch_id: int, client, live: _Live) -> None:
        """Keep ``concurrency`` senders going while the batch runs and rows wait; return when
        nothing is left to send, or the batch is paused, cancelled or the runner stops."""
        senders: set[asyncio.Task] = set()
        while True:
            live.flush(self.store)
            senders = {s for s in senders if not s.done()}
            if live.state == "running" and not live.stopping and live.queued:
                live.excess = max(0, len(senders) - live.concurrency)
                while len(senders) < live.concurrency:
                    senders.add(asyncio.create_task(self._sender(batch_id, client, live)))
            elif not senders:
                live.flush(self.store)
                return
            await asyncio.sleep(0.05)

    async def _sender(self, batch_id: int, client, live: _Live) -> None:
        while live.state == "running" and not live.stopping:
            if live.excess > 0:
                live.excess -= 1
                return
            await live.backoff.wait()
            row = self.store.claim_queued(batch_id)
            if row is None:
                live.queued = 0
                return
            params = {k: v for k, v in row.request_params().items() if v not in (None, "", [])}
            if isinstance(params.get("image_url"), str) and params["image_url"].startswith("file:"):
                params["image_url"] = self.media.resolve(params["image_url"])
            try:
                task_id = await client.create_video(**params)
            except RateLimitError as exc:  # refused, not created: send again after the pause
                self.store.requeue(row.id)
                live.backoff.hit(exc.retry_after)
            except SubmissionUnknownError as exc:  # it may have been created: never resend by itself
                self.store.mark_unknown(row.id, str(exc))
            except InternalServerError as exc:
                if exc.status_code == 503:  # unavailable: the request was not taken
                    self.store.requeue(row.id)
                    live.backoff.hit(None)
                else:
                    self.store.mark_refused(row.id, f"The service answered with an error: {exc.message}")
            except APIConnectionError:  # never reached the service (the client knows)
                self.store.requeue(row.id)
                live.backoff.hit(None)
            except (AuthenticationError, InsufficientCreditsError) as exc:  # every row would fail the same
                self.store.requeue(row.id)
                self.store.set_batch(batch_id, state="paused")
                self.store.update_batch_settings(batch_id, paused_because=exc.message)
                live.state = "paused"
                return
            except GrsaiError as exc:
                self.store.mark_refused(row.id, exc.message)
            else:
                live.backoff.ok()
                live.sent.append((row.id, task_id))  # written with others, a few times a second
