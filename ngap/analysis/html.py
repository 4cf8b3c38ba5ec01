"""A self-contained HTML report of a vendor validation (tables and an inline SVG graph).

Why: the report goes to testers and to the vendor, often by e-mail or as a CI artefact, and is
opened where there may be no network: no script, no external stylesheet or font, the
compatibility graph drawn as inline SVG by this module (nodes on a circle, one edge per pair).
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from ngap.analysis.baseline import Review, identity_text
from ngap.analysis.vendor import VendorFinding

TITLES = {
    "input_error": "Input errors (row left out, the rest analysed)",
    "unknown_code": "Unknown codes",
    "missing_code": "Missing codes",
    "tariff_difference": "Tariff differences by date",
    "wrongly_allowed": "Wrongly allowed pairs",
    "wrongly_forbidden": "Wrongly forbidden pairs",
    "rule_breaking_cotation": "Test encounters: cotation breaks a rule",
    "suboptimal_cotation": "Test encounters: cotation differs from the optimum",
}
EDGE_STYLE = {
    "model": 'stroke="#b8b8b8" stroke-width="1"',
    "wrongly_allowed": 'stroke="#d62728" stroke-width="2.5" stroke-dasharray="6 4"',
    "wrongly_forbidden": 'stroke="#ff7f0e" stroke-width="2.5"',
}
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}
details summary{cursor:pointer;color:#0645ad}
pre{white-space:pre-wrap;font-size:.8em;background:#f8f8f8;padding:6px;margin:4px 0}
.ok{color:#2a7a2a}.bad{color:#b00020}
.legend span{display:inline-block;margin-right:1.5em}
"""


def _svg(graph: dict[str, Any], size: int = 640) -> str:
    nodes: list[str] = graph["nodes"]
    if not nodes:
        return "<p>No pair finding: nothing to draw.</p>"
    centre, radius = size / 2, size / 2 - 60
    pos = {}
    for i, code in enumerate(nodes):
        angle = 2 * math.pi * i / len(nodes) - math.pi / 2
        pos[code] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" role="img" aria-label="compatibility graph">'
    ]
    order = {"model": 0, "wrongly_forbidden": 1, "wrongly_allowed": 2}
    for edge in sorted(graph["edges"], key=lambda e: order.get(e["kind"], 0)):
        (x1, y1), (x2, y2) = pos[edge["a"]], pos[edge["b"]]
        style = EDGE_STYLE.get(edge["kind"], EDGE_STYLE["model"])
        title = f"{edge['a']} – {edge['b']}: {edge['kind'].replace('_', ' ')}"
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}>'
            f"<title>{escape(title)}</title></line>"
        )
    for code, (x, y) in pos.items():
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#1f77b4"/>'
            f'<text x="{x:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle">'
            f"{escape(code)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _cell(text: Any) -> str:
    return f"<td>{escape(str(text))}</td>"


def _row(f: VendorFinding) -> str:
    where = "<br>".join(escape(str(loc)) for loc in f.locations[:5])
    basis = "<br>".join(
        f"<b>{escape(a.get('rule') or a.get('code') or '')}</b>: {escape(a['article'])}"
        for a in f.articles
    )
    witness = ""
    if f.witness:
        text = json.dumps(f.witness["encounter"], ensure_ascii=False, indent=1)
        witness = f"<details><summary>encounter</summary><pre>{escape(text)}</pre></details>"
    return (
        f"<tr><td>{escape(f.message)}<br><small>{escape(f.key)}</small></td>"
        f"<td>{where}</td><td>{basis}</td><td>{witness}</td></tr>"
    )


def validation_html(review: Review) -> str:
    report = review.report
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>ngap — vendor rule set validation</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Vendor rule set checked against the ngap model</h1>",
        f"<p>Date of the comparison: <b>{escape(report.date.isoformat())}</b> "
        f"({escape(str(report.era))}); {report.seconds:.1f} s.</p>",
        "<table><tr><th>compared</th><th>count</th></tr>",
    ]
    for key, value in report.counts.items():
        out.append(f"<tr>{_cell(key.replace('_', ' '))}<td class='n'>{value}</td></tr>")
    out.append("</table>")
    for note in report.notes:
        out.append(f"<p>Not compared: {escape(note)}</p>")
    total = len(review.findings)
    verdict = "ok" if total == 0 else "bad"
    outside = " outside the baseline" if review.baseline is not None else ""
    out.append(f"<p class='{verdict}'><b>{total}</b> finding(s){outside}.</p>")
    if review.baseline is not None:
        out.append(
            f"<p>Baseline <code>{escape(review.baseline)}</code>: {review.accepted} finding(s) "
            f"accepted, {len(review.stale)} stale entr{'y' if len(review.stale) == 1 else 'ies'}."
            "</p>"
        )
    if review.not_judged:
        out.append(f"<p>Kinds not judged: {escape(', '.join(review.not_judged))}</p>")
    out.append("<table><tr><th>kind</th><th>findings</th></tr>")
    for kind in review.kinds:
        count = sum(1 for f in review.findings if f.kind == kind)
        out.append(
            f"<tr><td><a href='#{kind}'>{escape(TITLES[kind])}</a></td>"
            f"<td class='n'>{count}</td></tr>"
        )
    out.append("</table>")
    out.append("<h2>Compatibility graph of the codes in pair findings</h2>")
    out.append(
        "<p class='legend'><span>grey: billable together in the model</span>"
        "<span style='color:#d62728'>red dashed: wrongly allowed</span>"
        "<span style='color:#ff7f0e'>orange: wrongly forbidden</span></p>"
    )
    out.append(_svg(report.graph))
    for kind in review.kinds:
        items = [f for f in review.findings if f.kind == kind]
        out.append(f"<h2 id='{kind}'>{escape(TITLES[kind])} ({len(items)})</h2>")
        if not items:
            out.append("<p class='ok'>None.</p>")
            continue
        out.append(
            "<table><tr><th>finding</th><th>where</th><th>legal basis</th>"
            "<th>witness encounter (replay with <code>ngap check</code>)</th></tr>"
        )
        out += [_row(f) for f in items]
        out.append("</table>")
    if review.baselined:
        out.append(f"<h2 id='baselined'>Accepted by the baseline ({review.accepted})</h2>")
        out.append("<table><tr><th>finding</th><th>reason</th></tr>")
        for f, reason in review.baselined:
            out.append(f"<tr><td>{escape(f.message)}</td>{_cell(reason)}</tr>")
        out.append("</table>")
    if review.stale:
        out.append("<h2 id='stale'>Stale baseline entries (no such finding any more)</h2><ul>")
        for entry, identity in review.stale:
            out.append(
                f"<li><code>{escape(f'{review.baseline}:{entry.line}')}</code> "
                f"{escape(identity_text(identity))} {escape(entry.reason)}</li>"
            )
        out.append("</ul>")
    out.append("<p><small>Files: " + escape(", ".join(report.files)) + "</small></p>")
    if report.ignored:
        ignored = ", ".join(f"{i.file} ({i.reason})" for i in report.ignored)
        out.append(f"<p><small>Ignored: {escape(ignored)}</small></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
