"""One cell of an encounter table: text in, a checked value (or the reason it is wrong) out.

The audit core calls these once per *distinct* value of a column in a chunk, never once per row,
so that a million rows with a few thousand distinct values cost a few thousand calls.  Every
message names what was expected, because it ends up in the ``reason`` of a ``bad_input`` row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Collection
from typing import Any

from ngap.audit.columns import Column
from ngap.model.encounter import KNOWN_DONE

Parsed = tuple[Any, str | None]
"""(value, None) or (None, what is wrong)."""

TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t", "oui", "vrai", "o"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f", "non", "faux"})
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})([ T].*)?$")
_SEPARATORS = re.compile(r"[;,+\s]+")

RANGES: dict[str, tuple[float, float]] = {
    "patient_age_years": (0, 130),
    "patient_age_months": (0, 11),
    "patient_age_days": (0, 31),
    "patient_birth_year": (1880, 2100),
    "travel_km": (0, 500),
    "travel_distance_km": (0, 250),
}


def parse_date(text: str) -> Parsed:
    match = _DATE.match(text)
    if not match:
        return None, f"{text!r} is not a date YYYY-MM-DD"
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])), None
    except ValueError:
        return None, f"{text!r} is not a date of the calendar"


def parse_time(text: str) -> Parsed:
    match = _TIME.match(text)
    if not match:
        return None, f"{text!r} is not a time HH:MM between 00:00 and 23:59"
    return int(match[1]) * 60 + int(match[2]), None


def parse_flag(text: str) -> Parsed:
    word = text.lower()
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return None, f"{text!r} is not yes/no (true, false, 1, 0, oui, non)"


def _number(text: str, column: str, integral: bool) -> Parsed:
    try:
        value = float(text)
    except ValueError:
        return None, f"{text!r} is not a number"
    if value != value or value in (float("inf"), float("-inf")):
        return None, f"{text!r} is not a number"
    if integral:
        if value != int(value):
            return None, f"{text!r} is not a whole number"
        value = int(value)
    low, high = RANGES.get(column, (float("-inf"), float("inf")))
    if not low <= value <= high:
        return None, f"{text} is outside {low:g}..{high:g}"
    return value, None


def parse_choice(text: str, choices: tuple[str, ...]) -> Parsed:
    if text in choices:
        return text, None
    lowered = text.lower()
    if lowered in choices:
        return lowered, None
    if lowered.endswith(".0") and lowered[:-2] in choices:  # a sector read as a number
        return lowered[:-2], None
    close = difflib.get_close_matches(lowered, choices, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return None, f"{text!r} is not one of {', '.join(choices)}{hint}"


def parse_codes(text: str, known: Collection[str], what: str, upper: bool) -> Parsed:
    items = [i for i in _SEPARATORS.split(text) if i]
    out: list[str] = []
    for item in items:
        name = item.upper() if upper else item
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3)
            # A bare CCAM modifier letter (M, P, S...) is written MOD_M, MOD_P...
            if f"MOD_{name}" in known:
                close = [f"MOD_{name}", *(c for c in close if c != f"MOD_{name}")][:3]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return None, f"unknown {what} {item!r}{hint}"
        out.append(name)
    return tuple(out), None


def cell_parser(column: Column, codes: Collection[str]) -> Callable[[str], Parsed]:
    """The parser of one column's non-empty cells (``codes``: the claimable codes)."""
    name = column.name
    if column.kind == "date":
        return parse_date
    if column.kind == "time":
        return parse_time
    if column.kind == "flag":
        return parse_flag
    if column.kind in ("int", "float"):
        integral = column.kind == "int"
        return lambda text: _number(text, name, integral)
    if column.kind == "choice":
        choices = column.choices
        return lambda text: parse_choice(text, choices)
    if column.kind == "codes" and name == "done":
        return lambda text: parse_codes(text, KNOWN_DONE, "activity", upper=False)
    if column.kind == "codes":
        return lambda text: parse_codes(text, codes, "code", upper=True)
    return lambda text: (text, None)


def empty_value(column: Column) -> Parsed:
    """What an empty cell means: unknown (None), except where the table layout says otherwise."""
    if column.name in ("id", "date"):
        return None, "empty, but required"
    if column.name == "claimed":
        return (), None  # nothing claimed
    if column.name == "travel_km":
        return 0.0, None  # no kilometre allowance claimed
    return None, None


def missing_value(column: Column) -> Parsed:
    """What a column left out of the file means: the encounter model's default."""
    if column.name in ("place", "done"):
        return None, None  # not recorded: unknown, judged conditionally
    if column.required:
        return None, "column missing from the file"
    if column.name.startswith("patient_age_") or column.name in ("patient_birth_date",):
        return None, None  # no age given
    return column.default, None
