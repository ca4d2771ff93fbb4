"""What a batch gives back: one line a row (its newest attempt, with the row's own columns), the
manifest, the zip of every finished file, and the names of those files."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..db import FailureReason, Generation, Status
from ..db.status import ACTIVE
from ..library import spreadsheet_safe
from .progress import latest_attempts
from .sources import row_label, with_source

# The results' "Show" choices: the statuses of the rows each one lists ("All": every row).
SHOWN_STATUSES: dict[str, frozenset[Status] | None] = {
    "All": None,
    "Ready": frozenset({Status.SUCCEEDED}),
    "Failed": frozenset({Status.FAILED, Status.UNKNOWN}),
    "Not done": ACTIVE,
}

Source = tuple[Sequence[str], dict[str, dict[str, str]]]  # the table's own columns, and each row's cells


def _spent(attempts: list[Generation]) -> Counter[int]:
    """Every attempt of a row was sent: a row's credits are all of them."""
    spent: Counter[int] = Counter()
    for attempt in attempts:
        spent[attempt.batch_row] += attempt.cost
    return spent


def results_frame(attempts: list[Generation], source: Source, thumbnail=None) -> pd.DataFrame:
    """One line a row: its newest attempt, with how many attempts it took, and the row's own
    columns from the table (SKU, name …) under their names. ``thumbnail``: a generation's picture as
    a data URL, or None to leave them out."""
    columns, cells = source
    tries = Counter(r.batch_row for r in attempts)
    spent = _spent(attempts)
    lines = []
    for g in latest_attempts(attempts):
        line = {
            "row": g.batch_row,
            "status": g.status,
            "prompt": g.prompt,
            "reason": failure_words(g),
            "pid": g.pid or "",
            "thumbnail": (thumbnail(g) or "") if thumbnail else "",
            "attempts": tries[g.batch_row],
            "cost": spent[g.batch_row],
            "generation_id": g.id,
        }
        lines.append(with_source(line, columns, cells.get(str(g.batch_row)) or {}))
    return pd.DataFrame(lines)


def manifest_frame(attempts: list[Generation], source: Source, has_file) -> pd.DataFrame:
    """The CSV in the zip: row, the row's own columns, file, pid, prompt, cost (every attempt's
    cost added up). ``has_file``: whether a generation's video is in the media store."""
    columns, cells = source
    cost = _spent(attempts)
    lines = []
    for g in latest_attempts(attempts):
        kept = g.status == Status.SUCCEEDED and has_file(g)
        own = cells.get(str(g.batch_row)) or {}
        line = with_source({"row": g.batch_row}, columns, own)
        line.update(
            {
                "status": g.status,
                "model": g.model,
                "file": video_name(g, row_label(columns, own)) if kept else "",
                "pid": g.pid or "",
                "prompt": g.prompt,
                "aspect_ratio": g.aspect_ratio,
                "duration": g.duration,
                "size": g.size,
                "failure_reason": g.failure_reason or "",
                "cost": cost[g.batch_row],
            }
        )
        lines.append(line)
    return spreadsheet_safe(pd.DataFrame(lines))


def zip_batch(manifest: pd.DataFrame, attempts: list[Generation], media: Any, target: Path) -> Path:
    """Every finished video the manifest names, and manifest.csv, written to ``target`` (videos are
    stored, not compressed again: MP4 does not shrink)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    rows = {g.batch_row: g for g in latest_attempts(attempts)}
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for line in manifest.itertuples():
            if line.file:
                with media.working_copy(rows[line.row].video_path) as kept:
                    archive.write(kept, line.file)
        archive.writestr("manifest.csv", manifest.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
    partial.replace(target)
    return target


def export_path(batch_id: int) -> str:
    """Where the batch's zip is kept in the media store."""
    return f"exports/batch-{batch_id}.zip"


def zip_name(name: str, batch_id: int) -> str:
    """The zip's name as downloaded: the batch's name, then its number (``spring-shoes-7.zip``)."""
    return f"{name.replace(' ', '-').lower()[:40] or 'batch'}-{batch_id}.zip"


def manifest_name(batch_id: int) -> str:
    """The manifest's name when it is downloaded alone."""
    return f"batch-{batch_id}-manifest.csv"


def video_name(generation: Generation, label: str = "") -> str:
    """The file's name in the zip: videos/row-0007-sku-123-red-sneaker.mp4 (its row's own cells,
    else the prompt's first words; images/….png for an image)."""
    text = unicodedata.normalize("NFKC", label or generation.prompt).lower()
    words = re.sub(r"[\W_]+", "-", text).strip("-")[:40].rstrip("-")
    if generation.makes == "image":
        return f"images/row-{generation.batch_row:04d}-{words or 'image'}.png"
    return f"videos/row-{generation.batch_row:04d}-{words or 'video'}.mp4"


def failure_words(generation: Generation) -> str:
    """Why a row was not made, in words: its failure, or that it is not known to have been sent."""
    if generation.status == Status.FAILED:
        reason = FailureReason.of(generation.failure_reason).short
        return f"{reason}: {generation.error}" if generation.error else reason
    if generation.status == Status.UNKNOWN:
        return generation.error or "Not known whether the service received it; not sent again."
    return ""
