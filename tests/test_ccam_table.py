"""The whole official CCAM table (ngap/model/data/ccam_gp.csv) through the command line and the
solver: every act, every version read (67, 78, 81) and both grids.

The expected amounts are read from the official table itself, never restated: a wrong loader,
grid or date would show here.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any

import pytest
from typer.testing import CliRunner

from ngap import Nomenclature
from ngap.cli import app
from ngap.model.catalogue import load_catalogue
from ngap.model.encounter import Encounter

RUNNER = CliRunner()
SHIPPED = resources.files("ngap.model").joinpath("data", "ccam_gp.csv")
TABLE = list(csv.DictReader(SHIPPED.read_text("utf-8").splitlines()))
ACTS = sorted({row["code"] for row in TABLE})
VERSIONS = {"67": dt.date(2021, 4, 26), "78": dt.date(2025, 2, 1), "81": dt.date(2026, 1, 1)}
INSIDE = {"67": dt.date(2023, 6, 15), "78": dt.date(2025, 6, 16), "81": dt.date(2026, 6, 15)}
"""A weekday inside each version's era: v67 holds until 31 Dec 2024 at least, v78 until 31 Dec
2025 (no CCAM step on 1 Jul 2025), v81 from 1 Jan 2026."""


def cents(text: str) -> int:
    return round(float(text) * 100)


def official(code: str, version: str) -> dict[str, str]:
    return next(r for r in TABLE if r["code"] == code and r["ccam_version"] == version)


@cache
def codes_on(day: dt.date) -> dict[str, dict[str, Any]]:
    result = RUNNER.invoke(app, ["codes", "--date", day.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    return {row["code"]: row for row in json.loads(result.output)["codes"]}


def test_the_shipped_table_is_the_reference_table() -> None:
    assert len(TABLE) == 258 and len(ACTS) == 86
    assert {r["ccam_version"] for r in TABLE} == set(VERSIONS)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_codes_lists_every_act_with_the_official_amount_on_both_grids(version: str) -> None:
    # The knowledge base answers from 1 Jan 2022: version 67 is read on its first covered day.
    for day in (max(VERSIONS[version], dt.date(2022, 1, 1)), INSIDE[version]):
        listed = codes_on(day)
        for code in ACTS:
            row = official(code, version)
            assert code in listed, f"{code} not listed on {day}"
            assert listed[code]["amount_cents"] == cents(row["tariff_s1_optam"]), (code, day)
            assert listed[code]["amount_non_optam_cents"] == cents(row["tariff_other"]), (code, day)
            assert listed[code]["label_fr"] == row["label"]


def test_version_67_is_carried_to_the_first_covered_day() -> None:
    listed = codes_on(dt.date(2022, 1, 1))
    for code in ACTS:
        row = official(code, "67")
        assert listed[code]["amount_cents"] == cents(row["tariff_s1_optam"]), code
        # Official on 26 Apr 2021, carried: never graded official on 1 Jan 2022.
        assert listed[code]["grade"] in ("S", "K"), code


def test_grades_follow_the_rule_of_docs_ccam() -> None:
    catalogue = load_catalogue()
    for code in ACTS:
        v67, v78 = official(code, "67"), official(code, "78")
        std = catalogue.codes[code].step_on(dt.date(2023, 6, 15))
        assert std is not None
        expected = "S" if v67["tariff_s1_optam"] == v78["tariff_s1_optam"] else "K"
        assert std.grade == expected, code
        for day in (VERSIONS["78"], VERSIONS["81"]):
            step = catalogue.codes[code].step_on(day)
            assert step is not None and step.grade == "O" and step.start == day, code


def _patient(code: str) -> dict[str, Any]:
    facts = load_catalogue().ccam
    sex = facts.sex.get(code, "f")
    years = 1 if code in facts.age_below else 40
    return {"age": {"years": years}, "sex": sex}


def _practitioner(grid: str) -> dict[str, Any]:
    if grid == "s1":
        return {"sector": "1"}
    return {"sector": "2", "optam": False, "rate": "opposable"}


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("grid", ["s1", "s2"])
def test_optimise_of_each_act_alone_gives_the_official_amount(
    version: str, grid: str, nomenclature: Nomenclature
) -> None:
    day = INSIDE[version]
    column = "tariff_s1_optam" if grid == "s1" else "tariff_other"
    for code in ACTS:
        want = cents(official(code, version)[column])
        done = ["DEQP003"] if code == "YYYY490" else [code]
        place = "home" if code == "YYYY490" else "office"
        encounter = Encounter.model_validate(
            {
                "date": day.isoformat(),
                "time": "10:00",
                "place": place,
                "practitioner": _practitioner(grid),
                "patient": _patient(code),
                "done": done,
            }
        )
        if want == 0:
            # JKGD004: no separate price; billing it is valid and worth nothing.
            verdict = nomenclature.check(encounter, [code])
            assert verdict.status == "valid" and verdict.claimed.total_cents == 0, code
            continue
        best = nomenclature.optimise(encounter).best
        amounts = {line.code: line.amount_cents for line in best.lines}
        assert amounts.get(code) == want, (code, version, grid, amounts)
        if place == "office":
            assert best.total_cents == want, (code, version, grid, amounts)


def test_explain_shows_both_grids_with_the_ccam_versions_as_sources() -> None:
    for code in ACTS:
        result = RUNNER.invoke(app, ["explain", code, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        for key, column in (("tariffs", "tariff_s1_optam"), ("tariffs_non_optam", "tariff_other")):
            by_start = {s["from"]: s for s in data[key]}
            for version, day in VERSIONS.items():
                step = by_start[day.isoformat()]
                assert step["amount"] == official(code, version)[column], (code, key, version)
                assert step["grade"] == "O"
                assert any(f"CCAM version {version}" in cite for cite in step["citations"])
        assert data["label_fr"] == official(code, "81")["label"]
