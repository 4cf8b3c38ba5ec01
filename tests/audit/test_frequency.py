"""Rules across encounters: each rule fires at its limit + 1 and not at its limit, only inside its
period, and DuckDB and Spark SQL return the same findings table from the same query text."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ngap.audit.columns import LINE_COLUMNS
from ngap.audit.core import LINES_SCHEMA
from ngap.audit.frequency import (
    FINDING_COLUMNS,
    FINDINGS_SCHEMA,
    FREQUENCY_RULES,
    find_duckdb,
    find_spark,
    typed_findings,
)
from ngap.model.catalogue import load_catalogue
from ngap.model.child_exams import COE_WINDOWS, MANDATORY_2019, MANDATORY_2025, exam_windows
from ngap.model.eras import compute_eras

D = dt.date


@dataclass
class Line:
    """One claimed line; the encounter is the set of lines sharing ``id``."""

    id: str
    code: str
    date: dt.date
    patient: str | None = "p1"
    practitioner: str | None = "d1"
    cents: int | None = 1000
    household: str | None = None
    stay: str | None = None
    place: str | None = "office"
    age_months: int | None = None
    record: str | None = None


LINE_SCHEMA = pa.schema([f for f in LINES_SCHEMA if f.name != "record"])
"""What the per-encounter pass writes, ``record`` added by each test that needs it."""


def _table(lines: list[Line], with_record: bool) -> pa.Table:
    rows = [
        {
            "id": x.id, "source": "in.csv", "row": n, "patient_id": x.patient,
            "practitioner_id": x.practitioner, "household_id": x.household, "stay_id": x.stay,
            "date": x.date, "code": x.code, "cents": x.cents, "place": x.place,
            "age_months": x.age_months, "status": "valid",
        }
        for n, x in enumerate(lines, start=1)
    ]
    table = pa.Table.from_pylist(rows, schema=LINE_SCHEMA)
    assert table.column_names == [c for c in LINE_COLUMNS if c != "record"]
    if with_record:
        table = table.append_column("record", pa.array([x.record for x in lines], pa.string()))
    return table


def _write(tmp_path: Path, lines: list[Line], with_record: bool = True) -> str:
    """Two part files, as the per-encounter pass writes them; returns their glob."""
    parts = tmp_path / "parts"
    parts.mkdir(exist_ok=True)
    table = _table(lines, with_record)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), parts / "lines-0.parquet")
    pq.write_table(table.slice(half), parts / "lines-1.parquet")
    return str(parts / "lines-*.parquet")


def pair(code: str, first: dt.date, second: dt.date, ids: str = "ab", **kw: Any) -> list[Line]:
    """Two encounters (``a`` and ``b``) billing ``code``, same patient and doctor unless told."""
    return [Line(ids[0], code, first, **kw), Line(ids[1], code, second, **kw)]


def findings(tmp_path: Path, lines: list[Line], rule: str, **kw: Any) -> list[dict[str, Any]]:
    table = find_duckdb(_write(tmp_path, lines, **kw))
    assert table.schema == FINDINGS_SCHEMA
    return [row for row in table.to_pylist() if row["rule"] == rule]


def one(tmp_path: Path, lines: list[Line], rule: str, **kw: Any) -> dict[str, Any]:
    found = findings(tmp_path, lines, rule, **kw)
    assert len(found) == 1, found
    return found[0]


def none(tmp_path: Path, lines: list[Line], rule: str, **kw: Any) -> None:
    assert findings(tmp_path, lines, rule, **kw) == []


# ====================================================================== the catalogue
def test_every_rule_is_catalogued_with_its_period() -> None:
    catalogue = load_catalogue().rules
    ids = {r.id for r in FREQUENCY_RULES}
    assert len(ids) == len(FREQUENCY_RULES)
    assert ids <= set(catalogue)
    listed = {rid for rid, r in catalogue.items() if r.file == "../audit/frequency.py"}
    assert listed == ids


def test_rule_periods_add_no_tariff_era() -> None:
    """Rule periods cut eras: the frequency rules start on days that already cut one, so the
    per-encounter eras (and their numbering) stay what they were."""
    catalogue = load_catalogue()
    rules = {k: v for k, v in catalogue.rules.items() if not k.startswith("freq_")}
    without = type(catalogue)(catalogue.codes, catalogue.sources, rules, catalogue.refined)
    assert compute_eras(catalogue) == compute_eras(without)


def test_no_line_file_no_finding(tmp_path: Path) -> None:
    table = find_duckdb(str(tmp_path / "parts" / "lines-*.parquet"))
    assert table.schema == FINDINGS_SCHEMA and table.num_rows == 0


# ====================================================================== VL
def test_vl_twice_in_a_quarter(tmp_path: Path) -> None:
    lines = pair("VL", D(2024, 1, 10), D(2024, 3, 20), cents=6000)
    f = one(tmp_path, lines, "freq_vl_quarter")
    assert (f["encounter_ids"], f["excess_ids"], f["excess_cents"]) == (["a", "b"], ["b"], 6000)
    assert (f["count"], f["limit"], f["code"], f["patient_id"]) == (2, 1, ["VL"], "p1")
    assert (f["first_date"], f["last_date"]) == (D(2024, 1, 10), D(2024, 3, 20))


def test_vl_in_two_quarters(tmp_path: Path) -> None:
    lines = pair("VL", D(2024, 3, 31), D(2024, 4, 1))
    none(tmp_path, lines, "freq_vl_quarter")


def test_vl_quarter_only_from_november_2023(tmp_path: Path) -> None:
    """Before 1 Nov 2023 a palliative-care VL could be repeated within a quarter."""
    lines = pair("VL", D(2023, 7, 5), D(2023, 8, 5))
    none(tmp_path, lines, "freq_vl_quarter")


def test_vl_five_in_a_year(tmp_path: Path) -> None:
    days = [D(2023, 1, 5), D(2023, 2, 5), D(2023, 4, 5), D(2023, 7, 5), D(2023, 10, 5)]
    lines = [Line(f"e{i}", "VL", d, cents=6000) for i, d in enumerate(days)]
    f = one(tmp_path, lines, "freq_vl_year")
    assert (f["count"], f["limit"], f["excess_ids"], f["excess_cents"]) == (5, 4, ["e4"], 6000)


def test_vl_four_in_a_year(tmp_path: Path) -> None:
    days = [D(2024, 1, 5), D(2024, 4, 5), D(2024, 7, 5), D(2024, 10, 5), D(2025, 1, 5)]
    lines = [Line(f"e{i}", "VL", d) for i, d in enumerate(days)]
    none(tmp_path, lines, "freq_vl_year")
    none(tmp_path, lines, "freq_vl_quarter")


# ====================================================================== SNP
MONDAY = D(2024, 3, 4)


def _snp(n: int, start: dt.date = MONDAY) -> list[Line]:
    """n SNP encounters of one practitioner spread over Monday 4 .. Sunday 10 March 2024."""
    return [
        Line(f"s{i:02d}", "SNP", start + dt.timedelta(days=i % 7), patient=f"p{i}", cents=1500)
        for i in range(n)
    ]


def test_twenty_one_snp_in_a_week(tmp_path: Path) -> None:
    f = one(tmp_path, _snp(21), "freq_snp_week")
    assert (f["count"], f["limit"], f["practitioner_id"], f["patient_id"]) == (21, 20, "d1", None)
    assert (f["excess_ids"], f["excess_cents"]) == (["s20"], 1500)  # the last of the last day
    assert (f["first_date"], f["last_date"]) == (D(2024, 3, 4), D(2024, 3, 10))


def test_twenty_snp_in_a_week(tmp_path: Path) -> None:
    none(tmp_path, _snp(20), "freq_snp_week")


def test_snp_week_ends_on_sunday(tmp_path: Path) -> None:
    monday = Line("next", "SNP", D(2024, 3, 11), patient="px")
    none(tmp_path, [*_snp(20), monday], "freq_snp_week")


# ====================================================================== APC
def test_apc_after_consultations_within_four_months(tmp_path: Path) -> None:
    """The earlier consultations show the breach; only the APC is billed in breach."""
    lines = [
        Line("g1", "G", D(2024, 1, 20), cents=3000),
        Line("g2", "G", D(2024, 3, 2), cents=3000),
        Line("a", "APC", D(2024, 5, 10), cents=6000),
    ]
    f = one(tmp_path, lines, "freq_apc_four_months")
    assert (f["encounter_ids"], f["excess_ids"], f["excess_cents"]) == (
        ["a", "g1", "g2"], ["a"], 6000
    )
    assert (f["count"], f["limit"]) == (3, 1)
    assert (f["first_date"], f["last_date"], f["code"]) == (D(2024, 1, 20), D(2024, 5, 10), ["APC"])


@pytest.mark.parametrize(
    "prior",
    [
        Line("g", "G", D(2024, 1, 10)),  # exactly 4 months before: the delay has run
        Line("g", "G", D(2024, 3, 1), practitioner="d2"),  # another doctor
        Line("g", "TE2", D(2024, 3, 1)),  # a tele-expertise is no consultation
        Line("g", "G", D(2024, 3, 1), patient="p2"),  # another patient
    ],
)
def test_apc_without_prior_contact(tmp_path: Path, prior: Line) -> None:
    none(tmp_path, [prior, Line("a", "APC", D(2024, 5, 10))], "freq_apc_four_months")


# ====================================================================== child exams
def test_coe_twice_in_one_window(tmp_path: Path) -> None:
    lines = [
        Line("c1", "COE", D(2024, 1, 5), age_months=8, cents=5400),
        Line("c2", "COE", D(2024, 2, 20), age_months=9, cents=5400),
    ]
    f = one(tmp_path, lines, "freq_coe_window")
    assert (f["excess_ids"], f["excess_cents"]) == (["c2"], 5400)


def test_coe_in_two_windows_or_without_age(tmp_path: Path) -> None:
    lines = [
        Line("c0", "COE", D(2023, 1, 5), age_months=0),
        Line("c1", "COE", D(2023, 10, 5), age_months=9),
        Line("c2", "COE", D(2025, 1, 5), age_months=24),
        Line("c3", "COE", D(2025, 1, 6), age_months=None),
    ]
    none(tmp_path, lines, "freq_coe_window")


def test_each_calendar_holds_twenty_examinations() -> None:
    """Split per exam, the windows make the 20 exams of each calendar (with the 3 COE)."""
    assert len(exam_windows(MANDATORY_2019)) + len(COE_WINDOWS) == 20
    assert len(exam_windows(MANDATORY_2025)) + len(COE_WINDOWS) == 20


def test_two_exams_in_one_window(tmp_path: Path) -> None:
    """Two exam codes in the 3rd month: the later one is the excess, at its own amount."""
    lines = [
        Line("d1", "COD", D(2024, 3, 5), age_months=2, cents=3150),
        Line("d2", "COG", D(2024, 3, 25), age_months=2, cents=2800),
    ]
    f = one(tmp_path, lines, "freq_child_exam_window")
    assert (f["encounter_ids"], f["excess_ids"], f["excess_cents"]) == (["d1", "d2"], ["d2"], 2800)
    assert (f["count"], f["limit"], f["code"], f["patient_id"]) == (2, 1, ["COD", "COG"], "p1")
    assert (f["first_date"], f["last_date"]) == (D(2024, 3, 5), D(2024, 3, 25))


def test_exams_in_consecutive_windows(tmp_path: Path) -> None:
    """Months 2 and 3, years 3 and 4 are windows of their own; plain G / G + MEG and COE do not
    count (COE has its rule), nor does the COE month 24 that opens the 3rd-year window."""
    lines = [
        Line("a1", "COD", D(2024, 2, 28), age_months=1),
        Line("a2", "COD", D(2024, 3, 1), age_months=2),
        Line("b1", "COD", D(2024, 1, 5), age_months=35, patient="p2"),
        Line("b2", "COD", D(2024, 1, 20), age_months=36, patient="p2"),
        Line("c1", "G", D(2024, 3, 5), age_months=4, patient="p3"),
        Line("c1", "MEG", D(2024, 3, 5), age_months=4, patient="p3"),
        Line("c2", "COD", D(2024, 3, 20), age_months=4, patient="p3"),
        Line("e1", "COE", D(2024, 1, 5), age_months=24, patient="p4"),
        Line("e2", "COD", D(2024, 1, 15), age_months=24, patient="p4"),
        Line("e3", "COD", D(2024, 6, 5), age_months=29, patient="p4"),
    ]
    none(tmp_path, lines, "freq_child_exam_window")


def test_child_exams_across_the_2025_calendar(tmp_path: Path) -> None:
    """The calendar in force on each date: the 5th-month window is in both calendars, the
    7th-year window only from 1 Jan 2025 (a COB at 6 in 2024 is in no window)."""
    lines = [
        Line("m1", "COD", D(2024, 12, 20), age_months=4, cents=3500),
        Line("m2", "COD", D(2025, 1, 10), age_months=4, cents=3500),
        Line("y1", "COB", D(2024, 12, 20), age_months=75, patient="p2"),
        Line("y2", "COB", D(2025, 1, 10), age_months=76, patient="p2", cents=3000),
        Line("y3", "COB", D(2025, 3, 10), age_months=78, patient="p2", cents=3000),
    ]
    found = findings(tmp_path, lines, "freq_child_exam_window")
    assert [(f["encounter_ids"], f["excess_ids"], f["excess_cents"]) for f in found] == [
        (["m1", "m2"], ["m2"], 3500),
        (["y2", "y3"], ["y3"], 3000),
    ]
    none(tmp_path, lines[2:4], "freq_child_exam_window")


def test_child_exams_without_age_are_not_counted(tmp_path: Path) -> None:
    lines = [
        Line("a", "COD", D(2024, 3, 5), age_months=None),
        Line("b", "COD", D(2024, 3, 25), age_months=2),
    ]
    none(tmp_path, lines, "freq_child_exam_window")


# ====================================================================== once per patient
def test_ccp_twice(tmp_path: Path) -> None:
    lines = [Line("a", "CCP", D(2023, 1, 5)), Line("b", "CCP", D(2025, 6, 1), practitioner="d2")]
    f = one(tmp_path, lines, "freq_ccp_once")
    assert (f["excess_ids"], f["practitioner_id"]) == (["b"], None)


def test_ccp_once_each(tmp_path: Path) -> None:
    lines = [Line("a", "CCP", D(2023, 1, 5)), Line("b", "CCP", D(2023, 1, 5), patient="p2")]
    none(tmp_path, lines, "freq_ccp_once")


def test_cte_twice_needs_the_record(tmp_path: Path) -> None:
    lines = [
        Line("a", "CCE", D(2023, 1, 5), record="CTE", cents=6000),
        Line("b", "CCE", D(2024, 1, 5), record="CTE", cents=6000),
    ]
    f = one(tmp_path, lines, "freq_cte_once")
    assert (f["code"], f["excess_ids"], f["excess_cents"]) == (["CTE"], ["b"], 6000)
    none(tmp_path, lines, "freq_cte_once", with_record=False)


def test_cte_then_mph(tmp_path: Path) -> None:
    lines = [*pair("CCE", D(2023, 1, 5), D(2024, 1, 5), record="CTE")]
    lines[1].record = "MPH"
    none(tmp_path, lines, "freq_cte_once")
    none(tmp_path, lines, "freq_mph_once")


def test_mph_twice_by_one_doctor(tmp_path: Path) -> None:
    lines = pair("CCE", D(2023, 1, 5), D(2024, 1, 5), record="MPH")
    assert one(tmp_path, lines, "freq_mph_once")["excess_ids"] == ["b"]


def test_mph_at_a_handover(tmp_path: Path) -> None:
    """The old and the new médecin traitant each bill one MPH."""
    lines = [
        Line("a", "CCE", D(2023, 1, 5), record="MPH"),
        Line("b", "CCE", D(2024, 1, 5), record="MPH", practitioner="d2"),
    ]
    none(tmp_path, lines, "freq_mph_once")


def test_mph_before_april_2022_is_not_counted(tmp_path: Path) -> None:
    lines = pair("CCE", D(2022, 1, 5), D(2022, 5, 5), record="MPH")
    none(tmp_path, lines, "freq_mph_once")


# ====================================================================== per year
def test_cso_three_in_a_year(tmp_path: Path) -> None:
    lines = [
        Line(f"c{i}", "CCX", D(2024, m, 1), record="CSO", cents=4750, age_months=60)
        for i, m in enumerate((2, 6, 11))
    ]
    f = one(tmp_path, lines, "freq_cso_year")
    assert (f["count"], f["limit"], f["excess_ids"], f["excess_cents"]) == (3, 2, ["c2"], 4750)
    none(tmp_path, lines[:2], "freq_cso_year")


def test_cse_once_a_year(tmp_path: Path) -> None:
    lines = pair("CCX", D(2024, 1, 5), D(2024, 12, 5), record="CSE")
    assert one(tmp_path, lines, "freq_cse_year")["excess_ids"] == ["b"]
    none(tmp_path, pair("CCX", D(2024, 1, 5), D(2025, 1, 5), record="CSE"), "freq_cse_year")


def test_gl1_twice_in_a_year(tmp_path: Path) -> None:
    lines = pair("GL1", D(2026, 1, 5), D(2026, 12, 31), cents=6000)
    f = one(tmp_path, lines, "freq_gl_year")
    assert (f["code"], f["excess_ids"], f["excess_cents"]) == (["GL1"], ["b"], 6000)


def test_gl_each_type_once_and_new_year(tmp_path: Path) -> None:
    lines = [
        Line("a", "GL1", D(2026, 1, 5)),
        Line("b", "GL2", D(2026, 2, 5)),
        Line("c", "GL1", D(2027, 1, 1)),
    ]
    none(tmp_path, lines, "freq_gl_year")


def test_gl_before_2026_is_not_counted(tmp_path: Path) -> None:
    lines = pair("GL1", D(2025, 3, 5), D(2025, 4, 5))
    none(tmp_path, lines, "freq_gl_year")


def test_five_tele_expertises(tmp_path: Path) -> None:
    lines = [Line(f"t{i}", "TE2", D(2024, 1 + i, 3), cents=2000) for i in range(5)]
    f = one(tmp_path, lines, "freq_teleexpertise_year")
    assert (f["count"], f["limit"], f["excess_ids"], f["excess_cents"]) == (5, 4, ["t4"], 2000)
    none(tmp_path, lines[:4], "freq_teleexpertise_year")


def test_ccam_test_twice_a_year(tmp_path: Path) -> None:
    lines = [Line("a", "ALQP006", D(2024, 1, 5)), Line("b", "ALQP006", D(2024, 9, 5))]
    assert one(tmp_path, lines, "freq_ccam_test_year")["excess_ids"] == ["b"]
    lines[1] = Line("b", "ALQP003", D(2024, 9, 5))
    none(tmp_path, lines, "freq_ccam_test_year")


def test_rdv_twice_in_one_band(tmp_path: Path) -> None:
    lines = [
        # RDV is billable nationally from 30 May 2024 (arrêté du 28 mai 2024)
        Line("a", "RDV", D(2024, 6, 5), age_months=45 * 12, cents=3000),
        Line("b", "RDV", D(2029, 6, 5), age_months=50 * 12 + 11, cents=3000),
    ]
    f = one(tmp_path, lines, "freq_rdv_band")
    assert (f["excess_ids"], f["excess_cents"]) == (["b"], 3000)


def test_rdv_in_two_bands(tmp_path: Path) -> None:
    lines = [
        Line("a", "RDV", D(2024, 6, 5), age_months=25 * 12 + 11),
        Line("b", "RDV", D(2044, 6, 5), age_months=45 * 12),
    ]
    none(tmp_path, lines, "freq_rdv_band")


# ====================================================================== hospital stay
def test_two_discharge_consultations_for_one_stay(tmp_path: Path) -> None:
    lines = [
        Line("a", "G", D(2026, 1, 5), stay="h1"),
        Line("a", "MSH", D(2026, 1, 5), stay="h1", cents=2300),
        Line("b", "GL1", D(2026, 2, 1), stay="h1", cents=6000),
    ]
    f = one(tmp_path, lines, "freq_discharge_once_per_stay")
    assert (f["code"], f["excess_ids"], f["excess_cents"]) == (["GL1", "MSH"], ["b"], 6000)


def test_discharge_consultations_for_two_stays_or_unknown(tmp_path: Path) -> None:
    lines = [
        Line("a", "MSH", D(2024, 1, 5), stay="h1"),
        Line("b", "MIC", D(2024, 2, 1), stay="h2"),
        Line("c", "MIC", D(2024, 3, 1), stay=None),
        Line("d", "MIC", D(2024, 3, 2), stay=None),
    ]
    none(tmp_path, lines, "freq_discharge_once_per_stay")


# ====================================================================== teleconsultation share
def _activity(tele: int, total: int, practitioner: str = "d1") -> list[Line]:
    return [
        Line(f"e{i:02d}", "TCG" if i < tele else "G", D(2024, 1, 1) + dt.timedelta(days=i),
             patient=f"p{i}", practitioner=practitioner, place="tele" if i < tele else "office",
             cents=2500)
        for i in range(total)
    ]


def test_teleconsultations_above_a_fifth(tmp_path: Path) -> None:
    f = one(tmp_path, _activity(3, 10), "freq_tele_share")
    assert (f["count"], f["limit"], f["code"]) == (3, 2, ["TCG"])
    assert (f["encounter_ids"], f["excess_ids"], f["excess_cents"]) == (
        ["e00", "e01", "e02"], ["e02"], 2500
    )
    assert "out of 10 audited encounters" in f["detail"]


def test_teleconsultations_at_a_fifth(tmp_path: Path) -> None:
    none(tmp_path, _activity(2, 10), "freq_tele_share")


# ====================================================================== trips
def _trip(codes: list[list[str]], place: str = "home") -> list[Line]:
    """One encounter per patient of one trip (practitioner d1, household h1, 5 Feb 2024)."""
    return [
        Line(f"t{i}", code, D(2024, 2, 5), patient=f"p{i}", household="h1", place=place,
             cents=3000)
        for i, encounter in enumerate(codes)
        for code in encounter
    ]


def test_two_visits_in_one_household(tmp_path: Path) -> None:
    f = one(tmp_path, _trip([["VG", "MD"], ["VG"]]), "freq_household_one_visit")
    assert (f["excess_ids"], f["excess_cents"], f["patient_id"]) == (["t1"], 3000, None)


def test_visit_then_consultations_in_one_household(tmp_path: Path) -> None:
    lines = _trip([["VG", "MD"], ["G"], ["G"]])
    for rule in ("freq_household_one_visit", "freq_household_two_more", "freq_trip_travel_once"):
        none(tmp_path, lines, rule)


def test_three_consultations_beyond_the_visit(tmp_path: Path) -> None:
    """The visit is kept first whatever its id; the last consultation is the excess."""
    f = one(tmp_path, _trip([["G"], ["G"], ["G"], ["VG", "MD"]]), "freq_household_two_more")
    assert (f["count"], f["limit"], f["excess_ids"], f["excess_cents"]) == (4, 3, ["t2"], 3000)


def test_two_travel_fees_in_one_household(tmp_path: Path) -> None:
    f = one(tmp_path, _trip([["VG", "MD"], ["G", "MD"]]), "freq_trip_travel_once")
    assert (f["code"], f["excess_ids"]) == (["MD"], ["t1"])


def test_four_visits_in_one_institution(tmp_path: Path) -> None:
    lines = _trip([["VG", "MD"], ["VG", "MD"], ["VG", "MD"], ["VG"]], place="institution")
    f = one(tmp_path, lines, "freq_institution_three_visits")
    assert (f["count"], f["limit"], f["excess_ids"]) == (4, 3, ["t3"])
    none(tmp_path, lines, "freq_household_one_visit")
    none(tmp_path, lines, "freq_trip_travel_once")  # three MD in an EHPAD, no IK


def test_three_visits_and_ik_twice_in_one_institution(tmp_path: Path) -> None:
    lines = _trip([["VG", "MD", "IK"], ["VG", "MD", "IK"], ["VG", "MD"]], place="institution")
    none(tmp_path, lines, "freq_institution_three_visits")
    assert one(tmp_path, lines, "freq_trip_travel_once")["excess_ids"] == ["t1"]


def test_visits_on_two_days_or_without_household(tmp_path: Path) -> None:
    lines = [
        Line("a", "VG", D(2024, 2, 5), household="h1", place="home"),
        Line("b", "VG", D(2024, 2, 6), patient="p2", household="h1", place="home"),
        Line("c", "VG", D(2024, 2, 5), patient="p3", household=None, place="home"),
    ]
    none(tmp_path, lines, "freq_household_one_visit")


def test_each_rule_alone_finds_what_all_rules_find(tmp_path: Path) -> None:
    """A rule's own query (``rule.sql``) and the query of all rules agree on that rule."""
    import duckdb

    con = duckdb.connect()
    together = find_duckdb(_write(tmp_path, _mixed_lines()), con)
    for rule in FREQUENCY_RULES:
        alone = typed_findings(con.sql(rule.sql).to_arrow_table())
        expected = [r for r in together.to_pylist() if r["rule"] == rule.id]
        assert alone.to_pylist() == expected, rule.id


# ====================================================================== both engines
def _java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def _mixed_lines() -> list[Line]:
    """A little of everything, so that most rules fire once and a few windows stay clean."""
    return [
        *_snp(21),
        *_activity(3, 10, practitioner="d9"),
        *_trip([["VG", "MD"], ["VG"], ["G"], ["G", "MD"]]),
        Line("v1", "VL", D(2024, 1, 10), cents=6000),
        Line("v2", "VL", D(2024, 3, 20), cents=6000),
        Line("g", "G", D(2024, 1, 31), cents=3000),
        Line("a", "APC", D(2024, 5, 31), cents=6000),
        Line("c1", "COE", D(2024, 1, 5), age_months=8, cents=None),
        Line("c2", "COE", D(2024, 2, 20), age_months=9, cents=None),
        Line("o1", "COD", D(2024, 12, 20), age_months=4, patient="p9"),
        Line("o2", "COD", D(2025, 1, 10), age_months=4, patient="p9"),
        Line("x1", "CCE", D(2023, 1, 5), record="CTE", patient="p'1"),
        Line("x2", "CCE", D(2024, 1, 5), record="CTE", patient="p'1"),
        Line("m1", "MSH", D(2026, 1, 5), stay="h1", practitioner=None),
        Line("m2", "GL1", D(2026, 2, 1), stay="h1"),
        Line("r1", "RDV", D(2024, 1, 5), age_months=45 * 12, patient=""),
        Line("r2", "RDV", D(2025, 1, 5), age_months=46 * 12, patient=""),
        *pair("CCX", D(2024, 1, 5), D(2024, 12, 5), ids="kl", record="CSE", patient="p7"),
        *pair("GL2", D(2026, 1, 5), D(2026, 12, 5), ids="mn", patient="p8"),
        *(Line(f"te{i}", "TE2", D(2024, 1 + i, 3), patient="é") for i in range(5)),
    ]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if not _java_available():
        pytest.skip("Java is absent: no Spark")
    sql = pytest.importorskip("pyspark.sql")
    session = (
        sql.SparkSession.builder.master("local[2]")
        .appName("ngap-frequency-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.skipif(not _java_available(), reason="Java is absent: no Spark")
def test_duckdb_and_spark_give_the_same_findings(tmp_path: Path, spark: Any) -> None:
    pattern = _write(tmp_path, _mixed_lines())
    local = find_duckdb(pattern)
    cluster = find_spark(spark, spark.read.parquet(str(tmp_path / "parts")))
    assert tuple(cluster.columns) == FINDING_COLUMNS
    remote = typed_findings(cluster.toArrow())
    fired = set(local.column("rule").to_pylist())
    assert len(fired) >= 12, fired
    assert remote.to_pylist() == local.to_pylist()
    assert remote.equals(local)
