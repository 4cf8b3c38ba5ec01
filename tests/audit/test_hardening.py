"""Hostile input and faults: the audit never crashes, never hides a row or a euro.

Bad input becomes a ``bad_input`` row naming the file, line and column (or exit 2 naming the
file for a whole-file problem); an environment fault is exit 3 with one line, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ngap.audit.runner import Settings, run_audit
from ngap.cli import app
from ngap.model.encounter import Encounter
from ngap.solver.engine import Nomenclature

TODAY = "2026-11-26"
runner = CliRunner()
G_2025 = 3000
"""G from 22 Dec 2024: 30.00 € (convention médicale 2024, ameli 28 Nov 2024)."""
G_2023 = 2500
"""G from 1 May 2017 to 21 Dec 2024: 25.00 € (C 23 € + MMG 3.50 € counted as G 25 €)."""


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "encounters.jsonl").read_text().splitlines()]


def _audit(tmp_path: Path, *inputs: Path, **settings: Any) -> list[dict[str, Any]]:
    import datetime as dt

    out = tmp_path / "out"
    run_audit(
        Settings(
            inputs=list(inputs), out=out, format="jsonl", report=False,
            today=dt.date.fromisoformat(TODAY), **settings,
        )
    )
    return _rows(out)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ 1. repeated claimed codes
def test_check_counts_and_judges_a_repeated_code(nomenclature: Nomenclature) -> None:
    encounter = Encounter.model_validate(
        {"date": "2025-03-05", "place": "office", "patient": {"birth_date": "1980-01-01"},
         "practitioner": {"sector": "1"}, "done": ["consultation"]}
    )
    once = nomenclature.check(encounter, ["G"])
    twice = nomenclature.check(encounter, ["G", "G"])
    assert once.claimed.total_cents == G_2025
    assert twice.claimed.total_cents == 2 * G_2025
    assert twice.status == "violation"
    assert [v.rule for v in twice.violations] == ["repeated_line"]
    assert "11 B" in twice.violations[0].article
    assert once.difference_cents is not None
    assert twice.difference_cents == once.difference_cents + G_2025


def test_cli_check_and_the_audit_agree_on_a_repeated_code(tmp_path: Path) -> None:
    encounter = _write(
        tmp_path / "e.yaml",
        "date: 2025-03-05\nplace: office\npatient: {birth_date: 1980-01-01}\n"
        "practitioner: {sector: '1'}\ndone: [consultation]\n",
    )
    result = runner.invoke(app, ["check", str(encounter), "--claimed", "G,G", "--json"])
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["status"] == "violation"
    assert answer["claimed"]["total_cents"] == 2 * G_2025
    table = _write(
        tmp_path / "t.csv",
        "id,date,place,patient_birth_date,practitioner_sector,done,claimed\n"
        "A1,2025-03-05,office,1980-01-01,1,consultation,G;G;G;G\n",
    )
    jsonl = _write(
        tmp_path / "t.jsonl",
        '{"id": "J1", "date": "2025-03-05", "place": "office", "patient_birth_date": '
        '"1980-01-01", "practitioner_sector": "1", "done": ["consultation"], '
        '"claimed": ["G", "G", "G"]}\n',
    )
    rows = {r["id"]: r for r in _audit(tmp_path, table, jsonl)}
    assert rows["A1"]["status"] == rows["J1"]["status"] == "violation"
    assert rows["A1"]["rules"] == rows["J1"]["rules"] == "repeated_line"
    assert rows["A1"]["claimed"] == "G;G;G;G"
    assert rows["A1"]["claimed_cents"] == 4 * G_2025
    assert rows["J1"]["claimed_cents"] == 3 * G_2025
    assert rows["A1"]["lines"] == "G:valid;G:invalid;G:invalid;G:invalid"
    assert rows["A1"]["difference_cents"] == 4 * G_2025 - rows["A1"]["optimal_cents"]


def test_two_paid_g_of_one_snds_day_are_two_lines_valid_only_if_two_sessions(
    tmp_path: Path,
) -> None:
    lines = _write(
        tmp_path / "d.csv",
        "BEN_NIR_PSA;BEN_RNG_GEM;BEN_NAI_ANN;PFS_EXE_NUM;PSE_SPE_COD;PSE_CNV_COD;EXE_SOI_DTD;"
        "EXE_LIE_COD;PRS_NAT_REF;PRS_ACT_QTE;PRS_OPS_TRF\n"
        "P1;1;1958;100;1;1;2023-03-14;0;1110;1;1\n"
        "P1;1;1958;100;1;1;2023-03-14;0;1110;1;1\n",
    )
    (row,) = _audit(tmp_path, lines)
    assert row["claimed"] == "G;G"
    assert row["claimed_cents"] == 2 * G_2023
    assert row["status"] == "conditional"
    assert "sessions=separate" in row["conditions"]
    assert row["lines"].split(";")[1] == "G:conditional:sessions=separate"
    assert "sessions=separate" in row["optimum_assumes"]
    assert row["source_lines"] == "2;3"


# ------------------------------------------------------------------ 5. crashes -> exit 2 / 3
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngap", "audit", *args, "--quiet", "--today", TODAY],
        capture_output=True, text=True, check=False, env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    text = " ".join(result.stderr.split())
    assert text.startswith("error:"), text
    for word in words:
        assert word in text, text


def test_whole_file_problems_exit_2_naming_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("id,date,claimed\nA,2025-03-05,G\n".encode("utf-16"))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": ["A"], "date": ["2025-03-05"], "claimed": ["G"]}), good)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = [(utf16, "UTF-16"), (folder, "directory"), (empty, "Parquet"),
             (truncated, "Parquet")]
    for path, word in cases:
        _one_line_error(_cli(str(path), "--out", str(tmp_path / f"o-{path.name}")), 2,
                        path.name, word)


def test_out_that_is_a_file_or_a_dangling_link_exits_2(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.csv", "id,date,claimed\nA,2025-03-05,G\n")
    afile = _write(tmp_path / "afile", "x")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    _one_line_error(_cli(str(table), "--out", str(afile)), 2, "afile", "not a directory")
    _one_line_error(_cli(str(table), "--out", str(link)), 2, "link", "symbolic link")


def test_hostile_cells_and_records_are_bad_input_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = "9" * 5000
    jsonl = _write(
        tmp_path / "h.jsonl",
        f'{{"id": "J1", "date": "2025-03-05", "claimed": ["G"], "patient_age_years": {big}}}\n'
        + '{"id": "J2", "x": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
        + '{"id": "J3", "date": "2025-03-05", "claimed": {"x": "G"}}\n'
        + '{"id": "J4", "date": ["2025-03-05"], "claimed": ["G"]}\n'
        + '{"id": "J5", "date": "2025-03-05", "date": "2025-03-06", "claimed": ["G"]}\n'
        + '{"id": "J6", "date": "2025-03-05", "claimed": ["G"], "travel_km": 1e400}\n'
        + '{"id": "J7", "date": "2025-03-05", "claimed": [["G"]]}\n',
    )
    csv = _write(
        tmp_path / "h.csv",
        "id,date,claimed,travel_km\nC1,2025-03-05,G,NaN\nC2,2025-03-05,G,Infinity\n"
        "C3,2025-03-05,G,1e400\n",
    )
    nested = tmp_path / "nested.parquet"
    pq.write_table(
        pa.table({"id": ["P1"], "date": ["2025-03-05"],
                  "claimed": pa.array([[["G"]]], pa.list_(pa.list_(pa.string())))}),
        nested,
    )
    mapped = tmp_path / "mapped.parquet"
    pq.write_table(
        pa.table({"id": ["M1"], "date": ["2025-03-05"],
                  "done": pa.array([[("a", "b")]], pa.map_(pa.string(), pa.string())),
                  "claimed": ["G"]}),
        mapped,
    )
    rows = _audit(tmp_path, jsonl, csv, nested, mapped)
    assert len(rows) == 7 + 3 + 1 + 1
    assert {r["status"] for r in rows} == {"bad_input"}
    reasons = {(Path(r["source"]).name, r["row"]): r["reason"] for r in rows}
    assert "4300" in reasons[("h.jsonl", 1)] and "line 1" in reasons[("h.jsonl", 1)]
    assert "line 2" in reasons[("h.jsonl", 2)]
    assert "claimed" in reasons[("h.jsonl", 3)]
    assert "date: a list" in reasons[("h.jsonl", 4)]
    assert "'date' appears twice" in reasons[("h.jsonl", 5)]
    assert "travel_km" in reasons[("h.jsonl", 6)]
    assert "claimed: a list of texts" in reasons[("h.jsonl", 7)]
    for row in (1, 2, 3):
        assert "travel_km" in reasons[("h.csv", row)] and "not a number" in reasons[("h.csv", row)]
    assert "claimed: a column of type list<" in reasons[("nested.parquet", 1)]
    assert "done: a column of type map<" in reasons[("mapped.parquet", 1)]


# ------------------------------------------------------------------ 6. input hygiene
def test_null_sentinels_are_text_unless_declared(tmp_path: Path) -> None:
    table = _write(
        tmp_path / "t.csv",
        "id,date,place,patient_birth_date,done,claimed,travel_km\n"
        "NA,2025-03-05,office,1980-01-01,consultation,G,nan\n"
        "N2,2025-03-05,NULL,1980-01-01,consultation,G,\n",
    )
    rows = {r["row"]: r for r in _audit(tmp_path, table)}
    assert rows[1]["id"] == "NA"
    assert rows[1]["status"] == "bad_input" and "travel_km: 'nan'" in rows[1]["reason"]
    assert rows[2]["status"] == "bad_input" and "place: 'NULL'" in rows[2]["reason"]
    declared = {r["row"]: r for r in _audit(tmp_path / "b", table, nulls=("NULL", "nan"))}
    assert declared[1]["id"] == "NA" and declared[1]["status"] != "bad_input"
    assert declared[2]["status"] != "bad_input"


def test_a_bom_on_line_1_is_accepted(tmp_path: Path) -> None:
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"id": "B1", "date": "2025-03-05", "claimed": ["G"]}\n')
    csv = tmp_path / "b.csv"
    csv.write_bytes(b"\xef\xbb\xbfid,date,claimed\nB2,2025-03-05,G\n")
    rows = _audit(tmp_path, jsonl, csv)
    assert [r["id"] for r in rows] == ["B1", "B2"]
    assert all(r["status"] != "bad_input" for r in rows)


def test_a_jsonl_line_over_the_size_limit_is_one_bad_row(tmp_path: Path) -> None:
    from ngap.audit.readers import MAX_LINE_BYTES

    jsonl = tmp_path / "long.jsonl"
    jsonl.write_text(
        '{"id": "L1", "date": "2025-03-05", "claimed": ["G"], "notes": "'
        + "x" * (MAX_LINE_BYTES + 10) + '"}\n{"id": "L2", "date": "2025-03-05", "claimed": ["G"]}\n'
    )
    rows = {r["row"]: r for r in _audit(tmp_path, jsonl)}
    assert rows[1]["status"] == "bad_input" and "longer than" in rows[1]["reason"]
    assert rows[2]["id"] == "L2" and rows[2]["status"] != "bad_input"


SNDS_HEADER = (
    "BEN_NIR_PSA;BEN_RNG_GEM;BEN_NAI_ANN;BEN_AMA_COD;PFS_EXE_NUM;PSE_SPE_COD;PSE_CNV_COD;"
    "EXE_SOI_DTD;EXE_LIE_COD;PRS_NAT_REF;PRS_ACT_QTE;PRS_OPS_TRF\n"
)


def test_an_snds_line_with_an_extra_field_is_one_bad_line(tmp_path: Path) -> None:
    lines = _write(
        tmp_path / "d.csv",
        SNDS_HEADER
        + "P1;1;1958;;100;1;1;2023-03-14;0;1110;1;1\n"
        + "P2;1;1958;;100;1;1;2023-03-14;0;1110;1;1;EXTRA\n"
        + "P3;1;1958;;100;1;1;2023-03-14;0;1110;1;1\n",
    )
    rows = {r["row"]: r for r in _audit(tmp_path, lines)}
    assert sorted(rows) == [2, 3, 4]
    assert rows[3]["status"] == "bad_input" and "more fields than the header" in rows[3]["reason"]
    assert rows[2]["status"] == rows[4]["status"] == "valid"


def test_snds_age_in_months_decides_a_child_exam(tmp_path: Path) -> None:
    lines = _write(
        tmp_path / "d.csv",
        SNDS_HEADER
        + "P1;1;2024;1008;100;1;1;2025-03-14;0;1104;1;1\n"
        + "P2;1;2024;;100;1;1;2025-03-14;0;1104;1;1\n",
    )
    rows = {r["patient_id"]: r for r in _audit(tmp_path, lines)}
    assert rows["P1|1"]["status"] == "valid"  # COE at 8 months (BEN_AMA_COD 1008)
    assert rows["P2|1"]["status"] == "conditional"  # birth year only: the age stays open
    assert "age=" in rows["P2|1"]["conditions"]
