"""Accepted differences of a vendor rule set (``--baseline``) and the triage of a validation.

Why: a vendor's rule set is never identical to the model (a deliberate choice, a code it does
not sell, a known difference waiting for the next release); a continuous-integration job must
fail on a *new* difference, not on the ones already reviewed.  A baseline is a small file kept
next to the vendor's export, one entry per accepted difference, each with the finding's kind,
codes and context (:attr:`ngap.analysis.vendor.VendorFinding.identity`) and the reviewer's
``reason``.  Matching uses only that identity: never a line of the report, the order of the
findings or a witness, so a baseline written today still matches tomorrow.

The triage (:func:`triage`) keeps the finding kinds asked for (``--only`` / ``--ignore``),
splits the findings into those outside the baseline (they fail the job) and those accepted,
lists the entries that no longer match anything (stale: reported, never failing), and sums the
missing codes up in one finding unless each is asked for.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ngap.analysis.vendor import (
    KINDS,
    PAIR_KINDS,
    Identity,
    ValidationReport,
    VendorFinding,
)
from ngap.analysis.vendor_io import json_items
from ngap.versions import versions

FORMAT = "ngap-vendor-baseline/1"
ENTRY_KEYS = ("kind", "codes", "context", "reason")


class BaselineError(ValueError):
    """A baseline file that cannot be used (names the file, the entry's line and the field)."""


@dataclass(frozen=True)
class Entry:
    """One accepted difference.  ``codes``: for ``missing_code`` any number of codes, each
    accepted on its own; for pairs the two codes in any order."""

    kind: str
    codes: tuple[str, ...]
    context: str = ""
    reason: str = ""
    line: int = 0

    def identities(self) -> list[Identity]:
        if self.kind == "missing_code":
            return [(self.kind, (code,), self.context) for code in self.codes]
        codes = tuple(sorted(self.codes)) if self.kind in PAIR_KINDS else self.codes
        return [(self.kind, codes, self.context)]


def identity_text(identity: Identity) -> str:
    """``kind codes [context]``: how an identity is shown and fingerprinted."""
    kind, codes, context = identity
    parts = [kind, "+".join(codes)] if codes else [kind]
    if context:
        parts.append(context)
    return " ".join(parts)


# ====================================================================== reading
def load_baseline(path: str | Path) -> list[Entry]:
    """The entries of a baseline file (JSON, or YAML for ``.yaml`` / ``.yml``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"{path}: cannot read: {error}") from error
    try:
        items = _yaml_entries(text, path) if path.suffix.lower() in (".yaml", ".yml") else None
        if items is None:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("accepted"), list):
                raise BaselineError(f'{path}:1: expected an object with an "accepted" list')
            items = list(json_items(text, "accepted"))
    except (ValueError, yaml.YAMLError) as error:
        if isinstance(error, BaselineError):
            raise
        line = getattr(error, "lineno", 0) or 0
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else line
        raise BaselineError(f"{path}:{line or 1}: not valid {path.suffix[1:]}: {error}") from error
    return [_entry(item, f"{path}:{line}", line) for line, item in items]


def _yaml_entries(text: str, path: Path) -> list[tuple[int, Any]]:
    root = yaml.compose(text)
    accepted = None
    if isinstance(root, yaml.MappingNode):
        accepted = next((v for k, v in root.value if k.value == "accepted"), None)
    if not isinstance(accepted, yaml.SequenceNode):
        raise BaselineError(f"{path}:1: expected a mapping with an 'accepted' list")
    return [
        (node.start_mark.line + 1, yaml.safe_load(yaml.serialize(node))) for node in accepted.value
    ]


def _entry(item: Any, where: str, line: int) -> Entry:
    if not isinstance(item, dict):
        raise BaselineError(f"{where}: an entry is an object with kind, codes, context, reason")
    unknown = sorted(set(item) - set(ENTRY_KEYS))
    if unknown:
        raise BaselineError(
            f"{where}: unknown field(s) {', '.join(unknown)} (fields: {', '.join(ENTRY_KEYS)})"
        )
    kind = item.get("kind")
    if kind not in KINDS:
        raise BaselineError(f"{where}: kind: {kind!r} is not one of {', '.join(KINDS)}")
    codes = item.get("codes", [])
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
        raise BaselineError(f"{where}: codes: expected a list of codes")
    context, reason = item.get("context", ""), item.get("reason", "")
    for name, value in (("context", context), ("reason", reason)):
        if value is not None and not isinstance(value, str):
            raise BaselineError(f"{where}: {name}: expected text")
    return Entry(str(kind), tuple(codes), context or "", reason or "", line)


# ====================================================================== writing
def entries_for(findings: Iterable[VendorFinding], keep: Sequence[Entry] = ()) -> list[Entry]:
    """Baseline entries accepting ``findings``: one per finding, the missing codes in one entry;
    the reason of an entry of ``keep`` that accepts the same finding is kept."""
    reasons = {i: e.reason for e in keep for i in e.identities() if e.reason}
    out: list[Entry] = []
    missing: list[str] = []
    missing_reasons: list[str] = []
    for f in findings:
        identity = f.identity
        if f.kind == "missing_code":
            missing += f.subject
            missing_reasons += [reasons[i] for i in _identities(f) if i in reasons]
            continue
        kind, codes, context = identity
        out.append(Entry(kind, codes, context, reasons.get(identity, "")))
    if missing:
        reason = "; ".join(dict.fromkeys(missing_reasons))
        out.append(Entry("missing_code", tuple(sorted(set(missing))), "", reason))
    out.sort(key=lambda e: (KINDS.index(e.kind), e.codes, e.context))
    return out


def baseline_text(entries: Sequence[Entry], date: dt.date, yaml_format: bool = False) -> str:
    """The baseline file: stable order, one entry per line (JSON) for readable diffs, the
    ``reason`` of each entry to be filled in by whoever accepts the difference."""
    head: dict[str, Any] = {
        "format": FORMAT,
        "date": date.isoformat(),
        "note": (
            "Accepted differences of this vendor rule set (ngap validate-ruleset --baseline). "
            "An entry accepts the findings of its kind, codes and context; write why in reason."
        ),
        "versions": versions(),
    }
    accepted = [
        {"kind": e.kind, "codes": list(e.codes)}
        | ({"context": e.context} if e.context else {})
        | {"reason": e.reason}
        for e in entries
    ]
    if yaml_format:
        data = head | {"accepted": accepted}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append('  "accepted": [')
    items = [json.dumps(item, ensure_ascii=False) for item in accepted]
    lines += [f"    {item}," for item in items[:-1]] + [f"    {item}" for item in items[-1:]]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


# ====================================================================== triage
@dataclass
class Review:
    """A validation as a job sees it: the findings that fail it and those accepted."""

    report: ValidationReport
    kinds: tuple[str, ...]
    """The finding kinds judged (``--only`` / ``--ignore``)."""
    findings: list[VendorFinding]
    """Outside the baseline: each one fails the job."""
    baselined: list[tuple[VendorFinding, str]] = field(default_factory=list)
    """Accepted by the baseline, with the entry's reason."""
    stale: list[tuple[Entry, Identity]] = field(default_factory=list)
    """Baseline entries (of the kinds judged) that accept no finding any more."""
    baseline: str | None = None
    accepted: int = 0
    """Findings accepted by the baseline, each missing code counted once."""

    @property
    def not_judged(self) -> list[str]:
        """The finding kinds left out (not compared by the command line)."""
        return [k for k in KINDS if k not in self.kinds]

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0


def _identities(finding: VendorFinding) -> list[Identity]:
    if finding.kind == "missing_code":
        return [(finding.kind, (code,), "") for code in finding.subject]
    return [finding.identity]


def parse_kinds(only: str | None, ignore: str | None) -> tuple[str, ...]:
    """The kinds to judge; ValueError naming the valid kinds for an unknown one."""

    def names(text: str, option: str) -> list[str]:
        chosen = [k.strip() for k in text.split(",") if k.strip()]
        bad = [k for k in chosen if k not in KINDS]
        if bad or not chosen:
            raise ValueError(
                f"{option}: unknown finding kind(s) {', '.join(bad) or '(none given)'}; "
                f"valid kinds: {', '.join(KINDS)}"
            )
        return chosen

    kinds = names(only, "--only") if only is not None else list(KINDS)
    dropped = set(names(ignore, "--ignore")) if ignore is not None else set()
    return tuple(k for k in KINDS if k in kinds and k not in dropped)


def triage(
    report: ValidationReport,
    kinds: Sequence[str] = KINDS,
    entries: Sequence[Entry] = (),
    baseline: str | None = None,
    list_missing: bool = False,
) -> Review:
    """Filter by kind, apply the baseline, sum the missing codes up (unless ``list_missing``)."""
    judged = [f for f in report.findings if f.kind in kinds]
    accepted: dict[Identity, Entry] = {}
    for entry in entries:
        for identity in entry.identities():
            accepted.setdefault(identity, entry)
    used: set[Identity] = set()
    new: list[VendorFinding] = []
    old: list[tuple[VendorFinding, str]] = []
    for f in judged:
        ids = _identities(f)
        if ids and all(i in accepted for i in ids):
            used.update(ids)
            reasons = (accepted[i].reason for i in ids)
            old.append((f, "; ".join(dict.fromkeys(r for r in reasons if r))))
        else:
            new.append(f)
    stale = [
        (entry, identity)
        for entry in entries
        if entry.kind in kinds
        for identity in entry.identities()
        if identity not in used
    ]
    count = sum(len(_identities(f)) for f, _ in old)
    if not list_missing:
        new = summarise_missing(new, report.date)
        old = _summarise_accepted(old, report.date)
    return Review(report, tuple(kinds), new, old, stale, baseline, count)


def summarise_missing(findings: list[VendorFinding], day: dt.date) -> list[VendorFinding]:
    """The ``missing_code`` findings replaced by one finding listing their codes (in place of
    the first one, so the order by kind is kept)."""
    missing = [f for f in findings if f.kind == "missing_code"]
    if not missing:
        return findings
    codes = sorted({c for f in missing for c in f.subject})
    summary = VendorFinding(
        "missing_code",
        tuple(codes),
        f"{len(codes)} code(s) billable on {day.isoformat()} not covered by the vendor's "
        f"tariffs on that date: {', '.join(codes)}",
        missing[0].locations,
        details={"codes": codes, "count": len(codes)},
    )
    out: list[VendorFinding] = []
    for f in findings:
        if f.kind != "missing_code":
            out.append(f)
        elif f is missing[0]:
            out.append(summary)
    return out


def _summarise_accepted(
    items: list[tuple[VendorFinding, str]], day: dt.date
) -> list[tuple[VendorFinding, str]]:
    missing = [(f, r) for f, r in items if f.kind == "missing_code"]
    if not missing:
        return items
    summary = summarise_missing([f for f, _ in missing], day)[0]
    reason = "; ".join(dict.fromkeys(r for _, r in missing if r))
    out: list[tuple[VendorFinding, str]] = []
    for f, r in items:
        if f.kind != "missing_code":
            out.append((f, r))
        elif f is missing[0][0]:
            out.append((summary, reason))
    return out
