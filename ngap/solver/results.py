"""Typed answers of the solver: lines, cotations, violations, check verdicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    by_department: dict[str, str] | None = None
    """Overseas encounter that does not name its department: the amount of each department
    (INSEE number -> euros, "?" when unknown) when they differ; the line is then unpriced."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
            "claimed": self.claimed.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "conditions": {k: list(v) for k, v in self.conditions.items()},
            "optimal": self.optimal.to_dict() if self.optimal else None,
            "difference_cents": self.difference_cents,
            "normalised": self.normalised,
        }
