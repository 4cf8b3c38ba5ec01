"""Build ``encounters.parquet`` from ``encounters.csv`` with typed columns, as a data pipeline
would write it: dates as date32, yes/no as booleans, numbers as numbers, codes as lists.

Run: ``python examples/audit/make_parquet.py`` (the test suite checks the file is up to date).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
FLAGS = (
    "practitioner_treating_doctor",
    "patient_ald",
    "circumstances_emergency",
    "travel_ik_distance",
    "circumstances_discharge_45d",
    "circumstances_regulated",
)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None  # impossible dates cannot be typed: they stay out of this typed file


def build() -> pa.Table:
    with (HERE / "encounters.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if _date(r["date"]) is not None]
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [r[name] or None for r in rows]
        if name in ("date", "patient_birth_date"):
            columns[name] = pa.array([_date(v) if v else None for v in values], pa.date32())
        elif name in FLAGS:
            columns[name] = pa.array([None if v is None else v == "true" for v in values])
        elif name == "patient_age_years":
            columns[name] = pa.array([int(v) if v else None for v in values], pa.int16())
        elif name == "travel_km":
            columns[name] = pa.array([float(v) if v else None for v in values], pa.float64())
        elif name in ("done", "claimed"):
            columns[name] = pa.array(
                [v.split(";") if v else None for v in values], pa.list_(pa.string())
            )
        else:
            columns[name] = pa.array(values, pa.string())
    return pa.table(columns)


if __name__ == "__main__":
    pq.write_table(build(), HERE / "encounters.parquet")
