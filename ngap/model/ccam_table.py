"""The official CCAM table of the acts a GP bills, read as shipped (``data/ccam_gp.csv``).

The file is a verbatim copy of the reference extract of the CCAM (versions 67, 78 and 81, both
tariff grids, the modifiers each version lists; see docs/ccam.md).  This module only reads it:
it has no dependency on the rest of the model, so that the closed vocabulary
(``ngap.model.vocabulary``) and the catalogue loader (``ngap.model.ccam``) share one list of acts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

TABLE = "ccam_gp.csv"
COLUMNS = (
    "code",
    "label",
    "activity",
    "phase",
    "ccam_version",
    "applicable_from",
    "tariff_s1_optam",
    "tariff_other",
    "modifiers",
)


class CcamTableError(ValueError):
    """The shipped CCAM table is malformed (a defect of the package, not of the input)."""


@dataclass(frozen=True)
class CcamRow:
    """One act in one CCAM version: its official label, both tariffs (cents), its modifiers."""

    code: str
    label: str
    version: int
    applicable_from: dt.date
    s1_optam_cents: int
    other_cents: int
    modifiers: tuple[str, ...]


def _cents(text: str, where: str) -> int:
    # The reference file writes a zero tariff as 0.00 (the CCAM printed an empty cell).
    amount = Decimal(text or "0") * 100
    if amount != amount.to_integral_value() or amount < 0:
        raise CcamTableError(f"{where}: bad amount {text!r}")
    return int(amount)


@lru_cache(maxsize=1)
def read_table() -> tuple[CcamRow, ...]:
    """Every row of the table, in file order (act by act, versions ascending)."""
    text = resources.files("ngap.model").joinpath("data", TABLE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise CcamTableError(f"{TABLE}: unexpected header {reader.fieldnames}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        where = f"{TABLE}:{number}"
        if raw["activity"] != "1" or raw["phase"] != "0":
            raise CcamTableError(f"{where}: only activity 1, phase 0 is expected")
        rows.append(
            CcamRow(
                code=raw["code"],
                label=raw["label"],
                version=int(raw["ccam_version"]),
                applicable_from=dt.date.fromisoformat(raw["applicable_from"]),
                s1_optam_cents=_cents(raw["tariff_s1_optam"], where),
                other_cents=_cents(raw["tariff_other"], where),
                modifiers=tuple(m for m in raw["modifiers"].split("|") if m),
            )
        )
    return tuple(rows)


def rows_by_act() -> dict[str, tuple[CcamRow, ...]]:
    """The rows of each act, versions ascending, acts in file order."""
    grouped: dict[str, list[CcamRow]] = {}
    for row in read_table():
        grouped.setdefault(row.code, []).append(row)
    return {code: tuple(sorted(rows, key=lambda r: r.version)) for code, rows in grouped.items()}


def act_codes() -> tuple[str, ...]:
    """The CCAM codes of the table, in file order."""
    return tuple(rows_by_act())


def official_labels() -> dict[str, str]:
    """The official French label of each act (the latest version's wording)."""
    return {code: rows[-1].label for code, rows in rows_by_act().items()}
