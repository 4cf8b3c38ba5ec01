"""Typed answers of the solver: lines, cotations, violations, check verdicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ngap.model.labels import LANGS, phrase_assumed, phrase_condition
from ngap.versions import versions

STATUS_TEXT = {
    "valid": {"fr": "valide", "en": "valid"},
    "conditional": {"fr": "valide sous condition", "en": "valid only if"},
    "violation": {"fr": "règle enfreinte", "en": "rule broken"},
}
"""The verdict of ``check`` in words (``status`` stays the stable identifier)."""


def euros(cents: int | None) -> str:
    if cents is None:
        return "?"
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class Line:
    """One billed code, its amount and the legal basis that allows it."""

    code: str
    amount_cents: int | None
    rate_percent: int
    unit_cents: int | None
    label: str
    article: str
    sources: tuple[str, ...]
    unconfirmed: bool = False
    unpriced: bool = False
    record: str | None = None
    quantity: float | None = None
    label_fr: str = ""
    """The French label (``label`` is the English one)."""
    by_department: dict[str, str] | None = None
    """Overseas encounter that does not name its department: the amount of each department
    (INSEE number -> euros, "?" when unknown) when they differ; the line is then unpriced."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label_en"] = self.label
        return data


@dataclass(frozen=True)
class Cotation:
    lines: tuple[Line, ...]
    total_cents: int
    complete: bool
    """False when some line has no confirmed price (the total is then a lower bound)."""
    assumed: dict[str, str] = field(default_factory=dict)
    """Values the solver chose for context the encounter left open."""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(line.code for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "codes": list(self.codes),
            "total_cents": self.total_cents,
            "total": euros(self.total_cents),
            "complete": self.complete,
            "assumed": self.assumed,
            "assumed_text": {
                lang: phrase_assumed(self.assumed, lang) if self.assumed else "" for lang in LANGS
            },
            "lines": [line.to_dict() for line in self.lines],
        }


@dataclass(frozen=True)
class Violation:
    rule: str
    codes: tuple[str, ...]
    article: str
    source: str
    message_fr: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OptimiseResult:
    date: str
    era: str
    optimal: tuple[Cotation, ...]
    """Every cotation of maximal total (ties included), best first."""

    @property
    def best(self) -> Cotation:
        return self.optimal[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "era": self.era,
            "optimal": [c.to_dict() for c in self.optimal],
            "versions": versions(),
        }


@dataclass(frozen=True)
class EnumerateResult:
    date: str
    era: str
    cotations: tuple[Cotation, ...]
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "era": self.era,
            "truncated": self.truncated,
            "cotations": [c.to_dict() for c in self.cotations],
            "versions": versions(),
        }


@dataclass(frozen=True)
class CheckResult:
    date: str
    era: str
    claimed: Cotation
    status: str
    """valid | conditional | violation"""
    violations: tuple[Violation, ...]
    conditions: dict[str, tuple[str, ...]]
    """For a conditional verdict: the values each open context dimension must take."""
    optimal: Cotation | None
    difference_cents: int | None
    """claimed total - optimal total: > 0 over-coding, < 0 under-coding."""
    normalised: dict[str, str] = field(default_factory=dict)
    """Refined codes of the claim replaced by their aggregated code (CSO -> CCX)."""

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "era": self.era,
            "status": self.status,
            "status_text": STATUS_TEXT[self.status],
            "claimed": self.claimed.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "conditions": {k: list(v) for k, v in self.conditions.items()},
            "conditions_text": {
                lang: [phrase_condition(k, v, lang) for k, v in self.conditions.items()]
                for lang in LANGS
            },
            "optimal": self.optimal.to_dict() if self.optimal else None,
            "difference_cents": self.difference_cents,
            "normalised": self.normalised,
            "versions": versions(),
        }


@dataclass(frozen=True)
class WhyNotResult:
    """Why a code is not on the optimal cotation, and what context would allow it.

    ``status``: ``in_answer`` (it is on the optimum), ``possible`` (some valid cotation bills it,
    under ``conditions`` on the open context, but it pays less than the optimum), ``excluded``
    (no valid cotation bills it in this context: ``violations`` are the rules broken by the best
    cotation that includes it, ``changes`` the context that would allow it) or ``never`` (no
    context of this date allows it).
    """

    date: str
    era: str
    code: str
    status: str
    optimal: Cotation
    with_code: Cotation | None
    """The best cotation that includes the code (with its violations when excluded)."""
    violations: tuple[Violation, ...]
    conditions: dict[str, tuple[str, ...]]
    """Open context: the values under which the code can be billed."""
    changes: dict[str, tuple[str, ...]]
    """Known context that would have to differ (a smallest set of dimensions found), each with
    the values that, together, allow the code."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "era": self.era,
            "code": self.code,
            "status": self.status,
            "optimal": self.optimal.to_dict(),
            "with_code": self.with_code.to_dict() if self.with_code else None,
            "violations": [v.to_dict() for v in self.violations],
            "conditions": {k: list(v) for k, v in self.conditions.items()},
            "changes": {k: list(v) for k, v in self.changes.items()},
        }
