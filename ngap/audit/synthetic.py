"""Realistic synthetic encounter tables, for benchmarks, load tests and trying the audit out.

The mix (shares of rows, documented so that benchmark figures can be read against it):

=====================================  ======  ==============================================
situation                              share   claimed codes
=====================================  ======  ==============================================
adult consultation, weekday daytime    44 %    G
child under 6 consultation              12 %    G + MEG (2 %: G alone, under-coding)
certificate child exam (8-10 months)     2 %    COE
home visit, elderly, with distance      9 %    VG + MD + IK (km 1-30)
long visit, 80 and over in ALD          2 %    VL + MD + IK
night / Sunday / holiday consultation   6 %    G + MN, G + MM, G + F (time 20h-8h, emergency)
ECG with a consultation                 4 %    G + DEQP003
teleconsultation                        6 %    TCG
unknown time and urgency (claims data)  7 %    G + MN with time and emergency left empty
seeded coding errors                    8 %    MN in daytime, CS by a GP, APC without request,
                                               F on a working weekday, MD without
                                               justification, an unknown code, an impossible
                                               date
=====================================  ======  ==============================================

Dates are uniform over 2024-2025, times in 5-minute steps inside each situation's hours (the
call at the time of the act; both unknown in the claims rows), adult ages uniform 18-95, one
patient id per five rows and one practitioner per 2 000 rows; sex is not given (unknown, as in
many billing exports).  The long visits are for patients of 80 and over in ALD seen by their
médecin traitant (NGAP art. 15.2.3, case c); the codes with a per-patient frequency limit (VL once
per calendar quarter, COE once in its age window) go to a patient of their own, so that the
seeded errors are the only errors: every other row is valid, or conditional for the claims rows
with unknown time and urgency (``tests/audit/test_synthetic.py`` checks it).  The Sunday and
weekday situations are moved back to a date of that kind, never after ``today()``.
Everything is drawn from a seeded numpy generator: the same seed gives the same table.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ngap.model.calendar import public_holidays


@dataclass(frozen=True)
class Situation:
    name: str
    share: float
    place: str
    done: str
    claimed: str
    hours: tuple[int, int] = (8, 19)
    ages: tuple[int, int] = (18, 95)
    emergency: str | None = "false"
    time_known: bool = True
    km: bool = False
    ik_distance: str = "false"
    date: str | None = None
    """None (uniform), "sunday", "working_weekday" (Mon-Fri, not a public holiday), "impossible"."""
    ald: str = "false"
    own_patient: bool = False
    """A patient seen in this row only: the code has a per-patient frequency limit."""
    seeded_error: bool = False


MIX: tuple[Situation, ...] = (
    Situation("adult_g", 0.44, "office", "consultation", "G"),
    Situation("child_g_undercoded", 0.02, "office", "consultation", "G", ages=(0, 5)),
    Situation("child_meg", 0.10, "office", "consultation", "G;MEG", ages=(0, 5)),
    Situation("coe", 0.02, "office", "child_exam_certificate", "COE", ages=(-8, -9),
              own_patient=True),
    Situation("home_visit", 0.09, "home", "visit", "VG;MD;IK", ages=(80, 99), km=True,
              ik_distance="true"),
    Situation("long_visit", 0.02, "home", "long_visit", "VL;MD;IK", ages=(80, 99), km=True,
              ik_distance="true", ald="true", own_patient=True),
    Situation("night_mn", 0.03, "office", "consultation", "G;MN", hours=(20, 24),
              emergency="true"),
    Situation("night_mm", 0.01, "office", "consultation", "G;MM", hours=(0, 6),
              emergency="true"),
    Situation("sunday_f", 0.02, "office", "consultation", "G;F", hours=(9, 12),
              emergency="true", date="sunday"),
    Situation("ecg", 0.04, "office", "consultation;DEQP003", "G;DEQP003"),
    Situation("tele", 0.06, "tele", "teleconsultation", "TCG"),
    Situation("claims_unknown", 0.07, "office", "consultation", "G;MN", emergency=None,
              time_known=False),
    Situation("err_mn_daytime", 0.02, "office", "consultation", "G;MN", seeded_error=True),
    Situation("err_cs_gp", 0.015, "office", "consultation", "CS", seeded_error=True),
    Situation("err_apc", 0.01, "office", "consultation", "APC", seeded_error=True),
    Situation("err_f_weekday", 0.01, "office", "consultation", "G;F", emergency="true",
              date="working_weekday", seeded_error=True),
    Situation("err_md_unjustified", 0.01, "home", "visit", "VG;MD", ages=(30, 60),
              seeded_error=True),
    Situation("err_unknown_code", 0.0075, "office", "consultation", "G;XYZ", seeded_error=True),
    Situation("err_bad_date", 0.0075, "office", "consultation", "G", date="impossible",
              seeded_error=True),
)

COLUMNS = (
    "id", "patient_id", "practitioner_id", "date", "time", "call_time", "place",
    "patient_age_years", "patient_age_months", "patient_ald",
    "practitioner_treating_doctor", "circumstances_emergency", "travel_ik_distance", "travel_km",
    "done", "claimed",
)  # fmt: skip


def generate(rows: int, seed: int = 7, start: int = 0) -> pa.Table:
    """``rows`` encounters of the documented mix (row ids from ``start``)."""
    return labelled(rows, seed, start)[0]


def labelled(rows: int, seed: int = 7, start: int = 0) -> tuple[pa.Table, list[str]]:
    """``generate``, and the name of each row's situation (in ``MIX``): what a test of the
    audit compares the verdicts with."""
    rng = np.random.default_rng(seed + start)
    shares = np.asarray([s.share for s in MIX])
    pick = rng.choice(len(MIX), size=rows, p=shares / shares.sum())
    index = pa.array(pick)

    def of(values: list[object]) -> pa.Array:
        return pa.array(values).take(index)

    first = np.datetime64("2024-01-01")
    days = rng.integers(0, 731, size=rows)
    dates = first + days
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    sunday = np.asarray([s.date == "sunday" for s in MIX])[pick]
    dates = np.where(sunday, dates - (weekday + 1) % 7, dates)
    working = np.asarray([s.date == "working_weekday" for s in MIX])[pick]
    dates = np.where(working, dates - np.maximum(weekday - 4, 0), dates)  # Sat, Sun -> Fri
    holidays = np.asarray(
        sorted(d for year in range(2023, 2027) for d in public_holidays(year)),
        dtype="datetime64[D]",
    )
    for _ in range(3):  # a week back until not a holiday (1 May and 8 May share a weekday)
        on_holiday = working & np.isin(dates.astype("datetime64[D]"), holidays)
        dates = np.where(on_holiday, dates - 7, dates)
    date_text = pa.array(dates.astype(str))
    impossible = np.asarray([s.date == "impossible" for s in MIX])[pick]
    date_text = pc.if_else(pa.array(impossible), "2025-02-30", date_text)

    low = np.asarray([s.hours[0] for s in MIX])[pick]
    high = np.asarray([s.hours[1] for s in MIX])[pick]
    minutes = low * 60 + rng.integers(0, 10**6, size=rows) % ((high - low) * 12) * 5
    clock = pa.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 24 * 60, 5)])
    time_text = clock.take(pa.array(minutes // 5))
    known = np.asarray([s.time_known for s in MIX])[pick]
    time_text = pc.if_else(pa.array(known), time_text, pa.scalar(None, pa.string()))
    # The call at the time of the act (the first call of a night or Sunday consultation): a
    # call time left out would keep every night majoration conditional on it.
    call_text = time_text

    age_low = np.asarray([s.ages[0] for s in MIX])[pick]
    age_high = np.asarray([s.ages[1] for s in MIX])[pick]
    ages = age_low + rng.integers(0, 10**6, size=rows) % (np.abs(age_high - age_low) + 1)
    infants = age_low < 0  # certificate exams: age 8 or 9 months, as years 0 + months
    ages = np.where(infants, 0, ages)
    km = np.where(np.asarray([s.km for s in MIX])[pick], rng.integers(1, 31, size=rows), 0)

    ids = pa.array(np.char.add("S", np.arange(start, start + rows).astype(str)))
    patient_numbers = rng.integers(0, max(rows // 5, 1), size=rows)
    own = np.asarray([s.own_patient for s in MIX])[pick]
    patients = pa.array(
        np.where(
            own,
            np.char.add("Q", np.arange(start, start + rows).astype(str)),
            np.char.add("P", patient_numbers.astype(str)),
        )
    )
    doctors = pa.array(np.char.add("D", (np.arange(start, start + rows) // 2000).astype(str)))
    table = pa.table(
        {
            "id": ids,
            "patient_id": patients,
            "practitioner_id": doctors,
            "date": date_text,
            "time": time_text,
            "call_time": call_text,
            "place": of([s.place for s in MIX]),
            "patient_age_years": pa.array(ages.astype(str)),
            "patient_age_months": pc.if_else(
                pa.array(infants),
                pa.array(rng.integers(8, 10, size=rows).astype(str)),
                pa.scalar("0"),
            ),
            "patient_ald": of([s.ald for s in MIX]),
            "practitioner_treating_doctor": pa.array(np.full(rows, "true")),
            "circumstances_emergency": of([s.emergency for s in MIX]),
            "travel_ik_distance": of([s.ik_distance for s in MIX]),
            "travel_km": pa.array(km.astype(str)),
            "done": of([s.done for s in MIX]),
            "claimed": of([s.claimed for s in MIX]),
        }
    )
    return table, [MIX[i].name for i in pick.tolist()]


FORMATS = ("parquet", "csv", "jsonl")


def write(
    path: Path, rows: int, seed: int = 7, chunk: int = 500_000, fmt: str | None = None
) -> Path:
    """Write ``rows`` encounters chunk by chunk (flat memory), as ``fmt`` or by the file's
    suffix (.parquet, .csv, .jsonl; Parquet otherwise).  Lists (``done``, ``claimed``) are
    ``;``-separated text in every format, which every reader of the audit accepts."""
    fmt = fmt or {".csv": "csv", ".jsonl": "jsonl"}.get(path.suffix.lower(), "parquet")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected {', '.join(FORMATS)}")
    writer: pq.ParquetWriter | None = None
    csv_writer: pacsv.CSVWriter | None = None
    with ExitStack() as stack:
        text = stack.enter_context(path.open("w", encoding="utf-8")) if fmt == "jsonl" else None
        for start in range(0, rows, chunk):
            table = generate(min(chunk, rows - start), seed, start)
            if fmt == "parquet":
                if writer is None:
                    writer = stack.enter_context(pq.ParquetWriter(path, table.schema))
                writer.write_table(table)
            elif fmt == "csv":
                if csv_writer is None:
                    csv_writer = stack.enter_context(pacsv.CSVWriter(path, table.schema))
                csv_writer.write_table(table)
            elif text is not None:
                for row in table.to_pylist():
                    text.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def today() -> dt.date:
    """The last date the generator draws (its dates stay in the past of any run after it)."""
    return dt.date(2025, 12, 31)
