"""A worked example per code: an encounter that bills it, solved by ``optimise``.

Why: a tariff table says what a code is worth, a worked example shows how it is billed (with
which base act, at which rate, for what total).  The encounter comes from the case book when a
case's optimal cotation holds the code (the most recent such case), otherwise from the rule-set
analysis: a witness encounter in the latest era where the code is billable.  Either way the
answer on the page is computed now by the solver, never copied, and kept only when the optimal
cotation really bills the code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ngap.model.encounter import KNOWN_DONE, Encounter
from ngap.site.casebook import cases_for_code, load_index
from ngap.solver.engine import Nomenclature
from ngap.solver.results import CheckResult, Cotation


@dataclass(frozen=True)
class WorkedExample:
    origin: str
    """``casebook`` or ``analysis``."""
    case: str | None
    """The case's name when the encounter comes from the case book."""
    encounter: dict[str, Any]
    """The encounter, without the fields left at their default."""
    date: str
    era: str
    cotation: Cotation


def _bills(cotation: Cotation, code: str) -> bool:
    return any(line.code == code for line in cotation.lines)


def _solve(
    nomenclature: Nomenclature, data: dict[str, Any], code: str
) -> tuple[Encounter, str, str, Cotation] | None:
    try:
        encounter = Encounter.model_validate(data)
        result = nomenclature.optimise(encounter)
    except (ValidationError, ValueError):
        return None
    for cotation in result.optimal:
        if _bills(cotation, code):
            return encounter, result.date, result.era, cotation
    return None


def _shown(encounter: Encounter) -> dict[str, Any]:
    data: dict[str, Any] = encounter.model_dump(mode="json", exclude_defaults=True)
    data.pop("id", None)
    data.pop("claimed", None)
    data["date"] = encounter.date.isoformat()
    return data


@functools.lru_cache(maxsize=4)
def _analyser(nomenclature: Nomenclature) -> Any:
    from ngap.analysis.rulebase import Analyser

    return Analyser(nomenclature.catalogue, nomenclature.eras)


def _target(nomenclature: Nomenclature, code: str) -> str:
    """The code a cotation shows: a refined code (CSO) is billed as its aggregate (CCX)."""
    info = nomenclature.catalogue.codes[code]
    return info.refines if info.kind == "refined" and info.refines else code


def _from_casebook(nomenclature: Nomenclature, code: str) -> WorkedExample | None:
    target = _target(nomenclature, code)
    if target == code:
        cases = [
            c for c in cases_for_code(code) if c["optimise"] and code in c["optimise"]["codes"]
        ]
    else:  # a refined code: a case where its own activity was done
        cases = [c for c in load_index() if code.lower() in c["encounter"].get("done", [])]
    cases.sort(key=lambda c: (str(c["encounter"].get("date", "")), -len(c["codes"])), reverse=True)
    for case in cases[:5]:
        solved = _solve(nomenclature, dict(case["encounter"]), target)
        if solved is not None:
            encounter, date, era, cotation = solved
            return WorkedExample("casebook", case["name"], _shown(encounter), date, era, cotation)
    return None


def _from_analysis(nomenclature: Nomenclature, code: str) -> WorkedExample | None:
    target = _target(nomenclature, code)
    analyser = _analyser(nomenclature)
    for era in reversed(nomenclature.eras):
        if not nomenclature.catalogue.codes[target].billable_on(era.start):
            continue
        witness = analyser.billable(target, era)
        if witness is None:
            continue
        data = dict(analyser.replay(witness, "example")["encounter"])
        if target != code:
            # a refined code is recorded when its own activity was done (CSO: done cso)
            if code.lower() not in KNOWN_DONE:
                return None
            data["done"] = [code.lower()]
        solved = _solve(nomenclature, data, target)
        if solved is not None:
            encounter, date, era_name, cotation = solved
            return WorkedExample("analysis", None, _shown(encounter), date, era_name, cotation)
    return None


def worked_example(nomenclature: Nomenclature, code: str) -> WorkedExample | None:
    """An encounter whose optimal cotation bills ``code`` (a refined code: its aggregate, for
    an encounter where its activity was done), solved now; None when none is found."""
    if code not in nomenclature.catalogue.codes:
        raise KeyError(code)
    return _from_casebook(nomenclature, code) or _from_analysis(nomenclature, code)


@dataclass(frozen=True)
class RuleExample:
    """A claimed coding that breaks the rule, judged now by ``check``."""

    case: str
    encounter: dict[str, Any]
    claimed: tuple[str, ...]
    result: CheckResult


def rule_example(nomenclature: Nomenclature, rule_id: str) -> RuleExample | None:
    """The most recent case-book claim expected to break ``rule_id``, checked now; kept only
    when the verdict names the rule (None otherwise, or for a rule across encounters)."""
    if rule_id not in nomenclature.catalogue.rules:
        raise KeyError(rule_id)
    found = []
    for case in load_index():
        for check in case["checks"]:
            if rule_id in check["rules"]:
                found.append((str(case["encounter"].get("date", "")), case, check))
    found.sort(key=lambda item: item[0], reverse=True)
    for _, case, check in found[:5]:
        try:
            encounter = Encounter.model_validate(dict(case["encounter"]))
            result = nomenclature.check(encounter, check["claimed"])
        except (ValidationError, ValueError):
            continue
        if any(v.rule == rule_id for v in result.violations):
            return RuleExample(case["name"], _shown(encounter), tuple(check["claimed"]), result)
    return None
