"""The task engine: the one owner of every remote task (single videos, batch rows, characters).

It sends what pages queued, follows what is running with scheduled polls (or webhooks), copies
finished files into the media store and writes everything to the store. It runs as a thread with
its own event loop, embedded in each app process or alone in ``python -m studio.worker``; claims
and leases in the database keep any number of them from sending or polling the same task twice.
Pages never call the service for tasks: they write requests and read the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from grsai_api import (
    MODELS,
    AsyncClient,
    AuthenticationError,
    GrsaiError,
    ModelStatus,
    NotFoundError,
    Task,
)
from grsai_api._base import shared_ssl_context

from ..accounts import short
from ..availability import down_sentence
from ..connection import Connection
from ..costs import failed_cost
from ..db import BatchState, Generation, Status, Store, TaskRow, as_utc, utcnow
from ..db.tasks import PollProgress, SentTask
from ..media import FILE_PREFIX, MediaStore
from ..messages import held_by_refused_key, media_fault
from ..safe_fetch import FetchError, fetch_to_file
from ..storyboard import advance_all
from .keys import Held, KeyRing
from .kinds import BY_PREFIX, GENERATIONS, KINDS, Send, TaskKind
from .outcomes import Outcome, judge
from .schedule import PollPolicy, first_poll, next_poll

log = logging.getLogger("studio.engine")

LINK_LIFETIME = timedelta(hours=2)  # GrsAI's result links
MAX_VIDEO_BYTES = 1 << 30
MAX_IMAGE_BYTES = 64 << 20
NOT_FOUND_STRIKES = 3
MATCHED_BY_WEBHOOK = (
    "The send went unanswered, but the service's own notice named this task afterwards: it was made "
    "(and charged) and is followed as usual."
)
UPLOAD_REUSE = timedelta(days=7)  # a file in the service's storage is named by URL this long, then put again


def _pool_shut(exc: RuntimeError) -> bool:
    """The thread pool refuses work because it was shut down (the process's exit does that before
    our stop runs); concurrent.futures and asyncio say so in words only."""
    said = str(exc)
    return "cannot schedule new futures" in said or "Executor shutdown has been called" in said


def _first_line(exc: SQLAlchemyError) -> str:
    """What the database said, in one line (SQLAlchemy's text adds the statement and a link)."""
    said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {said[0][:200] if said else ''}"


def _storyboard_pass_ended(task: asyncio.Task) -> None:
    """A storyboard pass that failed is said in one line (a database that is away fails every pass
    until it is back; the pass runs again a second later), never as an unretrieved traceback."""
    if task.cancelled() or task.exception() is None:
        return
    exc = task.exception()
    if isinstance(exc, SQLAlchemyError):
        log.warning("storyboards: the database did not answer (%s); trying again", _first_line(exc))
    elif isinstance(exc, RuntimeError) and _pool_shut(exc):  # the process's exit took the pool first
        log.info("storyboards: not advanced, the process is shutting down")
    else:
        log.error("storyboards: a pass failed (%s: %s); trying again", type(exc).__name__, exc)


@dataclass
class EngineSettings:
    policy: PollPolicy = field(default_factory=PollPolicy)
    sends_per_account: int = 16  # creates in flight at once, per account (batches also keep their own cap)
    polls_per_second: float = 10.0  # per account: a client following many tasks spreads its polls
    follows_per_account: int = 24  # polls and copies in flight at once, per account
    send_lease: float = 90.0  # longer than a create can take; a crash leaves "submitting" no longer
    poll_lease: float = 30.0  # how long after a missed poll another engine may take the task over
    tick: float = 0.2
    copy_timeout: float = 180.0
    webhook_url: str | None = None  # where the service should post task updates (public address)
    typical_seconds: dict[str, float] = field(default_factory=dict)  # by service, before any were seen
    model_status_seconds: float = 30.0  # a model's status is trusted this long before it is asked again
    refunds_refusals: bool = False  # the service gives back a refusal's credits (GRSAI_REFUNDS_REFUSALS)

    @property
    def follow_lease(self) -> float:
        """How long a task being polled or copied stays this engine's: longer than a copy can take."""
        return max(self.poll_lease, self.copy_timeout + 30)


@dataclass(frozen=True)
class _Finish:
    """A finish-once write of what a poll (or a copy) learned: kept in memory while the store is
    away and written at a later pass, so the row is not left under its follow lease for minutes."""

    kind: TaskKind
    row_id: int
    expect: tuple[Status, ...]
    values: dict[str, Any]
    counted: str | None = None  # the stat a write that moved the row adds to

    @property
    def saved(self) -> bool:
        """The row becomes ``saving`` for this engine: its copy comes next."""
        return self.kind.copies and self.values.get("status") == Status.SAVING


@dataclass
class _Bucket:
    """Requests a second per account: tokens refill over time, each poll takes one."""

    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self, wanted: int) -> int:
        now = time.monotonic()
        self.tokens = min(self.rate * 2, self.tokens + (now - self.at) * self.rate)
        self.at = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted


class TaskEngine:
    def __init__(
        self,
        store: Store,
        media: MediaStore,
        *,
        settings: EngineSettings | None = None,
        keys: KeyRing | None = None,
        engine_id: str | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.settings = settings or EngineSettings()
        self.keys = keys or KeyRing()
        self.engine_id = engine_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.policy = (
            self.settings.policy.with_webhooks() if self.settings.webhook_url else self.settings.policy
        )
        self._rng = random.Random()
        self._clients: dict[tuple[str, str], AsyncClient] = {}
        self._http: httpx.AsyncClient | None = None
        self._clients_loop: asyncio.AbstractEventLoop | None = None
        self._sending: dict[Held, int] = defaultdict(int)
        self._following: dict[Held, int] = defaultdict(int)
        self._in_flight: set[asyncio.Task] = set()
        self._matches: list[tuple[TaskKind, int, str]] = []  # (kind, row id, task id) named by webhooks
        self._sent: dict[TaskKind, list[SentTask]] = defaultdict(list)
        self._progress: dict[TaskKind, list[PollProgress]] = defaultdict(list)
        self._finishes: list[_Finish] = []  # learned, not yet written (the store was away)
        self._poll_failures: list[tuple[TaskKind, int, float, str | None]] = []  # likewise: (kind, row, wait, note)
        self._to_copy: list[int] = []  # rows written ``saving`` for this engine whose copy has not started
        self._buckets: dict[Held, _Bucket] = {}
        self._backoff_until: dict[Held, float] = {}
        self._typical: dict[tuple[TaskKind, str, str, str | None], tuple[float, float]] = {}
        self._model_status: dict[tuple[str, str, str], tuple[ModelStatus, float]] = {}
        self._keys_accepted: set[tuple[str, str]] = set()  # (base URL, account) the service took
        self._key_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._upload_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._chores_at: dict[str, float] = {}
        self._storyboards: asyncio.Task | None = None  # their next steps, one pass at a time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self.stats: dict[str, int] = defaultdict(int)

    # -- from any thread ---------------------------------------------------------------------
    def use_webhooks(self, url: str) -> None:
        """Creates carry this webhook address from now on; polls become the slower fallback."""
        self.settings.webhook_url = url
        self.policy = self.settings.policy.with_webhooks()

    def hold(self, connection: Connection) -> None:
        """Send and follow this account's work with this key (kept in memory only)."""
        if self.keys.hold(connection):
            self.wake()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        loop = self._loop
        if loop is not None and self._wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # it closed meanwhile: the loop has ended anyway
                loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> TaskEngine:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_thread, name="task-engine", daemon=True)
            self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking new work, let the sends already out get their answer, release the leases."""
        if self._thread is None or self._stopping:
            return
        self._stopping = True
        self.wake()
        self._thread.join(timeout)

    def _run_thread(self) -> None:
        asyncio.run(self.run())

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while not self._stopping:
                try:
                    await self.cycle()
                except SQLAlchemyError as exc:  # the database is away (a restart): said once a cycle
                    log.warning("engine cycle: the database did not answer (%s); trying again", _first_line(exc))
                except RuntimeError as exc:
                    if not _pool_shut(exc):
                        log.exception("engine cycle failed; carrying on")
                    else:  # the process is ending and took the thread pool first: stopping, not a failure
                        log.info("task engine stopping: the process is shutting down")
                        break
                except Exception:  # noqa: BLE001 - the engine must outlive any one bad cycle
                    log.exception("engine cycle failed; carrying on")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.tick)
                self._wake.clear()
            await self._settle(timeout=8.0)
        finally:
            await self._close()
            with contextlib.suppress(Exception):
                self.store.release_leases(self.engine_id)

    # -- one cycle ----------------------------------------------------------------------------
    async def cycle(self) -> None:
        """Housekeeping, then send what is queued, then follow what is due."""
        loop = asyncio.get_running_loop()
        if loop is not self._clients_loop:  # clients belong to one event loop (tests run several)
            self._clients, self._http, self._clients_loop = {}, None, loop
            # store writes, thumbnails and file checks run in threads: enough of them that the
            # pass's own queries never wait behind a crowd of follow-ups
            loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="task-engine"))
        held = self.keys.held()
        if self._every("heartbeat", 10.0):
            await asyncio.to_thread(self.store.heartbeat, self.engine_id, held)
        if self._every("expire", 5.0):
            await asyncio.to_thread(self.store.expire_stale_sends)
        if self._every("batches", 2.0):
            await asyncio.to_thread(self.store.finish_batches)
        if self._every("storyboards", 1.0) and (self._storyboards is None or self._storyboards.done()):
            # a storyboard's next shot, or its join (a thread: joining takes seconds)
            self._storyboards = asyncio.create_task(asyncio.to_thread(advance_all, self.store, self.media))
            self._storyboards.add_done_callback(_storyboard_pass_ended)
        await asyncio.to_thread(self._flush)
        while self._to_copy:  # finishes written late (the store was away): their copies start now
            self._spawn(self._copy_saved(self._to_copy.pop(0)))
        if self._matches:
            await self._match_unknown()
        if not self._stopping:
            await self._start_sends(held)
        await self._follow_due(held)

    async def drain(self, timeout: float = 60.0) -> None:
        """Run cycles until this engine has nothing in flight and nothing due (tests, benches)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.cycle()
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=self.settings.tick, return_when=asyncio.FIRST_COMPLETED)
                continue
            if not await asyncio.to_thread(self.store.has_work, self.keys.held()):
                await asyncio.to_thread(self.store.finish_batches)
                steps, self._storyboards = self._storyboards, None
                if steps is not None and await steps:  # the pass under way queued a shot after has_work looked
                    continue
                if await asyncio.to_thread(advance_all, self.store, self.media):
                    continue  # a storyboard's next shot was queued (or its film joined)
                return
            await asyncio.sleep(self.settings.tick)
        raise TimeoutError("the engine still had work after the timeout")

    def _every(self, chore: str, seconds: float) -> bool:
        now = time.monotonic()
        if now - self._chores_at.get(chore, -1e9) >= seconds:
            self._chores_at[chore] = now
            return True
        return False

    async def _settle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        steps = self._storyboards
        pending = [*self._in_flight, *([steps] if steps is not None and not steps.done() else [])]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self._flush()
        while (self._unwritten_sends() or self._finishes) and time.monotonic() < deadline:  # the store is away
            await asyncio.sleep(0.5)
            self._flush()
        if self._unwritten_sends():  # say which tasks were made, so none is lost without a trace
            log.error("stopping with sent tasks not written to the store (row, task id): %s", self._unwritten_sends())
        if self._finishes:  # their leases are released below: the next engine polls them and learns it again
            log.warning("stopping with finished tasks not written yet (rows %s); they are polled again",
                        [f.row_id for f in self._finishes])

    def _flush(self) -> None:
        """Write accepted sends, then what polls learned (kept while the store was away, and the
        progress gathered since the last pass), a batch at a time."""
        self._flush_sent()
        self._flush_learned()
        self._flush_progress()

    async def _close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.close()
        self._clients.clear()
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
            self._http = None

    def _client(self, connection: Connection) -> AsyncClient:
        """One long-lived client per account and host."""
        key = (connection.base_url, connection.account)
        client = self._clients.get(key)
        if client is None:
            client = connection.async_client(max_retries=2)
            self._clients[key] = client
        return client

    def typical(self, kind: TaskKind, service: str, makes: str = "video", grsai_model: str | None = None) -> float:
        """How long such tasks take here: learned from the store, else a hint for the service, else
        the model's own ``typical_seconds`` in the catalogue, else the policy's."""
        cached = self._typical.get((kind, service, makes, grsai_model))
        if cached is not None and time.monotonic() - cached[1] < 60:
            return cached[0]
        learned = self._learned_seconds(kind, service, kind.peers(makes))
        default = kind.default_seconds(self.policy, makes)
        hints = self.settings.typical_seconds
        hint = hints.get(service) or (hints.get("sandbox") if service.startswith("sandbox") else None)
        if hint is not None and makes == "image":
            hint = min(hint, default)
        entry = MODELS.get(grsai_model or "")
        listed = entry.typical_seconds * self.policy.time_scale if entry is not None and entry.typical_seconds else None
        value = learned or hint or listed or default
        if learned is not False:  # asked again next time when the store could not say
            self._typical[(kind, service, makes, grsai_model)] = (value, time.monotonic())
        return value

    def _learned_seconds(self, kind: TaskKind, service: str, peers: Sequence[str] | None) -> float | None | bool:
        """The store's figure; False when the store cannot be read (it is asked right after a
        create: a database restart there must not lose the task just made)."""
        try:
            return self.store.typical_seconds(kind.table, service, models=peers)
        except SQLAlchemyError as exc:
            log.warning("typical duration not read (%s); planning from the catalogue", type(exc).__name__)
            return False

    def _row_typical(self, kind: TaskKind, row: TaskRow) -> float:
        return self.typical(kind, row.service, *kind.timing(row))

    def _policy_for(self, kind: TaskKind, row: TaskRow) -> PollPolicy:
        """Webhooks bring news of old-style tasks only: unified-API tasks are polled at full pace."""
        if self.settings.webhook_url and kind.unified(row):
            return self.settings.policy
        return self.policy

    # -- sending ------------------------------------------------------------------------------
    async def _start_sends(self, held: list[Held]) -> None:
        now = time.monotonic()
        for account in held:
            if self.keys.paused(account) or self._backoff_until.get(account, 0) > now:
                continue
            free = self.settings.sends_per_account - self._sending[account]
            if free <= 0:
                continue
            for kind in KINDS:
                rows = await asyncio.to_thread(
                    self.store.claim_sends,
                    kind.table,
                    self.engine_id,
                    [account],
                    limit=free,
                    lease_seconds=self.settings.send_lease,
                )
                for row in rows:
                    self._sending[account] += 1
                    task = asyncio.create_task(self._send(kind, row, account))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                free -= len(rows)
                if free <= 0:
                    break

    async def _send(self, kind: TaskKind, row: TaskRow, account: Held) -> None:
        """Check, then send one claimed row. It stays ``queued`` through the checks and while its
        files are made ready (a crash there leaves it to be sent later, not written off as maybe
        charged) and is marked ``submitting`` only when its create is about to go out. What the
        create call raises, whatever it is, is judged by ``outcomes``: it may have been sent."""
        connection = self.keys.get(*account)
        try:
            if connection is None:  # the key went away between the claim and now
                await asyncio.to_thread(self.store.requeue, kind.table, row.id)
                return
            try:  # the key, the model, the files: nothing goes out before the create below
                ready = await self._prepare(kind, row, account, connection)
            except (OSError, ValueError) as exc:  # our own file is gone or unreadable: nothing was sent
                await asyncio.to_thread(
                    self.store.mark_refused, kind.table, row.id, f"A file this request needs is missing: {exc}"
                )
                return
            except Exception as exc:  # noqa: BLE001 - nothing went out, whatever failed
                await self._not_ready(kind, row, account, exc)
                return
            if ready is None:  # held: the key is refused or the model is down (said on the row)
                return
            began = await asyncio.to_thread(
                self.store.begin_send, kind.table, row.id, self.engine_id, lease_seconds=self.settings.send_lease
            )
            if not began:  # cancelled meanwhile, or the claim ran out and another engine has it
                return
            try:
                task_id = await ready.create()
            except Exception as exc:  # noqa: BLE001 - every outcome is judged by the one rule set
                await self._after_failed_send(kind, row, account, exc)
                return
            self.stats["sent"] += 1
            typical = self._row_typical(kind, row)
            first = utcnow() + timedelta(seconds=first_poll(self._policy_for(kind, row), typical, self._rng))
            self._sent[kind].append(SentTask(row.id, task_id, ready.credits, first))
            self._backoff_until.pop(account, None)
        finally:
            self._sending[account] -= 1
            self.wake()  # a slot is free: claim the next row now, not at the next tick

    async def _prepare(self, kind: TaskKind, row: TaskRow, account: Held, connection: Connection) -> Send | None:
        """Everything before the create, the row still queued: the key's check, the model's
        status, the files put in the service's storage. The create to send and its price, or None
        when the row was held instead (refused key, model down)."""
        refused = await self._key_refused(connection)
        if refused is not None:  # nothing is sent with a key the service refuses
            await self._after_failed_send(kind, row, account, refused)
            return None
        down = await self._model_down(connection, kind.grsai_model(row))
        if down is not None:
            await self._hold_for_model(kind, row, down)
            return None

        async def put_file(ref: str | None, suffix: str) -> str | bytes | None:
            return await self._file(ref, connection, suffix)

        return await kind.prepare(row, self._client(connection), put_file, self._webhook(kind, row))

    async def _not_ready(self, kind: TaskKind, row: TaskRow, account: Held, exc: BaseException) -> None:
        """A fault before anything was sent (checking the key or the model, putting a file): the
        row goes back to the queue, uncharged, and is tried again after a pause."""
        log.warning("task %s: not sent, the checks before sending failed (%s)", row.id, type(exc).__name__)
        self.stats["send_not_ready"] += 1
        self._backoff_until[account] = time.monotonic() + 1.0 + self._rng.random()
        note = f"Not sent yet: the checks before sending failed ({type(exc).__name__}); trying again. Nothing was charged."
        await asyncio.to_thread(self.store.requeue, kind.table, row.id, note)

    async def _file(self, ref: str | None, connection: Connection, suffix: str) -> str | bytes | None:
        """A stored reference as sent: a URL as it is; a kept file by the URL it has in this
        account's storage, uploaded once by content. When the storage can't take it, the file's
        bytes are sent instead (base64), as before there was a storage."""
        if not ref or not ref.startswith(FILE_PREFIX):
            return ref
        data = await asyncio.to_thread(self.media.resolve, ref)
        if not isinstance(data, bytes):
            return data
        digest = hashlib.sha256(data).hexdigest()
        key = (connection.service_id, connection.account, digest)
        lock = self._upload_locks.setdefault(key, asyncio.Lock())
        async with lock:  # two sends of one file at once: the second waits and finds the first's URL
            found = await asyncio.to_thread(self.store.uploaded, *key, UPLOAD_REUSE)
            if found:
                return found
            try:
                url = await self._client(connection).upload_file(data, suffix=Path(ref).suffix.lstrip(".") or suffix)
            except GrsaiError as exc:
                log.warning("upload to the service's storage failed (%s); sending the file inline", type(exc).__name__)
                self.stats["upload_failed"] += 1
                return data
            self.stats["uploaded"] += 1
            await asyncio.to_thread(self.store.remember_upload, *key, url)
        self._upload_locks.pop(key, None)
        return url

    async def _key_refused(self, connection: Connection) -> AuthenticationError | None:
        """The service's refusal of this account's key, asked once before its first send with the
        free balance call (a wrong key's submit may be answered with an empty HTTP 200, which would
        otherwise look like a task that may have been charged). None when the key was taken, or
        when the service could not say (the send itself is then judged)."""
        if connection.is_sandbox:  # the built-in sandbox takes its own key
            return None
        held = (connection.base_url, connection.account)
        lock = self._key_locks.setdefault(held, asyncio.Lock())
        async with lock:  # many sends of one account at once: one check
            if held in self._keys_accepted:
                return None
            try:
                await self._client(connection).credits()
            except AuthenticationError as exc:
                return exc
            except GrsaiError:
                return None
            self._keys_accepted.add(held)
        return None

    async def _model_down(self, connection: Connection, model: str) -> str | None:
        """Why ``model`` is down for this account (asked at most every ``model_status_seconds``), or
        None when it is up or the service could not say (then the create itself is judged)."""
        key = (connection.base_url, connection.account, model)
        cached = self._model_status.get(key)
        if cached is None or time.monotonic() - cached[1] > self.settings.model_status_seconds:
            try:
                status = await self._client(connection).model_status(model)
            except GrsaiError:
                return None
            cached = self._model_status[key] = (status, time.monotonic())
        status = cached[0]
        if status.available:
            return None
        return down_sentence(model, status.message)

    async def _hold_for_model(self, kind: TaskKind, row: TaskRow, why: str) -> None:
        """Never send to a model that is down: a batch pauses (saying why); a single request waits,
        unsent and uncharged, and goes when the model is back."""
        self.stats["held_for_model"] += 1
        if getattr(row, "batch_id", None) is not None:
            await asyncio.to_thread(self.store.requeue, kind.table, row.id)
            await self._pause_batch(row, f"{why}. Resume when it is back, or choose another model.")
            return
        when = utcnow() + timedelta(seconds=self.settings.model_status_seconds)
        await asyncio.to_thread(
            self.store.requeue, kind.table, row.id, f"Not sent: {why}. It is sent when the model is back.", when
        )

    def _webhook(self, kind: TaskKind, row: TaskRow) -> str:
        """Where the service posts this task's news: the receiver, naming the row, so a send that
        went unanswered (``unknown``) can still learn its task id from the service's first post."""
        if not self.settings.webhook_url:
            return "-1"
        return f"{self.settings.webhook_url}?row={kind.prefix}{row.id}"

    async def _after_failed_send(self, kind: TaskKind, row: TaskRow, account: Held, exc: BaseException) -> None:
        verdict = judge(exc)
        self.stats[f"send_{verdict.outcome}"] += 1
        store, table = self.store, kind.table
        if verdict.outcome is Outcome.UNKNOWN:
            await asyncio.to_thread(store.mark_send_unknown, table, row.id, verdict.message, kind.cost(row))
        elif verdict.outcome is Outcome.RETRY:
            delay = verdict.retry_after if verdict.retry_after is not None else 1.0 + self._rng.random()
            self._backoff_until[account] = time.monotonic() + delay
            await asyncio.to_thread(store.requeue, table, row.id, f"Waiting to send: {verdict.message}")
        elif verdict.outcome is Outcome.HOLD:
            self.keys.pause(account, 60.0, verdict.message)
            connection = self.keys.get(*account)
            if connection is not None:  # asked again before the next send
                self._keys_accepted.discard((connection.base_url, connection.account))
            # true of the rows already queued: they belong to this key's account, so a new key in
            # Settings sends new requests, not these (they go once this key is accepted again)
            refused = f"The key for account {short(account[1])} is refused (the service said: {verdict.message})"
            note = (
                f"Not sent, nothing charged. {refused}: it is sent once the service accepts that key again. "
                "To send it with another key, cancel it, change the key in Settings and send it again."
            )
            batch_note = f"{refused}. " + held_by_refused_key(
                "The rows not sent yet", "cancel this batch", "start it again"
            )
            await self._pause_batch(row, batch_note)  # first, so no pass in between sends it again
            await asyncio.to_thread(store.requeue, table, row.id, note)
        elif verdict.outcome is Outcome.NO_CREDITS and getattr(row, "batch_id", None):
            await self._pause_batch(row, verdict.message)
            await asyncio.to_thread(store.requeue, table, row.id)
        else:  # refused (or out of credits for a single request): failed, nothing charged
            await asyncio.to_thread(store.mark_refused, table, row.id, verdict.message)

    async def _pause_batch(self, row: TaskRow, why: str) -> None:
        batch_id = getattr(row, "batch_id", None)
        if batch_id is not None:
            await asyncio.to_thread(
                self.store.set_batch, batch_id, state=BatchState.PAUSED, paused_because=why
            )

    def _flush_sent(self) -> None:
        """Write the sends the service acknowledged. While the database is away (a restart), they
        wait here and are written on a later pass, so a made and paid task never loses its id nor
        becomes ``unknown``."""
        if self._write_kept(self._sent, self.store.mark_sent, "sent tasks"):
            self.stats["sent_unwritten"] += 1

    def _write_kept(self, queues: dict, write, what: str) -> bool:
        """Write what each kind's queue holds; it leaves memory only once the store has it. True when
        something had to stay for the next pass."""
        kept = False
        for kind, queue in list(queues.items()):
            written = list(queue)  # sends and polls still out append behind these
            if not written:
                continue
            try:
                write(kind.table, self.engine_id, written)
            except SQLAlchemyError as exc:
                kept = True
                log.warning("%s: %d not written yet (%s); kept to write on the next pass",
                            what, len(written), _first_line(exc))
                continue
            del queue[: len(written)]
        return kept

    def _unwritten_sends(self) -> list[tuple[int, str]]:
        return [(s.row_id, s.task_id) for sent in self._sent.values() for s in sent]

    # -- following ----------------------------------------------------------------------------
    async def _follow_due(self, held: list[Held]) -> None:
        """Lease what is due (within each account's polls a second) and follow each in the
        background, so a slow poll or copy never holds up sending."""
        services = self.keys.services()
        for account in held:
            bucket = self._buckets.setdefault(account, _Bucket(self.settings.polls_per_second))
            room = self.settings.follows_per_account - self._following[account]
            allowance = bucket.take(max(0, min(int(self.settings.polls_per_second * 2), room)))
            if allowance <= 0:
                continue
            for kind in KINDS:
                rows = await asyncio.to_thread(
                    self.store.lease_due,
                    kind.table,
                    self.engine_id,
                    [account],
                    limit=allowance,
                    lease_seconds=self.settings.follow_lease,
                    adopt_services=services if account[0] in services else (),
                )
                allowance -= len(rows)
                for row in rows:
                    self._following[account] += 1
                    self._spawn(self._follow_and_keep(kind, row, account))
            bucket.tokens += max(0, allowance)  # give back what was not used

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _follow_and_keep(self, kind: TaskKind, row: TaskRow, account: Held) -> None:
        try:
            progress = await self._follow(kind, row)
            if progress is not None:
                self._progress[kind].append(progress)
        finally:
            self._following[account] -= 1

    def _flush_progress(self) -> None:
        """Progress leaves memory only once written: a poll's news lost to a store that was away
        would leave its task under the follow lease (minutes) instead of due at its next poll."""
        self._write_kept(self._progress, self.store.record_progress, "progress of tasks")

    def _flush_learned(self) -> None:
        """Write the failed polls and the finishes the store did not take, each in the order they
        came (a row's failed poll before its end), stopping at the first the store refuses (it is
        still away). Each runs before this pass leases anything: no row is polled past its news."""
        try:
            while self._poll_failures:
                kind, row_id, wait, note = self._poll_failures[0]
                self._write_poll_failure(kind, row_id, wait, note)
                self._poll_failures.pop(0)
            while self._finishes:
                self._write_finish(self._finishes[0])
                self._finishes.pop(0)
        except SQLAlchemyError as exc:
            log.warning("%d finished or failed poll(s) not written yet (%s); kept to write on the next pass",
                        len(self._finishes) + len(self._poll_failures), _first_line(exc))

    def _write_finish(self, finish: _Finish) -> bool:
        """The finish-once write (it moves the row only from ``expect``, so written once however
        often it is tried). A row kept for this engine's copy is held from now, not from when the
        poll learned it; a row left ``saving`` for this engine is copied next, even when the write
        that moved it was committed by an earlier try whose answer was lost."""
        values = finish.values
        if values.get("lease_owner") == self.engine_id:
            hold = utcnow() + timedelta(seconds=self.settings.follow_lease)
            values = {**values, "next_poll_at": hold, "lease_until": hold}
        moved = self.store.finish(finish.kind.table, finish.row_id, expect=finish.expect, **values)
        if finish.counted:
            self.stats[finish.counted] += int(moved)
        if finish.saved:
            self._to_copy.append(finish.row_id)
        return moved

    async def _finish(self, finish: _Finish) -> None:
        """Write what a poll (or a copy) learned; while the store is away it is kept and written at
        a later pass. A row that became ``saving`` is copied right after."""
        try:
            await asyncio.to_thread(self._write_finish, finish)
        except SQLAlchemyError as exc:
            self.stats["finish_unwritten"] += 1
            log.warning("task %s: its end is not written yet (%s); kept to write on the next pass",
                        finish.row_id, _first_line(exc))
            self._finishes.append(finish)
            return
        if finish.saved and finish.row_id in self._to_copy:  # copied here, in this follow
            self._to_copy.remove(finish.row_id)
            await self._copy_saved(finish.row_id)

    async def _copy_saved(self, row_id: int) -> None:
        """Copy a row written ``saving`` for this engine (and still so)."""
        try:
            row = await asyncio.to_thread(self.store.get, row_id)
        except SQLAlchemyError:
            self._to_copy.append(row_id)  # the store went away again: the next pass starts it
            return
        if row is not None and row.status == Status.SAVING and row.lease_owner == self.engine_id:
            await self._copy(row)

    async def _follow(self, kind: TaskKind, row: TaskRow) -> PollProgress | None:
        """Poll one task (or copy its file) and write what changed; returns the progress of a task
        still running, to write with the others, or None. Never raises: one bad task never stalls the rest."""
        try:
            if row.status == Status.SAVING:
                await self._copy(row)
                return None
            connection = self.keys.get(row.service, row.account)
            if connection is None:
                return None
            try:
                task = await self._client(connection).get_result(row.task_id, model=kind.polled_as(row))
            except NotFoundError:
                await self._not_found(kind, row)
                return None
            except GrsaiError as exc:
                await self._poll_failed(kind, row, f"Can't reach the service right now; still trying. ({exc.message})")
                return None
            self.stats["polls"] += 1
            if row.account is None:  # adopted: this key answered for it, so it is this key's
                await asyncio.to_thread(self.store.adopt, kind.table, row.id, connection.account)
            return await self.apply(kind, row, task)
        except Exception as exc:  # noqa: BLE001
            log.exception("task %s: following failed", row.id)
            with contextlib.suppress(Exception):
                await self._poll_failed(kind, row, f"Checking this task failed ({type(exc).__name__}); still trying.")
            return None

    async def apply(self, kind: TaskKind, row: TaskRow, task: Task) -> PollProgress | None:
        """What a task object from a poll (never a webhook's body: see ``report``) means for its row;
        a task still running gives its progress, written with the others at the next pass."""
        now = utcnow()
        if task.status == "running":
            start = as_utc(row.submitted_at or row.created_at)
            previous = None
            if row.polled_at is not None:
                previous = ((as_utc(row.polled_at) - start).total_seconds(), row.progress)
            wait = next_poll(
                self._policy_for(kind, row),
                elapsed=(now - start).total_seconds(),
                progress=task.progress,
                typical=self._row_typical(kind, row),
                previous=previous,
                rng=self._rng,
            )
            due = now + timedelta(seconds=wait)
            lease_until = due + timedelta(seconds=self.settings.poll_lease)
            return PollProgress(row.id, task.progress, next_poll=due, lease_until=lease_until, asked_at=now)
        if task.status == "failed":
            failed = dict(
                status=Status.FAILED,
                failure_reason=task.failure_reason or "error",
                error=self.keys.redact(task.error),
                cost=failed_cost(task.failure_reason, row.cost, refunds_refusals=self.settings.refunds_refusals),
                finished_at=now,
                progress=task.progress,
                lease_owner=None,
                lease_until=None,
            )
            await self._finish(_Finish(kind, row.id, (Status.RUNNING,), failed, counted="failed"))
            return None
        values = kind.succeeded(
            row, task, now=now, engine_id=self.engine_id, hold_until=now + timedelta(seconds=self.settings.follow_lease)
        )
        counted = None if kind.copies else "succeeded"
        await self._finish(_Finish(kind, row.id, (Status.RUNNING,), values, counted=counted))
        return None

    async def _not_found(self, kind: TaskKind, row: TaskRow) -> None:
        if row.account is None:  # asked with a key that may not be its owner's: never fail it for that
            await self._poll_failed(kind, row, None, wait=600.0)
            return
        failures = await self._poll_failed(kind, row, "The service does not know this task (yet).")
        if failures >= NOT_FOUND_STRIKES:
            gone = dict(
                status=Status.FAILED,
                failure_reason="error",
                error="The service no longer knows this task.",
                cost=0,
                finished_at=utcnow(),
                lease_owner=None,
                lease_until=None,
            )
            await self._finish(_Finish(kind, row.id, (Status.RUNNING,), gone))

    async def _poll_failed(self, kind: TaskKind, row: TaskRow, note: str | None, wait: float | None = None) -> int:
        """Note a poll (or copy) that got no usable answer and when to try again; returns the
        failures in a row (0 when the store is away: the note is then kept and written later, so
        the row is due again soon after the store answers, not when its follow lease ends)."""
        self.stats["poll_errors"] += 1
        if wait is None:
            wait = min(self.policy.max_gap, self.policy.min_gap * 2 ** min(row.poll_failures + 1, 6))
        try:
            return await asyncio.to_thread(self._write_poll_failure, kind, row.id, wait, note)
        except SQLAlchemyError as exc:
            log.warning("task %s: a failed poll not noted yet (%s); kept to write on the next pass",
                        row.id, _first_line(exc))
            self._poll_failures.append((kind, row.id, wait, note))
            return 0

    def _write_poll_failure(self, kind: TaskKind, row_id: int, wait: float, note: str | None) -> int:
        due = utcnow() + timedelta(seconds=wait)
        return self.store.record_poll_failure(kind.table, self.engine_id, row_id, due, note)

    # -- copying ------------------------------------------------------------------------------
    async def _copy(self, row: Generation) -> None:
        """Copy a finished task's files (a video, or an image task's images) into the media store,
        check each plays or opens, make thumbnails. A copy that fails is tried again until the
        link's two hours are up, then said in words."""
        deadline = as_utc(row.finished_at or utcnow()) + LINK_LIFETIME
        image = row.makes == "image"
        urls = [f["url"] for f in row.files or [] if isinstance(f, dict) and f.get("url")]
        if not urls and row.remote_url:
            urls = [row.remote_url]
        what = "image" if image else "video"
        if not urls:
            await self._finish_copy(row, failed=f"The service said the {what} was made but gave no link to it.")
            return
        connection = self.keys.get(row.service, row.account)
        allow_local = connection is not None and connection.is_local
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(60.0, connect=10.0), verify=shared_ssl_context(), follow_redirects=False
            )
        kept: list[dict[str, str | None]] = []
        for number, url in enumerate(urls):
            relative = f"images/{row.id}_{number}.png" if image else f"videos/{row.id}.mp4"
            staged = None
            try:
                if not await asyncio.to_thread(self.media.exists, relative):  # kept by an earlier try
                    staged = self.media.staging(relative)
                    await fetch_to_file(
                        self._http,
                        url,
                        staged,
                        kind="image" if image else "video",
                        max_bytes=MAX_IMAGE_BYTES if image else MAX_VIDEO_BYTES,
                        total_timeout=self.settings.copy_timeout,
                        allow_local=allow_local,
                    )
            except FetchError as exc:
                if exc.permanent or utcnow() >= deadline:
                    why = exc.message if exc.permanent else "its link expired before it could be copied"
                    why = why.rstrip(".")  # the fetch's words end a sentence of their own: one full stop
                    await self._finish_copy(row, failed=f"The {what} was made but could not be kept: {why}.")
                    return
                wait = min(300.0, self.policy.copy_retry * 2 ** min(row.poll_failures, 6))
                local = deadline.astimezone().strftime("%H:%M")
                await self._poll_failed(
                    GENERATIONS,
                    row,
                    f"Copying the finished {what} failed ({exc.message}); trying again until {local}, "
                    "when its link expires.",
                    wait=wait,
                )
                return
            except OSError as exc:  # the media folder, not the service: full, read-only, gone
                await self._media_unwritable(row, exc, what, deadline)
                return
            make = self.media.make_image_thumbnail if image else self.media.make_thumbnail
            name = f"{row.id}_{number}" if image else str(row.id)
            try:
                thumb = await asyncio.to_thread(make, relative, name, source=staged)  # from the file on disk
                if staged is not None:
                    await asyncio.to_thread(self.media.commit, relative, staged)  # into the bucket, if one
            except OSError as exc:
                await self._media_unwritable(row, exc, what, deadline)
                return
            kept.append({"path": relative, "thumb": thumb})
        await self._finish_copy(row, video_path=kept[0]["path"], thumb_path=kept[0]["thumb"], files=kept)

    async def _media_unwritable(self, row: Generation, exc: OSError, what: str, deadline) -> None:
        """The file was fetched (or could be) but our own folder took nothing: say which folder and
        why, and until when the service still holds the file; tried again by itself until then."""
        folder = Path(exc.filename).parent if exc.filename else self.media.root
        if utcnow() >= deadline:
            await self._finish_copy(
                row, failed=f"The {what} was made but could not be kept: {media_fault(exc, folder)}."
            )
            return
        wait = min(300.0, self.policy.copy_retry * 2 ** min(row.poll_failures, 6))
        local = deadline.astimezone().strftime("%H:%M")
        note = (
            f"The finished {what} could not be kept here: {media_fault(exc, folder)}. The service keeps it "
            f"until {local}; make room (or fix the folder) before then and it is copied by itself."
        )
        log.warning("task %s: %s", row.id, note)
        await self._poll_failed(GENERATIONS, row, note, wait=wait)

    async def _finish_copy(
        self,
        row: Generation,
        *,
        video_path: str | None = None,
        thumb_path: str | None = None,
        files: list[dict[str, str | None]] | None = None,
        failed: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if failed:  # made and charged, but lost: say so (the cost stays: it was paid)
            values.update(status=Status.FAILED, failure_reason="copy", error=failed)
        else:
            values.update(
                status=Status.SUCCEEDED, video_path=video_path, thumb_path=thumb_path, files=files, error=None
            )
        await self._finish(
            _Finish(GENERATIONS, row.id, (Status.SAVING,), values, counted="copied" if not failed else "copy_failed")
        )

    # -- webhooks -----------------------------------------------------------------------------
    def report(self, payload: dict[str, Any], row: str | None = None) -> None:
        """A task object posted to the webhook receiver (any thread): a hint, never news. Anyone
        who learns the receiver's address may post, so nothing in the body is believed: the
        named task, if it runs here, is made due now, and the engine polls it with its account's
        key and acts on the service's own answer. Known and unknown ids take the same path."""
        try:
            task_id = Task.from_payload(payload).id
        except Exception:  # noqa: BLE001 - a body that names no task is a hint about nothing
            return
        if task_id and self.store.poll_soon(str(task_id)):
            self.stats["webhooks"] += 1
            self.wake()
        elif task_id and row:  # perhaps the task of a send that went unanswered: asked at the next pass
            kind = BY_PREFIX.get(row[:1])
            if kind is not None and row[1:].isdigit() and len(self._matches) < 1000:
                self._matches.append((kind, int(row[1:]), str(task_id)[:200]))
                self.wake()

    async def _match_unknown(self) -> None:
        """Webhooks that named a row whose send went unanswered (``unknown``, no task id): the task
        they name is asked of the service with the row's own key, and only if the service knows it
        does the row take that id and run on as usual (saying so). The body is never believed."""
        while self._matches:
            kind, row_id, task_id = self._matches.pop(0)
            row = await asyncio.to_thread(self.store.get_row, kind.table, row_id)
            if row is None or row.status != Status.UNKNOWN or row.task_id is not None:
                continue
            connection = self.keys.get(row.service, row.account)
            if connection is None:
                continue
            try:
                await self._client(connection).get_result(task_id, model=kind.polled_as(row))
            except GrsaiError:  # not a task of this key's (or not now): nothing changes
                continue
            if await asyncio.to_thread(self.store.match_unknown, kind.table, row_id, task_id, MATCHED_BY_WEBHOOK):
                self.stats["matched_by_webhook"] += 1


__all__ = ["EngineSettings", "TaskEngine"]
