"""Planning: fill a prompt template from each row's columns and check every row the way a single
request of its model is checked; a row that will not do is listed with the reason and never sent."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from grsai_api import (
    MODELS,
    FieldSpec,
    InvalidRequestError,
    ModelSpec,
    check_timestamps,
    default_model,
    image_request,
    video_request,
)
from grsai_api._validation import check_field, refuse_nul

from ..characters import CharacterNames, check_mentions
from ..costs import price
from ..library import choice_words
from .decode import BatchInputError

CLIP_WITH_SPAN = re.compile(
    r"^(?P<url>\S+?)(?:\s+(?P<start>\d+(?:\.\d+)?)\s*[-–]\s*(?P<end>\d+(?:\.\d+)?))?$"
)


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


def template_fits(template: str, columns: Sequence[str]) -> bool:
    """Whether every ``{column}`` of the template is one of ``columns`` (a malformed one does not)."""
    try:
        return set(template_fields(template)) <= set(columns)
    except BatchInputError:
        return False


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
                    "size": choice_words(  # "Small", as the form and the cards say it
                        r.params.get("size") or r.params.get("resolution") or r.params.get("image_size") or ""
                    ),
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
