"""Hostile encounter tables through the readers and the audit core: no crash, no record lost.

Whatever a CSV, JSONL or Parquet file holds (impossible dates, stray quotes, bytes that are not
UTF-8, rows of the wrong width, wrong JSON types), ``ngap audit`` must give one output row per
input record with a status, a reason for every bad row and a distinct record number, because a
claims audit that silently drops or duplicates rows cannot be trusted on its totals.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_readers import (
    DELIMITERS,
    ENCOUNTER_NAMES,
    HOSTILE_TEXT,
    NOT_UTF8,
    ODD_NAMES,
    VALID,
)
from ngap.audit import readers
from ngap.audit.core import Auditor
from ngap.io import InputError
from ngap.solver.engine import Nomenclature

STATUSES = {"valid", "conditional", "violation", "bad_input"}
TODAY = dt.date(2025, 6, 30)
FUZZ = settings(max_examples=100, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def auditor(nomenclature: Nomenclature) -> Auditor:
    return Auditor(nomenclature, today=TODAY)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def audit_all(auditor: Auditor, batches: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for batch in batches:
        out += auditor.audit(batch).to_pylist()
    return out


def check_output(rows: list[dict[str, Any]], records: int) -> None:
    """Rows in = rows out, each with a status, a reason when bad, numbered 1..records once."""
    assert len(rows) == records
    for row in rows:
        assert row["status"] in STATUSES, row
        if row["status"] == "bad_input":
            assert row["reason"], row
    assert sorted(r["row"] for r in rows) == list(range(1, records + 1))


# ---------------------------------------------------------------------------------- CSV
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)


def _cell(column: str) -> st.SearchStrategy[bytes]:
    valid = VALID.get(column, ("x",))
    return st.one_of(
        st.sampled_from(valid).map(str.encode),
        st.sampled_from(valid).map(str.encode),
        st.sampled_from(HOSTILE_TEXT).map(str.encode),
        _TEXT.map(str.encode),
        st.sampled_from(NOT_UTF8),
    )


def _field(cell: bytes, delimiter: bytes, quote_all: bool) -> bytes:
    """A CSV field: quoted when it must be (or always); an inner quote alone stays bare."""
    special = delimiter in cell or b"\r" in cell or b"\n" in cell or cell.startswith(b'"')
    if quote_all or special:
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


CsvFile = tuple[bytes, int, int, dict[int, str]]
"""File content, number of records, smallest parser block it needs, record number -> id."""


@st.composite
def csv_files(draw: st.DrawFn) -> CsvFile:
    """A hostile CSV file and what the reader must make of it."""
    if draw(st.integers(0, 15)) == 0:
        return draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\n", b"\r\n\r\n"])), 0, 0, {}
    names = draw(st.lists(st.sampled_from(ENCOUNTER_NAMES + ODD_NAMES), min_size=1, max_size=8))
    if draw(st.integers(0, 5)):  # now and then a column repeated in the header
        names = list(dict.fromkeys(names))
    # The reader sniffs the delimiter from the header: a one-column header reads as ','.
    delimiter = draw(st.sampled_from(DELIMITERS)).encode() if len(names) > 1 else b","
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    quote_all = draw(st.booleans())
    header_cells = [n.encode() for n in names]
    if draw(st.integers(0, 10)) == 0:
        header_cells[-1] += draw(st.sampled_from(NOT_UTF8))
    # One column named "" is written quoted: a blank line would be no header.
    lines = [delimiter.join(_field(c, delimiter, quote_all) for c in header_cells) or b'""']
    id_at = next((i for i, n in enumerate(header_cells) if n.strip() == b"id"), None)
    records = 0
    ids: dict[int, str] = {}
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 8)) == 0:
            lines.append(b"")  # a blank line: no record
            continue
        width = len(names) + draw(st.sampled_from([0, 0, 0, 0, 0, -1, 1, 2, -len(names) + 1]))
        cells = [
            draw(_cell(names[i] if i < len(names) else "extra")) for i in range(max(width, 1))
        ]
        if width == len(names) and id_at is not None and draw(st.booleans()):
            ids[records + 1] = f"R{records + 1}"  # a record the output must name by its number
            cells[id_at] = ids[records + 1].encode()
        line = delimiter.join(_field(c, delimiter, quote_all) for c in cells)
        lines.append(line)
        records += line != b""  # one empty cell alone is a blank line
    lead = b"".join(draw(st.lists(st.just(newline), max_size=2)))
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    end = newline if draw(st.booleans()) else b""
    # The smallest parser block that holds the header and any record, as the parser reads them
    # (bytes that are not UTF-8 become U+FFFD).
    pieces = [bom + lead + lines[0], *lines[1:]]
    block = max(len((p + newline).decode(errors="replace").encode()) for p in pieces)
    return bom + lead + newline.join(lines) + end, records, block, ids


LEADING_BLANK = b"\nid,date,claimed\nE1,2024-03-05,G\n"
HEADER_NOT_UTF8 = b"id,colour\xe9t\xe9\nE1,x\n"
SHORT_ROW_NOT_UTF8 = b"id,date\nE1\xff\nR2,2024-03-05\n"
SHORT_ROWS = b"id,claimed\n" + b"".join(
    b"R%d,G\n" % i if i % 3 else b"E%d\n" % i for i in range(1, 20)
)
LINE_BREAK_IN_CELL = b'id,date,call_time\nR1,2024-03-05,"line\nbreak"\nR2,2024-03-05,\n'
REPEATED_COLUMN = b"id,claimed,date,claimed\nE1,G,2024-03-05,MN\n"
SPACED_ID = b" id ,date\n" + b"".join(b"%d,2024-03-05\n" % i for i in range(9)) + b"R10,y\n"


@FUZZ
@example(content=(LEADING_BLANK, 1, 0, {}), chunk_rows=2, block=0)
@example(content=(HEADER_NOT_UTF8, 1, 0, {}), chunk_rows=2, block=0)
@example(content=(b"id", 0, 0, {}), chunk_rows=1, block=0)
@example(content=(b"id\xc3", 0, 0, {}), chunk_rows=1, block=0)
@example(content=(SHORT_ROW_NOT_UTF8, 2, 0, {2: "R2"}), chunk_rows=5, block=0)
@example(
    content=(SHORT_ROWS, 19, 0, {i: f"R{i}" for i in range(1, 20) if i % 3}),
    chunk_rows=1,
    block=64,
)
@example(content=(LINE_BREAK_IN_CELL, 2, 0, {1: "R1", 2: "R2"}), chunk_rows=1, block=40)
@example(content=(REPEATED_COLUMN, 1, 0, {}), chunk_rows=1, block=0)
@example(content=(SPACED_ID, 10, 0, {10: "R10"}), chunk_rows=3, block=32)
@given(
    content=csv_files(),
    chunk_rows=st.integers(1, 6),
    block=st.sampled_from([0, 64, 200]),
)
def test_csv_every_record_out_once(
    auditor: Auditor, workdir: Path, content: CsvFile, chunk_rows: int, block: int
) -> None:
    """Every record of the file gives one output row, numbered as the record; no more.

    The rule checked: every row written after the header is one record, whatever its width or
    its bytes (a quoted cell may hold a line break); a blank line (nothing between two line
    breaks, blank lines before the header included) is none, as the CSV parser skips them.
    Small parser blocks (``block``; 0 = the reader's own 4 MB) exercise the numbering of records
    across blocks; a block must hold the header and any one record (a limit of the parser, far
    from real records at 4 MB).
    """
    data, records, least, ids = content
    path = workdir / "table.csv"
    path.write_bytes(data)
    block = max(block, least) if block else readers.BLOCK_BYTES
    with mock.patch.object(readers, "BLOCK_BYTES", block):
        rows = audit_all(auditor, readers.read(path, chunk_rows=chunk_rows, fmt="csv"))
    check_output(rows, records)
    for row in rows:
        assert ids.get(row["row"], row["id"]) == row["id"], row


# ---------------------------------------------------------------------------------- JSONL
_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _flat_value(column: str) -> st.SearchStrategy[Any]:
    valid = VALID.get(column, ("x",))
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from([None, 3, -1, 2.5, True, [], ["G", "MN"], [None], {"a": 1}, [1, [2]]]),
        _JSON_VALUE,
    )


@st.composite
def _flat_object(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(ENCOUNTER_NAMES + ODD_NAMES), max_size=8))
    return {name: draw(_flat_value(name)) for name in names}


_NESTED = st.fixed_dictionaries(
    {"id": st.sampled_from(["N1", "N2"]), "date": st.sampled_from(VALID["date"])},
    optional={
        "patient": st.fixed_dictionaries(
            {},
            optional={
                "age": st.fixed_dictionaries({}, optional={"years": _flat_value("x")}),
                "sex": st.sampled_from(["f", "m", "x", None]),
            },
        ),
        "circumstances": st.fixed_dictionaries({}, optional={"emergency": _flat_value("x")}),
        "claimed": st.sampled_from([["G"], ["G", "MN"], "G;MN", [], None, 3, {"a": 1}]),
        "done": st.sampled_from([["consultation"], "visit", 3, None, [None]]),
        "place": st.sampled_from(["office", 1, None, ["home"]]),
    },
)


def _json_line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def _spoilt(line: bytes, junk: bytes, at: int) -> bytes:
    """Bytes that are not UTF-8 put somewhere in a JSON line."""
    at %= len(line) + 1
    return line[:at] + junk + line[at:]


LONE_SURROGATE = b'{"id": "\\ud800", "date": "2024-03-05", "claimed": "G"}'
TOO_DEEP = b"[" * 5000 + b"]" * 5000
_JSONL_LINE = st.one_of(
    _flat_object().map(_json_line),
    _flat_object().map(_json_line),
    st.builds(_spoilt, _flat_object().map(_json_line), st.sampled_from(NOT_UTF8), st.integers()),
    _NESTED.map(_json_line),
    _JSON_VALUE.map(_json_line),  # arrays, scalars, objects of odd keys
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\r",
            b"{}",
            b"null",
            b"[]",
            b"{",
            b"{'id': 1}",
            b'{"id": "E1", "date": "2024-03-05",}',
            b'{"id": "\xe9", "claimed": "G"}',
            b"\xff\xfe{}",
            b'{"id": "E1", "done": 3, "claimed": {"a": 1}}',
            LONE_SURROGATE,
            b'{"\\udc80": 1}',
            b'{"id": NaN, "travel_km": Infinity}',
            b'{"id": 1e400}',
            b'{"id": "E1", "patient": {"age": {"years": {"deep": [1, {"x": null}]}}}}',
            TOO_DEEP,
            b'{"id": ' + b'{"a": ' * 900 + b"1" + b"}" * 901,
        ]
    ),
)


@FUZZ
@example(lines=[b"{}", b'{"id": "E1"}', b"{}"], newline=b"\n", chunk_rows=1)
@example(lines=[LONE_SURROGATE], newline=b"\n", chunk_rows=1)
@example(lines=[TOO_DEEP], newline=b"\n", chunk_rows=1)
@given(
    lines=st.lists(_JSONL_LINE, max_size=12),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    chunk_rows=st.integers(1, 6),
)
def test_jsonl_every_line_out_once(
    auditor: Auditor, workdir: Path, lines: list[bytes], newline: bytes, chunk_rows: int
) -> None:
    """Every line with something other than white space on it is one record, read or bad.

    Lines end at ``\\n`` only (a ``\\r`` before it is white space); a line of white space alone
    is no record.
    """
    path = workdir / "table.jsonl"
    path.write_bytes(newline.join(lines))
    records = sum(1 for line in lines if line.strip())
    rows = audit_all(auditor, readers.read(path, chunk_rows=chunk_rows, fmt="jsonl"))
    check_output(rows, records)


# ---------------------------------------------------------------------------------- Parquet
TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "list": pa.list_(pa.string()),
    "null": pa.null(),
    "binary": pa.binary(),
    "struct": pa.struct([("y", pa.int64()), ("m", pa.string())]),
}
PATIENT = pa.struct(
    [("age", pa.struct([("years", pa.int64()), ("months", pa.string())])), ("sex", pa.string())]
)
"""A nested encounter object, as a Parquet writer of nested records stores it."""


def _typed(kind: str, column: str) -> st.SearchStrategy[Any]:
    valid = VALID.get(column, ("x",))
    values: dict[str, st.SearchStrategy[Any]] = {
        "string": st.sampled_from(valid) | st.sampled_from(HOSTILE_TEXT) | _TEXT,
        "int": st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 130),
        "float": st.floats() | st.floats(-1, 200),
        "bool": st.booleans(),
        "date": st.dates() | st.dates(dt.date(2021, 6, 1), dt.date(2026, 1, 1)),
        "list": st.lists(st.sampled_from(valid) | _TEXT | st.none(), max_size=3),
        "null": st.none(),
        "binary": st.sampled_from(valid).map(str.encode) | st.sampled_from(NOT_UTF8),
        "struct": st.fixed_dictionaries(
            {"y": st.none() | st.integers(-(2**63), 2**63 - 1), "m": st.none() | _TEXT}
        ),
    }
    return st.none() | values[kind]


@st.composite
def parquet_tables(draw: st.DrawFn) -> pa.Table:
    names = draw(st.lists(st.sampled_from(ENCOUNTER_NAMES + ODD_NAMES), max_size=8))
    if draw(st.integers(0, 5)):  # now and then a column repeated
        names = list(dict.fromkeys(names))
    n = draw(st.integers(0, 12))
    columns: list[tuple[str, pa.Array]] = []
    for name in names:
        kind = draw(st.sampled_from(list(TYPES)))
        cells = [draw(_typed(kind, name)) for _ in range(n)]
        columns.append((name, pa.array(cells, TYPES[kind])))
    if draw(st.booleans()):
        age = st.fixed_dictionaries(
            {"years": st.none() | st.integers(-3, 200), "months": st.none() | _TEXT}
        )
        patient = st.none() | st.fixed_dictionaries(
            {"age": st.none() | age, "sex": st.sampled_from(["f", "m", "x"])}
        )
        columns.append(("patient", pa.array([draw(patient) for _ in range(n)], PATIENT)))
    if not columns:
        columns.append(("id", pa.array([f"E{i}" for i in range(n)], pa.string())))
    return pa.Table.from_arrays([c for _, c in columns], names=[name for name, _ in columns])


EMPTY_LIST_DATE = pa.table({"date": pa.array([[]], pa.list_(pa.string()))})
BINARY_NOT_UTF8 = pa.table({"id": pa.array([b"E1", b"\xff"]), "claimed": ["G", "G"]})
STRUCT_DATE = pa.table({"id": ["E1"], "date": pa.array([{"y": 2024}]), "claimed": ["G"]})
REPEATED = pa.Table.from_arrays([pa.array(["E1"]), pa.array(["E2"])], names=["id", "id"])
ONLY_UNREADABLE = pa.table({"id": pa.nulls(2)})  # every column left out: the rows stay


@FUZZ
@example(table=EMPTY_LIST_DATE, chunk_rows=1, group=1)
@example(table=BINARY_NOT_UTF8, chunk_rows=1, group=1)
@example(table=STRUCT_DATE, chunk_rows=1, group=1)
@example(table=REPEATED, chunk_rows=1, group=1)
@example(table=ONLY_UNREADABLE, chunk_rows=1, group=1)
@given(table=parquet_tables(), chunk_rows=st.integers(1, 6), group=st.integers(1, 5))
def test_parquet_every_row_out_once(
    auditor: Auditor, workdir: Path, table: pa.Table, chunk_rows: int, group: int
) -> None:
    """Typed columns of any type under encounter names (an int place, a list date, bytes that
    are not UTF-8, a struct date) and nested encounter objects: one output row per row."""
    path = workdir / "table.parquet"
    pq.write_table(table, path, row_group_size=group)
    rows = audit_all(auditor, readers.read(path, chunk_rows=chunk_rows, fmt="parquet"))
    check_output(rows, table.num_rows)


def test_nested_parquet_reads_as_flat_columns(auditor: Auditor, workdir: Path) -> None:
    """A struct column is an encounter object: its fields are the flat columns, as in JSONL."""
    base = {
        "id": ["E1", "E2"],
        "date": ["2024-03-05", "2024-03-05"],
        "time": ["10:00", "10:00"],
        "place": ["office", "office"],
        "done": [["consultation"], ["child_exam"]],
        "claimed": [["G"], ["COE"]],
    }
    flat = pa.table({**base, "patient_age_years": [45, 3]})
    nested = pa.table({**base, "patient": [{"age": {"years": 45}}, {"age": {"years": 3}}]})
    outputs = []
    for name, table in (("flat", flat), ("nested", nested)):
        path = workdir / f"{name}.parquet"
        pq.write_table(table, path)
        rows = audit_all(auditor, readers.read(path, fmt="parquet"))
        outputs.append([(r["status"], r["rules"], r["claimed_cents"]) for r in rows])
    assert outputs[0] == outputs[1]
    assert outputs[0][0][0] == "valid"


# ---------------------------------------------------------------------------------- found by
# benchmarks/fuzz_readers.py
def _lines_covered(rows: list[dict[str, Any]]) -> list[int]:
    """The physical lines the output rows account for: a bad record names them in its reason
    (``line 7`` or ``lines 5-9``), a read one in ``source_lines``."""
    covered: list[int] = []
    for row in rows:
        reason = row["reason"] or ""
        if reason.startswith("line"):
            where = reason.split(":", 1)[0].split()[1].split("-")
            covered += range(int(where[0]), int(where[-1]) + 1)
        else:
            covered += [int(n) for n in row["source_lines"].split(";")]
    return sorted(covered)


@pytest.mark.parametrize("block", [256, readers.BLOCK_BYTES])
def test_a_csv_record_longer_than_the_parser_block_is_one_bad_row(
    auditor: Auditor, workdir: Path, block: int
) -> None:
    """A record longer than the parser's block (one huge cell, or a quote left open over
    megabytes and closed further down) made the parser fail on the whole file (an error that
    could also hang the process at exit).  It is one bad row naming its lines; the records
    after it are read with their own line numbers."""
    size = 2 * block + 10
    filler = "q" * 100
    swallowed = size // len(filler) + 1
    text = (
        "id,date,claimed,colour\nE1,2024-03-05,G,x\n"
        + "E2,2024-03-05,G," + "z" * size + "\n"
        + 'E3,2024-03-05,G,"' + filler + "\n"
        + "".join(f"S,2024-03-05,G,{filler}\n" for _ in range(swallowed))
        + 'E4",2024-03-05,G,x\nE5,2024-03-05,G,x\n'
    )
    path = workdir / "long.csv"
    path.write_text(text)
    with mock.patch.object(readers, "BLOCK_BYTES", block):
        rows = audit_all(auditor, readers.read(path, chunk_rows=2, fmt="csv"))
    check_output(rows, 4)
    by_row = {r["row"]: r for r in rows}
    assert by_row[2]["reason"].startswith("line 3: a record of more than")
    last = 4 + swallowed + 1
    assert by_row[3]["reason"].startswith(f"lines 4-{last}: a record of more than")
    assert "a quote left open" in by_row[3]["reason"]
    assert by_row[4]["id"] == "E5" and by_row[4]["source_lines"] == str(last + 1)
    assert _lines_covered(rows) == list(range(2, last + 2))


def test_a_csv_header_longer_than_the_parser_block_refuses_the_file(workdir: Path) -> None:
    path = workdir / "header.csv"
    path.write_text('id,"date' + "x" * 600 + "\nE1,2024-03-05\n")
    with (
        mock.patch.object(readers, "BLOCK_BYTES", 256),
        pytest.raises(InputError, match="line 1: the header is longer"),
    ):
        list(readers.read(path, fmt="csv"))


@pytest.mark.parametrize("end", ["\n", "\r\n", ""])
def test_a_quote_left_open_at_the_end_names_only_lines_of_the_file(
    auditor: Auditor, workdir: Path, end: str
) -> None:
    """The file's last line break, swallowed by a quote left open, was counted as one more
    line: the bad row named a line after the end of the file."""
    path = workdir / "open.csv"
    path.write_bytes(
        f'id,date,claimed\nE1,2024-03-05,G\nE2,2024-03-05,"G\nE3,2024-03-05,G{end}'.encode()
    )
    rows = audit_all(auditor, readers.read(path, fmt="csv"))
    check_output(rows, 2)
    assert rows[1]["reason"].startswith("lines 3-4: claimed holds a line break")
    assert rows[1]["source_lines"] == "3;4"


def test_columns_named_like_internal_columns_are_renamed(
    auditor: Auditor, workdir: Path
) -> None:
    """A CSV column ``_source_lines`` made the audit of the chunk fail (two columns of that
    name); one named ``_lines`` replaced the physical lines and made the rows line-level
    claims, where two identical codes may be two sessions.  Both are the file's own columns,
    renamed, whatever the format."""
    csv_path = workdir / "internal.csv"
    csv_path.write_text("id,date,claimed,_source_lines,_lines\nE1,2024-03-05,G;G,9,7\n")
    jsonl_path = workdir / "internal.jsonl"
    jsonl_path.write_text(
        '{"id": "E1", "date": "2024-03-05", "claimed": ["G", "G"], "_lines": "7"}\n'
    )
    parquet_path = workdir / "internal.parquet"
    pq.write_table(
        pa.table({"id": ["E1"], "date": ["2024-03-05"], "claimed": [["G", "G"]],
                  "_lines": ["7"], "_source_lines": ["9"]}),
        parquet_path,
    )
    for path in (csv_path, jsonl_path, parquet_path):
        (row,) = audit_all(auditor, readers.read(path))
        assert row["status"] == "violation" and row["rules"] == "repeated_line", path
        assert row["source_lines"] == ("2" if path.suffix == ".csv" else None), path


def test_parquet_notes_of_a_type_that_is_no_text_are_left_out(
    auditor: Auditor, workdir: Path
) -> None:
    """A Parquet ``_notes`` column of a type that cannot be read as text (a fixed-size list, a
    map) made the audit of the chunk fail."""
    path = workdir / "notes.parquet"
    for notes in (
        pa.array([["a", "b"]], pa.list_(pa.string(), 2)),
        pa.array([[("a", "b")]], pa.map_(pa.string(), pa.string())),
        pa.array([["a"]], pa.list_(pa.string())),
    ):
        pq.write_table(
            pa.table({"id": ["E1"], "date": ["2024-03-05"], "claimed": ["G"], "_notes": notes}),
            path,
        )
        (row,) = audit_all(auditor, readers.read(path))
        assert row["status"] != "bad_input", notes.type
        assert row["notes"] == ("a" if pa.types.is_list(notes.type) else None)
