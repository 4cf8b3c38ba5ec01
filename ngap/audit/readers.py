"""Streaming readers of encounter tables: CSV, JSONL and Parquet, in chunks, never whole.

Every record of the file comes out, either as a row of a ``RawBatch`` or as a ``BadRow`` with
its record number and the reason (a CSV line with the wrong number of fields, a JSONL line that
is not a JSON object).  Blank lines are no records.  Cells that are not valid UTF-8 keep their
row: the row is reported as bad input naming the column (in CSV, such bytes are read as U+FFFD,
so a cell holding U+FFFD itself is reported the same way).  An encounter column present twice
(CSV header, Parquet schema) makes every row bad input.  Line-level SNDS claims have their own
reader (``dcir``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ngap.audit.batches import BadRow, RawBatch
from ngap.audit.cells import missing_value
from ngap.audit.columns import INPUT_COLUMNS
from ngap.io import InputError

DEFAULT_CHUNK = 20_000
"""Rows per chunk: the unit of output and of resumption; small enough that a chunk's transient
memory stays a few tens of MB."""
BLOCK_BYTES = 1 << 22
"""Bytes of CSV parsed at a time (the parser reads one block ahead of the batches it hands out)."""
FORMATS = ("csv", "jsonl", "parquet", "dcir")


MAX_LINE_BYTES = 1 << 20
"""A JSONL line or a CSV record (an encounter) longer than this is bad input, read no further
(memory bound; a CSV record must also fit in one parser block, see ``_Utf8Stream``)."""
MAX_DEPTH = 6
"""Nesting of JSON objects in one encounter record (``patient.age.years`` is 3)."""
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

SOURCE_LINES = "_source_lines"
"""Internal column: the physical line(s) of each CSV record (``source_lines`` of the output)."""
RESERVED = ("_lines", SOURCE_LINES)
"""Internal columns of the readers (the audit takes ``_lines`` for the SNDS lines a row was
built from): an encounter table's column so named is renamed, never read as one of them."""
NOTES = "_notes"
"""Remarks of the reader on each row (``notes`` of the output); a file may hold them too."""
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
"""The white space trimmed around a cell before it is compared with a null sentinel: what
``pyarrow.compute.utf8_trim_whitespace`` trims (Python's ``str.isspace``, none above U+3000).
Named so that the SNDS reader, which compares in DuckDB, trims exactly the same."""


def _check_file(path: Path) -> None:
    """A whole-file problem, named once (exit 2): no such file, a directory, UTF-16 text."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an input file")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(UTF16_BOMS) or (len(head) > 1 and head.count(b"\0") * 4 > len(head)):
        raise InputError(f"{path}: line 1: the file is UTF-16 (or binary) text; save it as UTF-8")


def parquet_file(path: Path) -> pq.ParquetFile:
    """The Parquet file, or InputError naming it (empty, truncated, not Parquet)."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error})") from error


def detect_format(path: Path) -> str:
    """csv / jsonl / parquet from the suffix; a CSV whose header is SNDS ER_PRS_F is ``dcir``."""
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        names = parquet_file(path).schema_arrow.names
        return "dcir" if "PRS_NAT_REF" in names else "parquet"
    if suffix in (".csv", ".txt", ".tsv"):
        return "dcir" if "PRS_NAT_REF" in _header(path) else "csv"
    raise InputError(f"{path}: unknown file type {suffix!r}; expected .csv, .jsonl or .parquet")


def read(
    path: Path,
    chunk_rows: int = DEFAULT_CHUNK,
    fmt: str | None = None,
    today: dt.date | None = None,
    nulls: tuple[str, ...] = (),
) -> Iterator[RawBatch]:
    """The batches of one input file, whatever its format.

    ``nulls``: the cell texts that mean unknown, besides the empty cell (``--null NA,NULL``);
    by default none, so that an id ``NA`` stays ``NA`` and ``km nan`` is reported, not read as 0.
    """
    _check_file(path)
    fmt = fmt or detect_format(path)
    if fmt == "csv":
        return _with_nulls(read_csv(path, chunk_rows), nulls)
    if fmt == "jsonl":
        return _with_nulls(read_jsonl(path, chunk_rows), nulls)
    if fmt == "parquet":
        return _with_nulls(read_parquet(path, chunk_rows), nulls)
    if fmt == "dcir":
        from ngap.audit.dcir import iter_dcir

        return iter_dcir(path, chunk_rows=chunk_rows, today=today, nulls=nulls)
    raise InputError(f"{path}: unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _with_nulls(batches: Iterator[RawBatch], nulls: tuple[str, ...]) -> Iterator[RawBatch]:
    """Text cells equal to a declared null sentinel become empty (unknown)."""
    if not nulls:
        yield from batches
        return
    for batch in batches:
        batch.table = blank_nulls(batch.table, nulls)
        yield batch


def blank_nulls(table: pa.Table, nulls: tuple[str, ...]) -> pa.Table:
    """The table with every text cell that is a declared null sentinel (after trimming white
    space) made empty; the readers' internal columns (``_...``) are left as they are.

    Why one function: the local readers and the Spark engine, which reads Parquet itself, must
    read the same cell as unknown.
    """
    if not nulls:
        return table
    sentinels = pa.array(sorted(set(nulls)), pa.string())
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if text and not name.startswith("_"):
            hit = pc.is_in(pc.utf8_trim_whitespace(column), value_set=sentinels.cast(column.type))
            table = table.set_column(
                index, name, pc.if_else(hit, pa.scalar(None, column.type), column)
            )
    return table


def unknown_columns(names: list[str]) -> tuple[str, ...]:
    return tuple(n for n in names if n not in INPUT_COLUMNS and not n.startswith("_"))


# ---------------------------------------------------------------------------------- CSV
def _header(path: Path) -> str:
    """The first line that is not blank (CSV parsers skip blank lines before the header)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(iter(lambda: handle.readline(1 << 20), b"")):
            line = raw.decode("utf-8", errors="replace")
            line = line.removeprefix("\ufeff") if number == 0 else line
            if line.strip("\r\n"):
                return line
    return ""


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


class _Records:
    """Where CSV records end, as the Arrow parser finds them: a quote opens a quoted part only at
    the start of a field, ``""`` inside it is a quote, a quote ends it; outside quotes ``\\r``,
    ``\\n`` and ``\\r\\n`` end the record.  ``complete`` is one regular expression (fast);
    ``scan`` follows the same rules step by step, from any state, for the rare record that is
    too long or still open at the end of the file."""

    FIELD_START, IN_FIELD, IN_QUOTES, QUOTE_IN_QUOTES = range(4)

    def __init__(self, delimiter: bytes) -> None:
        d = re.escape(delimiter)
        quoted = rb'"[^"]*+(?:""[^"]*+)*+"[^' + d + rb"\r\n]*+"
        plain = rb'[^"' + d + rb"\r\n][^" + d + rb"\r\n]*+"
        field = rb"(?:" + quoted + rb"|" + plain + rb")?+"
        self._records = re.compile(rb"(?:" + field + rb"(?:" + d + field + rb")*+(?:\r\n|\n|\r))*+")
        self._field_end = re.compile(rb"[" + d + rb"\r\n]")
        self._delimiter = delimiter

    def complete(self, data: bytes) -> int:
        """The end of the last whole record of ``data`` (which starts a record)."""
        if b'"' not in data:
            return max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        found = self._records.match(data)  # always matches, at worst nothing
        return found.end() if found else 0

    def scan(self, data: bytes, state: int, at: int = 0) -> tuple[int | None, int, int]:
        """From ``at`` in ``state``: (end of the record, start of its line break) when it ends
        in ``data``, else (None, state at the end of ``data``, 0)."""
        size = len(data)
        while at < size:
            if state in (self.FIELD_START, self.QUOTE_IN_QUOTES):
                # At a field's start a quote opens; after a quote inside quotes, another one is
                # a quote; anything else is plain text.
                state = self.IN_QUOTES if data[at : at + 1] == b'"' else self.IN_FIELD
                at += state == self.IN_QUOTES
            elif state == self.IN_QUOTES:
                quote = data.find(b'"', at)
                if quote < 0:
                    return None, state, 0
                at, state = quote + 1, self.QUOTE_IN_QUOTES
            else:
                found = self._field_end.search(data, at)
                if found is None:
                    return None, state, 0
                at = found.end()
                if found.group() == self._delimiter:
                    state = self.FIELD_START
                    continue
                end = at + (found.group() == b"\r" and data[at : at + 1] == b"\n")
                return end, state, found.start()
        return None, state, 0

    def state_after(self, data: bytes) -> int:
        """The state at the end of ``data``, which starts a record."""
        at, state = 0, self.FIELD_START
        while True:
            end, state, _ = self.scan(data, state, at)
            if end is None:
                return state
            at, state = end, self.FIELD_START


OVERLONG = "\x00ngap:overlong:"
"""Text of the record that stands in for a CSV record too long to read (with its index)."""


class _Utf8Stream(io.RawIOBase):
    """A file's bytes as valid UTF-8: what is not UTF-8 becomes U+FFFD; a final line break.

    The CSV parser decodes the text of a row of the wrong width strictly and fails on the whole
    file when that row is not UTF-8, and it cannot read a header that does not end its line:
    both are avoided here, and ``_decode`` reports the cells that hold U+FFFD.

    The parser also fails on the whole file (an error that can hang the process at exit) when
    a record does not fit in its block: one huge cell, or a quote left open over megabytes.
    Each record is therefore held here until its end; one longer than ``MAX_LINE_BYTES`` (or
    the block) is dropped and a short record of the wrong width, ``OVERLONG`` and its index,
    stands in for it (``overlong`` keeps the line breaks it held, so that the lines after it
    keep their numbers).  A quote still open at the end of the file is closed before the file's
    last line break, which is then no line of its own.
    """

    def __init__(self, path: Path, delimiter: str = ",", width: int = 1) -> None:
        self._handle = path.open("rb")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._records = _Records(delimiter.encode())
        self._stand_in = delimiter.encode() * max(width, 1) + b"\n"
        self.limit = min(MAX_LINE_BYTES, BLOCK_BYTES)
        self._pending = b""
        self._held = b""
        """The record being read, handed over once whole."""
        self._skipping: int | None = None
        """The lexer state inside an overlong record being dropped."""
        self._breaks = 0
        self._started = False
        self._content = False
        self._last = b""
        self._done = False
        self.overlong: list[int] = []
        """Line breaks inside each overlong record, by index."""
        self.header_overlong = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._done and len(self._pending) < len(buffer):
            raw = self._handle.read(self.limit)
            text = self._decoder.decode(raw, final=not raw).encode("utf-8")
            if not self._started and (text or not raw):
                self._started = True
                if text.startswith(codecs.BOM_UTF8):  # the parser skips it: no field of ours
                    self._pending += codecs.BOM_UTF8
                    text = text[len(codecs.BOM_UTF8) :]
            self._last = text[-1:] or self._last
            for start in range(0, len(text), self.limit):  # U+FFFD is 3 bytes for 1
                self._feed(text[start : start + self.limit])
            if not raw:
                self._done = True
                self._finish()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, piece: bytes) -> None:
        """Take in at most ``limit`` bytes.  The record held so far ends in this piece or
        goes on; any record after it lies inside the piece, so no longer than ``limit``."""
        if self._skipping is not None:
            end, state, brk = self._records.scan(piece, self._skipping)
            if end is None:
                self._breaks += piece.count(b"\n")
                self._skipping = state
                return
            self._breaks += piece.count(b"\n", 0, brk)
            self._stand_for()
            piece = piece[end:]
        elif self._held:
            data = self._held + piece
            end, _, brk = self._records.scan(data, _Records.FIELD_START)
            if end is None:
                self._hold(data)
                return
            if end > self.limit:
                self._breaks = data.count(b"\n", 0, brk)
                self._stand_for()
            else:
                self._emit(data[:end])
            piece = data[end:]
        end = self._records.complete(piece)
        self._emit(piece[:end])
        self._hold(piece[end:])

    def _hold(self, data: bytes) -> None:
        """Keep the start of a record; past ``limit`` bytes, drop it until its end."""
        if len(data) <= self.limit:
            self._held = data
            return
        self._skipping = self._records.state_after(data)
        self._breaks = data.count(b"\n")
        self._held = b""

    def _emit(self, data: bytes) -> None:
        self._pending += data
        self._content = self._content or bool(data.strip(b"\r\n"))

    def _stand_for(self) -> None:
        """Hand over the stand-in of the overlong record just dropped."""
        if not self._content:
            self.header_overlong = True
        self._emit(f"{OVERLONG}{len(self.overlong)}".encode() + self._stand_in)
        self.overlong.append(self._breaks)
        self._skipping = None
        self._breaks = 0

    def _finish(self) -> None:
        if self._skipping is not None:  # a quote left open over the end of the file
            # The file's last line break is inside it: no line of its own.
            self._breaks -= self._last == b"\n"
            self._stand_for()
            return
        tail, self._held = self._held, b""
        if not tail:
            return
        if self._records.state_after(tail) == _Records.IN_QUOTES:
            # The file's last line break is inside the open quote: no line of its own.
            tail = tail.removesuffix(b"\n").removesuffix(b"\r") + b'"'
        self._emit(tail if tail.endswith((b"\n", b"\r")) else tail + b"\n")

    def close(self) -> None:
        self._handle.close()
        super().close()


def _unique(names: list[str]) -> tuple[list[str], str | None]:
    """Names made unique (a repeat becomes ``name (column N)``) and, if an encounter column is
    repeated, the reason every row is bad input: which of the two to audit cannot be told.

    A column named like an internal column of the readers (``RESERVED``) is renamed the same
    way: a file cannot supply the line numbers of its own rows.
    """
    seen: set[str] = set()
    out: list[str] = []
    repeated: list[str] = []
    for position, name in enumerate(names, start=1):
        if name in RESERVED:
            name = f"{name} (column {position})"
        elif name in seen:
            if (name in INPUT_COLUMNS or name.startswith("_")) and name not in repeated:
                repeated.append(name)
            name = f"{name} (column {position})"
        seen.add(name)
        out.append(name)
    if not repeated:
        return out, None
    return out, "; ".join(f"{name}: the file has this column more than once" for name in repeated)


def read_csv(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """CSV with a header line; delimiter sniffed (, ; tab |); every column read as text.

    Blank lines are no records.  Record ``n`` is the ``n``-th record after the header, a row of
    the wrong width included (the parser numbers them so); the parser reports those up to a
    block ahead of the rows it hands out, so good rows take the numbers the bad ones left free.
    """
    header = _header(path)
    if not header:
        return
    delimiter = _delimiter(header.rstrip("\r\n"))
    source = str(path)
    skipped: list[BadRow] = []

    spans: dict[int, int] = {}
    """Line breaks inside the text of each skipped record (by record number)."""

    def on_invalid(row: Any) -> str:
        line = row.number
        record = (line - 1) if line else -1
        text = row.text or ""
        spans[record] = text.count("\n")
        reason = f"{row.actual_columns} fields where the header has {row.expected_columns}"
        found = text.split(delimiter, 1)[0].strip('"') or None
        index = text.removeprefix(OVERLONG).rstrip(delimiter)
        if text.startswith(OVERLONG) and index.isdigit() and int(index) < len(stream.overlong):
            spans[record] = stream.overlong[int(index)]
            reason = f"a record of more than {stream.limit:,} bytes, not read"
            found = None
        skipped.append(BadRow(source, row=record, reason=reason, id=found, line=line))
        return "skip"

    options = pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False)

    def parse(handler: Any) -> pacsv.ParseOptions:
        # A quoted cell may hold a line break: without this, a block boundary inside it splits
        # the record in two (or stops the parser).
        return pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
        )

    # The header as the parser reads it (quotes and all).
    with _Utf8Stream(path, delimiter) as probe:
        parsed = pacsv.open_csv(probe, read_options=options, parse_options=parse(_skip))
        parsed_names = parsed.schema.names
        if probe.header_overlong:
            raise InputError(
                f"{path}: line 1: the header is longer than {MAX_LINE_BYTES:,} bytes "
                "(a quote left open?); it cannot be read"
            )
    names, repeated = _unique([n.strip() for n in parsed_names])
    stream = _Utf8Stream(path, delimiter, len(parsed_names))
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=options,
            parse_options=parse(on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in parsed_names},
                # Only the empty cell is empty: "NA", "NULL", "nan"... are text unless declared
                # (--null), never silently unknown (Arrow's default list would make them so).
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except BaseException:
        stream.close()
        raise
    unknown = unknown_columns(names)
    physical = _PhysicalLines()
    cursor = 1
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush(last: bool) -> RawBatch:
        nonlocal cursor, pending, pending_rows
        table = pa.Table.from_batches(pending, schema=reader.schema).rename_columns(names)
        # The first free numbers from the cursor on: a bad record's number is taken.
        free = np.arange(cursor, cursor + table.num_rows + len(skipped), dtype=np.int64)
        numbers = free[~np.isin(free, [b.row for b in skipped])][: table.num_rows]
        cursor = int(numbers[-1]) + 1 if len(numbers) else cursor
        bad = [b for b in skipped if last or b.row < cursor]
        skipped[:] = [b for b in skipped if not (last or b.row < cursor)]
        out = _decode(table, source, numbers, repeated)
        out.bad = physical.place(table, numbers, bad, spans, out)
        out.unknown_columns = unknown
        pending, pending_rows = [], 0
        return out

    with stream:
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= chunk_rows:
                yield from _split(flush(last=False), chunk_rows)
        if pending or skipped:
            yield from _split(flush(last=True), chunk_rows)




class _PhysicalLines:
    """Physical line numbers of CSV records, line breaks inside quoted cells counted.

    A quote left open swallows every line up to the next quote: the parser then sees one record
    (of the right width or not) where the file has many lines.  Such a record is bad input
    naming the physical lines it covers, so that no line disappears unseen.  Blank lines are no
    records and are not counted (the header is line 1).
    """

    def __init__(self) -> None:
        self.extra = 0
        """Line breaks inside the records read so far."""

    def place(
        self,
        table: pa.Table,
        numbers: np.ndarray,
        bad: list[BadRow],
        spans: dict[int, int],
        out: RawBatch,
    ) -> list[BadRow]:
        """Give the bad records of a flush their physical lines; report good rows whose
        encounter cells hold a line break (the row stays, as bad input)."""
        breaks = np.zeros(table.num_rows, dtype=np.int64)
        broken: dict[int, list[str]] = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            counts = pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy(
                zero_copy_only=False
            )
            breaks += counts.astype(np.int64)
            if name in INPUT_COLUMNS:
                for i in np.flatnonzero(counts).tolist():
                    broken.setdefault(i, []).append(name)
        events = sorted(
            [(int(n), int(b), i, None) for i, (n, b) in enumerate(zip(numbers, breaks,
                                                                          strict=True))]
            + [(b.row, spans.pop(b.row, 0), -1, b) for b in bad],
            key=lambda e: e[0],
        )
        placed: list[BadRow] = []
        errors = out.errors.to_pylist() if out.errors is not None else [None] * table.num_rows
        lines: list[str | None] = [None] * table.num_rows
        for record, count, index, row in events:
            first = 1 + record + self.extra
            where = f"line {first}" if count == 0 else f"lines {first}-{first + count}"
            self.extra += count
            if row is None:
                lines[index] = ";".join(str(n) for n in range(first, first + count + 1))
            if row is not None:
                placed.append(
                    BadRow(row.source, row.row, f"{where}: {row.reason}"
                           + ("; a quote left open swallows the lines after it" if count else ""),
                           row.id, first)
                )
            elif index in broken:
                message = (
                    f"{where}: {', '.join(broken[index])} holds a line break: a quote left open "
                    "swallows the lines after it"
                )
                errors[index] = message if errors[index] is None else f"{errors[index]}; {message}"
        if broken:
            out.errors = pa.array(errors, pa.string())
        out.table = out.table.append_column(SOURCE_LINES, pa.array(lines, pa.string()))
        return placed


def _skip(row: Any) -> str:
    return "skip"


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


def _decode(
    table: pa.Table, source: str, numbers: np.ndarray, problem: str | None = None
) -> RawBatch:
    """A cell holding U+FFFD (bytes that were not UTF-8) makes its row bad input; so does a
    ``problem`` of the whole file."""
    errors: list[str | None] = [problem] * table.num_rows
    for name, column in zip(table.column_names, table.columns, strict=True):
        found = pc.fill_null(pc.match_substring(column, "\ufffd"), False)
        for i in np.flatnonzero(found.to_numpy(zero_copy_only=False)).tolist():
            msg = f"{name}: bytes that are not UTF-8; save the file as UTF-8"
            errors[i] = msg if errors[i] is None else f"{errors[i]}; {msg}"
    return RawBatch(
        source,
        int(numbers[0]) if len(numbers) else 1,
        table,
        pa.array(numbers, pa.int64()),
        errors=pa.array(errors, pa.string()) if any(errors) else None,
    )


# ---------------------------------------------------------------------------------- JSONL
class _RecordError(ValueError):
    """A JSON record that is no encounter row (duplicate key, nesting too deep)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _RecordError(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _flatten(record: dict[str, Any], prefix: str = "", depth: int = 1) -> dict[str, Any]:
    """Nested encounter objects ({"patient": {"age": {"years": 3}}}) to flat columns."""
    if depth > MAX_DEPTH:
        raise _RecordError(f"objects nested more than {MAX_DEPTH} deep")
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in INPUT_COLUMNS:
            flat.update(_flatten(value, f"{name}_", depth + 1))
        else:
            flat[name] = value
    return flat


def _type_problems(flat: dict[str, Any]) -> str:
    """What is wrong with the JSON types of the encounter columns ('' when nothing)."""
    problems: list[str] = []
    for name, value in flat.items():
        column = INPUT_COLUMNS.get(name)
        if column is None or value is None:
            continue
        if column.kind == "codes":
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(item, str) for item in items):
                problems.append(f"{name}: a list of texts (codes) is expected")
        elif isinstance(value, dict):
            problems.append(f"{name}: an object where one value is expected")
        elif isinstance(value, list):
            problems.append(f"{name}: a list where one value is expected")
    return "; ".join(problems)


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


def _parse_line(
    raw: bytes, decoder: codecs.IncrementalDecoder
) -> tuple[dict[str, Any] | None, str]:
    """The flat row of one JSONL line, or (None, why it is no encounter row).

    A row whose columns have the wrong JSON type keeps its row: ``(flat, problem)``.
    """
    try:
        text = decoder.decode(raw, final=True)
        data = json.loads(text, object_pairs_hook=_no_duplicates)
        if "\\u" in text:  # an escaped half of a surrogate pair is no character
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        if not isinstance(data, dict):
            return None, f"a JSON object is expected, not {type(data).__name__}"
        flat = _flatten(data)
        return flat, _type_problems(flat)
    except UnicodeDecodeError as error:
        decoder.reset()
        return None, f"not UTF-8 ({error.reason})"
    except UnicodeEncodeError as error:
        return None, f"a \\u escape that is no character ({error.reason})"
    except json.JSONDecodeError as error:
        return None, f"not JSON ({error.msg}, column {error.colno})"
    except _RecordError as error:
        return None, str(error)
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        return None, f"not a usable JSON value ({str(error).split(';')[0]})"


def read_jsonl(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """One JSON object per line, flat columns or nested encounter objects."""
    source = str(path)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    names: dict[str, None] = {}
    problems: list[str | None] = []
    record = 0
    with path.open("rb") as handle:
        for line_number, raw, whole in _lines(handle):
            if line_number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is no content
            if whole and not raw.strip():
                continue
            record += 1
            if whole:
                flat, problem = _parse_line(raw, decoder)
            else:
                flat, problem = None, f"longer than {MAX_LINE_BYTES} bytes, not read"
            if flat is None:
                bad.append(
                    BadRow(source, record, f"line {line_number}: {problem}", line=line_number)
                )
                continue
            names.update(dict.fromkeys(flat))
            rows.append(flat)
            numbers.append(record)
            problems.append(f"line {line_number}: {problem}" if problem else None)
            if len(rows) >= chunk_rows:
                yield _jsonl_batch(source, rows, numbers, bad, names, problems)
                rows, numbers, bad, problems = [], [], [], []
    if rows or bad:
        yield _jsonl_batch(source, rows, numbers, bad, names, problems)


def _lines(handle: Any) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, whole) of each line; a line longer than MAX_LINE_BYTES is skipped
    to its end without being held in memory (whole = False)."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            yield number, raw, True
            continue
        while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield number, b"", False


def _jsonl_batch(
    source: str,
    rows: list[dict[str, Any]],
    numbers: list[int],
    bad: list[BadRow],
    names: dict[str, None],
    problems: list[str | None],
) -> RawBatch:
    columns = {
        f"{name} (key)" if name in RESERVED else name: pa.array(
            [_cell(r[name]) if name in r else _absent(name) for r in rows], pa.string()
        )
        for name in names
    }
    if not columns:  # only empty objects so far: as many rows, every column missing
        columns = {NOTES: pa.nulls(len(rows), pa.string())}
    table = pa.table(columns)
    return RawBatch(
        source,
        numbers[0] if numbers else (bad[0].row if bad else 1),
        table,
        pa.array(numbers, pa.int64()),
        bad,
        unknown_columns(list(names)),
        errors=pa.array(problems, pa.string()) if any(problems) else None,
    )


# ---------------------------------------------------------------------------------- Parquet
def read_parquet(path: Path, chunk_rows: int = DEFAULT_CHUNK) -> Iterator[RawBatch]:
    """Row groups streamed in batches; typed columns are converted cell by cell as text.

    Struct columns (nested encounter objects) become flat columns, as nested JSONL objects do
    (``patient`` / ``age`` / ``years`` -> ``patient_age_years``).  Binary columns are read as
    UTF-8 text; a cell that is not UTF-8 makes its row bad input.
    """
    parquet = parquet_file(path)
    layout = ParquetLayout.of(parquet.schema_arrow)
    record = 1
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield layout.batch(str(path), record, pa.Table.from_batches([batch]))
            record += batch.num_rows
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: row {record} on: unreadable Parquet data ({error})") from error


@dataclass(frozen=True)
class ParquetLayout:
    """How the columns of a Parquet encounter table are read, decided once from its schema.

    Why a class of its own: the Spark engine reads Parquet itself, in parallel, and must turn
    the tables it gets into the very rows the local reader makes (columns named like the
    readers' internal ones renamed, structs flattened, unreadable columns left out, binary as
    text), or the two engines would give different verdicts for the same file.
    """

    names: tuple[str, ...]
    """The flat column names, made unique (``RESERVED`` names renamed)."""
    problem: str | None
    """Why every row is bad input (a repeated or unreadable encounter column), if so."""
    unknown: tuple[str, ...]
    """Columns outside the encounter layout (reported, ignored)."""

    @classmethod
    def of(cls, schema: pa.Schema) -> ParquetLayout:
        empty = _flat(schema.empty_table())
        names, repeated = _unique(empty.column_names)
        unreadable = [
            f"{name}: a column of type {kind} cannot be read (text, number, date, boolean or, "
            "for done / claimed, a list of texts)"
            for name, kind in zip(names, empty.schema.types, strict=True)
            if name in INPUT_COLUMNS and not _readable(kind)
        ]
        problem = "; ".join(p for p in (repeated, *unreadable) if p) or None
        return cls(tuple(names), problem, unknown_columns(names))

    def batch(
        self, source: str, first_row: int, table: pa.Table, rows: pa.Array | None = None
    ) -> RawBatch:
        """The rows of ``table`` (of this layout's schema) as the audit reads them.

        ``rows``: the record number of each row, when the rows are not consecutive from
        ``first_row`` (a Spark partition)."""
        table = _flat(table).rename_columns(list(self.names))
        # The audit reads encounter columns and the notes as text: one of a type that
        # cannot be (a map, a list of lists) is left out, and the notes with it.
        table = table.select(
            [i for i, (n, t) in enumerate(zip(self.names, table.schema.types, strict=True))
             if (n not in INPUT_COLUMNS and n != NOTES) or _readable(t)]
        )
        table, errors = _binary_as_text(table, self.problem)
        return RawBatch(source, first_row, table, rows, unknown_columns=self.unknown,
                        errors=errors)


def _readable(kind: pa.DataType) -> bool:
    """Types an encounter column may have: scalars, and lists of scalars (done, claimed)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _scalar(kind.value_type)
    if pa.types.is_dictionary(kind):
        return _scalar(kind.value_type)
    return _scalar(kind)


def _scalar(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind) or pa.types.is_integer(kind)
        or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)
        or pa.types.is_date(kind) or pa.types.is_timestamp(kind) or pa.types.is_time(kind)
    )


def _flat(table: pa.Table) -> pa.Table:
    """Struct columns replaced by their fields, named ``column_field`` (recursively)."""
    if not any(pa.types.is_struct(t) for t in table.schema.types):
        return table
    names: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_struct(column.type):
            fields = [column.type.field(i).name for i in range(column.type.num_fields)]
            inner = _flat(pa.table(column.flatten(), names=fields))
            names += [f"{name}_{field}" for field in inner.column_names]
            columns += inner.columns
        else:
            names.append(name)
            columns.append(column)
    return pa.table(columns, names=names)


def _binary_as_text(table: pa.Table, problem: str | None) -> tuple[pa.Table, pa.Array | None]:
    """Binary columns as text; per row, the cells that are not UTF-8 (and ``problem``)."""
    errors: list[str | None] = [problem] * table.num_rows
    # Columns replaced in place: a table whose every column was left out keeps its rows.
    for index, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            try:
                column = column.cast(pa.string())
            except pa.ArrowInvalid:
                decoded = []
                for i, value in enumerate(column.to_pylist()):
                    try:
                        decoded.append(None if value is None else value.decode("utf-8"))
                    except UnicodeDecodeError as error:
                        decoded.append(value.decode("utf-8", errors="replace"))
                        msg = f"{name}: bytes that are not UTF-8 ({error.reason})"
                        errors[i] = msg if errors[i] is None else f"{errors[i]}; {msg}"
                column = pa.chunked_array([pa.array(decoded, pa.string())])
            table = table.set_column(index, name, column)
    return table, pa.array(errors, pa.string()) if any(errors) else None
