"""Rules across encounters: frequency limits, sequences and trips, over the whole audited input.

Why a separate pass: one encounter cannot see that the same patient had a VL earlier in the
quarter, that the practitioner billed a twenty-first SNP this week, or that three patients of one
household were each billed a visit.  These rules read the per-line table of every audited
encounter (``parts/lines-*.parquet``, columns ``columns.LINE_COLUMNS``) and return one finding per
window in breach, naming the encounters involved and the ones billed beyond the limit.

Why plain SQL: the same query text runs in DuckDB on one machine and in Spark SQL on a cluster
(SNDS extracts live in Spark), so the two can never disagree on the law.  The query is written in
the subset both engines accept; only the definition of the view ``lines`` differs per engine (the
integer day number).

Each rule is catalogued in ``ngap/model/data/rules.yaml`` (article, source, period, messages);
its period is read from there, so only lines dated inside the rule's period count.  All rules run
as one query (``findings_sql``): every rule turns lines into event rows of one shape, and one
ranking flags, per window, the encounters beyond the limit; ``FrequencyRule.sql`` is the same
query for one rule alone.

Codes are the normalised codes of the claim: refined codes (CSO, CSE, CTE, MPH...) are billed
under their aggregate (CCX, CCE).  The rules on a refined code read the optional ``record``
column (the refined code kept in the record, as the per-encounter result keeps it); without that
column they find nothing.
"""

from __future__ import annotations

import glob as globbing
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ngap.model.catalogue import FAR_FUTURE, FAR_PAST, KnowledgeBaseError, load_catalogue
from ngap.model.child_exams import (
    CALENDAR_2025,
    COE_WINDOWS,
    MANDATORY_2019,
    MANDATORY_2025,
    Window,
    exam_windows,
)
from ngap.model.vocabulary import AgeThreshold

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame, SparkSession


FINDINGS_SCHEMA = pa.schema(
    [
        ("rule", pa.string()),
        ("patient_id", pa.string()),
        ("practitioner_id", pa.string()),
        ("code", pa.list_(pa.string())),
        ("first_date", pa.date32()),
        ("last_date", pa.date32()),
        ("count", pa.int64()),
        ("limit", pa.int64()),
        ("encounter_ids", pa.list_(pa.string())),
        ("excess_ids", pa.list_(pa.string())),
        ("excess_cents", pa.int64()),
        ("detail", pa.string()),
    ]
)
"""One finding per window in breach (``count`` > ``limit``), as ``findings.parquet`` holds it.

Why lists: ``code``, ``encounter_ids`` and ``excess_ids`` are lists of values, and an id may hold
any character (``;`` included, in a CSV id or an SNDS key); typed lists keep each id whole for
whoever joins them back to ``encounters.parquet``.  The flat exports (CSV, JSONL) join them with
``;`` (``FINDING_LISTS``), as ``encounters.*`` does for its list columns."""
FINDING_COLUMNS: tuple[str, ...] = tuple(FINDINGS_SCHEMA.names)
"""``patient_id`` / ``practitioner_id`` are null when the window spans several of them (a
household trip, a patient seen by several doctors); ``code`` lists the codes involved (distinct,
sorted); ``encounter_ids`` every encounter of the window and ``excess_ids`` those billed beyond
the limit (sorted; an empty list, never null); ``excess_cents`` is null only when no excess line
was priced."""
FINDING_LISTS: tuple[str, ...] = tuple(
    f.name for f in FINDINGS_SCHEMA if pa.types.is_list(f.type)
)
"""The list columns of a finding: ``list<string>`` in Parquet, ``;``-joined text in CSV and
JSONL."""
FLAT_FINDINGS_SCHEMA = pa.schema(
    [pa.field(f.name, pa.string()) if f.name in FINDING_LISTS else f for f in FINDINGS_SCHEMA]
)
"""``findings.csv`` / ``findings.jsonl``: the list columns as ``;``-joined text."""

_VIEW_COLUMNS: dict[str, str] = {
    "id": "STRING",
    "source": "STRING",
    "patient_id": "STRING",
    "practitioner_id": "STRING",
    "household_id": "STRING",
    "stay_id": "STRING",
    "date": "DATE",
    "code": "STRING",
    "cents": "BIGINT",
    "place": "STRING",
    "age_months": "INT",
    "record": "STRING",
}
"""The columns the rules read; ``record`` (the refined code) is optional in the input."""

_KEYS = ("patient_id", "practitioner_id", "household_id", "stay_id", "record", "place")
"""Text columns where an empty cell means unknown, as in the audit input."""


# ============================================================== code sets of the rule base
def _lp_codes(file: str, predicate: str) -> tuple[str, ...]:
    """The codes of a fact list such as ``visit_letter("VG"; "V").`` in a rule-base file.

    Why: the letter sets (visits, travel fees...) belong to the rule base; reading them keeps the
    per-encounter rules and the rules across encounters on the same lists.
    """
    text = resources.files("ngap.asp_rules").joinpath(file).read_text(encoding="utf-8")
    match = re.search(rf"^{predicate}\(((?:\s*\"[^\"]+\"\s*;?)+)\)\.", text, re.MULTILINE)
    if match is None:
        raise KnowledgeBaseError(f"{file}: no fact list {predicate}(...)")
    return tuple(re.findall(r"\"([^\"]+)\"", match.group(1)))


VISIT_LETTERS = _lp_codes("actes_base.lp", "visit_letter")
TELE_LETTERS = _lp_codes("actes_base.lp", "tele_letter")
TRAVEL_CODES = _lp_codes("visites_deplacements.lp", "travel")
IK_CODES = _lp_codes("visites_deplacements.lp", "ik_code")
_ADDON_ACTS = _lp_codes("actes_base.lp", "addon_act")
MAIN_ACTS = tuple(
    c.code
    for c in load_catalogue().codes.values()
    if c.kind == "act" and c.code not in _ADDON_ACTS
)
"""Codes that make an encounter count as one act of a trip (NGAP acts, not the half / add-on K)."""

TELE_EXPERTISE = ("TE2", "RQD")
CHILD_EXAM_CODES = tuple(
    c for c in _lp_codes("examens_enfant.lp", "child_exam_code") if c != "COE"
)
"""The codes of a mandatory child examination other than COE: COD, COB and their forms above
the opposable rate (COG, COV, COA).  A plain G or G + MEG also bills an ordinary consultation
(and the 1-month visit from 2025), so it never counts as an examination; COE has its own rule."""
RDV_BANDS = ((18, 25), (45, 50), (60, 65), (70, 75))
"""Completed years of the prevention check-up bands (rule rdv_age of the rule base)."""


# ============================================================== SQL building blocks
def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(codes: Sequence[str]) -> str:
    return "(" + ", ".join(_quote(c) for c in codes) + ")"


def _period(rule_id: str, column: str = "e.date") -> str:
    """The rule's period from rules.yaml as a condition (periods are data, not code)."""
    info = load_catalogue().rules[rule_id]
    parts = []
    if info.start > FAR_PAST:
        parts.append(f"{column} >= DATE '{info.start.isoformat()}'")
    if info.end < FAR_FUTURE:
        parts.append(f"{column} <= DATE '{info.end.isoformat()}'")
    return " AND ".join(parts) or "TRUE"


DISCHARGE_CODES = ("MSH", "MIC", "GL1")
_ENCOUNTER_SETS: dict[str, tuple[str, ...]] = {
    "visit": VISIT_LETTERS,
    "act": MAIN_ACTS,
    "travel": TRAVEL_CODES,
    "ik": IK_CODES,
    "discharge": DISCHARGE_CODES,
    "tele": TELE_LETTERS,
    "child_exam": CHILD_EXAM_CODES,
}
"""Code sets counted per encounter: an encounter billing two codes of a set is one act."""


def _encounter_cte() -> str:
    """``enc``: one row per encounter, and for each code set whether, what and how much it bills.

    Why shared: the rules on a set of codes count encounters, not lines; one aggregation serves
    them all (one shuffle on a cluster, not one per rule).
    """
    columns = []
    for name, codes in _ENCOUNTER_SETS.items():
        match = f"code IN {_in(codes)}"
        columns += [
            f"MAX(CASE WHEN {match} THEN 1 ELSE 0 END) AS has_{name}",
            f"MIN(CASE WHEN {match} THEN code END) AS code_{name}",
            f"CAST(SUM(CASE WHEN {match} THEN cents END) AS BIGINT) AS cents_{name}",
        ]
    # An encounter made only of tele-expertise did not see the patient (APC rule).
    columns.append(f"MAX(CASE WHEN code IN {_in(TELE_EXPERTISE)} THEN 0 ELSE 1 END) AS seen")
    columns.append("MAX(CASE WHEN place = 'institution' THEN 1 ELSE 0 END) AS institution")
    listed = ",\n           ".join(columns)
    return f"""enc AS (
    SELECT source, id,
           MIN(patient_id) AS patient_id, MIN(practitioner_id) AS practitioner_id,
           MIN(household_id) AS household_id, MIN(stay_id) AS stay_id, MIN(date) AS date,
           MIN(day) AS day, MIN(age_months) AS age_months,
           {listed}
    FROM lines
    GROUP BY source, id)"""


_NULL_TEXT = "CAST(NULL AS STRING)"


def _events(rule: str, source: str, *, where: str, patient: str = _NULL_TEXT,
            practitioner: str = _NULL_TEXT, code_key: str = _NULL_TEXT, other: str = _NULL_TEXT,
            bucket: str = "0", code: str = "e.code", cents: str = "e.cents", order: str = "0",
            limit: str = "1", base: str = "NULL", context: str = "0") -> str:
    """The canonical event rows: the rule, a window key (k_*, bucket), the encounter, its rank.

    Every argument is an SQL expression (``rule`` a quoted id, or a parameter column).  Why one
    shape: every rule is then "count the events of a window, flag the ones beyond its
    limit", written once in :func:`findings_sql`.  ``context`` (1) marks an encounter that
    belongs to the window without being billed in breach itself (the earlier contacts of an APC).
    """
    return f"""
    SELECT {rule} AS rule, {patient} AS k_patient, {practitioner} AS k_practitioner,
           {code_key} AS k_code, {other} AS k_other, CAST({bucket} AS BIGINT) AS bucket,
           e.source, e.id, e.patient_id, e.practitioner_id, {code} AS code, e.date,
           CAST({cents} AS BIGINT) AS cents, CAST({order} AS INT) AS ord,
           CAST({limit} AS BIGINT) AS lim, CAST({base} AS BIGINT) AS base_n,
           CAST({context} AS INT) AS context
    FROM {source}
    WHERE {where}"""


def _parameters(rows: Sequence[dict[str, str]]) -> str:
    """A small inline table (rows of SQL literals), as SELECTs joined by UNION ALL.

    Why: the rules of one shape share one scan of the lines and read their parameters from
    this table, instead of one scan and one plan branch per rule.
    """
    return "\n        UNION ALL ".join(
        "SELECT " + ", ".join(f"{value} AS {name}" for name, value in row.items())
        for row in rows
    )


def _dates(rule_id: str) -> dict[str, str]:
    """The rule's period from rules.yaml as two date literals (periods are data, not code)."""
    info = load_catalogue().rules[rule_id]
    return {
        "start_date": f"DATE '{info.start.isoformat()}'",
        "end_date": f"DATE '{info.end.isoformat()}'",
    }


_DETAIL_FIELDS = {
    "count": "CAST(COUNT(*) AS STRING)",
    "limit": "CAST(MAX(lim) AS STRING)",
    "excess": "CAST(COUNT(*) - MAX(lim) AS STRING)",
    "first": "CAST(MIN(date) AS STRING)",
    "last": "CAST(MAX(date) AS STRING)",
    "base": "CAST(MAX(base_n) AS STRING)",
}


def _detail_sql(template: str) -> str:
    """A text template with {count}, {limit}, {excess}, {first}, {last}, {base} as SQL."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(_quote(literal))
        if field is not None:
            parts.append(_DETAIL_FIELDS[field])
    return " || ".join(parts)


# ============================================================== the rules
@dataclass(frozen=True)
class Counted:
    """A plain frequency limit read from the lines: what a window is made of.

    A claimed code appears once in an encounter (the claim is normalised), so a line of one code
    is one encounter.  ``column`` is ``record`` for a refined code (CSO...) kept in the record;
    ``bucket`` names the time (or age) slice, a key of ``_BUCKETS``.
    """

    bucket: str = "none"
    per_patient: bool = True
    per_practitioner: bool = False
    per_code: bool = False
    column: str = "code"


@dataclass(frozen=True)
class TripCount:
    """At most ``limit`` encounters of one trip bill a code of a set (``_ENCOUNTER_SETS``).

    ``institution`` is 0 for a household trip, 1 for an institution; ``ordered`` keeps the visit
    first, before the consultations.
    """

    institution: int
    counted: str
    ordered: bool = False


@dataclass(frozen=True)
class FrequencyRule:
    """A rule across encounters: its id (rules.yaml), what it counts, and how.

    ``limit`` is the number allowed per window (None when it depends on the data, as a share).
    A rule is either a :class:`Counted` limit, one or more :class:`TripCount`, or its own
    ``events``: SELECTs of the canonical event rows (see :func:`_events`) over the view
    ``lines`` and the per-encounter table ``enc``.  ``detail`` is the English explanation, with
    {count}, {limit}, {first}... filled in by the query.
    """

    id: str
    codes: tuple[str, ...]
    window: str
    limit: int | None
    detail: str
    counted: Counted | None = None
    trip: tuple[TripCount, ...] = ()
    events: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        """This rule's findings on their own (the same query shape as all rules together)."""
        return findings_sql((self,))


def _month_span(window: tuple[AgeThreshold, AgeThreshold]) -> tuple[int, int]:
    """The completed months a child can have inside an age window [low, high).

    Why: the lines carry the age in completed months only; a window in days (the first 8 days)
    lies inside month 0, whatever the month's length.
    """
    low, high = window
    first = low.days // 31 if low.days else low.months
    last = (high.days - 1) // 28 if high.days else high.months - 1
    return first, last


def _band_case(spans: Sequence[tuple[int, int]]) -> str:
    """CASE giving the 1-based index of the span of completed months ``age_months`` falls in."""
    whens = " ".join(
        f"WHEN e.age_months BETWEEN {lo} AND {hi} THEN {i}"
        for i, (lo, hi) in enumerate(spans, start=1)
    )
    return f"CASE {whens} END"


_YEAR = "year(e.date)"
_BUCKETS: dict[str, str] = {
    "none": "0",
    "year": _YEAR,
    "quarter": "year(e.date) * 4 + quarter(e.date)",
    # Monday-based week: day 0 (1 Jan 1970) is a Thursday, so day + 3 counts from a Monday.
    "week": "FLOOR((e.day + 3) / 7)",
    "coe_window": _band_case([_month_span(w) for w in COE_WINDOWS]),
    "rdv_band": _band_case([(lo * 12, hi * 12 + 11) for lo, hi in RDV_BANDS]),
}
"""Time or age slices of a frequency limit; null (outside every band) means not counted."""


def _counted(rule_id: str, codes: Sequence[str], window: str, limit: int, detail: str,
             **how: Any) -> FrequencyRule:
    counted = Counted(**how)
    if len(codes) > 1 and not counted.per_code:
        raise ValueError(f"{rule_id}: several codes in one window count encounters, not lines")
    return FrequencyRule(rule_id, tuple(codes), window, limit, detail, counted=counted)


def _simple_rules() -> list[FrequencyRule]:
    return [
        _counted("freq_vl_quarter", ["VL"], "patient, calendar quarter", 1,
                 "VL billed {count} times for the patient in one calendar quarter ({first} to "
                 "{last}); at most {limit} a quarter.", bucket="quarter"),
        _counted("freq_vl_year", ["VL"], "patient, calendar year", 4,
                 "VL billed {count} times for the patient in one calendar year ({first} to "
                 "{last}); at most {limit} a year.", bucket="year"),
        _counted("freq_snp_week", ["SNP"], "practitioner, calendar week", 20,
                 "SNP billed {count} times by the practitioner in one week, Monday to Sunday "
                 "({first} to {last}); at most {limit} a week.",
                 bucket="week", per_patient=False, per_practitioner=True),
        _counted("freq_coe_window", ["COE"], "child, COE age window", 1,
                 "COE billed {count} times for the child in one of its three age windows "
                 "({first} to {last}); once per window.", bucket="coe_window"),
        _counted("freq_ccp_once", ["CCP"], "patient, lifetime", 1,
                 "CCP billed {count} times for the patient ({first} to {last}); once per "
                 "patient."),
        _counted("freq_cte_once", ["CTE"], "patient, lifetime", 1,
                 "CTE billed {count} times for the patient ({first} to {last}); once per "
                 "patient.", column="record"),
        _counted("freq_mph_once", ["MPH"], "patient and practitioner, lifetime", 1,
                 "MPH billed {count} times by the practitioner for the patient ({first} to "
                 "{last}); once per patient (first MDPH file; at a handover the old and the new "
                 "médecin traitant bill one each).", per_practitioner=True, column="record"),
        _counted("freq_cso_year", ["CSO"], "patient, calendar year", 2,
                 "CSO billed {count} times for the child in one calendar year ({first} to "
                 "{last}); at most {limit} a year.", bucket="year", column="record"),
        _counted("freq_cse_year", ["CSE"], "patient, calendar year", 1,
                 "CSE billed {count} times for the child in one calendar year ({first} to "
                 "{last}); once a year.", bucket="year", column="record"),
        _counted("freq_gl_year", ["GL1", "GL2", "GL3"], "patient, code, calendar year", 1,
                 "The same long consultation (GL1, GL2 or GL3) billed {count} times for the "
                 "patient in one calendar year ({first} to {last}); each once a year.",
                 bucket="year", per_code=True),
        _counted("freq_teleexpertise_year", TELE_EXPERTISE,
                 "patient, practitioner, code, calendar year", 4,
                 "Tele-expertise billed {count} times by the practitioner for the patient in one "
                 "calendar year ({first} to {last}); at most {limit} a year.",
                 bucket="year", per_practitioner=True, per_code=True),
        _counted("freq_rdv_band", ["RDV"], "patient, age band", 1,
                 "RDV billed {count} times for the patient in one age band ({first} to {last}); "
                 "once per band (18-25, 45-50, 60-65, 70-75).", bucket="rdv_band"),
        _counted("freq_ccam_test_year", ["ALQP003", "ALQP006"], "patient, code, calendar year",
                 1, "The same standardised test billed {count} times for the patient in one "
                 "calendar year ({first} to {last}); at most once a year.",
                 bucket="year", per_code=True),
    ]


def _counted_events(rules: Sequence[FrequencyRule], column: str) -> str:
    """One branch for every frequency limit on ``column``: the lines joined to the limits."""
    flag = {True: "1", False: "0"}
    rows = [
        {
            "rule": _quote(r.id), "code": _quote(code), "lim": str(r.limit),
            "per_patient": flag[r.counted.per_patient],
            "per_practitioner": flag[r.counted.per_practitioner],
            "per_code": flag[r.counted.per_code], "slice": _quote(r.counted.bucket),
            **_dates(r.id),
        }
        for r in rules
        if r.counted is not None and r.counted.column == column
        for code in r.codes
    ]
    bucket = " ".join(f"WHEN {_quote(k)} THEN {v}" for k, v in _BUCKETS.items())
    events = _events(
        "r.rule",
        f"lines e\n    JOIN (\n        {_parameters(rows)}\n    ) AS r ON e.{column} = r.code",
        where="e.date BETWEEN r.start_date AND r.end_date "
        "AND (r.per_patient = 0 OR e.patient_id IS NOT NULL) "
        "AND (r.per_practitioner = 0 OR e.practitioner_id IS NOT NULL)",
        patient="CASE WHEN r.per_patient = 1 THEN e.patient_id END",
        practitioner="CASE WHEN r.per_practitioner = 1 THEN e.practitioner_id END",
        code_key="CASE WHEN r.per_code = 1 THEN r.code END",
        bucket=f"CASE r.slice {bucket} END", code="r.code", limit="r.lim",
    )
    return f"\n    SELECT * FROM ({events}\n    ) AS counted_{column} WHERE bucket IS NOT NULL"


def _stay_rule() -> FrequencyRule:
    """One discharge consultation (MSH, MIC or GL1) per hospital stay, counted in encounters."""
    rule_id = "freq_discharge_once_per_stay"
    events = _events(
        _quote(rule_id), "enc e",
        where="e.has_discharge = 1 AND e.stay_id IS NOT NULL AND e.patient_id IS NOT NULL "
        f"AND {_period(rule_id)}",
        patient="e.patient_id", other="e.stay_id", code="e.code_discharge",
        cents="e.cents_discharge",
    )
    return FrequencyRule(
        rule_id, DISCHARGE_CODES, "patient, hospital stay", 1,
        "{count} encounters billed a discharge consultation (MSH, MIC or GL1) for one hospital "
        "stay ({first} to {last}); one per stay.",
        events=(events,),
    )


def _apc_rule() -> FrequencyRule:
    """APC when the consultant saw the patient in the 4 months before (NGAP art. 18).

    Each APC is its own window: the earlier encounters of the same practitioner with the same
    patient inside the 4 months (context, never in breach themselves), then the APC, the
    excess.  An encounter made only of tele-expertise does not count as having seen the patient
    (an APC may follow a tele-expertise, convention 2024).  Exactly 4 months before is outside
    (the delay has run).
    """
    rule_id = "freq_apc_four_months"

    def apc(a: str) -> str:
        return (f"{a}.code = 'APC' AND {a}.patient_id IS NOT NULL "
                f"AND {a}.practitioner_id IS NOT NULL AND {_period(rule_id, a + '.date')}")

    def window(a: str) -> dict[str, str]:
        return {"patient": f"{a}.patient_id", "practitioner": f"{a}.practitioner_id",
                "other": f"{a}.source || '|' || {a}.id"}

    earlier = _events(
        _quote(rule_id),
        """lines a
    JOIN enc e
      ON e.patient_id = a.patient_id AND e.practitioner_id = a.practitioner_id
     AND e.date < a.date AND e.date > a.date - INTERVAL '4' MONTH""",
        where=f"{apc('a')} AND e.seen = 1", code="'APC'", cents="NULL", context="1",
        **window("a"),
    )
    itself = _events(_quote(rule_id), "lines e", where=apc("e"), order="1", **window("e"))
    return FrequencyRule(
        rule_id, ("APC",), "patient and practitioner, 4 months before", 1,
        "APC billed on {last} although the practitioner saw the patient on {first} (within the "
        "4 months before): no APC then.",
        events=(earlier, itself),
    )


def _tele_share_rule() -> FrequencyRule:
    """Teleconsultations at most 20 % of the practitioner's encounters in a calendar year.

    Why encounters: the ceiling is on the volume of acts; each audited encounter is one act of
    the practitioner.  Only teleconsultation letters count as remote (tele-expertise was inside
    the ceiling until convention 2024 took it out: leaving it out never over-reports).  The
    share is computed on the audited input only, so an extract holding part of the activity
    over-states it: read these findings against the practitioner's whole activity.
    """
    rule_id = "freq_tele_share"
    source = f"""(
        SELECT enc.*, COUNT(*) OVER (PARTITION BY practitioner_id, year(date)) AS volume
        FROM enc
        WHERE practitioner_id IS NOT NULL AND {_period(rule_id, "date")}
    ) AS e"""
    events = _events(
        _quote(rule_id), source, where="e.has_tele = 1",
        practitioner="e.practitioner_id", bucket=_YEAR, code="e.code_tele",
        cents="e.cents_tele", limit="FLOOR(e.volume / 5)", base="e.volume",
    )
    return FrequencyRule(
        rule_id, TELE_LETTERS, "practitioner, calendar year", None,
        "{count} teleconsultations out of {base} audited encounters of the practitioner in one "
        "calendar year ({first} to {last}): above 20 %, at most {limit}.",
        events=(events,),
    )


def _exam_slot_case(windows: tuple[Window, ...], age: str) -> str:
    """CASE giving the first completed month of the examination window ``age`` falls in.

    Null outside every window, inside a COE window (COE's own rule and the per-encounter rules
    answer there: the calendar's 3rd-year window starts in the COE month 24), and in the first
    month: its windows are in days (8 days, 2nd week, before the end of the 1st month), which
    completed months cannot tell apart.  The key is the window's first month, so one window of
    both calendars is one window across 1 Jan 2025.
    """
    coe = " OR ".join(f"{age} BETWEEN {lo} AND {hi}" for lo, hi in map(_month_span, COE_WINDOWS))
    whens = " ".join(
        f"WHEN {age} BETWEEN {low.months} AND {high.months - 1} THEN {low.months}"
        for low, high in exam_windows(windows)
        if not (low.days or high.days)
    )
    return f"CASE WHEN {coe} THEN NULL {whens} END"


def _child_exam_rule() -> FrequencyRule:
    """Each mandatory child examination once in its window, in the calendar of the date.

    Counted: the encounters billing a mandatory-examination code other than COE
    (``CHILD_EXAM_CODES``), for one child, in one examination's window of the calendar in force
    on the date (2019 calendar before 1 Jan 2025, 2025 calendar from then; windows from
    ``child_exams``); the later encounter is the excess.  Not counted: COE and the COE months
    (``freq_coe_window``), lines without an age in months (no window can be told), and the
    first month of life, whose windows are in days (see :func:`_exam_slot_case`).
    """
    rule_id = "freq_child_exam_window"
    slot = (
        f"CASE WHEN date < DATE '{CALENDAR_2025.isoformat()}' "
        f"THEN {_exam_slot_case(MANDATORY_2019, 'age_months')} "
        f"ELSE {_exam_slot_case(MANDATORY_2025, 'age_months')} END"
    )
    source = f"""(
        SELECT enc.*, {slot} AS exam_slot
        FROM enc
        WHERE has_child_exam = 1 AND patient_id IS NOT NULL AND age_months IS NOT NULL
          AND {_period(rule_id, "date")}
    ) AS e"""
    events = _events(
        _quote(rule_id), source, where="e.exam_slot IS NOT NULL", patient="e.patient_id",
        bucket="e.exam_slot", code="e.code_child_exam", cents="e.cents_child_exam",
    )
    return FrequencyRule(
        rule_id, CHILD_EXAM_CODES, "child, window of one mandatory examination", 1,
        "{count} mandatory child examinations billed for the child in the window of one "
        "examination of the calendar ({first} to {last}); one per window (lines without an age "
        "and the first month of life are not checked).",
        events=(events,),
    )


def _trip_rule(rule_id: str, counts: Sequence[TripCount], window: str, limit: int,
               detail: str) -> FrequencyRule:
    codes = tuple(dict.fromkeys(c for t in counts for c in _ENCOUNTER_SETS[t.counted]))
    return FrequencyRule(rule_id, codes, window, limit, detail, trip=tuple(counts))


def _trip_rules() -> list[FrequencyRule]:
    return [
        _trip_rule("freq_household_one_visit", [TripCount(0, "visit")],
                   "practitioner, household, day", 1,
                   "{count} patients of one household billed a visit on {first}: only the "
                   "first is a visit, the others are consultations."),
        _trip_rule("freq_household_two_more", [TripCount(0, "act", ordered=True)],
                   "practitioner, household, day", 3,
                   "{count} patients of one household billed on {first}: the visit and at most "
                   "two consultations."),
        _trip_rule("freq_institution_three_visits", [TripCount(1, "visit")],
                   "practitioner, institution, day", 3,
                   "{count} patients of one institution billed a visit on {first}: at most "
                   "three (EHPAD), the others are consultations."),
        _trip_rule("freq_trip_travel_once", [TripCount(0, "travel"), TripCount(1, "ik")],
                   "practitioner, household or institution, day", 1,
                   "Travel fees billed on {count} encounters of one trip on {first}: once per "
                   "trip."),
    ]


def _trip_events(rules: Sequence[FrequencyRule]) -> str:
    """One branch for every trip rule: each encounter of a trip joined to the trip limits.

    A trip is one practitioner, one household (or institution) key, one day; it is an
    institution trip when one of its encounters took place in an institution.
    """
    rows = [
        {
            "rule": _quote(r.id), "institution": str(t.institution),
            "counted": _quote(t.counted), "ordered": str(int(t.ordered)), "lim": str(r.limit),
            **_dates(r.id),
        }
        for r in rules
        for t in r.trip
    ]

    def pick(part: str) -> str:
        whens = " ".join(f"WHEN {_quote(n)} THEN e.{part}_{n}" for n in _ENCOUNTER_SETS)
        return f"CASE r.counted {whens} END"

    source = f"""(
        SELECT enc.*,
               MAX(institution) OVER (PARTITION BY practitioner_id, household_id, date)
                   AS trip_institution
        FROM enc
        WHERE practitioner_id IS NOT NULL AND household_id IS NOT NULL
    ) AS e
    JOIN (
        {_parameters(rows)}
    ) AS r ON e.trip_institution = r.institution"""
    return _events(
        "r.rule", source,
        where=f"{pick('has')} = 1 AND e.date BETWEEN r.start_date AND r.end_date",
        practitioner="e.practitioner_id", other="e.household_id", bucket="e.day",
        code=pick("code"), cents=pick("cents"), limit="r.lim",
        order="CASE WHEN r.ordered = 1 AND e.has_visit = 0 THEN 1 ELSE 0 END",
    )


FREQUENCY_RULES: tuple[FrequencyRule, ...] = (
    *_simple_rules(),
    _stay_rule(),
    _apc_rule(),
    _tele_share_rule(),
    _child_exam_rule(),
    *_trip_rules(),
)
"""Every rule across encounters."""

_WINDOW = "rule, k_patient, k_practitioner, k_code, k_other, bucket"
_ORDER = (
    "rule, patient_id NULLS FIRST, practitioner_id NULLS FIRST, first_date, encounter_ids, "
    "excess_ids, code"
)


def _branches(rules: Sequence[FrequencyRule]) -> list[str]:
    """The event SELECTs of the rules: shared branches for the limits of one shape."""
    branches = []
    for column in ("code", "record"):
        if any(r.counted is not None and r.counted.column == column for r in rules):
            branches.append(_counted_events(rules, column))
    if any(r.trip for r in rules):
        branches.append(_trip_events(rules))
    return branches + [e for r in rules for e in r.events]


def findings_sql(rules: Sequence[FrequencyRule] = FREQUENCY_RULES) -> str:
    """The one query of the given rules (the same text for every engine), sorted.

    All events go through one ranking and one aggregation: the query's cost does not grow with
    a window function per rule.  ``n_count`` and ``n_limit`` stand for ``count`` and ``limit``,
    reserved words in one engine or the other; the runners rename them.
    """
    branches = _branches(rules)
    needs_enc = any(re.search(r"\benc\b", b) for b in branches)
    ctes = f"{_encounter_cte()},\n" if needs_enc else ""
    events = "\n    UNION ALL".join(branches)
    details = " ".join(f"WHEN {_quote(r.id)} THEN {_detail_sql(r.detail)}" for r in rules)
    return f"""WITH {ctes}ev AS ({events}
),
ranked AS (
    SELECT ev.*,
           ROW_NUMBER() OVER (PARTITION BY {_WINDOW} ORDER BY ord, date, id, source) AS rk
    FROM ev
),
marked AS (
    SELECT ranked.*, CASE WHEN rk > lim AND context = 0 THEN 1 ELSE 0 END AS excess
    FROM ranked
)
SELECT rule,
       CASE WHEN MIN(patient_id) = MAX(patient_id) THEN MIN(patient_id) END AS patient_id,
       CASE WHEN MIN(practitioner_id) = MAX(practitioner_id) THEN MIN(practitioner_id) END
           AS practitioner_id,
       array_sort(array_distinct(array_agg(code))) AS code,
       MIN(date) AS first_date,
       MAX(date) AS last_date,
       COUNT(*) AS n_count,
       MAX(lim) AS n_limit,
       array_sort(array_agg(id)) AS encounter_ids,
       array_sort(array_agg(id) FILTER (WHERE excess = 1)) AS excess_ids,
       CAST(SUM(cents) FILTER (WHERE excess = 1) AS BIGINT) AS excess_cents,
       CASE rule {details} END AS detail
FROM marked
GROUP BY {_WINDOW}
HAVING COUNT(*) > MAX(lim)
ORDER BY {_ORDER}"""


# ============================================================== the engines
def _view_sql(available: Sequence[str], source: str, day: Callable[[str], str]) -> str:
    """The body of the view ``lines``: typed columns, empty keys as unknown, the day number.

    ``day`` is the only engine-specific expression (days since 1 Jan 1970 of a date column).
    """
    columns = []
    for name, kind in _VIEW_COLUMNS.items():
        value = f"CAST({name} AS {kind})" if name in available else f"CAST(NULL AS {kind})"
        if name in _KEYS:
            value = f"NULLIF({value}, '')"
        if name in ("code", "record"):
            value = f"upper(trim({value}))"
        columns.append(f"{value} AS {name}")
    columns.append(f"{day('CAST(date AS DATE)')} AS day")
    return (
        "SELECT " + ",\n       ".join(columns)
        + f"\nFROM {source}\nWHERE id IS NOT NULL AND date IS NOT NULL AND code IS NOT NULL"
    )


def _duckdb_day(column: str) -> str:
    return f"CAST({column} - DATE '1970-01-01' AS BIGINT)"


def _spark_day(column: str) -> str:
    return f"CAST(datediff({column}, DATE '1970-01-01') AS BIGINT)"


def _no_local_file(lines_glob: str | Sequence[str]) -> bool:
    """True for a local pattern that matches nothing, or no file (no lines, no finding)."""
    if not isinstance(lines_glob, str):
        return not lines_glob
    return "://" not in lines_glob and not globbing.glob(lines_glob)


def typed_findings(table: pa.Table) -> pa.Table:
    """The query's answer as ``FINDINGS_SCHEMA``: columns renamed, an empty list for null.

    Why: DuckDB aggregates no row into a null list where Spark gives an empty one; both
    engines' findings must be the same table, and a reader of ``excess_ids`` should never have
    to tell "no id" from "unknown".
    """
    table = table.rename_columns(list(FINDING_COLUMNS))
    for name in FINDING_LISTS:
        index = table.schema.get_field_index(name)
        column = table.column(index).cast(FINDINGS_SCHEMA.field(name).type)
        empty = pa.scalar([], FINDINGS_SCHEMA.field(name).type)
        filled = pc.if_else(pc.is_null(column), empty, column)
        table = table.set_column(index, name, filled)
    return table.cast(FINDINGS_SCHEMA)


def flat_findings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of findings in the flat text form of CSV and JSONL: lists joined by ``;``.

    Why: a CSV cell holds text, and the JSONL exports keep the flat form of CSV (as
    ``encounters.jsonl`` does), so that both read alike in a spreadsheet or a line tool.
    """
    columns = [
        pc.binary_join(column, ";") if name in FINDING_LISTS else column
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=FLAT_FINDINGS_SCHEMA)


def find_duckdb(
    lines_glob: str | Sequence[str], con: duckdb.DuckDBPyConnection | None = None
) -> pa.Table:
    """Findings over Parquet line files, computed by DuckDB: a glob pattern, or a list of
    exact file names (the audit's way: a directory named ``out[1]`` is no pattern).

    Creates (or replaces) the temporary view ``lines`` on ``con``.
    """

    if _no_local_file(lines_glob):
        return FINDINGS_SCHEMA.empty_table()
    if con is None:
        from ngap.audit.duck import connect

        con = connect()
    files = (
        _quote(lines_glob)
        if isinstance(lines_glob, str)
        else "[" + ", ".join(_quote(str(f)) for f in lines_glob) + "]"
    )
    source = f"read_parquet({files}, union_by_name = true)"
    available = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    con.execute(f"CREATE OR REPLACE TEMP VIEW lines AS {_view_sql(available, source, _duckdb_day)}")
    return typed_findings(con.sql(findings_sql()).to_arrow_table())


def find_spark(spark: SparkSession, lines_df: DataFrame) -> DataFrame:
    """Findings over a Spark DataFrame of lines, computed by Spark SQL (same query text).

    Registers the temporary views ``ngap_lines_input`` and ``lines`` in ``spark``.  ``lines`` is
    registered from an analysed DataFrame, not with CREATE VIEW: Spark would parse and analyse a
    SQL view again at each of the query's many references to it.  The list columns are Spark
    arrays; ``typed_findings`` gives the collected table the schema of the local engine.
    """
    lines_df.createOrReplaceTempView("ngap_lines_input")
    body = _view_sql(lines_df.columns, "ngap_lines_input", _spark_day)
    spark.sql(body).createOrReplaceTempView("lines")
    return spark.sql(findings_sql()).toDF(*FINDING_COLUMNS)
