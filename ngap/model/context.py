"""From an encounter to the small closed context atoms of the rule base.

Python does the calendar work (era, kind of day, bridge day, time band, age band, child-exam
window) so that one grounding of the rule base covers every encounter.  Each dimension ends up
fixed (one value), restricted (a set of possible values) or open (unknown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ngap.model import calendar as cal
from ngap.model.child_exams import add_months, age_band, exam_window
from ngap.model.encounter import Encounter
from ngap.model.eras import Era, era_of
from ngap.model.vocabulary import ACTIVITIES, CCAM_ACTS, KM_BITS

Value = str | frozenset[str] | None
"""A fixed value, a set of still possible values, or None (open)."""


@dataclass(frozen=True)
class Context:
    era: Era
    values: dict[str, Value]
    km: float
    date: dt.date | None = None
    """The date judged (None when only the era is known)."""

    @property
    def day(self) -> str:
        return (self.date or self.era.start).isoformat()

    def fixed(self, dim: str) -> str | None:
        value = self.values.get(dim)
        return value if isinstance(value, str) else None


def flag_value(value: bool | None) -> str | None:
    """yes / no, or None when unknown."""
    if value is None:
        return None
    return "yes" if value else "no"


def _birth(enc: Encounter) -> dt.date | None:
    patient = enc.patient
    if patient.birth_date is not None:
        return patient.birth_date
    if patient.age is None:
        return None
    age = patient.age
    return add_months(enc.date, -(12 * age.years + age.months)) - dt.timedelta(days=age.days)


def sector_value(sector: str | None, optam: bool | None) -> Value:
    """s1 / s2_optam / s2 (sector 1 DP counts as 2); both sector-2 values when OPTAM is unknown."""
    if sector is None:
        return None
    if sector == "1":
        return "s1"
    if optam is None:
        return frozenset({"s2", "s2_optam"})
    return "s2_optam" if optam else "s2"


def department_value(zone: str | None, department: str | None) -> Value:
    """none in metropolitan France, d971... when named, unknown for an unnamed overseas one."""
    if zone is None:
        return None
    if zone == "metro":
        return "none"
    if department is None or department == "metro":
        return "unknown"
    return f"d{department}"


def _sector(enc: Encounter) -> Value:
    return sector_value(enc.practitioner.sector, enc.practitioner.optam)


def derive(enc: Encounter, eras: tuple[Era, ...]) -> Context:
    values: dict[str, Value] = {}
    era = era_of(eras, enc.date)
    values["era"] = str(era.index)
    values["zone"] = enc.zone
    values["department"] = department_value(enc.zone, enc.department)
    values["day"] = cal.day_type(enc.date, enc.alsace_moselle)
    values["bridge"] = "yes" if cal.is_bridge_day(enc.date, enc.alsace_moselle) else "no"
    values["hour"] = cal.hour_band(Encounter.minutes(enc.time)) if enc.time else None
    if enc.call_time:
        values["call"] = cal.call_band(Encounter.minutes(enc.call_time))
    else:
        values["call"] = None
    values["place"] = enc.place
    values["specialty"] = enc.practitioner.specialty
    values["sector"] = _sector(enc)
    values["rate"] = enc.practitioner.rate
    values["sex"] = enc.patient.sex
    birth = _birth(enc)
    values["age"] = age_band(birth, enc.date) if birth else None
    values["exam_window"] = exam_window(birth, enc.date) if birth else None
    values["trip"] = enc.trip

    values["treating"] = flag_value(enc.practitioner.treating_doctor)
    values["pdsa_extended"] = flag_value(enc.pdsa_extended)
    for section in (enc.patient, enc.circumstances, enc.travel):
        for name, field_value in section:
            if isinstance(field_value, bool) or field_value is None:
                if name in ("birth_date", "age", "sex", "distance_km"):
                    continue
                values[name] = flag_value(field_value)
    km = round(enc.travel.billable_km)
    for bit in range(KM_BITS):
        values[f"km_bit_{bit}"] = "yes" if km >> bit & 1 else "no"
    done = set(enc.done)
    for activity in (*ACTIVITIES, *CCAM_ACTS):
        values[f"done:{activity}"] = "yes" if activity in done else "no"
    return Context(era=era, values=values, km=enc.travel.billable_km, date=enc.date)
