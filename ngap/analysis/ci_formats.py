"""JUnit XML and SARIF 2.1.0 renderings of a vendor validation, for continuous integration.

Why: CI servers show test reports and code-scanning alerts, not our JSON.  JUnit XML is what
GitLab (``artifacts:reports:junit``), Jenkins (``junit``) and GitHub test-report actions read:
one test suite per finding kind, one failing test case per finding outside the baseline, one
skipped test case per accepted finding (its reason as the message) and per stale baseline entry,
and one passing case for a kind without findings, so each check shows up even when it is green.
SARIF is what GitHub code scanning (``github/codeql-action/upload-sarif``) and GitLab read: one
result per finding, ``ruleId`` the finding kind, located at the vendor file and line, accepted
findings carried as suppressed results, and the finding identity as a fingerprint so that an
alert keeps its history from run to run.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ngap.analysis.baseline import Review, identity_text
from ngap.analysis.html import TITLES
from ngap.analysis.vendor import KINDS, VendorFinding
from ngap.analysis.vendor_io import Location
from ngap.versions import tool_version, versions

SUITE = "ngap.validate-ruleset"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "ngapFindingIdentity/v1"


def _details(f: VendorFinding) -> str:
    lines = [f.message]
    lines += [f"at {loc}" for loc in f.locations[:5]]
    for art in f.articles:
        lines.append(f"{art.get('rule') or art.get('code')}: {art['article']}")
    if f.witness:
        encounter = json.dumps(f.witness["encounter"], ensure_ascii=False)
        lines.append(f"replay with ngap check: {encounter}")
    return "\n".join(lines)


def _case(suite: ET.Element, kind: str, name: str, where: Location | None) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.{kind}", name=name, time="0")
    if where is not None:
        case.set("file", where.file)
        if where.line > 0:
            case.set("line", str(where.line))
    return case


def junit(review: Review) -> str:
    """JUnit XML: ``testsuites`` > one ``testsuite`` per kind judged (and one for the
    baseline's stale entries) > ``testcase``s; ``failure`` = a finding outside the baseline."""
    root = ET.Element("testsuites", name=SUITE)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    suites: list[tuple[ET.Element, dict[str, int]]] = []
    for kind in review.kinds:
        suite = ET.SubElement(root, "testsuite", name=f"{SUITE}.{kind}")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for f in (f for f in review.findings if f.kind == kind):
            case = _case(suite, kind, identity_text(f.identity), _first(f))
            failure = ET.SubElement(case, "failure", type=kind, message=f.message)
            failure.text = _details(f)
            counts["tests"] += 1
            counts["failures"] += 1
        for f, reason in ((f, r) for f, r in review.baselined if f.kind == kind):
            case = _case(suite, kind, identity_text(f.identity), _first(f))
            ET.SubElement(case, "skipped", message=f"accepted by the baseline: {reason or '-'}")
            counts["tests"] += 1
            counts["skipped"] += 1
        if counts["tests"] == 0:
            _case(suite, kind, f"no {kind} finding", None)
            counts["tests"] += 1
        suites.append((suite, counts))
    if review.stale:
        suite = ET.SubElement(root, "testsuite", name=f"{SUITE}.baseline")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for entry, identity in review.stale:
            where = Location(review.baseline or "", entry.line)
            case = _case(suite, "baseline", f"stale: {identity_text(identity)}", where)
            ET.SubElement(case, "skipped", message="stale baseline entry: no such finding")
            counts["tests"] += 1
            counts["skipped"] += 1
        suites.append((suite, counts))
    for suite, counts in suites:
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    root.set("time", f"{review.report.seconds:.2f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _first(f: VendorFinding) -> Location | None:
    return f.locations[0] if f.locations else None


def _uri(file: str) -> str:
    path = Path(file)
    return path.as_uri() if path.is_absolute() else path.as_posix()


def _result(f: VendorFinding, reason: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.kind,
        "ruleIndex": KINDS.index(f.kind),
        "level": "error",
        "message": {"text": f.message},
        "locations": [],
        "partialFingerprints": {FINGERPRINT: identity_text(f.identity)},
        "properties": {
            "key": f.key,
            "identity": f.baseline_entry(),
            "articles": f.articles,
            "details": f.details,
        },
    }
    for loc in f.locations[:10]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(loc.file)}}
        if loc.line > 0:
            physical["region"] = {"startLine": loc.line}
        result["locations"].append({"physicalLocation": physical})
    if f.witness:
        result["properties"]["witness"] = f.witness
    if reason is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": reason or "baseline"}
        ]
    return result


def sarif(review: Review) -> str:
    """SARIF 2.1.0: one run of the tool ``ngap``, one rule per finding kind."""
    rules = [
        {
            "id": kind,
            "name": "".join(w.capitalize() for w in kind.split("_")),
            "shortDescription": {"text": TITLES[kind]},
            "defaultConfiguration": {"level": "error"},
        }
        for kind in KINDS
    ]
    results = [_result(f, None) for f in review.findings]
    results += [_result(f, reason) for f, reason in review.baselined]
    report = review.report
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "ngap",
                "fullName": "ngap validate-ruleset",
                "version": tool_version(),
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True, "exitCode": review.exit_code}],
        "results": results,
        "properties": {
            "versions": versions(),
            "date": report.date.isoformat(),
            "kinds": list(review.kinds),
            "baseline": review.baseline,
            "stale_baseline_entries": [
                {"line": e.line, "identity": identity_text(i), "reason": e.reason}
                for e, i in review.stale
            ],
        },
    }
    data = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [run],
        "properties": {"versions": versions()},
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
