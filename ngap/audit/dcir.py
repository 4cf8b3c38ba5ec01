"""Line-level SNDS DCIR claims (table ER_PRS_F) grouped into encounters for ``ngap audit``.

DCIR records what was *billed and reimbursed*, one row per benefit line, not what was done nor when
in the day.  This reader groups the lines of one encounter, turns their benefit natures into NGAP
codes and leaves every context DCIR does not record *unknown* (empty cell), so the audit judges a
claimed night majoration as "valid only if the act was urgent and at night", not as a violation.

Reading
    CSV (delimiter sniffed from the header: ``;`` as in SNDS exports, ``,``, tab or ``|``) or
    Parquet (suffix ``.parquet`` / ``.pq``), every column read as text, by an in-process DuckDB
    connection that scans, groups and sorts the file and hands the encounters over in batches of
    ``chunk_rows``: the file is never loaded whole into Python.  A file of ``SPLIT_LINES`` lines
    or more is grouped in pieces, in memory that does not grow with the file: one pass writes its
    lines to temporary Parquet files by a hash of their encounter key, each piece is grouped
    alone and the pieces' encounters are merged by first line (the same encounters, in the same
    order, as one query gives).  A CSV that is not valid UTF-8 is
    read as Latin-1 (through a temporary UTF-8 copy: DuckDB's own Latin-1 refuses the bytes
    0x80-0x9F that Windows-1252 files hold), and every encounter says so in its notes.  A record
    with fewer fields than the header is padded with empty cells; one with more is a bad line.  A
    record may hold quoted line breaks and be up to ``MAX_RECORD_BYTES`` long (a file with a
    record longer than ``RECORD_BYTES`` is scanned a second time, with larger buffers).  Required
    columns: BEN_NIR_PSA, BEN_RNG_GEM, PFS_EXE_NUM, EXE_SOI_DTD, PRS_NAT_REF, PRS_ACT_QTE (a file
    without one of them raises ``InputError``); every other column below is optional (absent = not
    recorded).  Cell texts declared to mean unknown (``--null NA``) are empty cells, compared as
    the encounter readers compare them (``readers.WHITESPACE`` trimmed; Parquet: text columns).

Line numbers
    Line 1 is the CSV header; line 2 is the first data record, and each record counts one line
    (blank lines are skipped, a quoted field holding a newline does not count twice).  In Parquet,
    line 1 is the first record.  Every line ends up exactly once either in the ``_lines`` of one
    encounter row or as a ``BadRow`` whose ``row`` and ``line`` are its line number.

Encounter key
    (BEN_NIR_PSA, BEN_RNG_GEM, PFS_EXE_NUM, EXE_SOI_DTD): the beneficiary (pseudonymised NIR and
    birth rank), the executing practitioner and the day of care.  Several acts of the same
    practitioner for the same patient on the same day therefore merge into one encounter: DCIR
    cannot tell them apart.  ``id`` is the key joined with ``|`` (date as ISO YYYY-MM-DD),
    ``patient_id`` is ``BEN_NIR_PSA|BEN_RNG_GEM``, ``practitioner_id`` is PFS_EXE_NUM.  Values are
    trimmed.  EXE_SOI_DTD may be ISO (YYYY-MM-DD, optionally with a time), YYYYMMDD, the SAS forms
    DDMMMYYYY:hh:mm:ss and DDMMMYYYY, or DD/MM/YYYY.  A line whose key has an empty part, whose date
    does not parse or lies outside 2022-01-01..today is a ``BadRow`` naming the column and value.

Which nature a line bills
    A majoration line (CPL_MAJ_TOP = 2) bills its complement nature CPL_PRS_NAT (PRS_NAT_REF being
    the main act it belongs to, as SNDS documents); any other line bills PRS_NAT_REF.  A file
    without CPL_MAJ_TOP is read as one nature per line in PRS_NAT_REF.  Natures become codes through
    ``data/nat_to_ngap.csv`` (curated from IR_NAT_V, April 2021): ``code`` rows give the NGAP code;
    ``letter_k`` (nature 1312, K) gives ``K<PRS_ACT_CFT>`` when the catalogue has it (K0.7, K1, K9,
    K16), and the half coefficient 4.5 / 8 gives K9/2 / K16/2 only when the same encounter bills
    K9 / K16 (otherwise the line is reported, not guessed); ``ccam`` natures (ATM, ADC, ADE, ADI)
    take their code from an optional CAM_PRS_IDE column (joined from ER_CAM_F) when it is a CCAM
    code of the catalogue; ``not_billed`` natures (patient participations, franchises, lump sums)
    are accounting lines, kept in ``_lines`` and ignored; any other nature is reported in
    ``_notes`` (``line 7: benefit nature 1095 (LABEL) has no NGAP code in our mapping, not
    audited``) and never guessed.  Codes created after April 2021 cannot appear.

Quantities and cancellations
    Quantities PRS_ACT_QTE are netted per (encounter, nature, K coefficient, CCAM code): DCIR
    cancels a line by a line of negative quantity and amounts, so ``line 9 cancels line 4`` is
    noted and a nature whose net quantity is <= 0 is not claimed.  A claimed code is repeated by
    its whole net quantity (up to MAX_REPEAT; otherwise, or for a fractional quantity, once and
    noted): two paid G of one day are two claimed lines, valid only if they were two separate
    sessions (the audit says so: ``sessions=separate``).  IK, IKM and IKS are per kilometre:
    their net quantity is the billed kilometres, summed into ``travel_km``, and the code appears
    once.  An unparseable PRS_NAT_REF or PRS_ACT_QTE makes the line a ``BadRow``; an amount
    (PRS_PAI_MNT, BSE_REM_BSE) whose sign contradicts the quantity, or that does not parse, is
    noted.

Context columns (text; empty = unknown to the audit)
    ``date``: EXE_SOI_DTD in ISO.  ``time``, ``call_time``: empty (not recorded).
    ``place``: EXE_LIE_COD 0 -> office, 1 -> home (IR_LIE_V), anything else empty; ``tele`` when a
    claimed code is a teleconsultation or tele-expertise code (TCG, TC, TE2), DCIR having no place
    code for it.
    ``practitioner_specialty``: PSE_SPE_COD 1 -> gp; 22 and 23 (IR_SPE_V: "specialiste en medecine
    generale avec diplome" / "reconnue par l'Ordre") -> gp_specialist; 0, 99 or empty -> empty;
    any other specialty of IR_SPE_V puts the encounter out of scope: each of its lines is a
    ``BadRow`` "practitioner specialty NN (LABEL) is not general practice".
    ``practitioner_sector``: PSE_CNV_COD through IR_CNV_V: 1 (conventionne) -> 1; 2 (sector 1 with
    permanent right to overrun, "DP") and 3 (sector 2, honoraires libres) -> 2; 0 (not
    conventioned), 8 and 9 (unknown, salaried) -> empty, noted.  ``practitioner_optam``: empty.
    ``practitioner_rate``: PRS_OPS_TRF (IR_TOP_V) 2 on any line -> above, else 1 -> opposable, else
    empty.  ``practitioner_treating_doctor``: true when PRS_MTT_NUM equals PFS_EXE_NUM, false when
    both are known and differ, else empty.  ``patient_has_treating_doctor``: true when PRS_MTT_NUM
    holds a number (not empty, not all 0 or all 9), else empty.
    ``patient_age_years`` / ``_months``: BEN_AMA_COD (IR_AMA_V) 1000 + months under two years,
    years from 2 on; 0 and 9999 -> empty.
    ``patient_sex``: BEN_SEX_COD 1 -> m, 2 -> f, else empty.  ``patient_birth_year``: BEN_NAI_ANN
    when a year between 1880 and the year of care, else empty (noted).  ``patient_ald``: true when
    a line's EXO_MTF is 41-46 (IR_EXO_V: exemption for a listed, off-list or multiple long-term
    condition, care related to it or not), else empty.  ``patient_ald_neuro``,
    ``patient_palliative``, ``patient_unable_to_move``, every ``circumstances_*`` flag and every
    ``travel_*`` yes/no flag: empty (not recorded).  ``travel_km``: the IK kilometres, empty when
    no IK is claimed.  The zone (metro / DROM), Alsace-Moselle, the PDSA order and the rank in a
    several-patient trip are not in ER_PRS_F: those columns are left out (model defaults).
    When lines of one encounter disagree on a context column, the first line's value is kept and
    the disagreement noted.

What was done
    DCIR records what was billed, not what was done.  ``done`` is the set of activities the claimed
    codes require in the rule base (``Nomenclature.required_activities()``): a code that requires
    one activity contributes it; a code that admits several (CCX: ase / cse / cso, CCE: cte / mph,
    MTX: mis / piv) contributes the one named like the code if there is one, and otherwise ``done``
    is left EMPTY (unknown) for the whole encounter rather than guessed.  ``done`` is also empty
    when no claimed code requires an activity (e.g. only majorations, or nothing mapped).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import heapq
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ngap import clock
from ngap.audit.batches import BadRow, RawBatch
from ngap.audit.columns import INPUT_COLUMNS
from ngap.audit.readers import WHITESPACE
from ngap.io import InputError
from ngap.model.catalogue import load_catalogue

KEY = ("BEN_NIR_PSA", "BEN_RNG_GEM", "PFS_EXE_NUM", "EXE_SOI_DTD")
REQUIRED = (*KEY, "PRS_NAT_REF", "PRS_ACT_QTE")
OPTIONAL = (
    "CPL_PRS_NAT", "CPL_MAJ_TOP", "PRS_ACT_CFT", "PRS_PAI_MNT", "BSE_REM_BSE", "PSE_SPE_COD",
    "PSE_CNV_COD", "EXE_LIE_COD", "PRS_OPS_TRF", "PRS_MTT_NUM", "BEN_SEX_COD", "BEN_NAI_ANN",
    "EXO_MTF", "CAM_PRS_IDE", "BEN_AMA_COD",
)
FIRST_DAY = dt.date(2022, 1, 1)
"""Care before this day is outside the knowledge base (tariffs are dated from 2022)."""
DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d", "%d%b%Y:%H:%M:%S", "%d%b%Y",
    "%d/%m/%Y",
)
PER_KM = frozenset({"IK", "IKM", "IKS"})
"""Travel codes priced per kilometre: their DCIR quantity is the number of kilometres."""
TELE_ACTIVITY = re.compile(r"^tele")
ALD_EXEMPTIONS = frozenset(range(41, 47))
"""EXO_MTF (IR_EXO_V) 41-46: co-payment exemption for a long-term condition (ALD)."""
GP_SPECIALTIES = {1: "gp", 22: "gp_specialist", 23: "gp_specialist"}
UNKNOWN_SPECIALTIES = frozenset({0, 99})
SECTOR_OF_CONVENTION = {1: "1", 2: "2", 3: "2"}
"""PSE_CNV_COD -> model sector: sector 1 DP is treated as sector 2 (see the encounter model)."""
CCAM_KINDS = frozenset({"ccam", "ccam_supplement"})
OVERFLOW = 16
"""Spare columns read after the header's: a line with up to this many extra fields is one bad
line, not a refused file."""
OVERFLOW_PREFIX = "__ngap_overflow_"
MAX_RECORD_BYTES = 1 << 26
"""A CSV record (one line, or the lines a quote left open holds together) longer than this
refuses the file, naming its line.  DuckDB's own limit (2 MB) refused it for one long cell."""
RECORD_BYTES = 1 << 20
"""The longest record the first scan of a CSV takes; a file with a longer one is scanned again
with ``MAX_RECORD_BYTES``.  DuckDB reads a CSV in buffers of 16 times its longest record unless
told otherwise, capped only by the file size: with 64 MiB records the buffer grew with the file
(a 90 MB extract went past the memory cap)."""
BUFFER_BYTES = 1 << 23
"""DuckDB's CSV buffer for the first scan (at least ``RECORD_BYTES``; the scan of a file with
longer records reads buffers of ``MAX_RECORD_BYTES``)."""
SPLIT_LINES = 1 << 17
"""Lines from which a file is grouped piece by piece (``_scan_pieces``) rather than in one
query, whose memory grows with the file and is held while the encounters are built: 131 072
lines, about 15 MB of an extract with the columns of ``examples/audit/dcir_sample.csv``."""
PIECE_LINES = 1 << 17
"""Lines per piece when a file is grouped piece by piece (a piece is grouped as a file of
``SPLIT_LINES`` lines would be)."""
LINE_BYTES = 128
"""A CSV counts as at least its size divided by this many lines: long cells take memory as
lines do."""
MERGE_ROWS = 256
"""Encounters per batch of a grouped piece, the batch read at once from each piece while the
pieces are merged: the merge holds one batch per piece."""
MERGE_SLICE = 32
"""Encounters of a batch turned into Python values at once while the pieces are merged."""
MAX_DIGITS = 12
"""Numbers of more digits are no quantity, code or amount of a claim line: read as unusable."""
MAX_REPEAT = 10
"""A code repeated more often in one encounter is claimed once (and noted)."""
LATIN1_NOTE = "file is not valid UTF-8: read as Latin-1"
ASCII_NOTE = (
    "the CSV parser refused a character of the file after a quote: characters outside ASCII "
    "read as \\x escapes"
)

_CIRCUMSTANCES = tuple(n for n in INPUT_COLUMNS if n.startswith("circumstances_"))
_TRAVEL_FLAGS = tuple(
    n for n, c in INPUT_COLUMNS.items() if n.startswith("travel_") and c.kind == "flag"
)
OUTPUT_NAMES: tuple[str, ...] = (
    "id", "patient_id", "practitioner_id", "date", "time", "call_time", "place",
    "practitioner_specialty", "practitioner_sector", "practitioner_optam", "practitioner_rate",
    "practitioner_treating_doctor", "patient_sex", "patient_birth_year", "patient_age_years",
    "patient_age_months", "patient_ald",
    "patient_ald_neuro", "patient_palliative", "patient_has_treating_doctor",
    "patient_unable_to_move", *_CIRCUMSTANCES, *_TRAVEL_FLAGS, "travel_km", "done", "claimed",
    "_notes", "_lines",
)
SCHEMA = pa.schema([pa.field(name, pa.string()) for name in OUTPUT_NAMES])


# ------------------------------------------------------------------------------ reference data
@dataclass(frozen=True)
class Mapping:
    """One row of ``nat_to_ngap.csv``."""

    nature: int
    short: str
    label: str
    mapping: str
    code: str
    comment: str


@dataclass(frozen=True)
class Reference:
    """The SNDS nomenclatures and the nature mapping, read once from the package data."""

    natures: dict[int, tuple[str, str]]
    mappings: dict[int, Mapping]
    specialties: dict[int, str]
    conventions: dict[int, str]
    code_kinds: dict[str, str]
    activities: dict[str, set[str]]

    def nature_text(self, nature: int) -> str:
        """``1110 (CONSULTATION MEDECINE GENERALE)``: a nature as a note names it."""
        known = self.natures.get(nature)
        return f"{nature} ({known[1]})" if known else str(nature)


def _data_text(name: str) -> str:
    return resources.files("ngap.audit").joinpath("data", name).read_text(encoding="utf-8")


def _table(name: str) -> list[dict[str, str]]:
    """An SNDS nomenclature CSV (``;``, header line; ``#`` comment lines skipped)."""
    lines = [line for line in _data_text(name).splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter=";"))


def _mappings(codes: dict[str, str]) -> dict[int, Mapping]:
    out: dict[int, Mapping] = {}
    for row in _table("nat_to_ngap.csv"):
        item = Mapping(
            int(row["PRS_NAT"]), row["PRS_NAT_CB2"], row["PRS_NAT_LIB"], row["mapping"],
            row["ngap_code"], row["comment"],
        )
        if item.mapping == "code" and item.code not in codes:
            raise ValueError(f"nat_to_ngap.csv: {item.code} is not a code of the catalogue")
        out[item.nature] = item
    return out


@functools.cache
def reference() -> Reference:
    """Load the nomenclatures, the catalogue's code kinds and the rule base's activities once."""
    from ngap.solver.engine import Nomenclature

    kinds = {code.code: code.kind for code in load_catalogue().codes.values()}
    return Reference(
        natures={
            int(r["PRS_NAT"]): (r["PRS_NAT_CB2"], r["PRS_NAT_LIB"]) for r in _table("IR_NAT_V.csv")
        },
        mappings=_mappings(kinds),
        specialties={int(r["PFS_SPE_COD"]): r["PFS_SPE_LIB"] for r in _table("IR_SPE_V.csv")},
        conventions={int(r["PFS_CNV_COD"]): r["PFS_CNV_LIB"] for r in _table("IR_CNV_V.csv")},
        code_kinds=kinds,
        activities=Nomenclature.load().required_activities(),
    )


# ------------------------------------------------------------------------------ small parsers
def _decimal(text: str | None) -> Decimal | None:
    """A number written with a point or a French comma; None when it is not a finite number."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value.adjusted() > MAX_DIGITS:
        return None
    return value


def _whole(text: str | None) -> int | None:
    """A code written as a whole number (``1110``, ``1110.0`` from a numeric Parquet column)."""
    value = _decimal(text)
    if value is None or value != value.to_integral_value() or value < 0:
        return None
    return int(value)


def _plain(value: Decimal) -> str:
    """``9``, ``0.7``, ``-1``: a decimal without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class _Source:
    path: Path
    parquet: bool
    delimiter: str
    names: dict[str, str]
    """Upper-case column name -> name in the file."""
    skip: int = 0
    """Blank lines before the header."""
    header: tuple[str, ...] = ()
    """The CSV header's names (made unique), read by ``csv`` rather than sniffed: a sniffer
    refuses a whole file for one line with an extra field."""
    copy: Path | None = None
    """The file DuckDB scans instead, when it cannot read this one as is (``_text_copy``)."""
    nulls: tuple[str, ...] = ()
    """Cell texts that mean unknown besides the empty cell (``--null``)."""
    text: frozenset[str] | None = None
    """The columns stored as text (Parquet): only a text cell can be a null sentinel, as in the
    encounter tables; None for a CSV, whose cells are all text."""
    long_records: bool = False
    """Scan with records of up to ``MAX_RECORD_BYTES`` (and buffers as large), not
    ``RECORD_BYTES``: the first scan met a longer record."""

    def scan(self, encoding: str) -> str:
        """The DuckDB table function that reads the file, every column as text.

        A CSV is read with the header's columns plus ``OVERFLOW`` spare ones: a line with more
        fields than the header fills them and becomes a bad line of its own.
        """
        path = _sql_text(str(self.copy or self.path))
        if self.parquet:
            return f"read_parquet({path})"
        names = [*self.header, *(f"{OVERFLOW_PREFIX}{i}" for i in range(1, OVERFLOW + 1))]
        columns = "{" + ", ".join(f"{_sql_text(n)}: 'VARCHAR'" for n in names) + "}"
        record, buffer = (
            (MAX_RECORD_BYTES, MAX_RECORD_BYTES) if self.long_records
            else (RECORD_BYTES, BUFFER_BYTES)
        )
        return (
            f"read_csv({path}, delim={_sql_text(self.delimiter)}, header=false, "
            f"skip={self.skip + 1}, auto_detect=false, columns={columns}, "
            f"quote='\"', escape='\"', comment='', null_padding=true, "
            f"strict_mode=false, parallel=false, max_line_size={record}, "
            f"buffer_size={buffer}, encoding={_sql_text(encoding)})"
        )


def _delimiter(path: Path) -> tuple[str, int] | None:
    """The header's most frequent delimiter and the blank lines before the header; None for a
    file with no header at all."""
    skip = 0
    with path.open("rb") as handle:
        for first in iter(lambda: handle.readline(1 << 20), b""):
            header = first.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            if header:
                counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
                best = max(counts, key=lambda d: counts[d])
                return (best if counts[best] else ","), skip
            skip += 1
    return None


def _connect() -> duckdb.DuckDBPyConnection:
    """One thread and insertion order kept, so that row numbers follow the file."""
    from ngap.audit.duck import connect

    return connect(ordered=True)


def _is_encoding_error(error: Exception) -> bool:
    message = str(error).lower()
    return "unicode" in message or "utf-8" in message or "utf8" in message


def _csv_header(path: Path, delimiter: str, skip: int) -> tuple[str, ...]:
    """The header line's names (quotes understood), unique: a repeat gets ``_2``, ``_3``..."""
    with path.open("rb") as handle:
        for _ in range(skip):
            handle.readline(1 << 20)
        raw = handle.readline(1 << 20)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    fields = next(csv.reader([text.lstrip("\ufeff").rstrip("\r\n")], delimiter=delimiter), [])
    names: list[str] = []
    for position, name in enumerate(fields, start=1):
        name = name.strip() or f"column_{position}"
        unique, rank = name, 1
        while unique in names:
            rank += 1
            unique = f"{name}_{rank}"
        names.append(unique)
    return tuple(names)


def _column_names(
    con: duckdb.DuckDBPyConnection, source: _Source
) -> tuple[list[str], frozenset[str] | None]:
    """The file's column names, and for Parquet those stored as text (VARCHAR or BLOB, which
    the encounter reader also reads as text)."""
    if not source.parquet:
        return list(source.header), None
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {source.scan('utf-8')}").fetchall()
    except duckdb.Error as error:
        raise InputError(f"{source.path}: cannot read the file: {error}") from error
    text = frozenset(str(r[0]) for r in rows if str(r[1]) in ("VARCHAR", "BLOB"))
    return [str(r[0]) for r in rows], text


def _open(path: Path, nulls: tuple[str, ...] = ()) -> _Source | None:
    """Check the file and its columns; None when there is nothing to read."""
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    sniffed = (",", 0) if parquet else _delimiter(path)
    if sniffed is None:
        return None
    delimiter, skip = sniffed
    header = () if parquet else _csv_header(path, delimiter, skip)
    probe = _Source(path, parquet, delimiter, {}, skip, header)
    con = _connect()
    try:
        names, text = _column_names(con, probe)
    finally:
        con.close()
    found = {name.strip().upper(): name for name in names}
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise InputError(
            f"{path}: not an ER_PRS_F extract: missing column(s) {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED)})"
        )
    return _Source(path, parquet, delimiter, found, skip, header, nulls=nulls, text=text)


def _keyed(source: _Source, encoding: str) -> str:
    """Number and date the lines (CTE ``keyed``); a line with an incomplete or impossible key,
    or with more fields than the header, is ``lonely``: it forms a group of its own."""

    def col(name: str) -> str:
        actual = source.names.get(name)
        if actual is None:
            return "NULL::VARCHAR"
        quoted = '"' + actual.replace('"', '""') + '"'
        value = f"nullif(trim(CAST({quoted} AS VARCHAR)), '')"
        if source.nulls and (source.text is None or actual in source.text):
            # A declared sentinel is compared as the encounter readers compare it: the whole
            # cell, trimmed of every white space they trim ($blank), not only of spaces.
            return (
                f"CASE WHEN list_contains($nulls, trim(CAST({quoted} AS VARCHAR), $blank)) "
                f"THEN NULL ELSE {value} END"
            )
        return value

    offset = 0 if source.parquet else 1 + source.skip
    formats = "[" + ", ".join(_sql_text(f) for f in DATE_FORMATS) + "]"
    columns = ", ".join(f"{col(c)} AS {c.lower()}" for c in (*REQUIRED, *OPTIONAL))
    overflow = "FALSE" if source.parquet else (
        "(" + " OR ".join(
            f'"{OVERFLOW_PREFIX}{i}" IS NOT NULL' for i in range(1, OVERFLOW + 1)
        ) + ")"
    )
    return f"""
        WITH numbered AS (
            SELECT row_number() OVER () + {offset} AS line, {columns}, {overflow} AS overflow
            FROM {source.scan(encoding)}
        ),
        dated AS (
            -- DuckDB's strptime also takes 'epoch' and 'infinity' (a date Arrow cannot hold):
            -- a day of care starts with a digit in every form DATE_FORMATS reads.
            SELECT *, CASE WHEN regexp_matches(exe_soi_dtd, '^[0-9]')
                           THEN CAST(try_strptime(exe_soi_dtd, {formats}) AS DATE) END AS day
            FROM numbered
        ),
        keyed AS (
            SELECT *, (overflow OR ben_nir_psa IS NULL OR ben_rng_gem IS NULL
                       OR pfs_exe_num IS NULL
                       OR day IS NULL OR day < DATE '{FIRST_DAY.isoformat()}'
                       OR day > CAST($today AS DATE)) AS lonely
            FROM dated
        )
    """


def _grouped(lines: str) -> str:
    """The lines of ``lines`` (the columns of ``keyed``) grouped into encounters, ordered by
    their first line; a lonely line stays alone.

    An encounter's lines are sorted after they are gathered (``list_sort``: a struct sorts by
    its first field, the line number, unique), not by an ordered aggregate
    (``list(... ORDER BY line)``), which keeps a sorting state per group: grouping the lines of
    a 20 MB extract took 164 MB this way and went past the 256 MB cap that way.
    """
    fields = ", ".join(f"{c.lower()} := {c.lower()}" for c in (*REQUIRED, *OPTIONAL, "OVERFLOW"))
    return f"""
        SELECT ben_nir_psa, ben_rng_gem, pfs_exe_num, day, bool_or(lonely) AS lonely,
               min(line) AS first_line,
               list_sort(list(struct_pack(line := line, {fields}))) AS lines
        FROM {lines}
        GROUP BY ben_nir_psa, ben_rng_gem, pfs_exe_num, day, CASE WHEN lonely THEN line END
        ORDER BY first_line
    """


def _query(source: _Source, encoding: str) -> str:
    """Group the lines into encounters in one query."""
    return _keyed(source, encoding) + _grouped("keyed")


def _pieces_query(source: _Source, encoding: str, pieces: int) -> str:
    """The keyed lines, each with its ``piece``: a hash of its encounter key, so that all the
    lines of an encounter go to one piece; a lonely line, a group of its own, by its number."""
    return _keyed(source, encoding) + f"""
        SELECT *, CASE WHEN lonely THEN line % {pieces}
                       ELSE CAST(hash(ben_nir_psa, ben_rng_gem, pfs_exe_num, day) % {pieces}
                                 AS BIGINT)
                  END AS piece
        FROM keyed
    """


def _params(source: _Source, today: dt.date) -> dict[str, Any]:
    params: dict[str, Any] = {"today": today.isoformat()}
    if source.nulls:
        params.update(nulls=sorted(set(source.nulls)), blank=WHITESPACE)
    return params


def _line_count(con: duckdb.DuckDBPyConnection, source: _Source, breaks: int) -> int:
    """The lines a file counts as, to choose how it is grouped: a Parquet file's rows; a CSV's
    line breaks (``breaks``), or its size divided by ``LINE_BYTES`` if more."""
    if not source.parquet:
        return max(breaks, (source.copy or source.path).stat().st_size // LINE_BYTES)
    ((rows,),) = con.execute(f"SELECT count(*) FROM {source.scan('utf-8')}").fetchall()
    return int(rows)


def _piece_count(lines: int) -> int:
    """1 (one query) under ``SPLIT_LINES``, else pieces of at most about ``PIECE_LINES``."""
    if lines < SPLIT_LINES:
        return 1
    return max(2, -(-lines // max(PIECE_LINES, 1)))


Groups = Generator[list[dict[str, Any]], None, None]
"""Encounter groups (the columns of ``_grouped``, as Python values) in lists of ``chunk_rows``,
by first line."""


@dataclass
class _Scan:
    """A scan that ran: its groups, the notes every encounter carries, and what to release when
    the groups are read or abandoned (the connection streaming them, the copy, the pieces)."""

    groups: Groups
    notes: list[str]
    source: _Source
    con: duckdb.DuckDBPyConnection | None = None
    workdir: Path | None = None

    def close(self) -> None:
        try:
            self.groups.close()
            if self.con is not None:
                self.con.close()
        finally:
            _drop_copy(self.source)
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)


def _chunks(groups: Iterator[dict[str, Any]], size: int) -> Groups:
    while chunk := list(itertools.islice(groups, size)):
        yield chunk


def _rows(batches: Iterable[pa.RecordBatch], size: int = 0) -> Iterator[dict[str, Any]]:
    """The rows of ``batches`` as dicts, converted ``size`` at a time (0: a batch at a time)."""
    for batch in batches:
        step = size or batch.num_rows
        for start in range(0, batch.num_rows, step):
            yield from batch.slice(start, step).to_pylist()


def _arrow_reader(relation: duckdb.DuckDBPyRelation, size: int) -> pa.RecordBatchReader:
    if hasattr(relation, "to_arrow_reader"):
        return relation.to_arrow_reader(size)
    return relation.fetch_record_batch(size)


def _scan_whole(
    con: duckdb.DuckDBPyConnection, source: _Source, chunk_rows: int, today: dt.date,
    notes: list[str],
) -> _Scan:
    """Group the whole file in one query (the scan runs before the first batch comes)."""
    reader = _arrow_reader(
        con.sql(_query(source, "utf-8"), params=_params(source, today)), chunk_rows
    )
    try:
        first = reader.read_next_batch()
    except StopIteration:
        return _Scan(_chunks(iter(()), chunk_rows), notes, source, con)
    groups = _rows(itertools.chain([first], reader))
    return _Scan(_chunks(groups, chunk_rows), notes, source, con)


_PIECE_IPC = pa.ipc.IpcWriteOptions(compression="lz4", use_threads=False)


def _scan_pieces(
    con: duckdb.DuckDBPyConnection, source: _Source, chunk_rows: int, today: dt.date,
    notes: list[str], pieces: int,
) -> _Scan:
    """Group the file piece by piece, in memory that does not grow with the file.

    One streaming pass writes the keyed lines to ``pieces`` Parquet files by a hash of their
    encounter key (``_pieces_query``).  Each piece is then grouped alone, as ``_query`` groups
    a whole file, and its groups, ordered by first line, are written to an Arrow stream file in
    batches of ``MERGE_ROWS``.  The pieces' groups are merged by first line as they are read,
    without DuckDB.  The groups, their order and their lines are those of ``_query``.
    Everything is written under a temporary directory, removed by ``_Scan.close`` or on error.
    """
    workdir = Path(tempfile.mkdtemp(prefix="ngap-dcir-"))
    try:
        lines = workdir / "lines"
        con.execute(
            f"COPY ({_pieces_query(source, 'utf-8', pieces)}) TO {_sql_text(str(lines))} "
            "(FORMAT parquet, PARTITION_BY (piece))",
            _params(source, today),
        ).fetchall()
        grouped: list[Path] = []
        for piece in range(pieces):
            folder = lines / f"piece={piece}"
            if not folder.is_dir():  # no line hashed to this piece
                continue
            files = _sql_text(str(folder / "*.parquet"))
            reader = _arrow_reader(
                con.sql(_grouped(f"read_parquet({files}, hive_partitioning=false)")), MERGE_ROWS
            )
            target = workdir / f"groups-{piece}.arrows"
            with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_stream(
                sink, reader.schema, options=_PIECE_IPC
            ) as writer:
                for batch in reader:
                    writer.write_batch(batch)
            shutil.rmtree(folder)
            grouped.append(target)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return _Scan(_chunks(_merged(grouped), chunk_rows), notes, source, None, workdir)


def _merged(files: list[Path]) -> Iterator[dict[str, Any]]:
    """The groups of every piece in one stream by first line (each piece is ordered by it)."""
    return heapq.merge(*(_piece(path) for path in files), key=lambda group: group["first_line"])


def _piece(path: Path) -> Iterator[dict[str, Any]]:
    """The groups of one piece, a batch of ``MERGE_ROWS`` read at a time."""
    with pa.OSFile(str(path), "rb") as source:
        yield from _rows(pa.ipc.open_stream(source), MERGE_SLICE)


def _attempt(
    source: _Source, chunk_rows: int, today: dt.date, notes: list[str], breaks: int
) -> _Scan:
    """One scan of the file, in one query or in pieces as its size asks."""
    con = _connect()
    try:
        pieces = _piece_count(_line_count(con, source, breaks))
        if pieces == 1:
            return _scan_whole(con, source, chunk_rows, today, notes)
        scan = _scan_pieces(con, source, chunk_rows, today, notes, pieces)
    except BaseException:
        con.close()
        raise
    con.close()  # the pieces are merged without DuckDB: its memory goes now
    return scan


def _is_long_record_error(error: Exception) -> bool:
    return "maximum line size" in str(error).lower()


def _scan(source: _Source, chunk_rows: int, today: dt.date) -> _Scan:
    """Run the grouping, retrying as the file asks.

    The source scanned may name a temporary copy of the file that ``_Scan.close`` deletes: a
    UTF-8 copy of a CSV that is not UTF-8, or an ASCII copy when DuckDB refuses valid UTF-8
    (with ``strict_mode`` off, its parser fails on a character outside ASCII right after a
    closing quote, as in ``"0"é``: a stray quote is enough).  A CSV with a record longer than
    ``RECORD_BYTES`` is scanned again with records of up to ``MAX_RECORD_BYTES``.
    """
    notes: list[str] = []
    utf8, breaks = (True, 0) if source.parquet else _survey(source.path)
    if not utf8:
        source, notes = replace(source, copy=_text_copy(source.path, "latin-1")), [LATIN1_NOTE]
    while True:
        try:
            return _attempt(source, chunk_rows, today, notes, breaks)
        except (duckdb.Error, pa.ArrowException) as error:
            if not source.parquet and not source.long_records and _is_long_record_error(error):
                source = replace(source, long_records=True)
                continue
            _drop_copy(source)
            if source.parquet or ASCII_NOTE in notes or not _is_encoding_error(error):
                raise InputError(f"{source.path}: cannot read the file: {error}") from error
            copy = _text_copy(source.path, "utf-8" if utf8 else "latin-1", ascii_only=True)
            source, notes = replace(source, copy=copy), [*notes, ASCII_NOTE]
        except BaseException:
            _drop_copy(source)
            raise


def _text_copy(path: Path, encoding: str, ascii_only: bool = False) -> Path:
    """A temporary copy of a CSV decoded from ``encoding``, as UTF-8 or, with ``ascii_only``,
    as ASCII with ``\\x`` escapes; line for line.

    A Latin-1 file is copied rather than read by DuckDB as Latin-1: DuckDB refuses the whole
    file for one byte in 0x80-0x9F, which Windows-1252 exports (the usual "Latin-1" of French
    systems) use for the euro sign, curly quotes or oe.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    handle, name = tempfile.mkstemp(prefix="ngap-dcir-", suffix=".csv")
    try:
        with path.open("rb") as source, os.fdopen(handle, "wb") as copy:
            while True:
                block = source.read(1 << 22)
                text = decoder.decode(block, final=not block)
                copy.write(text.encode("ascii", "backslashreplace") if ascii_only
                           else text.encode("utf-8"))
                if not block:
                    break
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _drop_copy(source: _Source) -> None:
    if source.copy is not None:
        source.copy.unlink(missing_ok=True)


def _survey(path: Path) -> tuple[bool, int]:
    """Whether the whole file is UTF-8 (the CSV scan itself does not say), and how many line
    breaks it has; read in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, breaks = True, 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            breaks += block.count(b"\n")
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return utf8, breaks


# ------------------------------------------------------------------------------ one encounter
@dataclass
class _Item:
    """The lines of one encounter that bill the same nature (and K coefficient, CCAM code)."""

    nature: int
    coefficient: Decimal | None
    ccam: str | None
    lines: list[tuple[int, Decimal]] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.lines[0][0]

    @property
    def net(self) -> Decimal:
        return sum((q for _, q in self.lines), Decimal(0))

    def where(self) -> str:
        numbers = [str(n) for n, _ in self.lines]
        return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {', '.join(numbers)}"


@dataclass
class _Encounter:
    """What the lines of one key say, being assembled into an encounter row."""

    key: tuple[str, str, str, dt.date]
    lines: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    km: Decimal | None = None

    @property
    def id(self) -> str:
        nir, rank, practitioner, day = self.key
        return f"{nir}|{rank}|{practitioner}|{day.isoformat()}"

    def pick(self, column: str) -> str | None:
        """The first line's non-empty value; a disagreement between lines is noted."""
        seen = [(line["line"], line[column]) for line in self.lines if line[column] is not None]
        if not seen:
            return None
        first_line, value = seen[0]
        other = next(((n, v) for n, v in seen if v != value), None)
        if other is not None:
            self.notes.append(
                f"{column.upper()} differs between lines ({value} on line {first_line}, "
                f"{other[1]} on line {other[0]}): line {first_line} kept"
            )
        return str(value)


def _key_problem(line: dict[str, Any], today: dt.date) -> str | None:
    """Why a line cannot belong to an encounter (extra fields, empty key, impossible date)."""
    if line.get("overflow"):
        return "more fields than the header has: the line cannot be read column by column"
    empty = [c for c in KEY if line[c.lower()] is None]
    if empty:
        return f"{', '.join(empty)} empty: the line belongs to no encounter"
    day: dt.date | None = line["day"]
    if day is None:
        return (
            f"EXE_SOI_DTD: {line['exe_soi_dtd']!r} is not a date (YYYY-MM-DD, YYYYMMDD or "
            f"DDMMMYYYY:hh:mm:ss)"
        )
    if not FIRST_DAY <= day <= today:
        return f"EXE_SOI_DTD: {day.isoformat()} is outside {FIRST_DAY.isoformat()}..today"
    return None


def _line_problem(line: dict[str, Any]) -> str | None:
    """Why a line with a good key still cannot be read (nature or quantity unusable)."""
    nature = line["prs_nat_ref"]
    if nature is None:
        return "PRS_NAT_REF empty"
    if _whole(nature) is None:
        return f"PRS_NAT_REF: {nature!r} is not a benefit nature code"
    quantity = line["prs_act_qte"]
    if quantity is None:
        return "PRS_ACT_QTE empty"
    if _decimal(quantity) is None:
        return f"PRS_ACT_QTE: {quantity!r} is not a number"
    return None


def _billed_nature(line: dict[str, Any]) -> tuple[int | None, str | None]:
    """(nature, None) or (None, note): a majoration line bills CPL_PRS_NAT, others PRS_NAT_REF."""
    if _whole(line["cpl_maj_top"]) == 2:
        nature = _whole(line["cpl_prs_nat"])
        if nature is None or nature == 0:
            return None, (
                f"line {line['line']}: majoration line (CPL_MAJ_TOP 2) without a usable "
                f"CPL_PRS_NAT ({line['cpl_prs_nat']!r}), not audited"
            )
        return nature, None
    return _whole(line["prs_nat_ref"]), None


def _amount_notes(line: dict[str, Any], quantity: Decimal) -> Iterator[str]:
    for column in ("PRS_PAI_MNT", "BSE_REM_BSE"):
        text = line[column.lower()]
        if text is None:
            continue
        amount = _decimal(text)
        if amount is None:
            yield f"line {line['line']}: {column} {text!r} is not a number"
        elif (amount < 0 < quantity) or (quantity < 0 < amount):
            sign = "negative" if amount < 0 else "positive"
            other = "positive" if amount < 0 else "negative"
            yield (
                f"line {line['line']}: {column} {text} is {sign} while PRS_ACT_QTE "
                f"{line['prs_act_qte']} is {other}"
            )


def _items(encounter: _Encounter, ref: Reference) -> list[_Item]:
    """Group the encounter's lines by what they bill, noting lines that bill nothing usable."""
    items: dict[tuple[int, Decimal | None, str | None], _Item] = {}
    for line in encounter.lines:
        quantity = _decimal(line["prs_act_qte"]) or Decimal(0)
        encounter.notes.extend(_amount_notes(line, quantity))
        nature, problem = _billed_nature(line)
        if nature is None:
            if problem:
                encounter.notes.append(problem)
            continue
        mapping = ref.mappings.get(nature)
        kind = mapping.mapping if mapping else "none"
        coefficient = _decimal(line["prs_act_cft"]) if kind == "letter_k" else None
        ccam = line["cam_prs_ide"].upper() if kind == "ccam" and line["cam_prs_ide"] else None
        key = (nature, coefficient, ccam)
        items.setdefault(key, _Item(nature, coefficient, ccam)).lines.append(
            (line["line"], quantity)
        )
    return sorted(items.values(), key=lambda item: item.first)


def _cancellations(item: _Item, what: str) -> Iterator[str]:
    """Pair each negative line with the billed line it cancels (same quantity first)."""
    open_lines = [(n, q) for n, q in item.lines if q > 0]
    for number, quantity in item.lines:
        if quantity >= 0:
            continue
        match = next((p for p in open_lines if p[1] == -quantity), None)
        match = match or (open_lines[0] if open_lines else None)
        if match is None:
            yield (
                f"line {number}: cancellation (PRS_ACT_QTE {_plain(quantity)}) of {what} "
                f"matches no billed line of this encounter"
            )
            continue
        open_lines.remove(match)
        verb = "cancels" if match[1] == -quantity else "partly cancels"
        yield f"line {number} {verb} line {match[0]} ({what})"


def _code(item: _Item, ref: Reference, full_codes: set[str]) -> tuple[str | None, str | None]:
    """(code, None) or (None, why the item is not audited)."""
    mapping = ref.mappings.get(item.nature)
    nature = ref.nature_text(item.nature)
    if mapping is None or mapping.mapping == "none":
        if item.nature not in ref.natures:
            return None, (
                f"{item.where()}: benefit nature {item.nature} is not in IR_NAT_V (April 2021), "
                "not audited"
            )
        return None, (
            f"{item.where()}: benefit nature {nature} has no NGAP code in our mapping, not audited"
        )
    if mapping.mapping == "code":
        return mapping.code, None
    if mapping.mapping == "letter_k":
        return _letter_k(item, ref, full_codes)
    if mapping.mapping == "ccam":
        if item.ccam and ref.code_kinds.get(item.ccam) in CCAM_KINDS:
            return item.ccam, None
        given = f"CAM_PRS_IDE {item.ccam}" if item.ccam else "no CAM_PRS_IDE in the extract"
        return None, (
            f"{item.where()}: CCAM act, nature {nature}, {given}: no CCAM code of our catalogue, "
            "not audited"
        )
    return None, None  # not_billed: an accounting line


def _letter_k(item: _Item, ref: Reference, full_codes: set[str]) -> tuple[str | None, str | None]:
    """K<coefficient> when the catalogue has it; a half coefficient only beside its full act."""
    if item.coefficient is None:
        return None, (
            f"{item.where()}: letter K without a usable coefficient PRS_ACT_CFT, not audited"
        )
    code = f"K{_plain(item.coefficient)}"
    if ref.code_kinds.get(code) == "act":
        return code, None
    full = f"K{_plain(item.coefficient * 2)}"
    if f"{full}/2" in ref.code_kinds and full in full_codes:
        return f"{full}/2", None
    return None, (
        f"{item.where()}: letter K coefficient {_plain(item.coefficient)} has no code in our "
        "catalogue, not audited"
    )


def _what(item: _Item, mapping: Mapping | None) -> str:
    """How notes name an item: its code when the mapping gives one, else its nature."""
    if mapping is not None and mapping.mapping == "letter_k" and item.coefficient is not None:
        return f"K{_plain(item.coefficient)}"
    if mapping is not None and mapping.code:
        return mapping.code
    if item.ccam:
        return item.ccam
    return f"nature {item.nature}"


def _claim(encounter: _Encounter, ref: Reference) -> None:
    """Net every item, map it to a code and fill ``claimed``, ``km`` and the notes."""
    items = _items(encounter, ref)
    claimed: list[tuple[int, _Item, str]] = []
    pending: list[_Item] = []
    for item in items:
        mapping = ref.mappings.get(item.nature)
        if mapping is not None and mapping.mapping == "not_billed":
            continue
        what = _what(item, mapping)
        encounter.notes.extend(_cancellations(item, what))
        if item.net <= 0:
            encounter.notes.append(
                f"{what}: net quantity {_plain(item.net)} on {item.where()}, not claimed"
            )
            continue
        pending.append(item)
    full = {f"K{_plain(i.coefficient)}" for i in pending if i.coefficient is not None}
    for item in pending:
        code, problem = _code(item, ref, full)
        if problem:
            encounter.notes.append(problem)
        if code is not None:
            claimed.append((item.first, item, code))
    for _, item, code in sorted(claimed, key=lambda c: c[0]):
        _add_code(encounter, item, code, ref)


def _add_code(encounter: _Encounter, item: _Item, code: str, ref: Reference) -> None:
    net = item.net
    if code in PER_KM:
        encounter.km = (encounter.km or Decimal(0)) + net
        encounter.claimed.append(code)
        return
    whole = net == net.to_integral_value()
    if whole and net <= MAX_REPEAT:
        # Every paid line is a claimed line: two G of one day are judged as a repeat (valid only
        # if they were two sessions), never collapsed into one.
        encounter.claimed.extend([code] * int(net))
        return
    encounter.claimed.append(code)
    reason = "is not a whole number" if not whole else f"is more than {MAX_REPEAT}"
    encounter.notes.append(
        f"{code}: net quantity {_plain(net)} on {item.where()} {reason}: audited once"
    )


def _done(claimed: Iterable[str], ref: Reference) -> str | None:
    """The activities the claimed codes require; None (unknown) when one code is ambiguous."""
    done: list[str] = []
    for code in claimed:
        activities = ref.activities.get(code)
        if not activities:
            continue
        if len(activities) == 1:
            activity = next(iter(activities))
        elif code.lower() in activities:
            activity = code.lower()
        else:
            return None
        if activity not in done:
            done.append(activity)
    return ";".join(done) or None


def _specialty(encounter: _Encounter, ref: Reference) -> tuple[str | None, str | None]:
    """(model specialty or None, out-of-scope reason or None)."""
    text = encounter.pick("pse_spe_cod")
    code = _whole(text)
    if text is None or code in UNKNOWN_SPECIALTIES:
        return None, None
    if code is None or code not in ref.specialties:
        encounter.notes.append(f"PSE_SPE_COD {text!r} is not in IR_SPE_V: specialty unknown")
        return None, None
    if code in GP_SPECIALTIES:
        return GP_SPECIALTIES[code], None
    return None, f"practitioner specialty {code} ({ref.specialties[code]}) is not general practice"


def _sector(encounter: _Encounter, ref: Reference) -> str | None:
    text = encounter.pick("pse_cnv_cod")
    code = _whole(text)
    if text is None:
        return None
    if code in SECTOR_OF_CONVENTION:
        return SECTOR_OF_CONVENTION[code]
    label = ref.conventions.get(code) if code is not None else None
    described = f"{code} ({label})" if label else repr(text)
    encounter.notes.append(f"PSE_CNV_COD {described}: sector unknown to the model")
    return None


def _rate(encounter: _Encounter) -> str | None:
    codes = {_whole(line["prs_ops_trf"]) for line in encounter.lines}
    if 2 in codes:
        return "above"
    return "opposable" if 1 in codes else None


def _treating(encounter: _Encounter) -> tuple[str | None, str | None]:
    """(practitioner_treating_doctor, patient_has_treating_doctor)."""
    mtt = encounter.pick("prs_mtt_num")
    if mtt is None or set(mtt) <= {"0"} or set(mtt) <= {"9"}:
        return None, None
    return ("true" if mtt == encounter.key[2] else "false"), "true"


def _birth_year(encounter: _Encounter) -> str | None:
    text = encounter.pick("ben_nai_ann")
    if text is None:
        return None
    year = _whole(text)
    if year is None or not 1880 <= year <= encounter.key[3].year:
        encounter.notes.append(f"BEN_NAI_ANN {text!r} is not a plausible birth year: ignored")
        return None
    return str(year)


def _age(encounter: _Encounter) -> tuple[str | None, str | None]:
    """(years, months) from BEN_AMA_COD (IR_AMA_V): 1000 + months under 2 years, else years
    2..130; 0 (default) and 9999 (unknown) are no age.  Months matter: a child exam at 8 or 9
    months is judged on them, where the birth year alone leaves it open."""
    text = encounter.pick("ben_ama_cod")
    if text is None:
        return None, None
    code = _whole(text)
    if code is not None and 1000 <= code <= 1023:
        return str((code - 1000) // 12), str((code - 1000) % 12)
    if code is not None and 2 <= code <= 130:
        return str(code), None
    if code not in (0, 9999):
        encounter.notes.append(f"BEN_AMA_COD {text!r} is not an age code of IR_AMA_V: ignored")
    return None, None


def _place(encounter: _Encounter, ref: Reference) -> str | None:
    tele = any(
        TELE_ACTIVITY.match(a) for code in encounter.claimed for a in ref.activities.get(code, ())
    )
    if tele:
        return "tele"
    code = _whole(encounter.pick("exe_lie_cod"))
    return {0: "office", 1: "home"}.get(code) if code is not None else None


def _sex(encounter: _Encounter) -> str | None:
    code = _whole(encounter.pick("ben_sex_cod"))
    return {1: "m", 2: "f"}.get(code) if code is not None else None


def _ald(encounter: _Encounter) -> str | None:
    exemptions = {_whole(line["exo_mtf"]) for line in encounter.lines}
    return "true" if exemptions & ALD_EXEMPTIONS else None


def _row(encounter: _Encounter, specialty: str | None, ref: Reference) -> dict[str, str | None]:
    """The encounter row; context DCIR does not record stays empty (unknown)."""
    _claim(encounter, ref)
    nir, rank, practitioner, day = encounter.key
    treating, has_treating = _treating(encounter)
    years, months = _age(encounter)
    row: dict[str, str | None] = dict.fromkeys(OUTPUT_NAMES)
    row.update(
        id=encounter.id,
        patient_id=f"{nir}|{rank}",
        practitioner_id=practitioner,
        date=day.isoformat(),
        practitioner_specialty=specialty,
        practitioner_sector=_sector(encounter, ref),
        practitioner_rate=_rate(encounter),
        practitioner_treating_doctor=treating,
        patient_has_treating_doctor=has_treating,
        patient_sex=_sex(encounter),
        patient_birth_year=_birth_year(encounter),
        patient_age_years=years,
        patient_age_months=months,
        patient_ald=_ald(encounter),
        place=_place(encounter, ref),
        travel_km=None if encounter.km is None else _plain(encounter.km),
        claimed=";".join(encounter.claimed),
        done=_done(encounter.claimed, ref),
        _lines=";".join(str(line["line"]) for line in encounter.lines),
    )
    row["_notes"] = "; ".join(encounter.notes) or None
    return row


def _group(
    group: dict[str, Any], source: str, today: dt.date, ref: Reference, extra_notes: list[str]
) -> tuple[dict[str, str | None] | None, list[BadRow]]:
    """One DuckDB group of lines -> (encounter row or None, bad rows)."""
    lines: list[dict[str, Any]] = group["lines"]
    for line in lines:
        line["day"] = group["day"]
    bad: list[BadRow] = []
    if group["lonely"]:
        for line in lines:
            reason = _key_problem(line, today) or "line outside any encounter"
            bad.append(BadRow(source, line["line"], reason, None, line["line"]))
        return None, bad
    key = (group["ben_nir_psa"], group["ben_rng_gem"], group["pfs_exe_num"], group["day"])
    encounter = _Encounter(key, [], list(extra_notes))
    for line in lines:
        problem = _line_problem(line)
        if problem:
            bad.append(BadRow(source, line["line"], problem, encounter.id, line["line"]))
        else:
            encounter.lines.append(line)
    if not encounter.lines:
        return None, bad
    specialty, out_of_scope = _specialty(encounter, ref)
    if out_of_scope:
        bad += [BadRow(source, n["line"], out_of_scope, encounter.id, n["line"])
                for n in encounter.lines]
        return None, bad
    return _row(encounter, specialty, ref), bad


# ------------------------------------------------------------------------------ entry point
def _batches(source: _Source, chunk_rows: int, today: dt.date) -> Iterator[RawBatch]:
    ref = reference()
    name = str(source.path)
    scan = _scan(source, chunk_rows, today)
    try:
        for groups in scan.groups:
            rows: list[dict[str, str | None]] = []
            firsts: list[int] = []
            bad: list[BadRow] = []
            for group in groups:
                row, group_bad = _group(group, name, today, ref, scan.notes)
                bad += group_bad
                if row is not None:
                    rows.append(row)
                    firsts.append(int(group["first_line"]))
            if not rows and not bad:
                continue
            first = firsts[0] if firsts else min(b.row for b in bad)
            yield RawBatch(
                source=name,
                first_row=first,
                table=pa.Table.from_pylist(rows, schema=SCHEMA),
                rows=pa.array(firsts, pa.int64()),
                bad=bad,
            )
    finally:
        scan.close()


def iter_dcir(
    path: Path,
    *,
    chunk_rows: int = 20_000,
    today: dt.date | None = None,
    nulls: tuple[str, ...] = (),
) -> Iterator[RawBatch]:
    """Read an ER_PRS_F extract (CSV or Parquet) as encounter batches of at most ``chunk_rows``.

    The file and its columns are checked at once (``InputError`` naming the file and the missing
    columns); the scan runs when the first batch is asked for.  An empty file yields nothing.
    Care dated after ``today`` (default: the system date) is impossible.  ``nulls``: cell texts
    that mean unknown besides the empty cell (``--null``), read as the encounter readers read
    them (the whole cell after trimming white space; in Parquet, text columns only), before the
    lines are grouped: a sentinel in a key column leaves the line without an encounter.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    source = _open(Path(path), tuple(nulls))
    if source is None:
        return iter(())
    return _batches(source, chunk_rows, today or clock.today())

