"""Code health of the knowledge base: citations present, dates ascending, every rule documented,
every code priced or flagged for every era, and the traps real sources fell into."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pytest

from ngap import Nomenclature
from ngap.model.catalogue import load_catalogue
from ngap.model.eras import compute_eras
from ngap.model.vocabulary import AGE_THRESHOLDS

CATALOGUE = load_catalogue()
LP_DIR = Path(str(resources.files("ngap.asp_rules")))
LP_TEXT = {p.name: p.read_text(encoding="utf-8") for p in LP_DIR.glob("*.lp")}
# Rules across encounters live in one Python module; rules.yaml names it relative to LP_DIR.
AUDIT_RULES = "../audit/frequency.py"
# A claim is a set of codes to the rule base: repeated lines are judged by the engine itself.
ENGINE_RULES = "../solver/engine.py"
RULE_FILES = {
    **LP_TEXT,
    **{name: (LP_DIR / name).read_text(encoding="utf-8") for name in (AUDIT_RULES, ENGINE_RULES)},
}


def _rule_ids_in_lp() -> set[str]:
    ids: set[str] = set()
    for text in LP_TEXT.values():
        code = "\n".join(line.split("%")[0] for line in text.splitlines())
        ids |= set(re.findall(r"breach\(([a-z][a-z0-9_]*)\s*,", code))
        ids |= set(re.findall(r"excludes\([^()]*?,\s*([a-z][a-z0-9_]*)\)\s*(?::-|\.)", code))
        ids |= set(re.findall(r"in_force\(([a-z][a-z0-9_]*)\)", code))
    return ids - {"r"}


def test_every_rule_in_the_rule_base_is_documented() -> None:
    missing = _rule_ids_in_lp() - set(CATALOGUE.rules)
    assert not missing, f"rule ids used in .lp files but absent from rules.yaml: {missing}"


def test_every_documented_rule_exists_in_its_file() -> None:
    for rule in CATALOGUE.rules.values():
        assert rule.file in RULE_FILES, f"{rule.id}: no file {rule.file}"
        assert rule.id in RULE_FILES[rule.file], f"{rule.id} is not in {rule.file}"
        assert rule.article and rule.source, f"{rule.id}: article and source are required"
        assert rule.fr and rule.en


def test_every_lp_file_cites_its_legal_source() -> None:
    pattern = re.compile(r"NGAP|CCAM|convention|avenant|arbitral|décision", re.IGNORECASE)
    for name, text in LP_TEXT.items():
        header = text.split("\n\n")[0]
        assert pattern.search(header), f"{name}: the header cites no legal source"


def test_age_thresholds_used_by_rules_are_declared() -> None:
    declared = {t.symbol_name for t in AGE_THRESHOLDS}
    for name, text in LP_TEXT.items():
        for unit, number in re.findall(r"\b([dmy])\((\d+)\)", text):
            assert f"{unit}{number}" in declared, f"{name}: age {unit}({number}) is no threshold"


def test_sources_resolve_and_dates_ascend() -> None:
    for code in CATALOGUE.codes.values():
        assert code.sources, f"{code.code}: no source"
        for sid in code.sources:
            assert sid in CATALOGUE.sources, f"{code.code}: unknown source {sid}"
        for steps in (code.tariffs, code.tariffs_non_optam):
            starts = [s.start for s in steps]
            assert starts == sorted(starts) and len(set(starts)) == len(starts), code.code
            for step in steps:
                assert step.sources, f"{code.code} {step.start}: tariff without source"
                for sid in step.sources:
                    assert sid in CATALOGUE.sources, f"{code.code}: unknown source {sid}"
                assert step.grade in ("O", "S", "K", "?"), code.code


def test_every_code_is_priced_or_flagged_in_every_era() -> None:
    for era in compute_eras(CATALOGUE):
        for code in CATALOGUE.codes.values():
            if code.kind in ("refined", "free") or not (
                code.valid_from <= era.start <= code.valid_to
            ):
                continue
            step = code.step_on(era.start)
            assert step is not None, f"{code.code} has no tariff step in {era}"
            if step.cents is None:
                assert step.grade == "?" or step.not_billable, (
                    f"{code.code} {era}: unpriced, not flagged"
                )


def test_no_tariff_step_on_the_suspended_first_of_july_2025() -> None:
    """The 1 Jul 2025 step was suspended (comité d'alerte, 18 Jun 2025) and applied 1 Jan 2026."""
    july = dt.date(2025, 7, 1)
    for code in CATALOGUE.codes.values():
        assert all(s.start != july for s in code.tariffs), code.code


def test_crm_is_not_the_visit_amount() -> None:
    """One coding aid printed CRM 59.50 in 2025: 59.50 is VRM, CRM stayed 51.50."""
    crm, vrm = CATALOGUE.codes["CRM"], CATALOGUE.codes["VRM"]
    for day in (dt.date(2022, 1, 1), dt.date(2025, 3, 1), dt.date(2026, 6, 1)):
        assert crm.step_on(day).cents == 5150  # type: ignore[union-attr]
        assert vrm.step_on(day).cents == 5950  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def requirements(nomenclature: Nomenclature) -> tuple[set[str], set[str]]:
    performed = {c.string for c, _ in nomenclature.facts("needs_done", 2)}
    attached = {m.string for m, _ in nomenclature.facts("attaches", 2)}
    never = {c.string for (c,) in nomenclature.facts("never_billed", 1)}
    # A CCAM modifier is conditioned by the CCAM acts that list its letter (modificateurs_ccam.lp).
    carried = {m.string for m, _ in nomenclature.facts("modifier_letter", 2)}
    return performed | never, attached | carried


def test_every_billable_code_has_a_condition(requirements: tuple[set[str], set[str]]) -> None:
    """A code with no condition would be billed by the optimiser for free."""
    performed, attached = requirements
    for code in CATALOGUE.codes.values():
        if code.kind == "refined":
            continue
        assert code.code in performed | attached, f"{code.code}: no needs_done nor attaches"
