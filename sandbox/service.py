"""The sandbox's state: tasks and their lifecycle, credits, characters, faults and statistics.

Runs on the server's event loop; renders run in a thread pool. Task records are written to disk
when created and when finished, so a restarted sandbox finds its tasks again and resumes the
running ones, as the real service keeps working while a client restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import re
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from PIL import Image

from grsai_api import MODELS, ModelSpec
from grsai_api._base import pinned_request

from . import chat as stand_in
from .config import SandboxConfig, whole_credits
from .inputs import (
    BadInput,
    Unfetchable,
    checked_address,
    fetchable,
    load_bytes,
    open_image,
    parse_timestamps,
)
from .render import (
    Cameo,
    ImageSpec,
    Look,
    NotASound,
    NotAVideo,
    RenderProfile,
    RenderStopped,
    VideoSpec,
    frame_at,
    probe_clip,
    render_image,
    render_video,
    sound_seconds,
)
from .storage import Storage

log = logging.getLogger("sandbox")

MODEL = "sora-2"
CODE_ERROR = -1
CODE_TASK_NOT_FOUND = -22
MAX_AUDIOS = 3  # the unified API's reference sounds: the first becomes the video's sound track
# Balances and costs were once kept in a unit 20,000 times larger (0.08 a video); such saved values
# are strings ("99.92") and are converted when read. Whole credits are saved as JSON integers.
LEGACY_CREDIT_FACTOR = 20_000
FAULT_KINDS = ("status", "garbage", "truncated", "malformed")
# failure reasons that are content refusals: the real service keeps their credits (GRSAI_PROTOCOL.md)
CONTENT_REFUSALS = frozenset({"input_moderation", "output_moderation", "violation"})
_MENTION = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_])")
_NAMES = ("sunny", "brisk", "velvet", "lucky", "quiet", "bold", "amber", "misty", "swift", "cosmic")
_NOUNS = ("fox", "otter", "comet", "maple", "pixel", "harbor", "falcon", "willow", "ember", "koi")


def stored_credits(value: object) -> int:
    """A saved balance or cost as whole credits: an int as it is, an old decimal string (or float)
    in the old unit multiplied by 20,000 and rounded."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        old = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount of credits: {value!r}") from None
    if not old.is_finite():
        raise ValueError(f"not an amount of credits: {value!r}")
    return int((old * LEGACY_CREDIT_FACTOR).to_integral_value(rounding=ROUND_HALF_UP))


def parse_fault(spec: object) -> dict[str, Any]:
    """A queued fault from ``POST /sandbox/faults``: ``{"status": 429 | 5xx}`` or
    ``{"kind": "garbage" | "truncated" | "malformed"}``, with ``count`` (1), ``path`` (any API path)
    and ``after`` (false: answered instead of the request; true: answered after the request was
    served, so a create has made and charged its task)."""
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    unknown = set(spec) - {"status", "kind", "count", "path", "after"}
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    kind = spec.get("kind") or "status"
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    status = spec.get("status")
    if kind == "status":
        status = 500 if status is None else status
        if (
            isinstance(status, bool)
            or not isinstance(status, int)
            or not (status == 429 or 500 <= status < 600)
        ):
            raise ValueError("status must be 429 or 5xx")
    elif status is not None:
        raise ValueError(f"a {kind!r} fault takes no status (it answers HTTP 200 or breaks the reply)")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a whole number of at least 1")
    path = spec.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise ValueError("path must be a request path such as /v1/draw/result")
    after = spec.get("after", False)
    if not isinstance(after, bool):
        raise ValueError("after must be true or false")
    return {"status": status, "kind": kind, "after": after, "count": count, "path": path}


class Refused(Exception):
    """A request the service answers with a non-zero code; nothing was charged."""

    def __init__(self, msg: str, code: int = CODE_ERROR) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code


class KeyRefused(Refused):
    """A missing or wrong key. The real service answers it with HTTP 400 "apikey error" (and an
    async submit of the unified API with an empty HTTP 200): see the protocol page's revision."""


@dataclass
class TaskRecord:
    id: str
    kind: str  # video (Sora 2) | upload_character | create_character | veo | image | unified
    owner: str  # a fingerprint of the key, never the key
    cost: int  # whole credits charged (refunded if the task fails with an error, see _finish)
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
    model: str = MODEL
    pollable: bool = True  # a unified-API task answered in full ("json") cannot be polled after

    @property
    def unified(self) -> bool:
        """Made on the unified API (a video of kind "unified", or an image sent there)."""
        return self.kind == "unified" or self.params.get("api") == "unified"

    def task_object(self, base_url: str | None = None) -> dict[str, Any]:
        base = (base_url or self.public_base).rstrip("/")
        results = []
        for item in self.results:
            if "media" in item:
                result: dict[str, Any] = {"url": f"{base}/media/{item['media']}"}
                if item.get("pid"):
                    result["pid"] = item["pid"]
                if self.kind in ("video", "veo"):
                    result["removeWatermark"] = True
                results.append(result)
            else:
                results.append(dict(item))
        task = {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "results": results,
            "failure_reason": self.failure_reason or "",
            "error": self.error or "",
        }
        if self.unified:  # 668mt/grsai-cli reads it camelCased, other clients snake_cased
            task["failureReason"] = task["failure_reason"]
        if self.kind in ("veo", "image", "unified"):
            task["model"] = self.model
        if self.kind == "veo" and results:
            task["url"] = results[0]["url"]  # one Veo adapter reads it here
        return task


def _write_atomically(path: Path, text: str) -> None:
    """Write whole or not at all; the temporary name is this writer's own (two sandboxes may share
    one data folder)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _wire_values(entry: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The body's values for the fields of ``entry``'s choices, integers and booleans, as the service
    checks them (a value sent must be one the model takes), with the defaults for those not sent."""
    values: dict[str, Any] = {}
    for spec in entry.fields.values():
        value = body.get(spec.wire)
        if value in (None, ""):
            if spec.default is not None and not spec.optional:
                values[spec.wire] = spec.wire_value(spec.default)
            continue
        if spec.kind == "choices":
            allowed = [spec.wire_value(choice) for choice in spec.choices]
            if value not in allowed:
                raise Refused(f"{spec.wire} must be one of {', '.join(map(str, allowed))}")
        elif spec.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int) or not spec.minimum <= value <= spec.maximum:  # type: ignore[operator]
                raise Refused(f"{spec.wire} must be a whole number from {spec.minimum} to {spec.maximum}")
        elif spec.kind == "boolean" and not isinstance(value, bool):
            raise Refused(f"{spec.wire} must be true or false")
        elif spec.kind == "text" and (not isinstance(value, str) or len(value) > spec.max_chars):
            raise Refused(f"{spec.wire} must be text of at most {spec.max_chars} characters")
        values[spec.wire] = value
    return values


def _image_size(api: str, ratio: str, size_name: str, references: list[Image.Image]) -> tuple[int, int]:
    """The pixel size of an image: GPT image's three fixed sizes; a size given in pixels ("1024x1536");
    otherwise the long side by 1K/2K/4K at the ratio asked ("auto": the first reference's, else
    square)."""
    if api == "completions":
        return {"1:1": (1024, 1024), "3:2": (1536, 1024), "2:3": (1024, 1536)}[ratio]
    pixels = re.fullmatch(r"(\d{2,5})x(\d{2,5})", ratio)
    if pixels:
        return min(4096, int(pixels[1])), min(4096, int(pixels[2]))
    if api == "unified" and ratio in ("1:1", "3:2", "2:3") and size_name not in ("2K", "4K"):
        size_name = "1K"
    long_side = {"1K": 1024, "2K": 2048, "4K": 4096}.get(size_name, 1024)
    if ratio == "auto":
        w, h = references[0].size if references else (1, 1)
    else:
        w, h = (int(part) for part in ratio.split(":"))
    if w >= h:
        return long_side, max(2, round(long_side * h / w))
    return max(2, round(long_side * w / h)), long_side


def fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class SandboxService:
    """The service's side of every route: what the real GrsAI keeps (tasks, credits, characters,
    storage) and the demo knobs (faults, statistics), rendering in a thread pool."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.profile = RenderProfile.named(config.render_profile)
        self.rng = random.Random(config.seed)
        self.tasks: dict[str, TaskRecord] = {}
        self.pids: dict[str, str] = {}  # pid -> task id
        self.characters: dict[str, str] = {}  # character_id -> task id
        self.balances: dict[str, int] = {}
        self.stats: Counter[str] = Counter()
        self.polls_by_task: Counter[str] = Counter()  # task id -> result polls served
        self.downloads_by_name: Counter[str] = Counter()  # media file name -> GET requests
        self.inputs_by_url: Counter[str] = Counter()  # an input image or clip's URL -> requests naming it
        self.faults: deque[dict[str, Any]] = deque()
        self._webhooks: dict[str, _Delivery] = {}  # task id -> its webHook sender
        self._subscribers: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._takes: Counter[str] = Counter()  # prompt -> tasks made of it (each a different take)
        self._pool: ThreadPoolExecutor | None = None
        self.http: httpx.AsyncClient | None = None
        root = Path(config.data_dir)
        self.dirs = {name: root / name for name in ("media", "tasks", "inputs", "files")}
        self.storage = Storage(self.dirs["files"], self.stats)

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
        senders = [delivery.sender for delivery in self._webhooks.values() if delivery.sender is not None]
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _load_state(self) -> None:
        balances = Path(self.config.data_dir) / "balances.json"
        if balances.exists():
            self.balances = {k: stored_credits(v) for k, v in json.loads(balances.read_text()).items()}
        for path in sorted(self.dirs["tasks"].glob("*.json")):
            try:
                record = TaskRecord(**json.loads(path.read_text()))
                record.cost = stored_credits(record.cost)
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
        _write_atomically(path, json.dumps(asdict(record)))

    def _save_balances(self) -> None:
        path = Path(self.config.data_dir) / "balances.json"
        _write_atomically(path, json.dumps({k: int(v) for k, v in self.balances.items()}))

    # -- accounts ------------------------------------------------------------------------------
    def authenticate(self, api_key: str | None) -> str:
        if not api_key:
            raise KeyRefused("apikey error: send Authorization: Bearer <key>")
        if self.config.api_keys and api_key not in self.config.api_keys:
            raise KeyRefused("apikey error")
        owner = fingerprint(api_key)
        self.balances.setdefault(owner, self.config.credits)
        return owner

    def balance(self, owner: str) -> int:
        return self.balances.get(owner, self.config.credits)

    def set_balance(self, owner: str, credits: object) -> None:
        self.balances[owner] = whole_credits(credits)
        self._save_balances()

    def _charge(self, owner: str, price: int) -> int:
        if self.balance(owner) < price:
            raise Refused(
                f"insufficient credits: this call costs {price}, the balance is {self.balance(owner)}"
            )
        self.balances[owner] = self.balance(owner) - price
        self._save_balances()
        return price

    def _refund(self, record: TaskRecord) -> None:
        self.balances[record.owner] = self.balance(record.owner) + record.cost
        self._save_balances()

    # -- faults --------------------------------------------------------------------------------
    def queue_fault(self, spec: object) -> dict[str, Any]:
        fault = parse_fault(spec)
        self.faults.append(fault)
        return fault

    def next_fault(self, path: str, *, queued_only: bool = False) -> dict[str, Any] | None:
        """The fault to inject into this request, if any: the first queued one whose path matches
        (a fault without a path matches every API request), else one of the random rates.
        ``queued_only``: media downloads, where only a fault naming their path applies."""
        for fault in list(self.faults):
            if fault.get("path") == path or (fault.get("path") is None and not queued_only):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                self.stats["faults_injected"] += 1
                if fault["after"]:
                    self.stats["faults_injected_after"] += 1
                return {k: v for k, v in fault.items() if k != "count"}
        if queued_only:
            return None
        roll = self.rng.random()
        if roll < self.config.rate_429:
            self.stats["faults_injected"] += 1
            return {"status": 429, "kind": "status", "after": False, "path": None}
        if roll < self.config.rate_429 + self.config.rate_5xx:
            self.stats["faults_injected"] += 1
            status = self.rng.choice((500, 502, 503))
            return {"status": status, "kind": "status", "after": False, "path": None}
        return None

    # -- creating tasks ------------------------------------------------------------------------
    async def _local_media(self, path: str) -> bytes | None:
        """Our own files, read from disk rather than fetched over HTTP: results and stored uploads."""
        if path.startswith("/files/"):
            stored = self.storage.path(path[len("/files/") :])
            return stored.read_bytes() if stored is not None else None
        if not path.startswith("/media/"):
            return None
        found = self.media_path(path[len("/media/") :])
        return found.read_bytes() if found is not None else None

    def _media_live(self, record: TaskRecord) -> bool:
        return (
            record.status == "succeeded"
            and record.finished_at is not None
            and time.time() < record.finished_at + self.config.url_ttl
        )

    async def _fetch(self, source: str, what: str) -> bytes:
        assert self.http is not None
        if source.startswith(("http://", "https://")):
            self.inputs_by_url[source] += 1
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
        price: int,
        run_seconds: float,
        public_base: str,
        params: dict[str, Any],
        webhook: str | None,
    ) -> TaskRecord:
        cost = self._charge(owner, price)
        prompt = params.get("prompt")
        if isinstance(prompt, str) and kind in ("video", "veo", "image", "unified"):
            params["take"] = take = self._takes[prompt]
            self._takes[prompt] += 1
            if take and "look" in params and not params.get("remix_of"):  # a remix keeps its source's look
                look = Look(**params["look"]).take(take)
                params["look"] = {"hue": look.hue, "layout": look.layout}
        newer = kind in ("veo", "image", "unified")  # the newer models' ids look like 4-<uuid>
        record = TaskRecord(
            id=f"4-{uuid.uuid4()}" if newer else f"sbx_{secrets.token_hex(12)}",
            kind=kind,
            owner=owner,
            cost=cost,
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
        self._model_up(body.get("model", MODEL), "sora")
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
        webhook = _webhook_url(body)  # checked before anything is downloaded or charged
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
        record = self._new_task(
            "video",
            owner,
            self._price(MODEL),
            self._video_seconds(),
            public_base,
            params,
            webhook,
        )
        self._start(record, inputs)
        return record

    async def submit_character(
        self, owner: str, body: dict[str, Any], public_base: str, from_pid: bool
    ) -> TaskRecord:
        kind = "create_character" if from_pid else "upload_character"
        self.stats[f"received_{kind}"] += 1
        self._model_up(MODEL, "sora")  # characters are Sora 2's
        webhook = _webhook_url(body)
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
        record = self._new_task(
            kind,
            owner,
            self.config.character_price,
            self.config.character_seconds,
            public_base,
            params,
            webhook,
        )
        self._start(record, {"character": frame})
        return record

    # -- the models besides Sora 2 ---------------------------------------------------------------
    def _model_up(self, model: object, api: str) -> ModelSpec:
        """The catalogue entry of a model this path serves and that is up; Refused otherwise."""
        entry = MODELS.get(model) if isinstance(model, str) else None
        if entry is None or entry.api != api:
            served = ", ".join(m.id for m in MODELS.values() if m.api == api)
            raise Refused(f"model {model!r} is not served here; use one of {served}")
        state = self.config.model_state(entry.id)
        assert state is not None
        if not state["available"]:
            why = f": {state['message']}" if state.get("message") else ""
            raise Refused(f"model {entry.id} is unavailable right now{why}")
        return entry

    def _price(self, model: str) -> int:
        state = self.config.model_state(model)
        return int(state["price"]) if state is not None else 0

    @staticmethod
    def _prompt(body: dict[str, Any]) -> str:
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise Refused("prompt is required")
        return prompt.strip()

    async def _images(self, values: object, what: str, limit: int) -> list[Image.Image]:
        if values in (None, "", []):
            return []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Refused(f"{what} must be a list of image URLs or base64 strings")
        if len(values) > limit:
            raise Refused(f"{what} takes at most {limit} images")
        try:
            return [
                open_image(await self._fetch(v, f"{what}[{n}]"), f"{what}[{n}]") for n, v in enumerate(values)
            ]
        except BadInput as exc:
            raise Refused(str(exc)) from None

    async def _sound(self, value: object, what: str) -> bytes:
        """A reference sound (URL, data URI or base64) that decodes as sound; refused in words if not."""
        try:
            data = await self._fetch(str(value), what)
            await asyncio.to_thread(sound_seconds, data)
        except (BadInput, NotASound) as exc:
            raise Refused(f"{what}: {exc}") from None
        return data

    async def _image(self, value: object, what: str) -> Image.Image | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise Refused(f"{what} must be an image URL or base64 string")
        try:
            return open_image(await self._fetch(value, what), what)
        except BadInput as exc:
            raise Refused(str(exc)) from None

    def _count(self, record: TaskRecord) -> None:
        self.stats[f"received_{record.kind}"] += 1

    async def submit_veo(self, owner: str, body: dict[str, Any], public_base: str) -> TaskRecord:
        self.stats["received_veo"] += 1
        entry = self._model_up(body.get("model"), "veo")
        prompt = self._prompt(body)
        aspect = body.get("aspectRatio") or "16:9"
        if aspect not in entry.aspect_ratios:
            raise Refused("aspectRatio must be 16:9 or 9:16")
        webhook = _webhook_url(body)
        frames = body.get("firstFrameUrl") or body.get("lastFrameUrl")
        if frames and body.get("urls"):
            raise Refused("urls (reference images) cannot be sent together with firstFrameUrl/lastFrameUrl")
        inputs: dict[str, Image.Image] = {}
        for name, field_name in (("first", "firstFrameUrl"), ("last", "lastFrameUrl")):
            image = await self._image(body.get(field_name), field_name)
            if image is not None:
                inputs[name] = image
        for number, image in enumerate(
            await self._images(body.get("urls"), "urls", entry.max_references), start=1
        ):
            inputs[f"ref{number}"] = image
        width, height = entry.frame or (1280, 720)
        duration = body.get("duration", entry.seconds or 8)
        if duration not in (entry.durations or (8,)) or isinstance(duration, bool):
            raise Refused(f"duration must be one of {', '.join(map(str, entry.durations or (8,)))}")
        params = {
            "prompt": prompt,
            "aspect_ratio": aspect,
            "duration": duration,
            "frame": [width, height] if aspect == "16:9" else [height, width],
            "inputs": sorted(inputs),
            "badge": f"{entry.name.upper()} · SANDBOX",
        }
        record = self._new_task(
            "veo", owner, self._price(entry.id), self._video_seconds(), public_base, params, webhook
        )
        record.model = entry.id
        self._start(record, inputs)
        return record

    async def submit_image(self, owner: str, body: dict[str, Any], public_base: str, api: str) -> TaskRecord:
        self.stats["received_image"] += 1
        entry = self._model_up(body.get("model"), api)
        prompt = self._prompt(body)
        webhook = _webhook_url(body)
        ratio = body.get("aspectRatio") or ("auto" if api == "nano-banana" else "1:1")
        if ratio not in entry.aspect_ratios:
            raise Refused(f"aspectRatio must be one of {', '.join(entry.aspect_ratios)}")
        variants = 1
        if api == "completions":
            variants = body.get("variants", 1)
            if (
                isinstance(variants, bool)
                or not isinstance(variants, int)
                or not 1 <= variants <= entry.max_variants
            ):
                raise Refused(f"variants must be a whole number from 1 to {entry.max_variants}")
        size_name = body.get("imageSize") or "1K"
        if api == "nano-banana" and size_name not in entry.image_sizes:
            raise Refused(f"imageSize must be one of {', '.join(entry.image_sizes)}")
        references = await self._images(body.get("urls"), "urls", entry.max_references)
        params = {
            "prompt": prompt,
            "size": list(_image_size(api, ratio, size_name, references)),
            "variants": variants,
            "inputs": [f"ref{n}" for n in range(1, len(references) + 1)],
            "badge": f"{entry.name.upper()} · SANDBOX",
        }
        seconds = self.config.image_seconds
        record = self._new_task("image", owner, self._price(entry.id), seconds, public_base, params, webhook)
        record.model = entry.id
        self._start(record, {f"ref{n}": image for n, image in enumerate(references, start=1)})
        return record

    async def submit_unified(self, owner: str, body: dict[str, Any], public_base: str) -> TaskRecord:
        self.stats["received_unified"] += 1
        entry = self._model_up(body.get("model"), "unified")
        if entry.kind == "image":
            return await self._submit_unified_image(owner, body, public_base, entry)
        if entry.kind != "video":
            raise Refused(f"model {entry.id} is a {entry.kind} model: use /v1/chat/completions")
        prompt = self._prompt(body)
        aspect = {
            "landscape": "16:9",
            "portrait": "9:16",
            "square": "1:1",
            "16:9": "16:9",
            "9:16": "9:16",
            "1:1": "1:1",
        }.get(str(body.get("aspectRatio") or "landscape"))
        if aspect is None:
            raise Refused("aspectRatio must be landscape, portrait or square")
        resolution = body.get("resolution") or entry.resolutions[-1]
        if resolution not in entry.resolutions:
            raise Refused(f"resolution must be one of {', '.join(entry.resolutions)}")
        duration = body.get("duration", entry.default_duration)
        longest = entry.longest(resolution) or 15
        if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= longest:
            raise Refused(f"duration must be a whole number of seconds from 1 to {longest} at {resolution}")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise Refused("seed must be a whole number")
        audios = body.get("audios")
        if audios not in (None, "", []) and (
            not isinstance(audios, list)
            or len(audios) > MAX_AUDIOS
            or not all(isinstance(a, str) and a.strip() for a in audios)
        ):
            raise Refused(f"audios takes a list of at most {MAX_AUDIOS} audio URLs")
        sounds = [await self._sound(value, f"audios[{n}]") for n, value in enumerate(audios or [])]
        images = await self._images(body.get("images"), "images", entry.max_references)
        width = {"480p": 854, "768p": 1366, "1080p": 1920}[resolution]
        height = {"480p": 480, "768p": 768, "1080p": 1080}[resolution]
        frame = {"16:9": [width, height], "9:16": [height, width], "1:1": [height, height]}[aspect]
        params = {
            "prompt": prompt,
            "aspect_ratio": aspect,
            "duration": duration,
            "frame": frame,
            "inputs": [f"ref{n}" for n in range(1, len(images) + 1)],
            "badge": f"{entry.name.upper()} · SANDBOX",
            "sound": bool(sounds),
        }
        record = self._new_task(
            "unified", owner, self._price(entry.id), self._video_seconds(), public_base, params, None
        )
        record.model = entry.id
        if sounds:  # the first reference sound is heard in the video
            (self.dirs["inputs"] / f"{record.id}_sound.audio").write_bytes(sounds[0])
        self._start(record, {f"ref{n}": image for n, image in enumerate(images, start=1)})
        return record

    async def _submit_unified_image(
        self, owner: str, body: dict[str, Any], public_base: str, entry: ModelSpec
    ) -> TaskRecord:
        """An image on the unified API, checked against the model's catalogue entry (so a model added
        by file is served as it describes itself): the size from aspectRatio (a ratio or WxH) and
        imageSize, references pasted in, a transparent background when asked."""
        prompt = self._prompt(body)
        values = _wire_values(entry, body)
        images_wire = entry.fields["reference_urls"].wire if "reference_urls" in entry.fields else "images"
        limit = entry.max_references
        references = await self._images(body.get(images_wire), images_wire, limit) if limit else []
        if "mask_url" in entry.fields:
            await self._image(body.get(entry.fields["mask_url"].wire), "mask")  # must be an image
        ratio = str(values.get("aspectRatio") or "auto")
        size = _image_size("unified", ratio, str(values.get("imageSize") or "1K"), references)
        params = {
            "prompt": prompt,
            "size": list(size),
            "variants": 1,
            "inputs": [f"ref{n}" for n in range(1, len(references) + 1)],
            "badge": f"{entry.name.upper()} · SANDBOX",
            "transparent": values.get("background") == "transparent",
            "api": "unified",
        }
        record = self._new_task(
            "image", owner, self._price(entry.id), self.config.image_seconds, public_base, params, None
        )
        record.model = entry.id
        self._start(record, {f"ref{n}": image for n, image in enumerate(references, start=1)})
        return record

    async def chat(self, owner: str, body: dict[str, Any]) -> dict[str, Any]:
        """A chat completion: the model must be a chat model that is up; the answer is written by
        the sandbox's rule-based stand-in (sandbox/chat.py, labelled in ``system_fingerprint``),
        charged at the model's price per call."""
        self.stats["received_chat"] += 1
        entry = self._model_up(body.get("model"), "chat")
        if body.get("stream") not in (False, None):
            raise Refused("stream: true is not served by the sandbox; send stream: false")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise Refused("messages must be a non-empty list")
        said, instructions, picture = "", [], None
        for message in messages:
            if not isinstance(message, dict):
                continue
            content = message.get("content")
            parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
            text = " ".join(str(p.get("text") or "") for p in parts if isinstance(p, dict) and p.get("type") == "text")
            if message.get("role") == "system":
                instructions.append(text)
            elif message.get("role") == "user":
                said = text
                for part in parts:  # OpenAI parts: text and image_url ({"url": ...} or the URL)
                    if isinstance(part, dict) and part.get("type") == "image_url":
                        url = part.get("image_url")
                        picture = await self._image(url.get("url") if isinstance(url, dict) else url, "image_url")
        said = said.strip()
        if not said and picture is None:
            raise Refused("messages needs a user message with some text")
        request = stand_in.Request("\n".join(instructions).lower(), said, picture)
        # a request to soften a refused prompt quotes the refused words: the stand-in reads them
        blocked = None if stand_in.action_of(request) == "soften" else self._blocked_word(said)
        price = self._price(entry.id)
        self._charge(owner, price)
        self.stats[f"chat_{entry.id}"] += 1
        if blocked:
            text, finish, flags = "", "content_filter", {"sexual": {"filtered": True, "severity": "high"}}
        else:
            text, finish, flags = stand_in.answer(request, self.config.blocklist), "stop", {}
        return {
            "id": f"chatcmpl-{secrets.token_hex(8)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": entry.id,
            "system_fingerprint": stand_in.STAND_IN,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "content_filter_results": flags,
                }
            ],
            "usage": {"prompt_tokens": len(said.split()), "completion_tokens": len(text.split())},
        }

    async def answer_in_full(self, record: TaskRecord) -> None:
        """The unified API's "json" reply: wait until the task has ended; its id is then not pollable
        ("result not exist"), as the real service's is not."""
        queue = self.subscribe(record.id)
        try:
            while record.status == "running":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), timeout=1.0)
        finally:
            self.unsubscribe(record.id, queue)
        record.pollable = False
        self._save(record)

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
        if record.webhook:
            self._notify_webhook(record, snapshot)

    # -- webHook deliveries --------------------------------------------------------------------
    def _notify_webhook(self, record: TaskRecord, snapshot: dict[str, Any]) -> None:
        """Hand the newest task object to the task's sender, which posts it apart from the task, so
        a slow or failing receiver never holds up or breaks the task."""
        assert record.webhook is not None
        delivery = self._webhooks.get(record.id)
        if delivery is None:
            delivery = self._webhooks[record.id] = _Delivery(record.webhook)
            delivery.sender = asyncio.create_task(self._deliver(record.id, delivery))
        delivery.latest = snapshot
        delivery.wake.set()

    async def _deliver(self, task_id: str, delivery: _Delivery) -> None:
        """Posts task objects in order, skipping those a newer one has overtaken. A progress update
        is tried once; the final state up to ``webhook_attempts`` times with doubling pauses."""
        try:
            while True:
                await delivery.wake.wait()
                delivery.wake.clear()
                snapshot = delivery.latest
                final = snapshot["status"] != "running"
                attempts = max(1, self.config.webhook_attempts) if final else 1
                pause = self.config.webhook_backoff
                for attempt in range(1, attempts + 1):
                    if await self._post_webhook(task_id, delivery.url, snapshot):
                        break
                    if attempt == attempts:
                        if final:
                            self.stats["webhooks_abandoned"] += 1
                            log.warning("webhook for %s: final state not delivered", task_id)
                        break
                    self.stats["webhook_retries"] += 1
                    await asyncio.sleep(pause)
                    pause *= 2
                if final:
                    return
        finally:
            if self._webhooks.get(task_id) is delivery:
                del self._webhooks[task_id]

    async def _post_webhook(self, task_id: str, url: str, snapshot: dict[str, Any]) -> bool:
        if self.http is None:
            return False
        try:
            address = await checked_address(url, loopback=True)  # never a name for a link-local address
        except Unfetchable:
            self.stats["webhook_failures"] += 1
            log.warning("webhook for %s not sent: its host resolves to a link-local address", task_id)
            return False
        request = pinned_request(
            url, address, method="POST", json=snapshot, extensions={"timeout": httpx.Timeout(5.0).as_dict()}
        )
        try:
            response = await self.http.send(request, follow_redirects=False)
        except Exception as exc:  # any failure of the receiver is the receiver's, never the task's
            self.stats["webhook_failures"] += 1
            log.warning("webhook for %s failed: %s", task_id, type(exc).__name__)
            return False
        if not response.is_success:
            self.stats["webhook_failures"] += 1
            log.warning("webhook for %s answered HTTP %d", task_id, response.status_code)
            return False
        self.stats["webhooks_sent"] += 1
        return True

    def _blocked_word(self, prompt: str) -> str | None:
        lowered = prompt.lower()
        return next((w for w in self.config.blocklist if re.search(rf"\b{re.escape(w)}\b", lowered)), None)

    def _video_spec(self, record: TaskRecord) -> VideoSpec:
        p = record.params
        if record.kind in ("veo", "unified"):

            def kept(name: str) -> Image.Image | None:
                path = self.dirs["inputs"] / f"{record.id}_{name}.png"
                return (
                    Image.open(path).convert("RGB") if name in p.get("inputs", []) and path.exists() else None
                )

            return VideoSpec(
                prompt=p["prompt"],
                aspect_ratio=p["aspect_ratio"],
                duration=p["duration"],
                look=Look.from_prompt(p["prompt"]).take(p.get("take", 0)),
                frame=tuple(p["frame"]),
                first=kept("first"),
                last=kept("last"),
                cameos=[
                    Cameo(label=f"ref {n + 1}", image=image)
                    for n, image in enumerate(self._inputs(record, p.get("inputs", [])))
                ],
                badge=p.get("badge", "SANDBOX"),
                sound=self.dirs["inputs"] / f"{record.id}_sound.audio" if p.get("sound") else None,
            )
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
            raise RenderStopped("not rendered: interpreter shutdown")
        if record.kind == "image":
            p = record.params
            size = tuple(p["size"])  # always the size asked: images render quickly at any profile
            for variant in range(p.get("variants", 1)):
                spec = ImageSpec(
                    prompt=p["prompt"],
                    size=size,
                    references=self._inputs(record, p.get("inputs", [])),
                    variant=variant + p.get("take", 0) * 4,  # another take: other palettes again
                    badge=p.get("badge", "IMAGE · SANDBOX"),
                    transparent=bool(p.get("transparent")),
                )
                render_image(spec, self.dirs["media"] / f"{record.id}_{variant}.png")
            return
        render_video(
            self._video_spec(record), self.dirs["media"] / f"{record.id}.mp4", self.profile, lambda: self._exiting
        )

    def _inputs(self, record: TaskRecord, names: list[str]) -> list[Image.Image]:
        paths = [self.dirs["inputs"] / f"{record.id}_{name}.png" for name in names if name.startswith("ref")]
        return [Image.open(path).convert("RGB") for path in paths if path.exists()]

    async def _run(self, record: TaskRecord) -> None:
        try:
            await self._advance(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sandbox bug must still end the task, refunded
            if isinstance(exc, RenderStopped):
                # the process is exiting (an app restart): leave the task as saved; it resumes then
                log.info("task %s left for the next start", record.id)
                return
            log.exception("task %s crashed", record.id)
            await self._finish(record, failure=("error", f"internal error: {type(exc).__name__}"))
        finally:
            self._runners.pop(record.id, None)

    async def _advance(self, record: TaskRecord) -> None:
        loop = asyncio.get_running_loop()
        makes = record.kind in ("video", "veo", "image", "unified")
        blocked = self._blocked_word(record.params.get("prompt", "")) if makes else None
        if blocked:
            await asyncio.sleep(min(1.0, record.run_seconds * 0.2))
            reason = "violation" if record.unified else "input_moderation"
            await self._finish(
                record,
                failure=(reason, f"The prompt was refused by content moderation (it mentions {blocked!r})."),
            )
            return
        # Render (in a thread) while progress rises with time; finish when both are done.
        work = loop.run_in_executor(self._pool, self._render, record) if makes else None
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
        roll = self.rng.random() if makes else 1.0
        if roll < self.config.error_rate:
            await self._finish(
                record, failure=("error", "Generation failed on the service's side; try again.")
            )
            return
        if roll < self.config.error_rate + self.config.output_moderation_rate:
            await self._finish(
                record,
                failure=(
                    "output_moderation",
                    f"The finished {_made(record)} was withheld by content moderation.",
                ),
            )
            return
        if record.kind == "video":
            record.results = [{"media": f"{record.id}.mp4", "pid": f"s_{secrets.token_hex(16)}"}]
        elif record.kind in ("veo", "unified"):
            record.results = [{"media": f"{record.id}.mp4"}]
        elif record.kind == "image":
            record.results = [
                {"media": f"{record.id}_{n}.png"} for n in range(record.params.get("variants", 1))
            ]
        else:
            name = f"{self.rng.choice(_NAMES)}_{self.rng.choice(_NOUNS)}.{secrets.token_hex(3)}"
            record.results = [{"character_id": name}]
        await self._finish(record)

    async def _finish(self, record: TaskRecord, failure: tuple[str, str] | None = None) -> None:
        if record.status != "running":  # finished already (a crash after that): never refund twice
            return
        if failure:
            record.status, (record.failure_reason, record.error) = "failed", failure
            if failure[0] == "violation":  # the unified API's own end for a refused prompt
                record.status = "violation"
            if failure[0] not in CONTENT_REFUSALS or self.config.refunds_refusals:
                self._refund(record)  # as the real service: errors refunded, refusals kept
        else:
            record.status, record.progress = "succeeded", 100
        record.finished_at = time.time()
        self._index(record)
        self._save(record)
        self.stats[f"{record.status}_{record.kind}"] += 1
        await self._publish(record)

    # -- reading -------------------------------------------------------------------------------
    def get(self, owner: str, task_id: str, *, poll: bool = False) -> TaskRecord:
        if poll and task_id:
            self.polls_by_task[task_id] += 1
        record = self.tasks.get(task_id)
        if record is None or record.owner != owner:
            raise Refused("task not found", CODE_TASK_NOT_FOUND)
        return record

    def media_path(self, name: str) -> Path | None:
        match = re.fullmatch(r"([\w-]+?)(?:_\d+\.png|\.mp4)", name)
        record = self.tasks.get(match[1]) if match else None
        if record is None or not self._media_live(record):
            return None
        path = self.dirs["media"] / name
        return path if path.exists() else None

    def _video_seconds(self) -> float:
        low, high = self.config.task_seconds, self.config.task_seconds_max
        return self.rng.uniform(low, high) if high > low else low

    def summary(self) -> dict[str, Any]:
        statuses = Counter(r.status for r in self.tasks.values())
        return {
            "counters": dict(self.stats),
            "tasks": dict(statuses),
            "running": len(self._runners),
            "queued_faults": list(self.faults),
            "balances": dict(self.balances),
            "creates_by_prompt": dict(
                Counter(r.params.get("prompt", "") for r in self.tasks.values() if "prompt" in r.params)
            ),
            "creates_by_model": dict(
                Counter(
                    r.model for r in self.tasks.values() if r.kind in ("video", "veo", "image", "unified")
                )
            ),
            "polls_by_task": dict(self.polls_by_task),
            "downloads_by_name": dict(self.downloads_by_name),
            "downloads_by_file": dict(self.storage.downloads),
            "inputs_by_url": dict(self.inputs_by_url),
            "finished_at_by_task": {r.id: r.finished_at for r in self.tasks.values() if r.finished_at},
        }


class _Delivery:
    """The webHook sender of one task: the newest task object, and a flag saying it is new."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latest: dict[str, Any] = {}
        self.wake = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None


def _made(record: TaskRecord) -> str:
    return "image" if record.kind == "image" else "video"


def _webhook_url(body: dict[str, Any]) -> str | None:
    """The URL to post task objects to: None for "-1" (poll) or no webHook; only http(s) is fetched."""
    webhook = body.get("webHook")
    if webhook in (None, "", "-1", -1):
        return None
    parsed = urlparse(webhook) if isinstance(webhook, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Refused('webHook must be "-1" (poll for the result) or an http(s) URL')
    if not fetchable(webhook, loopback=True):  # never a link-local address (a metadata service)
        raise Refused("webHook must not point at a link-local address")
    return webhook
