"""From a witness context back to an encounter a tester can replay.

Why: a finding is only convincing when someone can run it.  The solver's witness is a set of
``ctx`` atoms (era, kind of day, hour band, age band, flags...); this module turns it into the
encounter JSON of ``ngap/model/encounter.py`` — a date inside the era with the right kind of day and
bridge status, a time inside the hour band, a birth date that gives the age band and the
child-exam window, the flags, what was done — plus the codes to claim, and checks the round trip:
``derive(encounter)`` must give back every value of the witness (``replayable``), otherwise the
differences are listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ngap.model import calendar as cal
from ngap.model.child_exams import add_months, age_band, exam_window
from ngap.model.context import derive
from ngap.model.encounter import Circumstances, Encounter, Patient, Travel
from ngap.model.eras import Era
from ngap.model.vocabulary import ACTIVITIES, AGE_THRESHOLDS, CCAM_ACTS, FLAGS

TIME_OF_BAND = {
    "h00_06": "03:00",
    "h06_07": "06:30",
    "h07_08": "07:30",
    "h08_12": "10:00",
    "h12_14": "13:00",
    "h14_19": "16:00",
    "h19_20": "19:30",
    "h20_21": "20:30",
    "h21_24": "22:00",
}
"""A time inside each hour band (vocabulary.HOUR_BANDS)."""

SECTIONS: dict[str, type[BaseModel]] = {
    "patient": Patient,
    "circumstances": Circumstances,
    "travel": Travel,
}
"""Where each yes/no flag of the vocabulary lives in the encounter."""
PER_KM = ("IK", "IKM", "IKS")
WITNESS_KM = 10


@dataclass(frozen=True)
class Replay:
    """An encounter (as JSON data) built from a witness, and whether it gives the witness back."""

    encounter: dict[str, Any]
    replayable: bool
    differences: tuple[str, ...] = ()


def _date(
    era: Era, day_kind: str, bridge: str, earliest: dt.date | None = None
) -> tuple[dt.date, bool] | None:
    first = max(era.start, earliest) if earliest and earliest <= era.end else era.start
    last = min(era.end, first + dt.timedelta(days=800))
    for alsace in (False, True):
        day = first
        while day <= last:
            if cal.day_type(day, alsace) == day_kind and (
                cal.is_bridge_day(day, alsace) == (bridge == "yes")
            ):
                return day, alsace
            day += dt.timedelta(days=1)
    return None


def _birth(on: dt.date, band: str, window: str) -> dt.date | None:
    """A birth date giving ``band`` and ``window`` on ``on`` (youngest first)."""
    wanted = int(band[1:])
    if wanted == 0:
        start = on
    else:
        threshold = AGE_THRESHOLDS[wanted - 1]
        start = add_months(on, -threshold.months) - dt.timedelta(days=threshold.days)
    birth = start
    while (on - birth).days <= 125 * 366:
        current = int(age_band(birth, on)[1:])
        if current == wanted and exam_window(birth, on) == window:
            return birth
        if current > wanted:
            return None
        # No exam window after 17: step by weeks through adult bands.
        birth -= dt.timedelta(days=1 if (on - birth).days < 18 * 366 else 7)
    return None


def _call_time(hour: str, call: str) -> str:
    act = TIME_OF_BAND[hour]
    minutes = Encounter.minutes(act)
    if cal.call_band(minutes) == call:
        return act
    return "06:30" if call == "night" else "18:30"


def encounter_of(
    context: Mapping[str, str],
    era: Era,
    claimed: Iterable[str] = (),
    eras: tuple[Era, ...] | None = None,
    ident: str | None = None,
    earliest: dt.date | None = None,
) -> Replay:
    """The encounter of a witness context (every dimension of ``vocabulary`` given), dated on
    the first suitable day of the era (from ``earliest`` when given and possible)."""
    problems: list[str] = []
    day_kind, bridge = context.get("day", "weekday"), context.get("bridge", "no")
    found = _date(era, day_kind, bridge, earliest) or _date(era, day_kind, bridge)
    if found is None:
        problems.append(
            f"no date of {era} is a {context.get('day')} with bridge={context.get('bridge')}"
        )
        day, alsace = era.start, False
    else:
        day, alsace = found
    data: dict[str, Any] = {}
    if ident:
        data["id"] = ident
    data["date"] = day.isoformat()
    if alsace:
        data["alsace_moselle"] = True
    hour = context.get("hour", "h14_19")
    data["time"] = TIME_OF_BAND[hour]
    data["call_time"] = _call_time(hour, context.get("call", "day"))
    data["place"] = context.get("place", "office")
    data["zone"] = context.get("zone", "metro")
    data["trip"] = context.get("trip", "single")
    sector = context.get("sector", "s1")
    data["practitioner"] = {
        "specialty": context.get("specialty", "gp"),
        "sector": "1" if sector == "s1" else "2",
        "optam": sector == "s2_optam",
        "rate": context.get("rate", "opposable"),
        "treating_doctor": context.get("treating") == "yes",
    }
    band = context.get("age", "a12")
    window = context.get("exam_window", "none")
    birth = _birth(day, band, window)
    if birth is None:
        problems.append(f"no birth date gives age band {band} and exam window {window}")
        birth = day - dt.timedelta(days=40 * 365)
    patient: dict[str, Any] = {"birth_date": birth.isoformat()}
    if "sex" in context:
        patient["sex"] = context["sex"]
    sections: dict[str, dict[str, Any]] = {"patient": patient, "circumstances": {}, "travel": {}}
    for flag in FLAGS:
        if flag == "treating":
            continue
        section = next((s for s, model in SECTIONS.items() if flag in model.model_fields), None)
        if section is None and flag in Encounter.model_fields:
            data[flag] = context.get(flag) == "yes"
            continue
        if section is None:
            if context.get(flag) == "yes":
                problems.append(f"{flag}=yes has no field in the encounter model")
            continue
        sections[section][flag] = context.get(flag) == "yes"
    data["patient"] = patient
    data["circumstances"] = sections["circumstances"]
    claimed = sorted(claimed)
    travel = sections["travel"]
    bits = [d for d in context if d.startswith("km_bit_")]
    if bits:  # the billable km reach the rule base in binary (vocabulary.KM_BITS)
        travel["km"] = sum(1 << int(d[7:]) for d in bits if context[d] == "yes")
    else:
        travel["km"] = WITNESS_KM if any(c in PER_KM for c in claimed) else 0
    data["travel"] = travel
    data["done"] = [a for a in (*ACTIVITIES, *CCAM_ACTS) if context.get(f"done:{a}") == "yes"]
    data["claimed"] = claimed
    if eras is not None and not problems:
        problems += _round_trip(data, context, era, eras)
    return Replay(data, not problems, tuple(problems))


def _round_trip(
    data: dict[str, Any], context: Mapping[str, str], era: Era, eras: tuple[Era, ...]
) -> list[str]:
    encounter = Encounter.model_validate(data)
    ctx = derive(encounter, eras)
    derived = ctx.values
    out = []
    if ctx.era.start != era.start:
        out.append(f"era: witness {era}, encounter gives {ctx.era}")
    for dim, value in context.items():
        if dim == "era":
            continue
        got = derived.get(dim)
        if got != value:
            out.append(f"{dim}: witness {value}, encounter gives {got}")
    return out
