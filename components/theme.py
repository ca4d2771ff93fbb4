"""What the theme in .streamlit/config.toml cannot say: Streamlit darkens the primary colour for a
hovered or focused primary button by mixing towards pure blue (#6D4AFF became #3300FF), off the
theme. Here the same hue, a little darker, with the focus ring kept for keyboard users. And on a
phone, prompt help's row of buttons (Use an example, Improve, Translate to English, 3 ideas) drops
its icons and takes a smaller type, so it stays one row: "3 ideas" wrapped alone onto a line of its own."""

from __future__ import annotations

from functools import cache

import streamlit as st
from PIL import ImageColor

DEFAULT_PRIMARY = "#6D4AFF"
HELP_ROW = "[class*='st-key-'][class*='_help_row']"  # components.prompt_help's row: key f"{key}_help_row"


def darker(color: str, by: float = 0.1) -> str:
    """The colour mixed ``by`` towards black: the same hue, calmer (#6D4AFF -> #6243E6 at 0.1)."""
    return "#{:02X}{:02X}{:02X}".format(*(round(c * (1 - by)) for c in ImageColor.getrgb(color)[:3]))


@cache
def _style(primary: str) -> str:
    hover, pressed = darker(primary, 0.1), darker(primary, 0.2)
    buttons = 'button[data-testid^="stBaseButton-primary"]'
    return (
        "<style>"
        f"{buttons}:hover, {buttons}:focus {{ background-color: {hover}; border-color: {hover}; }}"
        f"{buttons}:active {{ background-color: {pressed}; border-color: {pressed}; }}"
        f"{buttons}:focus-visible {{ box-shadow: 0 0 0 3px {primary}66; }}"
        f"@media (max-width: 640px) {{ {HELP_ROW} {{ column-gap: 0.5rem; }}"
        f" {HELP_ROW} span:has(> [data-testid='stIconMaterial']) {{ display: none; }}"
        f" {HELP_ROW} button p {{ font-size: 0.85rem; }} }}"
        "</style>"
    )


def apply_theme() -> None:
    primary = st.get_option("theme.primaryColor") or DEFAULT_PRIMARY
    try:
        ImageColor.getrgb(primary)
    except ValueError:
        primary = DEFAULT_PRIMARY
    st.html(_style(primary))
