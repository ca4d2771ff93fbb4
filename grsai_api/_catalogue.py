"""Every model one GrsAI key buys, in one table: kind, endpoint, fields, allowed values, defaults and
price in credits (shared/GRSAI_PROTOCOL.md). The client builds bodies from it, the sandbox serves
what it lists, the pages draw their forms from it and the price table starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["video", "image"]
Api = Literal["sora", "veo", "nano-banana", "completions", "unified"]

SORA_PATH = "/v1/video/sora-video"
VEO_PATH = "/v1/video/veo"
NANO_BANANA_PATH = "/v1/draw/nano-banana"
COMPLETIONS_PATH = "/v1/draw/completions"
UNIFIED_PATH = "/v1/api/generate"
RESULT_PATH = "/v1/draw/result"
UNIFIED_RESULT_PATH = "/v1/api/result"

SORA_MODEL = "sora-2"
NANO_RATIOS = ("auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "5:4", "4:5", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")


@dataclass(frozen=True)
class ModelSpec:
    """One model: what it makes, where it is sent, what it takes and what it costs."""

    id: str
    family: str  # what a picker groups by: "Sora 2", "Veo 3.1", "MiniMax", "Nano Banana", "GPT image"
    label: str  # the model's own line in a picker, e.g. "Fast · 1080p"
    kind: Kind
    api: Api
    price: int  # credits a call (a default: prices move, the app lets the user edit them)
    aspect_ratios: tuple[str, ...] = ("16:9", "9:16")
    durations: tuple[int, ...] = ()  # the seconds a person may choose; () = fixed (``seconds``)
    seconds: int | None = None  # a fixed length (Veo: 8 s)
    sizes: tuple[str, ...] = ()  # Sora's small/large
    image_sizes: tuple[str, ...] = ()  # Nano Banana's 1K/2K/4K
    resolutions: tuple[str, ...] = ()  # unified video models: 480p/768p/1080p
    max_seconds_at: dict[str, int] = field(default_factory=dict)  # resolution -> longest duration
    frame: tuple[int, int] | None = None  # the video's frame at 16:9, for tiers with a fixed size
    max_references: int = 0
    first_last_frames: bool = False  # Veo: first/last frame, not together with references
    remix: bool = False
    characters: bool = False
    max_variants: int = 1  # GPT image: several images in one call
    seed: bool = False
    price_note: str = ""  # where the default price comes from, when it is not the protocol's table

    @property
    def path(self) -> str:
        return {
            "sora": SORA_PATH,
            "veo": VEO_PATH,
            "nano-banana": NANO_BANANA_PATH,
            "completions": COMPLETIONS_PATH,
            "unified": UNIFIED_PATH,
        }[self.api]

    @property
    def result_path(self) -> str:
        return UNIFIED_RESULT_PATH if self.api == "unified" else RESULT_PATH

    @property
    def name(self) -> str:
        """The name a person reads: "Veo 3.1 Fast · 1080p"."""
        return f"{self.family} {self.label}".strip()

    @property
    def default_duration(self) -> int | None:
        if self.seconds is not None:
            return self.seconds
        return 10 if 10 in self.durations else (self.durations[0] if self.durations else None)

    def longest(self, resolution: str | None) -> int | None:
        """The longest duration at a resolution (MiniMax: 10 s at 1080p)."""
        if not self.durations:
            return self.seconds
        return self.max_seconds_at.get(resolution or "", max(self.durations))


def _veo(tier: str, resolution: str, price: int) -> ModelSpec:
    suffix = {"720p": "", "1080p": "-1080p", "4K": "-4k"}[resolution]
    frame = {"720p": (1280, 720), "1080p": (1920, 1080), "4K": (3840, 2160)}[resolution]
    return ModelSpec(
        id=f"veo3.1-{tier.lower()}{suffix}",
        family="Veo 3.1",
        label=f"{tier} · {resolution}",
        kind="video",
        api="veo",
        price=price,
        seconds=8,
        frame=frame,
        max_references=3,
        first_last_frames=True,
    )


MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="sora-2",
            family="Sora 2",
            label="",
            kind="video",
            api="sora",
            price=1_600,
            durations=(10, 15),
            sizes=("small", "large"),
            max_references=1,
            remix=True,
            characters=True,
        ),
        _veo("Fast", "720p", 2_400),
        _veo("Fast", "1080p", 3_200),
        _veo("Fast", "4K", 4_800),
        _veo("Pro", "720p", 8_000),
        _veo("Pro", "1080p", 10_000),
        _veo("Pro", "4K", 14_000),
        ModelSpec(
            id="minimax-h3",
            family="MiniMax",
            label="H3",
            kind="video",
            api="unified",
            price=3_000,
            durations=tuple(range(1, 16)),
            resolutions=("480p", "768p", "1080p"),
            max_seconds_at={"1080p": 10},
            max_references=9,
            seed=True,
            price_note="not in GrsAI's published table; an estimate — set it in Settings",
        ),
        ModelSpec(
            id="nano-banana-fast",
            family="Nano Banana",
            label="Fast",
            kind="image",
            api="nano-banana",
            price=440,
            aspect_ratios=NANO_RATIOS,
            image_sizes=IMAGE_SIZES,
            max_references=5,
        ),
        ModelSpec(
            id="nano-banana",
            family="Nano Banana",
            label="",
            kind="image",
            api="nano-banana",
            price=1_400,
            aspect_ratios=NANO_RATIOS,
            image_sizes=IMAGE_SIZES,
            max_references=5,
        ),
        ModelSpec(
            id="nano-banana-pro",
            family="Nano Banana",
            label="Pro",
            kind="image",
            api="nano-banana",
            price=1_800,
            aspect_ratios=NANO_RATIOS,
            image_sizes=IMAGE_SIZES,
            max_references=5,
        ),
        ModelSpec(
            id="gpt-image-2",
            family="GPT image",
            label="2",
            kind="image",
            api="completions",
            price=600,
            aspect_ratios=("1:1", "3:2", "2:3"),
            max_references=4,
            max_variants=4,
        ),
    )
}

# The order a default is picked in: the first model of a kind that is up is "the best one".
PREFERENCE: tuple[str, ...] = (
    "sora-2",
    "veo3.1-fast",
    "veo3.1-fast-1080p",
    "minimax-h3",
    "veo3.1-pro",
    "veo3.1-fast-4k",
    "veo3.1-pro-1080p",
    "veo3.1-pro-4k",
    "nano-banana",
    "nano-banana-fast",
    "nano-banana-pro",
    "gpt-image-2",
)


class UnknownModelError(KeyError):
    def __init__(self, model: object) -> None:
        super().__init__(model)
        self.model = model

    def __str__(self) -> str:
        known = ", ".join(MODELS)
        return f"There is no model {self.model!r}; the models are {known}."


def spec(model: str) -> ModelSpec:
    """The model's entry; UnknownModelError for a name the catalogue does not have."""
    try:
        return MODELS[str(model).strip()]
    except KeyError:
        raise UnknownModelError(model) from None


def models(kind: Kind | None = None) -> list[ModelSpec]:
    """The catalogue in preference order, of one kind or all."""
    return [MODELS[m] for m in PREFERENCE if kind is None or MODELS[m].kind == kind]


def families(kind: Kind) -> dict[str, list[ModelSpec]]:
    grouped: dict[str, list[ModelSpec]] = {}
    for item in MODELS.values():
        if item.kind == kind:
            grouped.setdefault(item.family, []).append(item)
    return grouped


def best(kind: Kind, up: set[str] | frozenset[str]) -> ModelSpec | None:
    """The preferred model of a kind among those that are up."""
    return next((m for m in models(kind) if m.id in up), None)


def closest(model: str, up: set[str] | frozenset[str]) -> ModelSpec | None:
    """The model that is up and nearest to ``model``: the same kind, the same family first, then the
    nearest price (a person who chose a cheap model is offered a cheap one)."""
    wanted = spec(model)
    candidates = [m for m in MODELS.values() if m.kind == wanted.kind and m.id in up and m.id != wanted.id]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda m: (m.family != wanted.family, abs(m.price - wanted.price), PREFERENCE.index(m.id)),
    )
