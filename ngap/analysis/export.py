"""The model itself as a vendor rule set (the formats of ``docs/vendor-formats.md``).

Why: a vendor starting from scratch, the shipped flawed example (``examples/vendor``) and the
benchmark all need a rule set that agrees with the model; exporting it guarantees that, and a
round trip (export, then ``validate-ruleset``) must report nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from ngap.analysis.rulebase import Analyser
from ngap.model.catalogue import FAR_FUTURE
from ngap.model.eras import COVERAGE_START

TARIFF_HEADER = ("code", "amount", "effective_from", "effective_to", "zone")
PAIR_HEADER = ("code_a", "code_b", "allowed")


def _euros(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def tariff_rows(
    analyser: Analyser, codes: Iterable[str] | None = None, zone: str = "metro"
) -> list[dict[str, str]]:
    """One row per code and period of constant amount, from 2022 (no row where the code is not
    in force; an empty amount where the model has none, or for a free code)."""
    rows: list[dict[str, str]] = []
    chosen = sorted(codes) if codes is not None else sorted(analyser.catalogue.codes)
    for name in chosen:
        code = analyser.catalogue.codes[name]
        if code.kind == "refined":
            continue
        run: list[Any] = []  # [start, end, cents]
        runs: list[list[Any]] = []
        for era in analyser.eras:
            if era.end < COVERAGE_START or not code.billable_on(era.start):
                if run:
                    runs.append(run)
                    run = []
                continue
            step = None if code.kind == "free" else code.step_on(era.start, "std", zone)
            cents = step.cents if step else None
            if run and run[2] == cents:
                run[1] = era.end
            else:
                if run:
                    runs.append(run)
                run = [max(era.start, COVERAGE_START), era.end, cents]
        if run:
            runs.append(run)
        for start, end, cents in runs:
            if zone != "metro" and cents is None:
                continue
            rows.append(
                {
                    "code": name,
                    "amount": _euros(cents),
                    "effective_from": start.isoformat(),
                    "effective_to": "" if end >= FAR_FUTURE else end.isoformat(),
                    "zone": zone,
                }
            )
    return rows


def pair_rows(
    analyser: Analyser, day: dt.date, codes: Iterable[str] | None = None
) -> list[dict[str, str]]:
    """The default row ``*,*,no`` and one ``yes`` row per pair billable together on ``day``."""
    space = analyser.space(analyser.era_of(day))
    matrix = space.matrix()
    keep = set(codes) if codes is not None else None
    rows = [{"code_a": "*", "code_b": "*", "allowed": "no"}]
    for a in sorted(matrix):
        for b in sorted(matrix[a]):
            if a < b and (keep is None or (a in keep and b in keep)):
                rows.append({"code_a": a, "code_b": b, "allowed": "yes"})
    return rows


def to_csv(rows: list[dict[str, str]], header: Iterable[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
