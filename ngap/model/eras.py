"""Tariff eras: the maximal date intervals on which no tariff, code or rule changes.

Python cuts time at every date the knowledge base mentions, so that an encounter's date maps to
one small integer (``ctx(era, E)``) and one grounding of the rule base answers every date.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass

from ngap.model.catalogue import FAR_FUTURE, Catalogue

COVERAGE_START = dt.date(2022, 1, 1)
"""The first day the knowledge base answers for (every date from 2022 on)."""


class DateOutOfRange(ValueError):
    pass


@dataclass(frozen=True)
class Era:
    index: int
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return f"era {self.index} ({self.start.isoformat()} .. {self.end.isoformat()})"


def _boundaries(catalogue: Catalogue) -> set[dt.date]:
    cuts: set[dt.date] = set()
    one_day = dt.timedelta(days=1)
    for code in catalogue.codes.values():
        cuts.add(code.valid_from)
        if code.valid_to < FAR_FUTURE:
            cuts.add(code.valid_to + one_day)
        for step in (*code.tariffs, *code.tariffs_non_optam, *code.drom):
            cuts.add(step.start)
    for rule in catalogue.rules.values():
        cuts.add(rule.start)
        if rule.end < FAR_FUTURE:
            cuts.add(rule.end + one_day)
    return cuts


def compute_eras(catalogue: Catalogue) -> tuple[Era, ...]:
    starts = sorted(d for d in _boundaries(catalogue) if d > COVERAGE_START)
    starts = [COVERAGE_START, *starts]
    eras = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else FAR_FUTURE
        eras.append(Era(index=i + 1, start=start, end=end))
    return tuple(eras)


def era_of(eras: tuple[Era, ...], day: dt.date) -> Era:
    if day < COVERAGE_START:
        raise DateOutOfRange(
            f"date {day.isoformat()} is before {COVERAGE_START.isoformat()}, "
            "the first day the knowledge base covers"
        )
    i = bisect_right([e.start for e in eras], day) - 1
    return eras[i]
