"""``ngap validate-ruleset`` in continuous integration: kinds, baseline, missing codes, the
directory scan, JUnit and SARIF, exit codes.

The shipped flawed example (``examples/vendor``) and its reviewed baseline are the fixture;
expected numbers are derived from the example's manifest, its baseline and the model, never
written down (the catalogue grows)."""

from __future__ import annotations

import copy
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ngap.analysis import cli
from ngap.analysis.baseline import BaselineError, load_baseline
from ngap.analysis.export import TARIFF_HEADER, tariff_rows, to_csv
from ngap.analysis.rulebase import Analyser
from ngap.analysis.space import EraSpace
from ngap.analysis.vendor import KINDS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor"
BASELINE = EXAMPLE / "baseline.json"
DATE = "2025-03-01"
RUN = ["validate-ruleset", str(EXAMPLE), "--date", DATE]

runner = CliRunner()


def _run(app: typer.Typer, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return result.exit_code, data


def _bare(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What identifies findings and where they are, without their evidence: a witness is *an*
    encounter showing the difference (its cotation is in some messages), and which one the
    solver finds first depends on what it solved before; that is why a finding's identity
    never includes it."""
    keep = ("key", "identity", "kind", "subject", "locations")
    return [{k: f[k] for k in keep} for f in findings]


def _flat(text: str) -> str:
    """Help and report text with the terminal's line wrapping and table borders taken out."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLE / "SEEDED_DEFECTS.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def plain(app: typer.Typer) -> dict[str, Any]:
    """The example without baseline: every finding fails."""
    code, data = _run(app, *RUN)
    assert code == 1
    return data


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    data = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------------- baseline
def test_the_shipped_baseline_accepts_the_example(app: typer.Typer, plain: dict[str, Any]) -> None:
    code, data = _run(app, *RUN, "--baseline", str(BASELINE))
    assert code == 0
    assert data["findings"] == [] and data["exit_code"] == 0
    assert data["baseline"]["stale"] == []
    accepted = sum(len(e.identities()) for e in load_baseline(BASELINE))
    assert data["baseline"]["accepted"] == accepted
    assert [f["key"] for f in data["baselined"]] == [f["key"] for f in plain["findings"]]
    assert all(f["reason"].startswith("seeded defect of the example") for f in data["baselined"])
    text = runner.invoke(app, [*RUN, "--baseline", str(BASELINE)])
    assert text.exit_code == 0
    assert f"{accepted} findings accepted, 0 stale entries" in _flat(text.stdout)
    assert "no finding outside the baseline: exit 0" in text.stdout
    html = runner.invoke(app, [*RUN, "--baseline", str(BASELINE), "--format", "html"])
    assert html.exit_code == 0
    assert "<b>0</b> finding(s) outside the baseline" in html.stdout
    assert f"Accepted by the baseline ({accepted})" in html.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_removing_one_entry_fails_with_that_finding(
    app: typer.Typer, shipped: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    entries = shipped["accepted"]
    removed = next(e for e in entries if e["kind"] == kind)
    edited = tmp_path / "baseline.json"
    edited.write_text(json.dumps(shipped | {"accepted": [e for e in entries if e != removed]}))
    code, data = _run(app, *RUN, "--baseline", str(edited))
    assert code == 1
    assert [f["identity"] for f in data["findings"]] == [
        {k: v for k, v in removed.items() if k != "reason"}
    ]
    assert data["findings_by_kind"] == {k: int(k == kind) for k in KINDS}
    assert data["baseline"]["stale"] == []
    text = runner.invoke(app, [*RUN, "--baseline", str(edited)])
    assert text.exit_code == 1
    assert _flat(data["findings"][0]["message"]) in _flat(text.stdout)
    assert "1 finding outside the baseline: exit 1" in text.stdout


def test_missing_codes_are_accepted_one_by_one_and_stale_entries_do_not_fail(
    app: typer.Typer, shipped: dict[str, Any], tmp_path: Path
) -> None:
    entries = copy.deepcopy(shipped["accepted"])
    missing = next(e for e in entries if e["kind"] == "missing_code")
    dropped = missing["codes"].pop(0)
    gone = {"kind": "wrongly_allowed", "codes": ["MEG", "G"], "context": "place=home"}
    gone_missing = {"kind": "missing_code", "codes": ["G"], "reason": "G is priced now"}
    edited = tmp_path / "baseline.json"
    edited.write_text(json.dumps(shipped | {"accepted": [*entries, gone, gone_missing]}))
    code, data = _run(app, *RUN, "--baseline", str(edited))
    assert code == 1
    assert [f["identity"] for f in data["findings"]] == [
        {"kind": "missing_code", "codes": [dropped]}
    ]
    stale = [(s["kind"], s["codes"], s.get("context")) for s in data["baseline"]["stale"]]
    assert stale == [("wrongly_allowed", ["G", "MEG"], "place=home"), ("missing_code", ["G"], None)]
    text = runner.invoke(app, [*RUN, "--baseline", str(edited)]).stdout
    assert "STALE BASELINE ENTRIES" in text
    assert f"{edited}:" in text and "wrongly_allowed G+MEG place=home" in text


def test_write_baseline_keeps_the_reasons_and_any_order_or_format_matches(
    app: typer.Typer, shipped: dict[str, Any], tmp_path: Path
) -> None:
    written = tmp_path / "baseline.json"
    result = runner.invoke(
        app, [*RUN, "--baseline", str(BASELINE), "--write-baseline", str(written)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["accepted"] == shipped["accepted"]
    assert data["versions"]["tool"]["name"] == "ngap"
    assert set().union(*(e.keys() for e in data["accepted"])) <= {
        "kind",
        "codes",
        "context",
        "reason",
    }
    # Written without a baseline: every reason empty, the same identities.
    fresh = tmp_path / "fresh.yaml"
    assert runner.invoke(app, [*RUN, "--write-baseline", str(fresh)]).exit_code == 0
    entries = yaml.safe_load(fresh.read_text(encoding="utf-8"))["accepted"]
    assert [e | {"reason": ""} for e in shipped["accepted"]] == entries
    # Entries in reverse order, pair codes swapped: still the same differences.
    swapped = [
        e | {"codes": e["codes"][::-1]} if e["kind"].startswith("wrongly") else e
        for e in reversed(shipped["accepted"])
    ]
    reordered = tmp_path / "reordered.json"
    reordered.write_text(json.dumps({"accepted": swapped}))
    assert runner.invoke(app, [*RUN, "--baseline", str(reordered)]).exit_code == 0
    assert runner.invoke(app, [*RUN, "--baseline", str(fresh)]).exit_code == 0


def test_a_bad_baseline_is_bad_input_naming_file_line_and_field(
    app: typer.Typer, tmp_path: Path
) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text(
        '{"accepted": [\n'
        '  {"kind": "tariff_difference", "codes": ["G"],\n'
        '   "context": "zone=metro;from=2025-01-01"},\n'
        '  {"kind": "wrongly_alowed", "codes": ["G", "MEG"]}\n'
        "]}\n"
    )
    result = runner.invoke(app, [*RUN, "--baseline", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: kind: 'wrongly_alowed' is not one of {', '.join(KINDS)}" in _flat(
        result.stderr
    )
    bad.write_text('{"accepted": [{"kind": "unknown_code", "code": "GX"}]}')
    result = runner.invoke(app, [*RUN, "--baseline", str(bad)])
    assert result.exit_code == 2 and "unknown field(s) code" in result.stderr
    result = runner.invoke(app, [*RUN, "--baseline", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


# ---------------------------------------------------------------------- kinds
def test_only_and_ignore_filter_exactly(app: typer.Typer, plain: dict[str, Any]) -> None:
    full = plain["findings_by_kind"]
    assert all(full[k] > 0 for k in KINDS)
    chosen = ["wrongly_allowed", "tariff_difference"]
    code, data = _run(app, *RUN, "--only", ",".join(chosen))
    assert code == 1
    assert data["kinds"] == [k for k in KINDS if k in chosen]
    assert {f["kind"] for f in data["findings"]} == set(chosen)
    assert _bare(data["findings"]) == _bare(f for f in plain["findings"] if f["kind"] in chosen)
    assert data["not_judged"] == [k for k in KINDS if k not in chosen]
    dropped = ["input_error", "missing_code", "suboptimal_cotation"]
    code, data = _run(app, *RUN, "--ignore", ",".join(dropped))
    assert data["kinds"] == [k for k in KINDS if k not in dropped]
    assert _bare(data["findings"]) == _bare(
        f for f in plain["findings"] if f["kind"] not in dropped
    )
    # A kind judged with the baseline: its entries only; the others are not stale.
    code, data = _run(app, *RUN, "--only", "wrongly_allowed", "--baseline", str(BASELINE))
    assert code == 0 and data["baseline"]["stale"] == []
    assert data["baseline"]["accepted"] == full["wrongly_allowed"]


def test_an_unknown_kind_is_a_usage_error_naming_the_valid_kinds(app: typer.Typer) -> None:
    for option in ("--only", "--ignore"):
        result = runner.invoke(app, [*RUN, option, "wrongly_allowed,typo"])
        assert result.exit_code == 2
        assert f"{option}: unknown finding kind(s) typo; valid kinds: {', '.join(KINDS)}" in (
            _flat(result.stderr)
        )


# ---------------------------------------------------------------------- missing codes
def test_missing_codes_in_one_finding_unless_listed(
    app: typer.Typer, plain: dict[str, Any], manifest: dict[str, Any]
) -> None:
    seeded = sorted(d["key"].split(":", 1)[1] for d in manifest["defects"]["missing_code"])
    [summary] = [f for f in plain["findings"] if f["kind"] == "missing_code"]
    assert summary["details"]["codes"] == seeded
    assert summary["identity"] == {"kind": "missing_code", "codes": seeded}
    assert summary["message"].endswith(": " + ", ".join(seeded))
    assert summary["witness"] is None
    _, data = _run(app, *RUN, "--list-missing")
    listed = [f for f in data["findings"] if f["kind"] == "missing_code"]
    assert [f["subject"] for f in listed] == [[c] for c in seeded]
    assert all(f["witness"]["replayable"] for f in listed)


def test_a_partial_tariff_file_gives_one_finding_and_a_matrix_alone_none(
    app: typer.Typer, analyser: Analyser, space: EraSpace, tmp_path: Path
) -> None:
    priced = ["G", "MEG", "VG"]
    (tmp_path / "tariffs.csv").write_text(to_csv(tariff_rows(analyser, priced), TARIFF_HEADER))
    code, data = _run(app, "validate-ruleset", str(tmp_path), "--date", DATE)
    assert code == 1
    [finding] = data["findings"]
    assert finding["kind"] == "missing_code"
    assert finding["details"]["codes"] == sorted(space.alive() - set(priced))
    matrix = tmp_path / "matrix"
    matrix.mkdir()
    shutil.copy(EXAMPLE / "cumulation.csv", matrix / "cumulation.csv")
    code, data = _run(app, "validate-ruleset", str(matrix), "--date", DATE)
    assert data["findings_by_kind"]["missing_code"] == 0
    assert data["counts"]["tariff_rows"] == 0
    assert any(
        note.startswith("missing codes: the rule set has no metropolitan") for note in data["notes"]
    )
    assert {f["kind"] for f in data["findings"]} == {
        "input_error",
        "unknown_code",
        "wrongly_allowed",
        "wrongly_forbidden",
    }


# ---------------------------------------------------------------------- directory scan
def test_the_directory_scan_reads_vendor_names_only_and_never_its_own_outputs(
    app: typer.Typer, plain: dict[str, Any], tmp_path: Path
) -> None:
    vendor = tmp_path / "vendor"
    shutil.copytree(EXAMPLE, vendor)
    args = ["validate-ruleset", str(vendor), "--date", DATE]
    quick = [*args, "--only", "unknown_code"]  # previous outputs: any report will do
    # A previous report, under a name that the scan would otherwise read as test encounters.
    previous = vendor / "encounters_last_run.json"
    assert runner.invoke(app, [*quick, "--format", "json", "--out", str(previous)]).exit_code
    sarif = vendor / "tests.sarif.json"
    assert runner.invoke(app, [*quick, "--format", "sarif", "--out", str(sarif)]).exit_code
    assert runner.invoke(app, [*quick, "--format", "junit", "--out", str(vendor / "junit.xml")])
    (vendor / "notes.csv").write_text("code,amount,effective_from\nG,1.00,2025-01-01\n")
    (vendor / "prices.txt").write_text("G 30.00\n")
    (vendor / ".tariffs.csv").write_text("not,a,file\n")
    _, data = _run(app, *args)
    ignored = {Path(i["file"]).name: i["reason"] for i in data["ignored"]}
    assert ignored == {
        "SEEDED_DEFECTS.yaml": "not a vendor file name",
        "baseline.json": "not a vendor file name",
        "make_example.py": "not a vendor file name",
        "encounters_last_run.json": "an output of ngap (report, baseline, SARIF)",
        "tests.sarif.json": "an output of ngap (report, baseline, SARIF)",
        "junit.xml": "not a vendor file name",
        "notes.csv": "not a vendor file name",
        "prices.txt": "tariffs files are .csv, .json",
    }
    assert [Path(f).name for f in data["files"]] == [Path(f).name for f in plain["files"]]
    assert [f["key"] for f in data["findings"]] == [f["key"] for f in plain["findings"]]
    text = runner.invoke(app, quick).stdout
    assert "encounters_last_run.json (an output of ngap" in _flat(text)


# ---------------------------------------------------------------------- CI formats
def test_junit_counts_failures_outside_the_baseline(
    app: typer.Typer, plain: dict[str, Any]
) -> None:
    result = runner.invoke(app, [*RUN, "--format", "junit"])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    findings = len(plain["findings"])
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (
        str(findings),
        str(findings),
        "0",
    )
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    for kind in KINDS:
        suite = suites[f"ngap.validate-ruleset.{kind}"]
        assert suite.get("failures") == str(plain["findings_by_kind"][kind])
        assert len(suite.findall("testcase/failure")) == plain["findings_by_kind"][kind]
    located = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert all(c.get("file") for c in located)
    result = runner.invoke(app, [*RUN, "--format", "junit", "--baseline", str(BASELINE)])
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout)
    assert root.get("failures") == "0" and root.get("tests") == root.get("skipped")
    assert root.get("tests") == str(findings)
    skipped = [s.get("message", "") for s in root.iter("skipped")]
    assert all(m.startswith("accepted by the baseline: seeded defect") for m in skipped)


def _check_sarif(log: dict[str, Any]) -> None:
    """The structure SARIF 2.1.0 requires of what we write (and GitHub code scanning reads)."""
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == list(KINDS)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            if "region" in physical:
                assert isinstance(physical["region"]["startLine"], int)
                assert physical["region"]["startLine"] >= 1
        for fingerprint in result["partialFingerprints"].values():
            assert isinstance(fingerprint, str)
        for suppression in result.get("suppressions", []):
            assert suppression["kind"] in ("inSource", "external")


def test_sarif_results_are_findings_located_at_file_and_line(
    app: typer.Typer, plain: dict[str, Any]
) -> None:
    result = runner.invoke(app, [*RUN, "--format", "sarif"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    _check_sarif(log)
    run = log["runs"][0]
    assert run["properties"]["versions"]["tool"]["name"] == "ngap"
    results = run["results"]
    assert [r["properties"]["key"] for r in results] == [f["key"] for f in plain["findings"]]
    assert not any("suppressions" in r for r in results)
    for r, f in zip(results, plain["findings"], strict=True):
        assert r["ruleId"] == f["kind"]
        lines = [loc.rsplit(":", 1) for loc in f["locations"]]
        regions = [loc["physicalLocation"].get("region") for loc in r["locations"]]
        assert [reg["startLine"] if reg else None for reg in regions] == [
            int(line[1]) if len(line) == 2 and line[1].isdigit() else None for line in lines
        ]
    fingerprints = [next(iter(r["partialFingerprints"].values())) for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    result = runner.invoke(app, [*RUN, "--format", "sarif", "--baseline", str(BASELINE)])
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    _check_sarif(log)
    assert all(r["suppressions"][0]["justification"] for r in log["runs"][0]["results"])


# ---------------------------------------------------------------------- contract
def test_json_carries_versions_and_help_names_the_date_default(
    app: typer.Typer, plain: dict[str, Any]
) -> None:
    assert plain["versions"]["tool"]["name"] == "ngap"
    assert plain["versions"]["knowledge_base"]["fingerprint"]
    help_text = _flat(runner.invoke(app, ["validate-ruleset", "--help"]).stdout)
    assert "Date YYYY-MM-DD of the comparison of codes and matrix (default: today)" in help_text


def test_an_internal_fault_exits_3_without_traceback(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def validate(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("solver lost")

    monkeypatch.setattr(cli, "_validator", lambda: Broken())
    monkeypatch.delenv("NGAP_DEBUG", raising=False)
    result = runner.invoke(app, RUN)
    assert result.exit_code == 3
    assert "internal error: RuntimeError: solver lost" in result.stderr
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    assert runner.invoke(app, [*RUN, "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, [*RUN, "--date", "2025-02-30"]).exit_code == 2
    (tmp_path / "readme.txt").write_text("nothing here\n")
    result = runner.invoke(app, ["validate-ruleset", str(tmp_path), "--date", DATE])
    assert result.exit_code == 2
    assert "no vendor file found" in result.stderr and "readme.txt" in result.stderr


def test_yaml_baselines_name_the_line_of_a_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "baseline.yaml"
    path.write_text(
        "accepted:\n"
        "- {kind: unknown_code, codes: [GX], reason: typo of G}\n"
        "- kind: wrongly_allowed\n"
        "  codes: G\n"
        "  reasons: forgotten\n"
    )
    with pytest.raises(BaselineError) as error:
        load_baseline(path)
    assert str(error.value) == (
        f"{path}:3: unknown field(s) reasons (fields: kind, codes, context, reason)"
    )
    path.write_text("- {kind: unknown_code, codes: [GX]}\n")
    with pytest.raises(BaselineError, match=f"^{path}:1: expected a mapping"):
        load_baseline(path)
    path.write_text("accepted:\n- {kind: unknown_code, codes: GX, reason: typo of G}\n")
    [entry] = load_baseline(path)
    assert (entry.kind, entry.codes, entry.context, entry.reason, entry.line) == (
        "unknown_code",
        ("GX",),
        "",
        "typo of G",
        2,
    )
