"""The context atoms of a whole chunk of encounter rows, derived column-wise.

``ngap.model.context.derive`` turns one encounter into the closed context atoms of the rule base.
Calling it per row would cost tens of microseconds a row; here the same derivation runs on
columns: every cell is parsed once per distinct value (``cells``), calendar facts are computed
once per distinct date, ages with numpy.  The result is, for each row, a small tuple of
canonical values (``RowKey``) from which ``context_of`` rebuilds exactly the ``Context`` that
``derive`` gives (a property test checks the two agree on random encounters).

Unknown stays unknown: an empty cell leaves its dimension open (``None``), a value known only
up to a set (Alsace-Moselle unknown on Good Friday, OPTAM unknown for sector 2, birth year only)
becomes the set of possible values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ngap.audit.cells import cell_parser, empty_value, missing_value
from ngap.audit.columns import INPUT_COLUMNS, Column
from ngap.model import calendar as cal
from ngap.model.child_exams import CALENDAR_2025, exam_window_of
from ngap.model.context import Context, Value, department_value, flag_value, sector_value
from ngap.model.encounter import billable_km
from ngap.model.eras import COVERAGE_START, DateOutOfRange, Era, era_of
from ngap.model.vocabulary import ACTIVITIES, AGE_THRESHOLDS, CCAM_ACTS, DEPARTMENTS, KM_BITS

EPOCH = dt.date(1970, 1, 1)
FLAG_COLUMNS: dict[str, str] = {
    c.name: c.path[-1]
    for c in INPUT_COLUMNS.values()
    if c.kind == "flag" and c.path and c.path[0] in ("patient", "circumstances", "travel")
}
"""Yes/no columns of the patient, circumstances and travel sections -> their context dimension."""
FLAG_COLUMNS["practitioner_treating_doctor"] = "treating"
FLAG_COLUMNS["pdsa_extended"] = "pdsa_extended"

KEY_DIMS: tuple[str, ...] = (
    "era",
    "day",
    "bridge",
    "hour",
    "call",
    "place",
    "zone",
    "department",
    "specialty",
    "sector",
    "rate",
    "sex",
    "age",
    "exam_window",
    "trip",
    *FLAG_COLUMNS.values(),
    "km",
    "done",
    "claimed",
)
"""What a row's verdict depends on: the context dimensions plus km, activities and claim."""

RowKey = tuple[Any, ...]
_MAX_DAYS = max(t.days for t in AGE_THRESHOLDS) + 16
_MAX_MONTHS = max(t.months for t in AGE_THRESHOLDS) + 1


@dataclass
class Coded:
    """One column of a chunk: a code per row and, per code, the value (or what is wrong)."""

    codes: np.ndarray
    values: list[Any]
    errors: list[str | None]

    def value_array(self) -> list[Any]:
        return self.values


def as_text(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Any Arrow column as trimmed text (lists joined with ';', dates as ISO), '' as null."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        array = pc.binary_join(pc.cast(array, pa.list_(pa.string())), ";")
        # An empty list is an explicit "nothing", not unknown: keep it as "".
        return array
    if pa.types.is_timestamp(kind):
        array = pc.cast(pc.cast(array, pa.date32()), pa.string())
    elif pa.types.is_dictionary(kind):
        array = pc.cast(array.dictionary_decode(), pa.string())
    elif not pa.types.is_string(kind):
        array = pc.cast(array, pa.string())
    array = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def encode(table: pa.Table, column: Column, claimable: Sequence[str]) -> Coded:
    """Dictionary-encode one column and parse each distinct value once."""
    n = table.num_rows
    if column.name not in table.column_names:
        value, error = missing_value(column)
        return Coded(np.zeros(n, dtype=np.int32), [value], [error])
    raw = table.column(column.name)
    if column.kind == "text":
        # Keys and ids never enter a verdict: only an empty required id is worth a look, and
        # parsing a million distinct ids one by one would cost more than the rest of the row.
        if not column.required:
            return Coded(np.zeros(n, dtype=np.int32), [None], [None])
        empty = pc.is_null(as_text(raw)).to_numpy(zero_copy_only=False)
        return Coded(empty.astype(np.int32), ["(given)", None], [None, empty_value(column)[1]])
    listed = pa.types.is_list(raw.type) or pa.types.is_large_list(raw.type)
    text = as_text(raw)
    encoded = pc.dictionary_encode(text)
    uniques = encoded.dictionary.to_pylist()
    parse = cell_parser(column, claimable)
    values: list[Any] = []
    errors: list[str | None] = []
    for item in uniques:
        if item == "" and listed:  # an empty list: nothing done / claimed, else an empty cell
            value, error = ((), None) if column.kind == "codes" else empty_value(column)
        else:
            value, error = parse(item)
        values.append(value)
        errors.append(error)
    value, error = empty_value(column)
    values.append(value)
    errors.append(error)
    codes = encoded.indices.fill_null(len(uniques)).to_numpy(zero_copy_only=False)
    return Coded(codes.astype(np.int32), values, errors)


class Interner:
    """Canonical value <-> small int, for one key dimension (closed vocabulary: stays small)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.index: dict[Any, int] = {}

    def code(self, value: Any) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found

    def codes(self, values: Sequence[Any]) -> np.ndarray:
        return np.fromiter((self.code(v) for v in values), dtype=np.int32, count=len(values))


def combine(columns: Sequence[Coded], fn: Callable[..., Any], interner: Interner) -> np.ndarray:
    """Apply ``fn`` to each distinct combination of the columns' values, row codes out."""
    packed = np.zeros(len(columns[0].codes), dtype=np.int64)
    for col in columns:
        packed = packed * (len(col.values) + 1) + col.codes
    uniques, inverse = np.unique(packed, return_inverse=True)
    results = []
    for key in uniques.tolist():
        parts = []
        for col in reversed(columns):
            key, code = divmod(key, len(col.values) + 1)
            parts.append(col.values[code])
        results.append(interner.code(fn(*reversed(parts))))
    return np.asarray(results, dtype=np.int32)[inverse.reshape(-1)]


def _billable_km(km: float | None, distance: float | None, mountain: bool | None) -> float:
    """Billable km of a row, as the encounter model computes them (NGAP art. 13 C)."""
    if distance is not None and mountain is None:
        return 0.0  # the row is bad input (see _distance_errors)
    return billable_km(km or 0.0, distance, mountain)


def _either(fn: Callable[[bool], Any], alsace: bool | None) -> Value:
    if alsace is not None:
        return fn(alsace)  # type: ignore[no-any-return]
    both = {fn(False), fn(True)}
    return next(iter(both)) if len(both) == 1 else frozenset(both)


@lru_cache(maxsize=8192)
def _year_only(year: int, on: dt.date) -> tuple[Value, Value]:
    """Age band and exam window when only the birth year is known: the set over that year.

    Every birth date of the year is tried, column-wise: the band and the window depend only on
    the completed months and the days of age (capped where no threshold lies beyond), so a
    year's 366 birth dates come down to a few dozen distinct ages to look up.
    """
    first = dt.date(year, 1, 1)
    last = min(dt.date(year, 12, 31), on)
    if first > on:
        return None, None
    from ngap.model.child_exams import age_band_of, exam_window_of

    births = np.arange((first - EPOCH).days, (last - EPOCH).days + 1, dtype=np.int64)
    on_days = np.full(len(births), (on - EPOCH).days, dtype=np.int64)
    months = np.minimum(_completed_months(births, on_days), _MAX_MONTHS).tolist()
    days = np.minimum(on_days - births, _MAX_DAYS).tolist()
    ages = set(zip(months, days, strict=True))
    calendar_2025 = on >= CALENDAR_2025
    bands = {age_band_of(m, d) for m, d in ages}
    windows = {exam_window_of(m, d, calendar_2025) for m, d in ages}

    def one(values: set[str]) -> Value:
        return next(iter(values)) if len(values) == 1 else frozenset(values)

    return one(bands), one(windows)


@dataclass
class ChunkKeys:
    """The key of every row of a chunk, and the rows that cannot be judged."""

    matrix: np.ndarray
    """rows x KEY_DIMS codes; ``tables[d][matrix[r, d]]`` is the canonical value."""
    tables: list[list[Any]]
    errors: list[str | None]
    """Per row: None, or why the row is bad input (every faulty column named)."""
    dates: pa.Array
    """Per row: the ISO date (None when unreadable)."""
    age_months: np.ndarray
    """Completed months of age on the date, -1 when not known to the day."""
    coded: dict[str, Coded]


class ContextDeriver:
    """Derives row keys for chunks; shared interners keep codes stable across chunks."""

    def __init__(self, eras: tuple[Era, ...], claimable: Sequence[str], today: dt.date):
        self.eras = eras
        self.claimable = tuple(claimable)
        self.today = today
        self.interners = {dim: Interner() for dim in KEY_DIMS}

    # ------------------------------------------------------------------ per distinct date
    def _date_facts(self, day: dt.date | None) -> tuple[int, str | None]:
        """(era index or -1, why the date cannot be judged)."""
        if day is None:
            return -1, None
        if day > self.today:
            return -1, f"date {day.isoformat()} is in the future"
        try:
            return era_of(self.eras, day).index, None
        except DateOutOfRange:
            return -1, (
                f"date {day.isoformat()} is before {COVERAGE_START.isoformat()}, "
                "the first day the rules are known for"
            )

    def keys(self, table: pa.Table) -> ChunkKeys:
        n = table.num_rows
        coded = {name: encode(table, col, self.claimable) for name, col in INPUT_COLUMNS.items()}
        errors = self._cell_errors(coded, n)
        dims: dict[str, np.ndarray] = {}
        intern = self.interners

        date = coded["date"]
        facts = [self._date_facts(d) for d in date.values]
        date_errors = [f for _, f in facts]
        for row in np.flatnonzero(np.asarray(date_errors, dtype=object)[date.codes] != None):  # noqa: E711
            errors[row] = _join(errors[row], f"date: {date_errors[date.codes[row]]}")
        era_values = [str(e) if e > 0 else None for e, _ in facts]
        dims["era"] = intern["era"].codes(era_values)[date.codes]

        alsace = coded["alsace_moselle"]
        dims["day"] = combine(
            [date, alsace],
            lambda d, a: None if d is None else _either(lambda x: cal.day_type(d, x), a),
            intern["day"],
        )
        dims["bridge"] = combine(
            [date, alsace],
            lambda d, a: (
                None
                if d is None
                else _either(lambda x: "yes" if cal.is_bridge_day(d, x) else "no", a)
            ),
            intern["bridge"],
        )
        dims["hour"] = combine(
            [coded["time"]], lambda m: None if m is None else cal.hour_band(m), intern["hour"]
        )
        dims["call"] = combine(
            [coded["call_time"]], lambda m: None if m is None else cal.call_band(m), intern["call"]
        )
        for dim, name in (
            ("place", "place"),
            ("zone", "zone"),
            ("specialty", "practitioner_specialty"),
            ("rate", "practitioner_rate"),
            ("sex", "patient_sex"),
            ("trip", "trip"),
        ):
            dims[dim] = intern[dim].codes(coded[name].values)[coded[name].codes]
        dims["department"] = combine(
            [coded["zone"], coded["department"]], department_value, intern["department"]
        )
        self._department_errors(coded, errors)
        dims["sector"] = combine(
            [coded["practitioner_sector"], coded["practitioner_optam"]],
            sector_value,
            intern["sector"],
        )
        for name, dim in FLAG_COLUMNS.items():
            values = [flag_value(v) for v in coded[name].values]
            dims[dim] = intern[dim].codes(values)[coded[name].codes]
        age_months = self._ages(coded, dims, errors, n)

        tables = [intern[d].values for d in KEY_DIMS[:-3]]
        done, claimed = coded["done"], coded["claimed"]
        travel = [coded[c] for c in ("travel_km", "travel_distance_km", "travel_mountain")]
        km_codes = combine(travel, _billable_km, intern["km"])
        self._distance_errors(travel, errors)
        matrix = np.empty((n, len(KEY_DIMS)), dtype=np.int32)
        for i, dim in enumerate(KEY_DIMS[:-3]):
            matrix[:, i] = dims[dim]
        matrix[:, -3] = km_codes
        matrix[:, -2] = done.codes
        matrix[:, -1] = claimed.codes
        tables += [intern["km"].values, done.values, claimed.values]
        iso = [d.isoformat() if d is not None else None for d in date.values]
        dates = pa.array(iso, pa.string()).take(pa.array(date.codes))
        return ChunkKeys(matrix, tables, errors, dates, age_months, coded)

    @staticmethod
    def _department_errors(coded: dict[str, Coded], errors: list[str | None]) -> None:
        """A department outside the zone written on the row (the encounter model refuses it)."""
        zone, department = coded["zone"], coded["department"]
        for row in range(len(errors)):
            z, d = zone.values[zone.codes[row]], department.values[department.codes[row]]
            if d is not None and z is not None and (d in DEPARTMENTS) != (z == "drom"):
                errors[row] = _join(errors[row], f"department: {d} is not in zone {z}")

    @staticmethod
    def _distance_errors(travel: list[Coded], errors: list[str | None]) -> None:
        """Billable km and a distance both given, or a distance without the mountain flag."""
        km, distance, mountain = travel
        for row in np.flatnonzero(
            np.asarray([v is not None for v in distance.values], dtype=bool)[distance.codes]
        ).tolist():
            if km.values[km.codes[row]]:
                errors[row] = _join(errors[row], "travel_distance_km: give it or travel_km")
            if mountain.values[mountain.codes[row]] is None:
                errors[row] = _join(
                    errors[row], "travel_distance_km: travel_mountain must be stated"
                )

    @staticmethod
    def _cell_errors(coded: dict[str, Coded], n: int) -> list[str | None]:
        errors: list[str | None] = [None] * n
        for name, col in coded.items():
            bad_codes = [i for i, e in enumerate(col.errors) if e is not None]
            if not bad_codes:
                continue
            for row in np.flatnonzero(np.isin(col.codes, bad_codes)).tolist():
                errors[row] = _join(errors[row], f"{name}: {col.errors[col.codes[row]]}")
        return errors

    # ------------------------------------------------------------------ ages, column-wise
    def _ages(
        self,
        coded: dict[str, Coded],
        dims: dict[str, np.ndarray],
        errors: list[str | None],
        n: int,
    ) -> np.ndarray:
        """Age band and exam window of every row (numpy), as ``derive`` computes them."""
        date, birth = coded["date"], coded["patient_birth_date"]
        on = _days(date.values)[date.codes]
        born = _days(birth.values)[birth.codes]
        ages = [coded[f"patient_age_{u}"] for u in ("years", "months", "days")]
        parts = [_ints(a.values)[a.codes] for a in ages]
        has_age = (parts[0] >= 0) | (parts[1] >= 0) | (parts[2] >= 0)
        has_birth = born != _NONE
        known_on = on != _NONE
        both = has_age & has_birth
        for row in np.flatnonzero(both).tolist():
            errors[row] = _join(errors[row], "patient: give the birth date or the age, not both")
        # Age given as completed years / months / days: birth = date - months - days.
        years, months, days_ = (np.maximum(p, 0) for p in parts)
        born = np.where(has_age & ~has_birth & known_on, _minus_age(on, years, months, days_), born)
        exact = (born != _NONE) & known_on & ~both
        after = exact & (born > on)
        for row in np.flatnonzero(after).tolist():
            errors[row] = _join(errors[row], "patient_birth_date: after the date of the encounter")
        exact &= ~after
        completed = np.where(exact, _completed_months(born, on), -1)
        age_days = np.where(exact, on - born, -1)
        band_code = np.zeros(n, dtype=np.int64)
        for t in AGE_THRESHOLDS:
            band_code += (age_days >= t.days) if t.months == 0 else (completed >= t.months)
        cal25 = on >= (CALENDAR_2025 - EPOCH).days
        window_key = (
            np.minimum(completed, _MAX_MONTHS) * (_MAX_DAYS + 1) + np.minimum(age_days, _MAX_DAYS)
        ) * 2 + cal25
        band_values: list[Value] = [f"a{b}" for b in range(len(AGE_THRESHOLDS) + 1)]
        age_dim = self.interners["age"]
        window_dim = self.interners["exam_window"]
        band_codes = age_dim.codes(band_values)[band_code]
        uniq, inverse = np.unique(np.where(exact, window_key, -1), return_inverse=True)
        window_codes = np.empty(len(uniq), dtype=np.int32)
        for i, key in enumerate(uniq.tolist()):
            if key < 0:
                window_codes[i] = window_dim.code(None)
                continue
            rest, is25 = divmod(key, 2)
            m, d = divmod(rest, _MAX_DAYS + 1)
            window_codes[i] = window_dim.code(exam_window_of(m, d, bool(is25)))
        windows = window_codes[inverse.reshape(-1)]
        unknown_age = age_dim.code(None)
        band_codes = np.where(exact, band_codes, unknown_age)
        # Birth year only (SNDS): the sets of bands and windows possible over that year.
        year = coded["patient_birth_year"]
        only_year = (
            ~exact
            & ~both
            & ~has_birth
            & ~has_age
            & known_on
            & (_ints(year.values)[year.codes] >= 0)
        )
        if only_year.any():
            self._year_only(only_year, year, date, band_codes, windows)
        dims["age"] = band_codes.astype(np.int32)
        dims["exam_window"] = windows.astype(np.int32)
        return np.where(exact, completed, -1).astype(np.int32)

    def _year_only(
        self, rows: np.ndarray, year: Coded, date: Coded, bands: np.ndarray, windows: np.ndarray
    ) -> None:
        packed = year.codes.astype(np.int64) * (len(date.values) + 1) + date.codes
        where = np.flatnonzero(rows)
        keys, inverse = np.unique(packed[where], return_inverse=True)
        band_of = np.empty(len(keys), dtype=bands.dtype)
        window_of = np.empty(len(keys), dtype=windows.dtype)
        for i, key in enumerate(keys.tolist()):
            y, d = divmod(key, len(date.values) + 1)
            band, window = _year_only(int(year.values[y]), date.values[d])
            band_of[i] = self.interners["age"].code(band)
            window_of[i] = self.interners["exam_window"].code(window)
        bands[where] = band_of[inverse.reshape(-1)]
        windows[where] = window_of[inverse.reshape(-1)]

    # ------------------------------------------------------------------ key -> Context
    def context_of(self, key: RowKey, day: dt.date | None = None) -> Context:
        """The ``Context`` that ``derive`` gives for any encounter with this key."""
        values: dict[str, Value] = dict(zip(KEY_DIMS[:-3], key[:-3], strict=True))
        km, done, _claimed = key[-3:]
        era = self.eras[int(values["era"]) - 1]  # type: ignore[arg-type]
        rounded = round(km)
        for bit in range(KM_BITS):
            values[f"km_bit_{bit}"] = "yes" if rounded >> bit & 1 else "no"
        for activity in (*ACTIVITIES, *CCAM_ACTS):
            values[f"done:{activity}"] = (
                None if done is None else ("yes" if activity in done else "no")
            )
        return Context(era=era, values=values, km=float(km), date=day)


_NONE = np.iinfo(np.int64).min


def _join(first: str | None, second: str) -> str:
    return second if first is None else f"{first}; {second}"


def _days(values: Sequence[Any]) -> np.ndarray:
    return np.asarray(
        [(v - EPOCH).days if isinstance(v, dt.date) else _NONE for v in values], dtype=np.int64
    )


def _ints(values: Sequence[Any]) -> np.ndarray:
    return np.asarray([int(v) if v is not None else -1 for v in values], dtype=np.int64)


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d64 = days.astype("datetime64[D]")
    month = d64.astype("datetime64[M]")
    y = month.astype(np.int64) // 12 + 1970
    m = month.astype(np.int64) % 12 + 1
    d = (d64 - month.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def _month_length(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    month = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    length = (month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")
    return np.asarray(length.astype(np.int64))


def _completed_months(born: np.ndarray, on: np.ndarray) -> np.ndarray:
    """child_exams.completed_months, column-wise (add_months clamps to the month's end)."""
    safe_born = np.where(born == _NONE, 0, born)
    safe_on = np.where(on == _NONE, 0, on)
    by, bm, bd = _ymd(safe_born)
    oy, om, od = _ymd(safe_on)
    months = (oy - by) * 12 + (om - bm)
    landed = np.minimum(bd, _month_length(oy, om))
    return np.asarray(months - ((months > 0) & (landed > od)))


def _minus_age(
    on: np.ndarray, years: np.ndarray, months: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """context._birth, column-wise: add_months(date, -(12 y + m)) - d days."""
    safe_on = np.where(on == _NONE, 0, on)
    oy, om, od = _ymd(safe_on)
    index = oy * 12 + (om - 1) - (12 * years + months)
    y, m0 = np.divmod(index, 12)
    m = m0 + 1
    d = np.minimum(od, _month_length(y, m))
    month = ((y - 1970) * 12 + m0).astype("datetime64[M]").astype("datetime64[D]")
    return np.asarray(month.astype(np.int64) + (d - 1) - days)
