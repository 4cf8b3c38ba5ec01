"""Catalogue codes of the CCAM acts, built from the official table and the project's data.

The official figures (``data/ccam_gp.csv``: CCAM versions 67, 78 and 81, both grids, modifier
lists) are read by ``ngap.model.ccam_table``; ``data/ccam.yaml`` adds what the table does not
say (English label, conditions implied by the label, cumulation class, DROM coefficient, the CCAM
modifiers).  Only three versions were read, so a value is official on its version's date and
carried to the dates around it with a lower grade; the grading rule (docs/ccam.md) is written
once, here, not per act.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ngap.model.catalogue import (
    FAR_PAST,
    GRADES,
    CcamFacts,
    Code,
    KnowledgeBaseError,
    TariffStep,
    parse_codes,
    read_yaml,
)
from ngap.model.ccam_table import CcamRow, rows_by_act

COVERAGE_START = dt.date(2022, 1, 1)
"""First day the knowledge base answers for (as ngap.model.eras, which imports the catalogue)."""

VERSION_SOURCES = {67: "ameli-ccam-v67", 78: "ameli-ccam-v78", 81: "ameli-ccam-v81"}
CCAM_STEP_2025 = dt.date(2025, 1, 1)
"""First CCAM revaluation of the convention 2024 (work-point factor 0.44 -> 0.455 €; ameli,
28 Nov 2024).  No general CCAM revaluation happened between version 67 and this date."""
CCAM_STEP_SOURCE = "ameli-2024-11-28-ccam"
CUMUL_CLASSES = ("ecg", "smear", "biopsy", "spirometry", "supplement")
ARTICLES = {
    None: "CCAM (liste des actes et prestations); a consultation in the same session is not added "
    "to the act (CCAM livre III art. III-3 A, décision UNCAM 24 Mar 2017)",
    "ecg": "CCAM; cumul with C/CS/V/VS (G/VG) and APC at full rate: CCAM livre III art. III-3 A "
    "(décision UNCAM 24 Mar 2017)",
    "smear": "CCAM; cumul with the consultation at full rate since 1 Jul 2017 (décision UNCAM "
    "24 Mar 2017, CCAM III-3 A; 50 % from 22 Mar 2012), in HAS screening (women 25-65)",
    "biopsy": "CCAM livre III art. III-3 A §5 (décisions UNCAM 20 Dec 2011 and 17 Dec 2013): "
    "consultation 100 % + biopsy 50 %",
    "spirometry": "CCAM; full-rate cumul with a consultation at the opposable rate from 1 Jan 2026 "
    "(convention 2024 art. 83 + annex 22; décision UNCAM 29 Oct 2024 art. 5), never with APC",
    "supplement": "CCAM supplement; supplements paid at full rate (CCAM livre III art. III-3 B)",
}


def _worse(*grades: str) -> str:
    return max(grades, key=GRADES.index)


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


def grid_steps(rows: tuple[CcamRow, ...], grid: str) -> tuple[TariffStep, ...]:
    """Dated tariff steps of one act on one grid (``std`` or ``s2``), graded by docs/ccam.md.

    A version's value is official (O) from that version's date.  The first version's value is
    carried to 2022-01-01 (the first day the knowledge base answers for): S when the next
    version read has the same value (official at both ends, versions in between not read), K
    otherwise, and then the next version's value is dated from the CCAM revaluation of
    1 Jan 2025 (K) if that date falls between the two.
    """

    def cents(row: CcamRow) -> int:
        return row.s1_optam_cents if grid == "std" else row.other_cents

    steps: list[TariffStep] = []
    for i, row in enumerate(rows):
        source = VERSION_SOURCES[row.version]
        following = rows[i + 1] if i + 1 < len(rows) else None
        later = (
            f"; v{following.version} ({following.applicable_from}) has "
            + ("the same value" if cents(following) == cents(row) else _euros(cents(following)))
            if following
            else "; later versions not read"
        )
        if row.applicable_from > COVERAGE_START:
            note = (
                f"CCAM v{row.version}, official on {row.applicable_from}; the value may have "
                f"started earlier, in a version not read{later}"
            )
            steps.append(TariffStep(row.applicable_from, cents(row), "O", (source,), note=note))
            continue
        # The value of a version older than the coverage: official on its own date (for the
        # catalogue of that day), carried to 2022-01-01 with a lower grade.
        official = f"CCAM v{row.version}, official on {row.applicable_from}"
        steps.append(TariffStep(row.applicable_from, cents(row), "O", (source,), note=official))
        if following is None or cents(following) == cents(row):
            bracket = (source, VERSION_SOURCES[following.version]) if following else (source,)
            note = (
                f"CCAM v{row.version} official on {row.applicable_from}{later}: versions in "
                "between not read, very likely unchanged"
            )
            steps.append(TariffStep(COVERAGE_START, cents(row), "S", bracket, note=note))
            continue
        note = (
            f"CCAM v{row.version} official on {row.applicable_from}{later}: changed in a version "
            "not read, most likely at the CCAM revaluation of 1 Jan 2025 (no general CCAM "
            "revaluation before it), possibly earlier"
        )
        steps.append(TariffStep(COVERAGE_START, cents(row), "K", (source,), note=note))
        if COVERAGE_START < CCAM_STEP_2025 < following.applicable_from:
            note = (
                f"value of CCAM v{following.version} (official on {following.applicable_from}) "
                "from the CCAM revaluation of 1 Jan 2025 (work-point factor 0.455 €, ameli "
                "28 Nov 2024); the version in force in January 2025 was not read"
            )
            steps.append(
                TariffStep(
                    CCAM_STEP_2025,
                    cents(following),
                    "K",
                    (VERSION_SOURCES[following.version], CCAM_STEP_SOURCE),
                    note=note,
                )
            )
    return tuple(steps)


Coefficient = list[tuple[dt.date, Decimal | None, TariffStep]]
"""The DROM coefficient steps: (start, percent or None when unknown, grade / sources / note)."""


def _coefficient_steps(raw: list[dict[str, Any]]) -> Coefficient:
    out = []
    for i, item in enumerate(raw):
        where = f"ccam.yaml:drom_coefficient[{i}]"
        percent = item.get("percent")
        step = TariffStep(
            start=dt.date.fromisoformat(str(item["from"])),
            cents=None,
            grade=str(item.get("grade", "?")),
            sources=tuple(item.get("sources") or ()),
            note=item.get("note"),
        )
        if step.grade not in GRADES:
            raise KnowledgeBaseError(f"{where}: bad grade {step.grade!r}")
        out.append((step.start, Decimal(str(percent)) if percent is not None else None, step))
    return out


def drom_steps(
    metro: tuple[TariffStep, ...],
    coefficient: Coefficient,
    applies: bool,
) -> tuple[TariffStep, ...]:
    """Overseas steps: the metropolitan value raised by the CCAM DROM coefficient in force.

    Cut at every date either changes.  The rounding of the raised value is not published
    (FMF): half up to the cent, said in the note.  An act without the coefficient (``applies``
    false: the ECG home supplement) keeps its metropolitan value in the DROM.
    """
    starts = sorted({s.start for s in metro} | {d for d, _, _ in coefficient if applies})
    steps = []
    for day in starts:
        base = [s for s in metro if s.start <= day]
        if not base:
            continue
        m = base[-1]
        if not applies:
            note = "no DROM coefficient on this act (FMF): metropolitan value"
            sources = (*m.sources, "fmf-drom-ccam-avenant9")
            grade = _worse(m.grade, "K")
            steps.append(TariffStep(day, m.cents, grade, sources, note=note, zone="all"))
            continue
        current = [(p, c) for d, p, c in coefficient if d <= day]
        if not current:
            continue
        percent, coef = current[-1]
        sources = tuple(dict.fromkeys((*m.sources, *coef.sources)))
        if percent is None or m.cents is None:
            steps.append(TariffStep(day, None, "?", sources, note=coef.note, zone="all"))
            continue
        raised = (Decimal(m.cents) * (100 + percent) / 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        note = (
            f"metropolitan {_euros(m.cents)} + {percent} % (CCAM DROM coefficient), rounded half "
            "up to the cent (the rounding rule is not published)"
        )
        grade = _worse(m.grade, coef.grade)
        steps.append(TariffStep(day, int(raised), grade, sources, note=note, zone="all"))
    return tuple(steps)


def _act_code(
    code: str,
    rows: tuple[CcamRow, ...],
    item: dict[str, Any],
    coefficient: Coefficient,
) -> Code:
    where = f"ccam.yaml:acts.{code}"
    kind = str(item.get("kind", "ccam"))
    if kind not in ("ccam", "ccam_supplement"):
        raise KnowledgeBaseError(f"{where}: bad kind {kind!r}")
    cumul = item.get("cumul")
    if cumul is not None and cumul not in CUMUL_CLASSES:
        raise KnowledgeBaseError(f"{where}: bad cumul class {cumul!r}")
    applies = str(item.get("drom", "coefficient")) == "coefficient"
    std, s2 = grid_steps(rows, "std"), grid_steps(rows, "s2")
    versions = tuple(VERSION_SOURCES[r.version] for r in rows)
    note = f"In CCAM v{rows[0].version} ({rows[0].applicable_from}), creation date not researched."
    if item.get("note"):
        note += " " + str(item["note"])
    return Code(
        code=code,
        label_fr=rows[-1].label,
        label_en=str(item["label_en"]),
        nomenclature="CCAM",
        kind=kind,
        article=ARTICLES[cumul],
        valid_from=dt.date(2002, 1, 1),
        valid_to=dt.date(2099, 12, 31),
        sources=tuple(dict.fromkeys((*versions, *(item.get("sources") or ())))),
        tariffs=std,
        tariffs_non_optam=s2,
        drom=drom_steps(std, coefficient, applies),
        drom_non_optam=drom_steps(s2, coefficient, applies),
        note=note,
    )


def ccam_catalogue() -> tuple[dict[str, Code], CcamFacts]:
    """The CCAM codes (acts of the table, modifiers) and the facts the rule base needs."""
    data = read_yaml("ccam.yaml")
    acts: dict[str, Any] = data["acts"]
    table = rows_by_act()
    if set(acts) != set(table):
        missing, extra = sorted(set(table) - set(acts)), sorted(set(acts) - set(table))
        raise KnowledgeBaseError(f"ccam.yaml acts differ from the table: {missing} {extra}")
    coefficient = _coefficient_steps(data["drom_coefficient"])
    codes = {code: _act_code(code, rows, acts[code], coefficient) for code, rows in table.items()}
    modifiers = parse_codes({k: v for k, v in data["modifiers"].items()})
    for name, mod in modifiers.items():
        if mod.kind != "ccam_modifier" or mod.nomenclature != "CCAM":
            raise KnowledgeBaseError(f"ccam.yaml:modifiers.{name}: kind ccam_modifier expected")
    codes.update(modifiers)
    facts = CcamFacts(
        cumul={c: str(acts[c]["cumul"]) for c in table if acts[c].get("cumul")},
        sex={c: str(acts[c]["sex"]) for c in table if acts[c].get("sex")},
        age_below={c: str(acts[c]["age_below"]) for c in table if acts[c].get("age_below")},
        modifiers={
            c: tuple(
                (FAR_PAST if i == 0 else r.applicable_from, r.modifiers) for i, r in enumerate(rows)
            )
            for c, rows in table.items()
        },
        letters={name: str(data["modifiers"][name]["letter"]) for name in modifiers},
    )
    return codes, facts
