"""What things cost, in the service's own unit: integer credits (shared/GRSAI_PROTOCOL.md), with
yuan beside them. One table, so the pages, the batch planner and the engine never disagree."""

from __future__ import annotations

CREDITS_PER_YUAN = 20_000
PRICES: dict[str, int] = {"sora-2": 1_600, "character": 200}


def price(model: str = "sora-2") -> int:
    return PRICES.get(model, PRICES["sora-2"])


def video_cost(count: int = 1, model: str = "sora-2") -> int:
    return price(model) * int(count)


def character_cost(count: int = 1) -> int:
    return PRICES["character"] * int(count)


def affordable(credits: int | float | None, each: int) -> int | None:
    """How many of something costing ``each`` the balance pays for (exact: integers)."""
    if credits is None:
        return None
    return max(0, int(credits)) // each if each > 0 else None


def format_credits(value: int | float | None) -> str:
    return "—" if value is None else f"{int(round(value)):,}"


def format_yuan(credits: int | float | None) -> str:
    if credits is None:
        return "—"
    return f"¥{credits / CREDITS_PER_YUAN:,.2f}"


def credits_text(credits: int | float | None) -> str:
    """"1,600 credits (¥0.08)"."""
    return f"{format_credits(credits)} credits ({format_yuan(credits)})"
