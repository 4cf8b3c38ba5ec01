"""What a reader hands to the audit core: raw rows in Arrow batches, and rows it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class BadRow:
    """An input record the reader could not turn into an encounter row (it is still output)."""

    source: str
    row: int
    """Record number in the file (1 = first data row); for line-level input, the line number."""
    reason: str
    id: str | None = None
    line: int | None = None
    """Line of the file, when known, counted as the readers count records: the header is line 1
    (after any blank lines before it, for SNDS lines); blank lines between records and line breaks
    inside quoted cells are not counted."""


@dataclass
class RawBatch:
    """Up to ``chunk_rows`` encounter rows, columns named as in ``columns.INPUT_COLUMNS``.

    Columns may be text (CSV: everything is text, ``done`` / ``claimed`` are ``;``-separated)
    or typed (Parquet / JSONL: dates, booleans, numbers, lists of strings).  Two optional
    internal columns: ``_notes`` (reader remarks per row) and ``_lines`` (``;``-separated input
    line numbers an encounter was built from, line-level input only).
    """

    source: str
    first_row: int
    """Record number of the batch's first row in the source (1-based)."""
    table: pa.Table
    rows: pa.Array | None = None
    """Record number of each row, when rows are not consecutive from ``first_row``."""
    bad: list[BadRow] = field(default_factory=list)
    """Records of this stretch of the input that could not be read at all."""
    unknown_columns: tuple[str, ...] = ()
    errors: pa.Array | None = None
    """Per row, what the reader found wrong (e.g. bytes that are not UTF-8), or null."""
