"""The case-book index shipped with the package is the case book (tests/cases) as it is now."""

from __future__ import annotations

from pathlib import Path

from ngap.model.catalogue import load_catalogue
from ngap.site import casebook
from ngap.site.rulebase_index import build_index

ROOT = Path(__file__).parents[2]


def test_shipped_index_is_current() -> None:
    shipped = (ROOT / "ngap" / "site" / casebook.INDEX_NAME).read_text(encoding="utf-8")
    rebuilt = casebook.dumps(casebook.build_index(ROOT / "tests" / "cases"))
    assert shipped == rebuilt, "stale: run python -m ngap.site.casebook tests/cases"


def test_index_names_only_known_codes_and_rules() -> None:
    catalogue = load_catalogue()
    for case in casebook.load_index():
        assert set(case["codes"]) <= set(catalogue.codes), case["name"]
        assert set(case["rules"]) <= set(catalogue.rules), case["name"]


def test_every_rule_is_located_and_lines_are_right() -> None:
    """Each rule id has a place in the files, and that line states it."""
    catalogue = load_catalogue()
    index = build_index(catalogue)
    assert set(index.rule_lines) == set(catalogue.rules)
    for rule, places in index.rule_lines.items():
        for place in places:
            line = (ROOT / place.file).read_text(encoding="utf-8").splitlines()[place.line - 1]
            assert line.strip() and place.text.startswith(line.strip()[:20]), (rule, place)
    for code, places in index.code_lines.items():
        for place in places:
            line = (ROOT / place.file).read_text(encoding="utf-8").splitlines()[place.line - 1]
            assert f'"{code}"' in line


def test_rules_concern_the_codes_their_statements_reach() -> None:
    """Through the predicates: a biopsy listed in biopsy/1 is concerned by the NGAP/CCAM
    non-cumulation rule; every CCAM act (kind(C, ccam)) by the at-most-two-acts rule."""
    catalogue = load_catalogue()
    index = build_index(catalogue)
    ccam = {c.code for c in catalogue.codes.values() if c.kind == "ccam"}
    assert ccam <= set(index.codes_of("ccam_two_acts"))
    assert "QZHA005" in index.codes_of("ngap_ccam_no_cumul")
    assert {"MN", "MM"} <= set(index.codes_of("night_hours"))
    assert "G" not in index.codes_of("night_hours")
