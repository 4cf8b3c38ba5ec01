"""The defect report of our own rule base, and each detector on a seeded rule base."""

from __future__ import annotations

import dataclasses

import pytest

from ngap import Encounter, Nomenclature
from ngap.analysis.rulebase import (
    Analyser,
    RuleBaseReport,
    allowance,
    analyse,
    load_allow_list,
)
from ngap.model.catalogue import RuleInfo
from ngap.model.eras import Era

BLOCKING_KINDS = ("dead_code", "contradiction", "redundant_exclusion")


@pytest.fixture(scope="module")
def report(analyser: Analyser) -> RuleBaseReport:
    """Every era, no allow-list: the raw findings (the allow-list is applied by the tests)."""
    return analyse(analyser, allow={}, matrix=False)


def test_our_rule_base_is_clean_or_explained(report: RuleBaseReport) -> None:
    allow = load_allow_list()
    unexplained = [f.key for f in report.findings if allowance(f.key, allow) is None]
    assert not unexplained, "defects of the rule base (fix them or explain them in "
    "ngap/analysis/allow_list.yaml): " + ", ".join(unexplained)
    used = {allowance(f.key, allow) for f in report.findings}
    stale = sorted(set(allow) - used)
    assert not stale, f"allow-list entries that match no finding any more: {stale}"


def test_the_known_findings_are_found(report: RuleBaseReport) -> None:
    keys = {f.key for f in report.findings}
    assert "dead_code:MMG" in keys
    assert "redundant_exclusion:ccp_no_mcg:CCP:MCG" in keys
    assert "contradiction:MCU:CS" in keys
    mmg = next(f for f in report.findings if f.key == "dead_code:MMG")
    assert mmg.eras and max(mmg.eras) < 13  # MMG ends on 21 Dec 2024


def test_every_witness_replays_with_exactly_its_rules(
    report: RuleBaseReport, nomenclature: Nomenclature
) -> None:
    """``ngap check`` on a finding's witness reports exactly the rules the finding names (and,
    for a redundant exclusion, the exclusion itself)."""
    checked = 0
    for finding in report.findings:
        if finding.kind not in BLOCKING_KINDS or finding.witness is None:
            continue
        assert finding.witness["replayable"], (finding.key, finding.witness.get("differences"))
        encounter = Encounter.model_validate(finding.witness["encounter"])
        verdict = nomenclature.check(encounter)
        expected = set(finding.rules)
        if finding.kind == "redundant_exclusion":  # the witness was found with the rule off
            expected.add(finding.subject[0])
        assert {v.rule for v in verdict.violations} == expected, finding.key
        checked += 1
    assert checked > 20


def _seeded(analyser: Analyser) -> tuple[Analyser, Era]:
    """The rule base plus one defect of each kind (test rules dated in rules.yaml's way)."""
    catalogue = analyser.catalogue
    extra_rules = {
        name: RuleInfo(name, "test.lp", "test", "test", "fr", "en")
        for name in ("t_never", "t_dead", "t_redundant", "t_implied", "t_contra", "t_unused")
    }
    seeded_catalogue = dataclasses.replace(catalogue, rules={**catalogue.rules, **extra_rules})
    extra = """
    breach(t_never,"G") :- bill("G"), ctx(place,tele), ctx(place,office).
    breach(t_dead,"CCP") :- bill("CCP").
    excludes("MN","F",t_redundant).
    breach(t_implied,"F") :- bill("F"), not sunday_or_holiday.
    excludes("MEG","VG",t_contra).
    breach(t_undocumented,"G") :- bill("G"), ctx(place,tele).
    """
    seeded = Analyser(seeded_catalogue, analyser.eras, extra)
    return seeded, seeded.era_of(__import__("datetime").date(2025, 3, 1))


def test_each_detector_finds_its_seeded_defect(analyser: Analyser) -> None:
    seeded, era = _seeded(analyser)
    found = analyse(seeded, [era], allow={}, matrix=True)
    keys = {f.key for f in found.findings}
    expected = {
        "never_fires:t_never",
        "dead_code:CCP",
        "redundant_exclusion:t_redundant:MN:F",
        "implied_rule:t_implied",
        "contradiction:MEG:VG",
        "unused_rule:t_unused",
        "undocumented_rule:t_undocumented",
    }
    assert expected <= keys, expected - keys
    dead = next(f for f in found.findings if f.key == "dead_code:CCP")
    assert dead.rules == ["t_dead"]
    redundant = next(f for f in found.findings if f.key == "redundant_exclusion:t_redundant:MN:F")
    assert redundant.rules == ["one_time_majoration"]
    summary = found.summaries[0]
    assert summary.billable < summary.codes_in_force and summary.cliques > 0
