"""The synthetic mix and ``ngap synth``: its seeded errors are the only errors the audit finds."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ngap.audit.runner import Settings, run_audit
from ngap.audit.synthetic import MIX, labelled, today, write
from ngap.cli import app

runner = CliRunner()
SEEDED = {s.name for s in MIX if s.seeded_error}
ROWS = 3_000


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, object]], list[str]]:
    work = tmp_path_factory.mktemp("synth")
    table, names = labelled(ROWS, seed=11)
    pq.write_table(table, work / "mix.parquet")
    run_audit(
        Settings(inputs=[work / "mix.parquet"], out=work / "out", today=today(), report=False)
    )
    rows = pq.read_table(work / "out" / "encounters.parquet").to_pylist()
    rows.sort(key=lambda r: int(str(r["row"])))
    assert len(rows) == ROWS  # rows in = rows out
    return rows, names


def test_only_seeded_rows_break_a_rule(
    audited: tuple[list[dict[str, object]], list[str]],
) -> None:
    rows, names = audited
    assert {r["id"] for r in rows} == {f"S{i}" for i in range(ROWS)}
    by_id = {str(r["id"]): r for r in rows}
    broken = set()
    for i, name in enumerate(names):
        row = by_id[f"S{i}"]
        if row["status"] in ("violation", "bad_input") or row["across_rules"]:
            broken.add(i)
            assert name in SEEDED, (name, row["status"], row["rules"], row["across_rules"])
        elif name == "claims_unknown":  # time and urgency unknown: MN only if they held
            assert row["status"] == "conditional"
            assert "MN:conditional" in str(row["lines"])
        else:
            assert row["status"] == "valid", (name, row["rules"], row["conditions"])
    # ... and every seeded row is caught, by a rule or as bad input.
    seeded_rows = {i for i, name in enumerate(names) if name in SEEDED}
    assert broken == seeded_rows
    assert 0.06 < len(seeded_rows) / ROWS < 0.10  # the documented 8 %


def test_seeded_errors_name_their_rule(
    audited: tuple[list[dict[str, object]], list[str]],
) -> None:
    rows, names = audited
    by_id = {str(r["id"]): r for r in rows}
    expected = {
        "err_mn_daytime": "night_hours",
        "err_f_weekday": "sunday_holiday",
        "err_md_unjustified": "md_needs_justified_visit",
    }
    for i, name in enumerate(names):
        if name in expected:
            rules = by_id[f"S{i}"]["rules"]  # list<string> in the typed Parquet output
            assert isinstance(rules, list) and expected[name] in rules, (name, rules)
        if name == "err_bad_date" or name == "err_unknown_code":
            assert by_id[f"S{i}"]["status"] == "bad_input"


def test_under_coding_is_valid_and_loses_money(
    audited: tuple[list[dict[str, object]], list[str]],
) -> None:
    rows, names = audited
    by_id = {str(r["id"]): r for r in rows}
    under = [by_id[f"S{i}"] for i, name in enumerate(names) if name == "child_g_undercoded"]
    assert under
    for row in under:
        assert row["status"] == "valid"
        assert int(str(row["difference_cents"])) < 0  # MEG left out


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_synth_command_writes_an_auditable_table(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"mix.{fmt}"
    result = runner.invoke(app, ["synth", "200", str(target), "--seed", "3", "--format", fmt])
    assert "200 encounters written" in " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    again = tmp_path / f"again.{fmt}"
    runner.invoke(app, ["synth", "200", str(again), "--seed", "3", "--format", fmt])
    assert target.read_bytes() == again.read_bytes()  # same seed, same table
    if fmt == "jsonl":
        lines = target.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 200
        assert json.loads(lines[0])["id"] == "S0"
    out = tmp_path / "audit"
    audit = runner.invoke(
        app,
        ["audit", str(target), "--out", str(out), "--today", today().isoformat(), "--quiet"],
    )
    assert audit.exit_code == 0, audit.output
    assert len(pq.read_table(out / "encounters.parquet")) == 200


def test_synth_by_suffix_and_bad_format(tmp_path: Path) -> None:
    written = write(tmp_path / "mix.csv", 10)
    assert written.read_text(encoding="utf-8").count("\n") == 11  # header + 10 rows
    bad = runner.invoke(app, ["synth", "10", str(tmp_path / "x.csv"), "--format", "xlsx"])
    assert bad.exit_code == 2
