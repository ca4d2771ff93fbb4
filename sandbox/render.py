"""Real, playable videos for the sandbox: Pillow draws the frames, PyAV encodes H.264 MP4.

A video shows its prompt over a moving scene whose palette and layout come from a "look" (derived
from the prompt, or inherited from the source video in a remix), with characters composited in and
a reference image as the backdrop when one is given.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

FRAME_SIZES = {
    ("16:9", "small"): (640, 360),
    ("9:16", "small"): (360, 640),
    ("16:9", "large"): (1280, 720),
    ("9:16", "large"): (720, 1280),
}
LAYOUTS = ("orbs", "waves", "grid")


@dataclass(frozen=True)
class RenderProfile:
    """``standard`` is what users see; ``light`` is a tiny, fast render for load tests."""

    name: str
    fps: int
    scale: float  # 1.0 = the sizes in FRAME_SIZES

    @classmethod
    def named(cls, name: str) -> RenderProfile:
        profiles = {"standard": cls("standard", 24, 1.0), "light": cls("light", 4, 0.25)}
        if name not in profiles:
            raise ValueError(f"unknown render profile {name!r}; choose from {sorted(profiles)}")
        return profiles[name]


@dataclass(frozen=True)
class Look:
    """What a remix keeps of its source: the palette and the layout."""

    hue: float
    layout: str

    @classmethod
    def from_prompt(cls, prompt: str) -> Look:
        digest = hashlib.sha256(prompt.encode()).digest()
        return cls(hue=digest[0] / 255.0, layout=LAYOUTS[digest[1] % len(LAYOUTS)])

    def take(self, number: int) -> Look:
        """The look of the ``number``-th take of one prompt (0: the prompt's own): a model asked
        the same thing again gives another take, so "make N, keep the best" has N to choose from."""
        if not number:
            return self
        return Look(hue=(self.hue + 0.23 * number) % 1.0, layout=LAYOUTS[(LAYOUTS.index(self.layout) + number) % 3])

    def palette(self) -> list[tuple[int, int, int]]:
        """Deep background, mid background, accent, highlight."""

        def rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
            r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
            return int(r * 255), int(g * 255), int(b * 255)

        h = self.hue
        return [
            rgb(h, 0.75, 0.22),
            rgb(h + 0.06, 0.65, 0.55),
            rgb(h + 0.45, 0.7, 0.95),
            rgb(h + 0.1, 0.15, 1.0),
        ]


@dataclass
class Cameo:
    """A character to composite in: a frame of its clip and the @name it is called by."""

    label: str
    image: Image.Image


@dataclass
class VideoSpec:
    prompt: str
    aspect_ratio: str = "16:9"
    size: str = "small"
    duration: int = 10
    look: Look | None = None
    remix_of: str | None = None
    cameos: list[Cameo] = field(default_factory=list)
    reference: Image.Image | None = None
    frame: tuple[int, int] | None = None  # a model's own frame size (Veo tiers, MiniMax resolutions)
    first: Image.Image | None = None  # the video starts on this image (Veo's first frame) ...
    last: Image.Image | None = None  # ... and ends on this one
    badge: str = "SORA 2 · SANDBOX"
    sound: Path | None = None  # a reference sound (MiniMax H3's audios): it becomes the video's sound track

    def fps(self, profile: RenderProfile) -> int:
        """Big frames are drawn fewer times a second, so a 4K sandbox video takes seconds, not minutes:
        6 fps above 720p, 4 fps above 1080p."""
        width, height = self.frame_size(profile)
        if width * height > 1920 * 1080:
            return min(profile.fps, 4)
        return min(profile.fps, 6) if width * height > 1280 * 720 else profile.fps

    def frame_size(self, profile: RenderProfile) -> tuple[int, int]:
        width, height = self.frame or FRAME_SIZES[(self.aspect_ratio, self.size)]
        # H.264 with yuv420p needs even sides.
        return (max(2, int(width * profile.scale) // 2 * 2), max(2, int(height * profile.scale) // 2 * 2))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)  # Pillow's bundled font: no system fonts needed


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _backdrop(spec: VideoSpec, look: Look, size: tuple[int, int]) -> Image.Image:
    """A scene wider and taller than the frame, so the camera can pan across it."""
    width, height = size
    big = (int(width * 1.3) + 2, int(height * 1.3) + 2)
    deep, mid, accent, light = look.palette()
    if spec.reference is not None:
        scene = ImageOps.fit(spec.reference.convert("RGB"), big)
        tint = Image.new("RGB", big, deep)
        return Image.blend(scene, tint, 0.25)
    scene = _gradient(big, mid, deep)
    draw = ImageDraw.Draw(scene, "RGBA")
    unit = min(big) / 10
    if look.layout == "orbs":
        for i in range(7):
            cx = (i * 0.17 + look.hue) % 1.0 * big[0]
            cy = ((i * 0.31 + look.hue * 2) % 1.0) * big[1]
            r = unit * (1.2 + (i % 3))
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*accent, 60))
    elif look.layout == "waves":
        for i in range(6):
            y0 = big[1] * (0.3 + i * 0.12)
            points = [(x, y0 + math.sin(x / big[0] * 6.28 * 2 + i) * unit) for x in range(0, big[0] + 8, 8)]
            draw.line(points, fill=(*accent, 90), width=max(2, int(unit / 5)))
    else:
        step = int(unit * 1.5)
        for x in range(0, big[0], step):
            draw.line([(x, 0), (x, big[1])], fill=(*light, 40), width=2)
        for y in range(0, big[1], step):
            draw.line([(0, y), (big[0], y)], fill=(*light, 40), width=2)
    return scene.filter(ImageFilter.GaussianBlur(max(1, unit / 12)))


def _wrap(text: str, font, max_width: int, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; the last line ends in an ellipsis if text is left."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for word in words:
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= max_width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            last = lines[-1]
            while last and font.getlength(last + " …") > max_width:
                last = last[:-1]
            lines[-1] = last.rstrip() + " …"
            return lines
    if current:
        lines.append(current)
    return lines


def _caption(spec: VideoSpec, size: tuple[int, int]) -> Image.Image:
    """The prompt, wrapped on a translucent panel (RGBA, full frame)."""
    width, height = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font_size = max(8, int(min(width, height) / 18))
    font = _font(font_size)
    lines = _wrap(spec.prompt, font, int(width * 0.86), max_lines=4)
    line_height = int(font_size * 1.3)
    panel_height = line_height * len(lines) + font_size
    top = height - panel_height - int(height * 0.06)
    draw.rounded_rectangle(
        (int(width * 0.04), top, int(width * 0.96), top + panel_height),
        radius=font_size // 2,
        fill=(0, 0, 0, 150),
    )
    for i, line in enumerate(lines):
        draw.text((int(width * 0.07), top + font_size // 2 + i * line_height), line, font=font, fill="white")
    return layer


def _cameo_card(cameo: Cameo, box: int) -> Image.Image:
    """A rounded card with the character's frame and its @name."""
    label_height = max(8, box // 6)
    card = Image.new("RGBA", (box, box + label_height), (0, 0, 0, 0))
    picture = ImageOps.fit(cameo.image.convert("RGB"), (box, box))
    mask = Image.new("L", (box, box), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, box - 1, box - 1), radius=box // 6, fill=255)
    card.paste(picture, (0, 0), mask)
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle(
        (0, box - 2, box - 1, box + label_height - 1), radius=label_height // 3, fill=(0, 0, 0, 190)
    )
    text = f"@{cameo.label}"
    size = max(7, int(label_height * 0.7))
    font = _font(size)
    while size > 7 and font.getlength(text) > box * 0.92:
        size -= 1
        font = _font(size)
    draw.text((box // 2, box - 2 + label_height // 2), text, font=font, fill="white", anchor="mm")
    return card


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def render_frames(spec: VideoSpec, profile: RenderProfile):
    """Yield the frames of the video as RGB images, one per 1/fps second."""
    look = spec.look or Look.from_prompt(spec.prompt)
    size = spec.frame_size(profile)
    width, height = size
    deep, mid, accent, light = look.palette()
    scene = _backdrop(spec, look, size)
    caption = _caption(spec, size)
    label_font = _font(max(7, int(min(size) / 26)))
    small_font = _font(max(7, int(min(size) / 30)))
    # the cards (characters, reference images) in a row, smaller when many must fit across
    landscape = width > height
    step = min(width * (0.36 if landscape else 0.5), width * 0.88 / max(1, len(spec.cameos)))
    cards = [_cameo_card(c, max(8, int(min(min(size) * 0.3, step / 1.1)))) for c in spec.cameos]
    card_x0 = width * (0.06 if landscape else 0.08)
    fps = spec.fps(profile)
    total = max(1, int(spec.duration * fps))
    first = ImageOps.fit(spec.first.convert("RGB"), size) if spec.first is not None else None
    last = ImageOps.fit(spec.last.convert("RGB"), size) if spec.last is not None else None
    ease = max(1, int(fps * 0.75))  # frames over which the video leaves the first image / reaches the last
    pan_x, pan_y = scene.width - width, scene.height - height
    orb_r = min(size) * 0.08
    for index in range(total):
        t = index / max(1, total - 1)
        x0 = int(pan_x * (0.5 + 0.5 * math.sin(t * math.pi * 1.5 + look.hue * 6)))
        y0 = int(pan_y * t)
        frame = scene.crop((x0, y0, x0 + width, y0 + height))
        draw = ImageDraw.Draw(frame, "RGBA")
        cx = width * (0.1 + 0.8 * t)
        cy = height * (0.35 - 0.15 * math.sin(t * math.pi))
        draw.ellipse((cx - orb_r, cy - orb_r, cx + orb_r, cy + orb_r), fill=(*accent, 200))
        draw.ellipse((cx - orb_r / 2, cy - orb_r / 2, cx + orb_r / 2, cy + orb_r / 2), fill=(*light, 220))
        for number, card in enumerate(cards):
            bob = int(math.sin(t * math.pi * 4 + number) * height * 0.02)
            x = int(card_x0 + number * step)
            frame.paste(card, (x, int(height * 0.2) + bob), card)
        frame.paste(caption, (0, 0), caption)
        draw = ImageDraw.Draw(frame, "RGBA")
        badge = spec.badge + (f" · REMIX of {spec.remix_of[:10]}…" if spec.remix_of else "")
        draw.text((int(width * 0.04), int(height * 0.04)), badge, font=label_font, fill=(*light, 235))
        seconds = index / fps
        draw.text(
            (int(width * 0.96), int(height * 0.04)),
            f"{_clock(seconds)} / {_clock(spec.duration)}",
            font=small_font,
            fill=(*light, 235),
            anchor="ra",
        )
        bar_y = height - max(2, height // 90)
        draw.rectangle((0, bar_y, int(width * t), height), fill=(*accent, 255))
        if first is not None and index < ease:  # starts exactly on the first frame, then moves off it
            frame = Image.blend(first, frame, index / ease)
        if last is not None and total - 1 - index < ease:  # and ends exactly on the last frame
            frame = Image.blend(last, frame, (total - 1 - index) / ease)
        yield frame


SOUND_RATE = 48_000


class NotASound(ValueError):
    """Bytes that hold no sound PyAV can decode."""


def sound_seconds(data: bytes) -> float:
    """How long a sound file plays (NotASound when it holds none): checked when it is sent."""
    try:
        with av.open(io.BytesIO(data)) as source:
            if not source.streams.audio:
                raise NotASound("it has no sound in it")
            samples = rate = 0
            for frame in source.decode(audio=0):
                samples, rate = samples + frame.samples, frame.sample_rate
            if not samples:
                raise NotASound("it has no sound in it")
            return samples / rate
    except (av.FFmpegError, OSError, EOFError, IndexError) as exc:
        raise NotASound(f"it is not a sound file ({type(exc).__name__})") from None


def _sound_track(container, stream, path: Path, seconds: float) -> None:
    """The reference sound under the whole video: resampled to AAC's mono 48 kHz, looped to the
    video's length and cut there, as a model that follows a reference sound would give it."""
    total, written = round(seconds * SOUND_RATE), 0
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=SOUND_RATE)
    with av.open(str(path)) as source:
        pieces = [p.to_ndarray()[0] for f in [*source.decode(audio=0), None] for p in resampler.resample(f)]
    wave = np.concatenate(pieces) if pieces else np.zeros(1024, dtype=np.float32)
    while written < total:
        n = min(1024, total - written)
        chunk = np.take(wave, np.arange(written, written + n), mode="wrap").astype(np.float32)
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SOUND_RATE, written, Fraction(1, SOUND_RATE)
        written += n
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


class RenderStopped(RuntimeError):
    """The process is exiting: the render was dropped half-way (no file is left at ``path``)."""


def render_video(
    spec: VideoSpec, path: Path, profile: RenderProfile, stopping: Callable[[], bool] = lambda: False
) -> Path:
    """Encode the spec as H.264 (yuv420p) MP4 at ``path``, moov first so browsers stream it.
    ``stopping`` is asked before each frame: a process on its way out does not wait for a render."""
    width, height = spec.frame_size(profile)
    fps = spec.fps(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26"}
        stream.codec_context.thread_count = 1 if profile.name == "light" else 2
        sound = container.add_stream("aac", rate=SOUND_RATE, layout="mono") if spec.sound is not None else None
        for index, image in enumerate(render_frames(spec, profile)):
            if stopping():
                break
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            _sound_track(container, sound, spec.sound, spec.duration)
    if stopping():
        partial.unlink(missing_ok=True)
        raise RenderStopped("not rendered: interpreter shutdown")
    partial.replace(path)  # readers never see half a file
    return path


@dataclass
class ImageSpec:
    """A still of the asked size: the prompt over a scene of its look, references pasted in."""

    prompt: str
    size: tuple[int, int]
    references: list[Image.Image] = field(default_factory=list)
    variant: int = 0  # variants of one request differ in palette and layout
    badge: str = "IMAGE · SANDBOX"
    transparent: bool = False  # no backdrop: the subject on a transparent ground (an RGBA PNG)


def render_image(spec: ImageSpec, path: Path) -> Path:
    base = Look.from_prompt(spec.prompt)
    look = Look(hue=(base.hue + 0.17 * spec.variant) % 1.0, layout=LAYOUTS[(LAYOUTS.index(base.layout) + spec.variant) % 3])
    video = VideoSpec(prompt=spec.prompt, look=look, frame=spec.size)
    width, height = spec.size
    if spec.transparent:
        deep, mid, accent, light = look.palette()
        image = Image.new("RGBA", spec.size, (0, 0, 0, 0))
        subject = ImageDraw.Draw(image)
        subject.ellipse((width * 0.25, height * 0.25, width * 0.75, height * 0.75), fill=(*accent, 255))
        subject.ellipse((width * 0.38, height * 0.32, width * 0.52, height * 0.46), fill=(*light, 200))
    else:
        scene = _backdrop(video, look, spec.size)
        image = scene.crop((0, 0, width, height))
    # every reference as a card in a row across the top, smaller when there are many
    count = len(spec.references)
    box = int(min(min(spec.size) * 0.3, width * 0.9 / max(1, count) / 1.1))
    for number, reference in enumerate(spec.references):
        card = _cameo_card(Cameo(label=f"ref {number + 1}", image=reference), box)
        image.paste(card, (int(width * 0.05) + number * int(box * 1.1), int(height * 0.08)), card)
    caption = _caption(video, spec.size)
    image.paste(caption, (0, 0), caption)
    draw = ImageDraw.Draw(image, "RGBA")
    draw.text(
        (int(width * 0.96), int(height * 0.04)),
        f"{spec.badge} · #{spec.variant + 1}",
        font=_font(max(8, int(min(spec.size) / 30))),
        fill=(255, 255, 255, 235),
        anchor="ra",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.png")
    image.save(partial, format="PNG", compress_level=1)
    partial.replace(path)
    return path


@dataclass(frozen=True)
class ClipInfo:
    duration: float
    width: int
    height: int


class NotAVideo(ValueError):
    """The bytes are not a decodable video."""


def probe_clip(data: bytes) -> ClipInfo:
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise NotAVideo("the file has no video track")
            stream = container.streams.video[0]
            if container.duration:
                duration = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = sum(1 for _ in container.decode(stream)) / float(stream.average_rate or 24)
            return ClipInfo(
                duration=duration, width=stream.codec_context.width, height=stream.codec_context.height
            )
    except NotAVideo:
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise NotAVideo(f"not a video: {type(exc).__name__}") from None


def frame_at(data: bytes, seconds: float) -> Image.Image:
    """The first frame at or after ``seconds`` (the last frame if the clip ends first)."""
    last: Image.Image | None = None
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                last = frame.to_image()
                if frame.time is not None and frame.time >= seconds - 1e-3:
                    return last
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise NotAVideo(f"not a video: {type(exc).__name__}") from None
    if last is None:
        raise NotAVideo("the video has no frames")
    return last
