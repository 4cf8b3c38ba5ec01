"""French public holidays and the kind of day of an act (NGAP art. 14; CSP R.6315-1).

Holidays are computed from the date (code du travail L.3133-1): 1 Jan, Easter Monday, 1 May,
8 May, Ascension Thursday, Whit Monday, 14 Jul, 15 Aug, 1 Nov, 11 Nov, 25 Dec; Alsace-Moselle adds
Good Friday and 26 Dec (code du travail L.3134-13).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=256)
def public_holidays(year: int, alsace_moselle: bool = False) -> frozenset[dt.date]:
    easter = easter_sunday(year)
    days = {
        dt.date(year, 1, 1),
        easter + dt.timedelta(days=1),
        dt.date(year, 5, 1),
        dt.date(year, 5, 8),
        easter + dt.timedelta(days=39),
        easter + dt.timedelta(days=50),
        dt.date(year, 7, 14),
        dt.date(year, 8, 15),
        dt.date(year, 11, 1),
        dt.date(year, 11, 11),
        dt.date(year, 12, 25),
    }
    if alsace_moselle:
        days |= {easter - dt.timedelta(days=2), dt.date(year, 12, 26)}
    return frozenset(days)


def is_holiday(day: dt.date, alsace_moselle: bool = False) -> bool:
    return day in public_holidays(day.year, alsace_moselle)


@lru_cache(maxsize=4096)
def day_type(day: dt.date, alsace_moselle: bool = False) -> str:
    """weekday / saturday / sunday / holiday (a holiday wins over the day of the week)."""
    if is_holiday(day, alsace_moselle):
        return "holiday"
    return {5: "saturday", 6: "sunday"}.get(day.weekday(), "weekday")


@lru_cache(maxsize=4096)
def is_bridge_day(day: dt.date, alsace_moselle: bool = False) -> bool:
    """Monday before, or Friday / Saturday after, a public holiday (CSP R.6315-1, PDSA)."""
    if is_holiday(day, alsace_moselle):
        return False
    one = dt.timedelta(days=1)
    if day.weekday() == 0 and is_holiday(day + one, alsace_moselle):
        return True
    if day.weekday() == 4 and is_holiday(day - one, alsace_moselle):
        return True
    # The Saturday after a public holiday: after a Friday holiday, or after the Thursday holiday
    # whose Friday is itself a bridge day.
    return day.weekday() == 5 and (
        is_holiday(day - one, alsace_moselle) or is_holiday(day - 2 * one, alsace_moselle)
    )


def hour_band(minutes_after_midnight: int) -> str:
    """Map a time of day to the bands the rules use (see vocabulary.HOUR_BANDS)."""
    h = minutes_after_midnight // 60
    if h < 6:
        return "h00_06"
    if h < 7:
        return "h06_07"
    if h < 8:
        return "h07_08"
    if h < 12:
        return "h08_12"
    if h < 14:
        return "h12_14"
    if h < 19:
        return "h14_19"
    if h < 20:
        return "h19_20"
    if h < 21:
        return "h20_21"
    return "h21_24"


def call_band(minutes_after_midnight: int) -> str:
    """night when the call came between 19h and 7h (NGAP art. 14)."""
    h = minutes_after_midnight // 60
    return "night" if h >= 19 or h < 7 else "day"
