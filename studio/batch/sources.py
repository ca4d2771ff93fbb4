"""The table's own columns (SKU, name …): which they are, what the batch keeps of them, and how they
name a row in the results, the manifest and the zip's file names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from grsai_api import MODELS

from .plan import Plan, PlannedRow


def request_columns() -> frozenset[str]:
    """The columns a row's request is read from (every model's keywords, a model added by file
    included); the others (SKU, name, …) are the user's own and follow the row into the results, the
    zip's file names and the manifest."""
    return frozenset({"prompt", "model", "characters", "image_url"}).union(*(m.fields for m in MODELS.values()))


MAX_SOURCE_COLUMNS = 8  # kept per row; a wide export keeps its first eight of its own
MAX_SOURCE_CELL = 200  # characters kept of one cell
# Columns that name a product, most telling first: the zip's file names are made from them.
_LABEL_PATTERNS = (r"sku|id|code|ean|upc|asin|gtin|handle|ref|article", r"name|title|product|item")


def source_columns(columns: Sequence[str]) -> list[str]:
    requested = request_columns()
    return [c for c in columns if c not in requested][:MAX_SOURCE_COLUMNS]


def example_template(columns: Sequence[str]) -> str:
    """An example template made of this table's own columns (a name first, then two more), so the
    example never names a column the file does not have."""
    naming = re.compile(_LABEL_PATTERNS[1], re.IGNORECASE)
    own = [c for c in source_columns(columns) if "{" not in c and "}" not in c]
    own = sorted(own, key=lambda c: not naming.search(c))[:3]  # stable: the file's order otherwise
    if not own:
        return "A short product video on a studio table, soft light"
    first, *rest = own
    details = " (" + ", ".join(f"{{{c}}}" for c in rest) + ")" if rest else ""
    return f"A short video of {{{first}}}{details} on a studio table, soft light"


def source_table(plan: Plan, rows: Sequence[PlannedRow]) -> dict[str, Any]:
    """What the batch keeps of the table: its own columns, and each sent row's cells in them."""
    columns = source_columns(plan.columns)
    return {
        "columns": columns,
        "rows": {str(r.row): {c: (r.source.get(c) or "")[:MAX_SOURCE_CELL] for c in columns} for r in rows},
    }


def label_columns(columns: Sequence[str]) -> list[str]:
    """The columns that name a row (an id-like one, then a name-like one), else the first."""
    chosen = []
    for pattern in _LABEL_PATTERNS:
        for column in columns:
            words = re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", column.lower())
            if column not in chosen and any(re.fullmatch(pattern, w) for w in words if w):
                chosen.append(column)
                break
    return chosen or list(columns[:1])


RESULT_COLUMNS = frozenset(
    {"row", "status", "prompt", "reason", "pid", "thumbnail", "attempts", "cost", "generation_id", "model",
     "file", "aspect_ratio", "duration", "size", "failure_reason"}
)  # fmt: skip


def source_name(column: str) -> str:
    """A table column's name in the results and the manifest (“status (table)” if it clashes)."""
    return f"{column} (table)" if column in RESULT_COLUMNS else column


def with_source(line: dict[str, Any], columns: Sequence[str], cells: dict[str, str]) -> dict[str, Any]:
    """The line with the row's own cells added under their names in the results."""
    return {**line, **{source_name(c): cells.get(c, "") for c in columns}}


def row_label(columns: Sequence[str], cells: dict[str, str]) -> str:
    """What names a row in a file name: its id-like and name-like cells (“SKU-123 Red sneaker”)."""
    return " ".join(cells.get(c, "") for c in label_columns(columns) if cells.get(c))
