"""Batch: a table of products -> many videos, free of Streamlit, in five parts by job:

- ``decode``: the uploaded file or pasted rows as a table of text columns;
- ``plan``: each row's request, filled from the template and checked as a single request is; rows
  that will not do are listed with the reason and never sent;
- ``sources``: the table's own columns (SKU, name …), kept with the batch to name its rows;
- ``progress``: the figures of a running batch and of earlier ones, counted once;
- ``service`` and ``results``: write the batch before anything is sent, pause / resume / cancel /
  retry, and give the results, the manifest and the zip.
"""

from .decode import MAX_ROWS, BatchInputError, decode_table, read_table
from .plan import InvalidRow, Plan, PlannedRow, plan_rows, template_fields, template_fits
from .progress import BatchProgress, BatchTally, latest_attempts, progress_of, tally_of
from .results import (
    SHOWN_STATUSES,
    failure_words,
    manifest_name,
    video_name,
    zip_name,
)
from .service import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MAX_MODERATION_RETRIES,
    BatchService,
    NotEnoughCredits,
)
from .sources import example_template, label_columns, row_label, source_columns, source_name

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "MAX_MODERATION_RETRIES",
    "MAX_ROWS",
    "SHOWN_STATUSES",
    "BatchInputError",
    "BatchProgress",
    "BatchService",
    "BatchTally",
    "InvalidRow",
    "NotEnoughCredits",
    "Plan",
    "PlannedRow",
    "decode_table",
    "example_template",
    "failure_words",
    "label_columns",
    "latest_attempts",
    "manifest_name",
    "plan_rows",
    "progress_of",
    "read_table",
    "row_label",
    "source_columns",
    "source_name",
    "tally_of",
    "template_fields",
    "template_fits",
    "video_name",
    "zip_name",
]
