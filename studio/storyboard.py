"""Storyboards: a list of shots made one after another through the task engine, each continuing
the one before by its model's own means, then joined into one film.

- **Continuity.** A shot with a start image of its own begins a new scene from it. Any other shot
  continues from the shot before: a Sora 2 shot after a Sora 2 shot is a remix of it (a remix
  chain); a Veo shot starts on the last frame of the shot before; another model takes that frame
  as its first reference.
- **The steps** (``advance``) are idempotent and may be taken by any engine, any number of times:
  each shot is queued with a request key of its own (storyboard, shot, attempt), so it is queued
  once; the join is claimed with a lease.
- **The join** (``join_videos``) decodes every shot with PyAV and re-encodes them, fitted to one
  size and one frame rate, into one H.264 MP4 (with AAC sound when any shot has sound; silence
  under the shots without), no ffmpeg subprocess. Each shot keeps its own length, so the film lasts
  as long as its shots together.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import ImageOps

from grsai_api import MODELS, InvalidRequestError, is_refusal

from .characters import CharacterNames
from .clips import ClipError, frame_at
from .costs import credits_text, video_cost
from .db import FailureReason, Generation, Status, Store
from .db.storyboards import DONE, JOINING, RUNNING, STOPPED
from .db.types import utcnow
from .media import MediaStore
from .messages import REFUSALS_KEPT
from .queueing import QueueingService

log = logging.getLogger(__name__)

MAX_SHOTS = 12
MAX_WIDTH = 1920  # the film's size: the largest shot's, at most this wide
AUDIO_RATE = 48_000
IMAGE_FIELDS = {"sora": "image_url", "veo": "first_frame_url"}  # otherwise the first reference
MAX_KEPT = 2  # brand-kit assets kept in every shot: Veo takes 3 references, one left for the shot before's frame
STATE_WORDS = {state: state.words for state in (RUNNING, JOINING, DONE, STOPPED)}


class JoinError(ValueError):
    """A shot that cannot be read as a video."""


@dataclass(frozen=True)
class ShotPlan:
    """One shot as a person planned it: its model, prompt, length (where the model has a choice)
    and an optional start image (bytes, or a web address)."""

    model: str
    prompt: str
    duration: int | None = None
    image: bytes | str | None = None


def _image_field(model: str) -> str:
    entry = MODELS[model]
    return IMAGE_FIELDS.get(entry.api, "reference_urls")


def shot_params(plan: ShotPlan, aspect_ratio: str) -> dict[str, Any]:
    """The request parameters of one shot, before continuity is added."""
    entry = MODELS.get(plan.model)
    params: dict[str, Any] = {"model": plan.model, "prompt": plan.prompt, "aspect_ratio": aspect_ratio}
    if entry is not None and entry.durations and plan.duration:
        params["duration"] = int(plan.duration)
    if plan.image and entry is not None:
        name = _image_field(plan.model)
        params[name] = [plan.image] if name == "reference_urls" else plan.image
    return params


def takes_kept(model: str) -> bool:
    """Whether a shot of this model can carry kept assets: its model takes reference images."""
    entry = MODELS.get(model)
    return entry is not None and "reference_urls" in entry.fields


def with_kept(params: dict[str, Any], keep: list[str] | None) -> dict[str, Any]:
    """A shot's parameters (continuity added) with the kept assets among its references. Veo takes
    frames or references, not both: its first frame (its own, or the shot before's last) becomes its
    first reference. The kept assets always go; the shot's own references fill the room left."""
    entry = MODELS.get(params.get("model") or "")
    if not keep or entry is None or not takes_kept(entry.id):
        return params
    params = dict(params)
    references = [params.pop(name) for name in ("first_frame_url", "last_frame_url") if entry.api == "veo" and params.get(name)]
    references += [r for r in params.get("reference_urls") or [] if r not in keep]
    room = max(entry.fields["reference_urls"].count - len(keep), 0)
    params["reference_urls"] = references[:room] + list(keep)
    return params


def keep_note(models: list[str], names: list[str]) -> str | None:
    """What keeping assets in every shot does to these shots' models, in words: which shots cannot
    take them, and that Veo shots take the shot before's last frame as a reference instead of starting on it."""
    if not names:
        return None
    kept = " and ".join(f"@{n}" for n in names)
    notes = []
    cannot = [f"shot {n} ({MODELS[m].name})" for n, m in enumerate(models, start=1) if m in MODELS and not takes_kept(m)]
    if cannot:
        listing = ", ".join(cannot)
        notes.append(f"{listing[0].upper()}{listing[1:]} cannot take {kept}: made without, its model takes no references.")
    if any(MODELS[m].api == "veo" for m in models if m in MODELS):
        notes.append(
            "Veo shots take the shot before's last frame as a reference instead of starting on it "
            "(Veo takes frames or references, not both)."
        )
    return " ".join(notes) or None


class StoryboardService(QueueingService):
    def check(
        self, shots: list[ShotPlan], aspect_ratio: str, keep: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every shot's parameters as they will be kept, or InvalidRequestError naming the shot
        (``field`` is ``shot-<n>``, from 1) for the first that will not do: nothing is kept. ``keep``:
        brand-kit assets (``file:`` references of this account's kit) for every shot that takes references."""
        from .brand import BrandKit
        from .generation import GenerationService

        if not shots:
            raise InvalidRequestError("Add a shot first: a storyboard needs at least one.", field="shots")
        if len(shots) > MAX_SHOTS:
            raise InvalidRequestError(f"A storyboard has at most {MAX_SHOTS} shots.", field="shots")
        checker = GenerationService(self.store, self.media, self.connection)
        kit = BrandKit(self.store, self.media, self.connection)
        if len(keep or []) > MAX_KEPT or not all(kit.owns(ref) for ref in keep or []):
            raise InvalidRequestError(f"Keep at most {MAX_KEPT} assets of your brand kit in every shot.", field="keep")
        names = CharacterNames(self.store.characters(ready_only=True), account=self.connection.account)  # @Goldie, on Sora
        planned = []
        for number, plan in enumerate(shots, start=1):
            entry = MODELS.get(plan.model)
            if entry is None or entry.kind != "video":
                raise InvalidRequestError(f"Shot {number}: choose a video model.", field=f"shot-{number}")
            if entry.characters:  # sent, and kept, as the handle the service knows
                plan = replace(plan, prompt=names.resolve(plan.prompt))
            if aspect_ratio not in entry.aspect_ratios:
                raise InvalidRequestError(
                    f"Shot {number}: {entry.name} does not make {aspect_ratio} videos.", field=f"shot-{number}"
                )
            try:
                planned.append(checker.check(shot_params(plan, aspect_ratio)))
                checker.check(with_kept(planned[-1], keep), from_store=True)  # with the kept assets, as sent
            except InvalidRequestError as exc:
                raise InvalidRequestError(f"Shot {number}: {exc.message}", field=f"shot-{number}") from None
        return planned

    def make_all(
        self,
        name: str,
        shots: list[ShotPlan],
        aspect_ratio: str,
        *,
        request_key: str | None = None,
        keep: list[str] | None = None,
    ) -> tuple[int, bool]:
        """Check every shot, write the storyboard and queue its first shot. Returns its id and
        whether it is new (False: this request key made it already). ``keep``: brand-kit assets
        passed as references to every shot whose model takes them."""
        planned = self.check(shots, aspect_ratio, keep)
        name = " ".join((name or "").split()) or _name_from(planned[0]["prompt"])
        board, created = self.store.add_storyboard(
            name,
            [{"params": params, "keep": list(keep or [])} for params in planned],
            service=self.connection.service_id,
            account=self.connection.account,
            request_key=request_key,
        )
        if created:
            advance(self.store, self.media, board.id)
            self.on_queued()
        return board.id, created

    def stop(self, board_id: int) -> bool:
        return self.store.stop_storyboard(board_id, "Stopped by you: the shot not sent yet was not made.")

    def resume(self, board_id: int) -> bool:
        if not self.store.resume_storyboard(board_id):
            return False
        advance(self.store, self.media, board_id)
        self.on_queued()
        return True


def shot_progress(rows: dict[int, Generation], count: int) -> tuple[float, list[tuple[int, str, Generation | None]]]:
    """How far along the shots are (0–1) and, for each shot, its number, its state in words (the
    status's own word, a share while it is made, the reason when it was not) and its newest row."""
    done, lines = 0.0, []
    for number in range(count):
        row = rows.get(number)
        status = Status(row.status) if row is not None else Status.QUEUED
        words = status.label
        if status == Status.SUCCEEDED:
            done += 1
        elif status in (Status.RUNNING, Status.SAVING):
            done += row.progress / 100
            words += f" · {row.progress}%"
        elif status == Status.FAILED:
            words += f": {FailureReason.of(row.failure_reason).short}"
        lines.append((number + 1, words, row))
    return done / max(1, count), lines


def go_on_words(board, rows: dict[int, Generation]) -> str:
    """What "Go on" makes and what it costs, said before it is pressed: the first shot not made
    (again, when it was tried: a new send, charged anew) and the shots after it."""
    left = [(n, plan) for n, plan in enumerate(board.shots) if getattr(rows.get(n), "status", None) != Status.SUCCEEDED]
    if not left:
        return "Go on joins the shots again: nothing new is made or charged."
    (number, plan), rest = left[0], left[1:]
    tried = rows.get(number)
    words = f"Go on makes shot {number + 1}{' again' if tried is not None else ''}: "
    words += credits_text(video_cost(model=plan["params"].get("model")))
    if rest:
        more = sum(video_cost(model=p["params"].get("model")) for _, p in rest)
        words += f", then {len(rest)} more shot{'s' if len(rest) != 1 else ''}: {credits_text(more)}"
    if tried is not None and tried.cost and is_refusal(tried.failure_reason):
        words += f"; {REFUSALS_KEPT}"
    return words + "."


def _name_from(prompt: str) -> str:
    words = prompt.split()
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")


# -- the steps ---------------------------------------------------------------------------------
def advance(store: Store, media: MediaStore, board_id: int) -> str | None:
    """Take a storyboard's next step: queue the next shot (with its continuity), stop on a shot
    that failed, or join the shots once all are made. Returns what was done (for tests and logs)."""
    board = store.storyboard(board_id)
    if board is None or board.state not in (RUNNING, JOINING):
        return None
    rows = store.shots_of(board_id)
    if board.state == RUNNING:
        for number, plan in enumerate(board.shots):
            row = rows.get(number)
            if row is not None and row.status != Status.SUCCEEDED and Status(row.status).is_final:
                if (row.storyboard_attempt or 0) < board.attempt:
                    row = None  # "go on" was pressed after it failed: it is made anew
                else:
                    why = row.error or "it was not made"
                    store.stop_storyboard(board_id, f"Shot {number + 1} was not made: {why}")
                    return "stopped"
            if row is None:
                previous = rows.get(number - 1) if number else None
                queue_shot(store, media, board, number, plan["params"], previous, plan.get("keep"))
                return f"queued shot {number + 1}"
            if row.status != Status.SUCCEEDED:
                return None  # being made: the next step comes when it is done
    if not store.claim_join(board_id):
        return None
    try:
        film = join_shots(store, media, board, [rows[n] for n in range(len(board.shots))])
    except Exception as exc:  # noqa: BLE001 - a join that cannot be done is said, not retried forever
        log.exception("joining storyboard %s failed", board_id)
        store.stop_storyboard(board_id, f"The shots were made but could not be joined: {exc}", expect=(JOINING,))
        return "stopped"
    store.finish_join(board_id, film)
    return "joined"


def advance_all(store: Store, media: MediaStore) -> int:
    """Every storyboard's next step (the engine calls this every few seconds)."""
    steps = 0
    for board_id in store.storyboards_to_advance():
        try:
            steps += advance(store, media, board_id) is not None
        except Exception:  # noqa: BLE001 - one storyboard's trouble must not stop the others
            log.exception("storyboard %s: its next step failed", board_id)
    return steps


def continuity(media: MediaStore, params: dict[str, Any], previous: Generation | None) -> dict[str, Any]:
    """A shot's parameters with what carries it on from the shot before, by its model's means."""
    entry = MODELS.get(params.get("model") or "")
    if previous is None or entry is None:
        return params
    own = params.get(_image_field(entry.id))
    if own:  # a start image of its own: a new scene
        return params
    params = dict(params)
    if entry.remix and previous.pid:
        params["remix_target_id"] = previous.pid  # Sora 2: a remix chain
        return params
    frame = last_frame(media, previous)
    if frame is None:
        return params
    name = _image_field(entry.id)
    params[name] = [frame] if name == "reference_urls" else frame
    return params


def last_frame(media: MediaStore, row: Generation) -> str | None:
    """The last frame of a finished video, kept as a PNG ("file:frames/…")."""
    if not row.video_path:
        return None
    with media.working_copy(row.video_path) as path:
        try:
            image = frame_at(path, math.inf)  # the last one: the clip ends first
        except ClipError:
            return None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return media.keep_upload(buffer.getvalue(), ".png", folder="frames")


def queue_shot(
    store: Store,
    media: MediaStore,
    board,
    number: int,
    params: dict[str, Any],
    previous: Generation | None,
    keep: list[str] | None = None,
) -> None:
    store.add_generation(
        with_kept(continuity(media, params, previous), keep),
        service=board.service,
        account=board.account,
        request_key=f"storyboard-{board.id}-{number}-{board.attempt}",  # queued once per try
        storyboard_id=board.id,
        storyboard_shot=number,
        storyboard_attempt=board.attempt,
    )


def join_shots(store: Store, media: MediaStore, board, shots: list[Generation]) -> dict[str, Any]:
    """Join the finished shots into the film, kept in the media store; its generation's columns."""
    relative = f"videos/storyboard-{board.id}.mp4"
    staged = media.staging(relative)
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(media.working_copy(shot.video_path)) for shot in shots]
        seconds = join_videos(paths, staged)
    thumb = media.make_thumbnail(relative, f"storyboard-{board.id}", source=staged)
    media.commit(relative, staged)
    first = shots[0]
    now = utcnow()
    prompts = " / ".join(shot.prompt for shot in shots)
    return {
        "kind": "storyboard",
        "status": Status.SUCCEEDED,
        "model": first.model,
        # an unnamed storyboard is named after its first shot: say that shot once, not twice
        "prompt": (prompts if board.name == _name_from(first.prompt) else f"{board.name} — {prompts}")[:20_000],
        "aspect_ratio": first.aspect_ratio,
        "duration": round(seconds),
        "size": "",
        "service": board.service,
        "account": board.account,
        "cost": 0,  # its shots carry what was paid
        "video_path": relative,
        "thumb_path": thumb,
        "files": [{"path": relative, "thumb": thumb}],
        "created_at": now,
        "submitted_at": board.created_at,
        "finished_at": now,
        "progress": 100,
    }


# -- joining -----------------------------------------------------------------------------------
@dataclass
class _Clip:
    path: Path
    width: int
    height: int
    rate: float
    seconds: float
    has_audio: bool


def _probe(path: Path) -> _Clip:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise JoinError(f"{path.name} has no picture")
            stream = container.streams.video[0]
            seconds = 0.0
            if stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration:
                seconds = container.duration / 1_000_000
            return _Clip(
                path,
                stream.codec_context.width,
                stream.codec_context.height,
                float(stream.average_rate or 24),
                seconds,
                bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise JoinError(f"{path.name} is not a video that can be read") from exc


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def join_videos(paths: list[Path], out: Path) -> float:
    """Join videos into one MP4 at ``out``: every picture fitted (letterboxed) to the largest
    shot's size, at the highest frame rate among them (at most 30); sound kept. Returns the film's
    length in seconds."""
    clips = [_probe(Path(p)) for p in paths]
    if not clips:
        raise JoinError("there is nothing to join")
    biggest = max(clips, key=lambda c: c.width * c.height)
    scale = min(1.0, MAX_WIDTH / biggest.width)
    size = (_even(biggest.width * scale), _even(biggest.height * scale))
    fps = min(30, max(round(c.rate) for c in clips)) or 24
    sound = any(c.has_audio for c in clips)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
        video = output.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "veryfast", "crf": "23"}
        sound = _Sound(output, output.add_stream("aac", rate=AUDIO_RATE, layout="stereo")) if sound else None
        offset, last_index = 0.0, -1
        for clip in clips:
            last_index = _copy_pictures(clip, output, video, size, fps, offset, last_index)
            if sound is not None:
                sound.add(clip, offset)
            offset += clip.seconds
        for packet in video.encode():
            output.mux(packet)
        if sound is not None:
            sound.close()
    return offset


def _copy_pictures(clip: _Clip, output, video, size, fps: int, offset: float, last_index: int) -> int:
    """Re-time each decoded picture onto the film's frame clock (a picture that would land on a
    frame already written is dropped; a gap holds the picture before)."""
    end_index = round((offset + clip.seconds) * fps)
    picture = None
    with av.open(str(clip.path)) as source:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in source.decode(stream):
            seconds = frame.time if frame.time is not None else 0.0
            index = round((offset + max(0.0, seconds)) * fps)
            if index <= last_index or index >= end_index:
                continue
            if abs(frame.width / frame.height - size[0] / size[1]) < 0.01:  # the same shape: scaled by swscale
                out = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            else:  # another shape: letterboxed
                out = av.VideoFrame.from_image(ImageOps.pad(frame.to_image(), size, color=(0, 0, 0)))
            picture = out
            out.pts, out.time_base = index, Fraction(1, fps)
            for packet in video.encode(out):
                output.mux(packet)
            last_index = index
    if last_index < end_index - 1 and picture is not None:  # hold the last picture to the shot's end
        out = picture.reformat(format="yuv420p")  # a frame of its own, sent again later on the clock
        out.pts, out.time_base = end_index - 1, Fraction(1, fps)
        for packet in video.encode(out):
            output.mux(packet)
        last_index = end_index - 1
    return last_index


class _Sound:
    """The film's sound: pieces of any length in, AAC frames of 1,024 samples out, on one clock."""

    def __init__(self, output, stream) -> None:
        self.output, self.stream = output, stream
        self.fifo = av.AudioFifo()
        self.written = 0  # samples put in
        self.sent = 0  # samples encoded

    def put(self, frame) -> None:
        frame.pts = None
        self.fifo.write(frame)
        self.written += frame.samples
        self._send(1024)

    def silence(self, count: int) -> None:
        while count > 0:
            n = min(1024, count)
            frame = av.AudioFrame.from_ndarray(np.zeros((2, n), dtype=np.float32), format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            self.put(frame)
            count -= n

    def _send(self, at_least: int) -> None:
        while self.fifo.samples >= at_least and self.fifo.samples > 0:
            frame = self.fifo.read(min(1024, self.fifo.samples))
            frame.pts, frame.time_base = self.sent, Fraction(1, AUDIO_RATE)
            self.sent += frame.samples
            for packet in self.stream.encode(frame):
                self.output.mux(packet)

    def close(self) -> None:
        self._send(1)
        for packet in self.stream.encode():
            self.output.mux(packet)

    def add(self, clip: _Clip, offset: float) -> None:
        """The shot's sound (or silence as long as the shot), resampled to the film's, from ``offset``."""
        start, end = round(offset * AUDIO_RATE), round((offset + clip.seconds) * AUDIO_RATE)
        if self.written < start:  # the shots before had less sound than picture
            self.silence(start - self.written)
        if clip.has_audio:
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            with av.open(str(clip.path)) as source:
                for frame in [*source.decode(audio=0), None]:
                    for piece in resampler.resample(frame):
                        room = end - self.written
                        if room <= 0:
                            break
                        if piece.samples > room:
                            data = piece.to_ndarray()[:, :room]
                            piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout="stereo")
                            piece.sample_rate = AUDIO_RATE
                        self.put(piece)
        if self.written < end:
            self.silence(end - self.written)


def clip_seconds(path: Path) -> float:
    """A video's length, by decoding it: the last picture's time plus one frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        last, count = 0.0, 0
        for frame in container.decode(stream):
            last, count = max(last, frame.time or 0.0), count + 1
        rate = float(stream.average_rate or 24)
    return last + 1 / rate if count else 0.0
