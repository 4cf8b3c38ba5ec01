"""Calendar facts the rules depend on: public holidays, bridge days, time bands, ages."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ngap.model.calendar import (
    call_band,
    day_type,
    easter_sunday,
    hour_band,
    is_bridge_day,
    public_holidays,
)
from ngap.model.child_exams import age_band, exam_window, reached
from ngap.model.vocabulary import AGE_THRESHOLDS, AgeThreshold


def test_easter_dates() -> None:
    assert easter_sunday(2022) == dt.date(2022, 4, 17)
    assert easter_sunday(2023) == dt.date(2023, 4, 9)
    assert easter_sunday(2024) == dt.date(2024, 3, 31)
    assert easter_sunday(2025) == dt.date(2025, 4, 20)
    assert easter_sunday(2026) == dt.date(2026, 4, 5)


def test_movable_holidays_2024() -> None:
    days = public_holidays(2024)
    assert dt.date(2024, 4, 1) in days  # Easter Monday
    assert dt.date(2024, 5, 9) in days  # Ascension
    assert dt.date(2024, 5, 20) in days  # Whit Monday
    assert len(days) == 11
    assert dt.date(2024, 3, 29) not in days  # Good Friday: Alsace-Moselle only
    assert dt.date(2024, 3, 29) in public_holidays(2024, alsace_moselle=True)
    assert dt.date(2024, 12, 26) in public_holidays(2024, alsace_moselle=True)


def test_day_types() -> None:
    assert day_type(dt.date(2024, 7, 14)) == "holiday"  # a Sunday: holiday wins
    assert day_type(dt.date(2024, 7, 13)) == "saturday"
    assert day_type(dt.date(2024, 7, 15)) == "weekday"
    assert day_type(dt.date(2025, 11, 11)) == "holiday"


def test_bridge_days() -> None:
    # 1 Nov 2023 was a Wednesday: no bridge; 11 Nov 2025 a Tuesday: Monday 10 Nov is a bridge day.
    assert is_bridge_day(dt.date(2025, 11, 10))
    # Ascension Thursday 29 May 2025: Friday 30 and Saturday 31 May are bridge days.
    assert is_bridge_day(dt.date(2025, 5, 30))
    assert is_bridge_day(dt.date(2025, 5, 31))
    assert not is_bridge_day(dt.date(2025, 6, 2))


def test_time_bands() -> None:
    assert hour_band(0) == "h00_06"
    assert hour_band(6 * 60 - 1) == "h00_06"
    assert hour_band(7 * 60 + 59) == "h07_08"
    assert hour_band(8 * 60) == "h08_12"
    assert hour_band(19 * 60 + 30) == "h19_20"
    assert hour_band(20 * 60) == "h20_21"
    assert hour_band(23 * 60 + 59) == "h21_24"
    assert call_band(19 * 60) == "night"
    assert call_band(7 * 60) == "day"
    assert call_band(6 * 60 + 59) == "night"


def test_coe_windows_by_the_day() -> None:
    birth = dt.date(2024, 1, 31)
    assert exam_window(birth, birth + dt.timedelta(days=8)) == "coe"
    assert exam_window(birth, birth + dt.timedelta(days=9)) == "mandatory"  # 2nd week
    assert exam_window(birth, dt.date(2024, 9, 30)) == "coe"  # 8 months (31 Jan + 8 m = 30 Sep)
    assert exam_window(birth, dt.date(2024, 9, 29)) == "none"
    assert exam_window(birth, dt.date(2024, 11, 30)) == "none"  # 10 months reached
    assert exam_window(birth, dt.date(2024, 11, 29)) == "coe"


def test_one_month_exam_removed_in_2025() -> None:
    birth = dt.date(2024, 12, 1)
    assert exam_window(birth, dt.date(2024, 12, 20)) == "mandatory"  # 2019 calendar, 19 days
    birth = dt.date(2025, 1, 1)
    assert exam_window(birth, dt.date(2025, 1, 20)) == "none"  # 2025 calendar


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.dates(dt.date(1925, 1, 1), dt.date(2026, 11, 26)), st.integers(0, 40000))
def test_age_band_counts_the_thresholds_reached(birth: dt.date, days: int) -> None:
    on = birth + dt.timedelta(days=days)
    expected = sum(1 for t in AGE_THRESHOLDS if reached(birth, on, t))
    assert age_band(birth, on) == f"a{expected}"


def test_sixth_birthday() -> None:
    six = AgeThreshold(72)
    assert not reached(dt.date(2018, 3, 1), dt.date(2024, 2, 29), six)
    assert reached(dt.date(2018, 3, 1), dt.date(2024, 3, 1), six)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.dates(dt.date(2019, 3, 1), dt.date(2026, 11, 26)), st.integers(0, 18 * 366))
def test_exam_window_agrees_with_calendar_arithmetic(birth: dt.date, days: int) -> None:
    """The fast month/day comparison gives the same window as adding months to the birth date."""
    from ngap.model.child_exams import (
        CALENDAR_2025,
        COE_WINDOWS,
        MANDATORY_2019,
        MANDATORY_2025,
    )

    on = birth + dt.timedelta(days=days)

    def inside(window: tuple[AgeThreshold, AgeThreshold]) -> bool:
        return reached(birth, on, window[0]) and not reached(birth, on, window[1])

    windows = MANDATORY_2025 if on >= CALENDAR_2025 else MANDATORY_2019
    expected = (
        "coe"
        if any(inside(w) for w in COE_WINDOWS)
        else "mandatory"
        if any(inside(w) for w in windows)
        else "none"
    )
    assert exam_window(birth, on) == expected
