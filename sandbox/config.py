"""Every knob of the sandbox, with the command-line flags that set them."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from grsai_api import MODELS

from .control import ENV, HEADER, new_token

# Knobs that may be changed while the server runs (PATCH /sandbox/config, the app's Settings page).
RUNTIME_KNOBS = (
    "task_seconds",
    "task_seconds_max",
    "character_seconds",
    "output_moderation_rate",
    "error_rate",
    "blocklist",
    "rate_429",
    "rate_5xx",
    "retry_after",
    "latency_ms",
    "chat_latency_ms",
    "model_available",
    "image_seconds",
    "url_ttl",
    "models",
    "refunds_refusals",
)


# Knobs counted in whole credits (the real service's unit: a sora-2 video is 1,600).
INTEGER_KNOBS = ("credits", "video_price", "character_price")


def whole_credits(value: object, name: str = "credits") -> int:
    """``value`` as a whole, non-negative number of credits (1.0 is fine; 0.08 is refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a whole number of credits, not {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(
            f"{name} must be a whole number of credits, not {value!r} (a sora-2 video costs 1600 credits)"
        )
    if value < 0:
        raise ValueError(f"{name} must not be negative: {value!r}")
    return int(value)


@dataclass
class SandboxConfig:
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="grsai-sandbox-")))
    task_seconds: float = 6.0
    task_seconds_max: float = 0.0  # above task_seconds: each video takes a random time between the two
    character_seconds: float = 2.0
    progress_interval: float = 0.5
    output_moderation_rate: float = 0.0
    error_rate: float = 0.0
    blocklist: tuple[str, ...] = ("nsfw", "gore", "explicit", "violence")
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    retry_after: float = 1.0
    latency_ms: float = 0.0
    # a chat answer that is charged, then slow to come back (a client that stops waiting may have paid)
    chat_latency_ms: float = 0.0
    credits: int = 2_000_000  # integer credits, as the real service counts them
    video_price: int = 1600
    character_price: int = 200
    api_keys: tuple[str, ...] = ()
    render_profile: str = "standard"
    render_workers: int = 2
    url_ttl: float = 2 * 3600  # result links live two hours, as the real service's do
    image_seconds: float = 3.0  # how long an image task runs
    upload_max_bytes: int = 50 * 2**20  # the largest file a storage PUT takes (larger: HTTP 413)
    data_prefix: bool = False
    model_available: bool = True  # sora-2's availability (the knob from before there were other models)
    models_down: tuple[str, ...] = ()  # models reported down from the start
    # every model's state, settable while running: {id: {"available", "price", "message"}}
    models: dict[str, dict[str, object]] = field(default_factory=dict)
    seed: int | None = None
    control_token: str = ""  # the controls' own token (empty: made at start; see sandbox/control.py)
    webhook_attempts: int = 5  # tries of one webHook delivery (the final state's; progress once)
    webhook_backoff: float = 0.25  # seconds before the first retry, doubling after each
    # the real service keeps a content refusal's credits (moderation, violation) and refunds other
    # failures; True stands in for a service that refunds refusals too
    refunds_refusals: bool = False

    def __post_init__(self) -> None:
        self.control_token = self.control_token or new_token(self.data_dir)
        for name in INTEGER_KNOBS:
            setattr(self, name, whole_credits(getattr(self, name), name))
        state = {
            model.id: {"available": True, "price": model.price, "message": ""} for model in MODELS.values()
        }
        state["sora-2"]["price"] = self.video_price
        for model in self.models_down:
            if model not in state:
                raise ValueError(f"unknown model {model!r}; the models are {', '.join(state)}")
            state[model]["available"] = False
        if not self.model_available:
            state["sora-2"]["available"] = False
        given, self.models = self.models, state
        self._update_models(given or {})

    def model_state(self, model: str) -> dict[str, object] | None:
        """A model's state; a model added to the catalogue by file after this sandbox started is up
        at its catalogue price."""
        if model not in self.models and model in MODELS:
            self.models[model] = {"available": True, "price": MODELS[model].price, "message": ""}
        return self.models.get(model)

    def _update_models(self, changes: object) -> None:
        """Apply ``{"<model>": {"available": bool, "price": credits, "message": text}}`` whole or not
        at all: every entry is checked before any is applied."""
        if not isinstance(changes, dict):
            raise ValueError(
                'models takes {"<model>": {"available": bool, "price": credits, "message": text}}'
            )
        checked: dict[str, dict[str, object]] = {}
        for model, values in changes.items():
            if self.model_state(model) is None:
                raise ValueError(f"unknown model {model!r}; the models are {', '.join(self.models)}")
            if not isinstance(values, dict) or set(values) - {"available", "price", "message"}:
                raise ValueError(f"{model}: give available, price and/or message")
            entry: dict[str, object] = {}
            if "available" in values:
                if not isinstance(values["available"], bool):
                    raise ValueError(f"{model}: available must be true or false")
                entry["available"] = values["available"]
            if "price" in values:
                entry["price"] = whole_credits(values["price"], f"{model} price")
            if "message" in values:
                entry["message"] = str(values["message"] or "")[:200]
            checked[model] = entry
        for model, entry in checked.items():
            self.models[model].update(entry)
        self.model_available = bool(self.models["sora-2"]["available"])

    def runtime_view(self) -> dict[str, object]:
        return {name: _jsonable(getattr(self, name)) for name in RUNTIME_KNOBS}

    def update_runtime(self, changes: dict[str, object]) -> list[str]:
        """Apply known runtime knobs; returns the names that were not knobs."""
        unknown = [k for k in changes if k not in RUNTIME_KNOBS]
        for name in RUNTIME_KNOBS:
            if name not in changes:
                continue
            value = changes[name]
            if name == "blocklist":
                words = value.split(",") if isinstance(value, str) else list(value or [])
                setattr(self, name, tuple(w.strip().lower() for w in words if str(w).strip()))
            elif name == "refunds_refusals":
                if not isinstance(value, bool):
                    raise ValueError("refunds_refusals must be true or false")
                self.refunds_refusals = value
            elif name == "model_available":
                self.model_available = self.models["sora-2"]["available"] = bool(value)
            elif name == "models":
                self._update_models(value)
            else:
                number = float(value)
                if number < 0 or (name.endswith("_rate") or name.startswith("rate_")) and number > 1:
                    raise ValueError(f"{name} out of range: {value!r}")
                setattr(self, name, number)
        return unknown


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
    return list(value) if isinstance(value, tuple) else value


def build_parser() -> argparse.ArgumentParser:
    d = SandboxConfig.__dataclass_fields__
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description=(
            "A GrsAI-compatible server for every model of the catalogue (Sora 2, Veo 3.1, MiniMax H3, "
            "Nano Banana, GPT image) that renders real H.264 MP4s and PNGs, for use without a key."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where videos and task records live; unset: a new temporary folder",
    )
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=d["task_seconds"].default,
        help="how long a video task runs, progress rising",
    )
    parser.add_argument(
        "--task-seconds-max",
        type=float,
        default=d["task_seconds_max"].default,
        help="if above --task-seconds, each video takes a random time between the two",
    )
    parser.add_argument(
        "--character-seconds",
        type=float,
        default=d["character_seconds"].default,
        help="how long a character task runs",
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=d["progress_interval"].default,
        help="seconds between progress updates",
    )
    parser.add_argument(
        "--output-moderation-rate",
        type=float,
        default=0.0,
        help="share of video tasks (0-1) that fail with output_moderation",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of video tasks (0-1) that fail with error (a generation failure)",
    )
    parser.add_argument(
        "--blocklist",
        default=",".join(SandboxConfig.blocklist),
        help="comma-separated words that fail a prompt with input_moderation",
    )
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of API requests answered 429")
    parser.add_argument("--rate-5xx", type=float, default=0.0, help="share of API requests answered 5xx")
    parser.add_argument(
        "--retry-after",
        type=float,
        default=d["retry_after"].default,
        help="Retry-After seconds sent with a 429",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every API request")
    parser.add_argument(
        "--chat-latency-ms",
        type=float,
        default=0.0,
        help="delay before a chat answer is sent, after the call was charged",
    )
    parser.add_argument(
        "--credits", type=int, default=d["credits"].default, help="starting credits of a key (whole credits)"
    )
    parser.add_argument(
        "--video-price", type=int, default=d["video_price"].default, help="credits a video costs"
    )
    parser.add_argument(
        "--character-price",
        type=int,
        default=d["character_price"].default,
        help="credits a character upload/create costs",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        dest="api_keys",
        help="accept only this key (repeat for more); by default any non-empty key is accepted",
    )
    parser.add_argument(
        "--render-profile",
        choices=("standard", "light"),
        default="standard",
        help="light: tiny 4 fps videos for load tests",
    )
    parser.add_argument(
        "--render-workers", type=int, default=d["render_workers"].default, help="threads rendering videos"
    )
    parser.add_argument(
        "--image-seconds", type=float, default=d["image_seconds"].default, help="how long an image task runs"
    )
    parser.add_argument(
        "--upload-max-bytes",
        type=int,
        default=d["upload_max_bytes"].default,
        help="the largest file GrsAI's storage takes with one PUT (larger: HTTP 413)",
    )
    parser.add_argument(
        "--url-ttl",
        type=float,
        default=d["url_ttl"].default,
        help="seconds a result URL stays valid (the real service's expire)",
    )
    parser.add_argument(
        "--data-prefix",
        action="store_true",
        help="prefix immediate replies with 'data: ', as some real replies are",
    )
    parser.add_argument(
        "--webhook-attempts",
        type=int,
        default=d["webhook_attempts"].default,
        help="tries of a webHook delivery of a task's final state",
    )
    parser.add_argument(
        "--webhook-backoff",
        type=float,
        default=d["webhook_backoff"].default,
        help="seconds before the first webHook retry, doubling after each",
    )
    parser.add_argument(
        "--model-down",
        action="append",
        nargs="?",
        const="sora-2",
        default=[],
        dest="models_down",
        metavar="MODEL",
        help=f"report MODEL as unavailable (repeat for more; alone: sora-2); the models: {', '.join(MODELS)}",
    )
    parser.add_argument(
        "--refunds-refusals",
        action="store_true",
        help="refund content refusals (moderation, violation) as well as errors; the real service does not",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the random failure rates")
    parser.add_argument(
        "--control-token",
        default=None,
        help=f"the token every /sandbox/* control needs in {HEADER} (default: ${ENV}, else made at start and "
        f"written to <data dir>/control-token)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    names = {f.name for f in fields(SandboxConfig)}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    values["blocklist"] = tuple(w.strip().lower() for w in args.blocklist.split(",") if w.strip())
    values["api_keys"] = tuple(args.api_keys)
    values["models_down"] = tuple(args.models_down)
    return SandboxConfig(**values)
