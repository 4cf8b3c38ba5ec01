"""The knowledge base as typed Python objects: codes, dated tariffs, sources and rules.

The data live in ``ngap/model/data/*.yaml`` (one place for every dated number, as in OpenFisca's
parameter files); this module only reads and checks them.  The ASP rule base receives them as
facts built from clingo symbols (``ngap.solver.program``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ngap.model.vocabulary import DEPARTMENTS

FAR_PAST = dt.date(1900, 1, 1)
FAR_FUTURE = dt.date(2099, 12, 31)

KINDS = (
    "act",
    "majoration",
    "travel",
    "ccam",
    "ccam_supplement",
    "ccam_modifier",
    "refined",
    "free",
)
GRADES = ("O", "S", "K", "?")


class KnowledgeBaseError(ValueError):
    """The shipped data are inconsistent (a defect of the knowledge base, not of the input)."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    date: dt.date | None
    url: str | None
    kind: str


@dataclass(frozen=True)
class TariffStep:
    """A tariff in force from ``start`` until the next step (or the code's end)."""

    start: dt.date
    cents: int | None
    grade: str
    sources: tuple[str, ...]
    not_billable: bool = False
    note: str | None = None
    zone: str = "all"

    @property
    def unconfirmed(self) -> bool:
        return self.grade == "?"


@dataclass(frozen=True)
class Code:
    code: str
    label_fr: str
    label_en: str
    nomenclature: str
    kind: str
    article: str
    valid_from: dt.date
    valid_to: dt.date
    sources: tuple[str, ...]
    tariffs: tuple[TariffStep, ...] = ()
    tariffs_non_optam: tuple[TariffStep, ...] = ()
    drom: tuple[TariffStep, ...] = ()
    drom_non_optam: tuple[TariffStep, ...] = ()
    """CCAM only: the overseas values of the sector 2 non-OPTAM grid."""
    refines: str | None = None
    note: str | None = None

    def step_on(
        self,
        day: dt.date,
        grid: str = "std",
        zone: str = "metro",
        department: str | None = None,
    ) -> TariffStep | None:
        """The tariff step in force on ``day`` (None outside the code's life or before any step).

        In the overseas zone, ``department`` (a name of ``DEPARTMENTS``: guadeloupe...) selects
        the steps common to every department and that department's own, the latest winning
        (its own on the same day); without it only the common steps count.
        """
        if not (self.valid_from <= day <= self.valid_to):
            return None
        steps = {"std": self.tariffs, "s2": self.tariffs_non_optam}[grid]
        if zone == "drom":
            # CCAM codes have overseas values on both grids; NGAP codes on one.
            overseas = {"std": self.drom, "s2": self.drom_non_optam}[grid]
            places = ("all",) if department is None else ("all", department)
            steps = tuple(
                sorted(
                    (s for s in overseas if s.zone in places),
                    key=lambda s: (s.start, s.zone != "all"),
                )
            )
        current = None
        for step in steps:
            if step.start <= day:
                current = step
        return current

    def department_steps(
        self, day: dt.date, grid: str = "std"
    ) -> dict[str, TariffStep | None]:
        """The overseas step of each department on ``day`` (INSEE number -> step)."""
        return {
            number: self.step_on(day, grid, "drom", name) for number, name in DEPARTMENTS.items()
        }

    def department_step(
        self, day: dt.date, department: str, grid: str = "std"
    ) -> TariffStep | None:
        """The step of a department value of the context: ``d971``..., or ``unknown`` (the
        common step, when every department has the same amount that day; else None)."""
        if department != "unknown":
            return self.step_on(day, grid, "drom", DEPARTMENTS[department[1:]])
        steps = self.department_steps(day, grid)
        amounts = {None if s is None else (s.cents, s.not_billable) for s in steps.values()}
        if len(amounts) != 1:
            return None
        return next(iter(steps.values()))

    def billable_on(self, day: dt.date) -> bool:
        if self.kind == "refined":
            return False
        if not (self.valid_from <= day <= self.valid_to):
            return False
        if self.kind == "free":
            return True
        step = self.step_on(day)
        return step is not None and not step.not_billable


@dataclass(frozen=True)
class RuleInfo:
    id: str
    file: str
    article: str
    source: str
    fr: str
    en: str
    start: dt.date = FAR_PAST
    end: dt.date = FAR_FUTURE
    kind: str = "condition"

    def message(self, lang: str, code: str | None, other: str | None) -> str:
        template = self.fr if lang == "fr" else self.en
        return template.format(code=code or "", other=other or "")


@dataclass(frozen=True)
class CcamFacts:
    """What the CCAM table and its project data say beyond prices (ngap/model/ccam.py)."""

    cumul: dict[str, str] = field(default_factory=dict)
    """Act -> cumulation class with a consultation (ecg, smear, biopsy, spirometry, supplement)."""
    sex: dict[str, str] = field(default_factory=dict)
    """Act -> the only sex it can be done on (CCAM label)."""
    age_below: dict[str, str] = field(default_factory=dict)
    """Act -> age threshold symbol the patient must be under (CCAM label)."""
    modifiers: dict[str, tuple[tuple[dt.date, tuple[str, ...]], ...]] = field(default_factory=dict)
    """Act -> (first day of a CCAM version, modifier letters that version lists)."""
    letters: dict[str, str] = field(default_factory=dict)
    """Modifier code (MOD_M) -> CCAM letter (M)."""

    def listed_on(self, act: str, day: dt.date) -> tuple[str, ...]:
        """Modifier letters the act's CCAM version in force on ``day`` lists."""
        versions = self.modifiers.get(act, ())
        # Before the first version read, that version's list is the best knowledge.
        current = versions[0][1] if versions else ()
        for start, letters in versions:
            if start <= day:
                current = letters
        return current


@dataclass(frozen=True)
class Catalogue:
    codes: dict[str, Code]
    sources: dict[str, Source]
    rules: dict[str, RuleInfo]
    refined: dict[str, str] = field(default_factory=dict)
    ccam: CcamFacts = field(default_factory=CcamFacts)

    def code(self, name: str) -> Code:
        return self.codes[name]


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise KnowledgeBaseError(f"{where}: bad date {value!r}") from exc


def _cents(value: Any, where: str) -> int | None:
    if value is None:
        return None
    amount = Decimal(str(value))
    cents = amount * 100
    if cents != cents.to_integral_value():
        # Sub-cent values (K0.7 = 1.344 €) are rounded half up, as the NGAP does for coefficients.
        cents = cents.quantize(Decimal(1), rounding="ROUND_HALF_UP")
    if cents < 0:
        raise KnowledgeBaseError(f"{where}: negative amount {value!r}")
    return int(cents)


def _steps(raw: list[dict[str, Any]] | None, where: str) -> tuple[TariffStep, ...]:
    steps = []
    for i, item in enumerate(raw or []):
        place = f"{where}[{i}]"
        steps.append(
            TariffStep(
                start=_date(item["from"], place),
                cents=_cents(item.get("amount"), place),
                grade=str(item.get("grade", "?")),
                sources=tuple(item.get("sources") or ()),
                not_billable=bool(item.get("not_billable", False)),
                note=item.get("note"),
                zone=str(item.get("zone", "all")),
            )
        )
    return tuple(steps)


def read_yaml(name: str) -> dict[str, Any]:
    """One knowledge-base file.  libyaml's loader when PyYAML has it (its wheels do): the
    knowledge base is ~9 000 YAML nodes, a second and a half of every command's start with the
    pure-Python parser, a tenth of that with libyaml; both read the same safe subset."""
    text = resources.files("ngap.model").joinpath("data", name).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{name}: expected a mapping")
    return data


def parse_codes(raw: dict[str, Any]) -> dict[str, Code]:
    codes: dict[str, Code] = {}
    for name, item in raw.items():
        where = f"codes.yaml:{name}"
        kind = item.get("kind")
        if kind not in KINDS:
            raise KnowledgeBaseError(f"{where}: unknown kind {kind!r}")
        valid_to = item.get("valid_to")
        codes[str(name)] = Code(
            code=str(name),
            label_fr=str(item.get("label_fr", "")),
            label_en=str(item.get("label_en", "")),
            nomenclature=str(item.get("nomenclature", "NGAP")).upper(),
            kind=kind,
            article=str(item.get("article", "")),
            valid_from=_date(item.get("valid_from", FAR_PAST), where),
            valid_to=_date(valid_to, where) if valid_to else FAR_FUTURE,
            sources=tuple(item.get("sources") or ()),
            tariffs=_steps(item.get("tariffs"), f"{where}.tariffs"),
            tariffs_non_optam=_steps(item.get("tariffs_non_optam"), f"{where}.tariffs_non_optam"),
            drom=_steps(item.get("drom"), f"{where}.drom"),
            drom_non_optam=_steps(item.get("drom_non_optam"), f"{where}.drom_non_optam"),
            refines=item.get("refines"),
            note=item.get("note"),
        )
    return codes


def parse_rules(raw: dict[str, Any]) -> dict[str, RuleInfo]:
    rules = {}
    for rid, item in raw.items():
        where = f"rules.yaml:{rid}"
        rules[str(rid)] = RuleInfo(
            id=str(rid),
            file=str(item["file"]),
            article=str(item["article"]),
            source=str(item["source"]),
            fr=str(item["fr"]),
            en=str(item["en"]),
            start=_date(item["from"], where) if "from" in item else FAR_PAST,
            end=_date(item["to"], where) if "to" in item else FAR_FUTURE,
            kind=str(item.get("kind", "condition")),
        )
    return rules


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """Read the shipped knowledge base once per process."""
    # The CCAM builder reads catalogue types: imported here, where both modules are complete.
    from ngap.model.ccam import ccam_catalogue

    codes = parse_codes(read_yaml("codes.yaml")["codes"])
    ccam_codes, ccam_facts = ccam_catalogue()
    clash = sorted(set(codes) & set(ccam_codes))
    if clash:
        raise KnowledgeBaseError(f"codes.yaml repeats codes built from the CCAM table: {clash}")
    codes.update(ccam_codes)
    raw_sources = read_yaml("sources.yaml")["sources"]
    sources = {
        sid: Source(
            id=sid,
            title=str(s.get("title", "")),
            date=_date(s["date"], f"sources.yaml:{sid}") if s.get("date") else None,
            url=s.get("url"),
            kind=str(s.get("kind", "")),
        )
        for sid, s in raw_sources.items()
    }
    rules = parse_rules(read_yaml("rules.yaml")["rules"])
    refined = {c.code: c.refines for c in codes.values() if c.kind == "refined" and c.refines}
    return Catalogue(codes=codes, sources=sources, rules=rules, refined=refined, ccam=ccam_facts)
