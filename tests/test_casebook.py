"""Runs every case of tests/cases/*.yaml against the solver."""

from __future__ import annotations

import pytest
from casebook import Case, cents, load_cases

from ngap import Encounter, Nomenclature

CASES = load_cases()


def _codes(items: list[str]) -> tuple[str, ...]:
    return tuple(sorted(items))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, nomenclature: Nomenclature) -> None:
    encounter = Encounter.model_validate(case.data["encounter"])
    expected = case.data.get("optimise")
    if expected is not None:
        result = nomenclature.optimise(encounter)
        found = {_codes(list(c.codes)): c for c in result.optimal}
        want = _codes(expected["codes"])
        assert want in found, f"optimal cotations are {sorted(found)}"
        assert found[want].total_cents == cents(expected["total"])
        if "ties" in expected:
            assert len(result.optimal) == expected["ties"], sorted(found)
        if "complete" in expected:
            assert found[want].complete == expected["complete"]
    checks = case.data.get("check") or []
    if isinstance(checks, dict):
        checks = [checks]
    for check in checks:
        verdict = nomenclature.check(encounter, check["claimed"])
        assert verdict.status == check["status"], [v.rule for v in verdict.violations]
        if "rules" in check:
            assert sorted({v.rule for v in verdict.violations}) == sorted(check["rules"])
        if "difference" in check:
            assert verdict.difference_cents == cents(check["difference"])
        if "claimed_total" in check:
            assert verdict.claimed.total_cents == cents(check["claimed_total"])
    enum = case.data.get("enumerate")
    if enum is not None:
        result_e = nomenclature.enumerate(encounter, limit=10_000)
        valid = {_codes(list(c.codes)) for c in result_e.cotations}
        for codes in enum.get("contains", []):
            assert _codes(codes) in valid
        for codes in enum.get("excludes", []):
            assert _codes(codes) not in valid
    assert expected or checks or enum, "a case must assert something"


def test_case_book_size() -> None:
    assert len(CASES) >= 150
