"""Batch: a table of products -> many videos.

Three parts, free of Streamlit:

- planning: read a CSV (or pasted rows), fill a prompt template from each row's columns, check every
  row the way a single request is checked; invalid rows are listed with the reason and never sent;
- ``BatchService``: write the batch and all its rows to the store *before* anything is sent (each a
  ``queued`` generation), then pause / resume / cancel / retry the failed, results, the zip.

The task engine (studio.engine) sends the rows, a batch's ``concurrency`` at a time, and follows
them; a row is claimed in the store before it is sent, so no row is ever sent twice.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import string
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import charset_normalizer
import pandas as pd

from grsai_api import (
    MODELS,
    FieldSpec,
    InvalidRequestError,
    ModelSpec,
    check_timestamps,
    default_model,
    image_request,
    is_refusal,
    video_request,
)
from grsai_api._validation import check_field, refuse_nul

from .characters import CharacterNames, check_mentions
from .costs import credits_text, price
from .db import Batch, BatchState, FailureReason, Generation, Status, utcnow
from .library import spreadsheet_safe
from .queueing import QueueingService

MAX_ROWS = 5000
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
MAX_MODERATION_RETRIES = 3
CLIP_WITH_SPAN = re.compile(
    r"^(?P<url>\S+?)(?:\s+(?P<start>\d+(?:\.\d+)?)\s*[-–]\s*(?P<end>\d+(?:\.\d+)?))?$"
)


class BatchInputError(ValueError):
    """The table or the template cannot be used at all (not a single row's problem)."""


class NotEnoughCredits(ValueError):
    pass


# -- planning -------------------------------------------------------------------------------------
def decode_table(data: bytes) -> str:
    """The text of an uploaded table in whatever encoding it was saved: UTF-8 (with or without a
    BOM), UTF-16 ("Unicode Text" from Excel), Windows-1252 and the like (Excel's "CSV"), detected
    with charset-normalizer. A file that is not text is refused rather than read as rows."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    controls = sum(byte < 0x20 and byte not in (9, 10, 13) or byte == 0x7F for byte in data[:65536])
    if controls > 0.01 * min(len(data), 65536):  # a picture, a spreadsheet file, noise: not text
        raise BatchInputError(_NOT_TEXT)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise BatchInputError(_NOT_TEXT)
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence - 0.01]
    # short tables fit several code pages equally well: take the one spreadsheets most often save
    chosen = min(
        tied, key=lambda m: PREFERRED_ENCODINGS.index(m.encoding) if m.encoding in PREFERRED_ENCODINGS else 99
    )
    return str(chosen)


# What Excel saves as "CSV" on Western, Chinese, Taiwanese, Cyrillic and Japanese Windows.
PREFERRED_ENCODINGS = ("cp1252", "gb18030", "big5", "cp1251", "cp932", "shift_jis_2004")
_NOT_TEXT = (
    "This file is not a text table: save it from your spreadsheet as CSV (or “Unicode Text”) and "
    "upload that, or paste the rows."
)


def read_table(data: bytes | str) -> pd.DataFrame:
    """A CSV (or rows pasted from a spreadsheet: tabs, commas or semicolons) as text columns with
    tidy names (``Product Name`` -> ``product_name``); empty rows dropped."""
    text = decode_table(data) if isinstance(data, bytes) else data
    if not text.strip():
        raise BatchInputError("The table is empty: add a header row and at least one product.")
    first = text.lstrip().splitlines()[0]
    separator = max(("\t", ",", ";"), key=first.count) if any(c in first for c in "\t,;") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise BatchInputError(f"This is not a readable CSV: {str(exc).splitlines()[0]}") from None
    frame.columns = [
        re.sub(r"\W+", "_", str(c).strip().lower()).strip("_") or f"column_{i + 1}"
        for i, c in enumerate(frame.columns)
    ]
    if frame.columns.duplicated().any():
        twice = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise BatchInputError(f"Two columns have the same name: {', '.join(twice)}.")
    frame = frame[~(frame.apply(lambda r: "".join(r).strip(), axis=1) == "")].reset_index(drop=True)
    if frame.empty:
        raise BatchInputError("The table has a header but no rows.")
    if len(frame) > MAX_ROWS:
        raise BatchInputError(f"The table has {len(frame):,} rows; a batch takes at most {MAX_ROWS:,}.")
    return frame


def template_fields(template: str) -> list[str]:
    """The ``{column}`` placeholders of a template, in order; BatchInputError if it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise BatchInputError(
            f"The template has a stray brace ({exc}). Write {{column}} for a value, {{{{ or }}}} for a brace."
        ) from None
    fields = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not re.fullmatch(r"\w+", name):
            raise BatchInputError(f"“{{{name}}}” is not a column name: use letters, digits and _ only.")
        fields.append(name)
    return list(dict.fromkeys(fields))


@dataclass(frozen=True)
class PlannedRow:
    row: int  # 1 = the first row under the header, as a spreadsheet user counts
    params: dict[str, Any]
    source: dict[str, str] = field(default_factory=dict)  # the row's cells as read (SKU, name …)


@dataclass(frozen=True)
class InvalidRow:
    row: int
    reason: str


@dataclass
class Plan:
    rows: list[PlannedRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the table's columns, in its order

    def cost(self, limit: int | None = None) -> int:
        """What the rows sent cost: each row at its own model's price."""
        rows = self.rows if limit is None else self.rows[: max(0, limit)]
        return sum(price(r.params.get("model", default_model("video"))) for r in rows)

    def affordable(self, credits: int | None) -> int | None:
        """How many of the first rows the balance pays for (each row at its model's price)."""
        if credits is None:
            return None
        spent, count = 0, 0
        for r in self.rows:
            spent += price(r.params.get("model", default_model("video")))
            if spent > credits:
                break
            count += 1
        return count

    def models(self) -> Counter[str]:
        return Counter(r.params.get("model", default_model("video")) for r in self.rows)

    def preview(self, count: int = 10) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "row": r.row,
                    "model": MODELS[r.params.get("model", default_model("video"))].name,
                    "prompt": r.params["prompt"],
                    "aspect_ratio": r.params["aspect_ratio"],
                    "duration": r.params.get("duration")
                    or MODELS[r.params.get("model", default_model("video"))].seconds
                    or "",
                    "size": r.params.get("size")
                    or r.params.get("resolution")
                    or r.params.get("image_size")
                    or "",
                    "images": sum(
                        1 for k in ("image_url", "first_frame_url", "last_frame_url") if r.params.get(k)
                    )
                    + len(r.params.get("reference_urls") or []),
                    "characters": len(r.params.get("characters") or []),
                }
                for r in self.rows[:count]
            ]
        )


def _named_characters(names: CharacterNames, prompt: str, cells: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A Sora row as sent: names in its prompt as handles, and each saved character its ``characters``
    cell names (``Goldie``, ``@goldie``) mentioned in the prompt, where Sora looks for it; the cell
    keeps its clip addresses."""
    prompt = names.resolve(prompt)
    clips = []
    for part in re.split(r"[|;]", cells.get("characters") or ""):
        handle = names.handle(part) if part.strip() else None
        if handle is None and part.strip() and "://" not in part and not part.strip().startswith("file:"):
            raise InvalidRequestError(
                f"“{part.strip()}” is neither one of your characters nor a clip address.", field="characters"
            )
        if handle is None:
            clips.append(part)
        elif not re.search(rf"(?<![\w@])@{re.escape(handle)}(?![\w-]|\.\w)", prompt):
            prompt = f"{prompt} @{handle}"
    return prompt, {**cells, "characters": "|".join(p for p in clips if p.strip())}


def _clips(cell: str) -> list[dict[str, str]]:
    """``characters`` cell: clip URLs separated by ``|`` or ``;``, each optionally with a span
    ``start-end`` in seconds (``https://…/fox.mp4 1-3``); the first 3 s by default."""
    clips = []
    for part in re.split(r"[|;]", cell):
        part = part.strip()
        if not part:
            continue
        match = CLIP_WITH_SPAN.match(part)
        if not match:
            raise InvalidRequestError(
                f"“{part}” is not a clip address with an optional span.", field="characters"
            )
        span = (float(match["start"]), float(match["end"])) if match["start"] else (0, 3)
        clips.append({"url": match["url"], "timestamps": check_timestamps(span, "characters")})
    return clips


def _cell(field: FieldSpec, text: str) -> Any:
    """A table cell as the client takes it for ``field``: lists split on | or spaces, whole numbers
    as numbers (a cell that is not one is left as it is, for the check to name)."""
    if field.kind in ("images", "audios") and not field.single:
        return [part for part in re.split(r"[|\s]+", text) if part]
    numeric = field.kind == "integer" or (field.kind == "choices" and all(isinstance(c, int) for c in field.choices))
    if numeric and re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    if field.kind == "choices":  # "Large" is large
        return next((c for c in field.choices if str(c).lower() == text.lower()), text)
    return text


def _fits(entry: ModelSpec, field: FieldSpec, value: Any) -> bool:
    try:
        check_field(field, value, entry)
    except InvalidRequestError:
        return False
    return True


BRAND_COLUMNS = ("image_url", "first_frame_url", "last_frame_url", "reference_urls")  # cells that may say @name


def _brand_cells(record: dict[str, str], brand: dict[str, str]) -> dict[str, str]:
    """The row with each ``@name`` in its image cells replaced by that brand-kit asset's ``file:``
    reference (``brand``: name -> reference); InvalidRequestError naming the cell of one not in the kit."""
    record = dict(record)
    for column in BRAND_COLUMNS:
        parts = [part for part in re.split(r"[|\s]+", record.get(column) or "") if part]
        if not any(part.startswith("@") for part in parts):
            continue
        unknown = [part for part in parts if part.startswith("@") and part[1:].lower() not in brand]
        if unknown:
            raise InvalidRequestError(f"{unknown[0]} is not in the brand kit.", field=column)
        record[column] = " ".join(brand[part[1:].lower()] if part.startswith("@") else part for part in parts)
    return record


def _as_checked(params: dict[str, Any], kit_refs: set[str]) -> dict[str, Any]:
    """The parameters as the client checks them: a brand-kit picture stands as a web address (the
    engine sends it by its address in the service's storage); any other ``file:`` stays, to be refused."""

    def stand_in(value: Any) -> Any:
        if isinstance(value, list):
            return [stand_in(v) for v in value]
        return "https://brand-kit.invalid/asset.png" if isinstance(value, str) and value in kit_refs else value

    return {name: stand_in(value) for name, value in params.items()}


def _row_params(
    entry: ModelSpec,
    record: dict[str, str],
    prompt: str,
    defaults: dict[str, Any],
    kit_refs: set[str] = frozenset(),
) -> dict[str, Any]:
    """One row's request for its model, field by field as its catalogue entry says (a column named
    after a field gives it; else the page's default for it, when the model takes that value; else the
    model's own default), checked as a single request is (InvalidRequestError)."""
    params: dict[str, Any] = {"model": entry.id, "prompt": prompt.strip()}
    image = record.get("image_url")  # a Sora-style table: its image starts the video, or guides it
    takes_image = "image_url" in entry.fields
    image_goes = "first_frame_url" if "first_frame_url" in entry.fields else "reference_urls"
    for name, spec in entry.fields.items():
        given = record.get(name)
        if not given and image and not takes_image and name == image_goes:
            given = image
        if given:
            params[name] = _cell(spec, given)
        elif defaults.get(name) not in (None, "") and _fits(entry, spec, defaults[name]):
            params[name] = defaults[name]
    if entry.characters and record.get("characters"):
        params["characters"] = _clips(record["characters"])
    build = video_request if entry.kind == "video" else image_request
    build(**_as_checked(params, kit_refs))
    return params


def plan_rows(
    frame: pd.DataFrame,
    *,
    template: str | None = None,
    defaults: dict[str, Any] | None = None,
    saved_characters: CharacterNames | set[str] | None = None,
    down: dict[str, str] | None = None,
    brand: dict[str, str] | None = None,
) -> Plan:
    """What each row will send, checked like a single request of its model (a ``model`` column, else
    ``defaults["model"]``, else Sora 2); rows that will not do are listed with the reason, as are rows
    of a model that is ``down`` (model -> why, in words). ``brand`` (name -> ``file:`` reference): the
    account's brand kit, which image cells may name by ``@name``. ``saved_characters``: the account's
    characters, which a Sora row's prompt (or template) and ``characters`` cell may name as people
    named them (``Goldie``): each is sent as its handle."""
    defaults = {"aspect_ratio": "16:9", "duration": 10, "size": "small", **(defaults or {})}
    down = down or {}
    template = (template or "").strip()
    columns = set(frame.columns)
    fields = template_fields(template) if template else []
    if template:
        missing = [f for f in fields if f not in columns]
        if missing:
            raise BatchInputError(
                f"The template names {', '.join('{' + m + '}' for m in missing)}, which "
                f"{'is not a column' if len(missing) == 1 else 'are not columns'} of the table. "
                f"Its columns are: {', '.join(frame.columns)}."
            )
    elif "prompt" not in columns:
        raise BatchInputError(
            "The table has no prompt column. Add one, or write a prompt template with "
            f"{{column}} placeholders from: {', '.join(frame.columns)}."
        )
    by_name = saved_characters if isinstance(saved_characters, CharacterNames) else None
    saved = by_name.handles if by_name is not None else (saved_characters or set())
    plan = Plan(columns=list(frame.columns))
    for index, record in enumerate(frame.to_dict("records"), start=1):
        record = {k: (v or "").strip() for k, v in record.items()}
        try:
            for column, cell in record.items():
                refuse_nul(cell, column, f"The {column.replace('_', ' ')} cell")
        except InvalidRequestError as exc:
            plan.invalid.append(InvalidRow(index, f"{exc.field}: {exc.message}"))
            continue
        empty = [f for f in fields if not record.get(f)]
        if empty:
            plan.invalid.append(
                InvalidRow(index, f"{', '.join(empty)} is empty, so the template cannot be filled.")
            )
            continue
        prompt = template.format_map(record) if template else record.get("prompt", "")
        model = record.get("model") or defaults.get("model") or default_model("video")
        entry = MODELS.get(model)
        if entry is None:
            plan.invalid.append(
                InvalidRow(index, f"model: there is no model “{model}”; use one of {', '.join(MODELS)}.")
            )
            continue
        if model in down:
            plan.invalid.append(InvalidRow(index, f"model: {down[model]}, so this row would not be sent."))
            continue
        try:
            cells = _brand_cells(record, brand or {})  # @sneaker -> the kit's picture; an unknown one refuses the row
            if entry.characters and by_name is not None:  # @Goldie, and Goldie in the characters cell, by handle
                prompt, cells = _named_characters(by_name, prompt, cells)
            params = _row_params(entry, cells, prompt, defaults, set((brand or {}).values()))
        except InvalidRequestError as exc:
            plan.invalid.append(
                InvalidRow(index, f"{exc.field}: {exc.message}" if exc.field else exc.message)
            )
            continue
        if not entry.characters:
            plan.rows.append(PlannedRow(index, params, record))
            continue
        mentions = check_mentions(params["prompt"], saved, len(params.get("characters") or []))
        if mentions.unknown:
            names = ", ".join("@" + n for n in mentions.unknown)
            plan.invalid.append(InvalidRow(index, f"prompt: {names} is not one of your characters."))
            continue
        if mentions.count > 2:
            plan.invalid.append(
                InvalidRow(
                    index, f"characters: Sora takes at most 2 in one video; this row has {mentions.count}."
                )
            )
            continue
        plan.rows.append(PlannedRow(index, params, record))
    return plan


# The columns a row's request is read from; the others (SKU, name, …) are the user's own and
# follow the row into the results, the zip's file names and the manifest.
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


# -- progress and results --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchProgress:
    total: int
    queued: int
    sending: int
    running: int
    succeeded: int
    failed: int
    unknown: int
    cancelled: int
    spent: int
    eta_seconds: float | None
    failures: dict[str, int]  # failure reason -> rows

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.unknown + self.cancelled

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def active(self) -> bool:
        return bool(self.queued or self.sending or self.running)


def latest_attempts(rows: list[Generation]) -> list[Generation]:
    """The newest attempt of each row (rows in row order)."""
    latest: dict[int, Generation] = {}
    for row in rows:
        latest[row.batch_row] = row  # rows come oldest attempt first
    return [latest[k] for k in sorted(latest)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def progress_of(rows: list[Generation], *, now: datetime | None = None) -> BatchProgress:
    now = now or utcnow()
    attempts = rows
    rows = latest_attempts(rows)
    counts = Counter(r.status for r in rows)
    finished = [r for r in rows if r.status in (Status.SUCCEEDED, Status.FAILED) and r.submitted_at and r.finished_at]
    eta = None
    if finished:
        task_seconds = sum(
            (_aware(r.finished_at) - _aware(r.submitted_at)).total_seconds() for r in finished
        ) / len(finished)
        sent = sorted(_aware(r.submitted_at) for r in rows if r.submitted_at)
        rate = (len(sent) - 1) / max((sent[-1] - sent[0]).total_seconds(), 1e-3) if len(sent) > 1 else None
        out = [
            task_seconds - (now - _aware(r.submitted_at)).total_seconds()
            for r in rows
            if r.status in (Status.RUNNING, Status.SAVING) and r.submitted_at
        ]
        waiting = counts[Status.QUEUED] + counts[Status.SUBMITTING]
        eta = max([0.0, *out])
        if waiting:
            eta = max(eta, (waiting / rate if rate else 0.0) + task_seconds)
        # when the service is the bottleneck, finishing slower than tasks take: go by the pace so far
        left = sum(counts[k] for k in (Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING))
        if left:
            pace = (now - sent[0]).total_seconds() / len(finished)
            eta = max(eta, pace * left)
    failures = Counter(FailureReason.of(r.failure_reason) for r in rows if r.status == Status.FAILED)
    return BatchProgress(
        total=len(rows),
        queued=counts[Status.QUEUED],
        sending=counts[Status.SUBMITTING],
        running=counts[Status.RUNNING] + counts[Status.SAVING],
        succeeded=counts[Status.SUCCEEDED],
        failed=counts[Status.FAILED],
        unknown=counts[Status.UNKNOWN],
        cancelled=counts[Status.CANCELLED],
        spent=sum(r.cost for r in attempts),
        eta_seconds=eta,
        failures=dict(failures),
    )


# -- the service the page calls ------------------------------------------------------------------
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
        """One line a row: its newest attempt, with how many attempts it took, and the row's own
        columns from the table (SKU, name …) under their names."""
        attempts = self.store.batch_rows(batch_id)
        tries = Counter(r.batch_row for r in attempts)
        spent: Counter[int] = Counter()  # every attempt of a row was sent: a row's credits are all of them
        for attempt in attempts:
            spent[attempt.batch_row] += attempt.cost
        columns, cells = self._source(batch_id)
        lines = []
        for g in latest_attempts(attempts):
            line = {
                "row": g.batch_row,
                "status": g.status,
                "prompt": g.prompt,
                "reason": failure_words(g),
                "pid": g.pid or "",
                "thumbnail": (self.media.data_url(g.thumb_path) or "") if thumbnails else "",
                "attempts": tries[g.batch_row],
                "cost": spent[g.batch_row],
                "generation_id": g.id,
            }
            lines.append(_with_source(line, columns, cells.get(str(g.batch_row)) or {}))
        return pd.DataFrame(lines)

    def manifest(self, batch_id: int) -> pd.DataFrame:
        """The CSV in the zip: row, the row's own columns, file, pid, prompt, cost (every attempt's
        cost added up)."""
        attempts = self.store.batch_rows(batch_id)
        columns, cells = self._source(batch_id)
        cost: Counter[int] = Counter()
        for g in attempts:
            cost[g.batch_row] += g.cost
        lines = []
        for g in latest_attempts(attempts):
            has_file = g.status == Status.SUCCEEDED and self.media.exists(g.video_path)
            own = cells.get(str(g.batch_row)) or {}
            line = _with_source({"row": g.batch_row}, columns, own)
            line.update(
                {
                    "status": g.status,
                    "model": g.model,
                    "file": video_name(g, row_label(columns, own)) if has_file else "",
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

    def write_zip(self, batch_id: int, target: Path) -> Path:
        """Every finished video of the batch and manifest.csv, written to ``target`` (videos are
        stored, not compressed again: MP4 does not shrink)."""
        manifest = self.manifest(batch_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        rows = {g.batch_row: g for g in latest_attempts(self.store.batch_rows(batch_id))}
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for line in manifest.itertuples():
                if line.file:
                    with self.media.working_copy(rows[line.row].video_path) as kept:
                        archive.write(kept, line.file)
            archive.writestr("manifest.csv", manifest.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
        partial.replace(target)
        return target

    def export_zip(self, batch_id: int) -> str:
        """The zip written into the media store (``exports/batch-<id>.zip``, the bucket's when there
        is one: built on disk, a video at a time, then stored), for a link or a download."""
        relative = f"exports/batch-{batch_id}.zip"
        staged = self.media.staging(relative)
        self.write_zip(batch_id, staged)
        self.media.commit(relative, staged)
        return relative


def _moderated(generation: Generation) -> bool:
    return is_refusal(generation.failure_reason)


RESULT_COLUMNS = frozenset(
    {"row", "status", "prompt", "reason", "pid", "thumbnail", "attempts", "cost", "generation_id", "model",
     "file", "aspect_ratio", "duration", "size", "failure_reason"}
)  # fmt: skip


def source_name(column: str) -> str:
    """A table column's name in the results and the manifest (“status (table)” if it clashes)."""
    return f"{column} (table)" if column in RESULT_COLUMNS else column


def _with_source(line: dict[str, Any], columns: Sequence[str], cells: dict[str, str]) -> dict[str, Any]:
    return {**line, **{source_name(c): cells.get(c, "") for c in columns}}


def row_label(columns: Sequence[str], cells: dict[str, str]) -> str:
    """What names a row in a file name: its id-like and name-like cells (“SKU-123 Red sneaker”)."""
    return " ".join(cells.get(c, "") for c in label_columns(columns) if cells.get(c))


def video_name(generation: Generation, label: str = "") -> str:
    """The file's name in the zip: videos/row-0007-sku-123-red-sneaker.mp4 (its row's own cells,
    else the prompt's first words; images/….png for an image)."""
    text = unicodedata.normalize("NFKC", label or generation.prompt).lower()
    words = re.sub(r"[\W_]+", "-", text).strip("-")[:40].rstrip("-")
    if generation.makes == "image":
        return f"images/row-{generation.batch_row:04d}-{words or 'image'}.png"
    return f"videos/row-{generation.batch_row:04d}-{words or 'video'}.mp4"


def failure_words(generation: Generation) -> str:
    if generation.status == Status.FAILED:
        reason = FailureReason.of(generation.failure_reason).short
        return f"{reason}: {generation.error}" if generation.error else reason
    if generation.status == Status.UNKNOWN:
        return generation.error or "Not known whether the service received it; not sent again."
    return ""
