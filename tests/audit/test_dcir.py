"""The ER_PRS_F reader: lines grouped into encounters, every line accounted for exactly once."""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngap.audit import dcir
from ngap.audit.batches import BadRow
from ngap.audit.columns import INPUT_COLUMNS
from ngap.audit.dcir import LATIN1_NOTE, OUTPUT_NAMES, iter_dcir, reference
from ngap.io import InputError
from ngap.model.catalogue import load_catalogue

ROOT = Path(__file__).parent.parent.parent
SAMPLE = ROOT / "examples" / "audit" / "dcir_sample.csv"
SYNTHETIC = Path(__file__).parent / "data" / "synthetic-ER_PRS_F.csv"
DATA = ROOT / "ngap" / "audit" / "data"
HEADER = (
    "BEN_NIR_PSA", "BEN_RNG_GEM", "PFS_EXE_NUM", "EXE_SOI_DTD", "PSE_SPE_COD", "PRS_NAT_REF",
    "CPL_PRS_NAT", "CPL_MAJ_TOP", "PRS_ACT_QTE", "PRS_ACT_CFT", "PRS_PAI_MNT",
)
NIR = "7f3a9c2e1b8d4065a"
GP = "191007342"
Read = tuple[list[dict[str, Any]], list[int], list[BadRow]]
"""Encounter rows, their record numbers and the bad rows of a whole file."""


# ------------------------------------------------------------------------------ reading utilities
def read(path: Path, chunk_rows: int = 1000) -> Read:
    rows: list[dict[str, Any]] = []
    firsts: list[int] = []
    bad: list[BadRow] = []
    for batch in iter_dcir(path, chunk_rows=chunk_rows):
        assert batch.table.num_rows <= chunk_rows
        assert batch.rows is not None and batch.rows.type == pa.int64()
        assert len(batch.rows) == batch.table.num_rows
        assert batch.source == str(path)
        rows += batch.table.to_pylist()
        firsts += batch.rows.to_pylist()
        bad += batch.bad
    return rows, firsts, bad


def data_lines(path: Path) -> int:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def accounted(rows: list[dict[str, Any]], bad: list[BadRow]) -> list[int]:
    lines = [int(n) for row in rows for n in row["_lines"].split(";")]
    return sorted(lines + [b.row for b in bad])


def by_line(rows: list[dict[str, Any]], line: int) -> dict[str, Any]:
    return next(r for r in rows if str(line) in r["_lines"].split(";"))


def write(path: Path, lines: list[dict[str, str]], delimiter: str = ";") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, delimiter=delimiter)
        writer.writeheader()
        for line in lines:
            writer.writerow({c: line.get(c, "") for c in HEADER})
    return path


def line(nature: str, quantity: str = "1", day: str = "2024-03-05", **more: str) -> dict[str, str]:
    base = {
        "BEN_NIR_PSA": NIR, "BEN_RNG_GEM": "1", "PFS_EXE_NUM": GP, "EXE_SOI_DTD": day,
        "PSE_SPE_COD": "1", "PRS_NAT_REF": nature, "PRS_ACT_QTE": quantity,
    }
    return base | more


@pytest.fixture(scope="module")
def sample() -> Read:
    return read(SAMPLE)


# ------------------------------------------------------------------------------ the sample
def test_sample_is_read_and_every_line_accounted_once(sample: Read) -> None:
    rows, firsts, bad = sample
    assert 30 <= data_lines(SAMPLE) <= 60
    assert accounted(rows, bad) == list(range(2, data_lines(SAMPLE) + 2))
    assert firsts == [int(r["_lines"].split(";")[0]) for r in rows]
    assert all(b.line == b.row for b in bad)


def test_columns_are_encounter_table_columns(sample: Read) -> None:
    rows, _, _ = sample
    assert set(rows[0]) == set(OUTPUT_NAMES)
    assert all(n in INPUT_COLUMNS for n in OUTPUT_NAMES if not n.startswith("_"))
    for row in rows:  # DCIR records neither the time nor any circumstance: unknown
        assert row["time"] is None and row["call_time"] is None
        assert all(row[c] is None for c in OUTPUT_NAMES if c.startswith("circumstances_"))


def test_grouping_key(sample: Read) -> None:
    rows, _, _ = sample
    first = by_line(rows, 2)
    assert first["_lines"] == "2;3"
    assert first["id"] == f"{NIR}|1|{GP}|2023-03-14"
    assert first["patient_id"] == f"{NIR}|1" and first["practitioner_id"] == GP
    same_patient = [r for r in rows if r["patient_id"] == f"{NIR}|1"]
    assert len(same_patient) == 2  # two days, two encounters
    sas_dates = by_line(rows, 27)  # 05FEB2025:00:00:00
    assert sas_dates["date"] == "2025-02-05" and sas_dates["_lines"] == "27;28"


def test_night_home_visit(sample: Read) -> None:
    rows, _, _ = sample
    visit = by_line(rows, 7)
    assert visit["claimed"] == "VG;MM;MDI"
    assert visit["place"] == "home"
    assert visit["done"] == "visit"
    assert visit["patient_ald"] == "true"  # EXO_MTF 41
    assert visit["circumstances_emergency"] is None and visit["time"] is None


def test_context_columns(sample: Read) -> None:
    rows, _, _ = sample
    first = by_line(rows, 2)
    assert (first["practitioner_specialty"], first["practitioner_sector"]) == ("gp", "1")
    assert (first["practitioner_rate"], first["practitioner_treating_doctor"]) == (
        "opposable", "true")
    assert (first["patient_sex"], first["patient_birth_year"]) == ("f", "1958")
    assert first["claimed"] == "G" and first["done"] == "consultation"  # line 3: participation
    sector2 = by_line(rows, 25)
    assert (sector2["practitioner_sector"], sector2["practitioner_rate"]) == ("2", "above")
    assert sector2["practitioner_treating_doctor"] == "false"
    assert by_line(rows, 26)["practitioner_specialty"] == "gp_specialist"
    assert "PRS_PAI_MNT -26.50 is negative" in by_line(rows, 26)["_notes"]
    assert by_line(rows, 22)["place"] == "tele"
    assert by_line(rows, 6)["claimed"] == "COE"
    assert by_line(rows, 23)["claimed"] == "K9;K9/2"  # half coefficient beside its full act
    assert by_line(rows, 33)["claimed"] == "VG;VRN"


def test_ik_kilometres(sample: Read) -> None:
    rows, _, _ = sample
    visit = by_line(rows, 10)
    assert visit["claimed"] == "VG;MD;IK"
    assert visit["travel_km"] == "12"
    assert by_line(rows, 2)["travel_km"] is None


def test_cancellation_nets_out(sample: Read) -> None:
    rows, _, _ = sample
    cancelled = by_line(rows, 13)
    assert cancelled["_lines"] == "13;14;15;16"
    assert cancelled["claimed"] == "G"  # MCG billed on line 14, cancelled on line 15
    assert "line 15 cancels line 14 (MCG)" in cancelled["_notes"]
    rebilled = by_line(rows, 30)
    assert rebilled["claimed"] == "G"
    assert "line 31 cancels line 30 (G)" in rebilled["_notes"]
    twice = by_line(rows, 29)
    assert twice["claimed"] == "G;G"  # two paid G of one day: two claimed lines, both judged


def test_unmapped_nature_in_notes(sample: Read) -> None:
    rows, _, _ = sample
    only_unmapped = by_line(rows, 17)
    assert only_unmapped["claimed"] == ""
    assert only_unmapped["done"] is None
    assert only_unmapped["_notes"] == (
        "line 17: benefit nature 1193 (TELE EXPERTISE DE NIVEAU 1) has no NGAP code in our "
        "mapping, not audited"
    )
    mixed = by_line(rows, 18)
    assert mixed["claimed"] == "G" and "line 19: benefit nature 1133" in mixed["_notes"]


def test_bad_lines_of_the_sample(sample: Read) -> None:
    _, _, bad = sample
    reasons = {b.row: b.reason for b in bad}
    assert reasons[20] == "EXE_SOI_DTD: 1913-10-16 is outside 2022-01-01..today"
    assert reasons[21] == (
        "practitioner specialty 3 (PATHOLOGIE CARDIO-VASCULAIRE) is not general practice"
    )
    assert reasons[35].startswith("BEN_RNG_GEM empty")


# ------------------------------------------------------------------------------ other inputs
def test_synthetic_extract_every_line_reported() -> None:
    rows, _, bad = read(SYNTHETIC)
    assert data_lines(SYNTHETIC) == 10
    assert accounted(rows, bad) == list(range(2, 12))
    assert rows == []  # random values: no line is a plausible GP encounter
    assert sum("EXE_SOI_DTD" in b.reason for b in bad) == 9
    assert any("is not general practice" in b.reason for b in bad)


def test_missing_column_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("BEN_NIR_PSA;BEN_RNG_GEM;PFS_EXE_NUM;EXE_SOI_DTD\na;1;b;2024-01-01\n")
    with pytest.raises(InputError, match=r"claims\.csv.*PRS_NAT_REF, PRS_ACT_QTE"):
        iter_dcir(path)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert list(iter_dcir(empty)) == []
    header = write(tmp_path / "header.csv", [])
    assert list(iter_dcir(header)) == []


def test_latin1_file_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = ";".join(HEADER) + ";COMMENTAIRE\n" + f"{NIR};1;{GP};2024-03-05;1;1110;;;1;;25;été\n"
    path.write_bytes(text.encode("latin-1"))
    rows, _, bad = read(path)
    assert bad == [] and rows[0]["claimed"] == "G"
    assert rows[0]["_notes"] == "file is not valid UTF-8: read as Latin-1"


def test_comma_csv_and_parquet_read_like_the_sample(tmp_path: Path, sample: Read) -> None:
    claims = [r["claimed"] for r in sample[0]]
    comma = tmp_path / "comma.csv"
    comma.write_text(SAMPLE.read_text(encoding="utf-8").replace(";", ","), encoding="utf-8")
    assert [r["claimed"] for r in read(comma)[0]] == claims
    parquet = tmp_path / "claims.parquet"
    table = pcsv.read_csv(SAMPLE, parse_options=pcsv.ParseOptions(delimiter=";"))
    pq.write_table(table, parquet)  # typed columns (integers) are read as text too
    rows, firsts, bad = read(parquet)
    assert [r["claimed"] for r in rows] == claims
    assert firsts[0] == 1  # no header line in Parquet: line 1 is the first record
    assert len(bad) == len(sample[2])


def test_declared_null_sentinels_are_unknown_cells(tmp_path: Path) -> None:
    """``--null NA``: a cell that is ``NA`` once trimmed (any white space, as the encounter
    readers trim) is empty, before the lines are grouped; undeclared, it is text as before."""
    path = write(tmp_path / "na.csv", [
        line("1110", PRS_PAI_MNT="NA"),  # an amount: noted as no number, unless declared
        line("1110", BEN_RNG_GEM="\u00a0NA\t", BEN_NIR_PSA="other"),  # a key part
        line("1110", PRS_PAI_MNT="NULL", BEN_NIR_PSA="third"),  # not declared: text
    ])

    def notes(rows: list[dict[str, Any]]) -> dict[str, str | None]:
        return {r["patient_id"]: r["_notes"] for r in rows}

    rows, _, bad = read(path)
    assert bad == []
    assert len(rows) == 3 and any(r["patient_id"].startswith("other|") for r in rows)
    assert "PRS_PAI_MNT 'NA' is not a number" in (notes(rows)[f"{NIR}|1"] or "")
    declared: list[dict[str, Any]] = []
    declared_bad: list[BadRow] = []
    for batch in iter_dcir(path, nulls=("NA",)):
        declared += batch.table.to_pylist()
        declared_bad += batch.bad
    assert notes(declared)[f"{NIR}|1"] is None
    assert "PRS_PAI_MNT 'NULL' is not a number" in (notes(declared)["third|1"] or "")
    assert [(b.row, b.reason) for b in declared_bad] == [
        (3, "BEN_RNG_GEM empty: the line belongs to no encounter")
    ]


def test_null_sentinels_in_parquet_are_text_cells_only(tmp_path: Path) -> None:
    """In a Parquet extract a sentinel is a text cell, as in a Parquet encounter table: a
    number column holding the same value keeps it."""
    path = tmp_path / "claims.parquet"
    pq.write_table(
        pa.table({
            "BEN_NIR_PSA": [NIR], "BEN_RNG_GEM": ["2"], "PFS_EXE_NUM": [GP],
            "EXE_SOI_DTD": ["2024-03-05"], "PSE_SPE_COD": ["1"], "EXE_LIE_COD": ["1"],
            "PRS_NAT_REF": ["1110"], "PRS_ACT_QTE": pa.array([1], pa.int64()),
        }),
        path,
    )
    (plain,) = read(path)[0]
    assert (plain["place"], plain["practitioner_specialty"], plain["claimed"]) == (
        "home", "gp", "G"
    )
    (batch,) = iter_dcir(path, nulls=("1",))
    assert batch.bad == []
    (row,) = batch.table.to_pylist()
    assert (row["place"], row["practitioner_specialty"], row["claimed"]) == (None, None, "G")


def test_majoration_lines_and_letter_k(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", [
        line("1110"),
        line("1110", CPL_MAJ_TOP="2", CPL_PRS_NAT="1903"),  # MEG on a majoration line
        line("1312", PRS_ACT_CFT="9"),
        line("1312", PRS_ACT_CFT="4.5"),  # K9/2 beside K9
        line("1312", PRS_ACT_CFT="4.5", day="2024-03-06"),  # a half act alone: not guessed
        line("1110", day="2024-03-06"),
        line("1110", CPL_MAJ_TOP="2", CPL_PRS_NAT="", day="2024-03-06"),
    ])
    rows, _, bad = read(path)
    assert bad == []
    assert rows[0]["claimed"] == "G;MEG;K9;K9/2"
    assert rows[0]["done"] == "consultation;burn_small"
    assert rows[1]["claimed"] == "G"
    assert "letter K coefficient 4.5 has no code" in rows[1]["_notes"]
    assert "without a usable CPL_PRS_NAT" in rows[1]["_notes"]


def test_ccam_code_from_an_er_cam_f_column(tmp_path: Path) -> None:
    path = tmp_path / "ccam.csv"
    path.write_text(
        ";".join(HEADER) + ";CAM_PRS_IDE\n"
        f"{NIR};1;{GP};2024-03-05;1;1352;;;1;;14.26;deqp003\n"
        f"{NIR};1;{GP};2024-03-05;1;1352;;;1;;14.26;\n"
    )
    rows, _, _ = read(path)
    assert rows[0]["claimed"] == "DEQP003" and rows[0]["done"] == "DEQP003"
    assert rows[0]["_notes"].startswith("line 3: CCAM act, nature 1352 (ACTES TECHNIQUES")
    assert "no CAM_PRS_IDE in the extract" in rows[0]["_notes"]


def test_ambiguous_activity_leaves_done_unknown(tmp_path: Path) -> None:
    rows, _, _ = read(write(tmp_path / "ccx.csv", [line("1105")]))
    assert rows[0]["claimed"] == "CCX" and rows[0]["done"] is None


def test_unreadable_values_are_bad_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", [
        line("1110"),
        line("abc"),
        line("1110", quantity="x"),
        line("1110", day="31/02/2024"),
        line("1110", day=""),
        line("4242"),
    ])
    rows, _, bad = read(path)
    reasons = {b.row: b.reason for b in bad}
    assert reasons == {
        3: "PRS_NAT_REF: 'abc' is not a benefit nature code",
        4: "PRS_ACT_QTE: 'x' is not a number",
        5: "EXE_SOI_DTD: '31/02/2024' is not a date (YYYY-MM-DD, YYYYMMDD or DDMMMYYYY:hh:mm:ss)",
        6: "EXE_SOI_DTD empty: the line belongs to no encounter",
    }
    assert rows[0]["_lines"] == "2;7" and rows[0]["claimed"] == "G"
    assert "benefit nature 4242 is not in IR_NAT_V" in rows[0]["_notes"]


def test_chunking_gives_the_same_rows(tmp_path: Path) -> None:
    big = tmp_path / "sample.csv"
    shutil.copy(SAMPLE, big)
    small_rows, small_firsts, small_bad = read(big, chunk_rows=2)
    rows, firsts, bad = read(big, chunk_rows=1000)
    assert (small_rows, small_firsts, small_bad) == (rows, firsts, bad)
    assert len(list(iter_dcir(big, chunk_rows=2))) > 1


def test_mapping_copies_ir_nat_v_and_names_catalogue_codes() -> None:
    ref = reference()
    codes = load_catalogue().codes
    for nature, mapping in ref.mappings.items():
        assert ref.natures[nature] == (mapping.short, mapping.label)
        assert mapping.mapping in ("code", "letter_k", "ccam", "not_billed", "none")
        assert (mapping.code in codes) == (mapping.mapping == "code")
    for name in ("IR_NAT_V.csv", "IR_SPE_V.csv", "IR_CNV_V.csv", "README.md", "nat_to_ngap.csv"):
        assert (DATA / name).is_file()


# ------------------------------------------------------------------------------ random tables
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=4)
_LINE = st.fixed_dictionaries({
    "BEN_NIR_PSA": st.sampled_from([NIR, "c41e8b7d2a9f6310e", "", " "]) | _TEXT,
    "BEN_RNG_GEM": st.sampled_from(["1", "2", "", "x"]),
    "PFS_EXE_NUM": st.sampled_from([GP, "291015876", ""]) | _TEXT,
    "EXE_SOI_DTD": st.sampled_from([
        "2023-01-05", "2024-02-29", "20240301", "05JAN2025:00:00:00", "1913-10-16",
        "2027-01-01", "", "not a date", "2023-02-30",
    ]),
    "PSE_SPE_COD": st.sampled_from(["1", "22", "3", "0", "", "57", "abc"]),
    "PRS_NAT_REF": st.sampled_from(
        ["1110", "1210", "1913", "1811", "1312", "1951", "1193", "1105", "9999", "0", "abc", ""]
    ),
    "CPL_MAJ_TOP": st.sampled_from(["", "0", "2"]),
    "CPL_PRS_NAT": st.sampled_from(["", "0", "1913", "1125", "x"]),
    "PRS_ACT_QTE": st.sampled_from(["1", "-1", "2", "0", "12", "1.5", "x", "", "NaN", "1e400"])
    | st.integers(-3, 40).map(str),
    "PRS_ACT_CFT": st.sampled_from(["9", "4.5", "0.7", "16", "", "x"]),
    "PRS_PAI_MNT": st.sampled_from(["25.00", "-25,00", "0", "", "abc"]),
})


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_LINE, max_size=25), chunk_rows=st.integers(1, 5))
def test_random_tables_never_crash_and_account_for_every_line(
    tmp_path: Path, lines: list[dict[str, str]], chunk_rows: int
) -> None:
    path = write(tmp_path / "random.csv", lines)
    rows, _, bad = read(path, chunk_rows=chunk_rows)
    assert accounted(rows, bad) == list(range(2, len(lines) + 2))
    codes = load_catalogue().codes
    for row in rows:
        assert all(c in codes for c in row["claimed"].split(";") if c)
        assert row["travel_km"] is None or float(row["travel_km"]) > 0
    assert all(n == 1 for n in Counter(r["id"] for r in rows).values())


def test_blank_lines_before_the_header_are_skipped_and_lines_stay_physical(
    tmp_path: Path,
) -> None:
    shifted = tmp_path / "blank_first.csv"
    shifted.write_bytes(b"\n\n" + SAMPLE.read_bytes())
    plain = [b for b in iter_dcir(SAMPLE)]
    moved = [b for b in iter_dcir(shifted)]
    lines = [ln for b in plain for ln in b.table.column("_lines").to_pylist()]
    moved_lines = [ln for b in moved for ln in b.table.column("_lines").to_pylist()]
    assert len(moved_lines) == len(lines) > 0
    for a, b in zip(lines, moved_lines, strict=True):
        assert [int(x) + 2 for x in a.split(";")] == [int(x) for x in b.split(";")]


# ------------------------------------------------------------------------------ found by
# benchmarks/fuzz_readers.py
def test_windows_1252_bytes_are_read_as_latin1(tmp_path: Path) -> None:
    """DuckDB's Latin-1 refused the whole file for a byte in 0x80-0x9F (the euro sign, curly
    quotes or oe of Windows-1252 exports)."""
    path = tmp_path / "cp1252.csv"
    text = ";".join(HEADER) + ";COMMENTAIRE\n" + f"{NIR};1;{GP};2024-03-05;1;1110;;;1;;25;"
    path.write_bytes(text.encode("latin-1") + b"\x80 \x92\x9c\n")
    rows, _, bad = read(path)
    assert bad == [] and rows[0]["claimed"] == "G"
    assert rows[0]["_notes"] == "file is not valid UTF-8: read as Latin-1"


def test_quoted_line_breaks_and_long_lines_are_read(tmp_path: Path) -> None:
    """A quoted cell holding a line break refused the whole file (DuckDB's parallel scanner
    does not take one with ``null_padding``); so did a line of more than 2 MB."""
    path = tmp_path / "cells.csv"
    head = ";".join(HEADER) + ";NOTE\n"
    good = f"{NIR};1;{GP};2024-03-05;1;1110;;;1;;25;x\n"
    path.write_text(
        head + good + f'{NIR};2;{GP};2024-03-05;1;1110;;;1;;25;"two\nlines"\n'
        + f"{NIR};3;{GP};2024-03-05;1;1110;;;1;;25;" + "m" * 3_000_000 + "\n" + good
    )
    rows, _, bad = read(path)
    assert bad == []
    assert accounted(rows, bad) == [2, 3, 4, 5]  # a record is one line, line breaks and all


def test_a_character_after_a_closing_quote_is_read(tmp_path: Path) -> None:
    """With ``strict_mode`` off, DuckDB refuses valid UTF-8 where a character outside ASCII
    follows a closing quote (``"0"é``: a stray quote is enough): the file is read from an ASCII
    copy, and the encounters say so."""
    path = tmp_path / "quote.csv"
    path.write_text(
        ";".join(HEADER) + ";NOTE\n"
        + f'{NIR};1;{GP};2024-03-05;1;1110;;;1;;"25"é;x\n'  # PRS_PAI_MNT: read, noted
        + f"{NIR};2;{GP};2024-03-05;1;1110;;;1;;25;x\n",
        encoding="utf-8",
    )
    rows, _, bad = read(path)
    assert accounted(rows, bad) == [2, 3]
    assert [r["claimed"] for r in rows] == ["G", "G"]
    assert all("characters outside ASCII read as \\x escapes" in r["_notes"] for r in rows)


def test_infinity_and_epoch_are_no_days_of_care(tmp_path: Path) -> None:
    """DuckDB's strptime reads 'infinity' as a date Arrow cannot hand over to Python (the
    reader failed) and 'epoch' as 1970-01-01."""
    days = ["infinity", "-infinity", "epoch", "2024-03-05"]
    path = write(tmp_path / "days.csv", [line("1110", day=day) for day in days])
    rows, _, bad = read(path)
    assert [r["_lines"] for r in rows] == ["5"]
    assert [b.reason for b in bad] == [
        f"EXE_SOI_DTD: {day!r} is not a date (YYYY-MM-DD, YYYYMMDD or DDMMMYYYY:hh:mm:ss)"
        for day in days[:3]
    ]


# ------------------------------------------------------------------------------ big files
TODAY = dt.date(2025, 6, 30)
Batches = list[tuple[int, list[dict[str, Any]], list[int], list[BadRow]]]


def batches(path: Path, chunk_rows: int, nulls: tuple[str, ...] = ()) -> Batches:
    return [
        (b.first_row, b.table.to_pylist(), b.rows.to_pylist() if b.rows is not None else [],
         b.bad)
        for b in iter_dcir(path, chunk_rows=chunk_rows, today=TODAY, nulls=nulls)
    ]


def interleaved_lines() -> list[str]:
    """Encounters whose lines are spread over the file, with every kind of line a reader
    must account for: cancellations, lonely lines, extra fields, impossible dates, Latin-1."""
    rng = random.Random(11)
    lines: list[str] = []
    for n in range(30):
        nir, day = f"{NIR[:-2]}{n % 7:02d}", f"2024-03-{1 + n % 5:02d}"
        lines.append(f"{nir};1;{GP};{day};1;1110;;;1;;25;été")
        if n % 3 == 0:
            lines.append(f"{nir};1;{GP};{day};1;1110;1903;2;1;;5;")  # majoration MEG
        if n % 4 == 0:
            lines.append(f"{nir};1;{GP};{day};1;1110;;;-1;;-25;annulé")  # cancels the G
        if n % 5 == 0:
            lines.append(f"{nir};1;{GP};{day};1;abc;;;1;;25;")  # unreadable nature
        if n % 6 == 0:
            lines.append(f"{nir};1;{GP};{day};1;1110;;;1;;NA;")  # NA: a sentinel if declared
    lines += [
        f"{NIR};;{GP};2024-03-05;1;1110;;;1;;25;",  # BEN_RNG_GEM empty: lonely
        f";1;{GP};2024-03-05;1;1110;;;1;;25;",  # BEN_NIR_PSA empty: lonely
        f"{NIR};1;{GP};2024-03-05;1;1110;;;1;;25;x;extra;fields",  # more fields than the header
        f"{NIR};1;{GP};2024-02-30;1;1110;;;1;;25;",  # no such day
        f"{NIR};1;{GP};2031-01-01;1;1110;;;1;;25;",  # after today
        f"{NIR};NA;{GP};2024-03-05;1;1110;;;1;;25;",  # lonely only if NA is declared
        f"{NIR};1;{GP};2024-03-05;3;1110;;;1;;25;",  # a cardiologist: out of scope
    ]
    rng.shuffle(lines)
    return lines


def write_lines(path: Path, lines: list[str], encoding: str = "latin-1") -> Path:
    text = ";".join(HEADER) + ";NOTE\n" + "\n".join(lines) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def in_pieces(monkeypatch: pytest.MonkeyPatch, pieces: int = 3) -> list[int]:
    """Read every file in ``pieces`` pieces from now on; returns the piece counts of the
    piecewise scans that run."""
    monkeypatch.setattr(dcir, "SPLIT_LINES", 0)
    seen: list[int] = []
    scan_pieces, piece_count = dcir._scan_pieces, dcir._piece_count

    def spy(*args: Any) -> Any:
        seen.append(args[-1])
        return scan_pieces(*args)

    def count(lines: int) -> int:
        monkeypatch.setattr(dcir, "PIECE_LINES", -(-lines // pieces))
        return piece_count(lines)

    monkeypatch.setattr(dcir, "_scan_pieces", spy)
    monkeypatch.setattr(dcir, "_piece_count", count)
    return seen


@pytest.mark.parametrize("nulls", [(), ("NA",)])
def test_pieces_give_the_batches_of_one_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nulls: tuple[str, ...]
) -> None:
    """A big file is grouped piece by piece (lines split by a hash of their encounter key, each
    piece grouped alone, the pieces merged by first line): the batches are those of one query,
    down to the batch boundaries, the notes (Latin-1 here) and the bad rows."""
    path = write_lines(tmp_path / "claims.csv", interleaved_lines())
    whole = {size: batches(path, size, nulls) for size in (1, 4, 1000)}
    rows = [r for b in whole[1000] for r in b[1]]
    assert len(rows) >= 25 and any(";" in r["_lines"] for r in rows)
    assert all(r["_notes"].startswith(LATIN1_NOTE) for r in rows)
    assert any("cancels line" in r["_notes"] for r in rows)
    reasons = " ".join(b.reason for batch in whole[1000] for b in batch[3])
    for reason in ("BEN_RNG_GEM empty", "BEN_NIR_PSA empty", "more fields than the header",
                   "'2024-02-30' is not a date", "2031-01-01 is outside",
                   "is not general practice", "PRS_NAT_REF: 'abc'"):
        assert reason in reasons
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    seen = in_pieces(monkeypatch)
    for size, expected in whole.items():
        assert batches(path, size, nulls) == expected
    assert seen == [3, 3, 3]
    assert not list(tmp.glob("ngap-dcir-*"))  # the pieces are removed


def test_parquet_pieces_give_the_batches_of_one_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [ln.split(";")[: len(HEADER)] for ln in interleaved_lines()]
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(HEADER)}), path)
    whole = batches(path, 4, ("NA",))
    assert sum(len(b[1]) for b in whole) >= 25
    seen = in_pieces(monkeypatch)
    assert batches(path, 4, ("NA",)) == whole
    assert seen == [3]


def test_pieces_keep_the_ascii_copy_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan that DuckDB refuses for a character after a closing quote is retried on an
    ASCII copy, whether the file is read in one query or in pieces."""
    lines = interleaved_lines()
    lines.insert(5, f'{NIR};1;{GP};2024-03-05;1;1110;;;1;;"25"é;x')
    path = write_lines(tmp_path / "quote.csv", lines, encoding="utf-8")
    whole = batches(path, 7)
    notes = [r["_notes"] for b in whole for r in b[1]]
    assert all("characters outside ASCII read as \\x escapes" in n for n in notes)
    seen = in_pieces(monkeypatch)
    assert batches(path, 7) == whole
    assert seen == [3, 3]  # refused once, read from the copy


def test_pieces_are_removed_when_reading_stops_or_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_lines(tmp_path / "claims.csv", interleaved_lines())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    in_pieces(monkeypatch)
    reader = iter_dcir(path, chunk_rows=2, today=TODAY)
    next(reader)
    # The UTF-8 copy of the Latin-1 file, and the groups of the pieces being merged:
    assert sorted(p.is_dir() for p in tmp.glob("ngap-dcir-*")) == [False, True]
    reader.close()  # type: ignore[attr-defined]
    assert not list(tmp.glob("ngap-dcir-*"))

    def interrupted(relation: Any, size: int) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(dcir, "_arrow_reader", interrupted)
    with pytest.raises(KeyboardInterrupt):
        next(iter_dcir(path, today=TODAY))
    assert not list(tmp.glob("ngap-dcir-*"))


def test_a_record_longer_than_the_first_scan_takes_is_read_by_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first scan of a CSV reads records of up to RECORD_BYTES in buffers of BUFFER_BYTES
    (DuckDB's buffer would otherwise grow with the file); a longer record is no error: the file
    is scanned again with records of up to MAX_RECORD_BYTES, in one query or in pieces."""
    monkeypatch.setattr(dcir, "RECORD_BYTES", 1 << 10)
    monkeypatch.setattr(dcir, "BUFFER_BYTES", 1 << 12)
    lines = interleaved_lines()
    lines.insert(3, f'{NIR};4;{GP};2024-03-05;1;1110;;;1;;25;"{"m" * 3000}\n{"m" * 3000}"')
    path = write_lines(tmp_path / "long.csv", lines)
    scans: list[bool] = []
    attempt = dcir._attempt

    def spy(source: Any, *args: Any) -> Any:
        scans.append(source.long_records)
        return attempt(source, *args)

    monkeypatch.setattr(dcir, "_attempt", spy)
    whole = batches(path, 5)
    assert scans == [False, True]
    rows = [r for b in whole for r in b[1]]
    assert any(r["id"] == f"{NIR}|4|{GP}|2024-03-05" for r in rows)
    assert sorted(accounted(rows, [x for b in whole for x in b[3]])) == list(
        range(2, len(lines) + 2)
    )
    seen = in_pieces(monkeypatch)
    assert batches(path, 5) == whole
    assert seen == [3, 3]
