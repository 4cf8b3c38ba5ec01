"""``ngap analyse`` and ``ngap validate-ruleset`` through ``register(app)``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor"
DATE = "2025-03-01"


runner = CliRunner()


def test_analyse_one_era_is_clean(app: typer.Typer) -> None:
    result = runner.invoke(app, ["analyse", "--date", DATE])
    assert result.exit_code == 0, result.output
    assert "0 defect(s)" in result.output
    assert "COMPATIBILITY GRAPH PER ERA" in result.output
    data = json.loads(runner.invoke(app, ["analyse", "--date", DATE, "--format", "json"]).output)
    assert data["defects"] == 0 and data["allowed"] > 0
    assert data["versions"]["tool"]["name"] == "ngap"
    assert data["eras"][0]["pairs"] > 1000
    # The one era analysed (its index depends on the dates the knowledge base cuts time at).
    (matrix,) = data["matrices"].values()
    assert "MEG" in matrix["G"] and "G" in matrix["MEG"] and "F" not in matrix["MN"]


def test_analyse_without_allow_list_exits_1(app: typer.Typer, tmp_path: Path) -> None:
    empty = tmp_path / "allow.yaml"
    empty.write_text("allow: {}\n")
    result = runner.invoke(app, ["analyse", "--date", DATE, "--allow-list", str(empty)])
    assert result.exit_code == 1
    assert "dead" in result.output or "redundant_exclusion" in result.output


def test_graph_formats(app: typer.Typer) -> None:
    graphml = runner.invoke(app, ["analyse", "--date", DATE, "--format", "graphml"])
    root = ET.fromstring(graphml.output)
    assert root.tag.endswith("graphml")
    dot = runner.invoke(app, ["analyse", "--date", DATE, "--format", "dot"]).output
    assert dot.startswith("graph ") and '"G" -- "MEG";' in dot


def test_questions(app: typer.Typer) -> None:
    no = runner.invoke(app, ["analyse", "--date", DATE, "--codes", "MN,F"])
    assert no.exit_code == 1 and "one_time_majoration" in no.output
    yes = runner.invoke(app, ["analyse", "--date", DATE, "--codes", "G,MEG", "--format", "json"])
    assert yes.exit_code == 0
    data = json.loads(yes.output)
    assert data["versions"]["tool"]["name"] == "ngap"
    answer = data["answers"][0]
    assert answer["billable"] and answer["witness"]["replayable"]


def test_bad_input_exits_2(app: typer.Typer) -> None:
    assert runner.invoke(app, ["analyse", "--date", "2025-02-30"]).exit_code == 2
    assert runner.invoke(app, ["analyse", "--date", "2019-01-01"]).exit_code == 2
    assert runner.invoke(app, ["analyse", "--codes", "G,XYZ"]).exit_code == 2
    assert runner.invoke(app, ["validate-ruleset", "no/such/dir"]).exit_code == 2


def test_validate_ruleset_formats(app: typer.Typer, tmp_path: Path) -> None:
    manifest = yaml.safe_load((EXAMPLE / "SEEDED_DEFECTS.yaml").read_text(encoding="utf-8"))
    args = ["validate-ruleset", str(EXAMPLE), "--date", manifest["date"]]
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    # The missing codes are summed up in one finding (--list-missing: one per code).
    expected = {k: manifest["counts"].get(k, 0) for k in data["findings_by_kind"]}
    assert data["findings_by_kind"] == expected | {"missing_code": 1}
    out = tmp_path / "report.html"
    result = runner.invoke(app, [*args, "--format", "html", "--out", str(out)])
    assert result.exit_code == 1
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "Wrongly allowed pairs" in html
    for external in ("<script", "<link", "src=", "@import", "url("):
        assert external not in html
    text = runner.invoke(app, args)
    assert text.exit_code == 1 and "WRONGLY ALLOWED (12)" in text.output
