"""Copies of the provider's videos: its URLs expire, our history must keep playing."""

from __future__ import annotations

from pathlib import Path

import httpx


def save_video(url: str, folder: Path, name: str, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``folder/name.mp4`` (written whole, then renamed into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.mp4"
    if target.exists():
        return target
    partial = folder / f".{name}.part"
    with httpx.stream(
        "GET", url, timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=True
    ) as response:
        response.raise_for_status()
        with partial.open("wb") as out:
            for chunk in response.iter_bytes(1 << 16):
                out.write(chunk)
    partial.replace(target)
    return target
