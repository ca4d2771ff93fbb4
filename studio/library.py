"""The Library's tables: one page for st.dataframe, and every match for the CSV export."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from grsai_api import MODELS

from .db import Generation, LibraryFilter, Status, Store, as_utc
from .media import MediaStore

STATUS_LABELS = {status.value: status.label for status in Status}  # the words live with the statuses
KIND_LABELS = {"text": "From text", "image": "From images", "remix": "Remix", "storyboard": "Storyboard"}
EXPORT_COLUMNS = [
    "id",
    "created",
    "status",
    "model",
    "makes",
    "kind",
    "prompt",
    "aspect_ratio",
    "duration",
    "size",
    "pid",
    "parent_pid",
    "cost",
    "failure_reason",
    "error",
    "video_file",
    "task_id",
]


def choice_words(value: object) -> str:
    """A choice as every page says it, the form's button as the card under the result: "small" ->
    "Small" (the wire's words are lower case; a person's are not)."""
    return value.title() if isinstance(value, str) and value.isalpha() and value.islower() else str(value)


def model_label(g: Generation) -> str:
    """The model a row is listed under: a storyboard's film is the storyboard's, not a model's."""
    if g.kind == "storyboard":
        return "Storyboard"
    return MODELS[g.model].name if g.model in MODELS else g.model


def listed_cost(g: Generation, films: dict[int, int]) -> int:
    """A row's credits as listed: a film stands for its shots' (``films``: storyboard -> credits)."""
    return films.get(g.storyboard_id, 0) if g.kind == "storyboard" else g.cost


def page_frame(
    rows: Sequence[Generation], media: MediaStore, tz: str = "UTC", films: dict[int, int] | None = None
) -> pd.DataFrame:
    """One page of the Library's table; times in ``tz`` (the browser's zone); ``films`` gives each
    storyboard's shots' credits (Store.storyboard_costs) for its film's line."""
    films = films or {}
    return pd.DataFrame(
        {
            "id": [g.id for g in rows],
            "thumbnail": [media.data_url(g.thumb_path) or "" for g in rows],
            "status": [STATUS_LABELS.get(g.status, g.status) for g in rows],
            "model": [model_label(g) for g in rows],
            "prompt": [g.prompt for g in rows],
            "pid": [g.pid or "" for g in rows],
            "kind": [KIND_LABELS.get(g.kind, g.kind) for g in rows],
            "aspect": [g.aspect_ratio for g in rows],
            "duration": [g.duration for g in rows],
            "cost": [listed_cost(g, films) for g in rows],
            "created": [
                pd.Timestamp(as_utc(g.created_at)).tz_convert(tz).tz_localize(None)
                for g in rows
            ],
        }
    )


def export_csv(store: Store, f: LibraryFilter) -> bytes:
    rows = store.export_rows(f)
    films = store.storyboard_costs(g.storyboard_id for g in rows if g.kind == "storyboard")
    frame = pd.DataFrame(
        [
            {
                "id": g.id,
                "created": g.created_at.isoformat(),
                "status": g.status,
                "model": "storyboard" if g.kind == "storyboard" else g.model,
                "makes": g.makes,
                "kind": g.kind,
                "prompt": g.prompt,
                "aspect_ratio": g.aspect_ratio,
                "duration": g.duration,
                "size": g.size,
                "pid": g.pid,
                "parent_pid": g.remix_target_id,
                "cost": listed_cost(g, films),
                "failure_reason": g.failure_reason,
                "error": g.error,
                "video_file": ";".join(f["path"] for f in g.files or [] if isinstance(f, dict) and f.get("path"))
                or g.video_path,
                "task_id": g.task_id,
            }
            for g in rows
        ],
        columns=EXPORT_COLUMNS,
    )
    return spreadsheet_safe(frame).to_csv(index=False).encode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+cmd``, ``@SUM``) get a
    leading apostrophe, so Excel and Sheets show them as the text they are (OWASP's CSV injection)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
            )
    return safe
