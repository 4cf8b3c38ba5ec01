"""Fuzz of the audit readers: hostile files through the readers and the audit core (not a test).

    PYTHONPATH=. python benchmarks/fuzz_readers.py                 # 100 000 records per reader
    PYTHONPATH=. python benchmarks/fuzz_readers.py --rows 5000 --seed 7 --readers csv,jsonl
    PYTHONPATH=. python benchmarks/fuzz_readers.py --rows 20000 --keep /tmp/fuzz-failures

For each reader (``csv``, ``jsonl``, ``parquet``: encounter tables; ``dcir``: SNDS ER_PRS_F claim
lines) the script writes many files of 1 to 2 000 records (now and then a large one of tens of
thousands of records, or one with a record of several MB) until ``--rows`` records are written,
reads each with ``ngap.audit.readers.read`` and audits every batch with
``Auditor(Nomenclature.load(), today=2025-06-30).audit``.  Most records are bad or odd: impossible
dates and dates after today, NaN / inf / 1e400 / numbers of thousands of digits, bytes that are
not UTF-8, byte-order marks, stray quotes, records of the wrong width, odd delimiters, line
breaks in cells, wrong JSON types, objects nested too deep, duplicate keys, lone surrogates,
Parquet columns of odd Arrow types (lists, list<list<string>>, maps, structs, binary, decimals,
timestamps, all-null columns, huge strings), claim lines whose nature or quantity does not
parse, cancellations, empty key parts, dates in every form DCIR uses and some it does not.  A
share of coherent encounters keeps the solver busy.  Some CSV files are read with a small parser
block (``readers.BLOCK_BYTES``) so that records cross many block boundaries, and some with a
record longer than the block.

Invariants, checked file by file.  Each figure counts failing files:

* ``crashes``: an exception out of ``read``, the iteration of its batches or ``Auditor.audit``.
  ``ngap.io.InputError`` is a *refusal* of the whole file, allowed only for a file the
  generator made unreadable on purpose (UTF-16 or binary text, no required DCIR column, a
  truncated or foreign Parquet file); any other refusal is an ``unexpected_refusal``, and so
  is a file of that kind that is read.
* ``record_mismatches``: rows out = records in.  CSV: the records written (a blank line is none);
  JSONL: the lines with something other than white space; Parquet: the table's rows.  Encounter
  rows are numbered 1..n, each once.
* ``line_mismatches``: every line is accounted for exactly once.  CSV: every physical data line
  (line 1 is the header, blank lines between records are not counted, line breaks inside quoted
  cells are) is covered by exactly one output row, read from ``source_lines`` (``2;3;4``) or,
  for a record the parser could not read, from the reason (``line 7: ...``, ``lines 5-9:
  ...``).  In a file with a stray quote the records are what the quotes make of them: only the
  lines are checked, and the numbering.  A read row's ``source_lines`` starts at the line its
  reason names.  JSONL: a bad row's reason names the physical line of its record.  DCIR (the
  contract of ``ngap/audit/dcir.py``): every line number is in the ``source_lines`` of exactly
  one output row, encounter or bad line; the numbers are those of the records (line 1 is the
  header, blank lines before it count, blank lines after it do not, a quoted line break does
  not count twice; in Parquet line 1 is the first row); with a stray quote, the numbers must run
  once each from the first data line to some line no further than the lines written.
* ``status_errors``: every row has a status in {valid, conditional, violation, bad_input}, and
  a reason when it is bad input.

Coherent encounters are drawn from a few templates (encounter tables) and recipes (SNDS lines),
and every hostile record is made bad input for sure (an unknown code claimed, a date that is no
day of care): the solver judges a few dozen distinct situations once, the memo serves the rest.

Figures per reader: files, records in (DCIR: lines), rows out, the bad_input share of the rows,
refused files (and their records), seconds and records per second (generation excluded: reading
and auditing only), the failing files of each kind above and the files by kind of generated
file; then the peak RSS of the process and the situations the solver judged.  The last line
is one JSON object with every figure and ``ok`` (1 when every invariant held).  Exit status 0
when every invariant held, 1 otherwise, with up to 10 examples (file, row, what was wrong);
``--keep DIR`` copies the files of the failing cases there.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import decimal
import json
import math
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ngap.audit import readers
from ngap.audit.core import Auditor
from ngap.io import InputError
from ngap.solver.engine import Nomenclature

TODAY = dt.date(2025, 6, 30)
"""The audit's today: a date after it is bad input (care cannot be dated in the future)."""
STATUSES = frozenset({"valid", "conditional", "violation", "bad_input"})
READERS = ("csv", "jsonl", "parquet", "dcir")
MAX_EXAMPLES = 10
LINE_REASON = re.compile(r"^lines? (\d+)(?:-(\d+))?:")
"""How a CSV bad record names its physical lines at the head of its reason."""

# ------------------------------------------------------------------------------ values
ENCOUNTER_NAMES = (
    "id", "date", "time", "call_time", "place", "patient_age_years", "patient_birth_date",
    "patient_birth_year", "done", "claimed", "travel_km", "circumstances_emergency",
    "practitioner_sector", "practitioner_optam", "alsace_moselle", "patient_id",
    "practitioner_id", "patient_age_months",
)
ODD_NAMES = ("colour", "Ébauche", "", " id ", "_notes", 'a"b', "_lines", "_source_lines", "ID")
VALID: dict[str, tuple[str, ...]] = {
    "id": ("E1", "E2", "x-9"),
    "date": ("2024-03-05", "2022-01-03", "2025-05-01", "2023-12-24", "2025-06-30"),
    "time": ("10:15", "21:40", "0:05", "23:59:59"),
    "call_time": ("21:10", ""),
    "place": ("office", "home", "tele", "Office"),
    "patient_age_years": ("45", "3", "0", "101"),
    "patient_age_months": ("8", "0", "11"),
    "patient_birth_date": ("2023-06-01", "1950-02-28"),
    "patient_birth_year": ("1950", "2024"),
    "done": ("consultation", "visit", "consultation;visit", "cso"),
    "claimed": ("G", "G;MN", "VG;MD", "GS", "G+MU", "COE", "G;G"),
    "travel_km": ("0", "12.5"),
    "circumstances_emergency": ("true", "false", "oui", "0"),
    "practitioner_sector": ("1", "2", "2.0"),
    "practitioner_optam": ("yes", "no"),
    "alsace_moselle": ("true", "false"),
    "patient_id": ("P1", "P2"),
    "practitioner_id": ("D1", "D2"),
}
TEMPLATES: tuple[dict[str, str], ...] = (
    {"date": "2024-03-05", "time": "10:15", "place": "office", "patient_age_years": "45",
     "done": "consultation", "claimed": "G"},
    {"date": "2024-03-05", "time": "21:40", "place": "home", "patient_age_years": "80",
     "done": "visit", "claimed": "VG;MD", "circumstances_emergency": "true"},
    {"date": "2023-12-24", "time": "23:10", "place": "office", "patient_age_years": "30",
     "done": "consultation", "claimed": "G;MN", "circumstances_emergency": "true"},
    {"date": "2025-05-01", "place": "office", "patient_age_years": "3", "done": "consultation",
     "claimed": "G;MEG"},
    {"date": "2024-09-05", "claimed": "G"},
    {"date": "2022-06-01", "time": "10:00", "place": "tele", "patient_age_years": "52",
     "done": "teleconsultation", "claimed": "TCG"},
    {"date": "2024-03-05", "time": "11:00", "place": "office", "patient_age_years": "45",
     "done": "consultation", "claimed": "G;G"},
    {"date": "2025-06-30", "place": "home", "patient_age_years": "90", "done": "visit",
     "claimed": "VG;MD;IK", "travel_km": "12"},
)
FULL_HEADER = (
    "id", "date", "time", "place", "patient_age_years", "done", "claimed",
    "circumstances_emergency", "travel_km", "patient_id", "practitioner_id",
)
"""Every column a template names: the layout of files that hold coherent encounters."""
BENIGN: tuple[tuple[str, str], ...] = (
    ("place", "Office"), ("time", "0:05"), ("circumstances_emergency", "oui"),
    ("claimed", "g"), ("patient_age_years", "101"), ("time", " 10:15 "),
)
"""Odd but readable cells, put one at a time into the first template: a bounded set of
situations."""
UNKNOWN_CODES = ("ZZZ", "G;ZZZ", "XX", "QQ;G", "K999", "G1", "DEQP999", "ZZ;MN", "G;G;ZZZ")
POISON_DATES = ("2024-02-30", "2025-07-01", "2099-12-31", "1800-01-01", "garbage", "2024-13-01")
HOSTILE_TEXT = (
    "", " ", "nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0", "1e400", "-1e400",
    "99999999999999999999", "1" + "0" * 5000, "1.5", "1_000", "+5", "१२", "٣", "½", "0x1F",
    "2024-02-30", "2023-02-29", "2024-04-31", "2024-13-01", "0000-00-00", "9999-12-31",
    "1800-01-01", "2025-07-01", "2026-01-01", "2099-12-31", "2024-03-05T25:00", "05/03/2024",
    "20240305", "25:61", "24:00", "-5:00", "10h30", "1:2", "garbage", "ZZZ", "G;ZZZ", "g;mn",
    "G;;MN", ";", "G ", " G", "G;G;G;G;G;G;G;G;G;G;G;G", "K9/2", "deqp003", "NULL", "NA",
    "null", "true", '"', '""', 'a"b', '5"', "a,b", "a;b", "a\tb", "a|b", "line\nbreak",
    "cr\rlf", "\r\n", "\n\n", "é", "日本語", "\u2028", "\x00", "\ufeff", "\ufffd", "🩺",
    "\u202e", "x" * 300,
)
NOT_UTF8 = (b"\xe9t\xe9", b"\xff", b"\x80", b"\xc3", b"\xed\xa0\x80", b"G\xa0;MN", b"\xfe\xff")
DELIMITERS = (",", ";", "\t", "|")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def refused_text(data: bytes) -> bool:
    """A text file the readers refuse whole: UTF-16 (a BOM) or binary (a quarter NUL bytes)."""
    head = data[:4096]
    return head.startswith(UTF16_BOMS) or (len(head) > 1 and head.count(b"\0") * 4 > len(head))


def random_text(rng: random.Random, size: int = 6) -> str:
    """A short text of any code point but surrogates."""
    out = []
    for _ in range(rng.randint(0, size)):
        while True:
            code = rng.choice(
                (rng.randint(32, 126), rng.randint(0, 0x2FF), rng.randint(0, 0x10FFFF))
            )
            if not 0xD800 <= code <= 0xDFFF:
                break
        out.append(chr(code))
    return "".join(out)


def encounter_cell(rng: random.Random, column: str) -> str | bytes:
    """A cell for a column: valid, hostile, random, or bytes that are not UTF-8."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(VALID.get(column, ("x",)))
    if roll < 0.85:
        return rng.choice(HOSTILE_TEXT)
    if roll < 0.95:
        return random_text(rng)
    return rng.choice(NOT_UTF8)


def as_bytes(cell: str | bytes) -> bytes:
    return cell if isinstance(cell, bytes) else cell.encode("utf-8")


# ------------------------------------------------------------------------------ cases
@dataclass
class Case:
    """One generated file and what the reader must make of it."""

    reader: str
    path: Path
    kind: str
    written: int
    """Data records written (DCIR: lines)."""
    records: int | None = None
    """Output rows the reader must give (encounter readers); None when the file's quotes decide."""
    lines: list[int] | None = None
    """Line numbers the output must cover, each exactly once."""
    contiguous: tuple[int, int] | None = None
    """(first, last possible): the covered lines must be first..k, each once, k <= last."""
    jsonl_lines: dict[int, int] = field(default_factory=dict)
    """JSONL: record number -> physical line."""
    refuse: bool | None = False
    """True: the reader must refuse the file (InputError); None: it may."""
    chunk_rows: int = readers.DEFAULT_CHUNK
    block: int | None = None
    """CSV parser block size for this file (None: the reader's own)."""


@dataclass
class Output:
    rows: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    """(row, status, reason, source_lines) of every output row."""
    refused: str | None = None
    crash: str | None = None


def chunk_size(rng: random.Random, records: int) -> int:
    """Rows per batch: tiny batches on small files (every record on a batch boundary), larger
    ones on large files (a batch costs a few milliseconds of its own)."""
    if records > 500:
        return rng.choice((97, 1000, 4096, readers.DEFAULT_CHUNK))
    if records > 50:
        return rng.choice((7, 64, 500, readers.DEFAULT_CHUNK))
    return rng.choice((1, 2, 3, 7, 64, readers.DEFAULT_CHUNK))


def file_size(rng: random.Random, left: int) -> int:
    """Records in the next file: mostly small, now and then large."""
    roll = rng.random()
    if roll < 0.02:
        n = rng.randint(10_000, 40_000)
    elif roll < 0.4:
        n = rng.randint(1, 20)
    elif roll < 0.8:
        n = rng.randint(20, 400)
    else:
        n = rng.randint(400, 2_000)
    return max(1, min(n, left))


# ------------------------------------------------------------------------------ CSV
def csv_field(cell: bytes, delimiter: bytes, quote_all: bool) -> bytes:
    """A CSV field, quoted when it must be (or always); an inner quote alone stays bare."""
    special = delimiter in cell or b"\r" in cell or b"\n" in cell or cell.startswith(b'"')
    if quote_all or special:
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


def csv_header(rng: random.Random) -> tuple[list[str], bool]:
    """Column names, and whether they are the full layout the coherent encounters use.

    Coherent encounters are written only under the full layout: a column left out takes the
    model default, so every subset of columns would be a new situation for the solver.
    """
    if rng.random() < 0.6:
        names = list(FULL_HEADER)
        full = True
    else:
        names = ["id", "date", "claimed"] if rng.random() < 0.8 else []
        names += rng.sample(ENCOUNTER_NAMES, rng.randint(0, 6))
        full = False
    if rng.random() < 0.25:
        names += rng.sample(ODD_NAMES, rng.randint(1, 2))
    if rng.random() < 0.8:  # now and then a column repeated
        names = list(dict.fromkeys(names))
    rng.shuffle(names)
    return names or ["id"], full


def poison(rng: random.Random, names: list[str], cells: list[Any]) -> None:
    """Make a hostile record bad input for sure: an unknown code claimed, or a date that is no
    day of care (a record the solver would judge adds a situation; the coherent ones do that)."""
    if "claimed" in names:
        cells[names.index("claimed")] = rng.choice(UNKNOWN_CODES)
    elif "date" in names:
        cells[names.index("date")] = rng.choice(POISON_DATES)


def encounter_record(rng: random.Random, names: list[str], full: bool) -> list[str | bytes]:
    """A coherent encounter (full layout only), one with a benign oddity, or a hostile record."""
    roll = rng.random()
    if full and roll < 0.35:
        template = dict(rng.choice(TEMPLATES))
        if roll < 0.05:
            column, value = rng.choice(BENIGN)
            template = {**TEMPLATES[0], column: value}
        return [
            f"R{rng.randint(1, 10**6)}" if n == "id" else template.get(n, "") for n in names
        ]
    cells: list[str | bytes] = [encounter_cell(rng, n) for n in names]
    poison(rng, names, cells)
    return cells


def gen_csv(rng: random.Random, path: Path, n: int) -> Case:
    """A CSV encounter table: framed (every record known), with stray quotes, or refused."""
    path = path.with_suffix(".csv")
    roll = rng.random()
    if roll < 0.01:  # UTF-16: refused whole
        text = "id,date,claimed\n" + "".join(f"E{i},2024-03-05,G\n" for i in range(n))
        path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
        return Case("csv", path, "utf16", n, refuse=True)
    if roll < 0.02:  # nothing to read
        path.write_bytes(rng.choice((b"", b"\xef\xbb\xbf", b"\n", b"\r\n\r\n", b"  \n")))
        return Case("csv", path, "empty", 0, records=0, lines=[])
    if roll < 0.18:
        return _csv_stray(rng, path, n)
    if roll < 0.21:
        return _csv_huge(rng, path)
    return _csv_framed(rng, path, n)


def _csv_framed(rng: random.Random, path: Path, n: int) -> Case:
    names, full = csv_header(rng)
    delimiter = rng.choice(DELIMITERS).encode() if len(names) > 1 else b","
    newline = rng.choice((b"\n", b"\n", b"\r\n", b"\r"))
    quote_all = rng.random() < 0.2
    header_cells = [x.encode() for x in names]
    if rng.random() < 0.05:
        header_cells[-1] += rng.choice(NOT_UTF8)
    lines = [delimiter.join(csv_field(c, delimiter, quote_all) for c in header_cells) or b'""']
    records = 0
    physical = 1  # the header
    longest = len(lines[0])
    for _ in range(n):
        if rng.random() < 0.03:
            lines.append(b"")  # a blank line: no record
        drift = rng.choice((0,) * 12 + (-1, 1, 2, 17, -len(names) + 1))
        width = max(len(names) + drift, 1)
        cells = [as_bytes(c) for c in encounter_record(rng, names, full)]
        cells = (cells + [as_bytes(encounter_cell(rng, "extra")) for _ in range(width)])[:width]
        if rng.random() < 0.002:  # a cell of a few hundred KB
            cells[rng.randrange(width)] = b"y" * rng.randint(50_000, 400_000)
        line = delimiter.join(csv_field(c, delimiter, quote_all) for c in cells)
        lines.append(line)
        longest = max(longest, len(line))
        if line != b"":  # one empty cell alone is a blank line
            records += 1
            physical += 1 + line.count(b"\n")
    lead = newline * rng.choice((0, 0, 0, 1, 2))
    bom = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
    end = newline if rng.random() < 0.8 else b""
    data = bom + lead + newline.join(lines) + end
    path.write_bytes(data)
    block = None
    if rng.random() < 0.25:  # many parser blocks: records cross their boundaries
        block = rng.choice((1 << 12, 1 << 14, 1 << 16))
    if refused_text(data):
        return Case("csv", path, "binary", records, refuse=True)
    return Case(
        "csv", path, "framed", records, records=records, lines=list(range(2, physical + 1)),
        block=block,
    )


def _csv_stray(rng: random.Random, path: Path, n: int) -> Case:
    """Stray quotes: which lines make a record is the quotes' business; no line may be lost.

    No blank line and no line break inside a cell: every line of the file after the header is
    then one physical data line, whatever the quotes swallow.
    """
    names, full = csv_header(rng)
    delimiter = rng.choice(DELIMITERS).encode() if len(names) > 1 else b","
    newline = rng.choice((b"\n", b"\r\n"))
    quote_all = rng.random() < 0.2
    lines = [delimiter.join(csv_field(x.encode(), delimiter, False) for x in names) or b'""']
    for _ in range(n):
        width = max(len(names) + rng.choice((0,) * 8 + (-1, 1)), 1)
        cells = [as_bytes(c).replace(b"\r", b"").replace(b"\n", b"")
                 for c in encounter_record(rng, names, full)]
        cells = (cells + [b"x"] * width)[:width]
        fields = [csv_field(c, delimiter, quote_all) for c in cells]
        if rng.random() < 0.06:  # a quote opened at the start of a field, never closed here
            at = rng.randrange(width)
            fields[at] = b'"' + cells[at].replace(b'"', b"")
        elif rng.random() < 0.04:  # a quote in the middle of a field or after a quoted one
            at = rng.randrange(width)
            fields[at] = rng.choice((fields[at] + b'"', b'"x"' + fields[at], b'5"' + cells[at]))
        line = delimiter.join(fields) or b'""'
        lines.append(line)
    bom = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
    end = newline if rng.random() < 0.8 else b""
    data = bom + newline.join(lines) + end
    path.write_bytes(data)
    if refused_text(data):
        return Case("csv", path, "binary", n, refuse=True)
    block = rng.choice((None, None, None, 1 << 12))
    return Case("csv", path, "stray_quote", n, contiguous=None, lines=list(range(2, n + 2)),
                block=block)


def _csv_huge(rng: random.Random, path: Path) -> Case:
    """A record longer than the parser's block: one huge cell, or a quote left open over MBs."""
    size = readers.BLOCK_BYTES + rng.randint(1, 2 * readers.BLOCK_BYTES)
    rows = [b"id,date,claimed,colour", b"E1,2024-03-05,G,x"]
    if rng.random() < 0.5:
        rows.append(b"E2,2024-03-05,G," + b"z" * size)
        rows += [b"E3,2024-03-05,G,x", b"E4,2024-03-05,G,x"]
        data = b"\n".join(rows) + b"\n"
        path.write_bytes(data)
        return Case("csv", path, "huge_cell", 4, records=4, lines=[2, 3, 4, 5])
    filler = b"q" * 2_000
    count = size // len(filler) + 1
    rows.append(b'E2,2024-03-05,G,"' + filler)  # opened here...
    rows += [b"E,2024-03-05,G," + filler for _ in range(count)]
    close = rng.random() < 0.5
    if close:
        rows.append(b'E9",2024-03-05,G,x')  # ... closed here
    rows += [b"E10,2024-03-05,G,x", b"E11,2024-03-05,G,x"]
    data = b"\n".join(rows) + b"\n"
    path.write_bytes(data)
    written = len(rows) - 1
    return Case("csv", path, "huge_quote", written, lines=list(range(2, written + 2)))


# ------------------------------------------------------------------------------ JSONL
DEEP = b"[" * 5000 + b"]" * 5000
JSONL_ODD = (
    b"{}", b"null", b"[]", b"{", b"}", b"{'id': 1}", b'{"id": "E1", "date": "2024-03-05",}',
    b'{"id": "\xe9", "claimed": "G"}', b"\xff\xfe{}",
    b'{"id": "E1", "done": 3, "claimed": {"a": 1}}',
    b'{"id": "\\ud800", "date": "2024-03-05", "claimed": "G"}', b'{"\\udc80": 1}',
    b'{"id": "\\ud83e\\udd7a", "claimed": "G"}', b'{"id": NaN, "travel_km": Infinity}',
    b'{"id": 1e400}', b'{"id": -Infinity}', b'{"id": "E1", "id": "E2"}',
    b'{"claimed": "G", "claimed": ["MN"]}',
    b'{"id": "E1", "patient": {"age": {"years": {"deep": [1, {"x": null}]}}}}',
    b'{"id": ' + b'{"a": ' * 900 + b"1" + b"}" * 901, DEEP, b'{"id": 1' + b"0" * 5000 + b"}",
    b'{"travel_km": ' + b"9" * 4400 + b"}", b'"just a string"', b"12", b"true",
    b'{"id": "E1"} trailing', b'{"id": "E1"}{"id": "E2"}', b"/* comment */ {}",
    b'{"id": "\x00"}', b'{"id": "a\\u0000b", "claimed": "G"}', b"\x00\x00",
    b'{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}',
    b'{"patient": {"age": {"years": 3}}, "patient_age_years": 4, "claimed": "G"}',
    b'{"_lines": "7", "_source_lines": "9", "id": "E1", "date": "2024-03-05", "claimed": "G"}',
    b'{"": 1, " ": 2, "claimed": ""}', b'{"claimed": [[["G"]]], "done": [{"a": 1}]}',
    b'{"date": {"$date": "2024-03-05"}, "claimed": ["G", null, 3]}',
)


def json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.6:
        return rng.choice((
            None, True, False, 0, -1, 3, 2.5, 10**25, -(10**19), 1e308, float("nan"),
            float("inf"), -float("inf"), rng.choice(HOSTILE_TEXT), random_text(rng),
        ))
    if roll < 0.8:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng, 4): json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def json_record(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.3:
        template = dict(rng.choice(TEMPLATES))
        if roll < 0.04:
            column, value = rng.choice(BENIGN)
            template = {**TEMPLATES[0], column: value}
        record: dict[str, Any] = {"id": f"R{rng.randint(1, 10**6)}", **template}
        if rng.random() < 0.3:
            record["claimed"] = record["claimed"].split(";")
        if rng.random() < 0.3 and "patient_age_years" in record:
            age = record.pop("patient_age_years")
            record["patient"] = {"age": {"years": int(age) if age.isdigit() else age}}
        return record
    if roll < 0.85:
        names = rng.sample(ENCOUNTER_NAMES + ODD_NAMES, rng.randint(0, 8))
        out: dict[str, Any] = {}
        for name in names:
            kind = rng.random()
            if kind < 0.5:
                out[name] = rng.choice(VALID.get(name, ("x",)))
            elif kind < 0.75:
                out[name] = rng.choice(HOSTILE_TEXT)
            else:
                out[name] = json_value(rng)
        if rng.random() < 0.1:
            out["patient"] = {"age": {"years": json_value(rng)}, "sex": rng.choice("fmx")}
        out["claimed"] = rng.choice(
            (*UNKNOWN_CODES, 3, {"a": 1}, [None], [["G"]], ["ZZZ"], True, 1e400))
        return out
    return json_value(rng)


def json_line(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(JSONL_ODD)
    line = json.dumps(json_record(rng), ensure_ascii=rng.random() < 0.3, allow_nan=True)
    data = line.encode("utf-8", "surrogatepass")
    if roll < 0.17:  # bytes that are not UTF-8 somewhere in the line
        at = rng.randint(0, len(data))
        data = data[:at] + rng.choice(NOT_UTF8) + data[at:]
    elif roll < 0.19:  # a lone surrogate escaped
        data = data.replace(b'"', b'"\\udc9d', 1)
    return data


def gen_jsonl(rng: random.Random, path: Path, n: int) -> Case:
    path = path.with_suffix(".jsonl")
    if rng.random() < 0.01:
        text = "".join(f'{{"id": "E{i}", "claimed": "G"}}\n' for i in range(n))
        path.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
        return Case("jsonl", path, "utf16", n, refuse=True)
    newline = rng.choice((b"\n", b"\n", b"\r\n"))
    lines: list[bytes] = []
    for _ in range(n):
        if rng.random() < 0.04:
            lines.append(rng.choice((b"", b"   ", b"\r", b"\t")))
        if rng.random() < 0.0003:
            lines.append(b'{"id": "' + b"w" * (readers.MAX_LINE_BYTES + rng.randint(-2, 2)) + b'"}')
        else:
            lines.append(json_line(rng))
    bom = b"\xef\xbb\xbf" if rng.random() < 0.1 else b""
    end = newline if rng.random() < 0.8 else b""
    data = bom + newline.join(lines) + end
    path.write_bytes(data)
    # The records, as the reader counts them: lines end at \n; white space alone is no record.
    physical = data.split(b"\n")
    if physical and physical[-1] == b"":
        physical.pop()
    where: dict[int, int] = {}
    for number, raw in enumerate(physical, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if raw.strip():
            where[len(where) + 1] = number
    if refused_text(data):
        return Case("jsonl", path, "binary", len(where), refuse=True)
    return Case("jsonl", path, "lines", len(where), records=len(where), jsonl_lines=where)


# ------------------------------------------------------------------------------ Parquet
def _strings(rng: random.Random, column: str, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        cell = encounter_cell(rng, column)
        out.append(None if rng.random() < 0.1 else
                   cell.decode("utf-8", "replace") if isinstance(cell, bytes) else cell)
    return out


def parquet_column(rng: random.Random, name: str, n: int) -> pa.Array:
    """A column of an odd (or plain) Arrow type with hostile values."""
    kinds: list[tuple[str, Callable[[], pa.Array]]] = [
        ("string", lambda: pa.array(_strings(rng, name, n), pa.string())),
        ("large_string", lambda: pa.array(_strings(rng, name, n), pa.large_string())),
        ("dictionary", lambda: pa.array(_strings(rng, name, n)).dictionary_encode()),
        ("int64", lambda: pa.array(
            [rng.choice((None, 0, -1, 45, 130, 2**63 - 1, -(2**63), 20240305))
             for _ in range(n)], pa.int64())),
        ("uint64", lambda: pa.array([rng.choice((None, 0, 2**64 - 1, 3)) for _ in range(n)],
                                    pa.uint64())),
        ("int8", lambda: pa.array([rng.choice((None, -128, 127, 1)) for _ in range(n)], pa.int8())),
        ("float64", lambda: pa.array(
            [rng.choice((None, math.nan, math.inf, -math.inf, 1e308, -0.0, 2.5, 45.0, 1e-320))
             for _ in range(n)], pa.float64())),
        ("float32", lambda: pa.array([rng.choice((None, 3.0, math.nan, 1e38)) for _ in range(n)],
                                     pa.float32())),
        ("bool", lambda: pa.array([rng.choice((None, True, False)) for _ in range(n)])),
        ("date32", lambda: pa.array(
            [rng.choice((None, dt.date(2024, 3, 5), dt.date(1, 1, 1), dt.date(9999, 12, 31),
                         dt.date(2025, 7, 1), dt.date(2021, 12, 31), dt.date(2025, 6, 30)))
             for _ in range(n)], pa.date32())),
        ("date64", lambda: pa.array([rng.choice((None, dt.date(2024, 3, 5))) for _ in range(n)],
                                    pa.date64())),
        ("timestamp", lambda: pa.array(
            [rng.choice((None, dt.datetime(2024, 3, 5, 21, 40), dt.datetime(1677, 9, 22),
                         dt.datetime(2262, 4, 11), dt.datetime(2025, 6, 30, 23, 59)))
             for _ in range(n)], pa.timestamp(rng.choice(("s", "ms", "us", "ns"))))),
        ("timestamp_tz", lambda: pa.array(
            [rng.choice((None, dt.datetime(2024, 3, 5, 21, 40, tzinfo=dt.UTC)))
             for _ in range(n)], pa.timestamp("us", tz=rng.choice(("UTC", "Europe/Paris"))))),
        ("time64", lambda: pa.array([rng.choice((None, dt.time(21, 40), dt.time(0, 0)))
                                     for _ in range(n)], pa.time64("us"))),
        ("time32", lambda: pa.array([rng.choice((None, dt.time(10, 15))) for _ in range(n)],
                                    pa.time32("s"))),
        ("decimal128", lambda: pa.array(
            [rng.choice((None, decimal.Decimal("12.50"), decimal.Decimal("-99999999.99"),
                         decimal.Decimal("0.00"))) for _ in range(n)], pa.decimal128(10, 2))),
        ("decimal256", lambda: pa.array(
            [rng.choice((None, decimal.Decimal("1" + "0" * 39), decimal.Decimal("45")))
             for _ in range(n)], pa.decimal256(45, 5))),
        ("binary", lambda: pa.array(
            [rng.choice((None, b"G", b"2024-03-05", *NOT_UTF8)) for _ in range(n)], pa.binary())),
        ("large_binary", lambda: pa.array([rng.choice((None, b"office", b"\xff"))
                                           for _ in range(n)], pa.large_binary())),
        ("fixed_binary", lambda: pa.array([rng.choice((None, b"G;MN", b"\xff\xfe\x00\x01"))
                                           for _ in range(n)], pa.binary(4))),
        ("list", lambda: pa.array(
            [rng.choice((None, [], ["G"], ["G", "MN"], [None], ["G", None, "ZZZ"], ["x" * 50]))
             for _ in range(n)], pa.list_(pa.string()))),
        ("large_list", lambda: pa.array([rng.choice((None, ["G"], []))
                                         for _ in range(n)], pa.large_list(pa.string()))),
        ("list_int", lambda: pa.array([rng.choice((None, [1, 2], [])) for _ in range(n)],
                                      pa.list_(pa.int64()))),
        ("list_list", lambda: pa.array([rng.choice((None, [["G"]], [[], None], [["G", "MN"]]))
                                        for _ in range(n)], pa.list_(pa.list_(pa.string())))),
        ("fixed_list", lambda: pa.array([rng.choice((None, ["G", "MN"])) for _ in range(n)],
                                        pa.list_(pa.string(), 2))),
        ("map", lambda: pa.array([rng.choice((None, [("a", "G")], [])) for _ in range(n)],
                                 pa.map_(pa.string(), pa.string()))),
        ("struct", lambda: pa.array(
            [rng.choice((None, {"y": 2024, "m": "03"}, {"y": None, "m": None}))
             for _ in range(n)], pa.struct([("y", pa.int64()), ("m", pa.string())]))),
        ("null", lambda: pa.nulls(n)),
        ("huge_string", lambda: pa.array(
            ["h" * rng.randint(1, 3_000_000) if i == n // 2 else rng.choice((None, "G"))
             for i in range(n)], pa.large_string())),
        ("duration", lambda: pa.array([rng.choice((None, 5, -5)) for _ in range(n)],
                                      pa.duration("s"))),
    ]
    if rng.random() < 0.45:
        return kinds[0][1]()
    return rng.choice(kinds)[1]()


PATIENT = pa.struct(
    [("age", pa.struct([("years", pa.int64()), ("months", pa.string())])), ("sex", pa.string())]
)


def gen_parquet(rng: random.Random, path: Path, n: int) -> Case:
    path = path.with_suffix(".parquet")
    roll = rng.random()
    if roll < 0.01:  # not Parquet at all, or cut short
        kind = rng.choice(("empty", "foreign", "truncated"))
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "foreign":
            path.write_bytes(b"PAR1" + bytes(rng.randrange(256) for _ in range(100)))
        else:
            pq.write_table(pa.table({"id": [f"E{i}" for i in range(n)]}), path)
            data = path.read_bytes()
            path.write_bytes(data[: rng.randint(0, len(data) - 9)])
        return Case("parquet", path, kind, n, refuse=True)
    names, full = csv_header(rng)
    columns: list[pa.Array] = []
    if full and rng.random() < 0.5:  # a plain, well-typed table with coherent encounters
        chosen = [rng.choice(TEMPLATES) for _ in range(n)]
        for name in names:
            cells = [f"R{i}" if name == "id" else (t.get(name) or None)
                     for i, t in enumerate(chosen)]
            if name == "patient_age_years" and rng.random() < 0.5:
                columns.append(pa.array([None if c is None else int(c) for c in cells],
                                        rng.choice((pa.int64(), pa.int8(), pa.float64()))))
            elif name == "date" and rng.random() < 0.5:
                columns.append(pa.array(
                    [None if c is None else dt.date.fromisoformat(c) for c in cells], pa.date32()))
            elif name in ("claimed", "done") and rng.random() < 0.5:
                columns.append(pa.array([None if c is None else c.split(";") for c in cells],
                                        pa.list_(pa.string())))
            else:
                columns.append(pa.array(cells, pa.string()))
    else:
        for name in names:
            try:
                columns.append(parquet_column(rng, name, n))
            except (pa.ArrowException, OverflowError, ValueError):  # out of the type's range
                columns.append(pa.array(_strings(rng, name, n), pa.string()))
        if "claimed" in names:  # bad input for sure: no new situation for the solver
            at = names.index("claimed")
            columns[at] = rng.choice((
                pa.array([rng.choice(UNKNOWN_CODES) for _ in range(n)]),
                pa.array([[["G"]]] * n, pa.list_(pa.list_(pa.string()))),
                pa.array([[("a", "G")]] * n, pa.map_(pa.string(), pa.string())),
                pa.array([[rng.choice(UNKNOWN_CODES)]] * n, pa.list_(pa.string())),
            ))
    if rng.random() < 0.2:
        ages = [None if rng.random() < 0.2 else
                {"age": {"years": rng.choice((None, 3, -3, 200, 45)), "months": random_text(rng)},
                 "sex": rng.choice(("f", "m", "x"))} for _ in range(n)]
        columns.append(pa.array(ages, PATIENT))
        names.append("patient")
    table = pa.Table.from_arrays(columns, names=names)
    try:
        pq.write_table(table, path, row_group_size=rng.choice((1, 7, 100, 1000, 64 * 1024)))
    except (pa.ArrowException, ValueError):  # a type Parquet cannot store: plain text instead
        table = pa.table({"id": [f"E{i}" for i in range(n)]})
        pq.write_table(table, path)
    return Case("parquet", path, "table", n, records=n)


# ------------------------------------------------------------------------------ DCIR
DCIR_REQUIRED = ("BEN_NIR_PSA", "BEN_RNG_GEM", "PFS_EXE_NUM", "EXE_SOI_DTD", "PRS_NAT_REF",
                 "PRS_ACT_QTE")
LINE_COLUMNS = ("PRS_NAT_REF", "CPL_MAJ_TOP", "CPL_PRS_NAT", "PRS_ACT_QTE", "PRS_ACT_CFT",
                "PRS_PAI_MNT", "CAM_PRS_IDE")
PATIENT_COLUMNS = ("BEN_SEX_COD", "BEN_NAI_ANN", "BEN_AMA_COD", "EXO_MTF")
PRACTITIONER_COLUMNS = ("PSE_SPE_COD", "PSE_CNV_COD", "EXE_LIE_COD", "PRS_OPS_TRF", "PRS_MTT_NUM")
DCIR_FULL = (*DCIR_REQUIRED, *LINE_COLUMNS[1:3], *LINE_COLUMNS[4:], *PATIENT_COLUMNS,
             *PRACTITIONER_COLUMNS)
DCIR_OTHER = ("BSE_PRS_NAT", "DCT_ORD_NUM", "PRS_ORD_NUM", "FLX_DIS_DTD", "NOTE", "BSE_REM_BSE")
PATIENTS = (("2", "1958", "66", ""), ("1", "2023", "1008", ""), ("1", "1937", "87", "41"))
PRACTITIONERS = (
    ("1", "1", "0", "1", "191007342"),
    ("22", "3", "1", "2", ""),
    ("3", "1", "0", "1", ""),  # a cardiologist: every line out of scope
)
PATTERNS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # PRS_NAT_REF, CPL_MAJ_TOP, CPL_PRS_NAT, PRS_ACT_QTE, PRS_ACT_CFT, PRS_PAI_MNT, CAM_PRS_IDE
    (("1110", "0", "0", "1", "1", "25.00", ""),),
    (("1110", "0", "0", "1", "1", "25.00", ""), ("1110", "2", "1951", "1", "0", "0", "")),
    (("1210", "0", "0", "1", "1", "26.50", ""), ("1210", "2", "1913", "1", "0", "40.00", "")),
    (("1110", "0", "0", "2", "1", "50.00", ""), ("1110", "0", "0", "-1", "1", "-25.00", "")),
    (("1110", "0", "0", "2", "1", "50.00", ""),),
    (("1312", "0", "0", "1", "9", "", ""), ("1312", "0", "0", "1", "4.5", "", "")),
    (("1210", "0", "0", "1", "1", "26.50", ""), ("1811", "0", "0", "12", "0", "7.32", "")),
    (("1193", "0", "0", "1", "1", "12.00", ""),),
    (("1352", "0", "0", "1", "1", "14.26", "DEQP003"),),
    (("1104", "0", "0", "1", "1", "46.00", ""),),
)
RECIPES = (*((0, 0, k) for k in range(len(PATTERNS))), (1, 0, 9), (2, 1, 2), (0, 2, 0))
"""(patient, practitioner, pattern): the encounters DCIR files are made of.  A fixed, small set,
so that the solver judges a few dozen situations and the memo serves every other encounter."""
DAYS = (
    "2023-03-14", "20230314", "14MAR2023:00:00:00", "14MAR2023", "14mar2023", "14/03/2023",
    "2023-03-14 00:00:00", "2023-03-14T00:00:00", " 2023-03-14 ",
)
"""One day of care in every form DCIR writes it: one era, so one situation per recipe."""
BAD_DAYS = (
    "2025-07-01", "2099-01-01", "2021-12-31", "1913-10-16", "2023-02-30", "31/02/2024",
    "2024-3-5", "2024/03/05", "", " ", "not a date", "99999999", "0000-00-00", "32JAN2024",
    "2024-03-05Z", "١٢٠٢٤", "2024-03-05\x00", "1e400", "infinity", "-infinity", "epoch",
)
BAD_NATURES = ("abc", "", "1e400", "-5", "1110.5", "9" * 20, "NaN", " ", "1 110", "inf", "x" * 500)
BAD_QUANTITIES = ("x", "", "NaN", "inf", "-inf", "1e400", "-1e400", "99999999999999999999",
                  "0x1", "1 1", "--1", "1e")
NOISE_NATURES = ("1951", "1952", "1124", "1193", "1095", "9999", "0")
"""Natures of lines that bill nothing (accounting lines, natures without NGAP code)."""
ODD_CONTEXT: dict[str, tuple[str, ...]] = {
    "PSE_CNV_COD": ("2", "0", "x", "77", ""), "BEN_SEX_COD": ("0", "9", "x"),
    "BEN_NAI_ANN": ("1879", "3000", "x", "1e400", "-5"), "BEN_AMA_COD": ("1024", "131", "x"),
    "EXE_LIE_COD": ("2", "x"), "PRS_MTT_NUM": ("000000000", "999999999", "x"),
    "PSE_SPE_COD": ("22", "abc", "1e400", "57"),
}
"""Context values a later line of an encounter may disagree with (the first line's is kept)."""


def _hostile(rng: random.Random, raw: bool) -> str | bytes:
    """A hostile cell; with ``raw``, now and then bytes that are not UTF-8 (the whole file is
    then read as Latin-1)."""
    if raw and rng.random() < 0.05:
        return rng.choice(NOT_UTF8)
    return rng.choice((*HOSTILE_TEXT, random_text(rng), "é", "\x00"))


def dcir_encounter(rng: random.Random, key: tuple[str, str, str], day: str,
                   ) -> list[dict[str, str | bytes]]:
    """The lines of one encounter: a recipe's lines, then lines that change nothing it claims
    (accounting lines, natures without code, unreadable natures or quantities, later lines that
    disagree on a context column)."""
    patient, practitioner, pattern = rng.choice(RECIPES)
    base: dict[str, str | bytes] = {
        "BEN_NIR_PSA": key[0], "BEN_RNG_GEM": key[1], "PFS_EXE_NUM": key[2], "EXE_SOI_DTD": day,
        **dict(zip(PATIENT_COLUMNS, PATIENTS[patient], strict=True)),
        **dict(zip(PRACTITIONER_COLUMNS, PRACTITIONERS[practitioner], strict=True)),
    }
    lines = [base | dict(zip(LINE_COLUMNS, line, strict=True)) for line in PATTERNS[pattern]]
    for _ in range(rng.choice((0, 0, 1, 1, 2, 5))):
        noise = dict(base)
        roll = rng.random()
        noise.update(dict(zip(LINE_COLUMNS, ("1951", "0", "0", "1", "0", "0", ""), strict=True)))
        if roll < 0.3:
            noise["PRS_NAT_REF"] = rng.choice(BAD_NATURES)
        elif roll < 0.55:
            noise["PRS_ACT_QTE"] = rng.choice(BAD_QUANTITIES)
        elif roll < 0.8:
            noise["PRS_NAT_REF"] = rng.choice(NOISE_NATURES)
            noise["PRS_ACT_QTE"] = rng.choice(("1", "-1", "3", "1.5", "0"))
        else:
            noise["CPL_MAJ_TOP"] = "2"
            noise["CPL_PRS_NAT"] = rng.choice(("", "0", "x", "1e400", "1124"))
        if rng.random() < 0.3:
            column = rng.choice(tuple(ODD_CONTEXT))
            noise[column] = rng.choice(ODD_CONTEXT[column])
        noise["PRS_PAI_MNT"] = rng.choice(("0", "", "abc", "1e400", "NaN", "-0", "-25,00"))
        lines.append(noise)
    return lines


def dcir_lonely(rng: random.Random, key: tuple[str, str, str], raw: bool,
                ) -> dict[str, str | bytes]:
    """A line no encounter can have: a key part empty or a date that is no day of care."""
    line: dict[str, str | bytes] = {
        "BEN_NIR_PSA": key[0], "BEN_RNG_GEM": key[1],
        "PFS_EXE_NUM": rng.choice((key[2], "291015876", "P\u00e9", "0" * 40)),
        "EXE_SOI_DTD": rng.choice(BAD_DAYS),
        **{c: _hostile(rng, raw)
           for c in (*LINE_COLUMNS, *PATIENT_COLUMNS, *PRACTITIONER_COLUMNS)},
    }
    if rng.random() < 0.4:
        line[rng.choice(("BEN_NIR_PSA", "BEN_RNG_GEM", "PFS_EXE_NUM"))] = rng.choice(("", " "))
        line["EXE_SOI_DTD"] = rng.choice(DAYS)
    return line


def merge(rng: random.Random, blocks: list[list[dict[str, str | bytes]]],
          ) -> list[dict[str, str | bytes]]:
    """The blocks' lines interleaved at random, each block's own order kept."""
    queues = [list(reversed(b)) for b in blocks if b]
    out: list[dict[str, str | bytes]] = []
    while queues:
        at = rng.randrange(len(queues))
        out.append(queues[at].pop())
        if not queues[at]:
            queues.pop(at)
    return out


def gen_dcir(rng: random.Random, path: Path, n: int) -> Case:
    parquet = rng.random() < 0.25
    path = path.with_suffix(".parquet" if parquet else ".csv")
    header = list(DCIR_FULL) if rng.random() < 0.7 else list(DCIR_REQUIRED)
    header += rng.sample(DCIR_OTHER, rng.randint(0, 2))
    refuse = rng.random() < 0.02
    if refuse:
        header.remove(rng.choice(DCIR_REQUIRED[:-1]))  # PRS_NAT_REF stays: it names the format
    rng.shuffle(header)
    blocks: list[list[dict[str, str | bytes]]] = []
    lines = 0
    raw = rng.random() < 0.2
    while lines < n:
        key = (f"NIR{path.stem}{len(blocks)}", rng.choice(("1", "2", " 1 ")), "191007342")
        if rng.random() < 0.4:
            block = [dcir_lonely(rng, key, raw) for _ in range(rng.randint(1, 3))]
        else:
            block = dcir_encounter(rng, key, rng.choice(DAYS))
        blocks.append(block[: n - lines])
        lines += len(blocks[-1])
    records = merge(rng, blocks)
    for record in records:
        for name in header:
            record.setdefault(name, rng.choice(("", "x", "1", "0")))
    if parquet:
        return _dcir_parquet(rng, path, header, records, refuse)
    return _dcir_csv(rng, path, header, records, refuse)


def _dcir_csv(rng: random.Random, path: Path, header: list[str],
              lines: list[dict[str, str | bytes]], refuse: bool) -> Case:
    delimiter = rng.choice((";", ";", ",", "\t", "|")).encode()
    newline = rng.choice((b"\n", b"\n", b"\r\n"))
    stray = rng.random() < 0.1
    quote_all = rng.random() < 0.15
    skip = rng.choice((0,) * 8 + (1, 2))
    spelled = [h.lower() if rng.random() < 0.05 else (f" {h} " if rng.random() < 0.05 else h)
               for h in header]
    out = [delimiter.join(csv_field(h.encode(), delimiter, False) for h in spelled)]
    latin1 = rng.random() < 0.05
    for line in lines:
        cells = [as_bytes(line[h]) for h in header]
        noise = line["PRS_NAT_REF"] in (*BAD_NATURES, *NOISE_NATURES) or line["EXE_SOI_DTD"] in (
            BAD_DAYS)
        if stray:
            cells = [c.replace(b"\n", b"").replace(b"\r", b"") for c in cells]
        elif noise and rng.random() < 0.05:
            cells[rng.randrange(len(cells))] = b"two\nlines"
        if latin1 and rng.random() < 0.1:
            cells[rng.randrange(len(cells))] += b"\xe9"
        fields = [csv_field(c, delimiter, quote_all) for c in cells]
        roll = rng.random()
        if noise and roll < 0.05:
            fields = fields[: rng.randint(1, len(fields))]  # too few fields: padded
        elif noise and roll < 0.1:
            fields += [b"extra"] * rng.choice((1, 2, 16, 17, 40))  # too many: a bad line
        if stray and noise and rng.random() < 0.1:
            at = rng.randrange(len(fields))
            fields[at] = b'"' + fields[at].replace(b'"', b"")
        record = delimiter.join(fields)
        if not record.strip(b" "):
            record = b'""' + delimiter
        if not stray and rng.random() < 0.02:
            out.append(b"")  # a blank line between records: no line number
        if noise and rng.random() < 0.0005:  # a cell of MBs: one line still
            record += delimiter + b"m" * rng.randint(2_000_000, 4_000_000)
        out.append(record)
    bom = b"\xef\xbb\xbf" if rng.random() < 0.1 else b""
    end = newline if rng.random() < 0.9 else b""
    data = bom + newline * skip + newline.join(out) + end
    path.write_bytes(data)
    written = len(lines)
    if refuse or refused_text(data):
        return Case("dcir", path, "refused", written, refuse=True)
    first = skip + 2
    if stray:
        return Case("dcir", path, "stray_quote", written,
                    contiguous=(first, first + written - 1))
    return Case("dcir", path, "csv", written, lines=list(range(first, first + written)))


def _dcir_parquet(rng: random.Random, path: Path, header: list[str],
                  lines: list[dict[str, str | bytes]], refuse: bool) -> Case:
    columns: list[pa.Array] = []
    for name in header:
        texts = [line[name] for line in lines]
        roll = rng.random()
        numbers: list[int | None] = []
        for t in texts:
            try:
                numbers.append(int(t))
            except ValueError:
                numbers.append(None)
        if roll < 0.5:
            columns.append(pa.array(
                [t.decode("utf-8", "replace") if isinstance(t, bytes) else (t or None)
                 for t in texts], pa.string()))
        elif roll < 0.6:
            columns.append(pa.array([t if isinstance(t, bytes) else t.encode() for t in texts],
                                    pa.binary()))
        elif name == "EXE_SOI_DTD" and roll < 0.9:
            days: list[dt.date | None] = []
            for t in texts:
                try:
                    days.append(dt.date.fromisoformat(str(t).strip()))
                except ValueError:
                    days.append(None)
            if rng.random() < 0.5:
                columns.append(pa.array(days, pa.date32()))
            else:
                columns.append(pa.array(
                    [None if d is None else dt.datetime(d.year, d.month, d.day) for d in days],
                    pa.timestamp("us")))
        elif roll < 0.75:
            columns.append(pa.array(
                [None if x is None or abs(x) >= 2**63 else x for x in numbers], pa.int64()))
        elif roll < 0.85:
            columns.append(pa.array([None if x is None else float(x) for x in numbers]))
        elif roll < 0.9:
            columns.append(pa.array(
                [None if x is None else decimal.Decimal(x) for x in numbers], pa.decimal128(38, 2)))
        elif roll < 0.95:
            columns.append(pa.array([[str(t)] for t in texts], pa.list_(pa.string())))
        else:
            columns.append(pa.nulls(len(lines)))
    table = pa.Table.from_arrays(columns, names=header)
    pq.write_table(table, path, row_group_size=rng.choice((1, 50, 64 * 1024)))
    if refuse:
        return Case("dcir", path, "refused", len(lines), refuse=True)
    return Case("dcir", path, "parquet", len(lines), lines=list(range(1, len(lines) + 1)))


GENERATORS: dict[str, Callable[[random.Random, Path, int], Case]] = {
    "csv": gen_csv, "jsonl": gen_jsonl, "parquet": gen_parquet, "dcir": gen_dcir,
}


# ------------------------------------------------------------------------------ running
def run(case: Case, auditor: Auditor) -> Output:
    """Read and audit one file; refusals and crashes are caught and told apart."""
    out = Output()
    fmt = "dcir" if case.reader == "dcir" else case.reader
    saved = readers.BLOCK_BYTES
    if case.block is not None:
        readers.BLOCK_BYTES = case.block
    try:
        for batch in readers.read(case.path, chunk_rows=case.chunk_rows, fmt=fmt, today=TODAY):
            audited = auditor.audit(batch)
            out.rows += zip(
                audited.column("row").to_pylist(),
                audited.column("status").to_pylist(),
                audited.column("reason").to_pylist(),
                audited.column("source_lines").to_pylist(),
                strict=True,
            )
    except InputError as error:
        out.refused = str(error)
    except Exception as error:  # a crash: what the fuzz is for
        where = traceback.extract_tb(error.__traceback__)[-1]
        out.crash = f"{type(error).__name__}: {str(error)[:300]} ({where.filename}:{where.lineno})"
    finally:
        readers.BLOCK_BYTES = saved
    return out


def covered_lines(reader: str, reason: str | None, lines: str | None) -> list[int]:
    """The lines one output row accounts for."""
    if reader == "csv" and reason:
        found = LINE_REASON.match(reason)
        if found:
            first = int(found.group(1))
            return list(range(first, int(found.group(2) or first) + 1))
    if not lines:
        return []
    return [int(x) if x.isascii() and x.isdigit() and len(x) < 12 else -1
            for x in lines.split(";")]


LABELS = {
    "crash": "crashes", "refusal": "unexpected_refusals", "records": "record_mismatches",
    "lines": "line_mismatches", "status": "status_errors",
}
"""What a failure breaks (its kind, and the figure that counts the files): no crash; refusals
only on purpose; rows out = records in and the numbering; every line once; a status for every
row and a reason for every bad one."""


def check(case: Case, out: Output) -> list[tuple[str, str]]:
    """What is wrong with one file's output: (kind among LABELS, description); [] if nothing."""
    if out.crash:
        return [("crash", out.crash)]
    if out.refused is not None:
        refused = f"refused: {out.refused[:300]}"
        return [] if case.refuse in (True, None) else [("refusal", refused)]
    problems: list[tuple[str, str]] = []
    if case.refuse:
        problems.append(("refusal", "read, though it should be refused"))
    for row, status, reason, lines in out.rows:
        if status not in STATUSES:
            problems.append(("status", f"row {row}: status {status!r}"))
        elif status == "bad_input" and not reason:
            problems.append(("status", f"row {row}: bad input without a reason"))
        if case.reader == "csv" and reason and lines and LINE_REASON.match(reason):
            named = covered_lines("csv", reason, None)[0]
            if int(lines.split(";")[0]) != named:
                problems.append(("lines", f"row {row}: source_lines {lines}, reason {reason}"))
    if case.reader != "dcir":
        numbers = sorted(r[0] for r in out.rows)
        if numbers != list(range(1, len(numbers) + 1)):
            dup = [n for n, k in Counter(numbers).items() if k > 1][:5]
            problems.append(
                ("records", f"rows not numbered 1..{len(numbers)} once (repeated: {dup})")
            )
        if case.records is not None and len(out.rows) != case.records:
            problems.append(("records", f"{case.records} records in, {len(out.rows)} rows out"))
    if case.reader in ("csv", "dcir") and (case.lines is not None or case.contiguous):
        seen = Counter(n for r in out.rows for n in covered_lines(case.reader, r[2], r[3]))
        twice = sorted(n for n, k in seen.items() if k > 1)
        expected = case.lines or []
        if case.contiguous is not None:
            first, last = case.contiguous
            top = max(seen, default=first - 1)
            expected = list(range(first, min(top, last) + 1))
        missing = sorted(set(expected) - set(seen))
        extra = sorted(set(seen) - set(expected))
        if twice or missing or extra:
            problems.append((
                "lines",
                f"{len(missing)} lines missing {missing[:5]}, {len(extra)} not in the file "
                f"{extra[:5]}, {len(twice)} twice {twice[:5]}",
            ))
    if case.reader == "jsonl":
        for row, _, reason, _ in out.rows:
            found = LINE_REASON.match(reason or "")
            if found and int(found.group(1)) != case.jsonl_lines.get(row):
                problems.append((
                    "lines",
                    f"row {row}: reason names line {found.group(1)}, the record is on line "
                    f"{case.jsonl_lines.get(row)}",
                ))
                break
    return problems


@dataclass
class Tally:
    files: int = 0
    records: int = 0
    rows_out: int = 0
    bad_input: int = 0
    refused: int = 0
    refused_records: int = 0
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    """Failing files by kind of failure (LABELS)."""
    kinds: Counter[str] = field(default_factory=Counter)
    known_records: int = 0
    """Records of the files read whose records are known (all but stray-quote CSV, SNDS)..."""
    known_rows: int = 0
    """... and the rows out of those files: equal when every invariant held."""
    lines: int = 0
    """Lines whose coverage was checked (CSV physical lines, SNDS line numbers)."""


def cases(reader: str, rows: int, rng: random.Random, work: Path) -> Iterator[Case]:
    written = 0
    number = 0
    while written < rows:
        number += 1
        n = file_size(rng, rows - written)
        case = GENERATORS[reader](rng, work / f"{reader}-{number:05d}", n)
        case.chunk_rows = chunk_size(rng, case.written)
        written += max(case.written, 1)
        yield case


def fuzz(reader: str, rows: int, rng: random.Random, auditor: Auditor, work: Path,
         failures: list[tuple[Case, str]], keep: Path | None, verbose: bool = False) -> Tally:
    tally = Tally()
    for case in cases(reader, rows, rng, work):
        start = time.perf_counter()
        out = run(case, auditor)
        took = time.perf_counter() - start
        tally.seconds += took
        if verbose:
            print(f"  {case.path.name} {case.kind} {case.written} records {len(out.rows)} rows "
                  f"chunk {case.chunk_rows} block {case.block}: {took:.2f} s, "
                  f"{auditor.solved} solved", flush=True)
        tally.files += 1
        tally.records += case.written
        tally.kinds[case.kind] += 1
        tally.rows_out += len(out.rows)
        tally.bad_input += sum(1 for r in out.rows if r[1] == "bad_input")
        if out.refused is not None:
            tally.refused += 1
            tally.refused_records += case.written
        elif out.crash is None:
            if case.records is not None:
                tally.known_records += case.records
                tally.known_rows += len(out.rows)
            if case.lines is not None or case.contiguous is not None:
                tally.lines += len({n for r in out.rows
                                    for n in covered_lines(case.reader, r[2], r[3])})
        problems = check(case, out)
        for kind in {kind for kind, _ in problems}:
            tally.failures[kind] += 1
        failures += [(case, f"{kind}: {text}") for kind, text in problems]
        if problems and keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(case.path, keep / case.path.name)
        case.path.unlink()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="records per reader")
    parser.add_argument("--seed", type=int, default=20250630)
    parser.add_argument("--readers", default=",".join(READERS),
                        help=f"comma-separated, among {', '.join(READERS)}")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the files of failing cases into this directory")
    parser.add_argument("--verbose", action="store_true", help="one line per file")
    args = parser.parse_args()
    chosen = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in READERS]
    if unknown:
        parser.error(f"unknown reader(s) {', '.join(unknown)}; expected {', '.join(READERS)}")
    start = time.perf_counter()
    auditor = Auditor(Nomenclature.load(), today=TODAY)
    print(f"rule base loaded in {time.perf_counter() - start:.1f} s; seed {args.seed}, "
          f"{args.rows:,} records per reader, today {TODAY}")
    figures: dict[str, Any] = {"seed": args.seed, "rows_per_reader": args.rows}
    failures: list[tuple[Case, str]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="ngap-fuzz-") as tmp:
        for reader in chosen:
            rng = random.Random(f"{args.seed}:{reader}")
            began = time.perf_counter()
            tally = fuzz(reader, args.rows, rng, auditor, Path(tmp), failures, args.keep,
                         args.verbose)
            wall = time.perf_counter() - began
            share = tally.bad_input / tally.rows_out if tally.rows_out else 0.0
            rate = tally.records / tally.seconds if tally.seconds else 0.0
            ok = ok and not tally.failures
            counts = {label: tally.failures[kind] for kind, label in LABELS.items()}
            print(
                f"{reader:8} {tally.files:5} files {tally.records:9,} records in "
                f"{tally.rows_out:9,} rows out   bad_input {share:6.1%}   refused "
                f"{tally.refused} files ({tally.refused_records:,} records)   "
                f"{tally.seconds:6.1f} s {rate:8,.0f} records/s (wall {wall:.1f} s)"
            )
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"         rows in = rows out where the records are known: "
                  f"{tally.known_records:,} = {tally.known_rows:,}; lines checked once each: "
                  f"{tally.lines:,}; peak RSS so far {rss:,.0f} MB")
            print("         failing files: "
                  + ", ".join(f"{label.replace('_', ' ')} {n}" for label, n in counts.items()))
            print(f"         files by kind: {dict(sorted(tally.kinds.items()))}")
            figures[reader] = {
                "files": tally.files, "records_in": tally.records, "rows_out": tally.rows_out,
                "bad_input_share": round(share, 4), "refused_files": tally.refused,
                "refused_records": tally.refused_records,
                "known_records_in": tally.known_records, "known_rows_out": tally.known_rows,
                "lines_checked": tally.lines, **counts,
                "seconds": round(tally.seconds, 1), "records_per_s": round(rate, 1),
            }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_rss_mb"] = round(peak, 1)
    figures["solved_situations"] = auditor.solved
    figures["failures"] = len(failures)
    figures["ok"] = int(ok)
    print(f"peak RSS {peak:,.0f} MB; {auditor.solved} situations solved")
    if failures:
        print(f"{len(failures)} failure(s); the first {min(len(failures), MAX_EXAMPLES)}:")
        for case, problem in failures[:MAX_EXAMPLES]:
            print(f"  {case.reader} {case.path.name} ({case.kind}, chunk_rows {case.chunk_rows}"
                  f"{f', block {case.block}' if case.block else ''}): {problem}")
    else:
        print("every invariant held")
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    pa.set_cpu_count(1)  # one core means one core
    sys.exit(main())
