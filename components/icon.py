"""The app's favicon, drawn here with Pillow: served by Streamlit itself, so it shows offline (an
icon name would be fetched from a font server)."""

from __future__ import annotations

from functools import cache

from PIL import Image, ImageDraw


@cache
def favicon() -> Image.Image:
    size = 64
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((2, 2, size - 3, size - 3), radius=14, fill=(108, 71, 255, 255))
    draw.polygon([(24, 18), (24, 46), (47, 32)], fill=(255, 255, 255, 255))
    return image
