"""``ngap audit``, ``ngap report`` and ``ngap table-schema`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from clitext import flat
from typer.testing import CliRunner

from ngap.audit.columns import table_schema
from ngap.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples" / "audit"
SCHEMA = Path(__file__).parents[2] / "schema" / "encounter_table.schema.json"
runner = CliRunner()


def test_audit_both_input_shapes_then_report(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    result = runner.invoke(
        app,
        ["audit", str(EXAMPLES / "encounters.csv"), str(EXAMPLES / "dcir_sample.csv"),
         "--out", str(out), "--format", "jsonl", "--today", "2026-11-26"],
    )
    assert result.exit_code == 0, result.output
    assert "rows in" in flat(result.output)
    rows = [json.loads(line) for line in (out / "encounters.jsonl").read_text().splitlines()]
    sources = {Path(r["source"]).name for r in rows}
    assert sources == {"encounters.csv", "dcir_sample.csv"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == len(rows)
    (out / "report.html").unlink()
    again = runner.invoke(app, ["report", str(out), "--json"])
    assert again.exit_code == 0, again.output
    assert (out / "report.html").exists()
    assert json.loads(again.output)["rows"] == len(rows)


def test_audit_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["audit", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "no such file" in flat(missing.output)
    engine = runner.invoke(
        app, ["audit", str(EXAMPLES / "encounters.csv"), "--out", str(tmp_path / "o"),
              "--engine", "hadoop"]
    )
    assert engine.exit_code == 2 and "unknown engine" in flat(engine.output)
    fmt = runner.invoke(
        app, ["audit", str(EXAMPLES / "encounters.csv"), "--out", str(tmp_path / "f"),
              "--format", "xlsx"]
    )
    assert fmt.exit_code == 2 and "unknown output format" in flat(fmt.output)
    first = runner.invoke(
        app, ["audit", str(EXAMPLES / "encounters.csv"), "--out", str(tmp_path / "a"), "--quiet"]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["audit", str(EXAMPLES / "encounters.csv"), "--out", str(tmp_path / "a"), "--quiet"]
    )
    assert second.exit_code == 2 and "--resume" in flat(second.output)
    report = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert report.exit_code == 2


def test_published_table_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == table_schema()
    result = runner.invoke(app, ["table-schema"])
    assert json.loads(result.output) == table_schema()
    names = [f["name"] for f in table_schema()["fields"]]
    assert "patient_age_years" in names and "circumstances_emergency" in names
