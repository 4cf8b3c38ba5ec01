"""Text, JSON, GraphML and DOT renderings of the analysis reports.

Why: the same findings are read by people (text), by CI and other tools (JSON, stable keys), and
drawn (GraphML for Gephi / yEd, DOT for Graphviz).  Rendering is kept apart from the solving so
that every format shows exactly the same findings.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import networkx as nx

from ngap.analysis.baseline import Review, identity_text
from ngap.analysis.rulebase import RuleBaseReport, periods
from ngap.analysis.vendor import KINDS as VENDOR_KINDS
from ngap.model.catalogue import Catalogue
from ngap.versions import versions

KIND_COLOURS = {
    "act": "#cfe2ff",
    "majoration": "#ffe5b4",
    "travel": "#d1f0d1",
    "ccam": "#e8d5f5",
    "ccam_supplement": "#e8d5f5",
    "ccam_modifier": "#f3e6fa",
    "free": "#eeeeee",
}


def _one_line(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ====================================================================== rule base
def rulebase_text(report: RuleBaseReport, catalogue: Catalogue) -> str:
    eras = report.eras
    analysed = periods(report.analysed, eras)
    lines = [
        f"Rule-base analysis of {len(report.analysed)} era(s) ({', '.join(analysed)}) "
        f"in {report.seconds:.1f} s",
        f"{len(report.findings)} finding(s): {len(report.defects)} defect(s), "
        f"{len(report.findings) - len(report.defects)} explained by the allow-list",
    ]
    for title, findings in (
        ("DEFECTS", report.defects),
        ("ALLOWED (ngap/analysis/allow_list.yaml)", [f for f in report.findings if f.allowed]),
    ):
        if not findings:
            continue
        lines += ["", title]
        for f in findings:
            lines.append(f"  [{f.kind}] {f.key}")
            lines.append(f"      {f.message}")
            lines.append(f"      periods: {', '.join(periods(f.eras, eras))}")
            for rule in f.rules:
                info = catalogue.rules.get(rule)
                lines.append(f"      rule {rule}: {info.article if info else '(undocumented)'}")
            for alt in f.alternatives:
                lines.append(f"      or break: {', '.join(alt)}")
            if f.allowed:
                lines.append(f"      allowed: {f.allowed}")
            elif f.witness:
                flag = "" if f.witness.get("replayable") else " (NOT replayable)"
                lines.append(f"      witness{flag}: {_one_line(f.witness['encounter'])}")
    if report.summaries:
        lines += ["", "COMPATIBILITY GRAPH PER ERA"]
        for s in report.summaries:
            sizes = "+".join(str(len(c)) for c in s.components)
            largest = s.largest_cliques[0] if s.largest_cliques else []
            at_once = (
                ""
                if not largest
                else (
                    ", billable at once"
                    if s.largest_cliques_billable[0]
                    else ", not billable at once"
                )
            )
            lines.append(
                f"  era {s.era} ({s.start}..{s.end}): {s.billable}/{s.codes_in_force} codes "
                f"billable, {s.pairs} pairs billable together, components {sizes}, "
                f"{s.cliques} maximal cliques (largest {len(largest)}{at_once}: "
                f"{' '.join(largest)})"
            )
    if report.stale_allowances:
        lines += ["", "STALE ALLOW-LIST ENTRIES (no such finding any more; remove them)"]
        lines += [f"  {k}" for k in report.stale_allowances]
    return "\n".join(lines) + "\n"


def rulebase_json(report: RuleBaseReport, catalogue: Catalogue) -> str:
    data = {"versions": versions()} | report.to_dict(catalogue)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def graph_for_export(report: RuleBaseReport, era: int) -> nx.Graph:
    """The compatibility graph of an era, with the era's findings as node attributes."""
    graph = report.graphs[era].copy()
    for f in report.findings:
        if era not in f.eras:
            continue
        for code in f.subject:
            if code in graph:
                node = graph.nodes[code]
                node["findings"] = (str(node.get("findings", "")) + " " + f.key).strip()
    graph.graph["defects"] = sum(1 for f in report.defects if era in f.eras)
    return graph


def graphml(graph: nx.Graph) -> str:
    buffer = BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(graph: nx.Graph, title: str) -> str:
    lines = [
        f"graph {_dot_id(title)} {{",
        f"  label={_dot_id(title)};",
        "  node [shape=box, style=filled];",
    ]
    for code, data in sorted(graph.nodes(data=True)):
        colour = KIND_COLOURS.get(str(data.get("kind")), "#ffffff")
        extra = ', color="red", penwidth=2' if data.get("findings") else ""
        lines.append(f"  {_dot_id(code)} [fillcolor={_dot_id(colour)}{extra}];")
    for a, b in sorted(tuple(sorted(e)) for e in graph.edges()):
        lines.append(f"  {_dot_id(a)} -- {_dot_id(b)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ====================================================================== vendor validation
def review_dict(review: Review) -> dict[str, Any]:
    """The JSON answer of ``validate-ruleset``: the findings outside the baseline (they fail),
    those accepted with their reason, the stale baseline entries; ``versions`` first."""
    report = review.report
    base = report.to_dict()
    by_kind = {k: sum(1 for f in review.findings if f.kind == k) for k in VENDOR_KINDS}
    baseline = None
    if review.baseline is not None:
        baseline = {
            "file": review.baseline,
            "accepted": review.accepted,
            "stale": [
                {"line": e.line, "kind": i[0], "codes": list(i[1])}
                | ({"context": i[2]} if i[2] else {})
                | {"reason": e.reason}
                for e, i in review.stale
            ],
        }
    return {
        "versions": versions(),
        "date": base["date"],
        "era": base["era"],
        "files": base["files"],
        "ignored": base["ignored"],
        "notes": base["notes"],
        "counts": base["counts"],
        "kinds": list(review.kinds),
        "not_judged": review.not_judged,
        "baseline": baseline,
        "findings_by_kind": by_kind,
        "findings": [f.to_dict() for f in review.findings],
        "baselined": [f.to_dict() | {"reason": r} for f, r in review.baselined],
        "exit_code": review.exit_code,
        "seconds": base["seconds"],
    }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def validation_text(review: Review) -> str:
    report = review.report
    lines = [
        f"Vendor rule set checked against the model on {report.date.isoformat()} ({report.era}) "
        f"in {report.seconds:.1f} s",
        f"read: {', '.join(report.files) or '(no file)'}",
    ]
    if report.ignored:
        lines.append("ignored: " + ", ".join(f"{i.file} ({i.reason})" for i in report.ignored))
    lines.append(
        "compared: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.counts.items())
    )
    lines += [f"not compared: {note}" for note in report.notes]
    if review.kinds != VENDOR_KINDS:
        lines.append(
            f"kinds judged: {', '.join(review.kinds)} (not judged: {', '.join(review.not_judged)})"
        )
    outside = " outside the baseline" if review.baseline is not None else ""
    if review.baseline is not None:
        lines.append(
            f"baseline {review.baseline}: {_count(review.accepted, 'finding')} accepted, "
            f"{len(review.stale)} stale entr{'y' if len(review.stale) == 1 else 'ies'}"
        )
    by_kind = [(k, sum(1 for f in review.findings if f.kind == k)) for k in review.kinds]
    lines.append(
        f"findings{outside}: " + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in by_kind)
    )
    for kind in review.kinds:
        items = [f for f in review.findings if f.kind == kind]
        if not items:
            continue
        lines += ["", f"{kind.upper().replace('_', ' ')} ({len(items)})"]
        for f in items:
            where = ", ".join(str(loc) for loc in f.locations[:3])
            lines.append(f"  {f.message}")
            if where:
                lines.append(f"      at {where}")
            for art in f.articles:
                name = art.get("rule") or art.get("code")
                lines.append(f"      {name}: {art['article']}")
            if f.witness:
                lines.append(f"      replay: {_one_line(f.witness['encounter'])}")
    if review.stale:
        lines += ["", "STALE BASELINE ENTRIES (they accept no finding any more; remove them)"]
        for entry, identity in review.stale:
            reason = f" — {entry.reason}" if entry.reason else ""
            lines.append(f"  {review.baseline}:{entry.line}: {identity_text(identity)}{reason}")
    total = len(review.findings)
    verdict = (
        f"{_count(total, 'finding')}{outside}: exit 1" if total else f"no finding{outside}: exit 0"
    )
    return "\n".join([*lines, "", verdict]) + "\n"


def validation_json(review: Review) -> str:
    return json.dumps(review_dict(review), ensure_ascii=False, indent=2) + "\n"
