"""Output contracts: every JSON answer validates against its published schema, carries the
versions, and the files under ``schema/`` are exactly what ``ngap.schemas`` builds."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from ngap import schemas
from ngap.cli import app
from ngap.versions import versions

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = schemas.schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _validate(name: str, data: Any) -> None:
    _validator(name).validate(data)


def _json(args: list[str], codes: tuple[int, ...] = (0,)) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code in codes, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", list(schemas.SCHEMAS))
def test_published_file_is_what_the_code_builds(name: str) -> None:
    path = ROOT / "schema" / f"{name}.schema.json"
    assert path.read_text(encoding="utf-8") == schemas.dumps(schemas.schema(name)), (
        f"{path} is stale: run python -m ngap.schemas schema"
    )


def test_every_published_file_has_a_builder() -> None:
    names = {p.name.removesuffix(".schema.json") for p in (ROOT / "schema").glob("*.schema.json")}
    assert names == set(schemas.SCHEMAS)


def test_schema_command_lists_and_prints() -> None:
    listed = runner.invoke(app, ["schema", "--list"])
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == list(schemas.SCHEMAS)
    assert _json(["schema", "--output", "check"]) == schemas.schema("check")
    assert _json(["schema"]) == schemas.schema("encounter")
    bad = runner.invoke(app, ["schema", "--output", "nope"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("command", "example", "codes"),
    [
        ("optimise", "02_visit_elderly_md_2024.yaml", (0,)),
        ("enumerate", "05_ecg_with_consultation_2025.yaml", (0,)),
        ("check", "04_night_not_urgent_2025.yaml", (1,)),
        ("check", "12_audit_open_context.yaml", (0,)),
        ("check", "01_g_child_2023.yaml", (0,)),
    ],
)
def test_encounter_answers_follow_their_schema(
    command: str, example: str, codes: tuple[int, ...]
) -> None:
    data = _json([command, str(EXAMPLES / example), "--json"], codes)
    _validate(command, data)
    assert data["versions"] == versions()


def test_catalogue_answers_follow_their_schema() -> None:
    for name, args in (
        ("codes", ["codes", "--date", "2025-03-01", "--json"]),
        ("codes", ["codes", "--date", "2022-06-01", "--json"]),
        ("explain", ["explain", "CRM", "--json"]),
        ("explain", ["explain", "DEQP003", "--json"]),
        ("explain", ["explain", "genuine_emergency", "--json"]),
        ("vocabulary", ["vocabulary", "--json"]),
    ):
        data = _json(args)
        _validate(name, data)
        assert data["versions"] == versions()


def test_analysis_answers_follow_their_schema(tmp_path: Path) -> None:
    report = _json(["analyse", "--date", "2025-03-01", "--format", "json"], (0, 1))
    _validate("analyse", report)
    assert report["findings"], "the shipped allow-list explains findings: the schema sees some"
    for codes in ("MN,F", "G,MEG"):
        answer = _json(
            ["analyse", "--codes", codes, "--date", "2025-03-01", "--format", "json"], (0, 1)
        )
        _validate("analyse_codes", answer)
    vendor = _json(
        ["validate-ruleset", str(EXAMPLES / "vendor"), "--date", "2025-03-01", "--format", "json"],
        (1,),
    )
    _validate("validate_ruleset", vendor)
    assert vendor["findings"] and vendor["versions"] == versions()


def test_audit_outputs_follow_their_schema(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    result = runner.invoke(
        app,
        [
            "audit",
            str(EXAMPLES / "audit" / "encounters.csv"),
            str(EXAMPLES / "audit" / "dcir_sample.csv"),
            "--out",
            str(out),
            "--format",
            "jsonl",
            "--today",
            "2026-11-26",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "encounters.jsonl").read_text().splitlines()]
    assert {r["status"] for r in rows} >= {"valid", "violation", "conditional", "bad_input"}
    for row in rows:
        _validate("audit_row", row)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    _validate("audit_summary", summary)
    assert summary["versions"] == versions()
    assert summary["findings"]["present"] and summary["bad_input"]["count"] > 0
    _validate("audit_summary", _json(["report", str(out), "--json"]))


def test_a_broken_answer_is_refused() -> None:
    """The schemas are not vacuous: a missing version or a mistyped amount fails."""
    data = _json(["optimise", str(EXAMPLES / "01_g_child_2023.yaml"), "--json"])
    del data["versions"]
    with pytest.raises(jsonschema.ValidationError):
        _validate("optimise", data)
    data = _json(["optimise", str(EXAMPLES / "01_g_child_2023.yaml"), "--json"])
    data["optimal"][0]["lines"][0]["amount_cents"] = "26.50"
    with pytest.raises(jsonschema.ValidationError):
        _validate("optimise", data)
    row: dict[str, Any] = dict.fromkeys(schemas.schema("audit_row")["required"])
    row["status"] = "valid"
    _validate("audit_row", row)
    row["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _validate("audit_row", row)


def test_every_code_and_rule_explained_follows_the_schema() -> None:
    from ngap.model.catalogue import load_catalogue

    catalogue = load_catalogue()
    for name in [*catalogue.codes, *catalogue.rules]:
        _validate("explain", _json(["explain", name, "--json"]))
    for day in ("2022-01-01", "2023-11-01", "2024-12-22", "2026-01-01"):
        _validate("codes", _json(["codes", "--date", day, "--json"]))
