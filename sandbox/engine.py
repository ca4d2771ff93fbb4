"""The sandbox's state: tasks and their lifecycle, credits, characters, faults and statistics.

Runs on the server's event loop; renders run in a thread pool. Task records are written to disk
when created and when finished, so a restarted sandbox finds its tasks again and resumes the
running ones, as the real service keeps working while a client restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from .config import SandboxConfig
from .inputs import BadInput, load_bytes, open_image, parse_timestamps
from .render import Cameo, Look, NotAVideo, RenderProfile, VideoSpec, frame_at, probe_clip, render_video

log = logging.getLogger("sandbox")

MODEL = "sora-2"
CODE_ERROR = -1
CODE_TASK_NOT_FOUND = -22
_MENTION = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_])")
_NAMES = ("sunny", "brisk", "velvet", "lucky", "quiet", "bold", "amber", "misty", "swift", "cosmic")
_NOUNS = ("fox", "otter", "comet", "maple", "pixel", "harbor", "falcon", "willow", "ember", "koi")


class Refused(Exception):
    """A request the service answers with a non-zero code; nothing was charged."""

    def __init__(self, msg: str, code: int = CODE_ERROR) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code


@dataclass
class TaskRecord:
    id: str
    kind: str  # video | upload_character | create_character
    owner: str  # a fingerprint of the key, never the key
    cost: str
    created_at: float
    run_seconds: float
    public_base: str
    params: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None
    status: str = "running"
    progress: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None
    error: str | None = None
    finished_at: float | None = None

    def task_object(self, base_url: str | None = None) -> dict[str, Any]:
        base = (base_url or self.public_base).rstrip("/")
        results = []
        for item in self.results:
            if "media" in item:
                results.append(
                    {"url": f"{base}/media/{item['media']}", "pid": item["pid"], "removeWatermark": True}
                )
            else:
                results.append(dict(item))
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "results": results,
            "failure_reason": self.failure_reason or "",
            "error": self.error or "",
        }


def fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class Engine:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.profile = RenderProfile.named(config.render_profile)
        self.rng = random.Random(config.seed)
        self.tasks: dict[str, TaskRecord] = {}
        self.pids: dict[str, str] = {}  # pid -> task id
        self.characters: dict[str, str] = {}  # character_id -> task id
        self.balances: dict[str, Decimal] = {}
        self.stats: Counter[str] = Counter()
        self.faults: deque[dict[str, Any]] = deque()
        self._subscribers: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self.http: httpx.AsyncClient | None = None
        root = Path(config.data_dir)
        self.dirs = {name: root / name for name in ("media", "tasks", "inputs")}

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(self.config.render_workers, thread_name_prefix="sandbox-render")
        self._exiting = False
        # Python joins executor threads at exit after they drain their queue: with many renders
        # waiting, exit would hang for minutes. This hook runs first and turns waiting renders into
        # no-ops; their tasks stay saved as running and resume at the next start.
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            try:
                register(self._exit_soon)
            except RuntimeError:  # already shutting down
                self._exiting = True
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0))
        self._load_state()

    async def stop(self) -> None:
        for runner in list(self._runners.values()):
            runner.cancel()
        await asyncio.gather(*self._runners.values(), return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _load_state(self) -> None:
        balances = Path(self.config.data_dir) / "balances.json"
        if balances.exists():
            self.balances = {k: Decimal(v) for k, v in json.loads(balances.read_text()).items()}
        for path in sorted(self.dirs["tasks"].glob("*.json")):
            try:
                record = TaskRecord(**json.loads(path.read_text()))
            except (ValueError, TypeError):
                log.warning("skipping unreadable task record %s", path.name)
                continue
            self.tasks[record.id] = record
            self._index(record)
            if record.status == "running":
                self._runners[record.id] = asyncio.create_task(self._run(record))
        if self.tasks:
            log.info("loaded %d tasks (%d resumed)", len(self.tasks), len(self._runners))

    def _index(self, record: TaskRecord) -> None:
        if record.status != "succeeded":
            return
        for item in record.results:
            if item.get("pid"):
                self.pids[item["pid"]] = record.id
            if item.get("character_id"):
                self.characters[item["character_id"]] = record.id

    def _save(self, record: TaskRecord) -> None:
        path = self.dirs["tasks"] / f"{record.id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        tmp.replace(path)

    def _save_balances(self) -> None:
        path = Path(self.config.data_dir) / "balances.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: str(v) for k, v in self.balances.items()}))
        tmp.replace(path)

    # -- accounts ------------------------------------------------------------------------------
    def authenticate(self, api_key: str | None) -> str:
        if not api_key:
            raise Refused("apikey is required: send Authorization: Bearer <key>")
        if self.config.api_keys and api_key not in self.config.api_keys:
            raise Refused("apikey is invalid")
        owner = fingerprint(api_key)
        self.balances.setdefault(owner, Decimal(str(self.config.credits)))
        return owner

    def balance(self, owner: str) -> Decimal:
        return self.balances.get(owner, Decimal(str(self.config.credits)))

    def set_balance(self, owner: str, credits: float) -> None:
        self.balances[owner] = Decimal(str(credits))
        self._save_balances()

    def _charge(self, owner: str, price: float) -> Decimal:
        cost = Decimal(str(price))
        if self.balance(owner) < cost:
            raise Refused(
                f"insufficient credits: this call costs {cost}, the balance is {self.balance(owner)}"
            )
        self.balances[owner] = self.balance(owner) - cost
        self._save_balances()
        return cost

    def _refund(self, record: TaskRecord) -> None:
        self.balances[record.owner] = self.balance(record.owner) + Decimal(record.cost)
        self._save_balances()

    # -- faults --------------------------------------------------------------------------------
    def next_fault(self, path: str) -> int | None:
        """The status to answer instead of serving this API request, if any."""
        for fault in list(self.faults):
            if fault.get("path") in (None, path):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                self.stats["faults_injected"] += 1
                return int(fault["status"])
        roll = self.rng.random()
        if roll < self.config.rate_429:
            self.stats["faults_injected"] += 1
            return 429
        if roll < self.config.rate_429 + self.config.rate_5xx:
            self.stats["faults_injected"] += 1
            return self.rng.choice((500, 502, 503))
        return None

    # -- creating tasks ------------------------------------------------------------------------
    async def _local_media(self, path: str) -> bytes | None:
        match = re.fullmatch(r"/media/([\w-]+)\.mp4", path)
        if not match or match[1] not in self.tasks:
            return None
        record = self.tasks[match[1]]
        if not self._media_live(record):
            return None
        return (self.dirs["media"] / f"{record.id}.mp4").read_bytes()

    def _media_live(self, record: TaskRecord) -> bool:
        return (
            record.status == "succeeded"
            and record.finished_at is not None
            and time.time() < record.finished_at + self.config.url_ttl
        )

    async def _fetch(self, source: str, what: str) -> bytes:
        assert self.http is not None
        return await load_bytes(source, what, self.http, self._local_media)

    async def _clip_frame(self, data: bytes, timestamps: object, what: str) -> Image.Image:
        start, end = parse_timestamps(timestamps)
        try:
            info = await asyncio.to_thread(probe_clip, data)
        except NotAVideo as exc:
            raise BadInput(f"{what} is not a video ({exc})") from None
        if end > info.duration + 0.05:
            raise BadInput(
                f"timestamps {start:g},{end:g} fall outside the clip, which is {info.duration:.2f} s long"
            )
        return await asyncio.to_thread(frame_at, data, (start + end) / 2)

    def _new_task(
        self,
        kind: str,
        owner: str,
        price: float,
        run_seconds: float,
        public_base: str,
        params: dict[str, Any],
        webhook: str | None,
    ) -> TaskRecord:
        cost = self._charge(owner, price)
        record = TaskRecord(
            id=f"sbx_{secrets.token_hex(12)}",
            kind=kind,
            owner=owner,
            cost=str(cost),
            created_at=time.time(),
            run_seconds=run_seconds,
            public_base=public_base,
            params=params,
            webhook=webhook,
        )
        return record

    def _start(self, record: TaskRecord, inputs: dict[str, Image.Image]) -> None:
        for name, image in inputs.items():
            image.save(self.dirs["inputs"] / f"{record.id}_{name}.png")
        self.tasks[record.id] = record
        self._save(record)
        self.stats[f"accepted_{record.kind}"] += 1
        self._runners[record.id] = asyncio.create_task(self._run(record))

    async def submit_video(self, owner: str, body: dict[str, Any], public_base: str) -> TaskRecord:
        self.stats["received_video"] += 1
        model = body.get("model", MODEL)
        if model != MODEL:
            raise Refused(f"model {model!r} is not supported here; use {MODEL!r}")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise Refused("prompt is required")
        aspect = body.get("aspectRatio") or "16:9"
        if aspect not in ("16:9", "9:16"):
            raise Refused("aspectRatio must be 16:9 or 9:16")
        duration = body.get("duration") or 10
        if duration not in (10, 15):
            raise Refused("duration must be 10 or 15")
        size = body.get("size") or "small"
        if size not in ("small", "large"):
            raise Refused("size must be small or large")
        inputs: dict[str, Image.Image] = {}
        params: dict[str, Any] = {
            "prompt": prompt.strip(),
            "aspect_ratio": aspect,
            "duration": duration,
            "size": size,
        }
        remix = body.get("remixTargetId")
        if remix:
            if remix not in self.pids:
                raise Refused(f"remixTargetId {remix!r} is not a video of this account")
            source = self.tasks[self.pids[remix]]
            params["look"] = source.params["look"]
            params["remix_of"] = remix
        else:
            look = Look.from_prompt(prompt)
            params["look"] = {"hue": look.hue, "layout": look.layout}
        try:
            if body.get("url"):
                data = await self._fetch(body["url"], "url (reference image)")
                inputs["reference"] = open_image(data, "url (reference image)")
            characters = body.get("characters") or []
            if not isinstance(characters, list) or len(characters) > 2:
                raise BadInput("characters takes at most 2 entries")
            labels = []
            for number, entry in enumerate(characters, start=1):
                if not isinstance(entry, dict):
                    raise BadInput("each character needs url and timestamps")
                what = f"characters[{number - 1}].url"
                clip = await self._fetch(entry.get("url"), what)
                inputs[f"cameo{number}"] = await self._clip_frame(clip, entry.get("timestamps"), what)
                labels.append(f"character{number}")
        except BadInput as exc:
            raise Refused(str(exc)) from None
        mentioned = [m for m in dict.fromkeys(_MENTION.findall(prompt)) if m in self.characters]
        params["cameos"] = labels + mentioned[: max(0, 4 - len(labels))]
        params["has_reference"] = "reference" in inputs
        webhook = body.get("webHook")
        record = self._new_task(
            "video",
            owner,
            self.config.video_price,
            self.config.task_seconds,
            public_base,
            params,
            webhook if webhook not in (None, "", "-1") else None,
        )
        self._start(record, inputs)
        return record

    async def submit_character(
        self, owner: str, body: dict[str, Any], public_base: str, from_pid: bool
    ) -> TaskRecord:
        kind = "create_character" if from_pid else "upload_character"
        self.stats[f"received_{kind}"] += 1
        try:
            if from_pid:
                pid = body.get("pid")
                if pid not in self.pids:
                    raise BadInput(f"pid {pid!r} is not a video of this account")
                clip = (self.dirs["media"] / f"{self.pids[pid]}.mp4").read_bytes()  # a pid never expires
                frame = await self._clip_frame(clip, body.get("timestamps"), "pid's video")
                params = {"pid": pid, "timestamps": body.get("timestamps")}
            else:
                parse_timestamps(body.get("timestamps"))  # before any download
                clip = await self._fetch(body.get("url"), "url (clip)")
                frame = await self._clip_frame(clip, body.get("timestamps"), "url (clip)")
                params = {"timestamps": body.get("timestamps")}
        except BadInput as exc:
            raise Refused(str(exc)) from None
        webhook = body.get("webHook")
        record = self._new_task(
            kind,
            owner,
            self.config.character_price,
            self.config.character_seconds,
            public_base,
            params,
            webhook if webhook not in (None, "", "-1") else None,
        )
        self._start(record, {"character": frame})
        return record

    # -- running tasks -------------------------------------------------------------------------
    def subscribe(self, task_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.setdefault(task_id, []).append(queue)
        return queue

    def unsubscribe(self, task_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._subscribers.get(task_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._subscribers.pop(task_id, None)

    async def _publish(self, record: TaskRecord) -> None:
        snapshot = record.task_object()
        for queue in self._subscribers.get(record.id, []):
            queue.put_nowait(snapshot)
        if record.webhook and self.http is not None:
            try:
                await self.http.post(record.webhook, json=snapshot, timeout=5.0)
                self.stats["webhooks_sent"] += 1
            except httpx.HTTPError as exc:
                self.stats["webhook_failures"] += 1
                log.warning("webhook for %s failed: %s", record.id, type(exc).__name__)

    def _blocked_word(self, prompt: str) -> str | None:
        lowered = prompt.lower()
        return next((w for w in self.config.blocklist if re.search(rf"\b{re.escape(w)}\b", lowered)), None)

    def _video_spec(self, record: TaskRecord) -> VideoSpec:
        p = record.params
        cameos = []
        for number, label in enumerate(p.get("cameos", []), start=1):
            if label in self.characters:
                path = self.dirs["inputs"] / f"{self.characters[label]}_character.png"
            else:
                path = self.dirs["inputs"] / f"{record.id}_cameo{number}.png"
            if path.exists():
                cameos.append(Cameo(label=label, image=Image.open(path).convert("RGB")))
        reference = self.dirs["inputs"] / f"{record.id}_reference.png"
        return VideoSpec(
            prompt=p["prompt"],
            aspect_ratio=p["aspect_ratio"],
            size=p["size"],
            duration=p["duration"],
            look=Look(hue=p["look"]["hue"], layout=p["look"]["layout"]),
            remix_of=p.get("remix_of"),
            cameos=cameos,
            reference=Image.open(reference).convert("RGB") if reference.exists() else None,
        )

    def _exit_soon(self) -> None:
        self._exiting = True

    def _render(self, record: TaskRecord) -> None:
        if self._exiting:
            raise RuntimeError("not rendered: interpreter shutdown")
        render_video(self._video_spec(record), self.dirs["media"] / f"{record.id}.mp4", self.profile)

    async def _run(self, record: TaskRecord) -> None:
        try:
            await self._advance(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sandbox bug must still end the task, refunded
            if isinstance(exc, RuntimeError) and "interpreter shutdown" in str(exc):
                # the process is exiting (an app restart): leave the task as saved; it resumes then
                log.info("task %s left for the next start", record.id)
                return
            log.exception("task %s crashed", record.id)
            await self._finish(record, failure=("error", f"internal error: {type(exc).__name__}"))
        finally:
            self._runners.pop(record.id, None)

    async def _advance(self, record: TaskRecord) -> None:
        loop = asyncio.get_running_loop()
        blocked = self._blocked_word(record.params.get("prompt", "")) if record.kind == "video" else None
        if blocked:
            await asyncio.sleep(min(1.0, record.run_seconds * 0.2))
            await self._finish(
                record,
                failure=(
                    "input_moderation",
                    f"The prompt was refused by content moderation (it mentions {blocked!r}).",
                ),
            )
            return
        # Render (in a thread) while progress rises with time; finish when both are done.
        work = loop.run_in_executor(self._pool, self._render, record) if record.kind == "video" else None
        while True:
            elapsed = time.time() - record.created_at
            fraction = min(1.0, elapsed / record.run_seconds) if record.run_seconds > 0 else 1.0
            rendered = work is None or work.done()
            if fraction >= 1.0 and rendered:
                break
            progress = max(record.progress, min(99, int(100 * (1 - (1 - fraction) ** 1.5))))
            if progress != record.progress:
                record.progress = progress
                await self._publish(record)
            pause = self.config.progress_interval
            if fraction < 1.0:
                pause = min(pause, record.run_seconds - elapsed)
            if rendered:
                await asyncio.sleep(max(0.01, pause))
            else:
                await asyncio.wait({work}, timeout=max(0.01, pause))
        if work is not None and work.exception() is not None:
            raise work.exception()
        roll = self.rng.random() if record.kind == "video" else 1.0
        if roll < self.config.error_rate:
            await self._finish(
                record, failure=("error", "Generation failed on the service's side; try again.")
            )
            return
        if roll < self.config.error_rate + self.config.output_moderation_rate:
            await self._finish(
                record,
                failure=("output_moderation", "The finished video was withheld by content moderation."),
            )
            return
        if record.kind == "video":
            record.results = [{"media": f"{record.id}.mp4", "pid": f"s_{secrets.token_hex(16)}"}]
        else:
            name = f"{self.rng.choice(_NAMES)}_{self.rng.choice(_NOUNS)}.{secrets.token_hex(3)}"
            record.results = [{"character_id": name}]
        await self._finish(record)

    async def _finish(self, record: TaskRecord, failure: tuple[str, str] | None = None) -> None:
        if failure:
            record.status, (record.failure_reason, record.error) = "failed", failure
            self._refund(record)
        else:
            record.status, record.progress = "succeeded", 100
        record.finished_at = time.time()
        self._index(record)
        self._save(record)
        self.stats[f"{record.status}_{record.kind}"] += 1
        await self._publish(record)

    # -- reading -------------------------------------------------------------------------------
    def get(self, owner: str, task_id: str) -> TaskRecord:
        record = self.tasks.get(task_id)
        if record is None or record.owner != owner:
            raise Refused("task not found", CODE_TASK_NOT_FOUND)
        return record

    def media_path(self, name: str) -> Path | None:
        match = re.fullmatch(r"([\w-]+)\.mp4", name)
        record = self.tasks.get(match[1]) if match else None
        if record is None or not self._media_live(record):
            return None
        path = self.dirs["media"] / name
        return path if path.exists() else None

    def summary(self) -> dict[str, Any]:
        statuses = Counter(r.status for r in self.tasks.values())
        return {
            "counters": dict(self.stats),
            "tasks": dict(statuses),
            "running": len(self._runners),
            "queued_faults": list(self.faults),
            "balances": {k: float(v) for k, v in self.balances.items()},
        }
