"""Every model one GrsAI key buys, read from data: ``models.toml`` beside this module (the built-in
catalogue, with its format described at its top) and a deployment's own file of the same format
(``GRSAI_MODELS_FILE``, or ``add_file`` from the app: its data folder's ``models.toml``). A model
added there is validated, priced, sent, polled and served like a built-in one, with no code change.

The client builds bodies from these entries, the sandbox serves what they list, the pages draw their
forms from them and the price table starts from them. The properties of ``ModelSpec`` below
(``aspect_ratios``, ``durations``, ``max_references`` …) are views of its fields, not data of their
own.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ._constants import CHAT_PATH

Kind = Literal["video", "image", "chat"]
Api = Literal["sora", "veo", "nano-banana", "completions", "unified", "chat"]
FieldKind = Literal["choices", "integer", "images", "audios", "boolean", "text"]

KINDS: tuple[str, ...] = ("video", "image", "chat")
APIS: tuple[str, ...] = ("sora", "veo", "nano-banana", "completions", "unified", "chat")
FIELD_KINDS: tuple[str, ...] = ("choices", "integer", "images", "audios", "boolean", "text")

SORA_PATH = "/v1/video/sora-video"
VEO_PATH = "/v1/video/veo"
NANO_BANANA_PATH = "/v1/draw/nano-banana"
COMPLETIONS_PATH = "/v1/draw/completions"
UNIFIED_PATH = "/v1/api/generate"
RESULT_PATH = "/v1/draw/result"
UNIFIED_RESULT_PATH = "/v1/api/result"

SORA_MODEL = "sora-2"
MODELS_FILE_ENV = "GRSAI_MODELS_FILE"
_PATHS = {
    "sora": SORA_PATH,
    "veo": VEO_PATH,
    "nano-banana": NANO_BANANA_PATH,
    "completions": COMPLETIONS_PATH,
    "unified": UNIFIED_PATH,
    "chat": CHAT_PATH,
}
# How long one usually takes, for a model whose entry does not say.
_TYPICAL = {"video": 180.0, "image": 40.0, "chat": 10.0}


@dataclass(frozen=True)
class FieldSpec:
    """One keyword a model's create call takes: its kind, what it allows and how it goes on the wire."""

    name: str  # the client's keyword: "aspect_ratio", "reference_urls"
    wire: str  # the name in the request body: "aspectRatio", "images"
    kind: FieldKind
    choices: tuple[Any, ...] = ()  # choices
    minimum: int | None = None  # integer
    maximum: int | None = None  # integer
    count: int = 0  # images / audios: at most this many
    single: bool = False  # images = 1 sent as one URL, not a list
    max_chars: int = 0  # text
    sends: dict[str, Any] = field(default_factory=dict)  # value given -> value sent
    default: Any = None
    label: str = ""
    help: str = ""
    optional: bool = False

    @property
    def title(self) -> str:
        """What a form calls it: its label, else its keyword in words ("Reference urls")."""
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def values(self) -> tuple[Any, ...]:
        """Every value it allows, for choices and small integer ranges; () otherwise."""
        if self.kind == "choices":
            return self.choices
        small = self.minimum is not None and self.maximum is not None and self.maximum - self.minimum <= 100
        if self.kind == "integer" and small:
            return tuple(range(self.minimum, self.maximum + 1))  # type: ignore[arg-type, operator]
        return ()

    def wire_value(self, value: Any) -> Any:
        return self.sends.get(str(value), value) if self.sends else value


@dataclass(frozen=True)
class ModelSpec:
    """One model: what it makes, where it is sent, what it takes and what it costs."""

    id: str
    family: str  # what a picker groups by: "Sora 2", "Veo 3.1", "MiniMax", "Nano Banana", "GPT image"
    label: str  # the model's own line in a picker, e.g. "Fast · 1080p"
    kind: Kind
    api: Api
    price: int  # credits a call (a default: prices move, the app lets the user edit them)
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    typical_seconds: float = 0.0  # how long one usually takes (0: the kind's usual)
    frame: tuple[int, int] | None = None  # the video's frame at 16:9, for tiers with a fixed size
    remix: bool = False
    characters: bool = False
    price_note: str = ""  # where the default price comes from, when it is not the protocol's table
    source: str = "built-in"  # the file it came from

    @property
    def path(self) -> str:
        return _PATHS[self.api]

    @property
    def name(self) -> str:
        """The name a person reads: "Veo 3.1 Fast · 1080p"."""
        return f"{self.family} {self.label}".strip()

    @property
    def typical(self) -> float:
        return self.typical_seconds or _TYPICAL[self.kind]

    def takes(self, keyword: str) -> bool:
        return keyword in self.fields

    def _choices(self, keyword: str) -> tuple[Any, ...]:
        spec = self.fields.get(keyword)
        return spec.values if spec is not None else ()

    # views of the fields, for the code that asks one question of a model
    @property
    def aspect_ratios(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self._choices("aspect_ratio"))

    @property
    def durations(self) -> tuple[int, ...]:
        """The seconds a person may choose; () when the length is fixed."""
        return tuple(int(v) for v in self._choices("duration"))

    @property
    def seconds(self) -> int | None:
        """The length when nobody chooses one (Veo: 8 s)."""
        spec = self.fields.get("duration")
        return int(spec.default) if spec is not None and spec.default is not None else None

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self._choices("size"))

    @property
    def image_sizes(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self._choices("image_size"))

    @property
    def resolutions(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self._choices("resolution"))

    @property
    def max_references(self) -> int:
        spec = self.fields.get("reference_urls") or self.fields.get("image_url")
        return spec.count if spec is not None else 0

    @property
    def first_last_frames(self) -> bool:
        return "first_frame_url" in self.fields

    @property
    def max_variants(self) -> int:
        spec = self.fields.get("variants")
        return spec.maximum or 1 if spec is not None else 1

    @property
    def seed(self) -> bool:
        return "seed" in self.fields

    @property
    def default_duration(self) -> int | None:
        return self.seconds if self.seconds is not None else (self.durations[0] if self.durations else None)

    def longest(self, resolution: str | None) -> int | None:
        """The longest duration at a resolution (MiniMax: 10 s at 1080p, a rule of its family)."""
        if not self.durations:
            return self.seconds
        return LONGEST_AT.get(self.family, {}).get(resolution or "", max(self.durations))


# The rule a table cannot say, by family: the longest video at a resolution.
LONGEST_AT: dict[str, dict[str, int]] = {"MiniMax": {"1080p": 10}}


# -- reading the files -------------------------------------------------------------------------------
class CatalogueError(ValueError):
    """A models file that cannot be used, in words: the file, the line and what is wrong."""


_TOP_KEYS = {
    "family": str,
    "label": str,
    "kind": str,
    "api": str,
    "price": int,
    "price_note": str,
    "typical_seconds": (int, float),
    "frame": list,
    "remix": bool,
    "characters": bool,
    "like": str,
    "fields": dict,
}
_FIELD_KEYS = {
    "wire",
    "choices",
    "integer",
    "images",
    "audios",
    "boolean",
    "text",
    "single",
    "sends",
    "default",
    "label",
    "help",
    "optional",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def _line_of(text: str, model: str, field_name: str | None = None) -> int | None:
    """The line of a model's table (or its field's table) in the file's text."""
    quoted = rf'(?:"{re.escape(model)}"|{re.escape(model)})'
    tail = rf"\.fields\.{re.escape(field_name)}" if field_name else ""
    pattern = re.compile(rf"^\s*\[\s*models\.{quoted}{tail}\s*\]", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _field(model: str, name: str, raw: Any, where: Any) -> FieldSpec:
    if not isinstance(raw, dict):
        raise where(f"field {name!r} must be a table")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise where(f"field {name!r} has keys this format does not know: {', '.join(sorted(unknown))}")
    kinds = [k for k in FIELD_KINDS if k in raw]
    if len(kinds) != 1:
        raise where(f"field {name!r} needs exactly one of {', '.join(FIELD_KINDS)}")
    kind = kinds[0]
    value = raw[kind]
    options: dict[str, Any] = {}
    if kind == "choices":
        if not isinstance(value, list) or not value or not all(isinstance(v, str | int) for v in value):
            raise where(f"field {name!r}: choices must be a list of words or numbers")
        options["choices"] = tuple(value)
    elif kind == "integer":
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or value[0] > value[1]
        ):
            raise where(f"field {name!r}: integer must be [min, max], two whole numbers")
        options["minimum"], options["maximum"] = value
    elif kind in ("images", "audios"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise where(f"field {name!r}: {kind} must be how many at most (1 or more)")
        options["count"] = value
        options["single"] = bool(raw.get("single", False))
        if options["single"] and value != 1:
            raise where(f"field {name!r}: single = true needs {kind} = 1")
    elif kind == "boolean":
        if value is not True:
            raise where(f"field {name!r}: write boolean = true")
    elif kind == "text":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise where(f"field {name!r}: text must be the most characters it takes")
        options["max_chars"] = value
    sends = raw.get("sends", {})
    if not isinstance(sends, dict):
        raise where(f"field {name!r}: sends must be a table of value = value sent")
    spec = FieldSpec(
        name=name,
        wire=str(raw.get("wire") or name),
        kind=kind,  # type: ignore[arg-type]
        sends={str(k): v for k, v in sends.items()},
        default=raw.get("default"),
        label=str(raw.get("label", "")),
        help=str(raw.get("help", "")),
        optional=bool(raw.get("optional", False)),
        **options,
    )
    if spec.default is not None and spec.values and spec.default not in spec.values:
        raise where(f"field {name!r}: default {spec.default!r} is not one of its values")
    if (
        spec.kind == "integer"
        and spec.default is not None
        and (not isinstance(spec.default, int) or not spec.minimum <= spec.default <= spec.maximum)  # type: ignore[operator]
    ):
        raise where(f"field {name!r}: default {spec.default!r} is outside {spec.minimum}–{spec.maximum}")
    return spec


def _entry(model: str, raw: Any, known: dict[str, ModelSpec], source: str, text: str) -> ModelSpec:
    def where(message: str, field_name: str | None = None) -> CatalogueError:
        line = _line_of(text, model, field_name) or _line_of(text, model)
        at = f"{source}, line {line}" if line else source
        return CatalogueError(f"{at}: model {model!r}: {message}")

    if not _ID.match(model):
        raise where("an id is letters, digits, dots, dashes and underscores (at most 80)")
    if not isinstance(raw, dict):
        raise where("must be a table")
    unknown = set(raw) - set(_TOP_KEYS)
    if unknown:
        raise where(f"keys this format does not know: {', '.join(sorted(unknown))}")
    for key, types in _TOP_KEYS.items():
        if key in raw and (not isinstance(raw[key], types) or (types is int and isinstance(raw[key], bool))):
            raise where(f"{key} has the wrong type ({type(raw[key]).__name__})")
    base: dict[str, Any] = {}
    base_fields: dict[str, FieldSpec] = {}
    if "like" in raw:
        parent = known.get(raw["like"])
        if parent is None:
            raise where(f"like = {raw['like']!r}: there is no such model before it")
        base = {
            "family": parent.family,
            "label": parent.label,
            "kind": parent.kind,
            "api": parent.api,
            "price": parent.price,
            "price_note": parent.price_note,
            "typical_seconds": parent.typical_seconds,
            "frame": list(parent.frame) if parent.frame else None,
            "remix": parent.remix,
            "characters": parent.characters,
        }
        base_fields = dict(parent.fields)
        if "price" in raw and "price_note" not in raw:
            base["price_note"] = ""
    merged = {**base, **{k: v for k, v in raw.items() if k not in ("like", "fields")}}
    for key in ("family", "kind", "api", "price"):
        if key not in merged:
            raise where(f"{key} is missing")
    if merged["kind"] not in KINDS:
        raise where(f"kind must be one of {', '.join(KINDS)}, not {merged['kind']!r}")
    if merged["api"] not in APIS:
        raise where(f"api must be one of {', '.join(APIS)}, not {merged['api']!r}")
    if merged["price"] < 0:
        raise where("price cannot be negative")
    frame = merged.get("frame")
    if frame is not None and (len(frame) != 2 or not all(isinstance(v, int) and v > 0 for v in frame)):
        raise where("frame must be [width, height] in pixels")
    fields = dict(base_fields)
    raw_fields = raw.get("fields", {})
    for name, value in raw_fields.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", name):
            raise where(f"field {name!r}: a keyword is lower-case letters, digits and _")
        fields[name] = _field(model, name, value, lambda message, n=name: where(message, n))
    return ModelSpec(
        id=model,
        family=merged["family"],
        label=merged.get("label", ""),
        kind=merged["kind"],
        api=merged["api"],
        price=int(merged["price"]),
        fields=fields,
        typical_seconds=float(merged.get("typical_seconds") or 0.0),
        frame=tuple(frame) if frame else None,  # type: ignore[arg-type]
        remix=bool(merged.get("remix", False)),
        characters=bool(merged.get("characters", False)),
        price_note=str(merged.get("price_note", "")),
        source=source,
    )


def parse(text: str, source: str, known: dict[str, ModelSpec] | None = None) -> dict[str, ModelSpec]:
    """The models a file's text describes, in its order; CatalogueError (file, line, what) otherwise.
    ``known`` are the models before it (a ``like`` may name them)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not TOML: {exc}") from None
    unknown = set(data) - {"models"}
    if unknown:
        raise CatalogueError(f"{source}: only [models.<id>] tables go here, not {', '.join(sorted(unknown))}")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise CatalogueError(f"{source}: models must be tables: [models.<id>]")
    seen = dict(known or {})
    read: dict[str, ModelSpec] = {}
    for model, raw in models.items():
        read[model] = seen[model] = _entry(model, raw, seen, source, text)
    return read


def _builtin() -> dict[str, ModelSpec]:
    text = resources.files(__package__).joinpath("models.toml").read_text(encoding="utf-8")
    return parse(text, "the built-in models.toml")


BUILTIN: dict[str, ModelSpec] = _builtin()
# The catalogue in use: the built-in models, then each added file's. Changed in place, so that every
# module that imported it sees a file added later.
MODELS: dict[str, ModelSpec] = dict(BUILTIN)
PREFERENCE: list[str] = list(MODELS)  # the order a default is picked in (the files' order)
PROBLEMS: list[str] = []  # files that could not be used, in words (Settings shows them)
FILES: list[str] = []  # files in use, in the order they were added
_LOADED: dict[str, float | None] = {}  # path -> the mtime read (None: it failed)


def add_file(path: str | Path) -> bool:
    """Add (or, for ids it shares, replace) the models of a file; again only when the file changed.
    A bad file changes nothing: its words go into PROBLEMS (and the log) and False is returned."""
    target = Path(path).expanduser()
    key = str(target.resolve()) if target.exists() else str(target)
    try:
        mtime = target.stat().st_mtime
    except OSError:
        mtime = None
    if key in _LOADED and _LOADED[key] == mtime and mtime is not None:
        return key in FILES
    _LOADED[key] = mtime
    PROBLEMS[:] = [p for p in PROBLEMS if not p.startswith(f"{target}")]
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        PROBLEMS.append(f"{target}: cannot be read ({exc.strerror or type(exc).__name__})")
        return False
    try:
        read = parse(text, str(target), MODELS)
    except CatalogueError as exc:
        PROBLEMS.append(str(exc))
        return False
    MODELS.update(read)
    for model in read:
        if model not in PREFERENCE:
            PREFERENCE.append(model)
    if key not in FILES:
        FILES.append(key)
    return True


def reset() -> None:
    """Back to the built-in catalogue alone (tests; a deployment that removed its file)."""
    MODELS.clear()
    MODELS.update(BUILTIN)
    PREFERENCE[:] = list(BUILTIN)
    PROBLEMS.clear()
    FILES.clear()
    _LOADED.clear()


if os.environ.get(MODELS_FILE_ENV, "").strip():
    add_file(os.environ[MODELS_FILE_ENV].strip())


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
    return [MODELS[m] for m in PREFERENCE if m in MODELS and (kind is None or MODELS[m].kind == kind)]


def families(kind: Kind) -> dict[str, list[ModelSpec]]:
    grouped: dict[str, list[ModelSpec]] = {}
    for item in models(kind):
        grouped.setdefault(item.family, []).append(item)
    return grouped


def default_model(kind: Kind = "video") -> str:
    """The model a request of this kind is for when it names none (a stored row, a batch row, a
    price asked without a model): the first of its kind in the catalogue's order."""
    return models(kind)[0].id


def remix_model() -> str:
    """The model that remixes a finished video by its pid: the first marked ``remix = true``."""
    return next((m.id for m in models("video") if m.remix), SORA_MODEL)


def character_model() -> str:
    """The model that makes characters (Cameo) and takes them in prompts: the first marked
    ``characters = true``."""
    return next((m.id for m in models("video") if m.characters), SORA_MODEL)


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
