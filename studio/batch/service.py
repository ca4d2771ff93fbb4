"""``BatchService``: write the batch and all its rows to the store *before* anything is sent (each a
``queued`` generation), then pause / resume / cancel / retry the failed, and give the results, the
manifest and the zip.

The task engine (studio.engine) sends the rows, a batch's ``concurrency`` at a time, and follows
them; a row is claimed in the store before it is sent, so no row is ever sent twice.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from grsai_api import is_refusal

from ..costs import credits_text, price
from ..db import Batch, BatchState, Generation, Status
from ..queueing import QueueingService
from .decode import BatchInputError
from .plan import Plan
from .progress import BatchProgress, latest_attempts, progress_of
from .results import export_path, manifest_frame, results_frame, zip_batch
from .sources import source_table

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
MAX_MODERATION_RETRIES = 3


class ZipExport(NamedTuple):
    """A batch's zip in the media store, and how many videos it holds (besides manifest.csv)."""

    path: str
    videos: int


class NotEnoughCredits(ValueError):
    """The batch costs more than the balance: nothing is written."""


class BatchService(QueueingService):
    def create(
        self,
        name: str,
        plan: Plan,
        *,
        limit: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        credits: int | None = None,
        template: str = "",
        request_key: str | None = None,
    ) -> Batch:
        """Write the batch and its rows (nothing sent yet). NotEnoughCredits when it costs more
        than the balance: nothing is written then. The same request key returns the same batch."""
        rows = plan.rows[: limit if limit is not None else None]
        if not rows:
            raise BatchInputError("There is no valid row to send.")
        cost = plan.cost(len(rows))
        if credits is not None and cost > credits:
            raise NotEnoughCredits(
                f"{len(rows)} rows cost {credits_text(cost)} and {credits_text(credits)} are left: "
                f"cap the batch at {plan.affordable(credits)} rows or add credits."
            )
        settings = {
            "template": template,
            "rows": len(rows),
            "skipped": [{"row": r.row, "reason": r.reason} for r in plan.invalid],
            "capped": len(plan.rows) - len(rows),
            "source": source_table(plan, rows),
        }
        batch, created = self.store.add_batch(
            name,
            settings,
            [(r.row, r.params) for r in rows],
            service=self.connection.service_id,
            account=self.connection.account,
            concurrency=max(1, min(int(concurrency), MAX_CONCURRENCY)),
            request_key=request_key,
        )
        if created:
            self.on_queued()
        return batch

    def pause(self, batch_id: int) -> None:
        self.store.set_batch(batch_id, state=BatchState.PAUSED, paused_because=None)

    def resume(self, batch_id: int) -> None:
        self.store.set_batch(batch_id, state=BatchState.RUNNING, paused_because=None)
        self.on_queued()

    def cancel(self, batch_id: int) -> int:
        """Stop sending: rows not sent yet are cancelled (never charged). Tasks already with the
        service run to the end and are kept."""
        self.store.set_batch(batch_id, state=BatchState.CANCELLED)
        return self.store.cancel_queued(batch_id)

    def set_concurrency(self, batch_id: int, concurrency: int) -> None:
        self.store.set_batch(batch_id, concurrency=max(1, min(int(concurrency), MAX_CONCURRENCY)))

    def progress(self, batch_id: int) -> BatchProgress:
        return progress_of(self.store.batch_rows(batch_id))

    def retryable(self, batch_id: int, *, moderation_retries: int = 0) -> list[Generation]:
        """The rows whose newest attempt failed and may be tried again: service errors always;
        moderation refusals only up to ``moderation_retries`` times a row (0, the default: never,
        since a prompt refused once is usually refused again)."""
        cap = max(0, min(int(moderation_retries), MAX_MODERATION_RETRIES))
        attempts = self.store.batch_rows(batch_id)
        refused = Counter(r.batch_row for r in attempts if r.status == Status.FAILED and _moderated(r))
        return [
            row
            for row in latest_attempts(attempts)
            if row.status == Status.FAILED and (not _moderated(row) or refused[row.batch_row] <= cap)
        ]

    def retry_cost(self, batch_id: int, *, moderation_retries: int = 0) -> int:
        """What "Retry failed" would cost: each retried row is sent anew and charged at its model's price."""
        return sum(price(row.model) for row in self.retryable(batch_id, moderation_retries=moderation_retries))

    def retry_failed(self, batch_id: int, *, moderation_retries: int = 0) -> int:
        """Queue one more attempt of each retryable row; the batch runs again."""
        rows = self.retryable(batch_id, moderation_retries=moderation_retries)
        added = self.store.add_batch_attempts(batch_id, rows)
        if added:
            self.on_queued()
        return added

    def _source(self, batch_id: int) -> tuple[list[str], dict[str, dict[str, str]]]:
        batch = self.store.get_batch(batch_id)
        source = (batch.settings or {}).get("source") or {} if batch is not None else {}
        return list(source.get("columns") or []), dict(source.get("rows") or {})

    def results(self, batch_id: int, *, thumbnails: bool = True) -> pd.DataFrame:
        """One line a row (see ``results_frame``), with its thumbnail unless ``thumbnails`` is False."""
        picture = (lambda g: self.media.data_url(g.thumb_path)) if thumbnails else None
        return results_frame(self.store.batch_rows(batch_id), self._source(batch_id), picture)

    def manifest(self, batch_id: int) -> pd.DataFrame:
        """The CSV in the zip (see ``manifest_frame``)."""
        return manifest_frame(
            self.store.batch_rows(batch_id), self._source(batch_id), lambda g: self.media.exists(g.video_path)
        )

    def write_zip(self, batch_id: int, target: Path) -> Path:
        """Every finished video of the batch and manifest.csv, written to ``target``."""
        manifest = self.manifest(batch_id)
        return zip_batch(manifest, self.store.batch_rows(batch_id), self.media, target)

    def export_zip(self, batch_id: int) -> ZipExport:
        """The zip written into the media store (``exports/batch-<id>.zip``, the bucket's when there
        is one: built on disk, a video at a time, then stored), for a link or a download."""
        relative = export_path(batch_id)
        staged = self.media.staging(relative)
        with zipfile.ZipFile(self.write_zip(batch_id, staged)) as archive:
            held = sum(name != "manifest.csv" for name in archive.namelist())
        self.media.commit(relative, staged)
        return ZipExport(relative, held)


def _moderated(generation: Generation) -> bool:
    return is_refusal(generation.failure_reason)
