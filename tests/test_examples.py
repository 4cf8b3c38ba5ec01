"""The shipped example encounters give the answers written beside them (examples/expected.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from casebook import cents

from ngap import Nomenclature
from ngap.io import read_encounter

EXAMPLES = Path(__file__).parent.parent / "examples"
EXPECTED = yaml.safe_load((EXAMPLES / "expected.yaml").read_text(encoding="utf-8"))


def test_every_example_has_an_expected_answer() -> None:
    files = {p.name for p in EXAMPLES.glob("*.yaml") if p.name != "expected.yaml"}
    assert files == set(EXPECTED)
    assert len(files) >= 12


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name: str, nomenclature: Nomenclature) -> None:
    want = EXPECTED[name]
    encounter = read_encounter(str(EXAMPLES / name))
    if "optimise" in want:
        result = nomenclature.optimise(encounter)
        codes = {tuple(sorted(c.codes)): c for c in result.optimal}
        key = tuple(sorted(want["optimise"]))
        assert key in codes, sorted(codes)
        assert codes[key].total_cents == cents(want["total"])
    verdict = nomenclature.check(encounter)
    assert verdict.status == want["check"], verdict.violations
    if "rules" in want:
        assert sorted({v.rule for v in verdict.violations}) == sorted(want["rules"])
