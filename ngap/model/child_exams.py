"""Ages in calendar terms, and the calendar of the mandatory child examinations.

Sources: code de la santé publique R.2132-1; arrêté 26 Feb 2019 (20 examinations from
1 Mar 2019: within 8 days, 2nd week, before the end of the 1st month, during months 2 to 6, 9, 12,
13, between 16 and 18 months, during month 24 or 25, during years 3 to 6, between 8 and 9, 11 and
13, 15 and 16 years); décret 2024-1031 and arrêté 14 Nov 2024 (from 1 Jan 2025: the 1-month exam
removed, an exam during the 7th year added); NGAP art. 14.9 / décision UNCAM 23 Feb 2017 (COE
windows: within 8 days; from 8 months to the day before 10 months; from 23 months to the day
before 25 months).  "During the Nth month / year" is read as the age interval [N-1, N).
"""

from __future__ import annotations

import calendar
import datetime as dt

from ngap.model.vocabulary import AGE_THRESHOLDS, AgeThreshold

CALENDAR_2025 = dt.date(2025, 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamped to the month's last day (31 Jan + 1 month = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month0 = divmod(month_index, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def reached(birth: dt.date, on: dt.date, threshold: AgeThreshold) -> bool:
    """True when the patient born on ``birth`` is at least ``threshold`` old on ``on``."""
    limit = add_months(birth, threshold.months) + dt.timedelta(days=threshold.days)
    return on >= limit


def completed_months(birth: dt.date, on: dt.date) -> int:
    """The largest m with add_months(birth, m) <= on (m >= 0 when on >= birth)."""
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if months > 0 and add_months(birth, months) > on:
        months -= 1
    return months


def age_band(birth: dt.date, on: dt.date) -> str:
    """Band ``aN``: N thresholds of vocabulary.AGE_THRESHOLDS are reached.

    Thresholds are pure months or pure days, so one month count and one day count decide all.
    """
    return age_band_of(completed_months(birth, on), (on - birth).days)


def age_band_of(months: int, days: int) -> str:
    """``age_band`` from the completed months and the days of age (what the batch audit has)."""
    return f"a{sum(1 for t in AGE_THRESHOLDS if _reached(months, days, t))}"


def _d(days: int) -> AgeThreshold:
    return AgeThreshold(0, days)


def _m(months: int) -> AgeThreshold:
    return AgeThreshold(months)


def _y(years: int) -> AgeThreshold:
    return AgeThreshold(12 * years)


COE_WINDOWS = ((_d(0), _d(9)), (_m(8), _m(10)), (_m(23), _m(25)))

Window = tuple[AgeThreshold, AgeThreshold]
"""An age interval [low, high): reached ``low``, not yet ``high``."""

_MONTHS_2_TO_6: Window = (_m(1), _m(6))
_MONTHS_12_13: Window = (_m(11), _m(13))
_YEARS_3_TO_6: Window = (_y(2), _y(6))
_MANDATORY_COMMON = (
    (_d(9), _d(15)),  # 2nd week
    _MONTHS_2_TO_6,  # during months 2, 3, 4, 5, 6 (one exam each)
    _MONTHS_12_13,  # during months 12 and 13 (one exam each)
    (_m(16), _m(19)),  # between 16 and 18 months
    _YEARS_3_TO_6,  # during years 3, 4, 5, 6 (one exam each)
    (_y(8), _y(10)),  # between 8 and 9 years
    (_y(11), _y(14)),  # between 11 and 13 years
    (_y(15), _y(17)),  # between 15 and 16 years
)
MANDATORY_2019 = (*_MANDATORY_COMMON, (_d(15), _m(1)))  # before the end of the 1st month
MANDATORY_2025 = (*_MANDATORY_COMMON, (_y(6), _y(7)))  # during the 7th year

EXAM_STEPS: dict[Window, AgeThreshold] = {
    _MONTHS_2_TO_6: _m(1),
    _MONTHS_12_13: _m(1),
    _YEARS_3_TO_6: _y(1),
}
"""Windows of the calendars that hold one examination per month or per year (any other window
holds one examination).  Why: ``exam_window`` only asks whether an age is inside some window,
but counting examinations needs each one's own window ("during the 2nd month", "during the 3rd
month" ...)."""


def exam_windows(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    """The window of each single examination of a calendar (``EXAM_STEPS`` windows split)."""
    single: list[Window] = []
    for window in windows:
        step = EXAM_STEPS.get(window)
        if step is None:
            single.append(window)
            continue
        low, high = window
        single += [
            (_m(start), _m(start + step.months))
            for start in range(low.months, high.months, step.months)
        ]
    return tuple(single)


def _reached(months: int, days: int, threshold: AgeThreshold) -> bool:
    """Thresholds are pure days or pure months: compare with the age in each unit."""
    return days >= threshold.days if threshold.months == 0 else months >= threshold.months


def exam_window(birth: dt.date, on: dt.date) -> str:
    """coe / mandatory / none for a child born on ``birth`` examined on ``on``."""
    return exam_window_of(completed_months(birth, on), (on - birth).days, on >= CALENDAR_2025)


def exam_window_of(months: int, days: int, calendar_2025: bool) -> str:
    """``exam_window`` from the age in months and days and the calendar in force."""
    if months >= 17 * 12:
        return "none"

    def inside(window: tuple[AgeThreshold, AgeThreshold]) -> bool:
        low, high = window
        return _reached(months, days, low) and not _reached(months, days, high)

    if any(inside(w) for w in COE_WINDOWS):
        return "coe"
    windows = MANDATORY_2025 if calendar_2025 else MANDATORY_2019
    if any(inside(w) for w in windows):
        return "mandatory"
    return "none"
