"""Reading the table a person gives: an uploaded file in whatever encoding it was saved, or rows
pasted from a spreadsheet, as text columns with tidy names."""

from __future__ import annotations

import codecs
import csv
import io
import re

import charset_normalizer
import pandas as pd

MAX_ROWS = 5000


class BatchInputError(ValueError):
    """The table or the template cannot be used at all (not a single row's problem)."""


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
