"""What things cost, in the service's own unit: integer credits (shared/GRSAI_PROTOCOL.md), with
yuan beside them. One table, so the pages, the batch planner and the engine never disagree.

The table starts from the catalogue's prices (grsai_api); prices move, so a person may override any
of them on the Settings page. Overrides live in the store (one value for the whole deployment) and
every process reads them again within ``RELOAD_SECONDS``. So does the rate of credits to the yuan:
GrsAI's packs sell 10,000 to 20,000 credits a ¥, so the deployment says what its own pack gave.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Protocol

from grsai_api import MODELS, default_model, is_refusal

DEFAULT_CREDITS_PER_YUAN = 20_000  # GrsAI's largest pack: ¥999 for 20,000,000 credits
CREDITS_PER_YUAN = DEFAULT_CREDITS_PER_YUAN  # the rate in force in this process (see load)
RATE_SETTING = "credits_per_yuan"
RATE_PROBLEM = "Give the credits one ¥ buys as a positive whole number of credits, e.g. 10,000 or 20,000."
CHARACTER = "character"
CHARACTER_PRICE = 200


def _defaults() -> dict[str, int]:
    """The catalogue's prices (a model added by a deployment's models file included)."""
    return {**{m.id: m.price for m in MODELS.values()}, CHARACTER: CHARACTER_PRICE}


DEFAULT_PRICES: dict[str, int] = _defaults()  # brought up to the catalogue by every load()
PRICES: dict[str, int] = dict(DEFAULT_PRICES)  # the table in force in this process
RELOAD_SECONDS = 30.0
SETTING = "prices"

_lock = threading.Lock()
_loaded_at = -RELOAD_SECONDS


class SettingsStore(Protocol):
    def get_setting(self, name: str) -> str | None: ...

    def put_setting(self, name: str, value: str) -> None: ...


def price(model: str | None = None) -> int:
    """A call's credits: the deployment's override, else the catalogue's price (of the catalogue's
    default video model when none is named or the model is not in it)."""
    model = model or default_model("video")
    if model in PRICES:
        return PRICES[model]
    entry = MODELS.get(model)
    return entry.price if entry is not None else price(default_model("video"))


def video_cost(count: int = 1, model: str | None = None) -> int:
    """Credits for ``count`` calls of ``model`` (an image model's call makes its variants at once)."""
    return price(model) * int(count)


def character_cost(count: int = 1) -> int:
    return PRICES[CHARACTER] * int(count)


def failed_cost(reason: str | None, charged: int, *, refunds_refusals: bool) -> int:
    """What a failed task cost in the end: the service refunds its own errors, but keeps what a
    content refusal was charged (measured; GRSAI_PROTOCOL.md 2026-12) unless the deployment says
    its service refunds refusals too."""
    return int(charged or 0) if is_refusal(reason) and not refunds_refusals else 0


def _whole(value: object) -> int | None:
    """``value`` as whole non-negative credits (2000 or 2000.0), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None


def overrides_from(text: str | None) -> dict[str, int]:
    """Saved overrides: known names, whole non-negative credits; anything else is dropped."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        name: int(value)
        for name, value in raw.items()
        if name in DEFAULT_PRICES and isinstance(value, int) and not isinstance(value, bool) and value >= 0
    }


def load(store: SettingsStore, *, force: bool = False) -> dict[str, int]:
    """Bring this process's table up to the store's overrides (at most every RELOAD_SECONDS)."""
    global _loaded_at
    with _lock:
        if not force and time.monotonic() - _loaded_at < RELOAD_SECONDS:
            return PRICES
        DEFAULT_PRICES.clear()
        DEFAULT_PRICES.update(_defaults())
        overrides = overrides_from(store.get_setting(SETTING))
        PRICES.clear()
        PRICES.update(DEFAULT_PRICES, **overrides)
        _use_rate(store.get_setting(RATE_SETTING))
        _loaded_at = time.monotonic()
        return PRICES


def save(store: SettingsStore, table: dict[str, int]) -> dict[str, int]:
    """Keep the prices that differ from the defaults as the deployment's overrides."""
    overrides = {}
    for name, value in table.items():
        whole = _whole(value)
        if whole is not None and name in DEFAULT_PRICES and DEFAULT_PRICES[name] != whole:
            overrides[name] = whole
    store.put_setting(SETTING, json.dumps(overrides, sort_keys=True))
    return load(store, force=True)


def parse_rate(value: object) -> int:
    """Credits a ¥ as typed ("10,000", 15000): a positive whole number, else ValueError in words."""
    text = str(value).replace(",", "").replace("_", "").strip() if value is not None else ""
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(RATE_PROBLEM)
    return int(text)


def credits_per_yuan() -> int:
    return CREDITS_PER_YUAN


def _use_rate(saved: str | None) -> None:
    global CREDITS_PER_YUAN
    try:
        CREDITS_PER_YUAN = parse_rate(saved) if saved else DEFAULT_CREDITS_PER_YUAN
    except ValueError:  # a value no Settings page wrote: the default, not a crash
        CREDITS_PER_YUAN = DEFAULT_CREDITS_PER_YUAN


def save_rate(store: SettingsStore, value: object) -> int:
    """Keep the deployment's credits a ¥ (the pack it bought: credits ÷ yuan paid); ValueError in
    words, and nothing kept, for a value that is not a positive whole number."""
    rate = parse_rate(value)
    store.put_setting(RATE_SETTING, str(rate))
    load(store, force=True)
    return rate


def affordable(credits: int | float | None, each: int) -> int | None:
    """How many of something costing ``each`` the balance pays for (exact: integers)."""
    if credits is None:
        return None
    return max(0, int(credits)) // each if each > 0 else None


def format_credits(value: int | float | None) -> str:
    return "—" if value is None else f"{int(round(value)):,}"


def format_yuan(credits: int | float | None) -> str:
    """Yuan at the deployment's rate (Settings), the one place ¥ is worked out."""
    if credits is None:
        return "—"
    yuan = credits / CREDITS_PER_YUAN
    if 0 < yuan < 0.005:  # a help call: "¥0.00" read as free
        return "under ¥0.01"
    return f"¥{yuan:,.2f}"


def credits_text(credits: int | float | None) -> str:
    """"1,600 credits (¥0.08)"."""
    return f"{format_credits(credits)} credits ({format_yuan(credits)})"
