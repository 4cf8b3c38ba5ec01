"""The closed vocabulary shared by the encounter model and the rule base.

Every input the rule base can see is a *context dimension*: a name and a finite set of values,
exactly one of which holds (``ctx(Dimension, Value)`` in ASP).  An encounter fixes some
dimensions; the ones it leaves unknown stay open choices for the solver.  Because the set is
closed and small, the rule base is grounded once for every possible encounter.

Nothing here is a legal rule: these are only the words the rules are written with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ngap.model.ccam_table import act_codes, official_labels

YES_NO: Final = ("yes", "no")

DAY_TYPES: Final = ("weekday", "saturday", "sunday", "holiday")
"""Day of the act: Monday-Friday, Saturday, Sunday, French public holiday (holiday wins)."""

HOUR_BANDS: Final = (
    "h00_06",
    "h06_07",
    "h07_08",
    "h08_12",
    "h12_14",
    "h14_19",
    "h19_20",
    "h20_21",
    "h21_24",
)
"""Time of the act, cut at every hour a rule mentions (NGAP art. 14: 20h, 0h, 6h, 8h; SHE 19h-21h;
PDSA Saturday afternoon from 12h, 14h by some regional orders)."""

PLACES: Final = ("office", "home", "institution", "tele")
"""Where the act happened: the doctor's office, the patient's home, an institution (EHPAD,
nursing home...), or at a distance (teleconsultation, tele-expertise)."""

SPECIALTIES: Final = ("gp", "gp_specialist")
"""gp: médecin généraliste (SNDS specialty 1); gp_specialist: spécialiste qualifié en médecine
générale (SNDS 22, 23), who may use the GS/VGS/CS/VS letters and bill APC."""

SECTORS: Final = ("s1", "s2_optam", "s2")
"""Convention sector: 1, 2 with OPTAM / OPTAM-CO, 2 without OPTAM (and 1 DP, treated as 2)."""

RATES: Final = ("opposable", "above")
"""Whether the doctor bills at the opposable rate or above it (dépassement)."""

SEXES: Final = ("f", "m")

ZONES: Final = ("metro", "drom")

DEPARTMENTS: Final = {
    "971": "guadeloupe",
    "972": "martinique",
    "973": "guyane",
    "974": "reunion",
    "976": "mayotte",
}
"""The five overseas departments (DROM) by INSEE number, and the name their per-department
tariffs carry in codes.yaml (``zone:``)."""

DEPARTMENT_VALUES: Final = ("none", "unknown", *(f"d{n}" for n in DEPARTMENTS))
"""The department dimension: ``none`` in metropolitan France, ``unknown`` for an overseas
encounter that does not name its department (per-department amounts then stay unknown),
``d971`` ... ``d976``."""

EXAM_WINDOWS: Final = ("coe", "mandatory", "none")
"""Where the child's age falls in the calendar of the 20 mandatory child examinations in force on
the date (CSP art. R.2132-1; arrêté 26 Feb 2019; arrêté 14 Nov 2024): a certificate exam window
(COE), another mandatory exam window, or none."""

TRIPS: Final = ("single", "household_2_3", "household_4plus", "institution_next", "ehpad_2_3")
"""Rank of this patient in a trip that sees several patients (NGAP general provisions art. 13):
single patient; 2nd or 3rd patient of one household; 4th and later of a household; a later
patient in one institution; 2nd or 3rd patient in an EHPAD (three VG + MD since 21 Feb 2020)."""

FLAGS: Final = {
    "emergency": "Genuine emergency justified by the patient's state (NGAP art. 14).",
    "regulated": "Act requested by the SAS / centre 15 regulator (NGAP art. 14.1.3, 14.1).",
    "regulated_duty": "Act done by the doctor on regulated out-of-hours duty (PDSA, CSP R.6315-1).",
    "sas_within_24h": "Home visit made within 24 h of the SAS regulator's request.",
    "left_at_once": "The GP interrupted consultations and left at once (NGAP art. 14-1).",
    "correspondent": "Seen as correspondent in the coordinated pathway, with a report to the "
    "médecin traitant (NGAP art. 2 bis).",
    "mt_request": "Explicit request of the médecin traitant for a one-off consultant opinion "
    "(NGAP art. 18).",
    "seen_last_4_months": "The consultant saw the patient in the previous 4 months (NGAP art. 18).",
    "fast_referral": "The médecin traitant obtained the patient a correspondent appointment within "
    "48 h (4 days from 1 Jan 2026).",
    "home_justified": "Home visit justified by a medico-administrative, clinical or social "
    "criterion (NGAP art. 14-2, 2002 agreement).",
    "ald": "Patient exempted from co-payment for a long-term condition (ALD).",
    "ald_neuro": "ALD for a neurodegenerative disease.",
    "palliative": "Patient in palliative care (CSP L.1110-10).",
    "discharge_30d": "Within 30 days of a discharge after surgery or a chronic decompensation "
    "(MSH).",
    "discharge_heart_failure": "Within 2 months of a discharge for heart-failure "
    "decompensation (MIC).",
    "discharge_45d": "Within 45 days of a hospital discharge (GL1).",
    "has_treating_doctor": "The patient has declared a médecin traitant.",
    "new_treating_doctor": "This visit is the first one of a new médecin traitant (VL case d).",
    "unable_to_move": "The patient cannot move for a medical reason.",
    "mountain": "The patient's home or the practice is in a mountain zone (loi Montagne).",
    "ik_distance": "The trip is outside the doctor's town and beyond the IK allowance (2 km plain, "
    "1 km mountain).",
    "on_foot_or_ski": "The trip had to be made on foot or on skis.",
    "burn_face_hands": "The burn is on the face or the hands.",
    "multiple_recent_trauma": "The technical acts treat several recent traumatic lesions (CCAM "
    "art. III-3 B 2 b: three acts at 100 / 75 / 50 %).",
    "different_limbs": "The surgical acts are on different limbs, or the trunk / head and a limb "
    "(CCAM art. III-3 B 2 a: the cheaper at 75 %).",
    "treating": "The doctor is the patient's médecin traitant.",
    "pdsa_extended": "The regional PDSA order extends duty hours to Saturday afternoon and bridge "
    "days (CSP R.6315-1: 'en fonction des besoins'); unknown unless stated.",
}
"""Yes/no circumstances.  Each may be given or left unknown."""

ACTIVITIES: Final = {
    "consultation": "Clinical consultation at the office (or in an institution).",
    "visit": "Home visit.",
    "teleconsultation": "Video teleconsultation.",
    "tele_expertise_request": "Tele-expertise, requesting doctor.",
    "tele_expertise_answer": "Tele-expertise, requested doctor.",
    "consultant_opinion": "One-off consultant opinion at the médecin traitant's request (APC).",
    "child_exam_certificate": "Child examination giving rise to a health certificate (COE).",
    "child_exam": "Another of the mandatory child examinations.",
    "contraception_first": "First contraception and sexual-health consultation (CCP).",
    "cso": "Complex consultation: child 3-12 at risk of obesity (CSO, billed CCX).",
    "cse": "Complex consultation: yearly follow-up of a child with autism (CSE, billed CCX).",
    "ase": "Complex consultation ASE (billed CCX).",
    "cte": "Very complex consultation: autism screening (CTE, billed CCE).",
    "mph": "Very complex consultation: first MDPH file (MPH, billed CCE).",
    "mis": "Initial information on a cancer or serious neurological disease (MIS, billed MTX).",
    "piv": "Initial care of an HIV infection (PIV, billed MTX).",
    "long_visit": "Long home visit of the médecin traitant (VL).",
    "palliative_visit": "Palliative-care home visit of the médecin traitant (VSP).",
    "mt_registration": "First consultation registering the doctor as médecin traitant of an ALD "
    "patient (IMT).",
    "long_consultation_discharge": "Long consultation, patient 80+, after discharge (GL1).",
    "long_consultation_deprescribing": "Long consultation, patient 80+, deprescribing (GL2).",
    "long_consultation_medicosocial": "Long consultation, patient 80+, medico-social file (GL3).",
    "prevention_checkup": "Prevention check-up at a key age (RDV).",
    "certificate_work_accident_light": "Final work-accident certificate, light sequelae (K0.7).",
    "certificate_work_accident_serious": "Final work-accident certificate, serious sequelae (K1).",
    "burn_small": "Burn dressing, under 10 cm2 (K9).",
    "burn_large": "Burn dressing, over 10 % of the body surface (K16).",
    "special_demand": "The patient imposed an exceptional time or place (DE).",
}
"""What the doctor did, in NGAP terms.  CCAM technical acts are named by their CCAM code."""

CCAM_ACTS: Final = act_codes()
"""CCAM acts a GP bills that the rule base knows (every act of the official table
``ngap/model/data/ccam_gp.csv``); also valid as activities in ``done``."""

CCAM_LABELS: Final = official_labels()
"""Official French label of each CCAM act (its latest version read)."""

CCAM_SUPPLEMENT_ACTIVITY: Final = {"YYYY490": "DEQP003"}
"""A CCAM supplement is performed when its main act is performed at the patient's home."""


KM_BITS: Final = 9
"""Billable kilometres for IK reach the rule base in binary (km_bit(0..8): up to 511 km), so that
the objective weighs a per-km line by its distance without one atom per possible distance."""


@dataclass(frozen=True, order=True)
class AgeThreshold:
    """An age limit used by a rule: ``months`` full months, or ``days`` for the first weeks.

    ASP sees it as ``d(N)``, ``m(N)`` or ``y(N)``; ``age_ge(T)`` holds when the patient is at least
    that old on the day of the act.
    """

    months: int
    days: int = 0

    @property
    def symbol_name(self) -> str:
        if self.days:
            return f"d{self.days}"
        if self.months % 12 == 0:
            return f"y{self.months // 12}"
        return f"m{self.months}"


def _y(years: int) -> AgeThreshold:
    return AgeThreshold(months=12 * years)


AGE_THRESHOLDS: Final = (
    AgeThreshold(0, 9),  # COE 1: within the 8 days after birth
    AgeThreshold(8),  # COE 2 from 8 months
    AgeThreshold(10),  # COE 2 until the day before 10 months
    AgeThreshold(23),  # COE 3 from 23 months
    AgeThreshold(25),  # COE 3 until the day before 25 months
    _y(3),  # CSO from 3 years
    _y(6),  # MEG, COD under 6; COB from 6
    _y(13),  # CSO up to 12 inclusive
    _y(17),  # COB: last mandatory exam between 15 and 16 years
    _y(18),  # RDV 18-25
    _y(25),  # JKHD001 screening 25-65
    _y(26),  # CCP up to 25 years 364 days; RDV 18-25
    _y(45),  # RDV 45-50
    _y(51),
    _y(60),  # RDV 60-65
    _y(66),  # JKHD001 screening up to 65
    _y(70),  # RDV 70-75
    _y(75),  # home-visit justification: 75+ with ALD
    _y(76),
    _y(80),  # VL, MOP, GL, social justification of a home visit
)
"""Every age limit the rules use.  The age bands are the intervals between them."""


def age_band_names() -> tuple[str, ...]:
    """Band ``a0`` is below the first threshold; band ``aN`` starts at threshold N."""
    return tuple(f"a{i}" for i in range(len(AGE_THRESHOLDS) + 1))


@dataclass(frozen=True)
class Dimension:
    name: str
    values: tuple[str, ...]
    doc: str


def static_dimensions() -> list[Dimension]:
    """Every dimension except the era, whose values come from the tariff data."""
    dims = [
        Dimension("zone", ZONES, "Metropolitan France or an overseas department (DROM)."),
        Dimension(
            "department", DEPARTMENT_VALUES, "Overseas department (per-department tariffs)."
        ),
        Dimension("day", DAY_TYPES, "Kind of day of the act."),
        Dimension("bridge", YES_NO, "Monday before or Friday/Saturday after a public holiday."),
        Dimension("hour", HOUR_BANDS, "Time band of the act."),
        Dimension("call", ("night", "day"), "Call to the doctor between 19h and 7h, or not."),
        Dimension("place", PLACES, "Place of the act."),
        Dimension("specialty", SPECIALTIES, "Practitioner's specialty."),
        Dimension("sector", SECTORS, "Practitioner's convention sector."),
        Dimension("rate", RATES, "Billing at the opposable rate or above."),
        Dimension("sex", SEXES, "Patient's sex."),
        Dimension("age", age_band_names(), "Patient's age band on the day of the act."),
        Dimension("exam_window", EXAM_WINDOWS, "Child examination calendar window."),
        Dimension("trip", TRIPS, "Rank of the patient in a several-patient trip."),
    ]
    dims += [Dimension(flag, YES_NO, doc) for flag, doc in FLAGS.items()]
    dims += [
        Dimension(f"km_bit_{i}", YES_NO, f"Bit {i} of the billable km.") for i in range(KM_BITS)
    ]
    dims += [Dimension(f"done:{a}", YES_NO, doc) for a, doc in ACTIVITIES.items()]
    dims += [Dimension(f"done:{c}", YES_NO, f"CCAM act {c} performed.") for c in CCAM_ACTS]
    return dims
