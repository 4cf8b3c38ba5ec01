"""The clingo rule base against its independent python-constraint twin (ngap/solver/crosscheck.py).

2 000 encounters are generated from a fixed seed, every context dimension fixed: dates over
2022-01-01 .. 2026-11-26 with every era boundary (and the day before) and public holidays, every
place, sector / OPTAM / rate, specialty, ages from newborn to 95 (with the age limits of the rules
and the child-exam windows), times of day and call times, day types, trips, the yes/no
circumstances, and 1-3 performed activities including CCAM acts.  For each one, the set of valid
cotations of ``Nomenclature.enumerate`` must equal the python-constraint set.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from ngap import Encounter, Nomenclature
from ngap.model.calendar import public_holidays
from ngap.model.child_exams import add_months
from ngap.model.vocabulary import AGE_THRESHOLDS, CCAM_ACTS, FLAGS, TRIPS, static_dimensions
from ngap.solver.crosscheck import ContextNotFixed, Model, build, valid_cotations

SEED = 20_241_222
COUNT = 2_000
FIRST_DAY = dt.date(2022, 1, 1)
LAST_DAY = dt.date(2026, 11, 26)

# --- what was performed, by place (1-3 activities, the first one the main act) ---------------
TECHNICAL = "technical session"
"""Not an activity: the generator draws two or three CCAM acts for it."""
OFFICE_MAIN = {
    "consultation": 40,
    "consultant_opinion": 4,
    "child_exam_certificate": 4,
    "child_exam": 5,
    "contraception_first": 3,
    "cso": 2,
    "cse": 1,
    "ase": 1,
    "cte": 1,
    "mph": 2,
    "mt_registration": 2,
    "long_consultation_discharge": 4,
    "long_consultation_deprescribing": 3,
    "long_consultation_medicosocial": 3,
    "prevention_checkup": 3,
    "burn_small": 2,
    "burn_large": 1,
    "visit": 2,
    TECHNICAL: 3,
}
HOME_MAIN = {
    "visit": 40,
    "long_visit": 5,
    "palliative_visit": 4,
    "consultant_opinion": 2,
    "child_exam": 2,
    "child_exam_certificate": 1,
    "cte": 1,
    "long_consultation_discharge": 3,
    "long_consultation_deprescribing": 2,
    "long_consultation_medicosocial": 2,
    "burn_small": 2,
    "burn_large": 1,
    "consultation": 1,
    TECHNICAL: 1,
}
INSTITUTION_MAIN = {"visit": 12, "consultation": 2, "long_visit": 1, "palliative_visit": 1}
TELE_MAIN = {
    "teleconsultation": 12,
    "tele_expertise_request": 2,
    "tele_expertise_answer": 2,
    "consultation": 1,
}
MAIN_BY_PLACE = {
    "office": OFFICE_MAIN,
    "home": HOME_MAIN,
    "institution": INSTITUTION_MAIN,
    "tele": TELE_MAIN,
}
CCAM_ODDS = {"DEQP003": 8, "JKHD001": 4, "GLQP012": 3, "ALQP003": 2, "QZHA001": 2}
CCAM_WEIGHTS = {act: CCAM_ODDS.get(act, 1) for act in CCAM_ACTS}
EXTRAS = {
    **CCAM_WEIGHTS,
    "special_demand": 4,
    "mis": 3,
    "piv": 1,
    "certificate_work_accident_light": 2,
    "certificate_work_accident_serious": 2,
    "cso": 1,
    "consultation": 3,
    "visit": 2,
    "teleconsultation": 1,
    "burn_small": 1,
}
FLAG_ODDS = {
    "emergency": 0.3,
    "regulated": 0.25,
    "regulated_duty": 0.2,
    "has_treating_doctor": 0.8,
}
PATIENT_FLAGS = ("ald", "ald_neuro", "palliative", "has_treating_doctor", "unable_to_move")
TRAVEL_FLAGS = ("mountain", "ik_distance", "on_foot_or_ski")


@dataclass(frozen=True)
class Hint:
    """What usually goes with a performed activity: the patient's ages (in years) and the odds of
    some circumstances ("treating", "specialist" and "female" for the practitioner and patient)."""

    ages: tuple[tuple[float, float], ...] = ()
    odds: dict[str, float] = field(default_factory=dict)
    since: dt.date | None = None
    """Mostly dated from this day on (an act created then)."""


LONG_CONSULTATION = Hint(
    ((78, 95),), {"treating": 0.85, "discharge_45d": 0.6}, since=dt.date(2026, 1, 1)
)
BURN = Hint(odds={"burn_face_hands": 0.5})
HINTS = {
    "consultation": Hint(odds={"correspondent": 0.25, "regulated": 0.3}),
    "visit": Hint(
        ((0, 95), (75, 95)),
        {"home_justified": 0.3, "left_at_once": 0.25, "regulated": 0.3, "sas_within_24h": 0.4},
    ),
    "teleconsultation": Hint(odds={"regulated": 0.3}),
    "consultant_opinion": Hint(odds={"mt_request": 0.85, "treating": 0.1, "specialist": 0.7}),
    "child_exam_certificate": Hint(((0, 0.03), (0.64, 0.84), (1.88, 2.1))),
    "child_exam": Hint(((0, 17),)),
    "contraception_first": Hint(((14, 27),)),
    "cso": Hint(((2.5, 13.5),), {"treating": 0.6}),
    "cse": Hint(((2, 17),)),
    "cte": Hint(((1, 6),)),
    "mt_registration": Hint(odds={"ald": 0.8, "treating": 0.8}),
    "long_consultation_discharge": LONG_CONSULTATION,
    "long_consultation_deprescribing": LONG_CONSULTATION,
    "long_consultation_medicosocial": LONG_CONSULTATION,
    "prevention_checkup": Hint(((17, 27), (44, 52), (59, 67), (69, 77))),
    "long_visit": Hint(
        ((60, 95),),
        {"treating": 0.8, "ald": 0.6, "ald_neuro": 0.3, "new_treating_doctor": 0.3},
    ),
    "palliative_visit": Hint(odds={"treating": 0.8, "palliative": 0.8}),
    "burn_small": BURN,
    "burn_large": BURN,
    "JKHD001": Hint(((20, 70),), {"female": 0.9}),
}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _boundaries(nomenclature: Nomenclature) -> list[dt.date]:
    days = []
    for era in nomenclature.eras:
        for day in (era.start - dt.timedelta(days=1), era.start):
            if FIRST_DAY <= day <= LAST_DAY:
                days.append(day)
    return days


def _date(rng: random.Random, boundaries: list[dt.date]) -> dt.date:
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(boundaries)
    if roll < 0.35:
        year = rng.randint(FIRST_DAY.year, LAST_DAY.year)
        holiday = rng.choice(sorted(public_holidays(year)))
        day = holiday + dt.timedelta(days=rng.choice((-3, -1, 0, 0, 0, 1, 2)))
        return min(max(day, FIRST_DAY), LAST_DAY)
    return FIRST_DAY + dt.timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))


def _birth(rng: random.Random, day: dt.date, ages: tuple[tuple[float, float], ...]) -> dt.date:
    roll = rng.random()
    if roll < 0.25:
        # Around an age limit of the rules (COE windows, 6, 25, 26, 80 ...), give or take 2 days.
        limit = rng.choice(AGE_THRESHOLDS)
        birth = add_months(day, -limit.months) - dt.timedelta(days=limit.days)
        birth += dt.timedelta(days=rng.randint(-2, 2))
    elif ages and roll < 0.85:
        low, high = rng.choice(ages)  # the ages the act is meant for
        birth = day - dt.timedelta(days=rng.randint(int(low * 365.25), int(high * 365.25)))
    elif roll < 0.9:
        birth = day - dt.timedelta(days=rng.randint(0, 3 * 365))  # newborns and infants
    else:
        birth = day - dt.timedelta(days=rng.randint(0, 95 * 365 + 23))
    return min(birth, day)


def _clock(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _times(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.4:
        hour = rng.choice((0, 3, 5, 6, 7, 8, 12, 13, 14, 19, 20, 21, 23))  # around the limits
        minute = rng.choice((0, 1, 30, 59))
    else:
        hour, minute = rng.randint(0, 23), rng.randint(0, 59)
    act = hour * 60 + minute
    call = act - rng.choice((0, 5, 30, 60, 90, 180, 600))
    return _clock(act), _clock(call)


def _done(rng: random.Random, place: str) -> list[str]:
    main = _pick(rng, MAIN_BY_PLACE[place])
    if main == TECHNICAL:
        # A technical session: three CCAM acts, or a consultation and two.
        done = [] if rng.random() < 0.5 else ["consultation"]
        while len(done) < 3:
            act = _pick(rng, CCAM_WEIGHTS)
            if act not in done:
                done.append(act)
        return done
    done = [main]
    for _ in range(rng.choices((0, 1, 2), (45, 40, 15))[0]):
        extra = _pick(rng, EXTRAS)
        if extra not in done:
            done.append(extra)
    return done


def generate(nomenclature: Nomenclature, count: int = COUNT, seed: int = SEED) -> list[Encounter]:
    rng = random.Random(seed)
    boundaries = _boundaries(nomenclature)
    circumstances = tuple(
        f for f in FLAGS if f not in (*PATIENT_FLAGS, *TRAVEL_FLAGS, "treating", "pdsa_extended")
    )
    encounters = []
    for i in range(count):
        day = _date(rng, boundaries)
        place = rng.choices(("office", "home", "institution", "tele"), (45, 30, 10, 15))[0]
        done = _done(rng, place)
        hint = HINTS.get(done[0], Hint())
        if hint.since and day < hint.since and rng.random() < 0.8:
            day = hint.since + dt.timedelta(days=rng.randint(0, (LAST_DAY - hint.since).days))
        odds: dict[str, float] = {}
        for item in reversed(done):
            odds |= HINTS.get(item, Hint()).odds

        # A third of the encounters are "busy": every circumstance is more likely, so that the
        # rules between two majorations (non-cumulation) meet both of them valid.
        busy = 3 if rng.random() < 0.3 else 1

        def chance(
            name: str, default: float, odds: dict[str, float] = odds, busy: int = busy
        ) -> bool:
            return rng.random() < odds.get(name, FLAG_ODDS.get(name, default * busy))

        sector = rng.choices(("1", "2"), (60, 40))[0]
        optam = sector == "2" and rng.random() < 0.5
        s2_free = sector == "2" and not optam
        above = rng.random() < (0.6 if s2_free else 0.1)
        if above and sector == "1" and "special_demand" not in done and rng.random() < 0.7:
            done.append("special_demand")  # sector 1 bills above the rate for a special demand
        time, call_time = _times(rng)
        trip = "single" if rng.random() < 0.8 else rng.choice(TRIPS[1:])
        if place == "institution" and "consultation" in done and rng.random() < 0.7:
            trip = "institution_next"  # a consultation in an institution: a later patient
        female = chance("female", 0.5)
        overseas = rng.random()
        # one DROM encounter in ten; its department named or not, from the same draw
        department = (None, "971", "972", "973", "974", "976")[int(overseas * 600) % 6]
        data: dict[str, Any] = {
            "id": f"x{i:04d}",
            "date": day.isoformat(),
            "time": time,
            "call_time": call_time,
            "place": place,
            "zone": "drom" if overseas < 0.1 else "metro",
            "department": department if overseas < 0.1 else None,
            "alsace_moselle": rng.random() < 0.1,
            "pdsa_extended": rng.random() < 0.7,
            "trip": trip,
            "practitioner": {
                "specialty": "gp_specialist" if chance("specialist", 0.25) else "gp",
                "sector": sector,
                "optam": optam,
                "rate": "above" if above else "opposable",
                "treating_doctor": chance("treating", 0.5),
            },
            "patient": {
                "birth_date": _birth(rng, day, hint.ages).isoformat(),
                "sex": "f" if female else "m",
                **{flag: chance(flag, 0.2) for flag in PATIENT_FLAGS},
            },
            "circumstances": {flag: chance(flag, 0.15) for flag in circumstances},
            "travel": {
                **{flag: chance(flag, 0.15) for flag in TRAVEL_FLAGS},
                "km": 0 if rng.random() < 0.4 else round(rng.uniform(0.5, 500), 1),
            },
            "done": done,
        }
        encounters.append(Encounter.model_validate(data))
    return encounters


@pytest.fixture(scope="module")
def encounters(nomenclature: Nomenclature) -> list[Encounter]:
    return generate(nomenclature)


def test_generator_fixes_every_dimension_and_covers_them(
    nomenclature: Nomenclature, encounters: list[Encounter]
) -> None:
    """The comparison is only as good as its inputs: every encounter fully known, and every
    value of every dimension met (every era, place, sector, hour band, trip, exam window...)."""
    seen: dict[str, Counter[str]] = {}
    for enc in encounters:
        values = nomenclature.context(enc).values
        loose = [d for d, v in values.items() if not isinstance(v, str)]
        assert not loose, f"{enc.id}: dimensions not fixed: {loose}"
        for dim, value in values.items():
            seen.setdefault(dim, Counter())[str(value)] += 1
    dims = {"era": tuple(str(e.index) for e in nomenclature.eras)}
    dims |= {d.name: d.values for d in static_dimensions()}
    missing = {d: sorted(set(v) - set(seen[d])) for d, v in dims.items() if set(v) - set(seen[d])}
    assert not missing, f"values never generated: {missing}"


@dataclass(frozen=True)
class Comparison:
    encounter: Encounter
    clingo: frozenset[frozenset[str]]
    crosscheck: frozenset[frozenset[str]]


@pytest.fixture(scope="module")
def comparisons(nomenclature: Nomenclature, encounters: list[Encounter]) -> list[Comparison]:
    """Both engines on every encounter (computed once for the tests below)."""
    out = []
    for enc in encounters:
        result = nomenclature.enumerate(enc, limit=100_000)
        assert not result.truncated, f"{enc.id}: enumeration truncated"
        asp = frozenset(frozenset(c.codes) for c in result.cotations)
        pc = valid_cotations(nomenclature.context(enc), enc.date, nomenclature.catalogue)
        out.append(Comparison(enc, asp, pc))
    return out


def _report(nomenclature: Nomenclature, comparison: Comparison) -> str:
    enc = comparison.encounter
    model = build(nomenclature.context(enc), enc.date, nomenclature.catalogue)
    lines = [json.dumps(enc.model_dump(mode="json", exclude_none=True), ensure_ascii=False)]
    for codes in sorted(comparison.clingo - comparison.crosscheck, key=sorted)[:5]:
        lines.append(f"  clingo only: {sorted(codes)}; cross-check breaks {model.broken(codes)}")
    for codes in sorted(comparison.crosscheck - comparison.clingo, key=sorted)[:5]:
        verdict = nomenclature.check(enc, sorted(codes))
        rules = sorted({v.rule for v in verdict.violations})
        lines.append(f"  cross-check only: {sorted(codes)}; clingo breaks {rules}")
    return "\n".join(lines)


def test_clingo_and_python_constraint_agree(
    nomenclature: Nomenclature, comparisons: list[Comparison]
) -> None:
    disagreements = [_report(nomenclature, c) for c in comparisons if c.clingo != c.crosscheck]
    assert not disagreements, (
        f"{len(disagreements)} of {len(comparisons)} encounters disagree; first ones:\n"
        + "\n".join(disagreements[:8])
    )


def test_the_comparison_is_not_vacuous(
    nomenclature: Nomenclature, comparisons: list[Comparison]
) -> None:
    """Most encounters bill something, and every billable code is valid in some encounter (MMG
    and MOD_U excepted: never billed by a GP), so every code's rules meet both engines."""
    only_empty = sum(1 for c in comparisons if c.crosscheck | c.clingo == {frozenset()})
    assert only_empty < len(comparisons) * 0.2, f"{only_empty} encounters bill nothing at all"
    valid_somewhere: set[str] = set()
    for c in comparisons:
        for cotation in c.crosscheck | c.clingo:
            valid_somewhere |= cotation
    for case in PINNED.values():  # the hand-picked boundary encounters below count too
        enc = _pinned(case)
        for cotation in valid_cotations(
            nomenclature.context(enc), enc.date, nomenclature.catalogue
        ):
            valid_somewhere |= cotation
    billable = {
        code for code, info in nomenclature.catalogue.codes.items() if info.kind != "refined"
    }
    # MOD_U is the night modifier of the other physicians: never a GP's (modificateurs_ccam.lp).
    never = sorted(billable - valid_somewhere - {"MMG", "MOD_U"})
    assert not never, f"codes valid in no generated encounter: {never}"


def test_crosscheck_needs_a_fixed_context(nomenclature: Nomenclature) -> None:
    enc = Encounter.model_validate(
        {"date": "2025-03-04", "place": "office", "done": ["consultation"]}
    )
    with pytest.raises(ContextNotFixed):
        valid_cotations(nomenclature.context(enc), enc.date, nomenclature.catalogue)


# --- pinned encounters: one or more per rule the random ones seldom reach ---------------------
# Each case names the rule it exercises: dropping that rule from the cross-check model must change
# the valid cotations (so the case really tests it), and both engines must agree on the case.
ADULT = {"birth_date": "1980-01-01", "sex": "f"}
OLD_MAN = {"birth_date": "1940-01-01", "sex": "m"}
SAS = {"regulated": True}
SPECIALIST = {"specialty": "gp_specialist", "sector": "1", "rate": "opposable"}
TREATING = {"sector": "1", "rate": "opposable", "treating_doctor": True}
S2_ABOVE = {"sector": "2", "optam": False, "rate": "above"}
HOME = {"place": "home", "patient": OLD_MAN}


@dataclass(frozen=True)
class Pinned:
    rule: str | tuple[str, ...] | None
    """The rule the case exercises, or rules that each imply the other on it (None: a code
    allowed on a boundary)."""
    encounter: dict[str, Any]

    @property
    def rules(self) -> tuple[str, ...]:
        if self.rule is None:
            return ()
        return (self.rule,) if isinstance(self.rule, str) else self.rule


PINNED: dict[str, Pinned] = {
    # Three sutures for multiple recent traumatic lesions: three acts paid (CCAM III-3 B 2 b).
    "sutures-multiple-trauma-2025": Pinned(
        None,
        {
            "date": "2025-03-11",
            "circumstances": {"multiple_recent_trauma": True},
            "done": ["QZJA002", "QZJA017", "QZJA015"],
        },
    ),
    "sutures-no-derogation-2025": Pinned(
        "ccam_two_acts",
        {"date": "2025-03-11", "done": ["QZJA002", "QZJA017", "QZJA015"]},
    ),
    # A justified urgent night visit: VG + MDN, never with MN (nor MD + MN).
    "night-visit-justified-2023": Pinned(
        "md_night_not_with_time_majoration",
        {
            "date": "2023-11-28",
            "time": "22:30",
            "call_time": "22:00",
            "place": "home",
            "circumstances": {"emergency": True, "home_justified": True},
            "done": ["visit"],
        },
    ),
    # A consultant opinion asked by the médecin traitant, given by a GP not qualified as
    # specialist: G + MCG (the consultation took place; APC is for specialists).
    "consultant-opinion-plain-gp-2025": Pinned(
        None,
        {
            "date": "2025-02-04",
            "practitioner": {"specialty": "gp", "sector": "1", "rate": "opposable"},
            "circumstances": {"mt_request": True},
            "done": ["consultant_opinion"],
        },
    ),
    "consultant-opinion-plain-gp-no-request-2025": Pinned(
        "mcg_needs_coordination",
        {
            "date": "2025-02-04",
            "practitioner": {"specialty": "gp", "sector": "1", "rate": "opposable"},
            "circumstances": {"mt_request": False},
            "done": ["consultant_opinion"],
        },
    ),
    # SNP / SHE at 20h-21h: a weekday evening, before and after 22 Dec 2024, and the evening of a
    # Saturday and of a bridge day with and without the regional extension of duty hours.
    "sas-weekday-20h30-2025": Pinned(
        None, {"date": "2025-03-05", "time": "20:30", "circumstances": SAS}
    ),
    "sas-weekday-20h30-2024": Pinned(
        "snp_outside_pdsa", {"date": "2024-12-20", "time": "20:30", "circumstances": SAS}
    ),
    "sas-saturday-20h30-not-extended": Pinned(
        None,
        {"date": "2025-03-08", "time": "20:30", "pdsa_extended": False, "circumstances": SAS},
    ),
    "sas-saturday-20h30-extended": Pinned(
        "snp_outside_pdsa", {"date": "2025-03-08", "time": "20:30", "circumstances": SAS}
    ),
    "sas-bridge-20h30-not-extended": Pinned(
        None,
        {"date": "2025-05-02", "time": "20:30", "pdsa_extended": False, "circumstances": SAS},
    ),
    "sas-saturday-15h-extended": Pinned(
        "snp_outside_pdsa", {"date": "2025-03-08", "time": "15:00", "circumstances": SAS}
    ),
    "sas-saturday-15h-not-extended": Pinned(
        None,
        {"date": "2025-03-08", "time": "15:00", "pdsa_extended": False, "circumstances": SAS},
    ),
    "snp-and-mcg": Pinned(
        "snp_no_cumul", {"circumstances": {"regulated": True, "correspondent": True}}
    ),
    "snp-and-night-majoration": Pinned(
        "snp_no_cumul",
        {
            "time": "20:30",
            "call_time": "20:00",
            "circumstances": {"regulated": True, "emergency": True},
        },
    ),
    # Urgent-care majorations above the opposable rate (sector 1 with DE, OPTAM).
    "snp-sector1-de": Pinned(
        "opposable_only",
        {
            "practitioner": {"sector": "1", "rate": "above"},
            "circumstances": SAS,
            "done": ["consultation", "special_demand"],
        },
    ),
    "mrt-optam-above": Pinned(
        "opposable_only",
        {
            "practitioner": {
                "sector": "2",
                "optam": True,
                "rate": "above",
                "treating_doctor": True,
            },
            "circumstances": SAS,
        },
    ),
    "mop-mtx-sector2": Pinned(
        "sector1_optam_only",
        {"practitioner": {"sector": "2"}, "patient": OLD_MAN, "done": ["consultation", "mis"]},
    ),
    # Dated boundaries: CCP for young men, GS / VGS abolished, VL in palliative care, spirometry.
    "ccp-young-man-2022-03-31": Pinned(
        "ccp_young_men_before_april_2022",
        {
            "date": "2022-03-31",
            "patient": {"birth_date": "2004-05-01", "sex": "m"},
            "done": ["contraception_first"],
        },
    ),
    "ccp-young-man-2022-04-01": Pinned(
        None,
        {
            "date": "2022-04-01",
            "patient": {"birth_date": "2004-05-01", "sex": "m"},
            "done": ["contraception_first"],
        },
    ),
    "gs-2024-12-21": Pinned(
        None,
        {
            "date": "2024-12-21",
            "practitioner": SPECIALIST,
            "done": ["consultation", "DEQP003"],
        },
    ),
    "gs-2024-12-22": Pinned(
        "code_not_in_force",
        {
            "date": "2024-12-22",
            "practitioner": SPECIALIST,
            "done": ["consultation", "DEQP003"],
        },
    ),
    "vl-palliative-2023-11-01": Pinned(
        "vl_palliative_now_vsp",
        {
            **HOME,
            "date": "2023-11-01",
            "practitioner": TREATING,
            "patient": {**OLD_MAN, "palliative": True},
            "done": ["long_visit"],
        },
    ),
    "spirometry-2026": Pinned(None, {"date": "2026-01-02", "done": ["consultation", "GLQP012"]}),
    "spirometry-2025": Pinned(
        "ngap_ccam_no_cumul", {"date": "2025-12-31", "done": ["consultation", "GLQP012"]}
    ),
    # Child exams: the edges of the COE windows (8 days, 10 months), above the rate (COG until
    # 21 Dec 2024, COV from 22 Dec 2024), and age limits.
    "coe-day-8": Pinned(
        "child_exam_window",
        {
            "date": "2025-06-09",
            "patient": {"birth_date": "2025-06-01", "sex": "m"},
            "done": ["child_exam_certificate", "child_exam"],
        },
    ),
    "coe-day-9": Pinned(
        "coe_window",
        {
            "date": "2025-06-10",
            "patient": {"birth_date": "2025-06-01", "sex": "m"},
            "done": ["child_exam_certificate", "child_exam"],
        },
    ),
    "coe-10-months": Pinned(
        "coe_window",
        {
            "date": "2025-04-01",
            "patient": {"birth_date": "2024-06-01", "sex": "f"},
            "done": ["child_exam_certificate", "child_exam"],
        },
    ),
    "cog-sector2-above-2024": Pinned(
        "opposable_only",
        {
            "date": "2024-06-04",
            "practitioner": S2_ABOVE,
            "patient": {"birth_date": "2021-01-15", "sex": "f"},
            "done": ["child_exam"],
        },
    ),
    "cov-sector2-above-2025": Pinned(
        "opposable_only",
        {
            "date": "2025-06-04",
            "practitioner": S2_ABOVE,
            "patient": {"birth_date": "2022-01-15", "sex": "m"},
            "done": ["child_exam"],
        },
    ),
    "cso-at-13": Pinned(
        "cso_age",
        {
            "practitioner": TREATING,
            "patient": {"birth_date": "2012-03-01", "sex": "f"},
            "done": ["cso"],
        },
    ),
    "cso-not-by-the-treating-doctor": Pinned(
        "cso_treating_doctor",
        {"patient": {"birth_date": "2018-03-01", "sex": "f"}, "done": ["cso"]},
    ),
    "rdv-at-30": Pinned(
        "rdv_age",
        {"patient": {"birth_date": "1995-01-01", "sex": "m"}, "done": ["prevention_checkup"]},
    ),
    # Patient and doctor conditions.
    "imt-without-ald": Pinned(
        "imt_needs_ald", {"practitioner": TREATING, "done": ["mt_registration"]}
    ),
    "apc-without-request": Pinned(
        "apc_needs_mt_request", {"practitioner": SPECIALIST, "done": ["consultant_opinion"]}
    ),
    "apc-seen-recently": Pinned(
        "apc_four_months",
        {
            "practitioner": SPECIALIST,
            "circumstances": {"mt_request": True, "seen_last_4_months": True},
            "done": ["consultant_opinion"],
        },
    ),
    "vsp-not-palliative": Pinned(
        "vsp_palliative", {**HOME, "practitioner": TREATING, "done": ["palliative_visit"]}
    ),
    "gl1-without-discharge": Pinned(
        "gl1_discharge",
        {
            "date": "2026-03-03",
            "practitioner": TREATING,
            "patient": OLD_MAN,
            "done": ["long_consultation_discharge"],
        },
    ),
    "smear-for-a-man": Pinned(
        "cervical_sample_women", {"patient": OLD_MAN, "done": ["consultation", "JKHD001"]}
    ),
    "iud-for-a-man": Pinned("act_for_other_sex", {"patient": OLD_MAN, "done": ["JKLD001"]}),
    # Cumulation (burn_alone and teleexpertise_alone each restate one_main_act: K9 and RQD are
    # main acts, so only dropping both changes the answer).
    "burn-and-consultation": Pinned(
        ("one_main_act", "burn_alone"), {"done": ["burn_small", "consultation"]}
    ),
    "tele-expertise-and-teleconsultation": Pinned(
        ("one_main_act", "teleexpertise_alone"),
        {"place": "tele", "done": ["tele_expertise_request", "teleconsultation"]},
    ),
    "two-certificates": Pinned(
        "one_certificate_coefficient",
        {
            "done": [
                "consultation",
                "certificate_work_accident_light",
                "certificate_work_accident_serious",
            ]
        },
    ),
    "three-technical-acts": Pinned("ccam_two_acts", {"done": ["DEQP003", "QZHA001", "ALQP003"]}),
    # CCAM acts of the official table and the CCAM modifiers (modificateurs_ccam.lp).
    "cervix-biopsy-for-a-man": Pinned(
        "act_for_other_sex", {"patient": OLD_MAN, "done": ["JKHA002"]}
    ),
    "hearing-screening-at-4": Pinned(
        "age_too_old", {"patient": {"birth_date": "2021-01-01", "sex": "f"}, "done": ["CDRP002"]}
    ),
    "hearing-screening-at-2": Pinned(
        None, {"patient": {"birth_date": "2023-01-01", "sex": "m"}, "done": ["CDRP002"]}
    ),
    "nasal-packing-m-at-home": Pinned(
        "ccam_modifier_m_office",
        {"place": "home", "circumstances": {"emergency": True}, "done": ["GABD002"]},
    ),
    "nasal-packing-m-not-urgent": Pinned("ccam_modifier_urgency", {"done": ["GABD002"]}),
    "suture-22h30-not-s": Pinned(
        "ccam_modifier_s_hours",
        {"time": "22:30", "circumstances": {"emergency": True}, "done": ["QZJA002"]},
    ),
    "suture-01h30-not-p": Pinned(
        "ccam_modifier_p_hours",
        {"time": "01:30", "circumstances": {"emergency": True}, "done": ["QZJA002"]},
    ),
    "suture-weekday-not-f": Pinned(
        "ccam_modifier_f_day", {"circumstances": {"emergency": True}, "done": ["QZJA002"]}
    ),
    "suture-sunday-night-one-urgency": Pinned(
        "ccam_modifier_one_urgency",
        {
            "date": "2025-03-09",
            "time": "22:30",
            "circumstances": {"emergency": True},
            "done": ["QZJA002"],
        },
    ),
    "suture-night-u-not-gp": Pinned(
        "ccam_modifier_u_not_gp",
        {"time": "22:30", "circumstances": {"emergency": True}, "done": ["QZJA002"]},
    ),
    "modifier-on-consultation": Pinned(
        "ccam_modifier_on_ngap", {"circumstances": {"emergency": True}, "done": ["consultation"]}
    ),
    "ecg-m-not-listed": Pinned(
        "ccam_modifier_not_listed", {"circumstances": {"emergency": True}, "done": ["DEQP003"]}
    ),
    "ecg-at-home-mu-and-p": Pinned(
        "ccam_modifier_with_mu",
        {
            **HOME,
            "time": "22:30",
            "call_time": "22:00",
            "circumstances": {"emergency": True, "left_at_once": True},
            "done": ["visit", "DEQP003"],
        },
    ),
    "ecg-and-biopsy": Pinned(
        "ngap_ccam_no_cumul", {"done": ["consultation", "DEQP003", "QZHA001"]}
    ),
    "smear-at-66": Pinned(
        "ngap_ccam_no_cumul",
        {"patient": {"birth_date": "1959-03-05", "sex": "f"}, "done": ["consultation", "JKHD001"]},
    ),
    # Night, Sunday and duty.
    "mu-at-night": Pinned(
        "mu_no_time_majoration",
        {
            **HOME,
            "time": "23:00",
            "call_time": "22:30",
            "circumstances": {"left_at_once": True, "emergency": True},
            "done": ["visit"],
        },
    ),
    "mhp-and-mu-on-sunday": Pinned(
        "mhp_no_other_time_majoration",
        {**HOME, "date": "2025-03-09", "circumstances": {"left_at_once": True}, "done": ["visit"]},
    ),
    "night-visit-called-by-day": Pinned(
        "night_call",
        {
            **HOME,
            "time": "23:00",
            "call_time": "18:00",
            "circumstances": {"emergency": True},
            "done": ["visit"],
        },
    ),
    "vrs-saturday-afternoon-duty": Pinned(
        "duty_period",
        {
            **HOME,
            "date": "2025-03-08",
            "time": "15:00",
            "circumstances": {"regulated_duty": True, "home_justified": True},
            "done": ["visit"],
        },
    ),
    # Trips: later patient of a household, second patient in an EHPAD.
    "household-second-patient": Pinned(
        "trip_later_patient_consultation", {**HOME, "trip": "household_2_3", "done": ["visit"]}
    ),
    "ehpad-second-patient": Pinned(
        "travel_once_per_trip",
        {
            **HOME,
            "place": "institution",
            "trip": "ehpad_2_3",
            "travel": {"ik_distance": True, "km": 12},
            "done": ["visit"],
        },
    ),
}


def _pinned(case: Pinned) -> Encounter:
    data: dict[str, Any] = {
        "date": "2025-03-05",
        "time": "10:00",
        "call_time": "09:00",
        "place": "office",
        "pdsa_extended": True,
        "practitioner": {"sector": "1", "rate": "opposable"},
        "patient": ADULT,
        "done": ["consultation"],
    }
    return Encounter.model_validate(data | case.encounter)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_encounters_agree(nomenclature: Nomenclature, name: str) -> None:
    """Hand-picked encounters on the boundaries of the rules (hours, dates, ages, rates)."""
    case = PINNED[name]
    enc = _pinned(case)
    ctx = nomenclature.context(enc)
    assert all(isinstance(v, str) for v in ctx.values.values())
    model = build(ctx, enc.date, nomenclature.catalogue)
    pc = model.solutions()
    if case.rules:
        kept = [r for r in model.rules if r.rule not in case.rules]
        without = Model(model.situation, model.codes, kept)
        assert without.solutions() != pc, f"{name} does not exercise {case.rules}"
    result = nomenclature.enumerate(enc, limit=100_000)
    asp = frozenset(frozenset(c.codes) for c in result.cotations)
    assert asp == pc, _report(nomenclature, Comparison(enc, asp, pc))
