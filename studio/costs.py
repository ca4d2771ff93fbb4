"""What things cost, in the service's credits. The sandbox charges the same by default; for the live
service these are the published figures (shared/GRSAI_PROTOCOL.md), shown as estimates."""

from __future__ import annotations

VIDEO_PRICE = 0.08
CHARACTER_PRICE = 0.01


def video_cost(count: int = 1) -> float:
    return round(VIDEO_PRICE * count, 4)


def character_cost(count: int = 1) -> float:
    return round(CHARACTER_PRICE * count, 4)


def format_credits(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"
