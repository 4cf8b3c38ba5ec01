"""Streaming readers of encounter tables: CSV, JSONL and Parquet, in chunks, never whole.

Every record of the file comes out, either as a row of a ``RawBatch`` or as a ``BadRow`` with
its record number and the reason (a CSV line with the wrong number of fields, a JSONL line that
is not a JSON object).  Cells that are not valid UTF-8 keep their row: the row is reported as
bad input naming the column.  Line-level SNDS claims have their own reader (``dcir``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ngap.audit.batches import BadRow, RawBatch
from ngap.audit.cells import missing_value
from ngap.audit.columns import INPUT_COLUMNS
from ngap.io import InputError

DEFAULT_CHUNK = 50_000
FORMATS = ("csv", "jsonl", "parquet", "dcir")


def detect_format(path: Path) -> str:
    """csv / jsonl / parquet from the suffix; a CSV whose header is SNDS ER_PRS_F is ``dcir``."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        names = pq.ParquetFile(path).schema_arrow.names
        return "dcir" if "PRS_NAT_REF" in names else "parquet"
    if suffix in (".csv", ".txt", ".tsv"):
        return "dcir" if "PRS_NAT_REF" in _header(path) else "csv"
    raise InputError(f"{path}: unknown file type {suffix!r}; expected .csv, .jsonl or .parquet")


def read(
    path: Path,
    chunk_rows: int = DEFAULT_CHUNK,
    fmt: str | None = None,
    today: dt.date | None = None,
) -> Iterator[RawBatch]:
    """The batches of one input file, whatever its format."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = fmt or detect_format(path)
    if fmt == "csv":
        return read_csv(path, chunk_rows)
    if fmt == "jsonl":
        return read_jsonl(path, chunk_rows)
    if fmt == "parquet":
        return read_parquet(path, chunk_rows)
    if fmt == "dcir":
        from ngap.audit.dcir import iter_dcir

        return iter_dcir(path, chunk_rows=chunk_rows, today=today)
    raise InputError(f"{path}: unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")


def unknown_columns(names: list[str]) -> tuple[str, ...]:
    return tuple(n for n in names if n not in INPUT_COLUMNS and not n.startswith("_"))


# ---------------------------------------------------------------------------------- CSV
def _header(path: Path) -> str:
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    return first.decode("utf-8-sig", errors="replace")


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """CSV with a header line; delimiter sniffed (, ; tab |); every column read as text."""
    header = _header(path).rstrip("\r\n")
    if not header.strip():
        return
    delimiter = _delimiter(header)
    names = [n.strip().strip('"') for n in header.split(delimiter)]
    source = str(path)
    skipped: list[BadRow] = []

    def on_invalid(row: Any) -> str:
        line = row.number
        skipped.append(
            BadRow(
                source,
                row=(line - 1) if line else -1,
                reason=f"line {line}: {row.actual_columns} fields where the header has "
                f"{row.expected_columns}",
                id=(row.text or "").split(delimiter, 1)[0].strip('"') or None,
                line=line,
            )
        )
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 22, use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    unknown = unknown_columns(names)
    record = 1
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush() -> RawBatch:
        nonlocal record, pending, pending_rows
        table = pa.Table.from_batches(pending)
        bad = [b for b in skipped]
        skipped.clear()
        count = table.num_rows + len(bad)
        taken = {b.row for b in bad}
        numbers = [r for r in range(record, record + count) if r not in taken]
        out = _decode(table, source, numbers)
        out.bad = bad
        out.unknown_columns = unknown
        record += count
        pending, pending_rows = [], 0
        return out

    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= chunk_rows:
            yield from _split(flush(), chunk_rows)
    if pending or skipped:
        if not pending:
            pending.append(pa.RecordBatch.from_pylist([], schema=reader.schema))
        yield from _split(flush(), chunk_rows)


def _split(batch: RawBatch, chunk_rows: int) -> Iterator[RawBatch]:
    """Chunks of at most ``chunk_rows`` (unreadable records go with the first)."""
    n = batch.table.num_rows
    if n <= chunk_rows:
        yield batch
        return
    assert batch.rows is not None
    for start in range(0, n, chunk_rows):
        yield RawBatch(
            batch.source,
            int(batch.rows[start].as_py()),
            batch.table.slice(start, chunk_rows),
            batch.rows.slice(start, chunk_rows),
            batch.bad if start == 0 else [],
            batch.unknown_columns,
            batch.errors.slice(start, chunk_rows) if batch.errors is not None else None,
        )


def _decode(table: pa.Table, source: str, numbers: list[int]) -> RawBatch:
    """Binary CSV cells to text; a cell that is not UTF-8 makes its row bad input."""
    columns = []
    errors: list[str | None] = [None] * table.num_rows
    for name in table.column_names:
        column = table.column(name)
        try:
            columns.append(column.cast(pa.string()))
        except (pa.ArrowInvalid, UnicodeDecodeError):
            values = column.to_pylist()
            decoded: list[str | None] = []
            for i, value in enumerate(values):
                if value is None:
                    decoded.append(None)
                    continue
                try:
                    decoded.append(value.decode("utf-8"))
                except UnicodeDecodeError as error:
                    decoded.append(value.decode("utf-8", errors="replace"))
                    msg = (
                        f"{name}: bytes that are not UTF-8 ({error.reason}); save the file as UTF-8"
                    )
                    errors[i] = msg if errors[i] is None else f"{errors[i]}; {msg}"
            columns.append(pa.chunked_array([pa.array(decoded, pa.string())]))
    first = numbers[0] if numbers else 1
    return RawBatch(
        source,
        first,
        pa.table(columns, names=table.column_names),
        pa.array(numbers, pa.int64()),
        errors=pa.array(errors, pa.string()) if any(errors) else None,
    )


# ---------------------------------------------------------------------------------- JSONL
def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested encounter objects ({"patient": {"age": {"years": 3}}}) to flat columns."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value) if value else ""
    return str(value)


def _absent(name: str) -> str | None:
    """A key left out of one JSON object takes the model default (``null`` is unknown)."""
    column = INPUT_COLUMNS.get(name)
    if column is None:
        return None
    value, error = missing_value(column)
    return None if error else _cell(value)


def read_jsonl(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """One JSON object per line, flat columns or nested encounter objects."""
    source = str(path)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    names: dict[str, None] = {}
    record = 0
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record += 1
            try:
                text = decoder.decode(raw, final=True)
                data = json.loads(text)
            except UnicodeDecodeError as error:
                bad.append(
                    BadRow(
                        source,
                        record,
                        f"line {line_number}: not UTF-8 ({error.reason})",
                        line=line_number,
                    )
                )
                decoder.reset()
                continue
            except json.JSONDecodeError as error:
                bad.append(
                    BadRow(
                        source,
                        record,
                        f"line {line_number}: not JSON ({error.msg}, column {error.colno})",
                        line=line_number,
                    )
                )
                continue
            if not isinstance(data, dict):
                bad.append(
                    BadRow(
                        source,
                        record,
                        f"line {line_number}: a JSON object is expected, not {type(data).__name__}",
                        line=line_number,
                    )
                )
                continue
            flat = _flatten(data)
            names.update(dict.fromkeys(flat))
            rows.append(flat)
            numbers.append(record)
            if len(rows) >= chunk_rows:
                yield _jsonl_batch(source, rows, numbers, bad, names)
                rows, numbers, bad = [], [], []
    if rows or bad:
        yield _jsonl_batch(source, rows, numbers, bad, names)


def _jsonl_batch(
    source: str,
    rows: list[dict[str, Any]],
    numbers: list[int],
    bad: list[BadRow],
    names: dict[str, None],
) -> RawBatch:
    columns = {
        name: pa.array([_cell(r[name]) if name in r else _absent(name) for r in rows], pa.string())
        for name in names
    }
    table = pa.table(columns) if columns else pa.table({"id": pa.array([], pa.string())})
    return RawBatch(
        source,
        numbers[0] if numbers else (bad[0].row if bad else 1),
        table,
        pa.array(numbers, pa.int64()),
        bad,
        unknown_columns(list(names)),
    )


# ---------------------------------------------------------------------------------- Parquet
def read_parquet(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """Row groups streamed in batches; typed columns are converted cell by cell as text."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"{path}: not a Parquet file ({error})") from error
    unknown = unknown_columns(parquet.schema_arrow.names)
    record = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        table = pa.Table.from_batches([batch])
        yield RawBatch(str(path), record, table, unknown_columns=unknown)
        record += table.num_rows
