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
