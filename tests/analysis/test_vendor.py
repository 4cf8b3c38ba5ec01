"""Validating vendor rule sets: the shipped flawed example, the model's own export, witnesses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from ngap import Encounter, Nomenclature
from ngap.analysis.export import PAIR_HEADER, TARIFF_HEADER, pair_rows, tariff_rows, to_csv
from ngap.analysis.rulebase import Analyser
from ngap.analysis.vendor import ValidationReport, Validator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor"


def _key(key: str) -> str:
    return key.replace(f"{EXAMPLE}/", "")


@pytest.fixture(scope="module")
def manifest() -> dict[str, object]:
    data = yaml.safe_load((EXAMPLE / "SEEDED_DEFECTS.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def example(validator: Validator, manifest: dict[str, object]) -> ValidationReport:
    return validator.validate([str(EXAMPLE)], dt.date.fromisoformat(str(manifest["date"])))


def test_every_seeded_defect_is_found_and_nothing_else(
    example: ValidationReport, manifest: dict[str, object]
) -> None:
    defects = manifest["defects"]
    assert isinstance(defects, dict)
    expected = {d["key"] for items in defects.values() for d in items}
    found = {_key(f.key) for f in example.findings}
    assert not expected - found, f"seeded defects not found: {sorted(expected - found)}"
    assert not found - expected, f"reported but not seeded: {sorted(found - expected)}"
    for kind, items in defects.items():
        if kind != "input_error":
            assert len(items) >= 12, kind


def test_findings_carry_articles_and_replayable_witnesses(
    example: ValidationReport, nomenclature: Nomenclature
) -> None:
    for f in example.findings:
        if f.kind in ("wrongly_allowed", "rule_breaking_cotation"):
            assert f.articles and all(a["article"] for a in f.articles), f.key
        if f.kind in ("wrongly_allowed", "wrongly_forbidden", "missing_code"):
            assert f.witness and f.witness["replayable"], f.key
        if f.kind == "input_error":
            assert f.locations and f.locations[0].line > 0, f.key
    for f in example.findings:
        if f.kind not in ("wrongly_allowed", "wrongly_forbidden"):
            continue
        assert f.witness is not None
        verdict = nomenclature.check(Encounter.model_validate(f.witness["encounter"]))
        a, b = f.subject[:2]
        assert {a, b} <= set(f.witness["encounter"]["claimed"])
        if f.kind == "wrongly_forbidden":
            assert verdict.status == "valid", (f.key, verdict.violations)
        else:
            rules = {v.rule for v in verdict.violations}
            assert rules == set(f.details["blocking_rules"]), f.key


def test_the_models_own_export_validates_clean(
    tmp_path: Path, analyser: Analyser, validator: Validator
) -> None:
    day = dt.date(2025, 3, 1)
    (tmp_path / "tariffs.csv").write_text(to_csv(tariff_rows(analyser), TARIFF_HEADER))
    (tmp_path / "cumulation.csv").write_text(to_csv(pair_rows(analyser, day), PAIR_HEADER))
    report = validator.validate([str(tmp_path)], day)
    assert report.findings == []
    assert report.counts["pairs_judged"] > 4000
