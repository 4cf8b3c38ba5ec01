"""The column-wise context derivation of the batch audit equals ``derive`` on every encounter.

The batch audit never calls ``derive``; it parses each distinct cell once and computes ages with
numpy.  These tests generate encounters with every kind of value (unknown flags, age instead of
birth date, Alsace-Moselle holidays, bridge days, month ends, sector 2 without OPTAM known) and
check that both paths give the same context atoms, dimension by dimension.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngap.audit.columns import flatten
from ngap.audit.contexts import KEY_DIMS, ContextDeriver
from ngap.model.context import derive
from ngap.model.encounter import Encounter
from ngap.model.vocabulary import ACTIVITIES, CCAM_ACTS, TRIPS
from ngap.solver.engine import Nomenclature

TODAY = dt.date(2026, 11, 26)
FLAG = st.one_of(st.none(), st.booleans())
TRICKY_DATES = [
    dt.date(2024, 3, 29),  # Good Friday (Alsace-Moselle holiday)
    dt.date(2024, 12, 26),  # Saint Stephen (Alsace-Moselle)
    dt.date(2024, 5, 10),  # Friday after Ascension (bridge)
    dt.date(2025, 5, 9),
    dt.date(2024, 2, 29),
    dt.date(2025, 1, 1),
    dt.date(2024, 12, 31),
    dt.date(2023, 3, 31),
]


@st.composite
def encounters(draw: st.DrawFn) -> Encounter:
    date = draw(st.one_of(st.sampled_from(TRICKY_DATES), st.dates(dt.date(2022, 1, 1), TODAY)))
    patient: dict[str, Any] = {
        "sex": draw(st.sampled_from([None, "f", "m"])),
        "ald": draw(FLAG),
        "palliative": draw(FLAG),
        "has_treating_doctor": draw(FLAG),
    }
    how = draw(st.sampled_from(["birth", "age", "none"]))
    if how == "birth":
        # Month ends and short ages matter most: the child exam calendar counts in days.
        age_days = draw(st.one_of(st.integers(0, 800), st.integers(0, 100 * 365)))
        patient["birth_date"] = (date - dt.timedelta(days=age_days)).isoformat()
    elif how == "age":
        patient["age"] = {
            "years": draw(st.integers(0, 100)),
            "months": draw(st.integers(0, 11)),
            "days": draw(st.integers(0, 31)),
        }
    time = draw(
        st.one_of(
            st.none(), st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))
        )
    )
    activities = [*ACTIVITIES, *CCAM_ACTS]
    data: dict[str, Any] = {
        "date": date.isoformat(),
        "time": time,
        "call_time": draw(st.one_of(st.none(), st.sampled_from(["06:59", "07:00", "19:00"]))),
        "place": draw(st.sampled_from(["office", "home", "institution", "tele"])),
        **draw(
            st.sampled_from(
                [{"zone": "metro"}, {"zone": "drom"}, {"department": "971"},
                 {"zone": "drom", "department": "976"}, {"department": "metro"}]
            )
        ),
        "alsace_moselle": draw(st.booleans()),
        "pdsa_extended": draw(FLAG),
        "trip": draw(st.sampled_from(TRIPS)),
        "practitioner": {
            "specialty": draw(st.sampled_from(["gp", "gp_specialist"])),
            "sector": draw(st.sampled_from([None, "1", "2"])),
            "optam": draw(FLAG),
            "rate": draw(st.sampled_from([None, "opposable", "above"])),
            "treating_doctor": draw(FLAG),
        },
        "patient": patient,
        "circumstances": {"emergency": draw(FLAG), "regulated": draw(FLAG)},
        "travel": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"km": st.sampled_from([0, 3, 12.4, 37.5, 499]), "mountain": FLAG}
                ),
                st.fixed_dictionaries(
                    {"distance_km": st.sampled_from([0, 1.5, 2, 8.25, 250]),
                     "mountain": st.booleans()}
                ),
            )
        ),
        "done": draw(st.lists(st.sampled_from(activities), max_size=3, unique=True)),
        "claimed": ["G"],
    }
    return Encounter.model_validate(data)


@pytest.fixture(scope="module")
def deriver(nomenclature: Nomenclature) -> ContextDeriver:
    return ContextDeriver(nomenclature.eras, tuple(nomenclature.catalogue.codes), TODAY)


def _table(rows: list[Encounter]) -> pa.Table:
    flat = [flatten(e) for e in rows]
    names = list(flat[0])

    def text(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(value)
        return str(value)

    columns = {n: pa.array([text(r[n]) for r in flat], pa.string()) for n in names}
    # Lists stay lists (as in JSONL / Parquet): an empty list is "nothing", not unknown.
    for name in ("done", "claimed"):
        columns[name] = pa.array([r[name] for r in flat], pa.list_(pa.string()))
    columns["id"] = pa.array([str(i) for i in range(len(rows))])
    return pa.table(columns)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(encounters(), min_size=1, max_size=40))
def test_batch_derivation_equals_derive(deriver: ContextDeriver, rows: list[Encounter]) -> None:
    keys = deriver.keys(_table(rows))
    for r, enc in enumerate(rows):
        assert keys.errors[r] is None, keys.errors[r]
        key = tuple(keys.tables[d][keys.matrix[r, d]] for d in range(len(KEY_DIMS)))
        got = deriver.context_of(key, enc.date)
        want = derive(enc, deriver.eras)
        assert got.era == want.era
        assert got.km == want.km
        for dim, value in want.values.items():
            assert got.values[dim] == value, (dim, enc)
        assert set(got.values) == set(want.values)


def test_unknown_alsace_on_good_friday_is_either(deriver: ContextDeriver) -> None:
    table = pa.table(
        {
            "id": ["a", "b"],
            "date": ["2024-03-29", "2024-03-28"],
            "alsace_moselle": [None, None],
            "place": ["office"] * 2,
            "done": ["consultation"] * 2,
            "claimed": ["G"] * 2,
        }
    )
    keys = deriver.keys(table)
    day = KEY_DIMS.index("day")
    assert keys.tables[day][keys.matrix[0, day]] == frozenset({"weekday", "holiday"})
    assert keys.tables[day][keys.matrix[1, day]] == "weekday"


def test_birth_year_only_gives_the_bands_of_that_year(deriver: ContextDeriver) -> None:
    table = pa.table(
        {
            "id": ["a", "b"],
            "date": ["2024-06-01", "2024-06-01"],
            "patient_birth_year": ["2024", "1950"],
            "place": ["office"] * 2,
            "done": ["consultation"] * 2,
            "claimed": ["G"] * 2,
        }
    )
    keys = deriver.keys(table)
    window = KEY_DIMS.index("exam_window")
    age = KEY_DIMS.index("age")
    infant = keys.tables[window][keys.matrix[0, window]]
    assert isinstance(infant, frozenset) and {"coe", "mandatory"} <= infant
    assert keys.tables[window][keys.matrix[1, window]] == "none"
    assert isinstance(keys.tables[age][keys.matrix[1, age]], str)


@settings(max_examples=150, deadline=None)
@given(
    on=st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2026, 12, 1)),
    back=st.integers(min_value=0, max_value=25),
)
def test_birth_year_sets_equal_every_birth_date_of_the_year(on: dt.date, back: int) -> None:
    """The column-wise sets of bands and windows over a birth year are those of every birth
    date of that year, one by one (``age_band``, ``exam_window``)."""
    from ngap.audit.contexts import _year_only
    from ngap.model.child_exams import age_band, exam_window

    year = on.year - back
    births = [
        dt.date(year, 1, 1) + dt.timedelta(days=d)
        for d in range((min(dt.date(year, 12, 31), on) - dt.date(year, 1, 1)).days + 1)
    ]
    bands = {age_band(b, on) for b in births}
    windows = {exam_window(b, on) for b in births}

    def one(values: set[str]) -> object:
        return next(iter(values)) if len(values) == 1 else frozenset(values)

    assert _year_only(year, on) == (one(bands), one(windows))
