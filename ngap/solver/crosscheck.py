"""An independent cross-check of the rule base: the same NGAP rules, written again with
python-constraint.

Why it exists.  The clingo rule base (``ngap/asp_rules/*.lp``) is the product; a mistake in it
(a missing ``not``, a rule id absent from ``rules.yaml`` so never in force, a choice rule that
lets a code through, a grounding surprise) silently changes which cotations are valid.  This
module is a second, deliberately plain model of the same rules: the .lp files were read as a
specification and every rule was written again here as a constraint over one 0/1 variable per
billable code.  It shares only the DATA with the rule base (``codes.yaml`` for which code exists
on a date, ``rules.yaml`` for the period each rule is in force) and the closed vocabulary
(``ngap/model/vocabulary.py``); it never runs clingo and never parses an .lp file.
``tests/test_crosscheck.py`` compares both engines on thousands of generated encounters.

What it covers.  Validity only: for one encounter whose context is fully known (every dimension
of ``Context.values`` fixed to one value), :func:`valid_cotations` returns every set of billed
codes (refined codes such as CSO or MIS are never billed) that breaks no rule in force on the day.
Prices, half rates and the objective of ``billing.lp`` are out of scope (no rule's validity
depends on an amount).  Each topic file of the rule base has one function here, in the same
order, with the rule ids in comments; where this model departs from the .lp file on purpose
(because the legal source says otherwise), the comment says so and cites the source.

The generic conditions of ``actes_base.lp`` (what must be performed, where, by which specialty,
on which base act) are declared by the topic functions and emitted once at the end, as in ASP
where several declarations for one code are alternatives.  :func:`explain` lists the rules a
given cotation breaks here, to compare with ``Nomenclature.check`` when the engines disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from constraint import FunctionConstraint, Problem

from ngap.model.catalogue import Catalogue, load_catalogue
from ngap.model.context import Context
from ngap.model.vocabulary import (
    AGE_THRESHOLDS,
    CCAM_LABELS,
    AgeThreshold,
    static_dimensions,
)

Cotation = frozenset[str]
Test = Callable[..., bool]
"""A constraint's test: receives the 0/1 value of each of its codes, True when satisfied."""

# --- code families (the words of the .lp files) ---------------------------------------------
CONSULTATION_LETTERS = ("G", "GS", "C", "CS")
VISIT_LETTERS = ("VG", "VGS", "V", "VS")
TELE_LETTERS = ("TCG", "TC")
BASE_LETTERS = CONSULTATION_LETTERS + VISIT_LETTERS + TELE_LETTERS
OVERRUN_LETTERS = ("C", "CS", "V", "VS", "TC")
"""Letters of a sector 2 non-OPTAM doctor above the rate (no SNP, MRT, MUT, MSH, MIC, MOP)."""
SNP_BASE = tuple(c for c in BASE_LETTERS if c not in OVERRUN_LETTERS)
ADDON_ACTS = ("K0.7", "K1", "K9/2", "K16/2")
BURN_ACTS = ("K9", "K16")
TIME_MAJORATIONS = ("MN", "MM", "F")
DUTY_CONSULTATION = ("CRN", "CRM", "CRD", "CRS")
DUTY_VISIT = ("VRN", "VRM", "VRD", "VRS")
DUTY_MAJORATIONS = DUTY_CONSULTATION + DUTY_VISIT
MD_CODES = ("MD", "MDN", "MDI", "MDD", "MDM")
IK_CODES = ("IK", "IKM", "IKS")
TRAVEL = (*MD_CODES, *IK_CODES, "ID")
CHILD_EXAMS = ("COE", "COD", "COB", "COG", "COV", "COA")
VISIT_ACTS = (
    *VISIT_LETTERS,
    "APV",
    "VL",
    "VSP",
    "CCE",
    "GL1",
    "GL2",
    "GL3",
    *CHILD_EXAMS,
)
"""Acts done at the patient's home that MD is added to (visites_deplacements.lp)."""
OPPOSABLE_ONLY = (
    "COE",
    "COD",
    "COB",
    "CCP",
    "CCX",
    "CCE",
    "IMT",
    "GL1",
    "GL2",
    "GL3",
    "MHP",
    "RDV",
    "RQD",
    "TE2",
    "VSP",
    "VL",
)
URGENT_OPPOSABLE_ONLY = ("SNP", "MUT", "MRT", "MCU", "MSH")
"""Majorations whose consultation is billed at the opposable rate in every sector (seed SRP-IMG
2023; MSH: CPAM 2013); see secteur_tarif()."""

NIGHT_BANDS = frozenset({"h20_21", "h21_24", "h00_06", "h06_07", "h07_08"})
MN_BANDS = frozenset({"h20_21", "h21_24", "h06_07", "h07_08"})
MORNING_BANDS = frozenset({"h00_06", "h06_07", "h07_08", "h08_12"})


class ContextNotFixed(ValueError):
    """The cross-check needs every context dimension fixed to one value."""


# ============================================================================ the situation
class Situation:
    """The fixed context of one encounter and the notions the rules are written with
    (``context.lp``), computed again here from the context values."""

    def __init__(self, values: Mapping[str, object], day: dt.date, catalogue: Catalogue):
        names = ["era", *(d.name for d in static_dimensions())]
        loose = [n for n in names if not isinstance(values.get(n), str)]
        if loose:
            raise ContextNotFixed(f"context dimensions not fixed: {', '.join(loose)}")
        self.values: dict[str, str] = {n: str(values[n]) for n in names}
        self.day = day
        self.catalogue = catalogue

    def __getitem__(self, dim: str) -> str:
        return self.values[dim]

    def holds(self, flag: str) -> bool:
        return self.values[flag] == "yes"

    def done(self, activity: str) -> bool:
        return self.values.get(f"done:{activity}") == "yes"

    # --- date: codes.yaml and rules.yaml periods -------------------------------------------
    def exists(self, code: str) -> bool:
        return self.catalogue.codes[code].billable_on(self.day)

    def in_force(self, rule: str) -> bool:
        info = self.catalogue.rules.get(rule)
        # A rule the catalogue does not date is the law on every day.  (clingo would never
        # enforce it: ``in_force`` needs a ``rule_period`` fact; the cross-check shows it.)
        return info is None or info.start <= self.day <= info.end

    # --- age (vocabulary thresholds; band aN = N thresholds reached) -------------------------
    def age_ge(self, years: int = 0, months: int = 0, days: int = 0) -> bool:
        threshold = AgeThreshold(months=12 * years + months, days=days)
        position = AGE_THRESHOLDS.index(threshold)
        return int(self.values["age"][1:]) > position

    # --- time of day (NGAP art. 14) and PDSA hours (CSP R.6315-1) ----------------------------
    @cached_property
    def night(self) -> bool:
        return self["hour"] in NIGHT_BANDS

    @cached_property
    def mn_hours(self) -> bool:
        return self["hour"] in MN_BANDS

    @cached_property
    def mm_hours(self) -> bool:
        return self["hour"] == "h00_06"

    @cached_property
    def sunday_or_holiday(self) -> bool:
        return self["day"] in ("sunday", "holiday")

    @cached_property
    def afternoon(self) -> bool:
        return not self.night and self["hour"] not in MORNING_BANDS

    @cached_property
    def pdsa_hours(self) -> bool:
        """Every night, Sundays and public holidays; Saturday afternoon and bridge days only
        where the regional order extends duty to them (``pdsa_extended``)."""
        return self.night or self.sunday_or_holiday or self.saturday_afternoon_or_bridge

    @cached_property
    def saturday_afternoon_or_bridge(self) -> bool:
        saturday = self["day"] == "saturday" and self.afternoon
        bridge = self.holds("bridge") and not self.night and not self.sunday_or_holiday
        return self.holds("pdsa_extended") and (saturday or bridge)

    @cached_property
    def ordinary_evening_20_21(self) -> bool:
        """20h-21h on a day whose duty period starts at 20h (the night), not earlier: not a
        Sunday or holiday, nor a Saturday or bridge day whose afternoon is already duty."""
        extended_day = self.holds("pdsa_extended") and (
            self["day"] == "saturday" or self.holds("bridge")
        )
        return self["hour"] == "h20_21" and not self.sunday_or_holiday and not extended_day

    @cached_property
    def hours_19_21(self) -> bool:
        return self["hour"] in ("h19_20", "h20_21")

    # --- several patients in one trip (NGAP general provisions art. 13) ----------------------
    @cached_property
    def later_patient(self) -> bool:
        return self["trip"] not in ("single", "ehpad_2_3")

    @cached_property
    def s2_above(self) -> bool:
        return self["sector"] == "s2" and self["rate"] == "above"


# ============================================================================ the model
@dataclass(frozen=True)
class Rule:
    """One constraint of the model: ``test`` over the 0/1 values of ``codes``."""

    rule: str
    codes: tuple[str, ...]
    test: Test


def _never(billed: int) -> bool:
    return not billed


def _not_both(a: int, b: int) -> bool:
    return not (a and b)


def _implies_any(head: int, *alternatives: int) -> bool:
    return not head or any(alternatives)


def _alone(code: int, *others: int) -> bool:
    return not code or not any(others)


def _at_most(k: int) -> Test:
    def test(*billed: int) -> bool:
        return sum(billed) <= k

    return test


@dataclass
class Model:
    """The constraints of one situation, built by the topic functions below."""

    situation: Situation
    codes: tuple[str, ...]
    rules: list[Rule] = field(default_factory=list)
    needs_done: dict[str, set[str]] = field(default_factory=dict)
    allowed_place: dict[str, set[str]] = field(default_factory=dict)
    needs_specialty: dict[str, set[str]] = field(default_factory=dict)
    attaches: dict[str, set[str]] = field(default_factory=dict)

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {c: self.situation.catalogue.codes[c].kind for c in self.codes}

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(c for c in self.codes if self.kinds[c] == kind)

    @cached_property
    def main_acts(self) -> tuple[str, ...]:
        """NGAP acts that count as the session's main act (art. 11 B): not the add-on K lines."""
        return tuple(c for c in self.of_kind("act") if c not in ADDON_ACTS)

    @cached_property
    def clinical_acts(self) -> tuple[str, ...]:
        """The 'consultation ou visite' of CCAM art. III-3 A: main acts except burn dressings."""
        return tuple(c for c in self.main_acts if c not in BURN_ACTS)

    # --- adding constraints (only rules in force on the day) --------------------------------
    def add(self, rule: str, codes: Sequence[str], test: Test) -> None:
        if self.situation.in_force(rule):
            self.rules.append(Rule(rule, tuple(codes), test))

    def forbid(self, rule: str, code: str, when: bool = True) -> None:
        """Unary: ``code`` is not billed when ``when`` holds (a condition on the context)."""
        if when:
            self.add(rule, (code,), _never)

    def exclude(self, rule: str, a: str, b: str) -> None:
        """``a`` and ``b`` are not billed together."""
        self.add(rule, (a, b), _not_both)

    def at_most(self, rule: str, codes: Sequence[str], k: int) -> None:
        self.add(rule, codes, _at_most(k))

    def requires_any(self, rule: str, code: str, others: Iterable[str]) -> None:
        """``code`` is billed only with at least one of ``others``."""
        self.add(rule, (code, *others), _implies_any)

    # --- generic declarations, emitted by finish() ------------------------------------------
    def declare(self, table: dict[str, set[str]], codes: Iterable[str], *items: str) -> None:
        for code in codes:
            table.setdefault(code, set()).update(items)

    def finish(self) -> None:
        sit = self.situation
        for code, activities in self.needs_done.items():
            performed = any(sit.done(a) for a in activities)
            # NGAP general provisions art. 13: a later patient of a household or institution trip
            # is visited but billed a consultation.
            if code in CONSULTATION_LETTERS and sit.later_patient and sit.done("visit"):
                performed = True
            # A consultant opinion (NGAP art. 18 B) given by a GP who may not bill APC / APV is
            # the consultation or visit that took place (G / VG, and MCG on a consultation).
            opinion = sit.done("consultant_opinion") and sit["specialty"] == "gp"
            if code in (*CONSULTATION_LETTERS, *VISIT_LETTERS, "MCG") and opinion:
                performed = True
            # Rule act_not_performed: a code is billed for an act that was not performed.
            self.forbid("act_not_performed", code, not performed)
        for code, places in self.allowed_place.items():
            # NGAP general provisions art. 13: a later patient of a household or institution
            # trip is a consultation wherever the doctor is (not at a distance).
            later = code in CONSULTATION_LETTERS and sit.later_patient and sit["place"] != "tele"
            # Rule wrong_place: the code is not billable at this place.
            self.forbid("wrong_place", code, sit["place"] not in places and not later)
        for code, specialties in self.needs_specialty.items():
            # Rule wrong_specialty: the code is reserved to another specialty.
            self.forbid("wrong_specialty", code, sit["specialty"] not in specialties)
        for code, bases in sorted(self.attaches.items()):
            # Rule majoration_without_base: a majoration only on top of one of its base acts.
            self.requires_any("majoration_without_base", code, sorted(bases))

    # --- solving -----------------------------------------------------------------------------
    def problem(self) -> Problem:
        problem = Problem()
        problem.addVariables(list(self.codes), [0, 1])
        for r in self.rules:
            problem.addConstraint(FunctionConstraint(r.test), list(r.codes))
        return problem

    def solutions(self) -> frozenset[Cotation]:
        return frozenset(
            frozenset(c for c, billed in sol.items() if billed)
            for sol in self.problem().getSolutions()
        )

    def broken(self, billed: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        """The rules a given cotation breaks (for explanations and disagreement reports)."""
        chosen = set(billed)
        out = []
        for r in self.rules:
            if not r.test(*(int(c in chosen) for c in r.codes)):
                out.append((r.rule, tuple(c for c in r.codes if c in chosen)))
        return out


# ============================================================================ topic files
def existence(m: Model) -> None:
    """existence.lp: codes in force on the day (codes.yaml), MMG never on its own."""
    for code in m.codes:
        # Rule code_not_in_force: the code is not in the nomenclature on that date.
        m.forbid("code_not_in_force", code, not m.situation.exists(code))
    # Rule mmg_inside_g: G = C + MMG (convention 2016, avenant 2): MMG is never written alone.
    m.forbid("mmg_inside_g", "MMG")


def actes_base(m: Model) -> None:
    """actes_base.lp: consultations, visits, teleconsultations; the generic conditions; one main
    act per session (NGAP general provisions art. 11 B); several patients in one trip (art. 13)."""
    sit = m.situation
    m.declare(m.needs_done, CONSULTATION_LETTERS, "consultation")
    m.declare(m.needs_done, VISIT_LETTERS, "visit")
    m.declare(m.needs_done, TELE_LETTERS, "teleconsultation")
    m.declare(m.allowed_place, CONSULTATION_LETTERS, "office")
    m.declare(m.allowed_place, VISIT_LETTERS, "home", "institution")
    m.declare(m.allowed_place, TELE_LETTERS, "tele")
    # Rule specialist_letter (wrong_specialty): CS, GS, VS, VGS for specialists in general
    # medicine (SNJMG 2022; SRP-IMG 2023).
    m.declare(m.needs_specialty, ("GS", "VGS", "CS", "VS"), "gp_specialist")
    # Rule one_main_act: a consultation or visit with another main act in one session; the two
    # burn dressings K9 and K16 together are an art. 11 B association (K9 at 50 %).
    m.at_most("one_main_act", m.clinical_acts, 1)
    for code in m.clinical_acts:
        for burn in BURN_ACTS:
            m.exclude("one_main_act", code, burn)
    # Rule ngap_third_act: a third act with a letter key is not paid (art. 11 B).
    m.at_most("ngap_third_act", ("K9", "K16", "K9/2", "K16/2"), 2)
    for code in VISIT_LETTERS:
        # Rule trip_later_patient_consultation: only the trip's first patient gets a visit.
        m.forbid("trip_later_patient_consultation", code, sit.later_patient)
    for code in m.main_acts:
        # Rule household_two_more: at most two consultations beyond the visit in a household.
        m.forbid("household_two_more", code, sit["trip"] == "household_4plus")


def secteur_tarif(m: Model) -> None:
    """secteur_tarif.lp: letters by convention sector, OPTAM and rate (convention 2016 art. 38-40,
    39.1; ameli 28 Nov 2024; NGAP art. 2 bis)."""
    sit = m.situation
    convention_rate = ["G", "GS", "VG", "VGS", "TCG", "MCG", "MRT", "SNP", "MUT", "MSH", "MIC"]
    convention_rate += ["SHE", "MVR", "MOP", "MTX"]
    for code in convention_rate:
        # Rule opposable_rate_letter: not for sector 2 non-OPTAM billing above the rate.
        m.forbid("opposable_rate_letter", code, sit.s2_above)
    for code in (*OVERRUN_LETTERS, "COG", "COV", "COA"):
        # Rule overrun_letter: the letters of sector 2 non-OPTAM above the rate, only there.
        m.forbid("overrun_letter", code, not sit.s2_above)
    for code in OPPOSABLE_ONLY:
        # Rule opposable_only: opposable rate only, whatever the sector.
        m.forbid("opposable_only", code, sit["rate"] == "above")
    for code in URGENT_OPPOSABLE_ONLY:
        # Rule opposable_only, for the urgent-care and discharge majorations in every sector:
        # seed SRP-IMG 2023 (Assurance Maladie) says SNP "À tarif opposable" (art. 14.1.3) and,
        # for MUT, MCU and MRT, "Médecins tous secteurs d'exercice ... Consultation facturée à
        # tarif opposable"; MSH "only with a consultation at tarif opposable" (CPAM note
        # CCAM-NGAP 1 Jul 2013, in notes/base-codes.md).
        m.forbid("opposable_only", code, sit["rate"] == "above")
    for code in ("MOP", "MTX"):
        # Rule sector1_optam_only: MOP, MIS/PIV for sector 1 and OPTAM doctors.
        m.forbid("sector1_optam_only", code, sit["sector"] == "s2")
    # DE: patient's special demand, on the main act (base letters, main acts that are not
    # opposable-only), billed above the rate.
    m.declare(m.needs_done, ["DE"], "special_demand")
    de_bases = set(BASE_LETTERS) | {c for c in m.main_acts if c not in OPPOSABLE_ONLY}
    m.declare(m.attaches, ["DE"], *de_bases)
    # Rule de_needs_overrun: DE marks an overrun, never at the opposable rate.
    m.forbid("de_needs_overrun", "DE", sit["rate"] == "opposable")
    if sit["sector"] == "s1" and sit["rate"] == "above":
        for code in m.main_acts:
            # Rule sector1_overrun_needs_de: sector 1 above the rate only with DE.
            m.requires_any("sector1_overrun_needs_de", code, ["DE"])


def majorations_enfant_coordination(m: Model) -> None:
    """majorations_enfant_coordination.lp: MEG, MCG (NGAP art. 2 bis), MOP, APC/APV (art. 18),
    IMT (art. 18.2)."""
    sit = m.situation
    # MEG: child under 6, on a base letter (seed SRP-IMG 2023).
    m.declare(m.attaches, ["MEG"], *BASE_LETTERS)
    m.forbid("age_too_old", "MEG", sit.age_ge(6))
    # MCG: consultation, correspondent in the coordinated pathway, not the médecin traitant.
    m.declare(m.attaches, ["MCG"], "G", "GS")
    m.declare(m.needs_done, ["MCG"], "consultation")
    m.forbid("not_for_treating_doctor", "MCG", sit.holds("treating"))
    # Rule mcg_needs_coordination: a correspondent, or a consultant opinion asked by the
    # médecin traitant (NGAP art. 18 B: explicit request, report back).
    coordinated = sit.holds("correspondent") or (
        sit.holds("mt_request") and sit.done("consultant_opinion")
    )
    m.forbid("mcg_needs_coordination", "MCG", not coordinated)
    # MOP: 80 and over, not the médecin traitant (from 1 Jan 2024: codes.yaml).
    m.declare(m.attaches, ["MOP"], *SNP_BASE)
    m.forbid("age_too_young", "MOP", not sit.age_ge(80))
    m.forbid("not_for_treating_doctor", "MOP", sit.holds("treating"))
    # APC (office) / APV (home): consultant opinion of a specialist in general medicine.
    m.declare(m.needs_done, ["APC", "APV"], "consultant_opinion")
    m.declare(m.allowed_place, ["APC"], "office")
    m.declare(m.allowed_place, ["APV"], "home")
    m.declare(m.needs_specialty, ["APC", "APV"], "gp_specialist")
    for code in ("APC", "APV"):
        m.forbid("not_for_treating_doctor", code, sit.holds("treating"))
        # Rule apc_needs_mt_request: at the explicit request of the médecin traitant.
        m.forbid("apc_needs_mt_request", code, not sit.holds("mt_request"))
        # Rule apc_four_months: not seen by the consultant in the previous 4 months.
        m.forbid("apc_four_months", code, sit.holds("seen_last_4_months"))
    # IMT: first consultation as médecin traitant of a patient in ALD.
    m.declare(m.needs_done, ["IMT"], "mt_registration")
    m.declare(m.allowed_place, ["IMT"], "office")
    # Rule imt_needs_ald.
    m.forbid("imt_needs_ald", "IMT", not sit.holds("ald"))


def examens_enfant(m: Model) -> None:
    """examens_enfant.lp: COE (NGAP art. 14.9) and the other mandatory child exams."""
    sit = m.situation
    m.declare(m.needs_done, ["COE"], "child_exam_certificate")
    m.declare(m.needs_done, [c for c in CHILD_EXAMS if c != "COE"], "child_exam")
    m.declare(m.allowed_place, CHILD_EXAMS, "office", "home")
    # Rule coe_window: COE in one of its three age windows.
    m.forbid("coe_window", "COE", sit["exam_window"] != "coe")
    for code in CHILD_EXAMS[1:]:
        # Rule child_exam_window: the others at the age of a mandatory exam.
        m.forbid("child_exam_window", code, sit["exam_window"] != "mandatory")
    for code in ("COD", "COG", "COV"):
        m.forbid("age_too_old", code, sit.age_ge(6))
    for code in ("COB", "COA"):
        m.forbid("age_too_young", code, not sit.age_ge(6))
    for code in CHILD_EXAMS:
        # Rule meg_in_child_exam: the child exam code includes MEG.
        m.exclude("meg_in_child_exam", "MEG", code)


def consultations_complexes(m: Model) -> None:
    """consultations_complexes.lp: CCP, CCX, CCE, MTX, VL (NGAP art. 15.2.3), VSP, GL1-3, RDV."""
    sit = m.situation
    # CCP: first contraception consultation, up to 25 years inclusive.
    m.declare(m.needs_done, ["CCP"], "contraception_first")
    m.declare(m.allowed_place, ["CCP"], "office")
    m.forbid("age_too_old", "CCP", sit.age_ge(26))
    # Rule ccp_young_men_before_april_2022 (rules.yaml: until 31 Mar 2022).
    m.forbid("ccp_young_men_before_april_2022", "CCP", sit["sex"] == "m")
    # Rule ccp_no_mcg.
    m.exclude("ccp_no_mcg", "CCP", "MCG")

    # CCX: CSO, CSE, ASE.
    m.declare(m.needs_done, ["CCX"], "cso", "cse", "ase")
    m.declare(m.allowed_place, ["CCX"], "office")
    cso_only = sit.done("cso") and not sit.done("cse") and not sit.done("ase")
    # Rule cso_age: a child from 3 to 12 inclusive.
    m.forbid("cso_age", "CCX", cso_only and (not sit.age_ge(3) or sit.age_ge(13)))
    # Rule cso_treating_doctor: the médecin traitant, or anyone when none is declared.
    cso_by_other = not sit.holds("treating") and sit.holds("has_treating_doctor")
    m.forbid("cso_treating_doctor", "CCX", cso_only and cso_by_other)
    # CCE: CTE, MPH.
    m.declare(m.needs_done, ["CCE"], "cte", "mph")
    m.declare(m.allowed_place, ["CCE"], "office", "home")
    # Rule mph_before_april_2022 (rules.yaml: until 31 Mar 2022).
    m.forbid("mph_before_april_2022", "CCE", sit.done("mph") and not sit.done("cte"))
    for code in ("CCX", "CCE"):
        # Rule complex_no_meg_mcg.
        m.exclude("complex_no_meg_mcg", code, "MEG")
        m.exclude("complex_no_meg_mcg", code, "MCG")
    # MTX: MIS, PIV on a consultation.
    m.declare(m.needs_done, ["MTX"], "mis", "piv")
    m.declare(m.attaches, ["MTX"], "G", "GS")

    # VL: long home visit of the médecin traitant.
    m.declare(m.needs_done, ["VL"], "long_visit")
    m.declare(m.allowed_place, ["VL"], "home")
    ald, over_80 = sit.holds("ald"), sit.age_ge(80)
    newcomer = sit.holds("new_treating_doctor") and sit.holds("unable_to_move")
    case_d = newcomer and (ald or over_80)
    vl_case = sit.holds("ald_neuro") or (ald and over_80) or case_d
    # Rule treating_doctor_only: cases (a) and (c) by the médecin traitant; case (d) is the first
    # visit of the doctor the patient is about to declare (seed SRP-IMG 2023, VL d).
    m.forbid("treating_doctor_only", "VL", not sit.holds("treating") and not case_d)
    palliative = sit.holds("palliative")
    # Rule vl_patient: one of the VL cases (or palliative care).
    m.forbid("vl_patient", "VL", not vl_case and not palliative)
    # Rule vl_palliative_now_vsp (from 1 Nov 2023): the palliative visit is VSP.
    m.forbid("vl_palliative_now_vsp", "VL", palliative and not vl_case)
    # VSP: palliative-care home visit of the médecin traitant.
    m.declare(m.needs_done, ["VSP"], "palliative_visit")
    m.declare(m.allowed_place, ["VSP"], "home")
    m.forbid("treating_doctor_only", "VSP", not sit.holds("treating"))
    # Rule vsp_palliative.
    m.forbid("vsp_palliative", "VSP", not palliative)

    # GL1, GL2, GL3: long consultations of the médecin traitant, 80 and over.
    activities = {
        "GL1": "long_consultation_discharge",
        "GL2": "long_consultation_deprescribing",
        "GL3": "long_consultation_medicosocial",
    }
    for code, activity in activities.items():
        m.declare(m.needs_done, [code], activity)
        m.declare(m.allowed_place, [code], "office", "home")
        m.forbid("treating_doctor_only", code, not sit.holds("treating"))
        m.forbid("age_too_young", code, not over_80)
    # Rule gl1_discharge: within 45 days of a hospital discharge.
    m.forbid("gl1_discharge", "GL1", not sit.holds("discharge_45d"))

    # RDV: prevention check-up at 18-25, 45-50, 60-65, 70-75.
    m.declare(m.needs_done, ["RDV"], "prevention_checkup")
    m.declare(m.allowed_place, ["RDV"], "office")
    bands = ((18, 26), (45, 51), (60, 66), (70, 76))
    in_band = any(sit.age_ge(low) and not sit.age_ge(high) for low, high in bands)
    # Rule rdv_age.
    m.forbid("rdv_age", "RDV", not in_band)


def visites_deplacements(m: Model) -> None:
    """visites_deplacements.lp: MD and its forms, MDM, IK/IKM/IKS, ID (NGAP general provisions
    art. 13, art. 14-2)."""
    sit = m.situation
    m.declare(m.attaches, MD_CODES, *VISIT_ACTS)
    m.declare(m.allowed_place, MD_CODES, "home", "institution")
    justified = (
        sit.holds("home_justified")
        or (sit.holds("ald") and sit.age_ge(75))
        or sit.holds("ald_neuro")
        or sit.holds("palliative")
        or sit.age_ge(80)
        # clinical criterion: incapacity of locomotion (seed SNJMG 2022, "raisons cliniques")
        or sit.holds("unable_to_move")
    )
    for code in MD_CODES:
        # Rule md_needs_justified_visit: MD only for a justified home visit.
        m.forbid("md_needs_justified_visit", code, not justified)
    # Rule one_travel_majoration: one MD form, one IK form.
    m.at_most("one_travel_majoration", MD_CODES, 1)
    m.at_most("one_travel_majoration", IK_CODES, 1)
    # Rule md_night_hours: MDN in MN hours, MDI in MM hours, MDD on Sunday / holiday.
    m.forbid("md_night_hours", "MDN", not sit.mn_hours)
    m.forbid("md_night_hours", "MDI", not sit.mm_hours)
    m.forbid("md_night_hours", "MDD", not sit.sunday_or_holiday)
    for code in ("MDN", "MDI", "MDD"):
        # Rule md_night_urgency: an emergency, as for MN/MM/F.
        m.forbid("md_night_urgency", code, not sit.holds("emergency"))
    for code in ("MD", "MDN", "MDI", "MDD"):
        for time_code in TIME_MAJORATIONS:
            # Rule md_night_not_with_time_majoration: the night / Sunday travel forms already
            # carry the art. 14 majoration (VG + MDN, never VG + MN + MDN nor VG + MN + MD).
            m.exclude("md_night_not_with_time_majoration", code, time_code)
    # Rule mdm_mountain (from 1 Jan 2026): MDM in a mountain zone, MD elsewhere.
    m.forbid("mdm_mountain", "MDM", not sit.holds("mountain"))
    m.forbid("mdm_mountain", "MD", sit.holds("mountain"))

    m.declare(m.attaches, IK_CODES, *MD_CODES, "MU", "ID")
    mountain, on_foot = sit.holds("mountain"), sit.holds("on_foot_or_ski")
    for code in IK_CODES:
        # Rule ik_distance: outside the town and beyond the allowance.
        m.forbid("ik_distance", code, not sit.holds("ik_distance"))
    # Rule ik_kind: IKM in a mountain zone, IKS on foot or skis, IK otherwise.
    m.forbid("ik_kind", "IKM", not mountain or on_foot)
    m.forbid("ik_kind", "IKS", not on_foot)
    m.forbid("ik_kind", "IK", mountain or on_foot)
    for code in TRAVEL:
        # Rule travel_once_per_trip: travel is paid once per trip ...
        m.forbid("travel_once_per_trip", code, sit.later_patient)
    for code in IK_CODES:
        # ... and in an EHPAD, three VG + MD but IK once.
        m.forbid("travel_once_per_trip", code, sit["trip"] == "ehpad_2_3")

    # ID: flat travel allowance for a technical or K act at home, never with a visit or MD.
    m.declare(m.attaches, ["ID"], *m.of_kind("ccam"), *BURN_ACTS)
    m.declare(m.allowed_place, ["ID"], "home", "institution")
    for code in (*VISIT_ACTS, *MD_CODES):
        # Rule id_not_with_visit.
        m.exclude("id_not_with_visit", "ID", code)


def majorations_nuit(m: Model) -> None:
    """majorations_nuit.lp: MN, MM, F (NGAP art. 14) and MHP (NGAP art. 22-4)."""
    sit = m.situation
    m.declare(m.attaches, TIME_MAJORATIONS, *BASE_LETTERS, "VL", "VSP", "COD", "COB", "COE", "APC")
    # Rule night_hours: MN 20h-24h and 6h-8h, MM 0h-6h.
    m.forbid("night_hours", "MN", not sit.mn_hours)
    m.forbid("night_hours", "MM", not sit.mm_hours)
    for code in ("MN", "MM", "MDN", "MDI"):
        # Rule night_call: the call came between 19h and 7h (art. 14: every majoration of a night
        # act, the night travel forms MDN, MDI included).
        m.forbid("night_call", code, sit["call"] != "night")
    # Rule sunday_holiday: F on a Sunday or public holiday.
    m.forbid("sunday_holiday", "F", not sit.sunday_or_holiday)
    # Rule one_time_majoration.
    m.at_most("one_time_majoration", TIME_MAJORATIONS, 1)
    for code in TIME_MAJORATIONS:
        # Rules urgency_justified (until 21 Dec 2024) and genuine_emergency (from 22 Dec 2024).
        m.forbid("urgency_justified", code, not sit.holds("emergency"))
        m.forbid("genuine_emergency", code, not sit.holds("emergency"))
        # Rule not_on_regulated_duty: the duty majorations replace them.
        m.forbid("not_on_regulated_duty", code, sit.holds("regulated_duty"))
    for code in ("MDN", "MDI", "MDD"):
        # ... and the night / Sunday travel forms ("hors garde régulée": seed SNJMG 2022).
        m.forbid("not_on_regulated_duty", code, sit.holds("regulated_duty"))
    # MHP: non-urgent, non-regulated act in PDSA hours.
    m.declare(m.attaches, ["MHP"], *BASE_LETTERS)
    # Rule mhp_pdsa_hours.
    m.forbid("mhp_pdsa_hours", "MHP", not sit.pdsa_hours)
    # Rule mhp_not_urgent_not_regulated.
    urgent_or_regulated = any(sit.holds(f) for f in ("emergency", "regulated", "regulated_duty"))
    m.forbid("mhp_not_urgent_not_regulated", "MHP", urgent_or_regulated)
    for code in (*TIME_MAJORATIONS, "MU"):
        # Rule mhp_no_other_time_majoration (MU answers an urgent request: not with MHP either).
        m.exclude("mhp_no_other_time_majoration", "MHP", code)


def permanence_soins(m: Model) -> None:
    """permanence_soins.lp: regulated duty CRN/CRM/CRD/CRS, VRN/VRM/VRD/VRS (convention 2016
    art. 28.2 and PDSA annex; avenant 27; CSP R.6315-1)."""
    sit = m.situation
    m.declare(m.attaches, DUTY_CONSULTATION, *CONSULTATION_LETTERS, *TELE_LETTERS)
    m.declare(m.attaches, DUTY_VISIT, *VISIT_LETTERS)
    for code in DUTY_MAJORATIONS:
        # Rule regulated_duty_only.
        m.forbid("regulated_duty_only", code, not sit.holds("regulated_duty"))
    # Rule duty_period.
    for code in ("CRN", "VRN"):
        m.forbid("duty_period", code, not sit.mn_hours)
    for code in ("CRM", "VRM"):
        m.forbid("duty_period", code, not sit.mm_hours)
    for code in ("CRD", "VRD"):
        m.forbid("duty_period", code, not sit.sunday_or_holiday or sit.night)
    for code in ("CRS", "VRS"):
        m.forbid("duty_period", code, not sit.saturday_afternoon_or_bridge)
    # Rule one_duty_majoration.
    m.at_most("one_duty_majoration", DUTY_MAJORATIONS, 1)
    # Rule duty_replaces_urgency: not with MN/MM/F, MHP, MU, nor (visits) the MD forms.
    for duty in DUTY_MAJORATIONS:
        for other in (*TIME_MAJORATIONS, "MHP", "MU"):
            m.exclude("duty_replaces_urgency", duty, other)
    for duty in DUTY_VISIT:
        for other in MD_CODES:
            m.exclude("duty_replaces_urgency", duty, other)


def soins_non_programmes(m: Model) -> None:
    """soins_non_programmes.lp: SNP, SHE (NGAP art. 14.1.3), MRT, MUT, MCU, MVR, MU (art. 14-1)."""
    sit = m.situation
    # SNP: not the médecin traitant, patient sent by the regulator, outside PDSA hours.
    m.declare(m.attaches, ["SNP"], *SNP_BASE)
    m.forbid("not_for_treating_doctor", "SNP", sit.holds("treating"))
    # Rule snp_regulated.
    m.forbid("snp_regulated", "SNP", not sit.holds("regulated"))
    # Rule snp_outside_pdsa: except 20h-21h once the SHE hours are in force (22 Dec 2024), on an
    # evening whose duty period begins at 20h (décision UNCAM 29 Oct 2024, NGAP art. 14.1.3: SHE
    # for the SAS act between 19h and 21h): not a Sunday or holiday, nor a Saturday or bridge
    # day whose afternoon the regional order already puts on duty.
    she_hour = sit.ordinary_evening_20_21 and sit.in_force("she_hours")
    m.forbid("snp_outside_pdsa", "SNP", sit.pdsa_hours and not she_hour)
    # Rule snp_no_cumul.
    for other in ("MCG", "MU", "MRT", "MUT", "MHP", "CCX", "CCE", *TIME_MAJORATIONS):
        m.exclude("snp_no_cumul", "SNP", other)
    for other in DUTY_MAJORATIONS:
        m.exclude("snp_no_cumul", "SNP", other)
    # SHE: on SNP or MRT between 19h and 21h.
    m.declare(m.attaches, ["SHE"], "SNP", "MRT")
    # Rule she_hours (from 22 Dec 2024).
    m.forbid("she_hours", "SHE", not sit.hours_19_21)
    m.exclude("snp_no_cumul", "SHE", "MHP")
    # MRT: the médecin traitant at the regulator's request.
    m.declare(m.attaches, ["MRT"], *SNP_BASE)
    m.forbid("treating_doctor_only", "MRT", not sit.holds("treating"))
    # Rule mrt_regulated.
    m.forbid("mrt_regulated", "MRT", not sit.holds("regulated"))
    # Rule mrt_no_cumul.
    for other in ("MU", "MCG", "MUT", "MCU", *TIME_MAJORATIONS, *DUTY_MAJORATIONS):
        m.exclude("mrt_no_cumul", "MRT", other)
    # MUT: the médecin traitant obtains a correspondent appointment within the delay.
    # On consultations and visits (VL included), complex and very complex consultations
    # (espace-ace 2018 quoting convention 2016).
    m.declare(m.attaches, ["MUT"], *SNP_BASE, "CCX", "CCE", "VL")
    m.forbid("treating_doctor_only", "MUT", not sit.holds("treating"))
    # Rule mut_fast_referral.
    m.forbid("mut_fast_referral", "MUT", not sit.holds("fast_referral"))
    for other in DUTY_MAJORATIONS:
        # Rule mut_not_on_duty.
        m.exclude("mut_not_on_duty", "MUT", other)
    # MCU: the correspondent specialist seen within 48 h.
    # On the specialist's consultation or visit, APC, complex and very complex consultations
    # (espace-ace 2018); G / VG once GS and VGS are abolished (convention 2024, 22 Dec 2024).
    mcu_bases = ["GS", "CS", "VGS", "VS", "APC", "CCX", "CCE"]
    if not sit.exists("GS"):
        mcu_bases += ["G", "VG"]
    m.declare(m.attaches, ["MCU"], *mcu_bases)
    m.declare(m.needs_specialty, ["MCU"], "gp_specialist")
    m.forbid("not_for_treating_doctor", "MCU", sit.holds("treating"))
    # Rule mcu_fast_referral.
    m.forbid(
        "mcu_fast_referral",
        "MCU",
        not sit.holds("fast_referral") or not sit.holds("correspondent"),
    )
    # MVR: home visit within 24 h of the SAS request (from 1 Jan 2026).
    m.declare(m.attaches, ["MVR"], "VG")
    # Rule mvr_sas_24h.
    m.forbid("mvr_sas_24h", "MVR", not sit.holds("sas_within_24h") or not sit.holds("regulated"))
    # MU: the GP left at once (art. 14-1), on a visit.
    m.declare(m.attaches, ["MU"], *VISIT_LETTERS)
    # Rule mu_left_at_once.
    m.forbid("mu_left_at_once", "MU", not sit.holds("left_at_once"))
    for other in TIME_MAJORATIONS:
        # Rule mu_no_time_majoration.
        m.exclude("mu_no_time_majoration", "MU", other)


def sortie_hospitalisation(m: Model) -> None:
    """sortie_hospitalisation.lp: MSH, MIC (convention 2016 art. 28.3), GL1 from 2026."""
    sit = m.situation
    for code in ("MSH", "MIC"):
        m.declare(m.attaches, [code], *(c for c in SNP_BASE if c not in TELE_LETTERS))
        m.forbid("treating_doctor_only", code, not sit.holds("treating"))
    # Rule msh_discharge: within 30 days of a qualifying discharge.
    m.forbid("msh_discharge", "MSH", not sit.holds("discharge_30d"))
    # Rule mic_discharge: within 2 months of a heart-failure discharge.
    m.forbid("mic_discharge", "MIC", not sit.holds("discharge_heart_failure"))
    # Rule msh_or_mic.
    m.exclude("msh_or_mic", "MSH", "MIC")
    for code in ("MSH", "MIC"):
        # Rule one_per_stay_gl1 (from 1 Jan 2026).
        m.exclude("one_per_stay_gl1", "GL1", code)


def lettre_k(m: Model) -> None:
    """lettre_k.lp: final work-accident certificate G + K0.7 / K1; burns K9, K16 (+ half act)."""
    sit = m.situation
    m.declare(m.needs_done, ["K0.7"], "certificate_work_accident_light")
    m.declare(m.needs_done, ["K1"], "certificate_work_accident_serious")
    m.declare(m.attaches, ["K0.7", "K1"], "G", "GS")
    # Rule one_certificate_coefficient.
    m.exclude("one_certificate_coefficient", "K0.7", "K1")
    m.declare(m.needs_done, ["K9", "K9/2"], "burn_small")
    m.declare(m.needs_done, ["K16", "K16/2"], "burn_large")
    m.declare(m.allowed_place, BURN_ACTS, "office", "home", "institution")
    m.declare(m.attaches, ["K9/2"], "K9")
    m.declare(m.attaches, ["K16/2"], "K16")
    for code in ("K9/2", "K16/2"):
        # Rule burn_face_hands.
        m.forbid("burn_face_hands", code, not sit.holds("burn_face_hands"))
    for burn in BURN_ACTS:
        for letter in BASE_LETTERS:
            # Rule burn_alone: the burn dressing without a consultation.
            m.exclude("burn_alone", burn, letter)


def cumul_ngap_ccam(m: Model) -> None:
    """cumul_ngap_ccam.lp: CCAM livre III art. III-3 A (consultation and technical act) and B
    (several technical acts); décision UNCAM 17 Dec 2013 (biopsies); convention 2024 annex 22."""
    sit = m.situation
    ccam = m.of_kind("ccam")
    for code in ccam:
        m.declare(m.needs_done, [code], code)
    m.declare(m.needs_done, ["YYYY490"], "DEQP003")
    clinical = m.clinical_acts
    facts = sit.catalogue.ccam
    # The ten biopsies of the décision UNCAM of 17 Dec 2013 are data (ccam.yaml, class biopsy).
    biopsies = {c for c, k in facts.cumul.items() if k == "biopsy"}
    screening = sit["sex"] == "f" and sit.age_ge(25) and not sit.age_ge(66)
    spirometry = sit["rate"] == "opposable" and sit.in_force("spirometry_full_rate")

    # Rule ngap_ccam_no_cumul: a technical act is not added to a consultation or visit, except
    # the ECG alone (not with CCP), the smear in HAS screening, the ten biopsies, and from
    # 1 Jan 2026 the spirometry at the opposable rate (not with APC).
    for act in ccam:
        if act in biopsies:
            continue
        if act == "DEQP003":
            partners = tuple(c for c in clinical if c != "CCP")
            others = tuple(c for c in ccam if c != act)
            m.add("ngap_ccam_no_cumul", (act, *clinical, *others), _ecg_cumul(clinical, partners))
            continue
        if act == "JKHD001" and screening:
            continue
        partners = ()
        if act == "GLQP012" and spirometry:
            partners = tuple(c for c in clinical if c != "APC")
        m.add("ngap_ccam_no_cumul", (act, *clinical), _cumul(clinical, partners))
    # Rule ccam_two_acts: at most two technical acts in one session; three when every one is a
    # surgical act (the sutures) for multiple recent traumatic lesions (art. III-3 B 2 b).
    surgery = {
        code
        for code, label in CCAM_LABELS.items()
        if label.startswith(("Parage et/ou suture", "Suture de plaie"))
    }
    trauma = sit.holds("multiple_recent_trauma")
    is_surgery = [code in surgery for code in ccam]

    def acts_paid(*billed: int) -> bool:
        count = sum(billed)
        only_surgery = all(s for s, b in zip(is_surgery, billed, strict=True) if b)
        return count <= 2 or (count <= 3 and trauma and only_surgery)

    m.add("ccam_two_acts", ccam, acts_paid)
    # YYYY490: the ECG at the patient's home.
    m.declare(m.attaches, ["YYYY490"], "DEQP003")
    m.declare(m.allowed_place, ["YYYY490"], "home", "institution")
    # Rule cervical_sample_women.
    m.forbid("cervical_sample_women", "JKHD001", sit["sex"] == "m")
    # Rule act_for_other_sex: acts on one sex's anatomy (CCAM labels; data in ccam.yaml).
    for code, sex in facts.sex.items():
        m.forbid("act_for_other_sex", code, sit["sex"] != sex)
    # Technical acts are done in person (a teleconsultation is no technical act).
    m.declare(m.allowed_place, ccam, "office", "home", "institution")
    # Rule age_too_old for the acts whose CCAM label sets an age (CDRP002: under 3).
    for code, threshold in facts.age_below.items():
        m.forbid("age_too_old", code, sit.age_ge(**_threshold(threshold)))


def _threshold(name: str) -> dict[str, int]:
    """``y3`` -> years=3, ``m8`` -> months=8, ``d9`` -> days=9 (vocabulary symbol names)."""
    unit = {"y": "years", "m": "months", "d": "days"}[name[0]]
    return {unit: int(name[1:])}


URGENCY_LETTERS = ("U", "F", "P", "S")
P_BANDS = frozenset({"h20_21", "h21_24"})
S_BANDS = frozenset({"h00_06", "h06_07", "h07_08"})


def modificateurs_ccam(m: Model) -> None:
    """modificateurs_ccam.lp: CCAM art. III-2 (décision UNCAM 27 Sep 2017: urgency, U, P, S; F
    and M of the modifier table), art. III-3 A (never on NGAP acts), NGAP art. 14-1 (MU)."""
    sit = m.situation
    facts = sit.catalogue.ccam
    ccam = m.of_kind("ccam")
    modifiers = m.of_kind("ccam_modifier")
    for mod in modifiers:
        letter = facts.letters[mod]
        # Rule ccam_modifier_on_ngap: a CCAM act must be billed.
        m.requires_any("ccam_modifier_on_ngap", mod, ccam)
        # Rule ccam_modifier_not_listed: one billed CCAM act lists the letter on the day.
        listing = [letter in facts.listed_on(act, sit.day) for act in ccam]
        m.add("ccam_modifier_not_listed", (mod, *ccam), _listed(listing))
        # Rule ccam_modifier_urgency.
        m.forbid("ccam_modifier_urgency", mod, not sit.holds("emergency"))
        if letter == "M":
            # Rule ccam_modifier_m_office.
            m.forbid("ccam_modifier_m_office", mod, sit["place"] != "office")
        if letter == "P":
            # Rule ccam_modifier_p_hours: 20h-0h.
            m.forbid("ccam_modifier_p_hours", mod, sit["hour"] not in P_BANDS)
        if letter == "S":
            # Rule ccam_modifier_s_hours: 0h-8h.
            m.forbid("ccam_modifier_s_hours", mod, sit["hour"] not in S_BANDS)
        if letter == "F":
            # Rule ccam_modifier_f_day: Sunday or public holiday.
            m.forbid("ccam_modifier_f_day", mod, not sit.sunday_or_holiday)
        if letter == "U":
            # Rule ccam_modifier_u_not_gp: every practitioner here is a GP.
            m.forbid("ccam_modifier_u_not_gp", mod, sit["specialty"] in ("gp", "gp_specialist"))
        # Rule ccam_modifier_with_mu.
        m.exclude("ccam_modifier_with_mu", mod, "MU")
    urgency = [mod for mod in modifiers if facts.letters[mod] in URGENCY_LETTERS]
    for i, a in enumerate(urgency):
        for b in urgency[i + 1 :]:
            # Rule ccam_modifier_one_urgency: U, F, P, S exclusive.
            m.exclude("ccam_modifier_one_urgency", a, b)


def _listed(listing: Sequence[bool]) -> Test:
    """Test over (modifier, *CCAM acts): with a CCAM act billed, one billed act lists it."""

    def test(mod: int, *acts: int) -> bool:
        if not mod or not any(acts):
            return True
        return any(b and ok for b, ok in zip(acts, listing, strict=True))

    return test


def _cumul(clinical: Sequence[str], partners: Sequence[str]) -> Test:
    """Test over (act, *clinical): with a clinical act, one of ``partners`` must be billed."""
    allowed = [c in partners for c in clinical]

    def test(act: int, *acts: int) -> bool:
        if not act or not any(acts):
            return True
        return any(b and ok for b, ok in zip(acts, allowed, strict=True))

    return test


def _ecg_cumul(clinical: Sequence[str], partners: Sequence[str]) -> Test:
    """Test over (DEQP003, *clinical, *other CCAM acts): the ECG with a consultation only when
    it is the only technical act."""
    n = len(clinical)
    with_partner = _cumul(clinical, partners)

    def test(ecg: int, *rest: int) -> bool:
        acts, technical = rest[:n], rest[n:]
        if not ecg or not any(acts):
            return True
        return not any(technical) and with_partner(ecg, *acts)

    return test


def teleexpertise(m: Model) -> None:
    """teleexpertise.lp: RQD, TE2 billed alone (avenant 6; convention 2024)."""
    m.declare(m.needs_done, ["RQD"], "tele_expertise_request")
    m.declare(m.needs_done, ["TE2"], "tele_expertise_answer")
    m.declare(m.allowed_place, ["RQD", "TE2"], "tele")
    for code in ("RQD", "TE2"):
        # Rule teleexpertise_alone: no other act nor majoration.
        m.add("teleexpertise_alone", (code, *(c for c in m.codes if c != code)), _alone)


TOPICS: tuple[Callable[[Model], None], ...] = (
    existence,
    actes_base,
    secteur_tarif,
    majorations_enfant_coordination,
    examens_enfant,
    consultations_complexes,
    visites_deplacements,
    majorations_nuit,
    permanence_soins,
    soins_non_programmes,
    sortie_hospitalisation,
    lettre_k,
    cumul_ngap_ccam,
    modificateurs_ccam,
    teleexpertise,
)


# ============================================================================ public API
def build(
    context: Context, day: dt.date | None = None, catalogue: Catalogue | None = None
) -> Model:
    """The constraint model of one fully known context (``day`` defaults to the era's start)."""
    catalogue = catalogue or load_catalogue()
    situation = Situation(context.values, day or context.era.start, catalogue)
    billable = tuple(sorted(c for c, info in catalogue.codes.items() if info.kind != "refined"))
    model = Model(situation, billable)
    for topic in TOPICS:
        topic(model)
    model.finish()
    return model


def valid_cotations(
    context: Context, day: dt.date | None = None, catalogue: Catalogue | None = None
) -> frozenset[Cotation]:
    """Every valid cotation (set of billed codes) of a fully known context."""
    return build(context, day, catalogue).solutions()


def explain(
    context: Context,
    billed: Iterable[str],
    day: dt.date | None = None,
    catalogue: Catalogue | None = None,
) -> list[tuple[str, tuple[str, ...]]]:
    """The rules of the cross-check a cotation breaks, with the billed codes involved."""
    return build(context, day, catalogue).broken(billed)
