"""Build and ground the rule base once; map context values and codes to solver literals.

The knowledge-base facts are built as clingo ``Symbol`` objects and rendered by clingo itself, so
no text from an encounter ever reaches the ASP parser: an encounter only becomes a list of
literals (assumptions) for ``Control.solve``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import clingo
from clingo import Function, Number, String, Symbol
from clingo.backend import Observer

from ngap.model.catalogue import Catalogue, Code, TariffStep
from ngap.model.eras import Era
from ngap.model.vocabulary import (
    ACTIVITIES,
    AGE_THRESHOLDS,
    CCAM_ACTS,
    DEPARTMENT_VALUES,
    Dimension,
    static_dimensions,
)

PRICE_ZONES = ("metro", *(v for v in DEPARTMENT_VALUES if v != "none"))
"""Where a price is looked up: metropolitan France, or an overseas department value."""
ZONES_GRIDS = tuple((zone, grid) for zone in PRICE_ZONES for grid in ("std", "s2"))


def day_number(day: dt.date) -> int:
    """YYYYMMDD, the form in which ASP compares dates."""
    return day.year * 10000 + day.month * 100 + day.day


def dim_symbol(name: str) -> Symbol:
    """``done:cso`` -> done(cso); ``done:DEQP003`` -> done("DEQP003"); ``age`` -> age."""
    if name.startswith("km_bit_"):
        return Function("km_bit", [Number(int(name[7:]))])
    if name.startswith("done:"):
        item = name[5:]
        arg = Function(item) if item in ACTIVITIES else String(item)
        return Function("done", [arg])
    return Function(name)


def value_symbol(dim: str, value: str) -> Symbol:
    return Number(int(value)) if dim == "era" else Function(value)


def threshold_symbol(name: str) -> Symbol:
    return Function(name[0], [Number(int(name[1:]))])


def _fact(name: str, *args: Symbol) -> str:
    return f"{Function(name, list(args))}."


def _step_facts(code: Code, era: Era, zone: str, grid: str) -> Iterable[str]:
    c, e, z, g = String(code.code), Number(era.index), Function(zone), Function(grid)
    if code.kind in ("refined", "free"):
        return
    step: TariffStep | None
    if zone != "metro":
        # CCAM codes have overseas values on both grids; NGAP codes have one grid.
        step = code.department_step(
            era.start, zone, grid if code.nomenclature == "CCAM" else "std"
        )
    elif grid == "s2":
        if code.nomenclature != "CCAM":
            return
        step = code.step_on(era.start, "s2")
    else:
        step = code.step_on(era.start)
    if step is None or step.cents is None or step.not_billable:
        yield _fact("unpriced", c, e, z, g)
        return
    yield _fact("tariff", c, e, z, g, Number(step.cents))
    if step.unconfirmed:
        yield _fact("unconfirmed", c, e, z, g)


def ccam_facts(catalogue: Catalogue, eras: tuple[Era, ...]) -> dict[str, list[str]]:
    """What the CCAM table and ngap/model/data/ccam.yaml say beyond prices, as facts, by code.

    ccam_cumul(Act,Class), ccam_sex(Act,Sex), ccam_age_below(Act,Threshold),
    modifier_letter(Modifier,Letter), and listed(Act,Letter,Era): the act's CCAM version in
    force in that era lists the modifier letter (only letters of a modifier code).
    """
    data = catalogue.ccam
    facts: dict[str, list[str]] = {}

    def add(code: str, fact: str) -> None:
        facts.setdefault(code, []).append(fact)

    for c, k in data.cumul.items():
        add(c, _fact("ccam_cumul", String(c), Function(k)))
    for c, sex in data.sex.items():
        add(c, _fact("ccam_sex", String(c), Function(sex)))
    for c, t in data.age_below.items():
        add(c, _fact("ccam_age_below", String(c), threshold_symbol(t)))
    for m, x in data.letters.items():
        add(m, _fact("modifier_letter", String(m), String(x)))
    letters = set(data.letters.values())
    for act in data.modifiers:
        for era in eras:
            for letter in sorted(letters.intersection(data.listed_on(act, era.start))):
                add(act, _fact("listed", String(act), String(letter), Number(era.index)))
    return facts


def all_dimensions(eras: tuple[Era, ...]) -> list[Dimension]:
    return [Dimension("era", tuple(str(e.index) for e in eras), "tariff era"), *static_dimensions()]


def knowledge_facts(
    catalogue: Catalogue,
    eras: tuple[Era, ...],
    fixed: dict[str, str] | None = None,
    candidates: frozenset[str] | None = None,
) -> list[str]:
    """Facts of the knowledge base for a grounding.

    ``fixed`` context values become facts (the grounder then simplifies every rule that tests
    them); ``candidates`` restricts the codes the grounding may bill (None: every code).
    """
    facts: list[str] = []
    fixed = dict(fixed or {})
    if len(eras) == 1:
        fixed["era"] = str(eras[0].index)
    for d in all_dimensions(eras):
        ds = dim_symbol(d.name)
        if d.name in fixed:
            value = value_symbol(d.name, fixed[d.name])
            facts.append(_fact("ctx", ds, value))
            facts.append(_fact("dom", ds, value))
            continue
        facts.append(_fact("dim", ds))
        facts.extend(_fact("dom", ds, value_symbol(d.name, v)) for v in d.values)
    facts.extend(
        _fact("candidate", String(c))
        for c in catalogue.codes
        if candidates is None or c in candidates
    )
    common, by_code = _shared_facts(catalogue, eras)
    facts.append(common)
    facts.extend(text for code, text in by_code.items() if candidates is None or code in candidates)
    return facts


_SHARED: dict[tuple[int, tuple[Era, ...]], tuple[Catalogue, str, dict[str, str]]] = {}


def _shared_facts(catalogue: Catalogue, eras: tuple[Era, ...]) -> tuple[str, dict[str, str]]:
    """The facts every grounding of these eras shares (eras, rule periods, age bands), and the
    facts of each code (kind, existence, tariffs, CCAM data), rendered once per process:
    rendering them costs as much as grounding a shape.

    Facts are kept by code so that a grounding restricted to some candidate codes reads only
    theirs: a code no model of the grounding can bill needs no tariff, and the facts of the
    other codes (tariffs on every grid and zone) made up most of what such a grounding parsed,
    grounded and passed on (each fact is a rule for the observer of ``_Rules``)."""
    key = (id(catalogue), eras)
    kept = _SHARED.get(key)
    if kept is not None and kept[0] is catalogue:
        return kept[1], kept[2]
    facts: list[str] = []
    for era in eras:
        e = Number(era.index)
        facts.append(_fact("era", e))
        facts.append(_fact("era_start", e, Number(day_number(era.start))))
        facts.append(_fact("era_end", e, Number(day_number(era.end))))
    ccam = ccam_facts(catalogue, eras)
    by_code: dict[str, str] = {}
    for code in catalogue.codes.values():
        c = String(code.code)
        mine = [
            _fact("code", c),
            _fact("kind", c, Function(code.kind)),
            _fact("nomenclature", c, Function(code.nomenclature.lower())),
        ]
        if code.refines:
            mine.append(_fact("refines", c, String(code.refines)))
        for era in eras:
            if code.billable_on(era.start):
                mine.append(_fact("exists", c, Number(era.index)))
            for zone, grid in ZONES_GRIDS:
                mine.extend(_step_facts(code, era, zone, grid))
        mine.extend(ccam.pop(code.code, ()))
        by_code[code.code] = "\n".join(mine)
    for rest in ccam.values():  # CCAM data of a code the catalogue lacks: kept, never billed
        facts.extend(rest)
    for rule in catalogue.rules.values():
        facts.append(
            _fact(
                "rule_period",
                Function(rule.id),
                Number(day_number(rule.start)),
                Number(day_number(rule.end)),
            )
        )
    names = [t.symbol_name for t in AGE_THRESHOLDS]
    for name in names:
        facts.append(_fact("threshold", threshold_symbol(name)))
    for band_index in range(len(names) + 1):
        for t_index in range(band_index):
            facts.append(
                _fact("band_ge", Function(f"a{band_index}"), threshold_symbol(names[t_index]))
            )
    text = "\n".join(facts)
    _SHARED[key] = (catalogue, text, by_code)
    return text, by_code


@dataclass
class GroundProgram:
    """A grounded rule base and the literals an encounter is expressed with."""

    control: clingo.Control
    ctx_literals: dict[tuple[str, str], int]
    bill_literals: dict[str, int]
    violated_literal: int
    dims: dict[str, list[str]]
    """The open dimensions of this grounding and their values."""
    fixed: dict[str, str]
    """Dimensions fixed as facts in this grounding (besides the era)."""
    settings: tuple[str, ...] = ("", "", "", "")
    """The solve options last set on ``control`` (enum mode, opt mode, models, projection)."""
    serial: int = 0
    """Set by the engine that keeps the grounding: remembered answers are keyed by it."""
    relevant: frozenset[str] | None = None
    """Open dimensions on which some answer of this grounding can depend (None: all)."""


BYTES_BASE = 320 * 1024
BYTES_PER_ATOM = 400


def grounding_bytes(program: GroundProgram) -> int:
    """Estimated resident memory of a grounding: a fixed part (the parsed rule base, clasp's
    solver) and a part per ground atom (the atom, its rules, its solver variables and what
    solving learns about them).  Calibrated on clingo 5.8 by the resident size of many
    groundings after solving (1.3 MB for a 3 400-atom grounding); counting atoms makes the
    budget follow the size of the rule base and catalogue, not a number of groundings."""
    return BYTES_BASE + BYTES_PER_ATOM * len(program.control.symbolic_atoms)


def _quiet(code: clingo.MessageCode, message: str) -> None:
    """Solver notes are not for users (e.g. clasp's remark on projection with optimisation:
    our objective depends only on the shown atoms projected on, so it does not apply)."""


def ground(
    catalogue: Catalogue,
    eras: tuple[Era, ...],
    *args: str,
    fixed: dict[str, str] | None = None,
    candidates: frozenset[str] | None = None,
) -> GroundProgram:
    ctl = clingo.Control(["--warn=none", *args], logger=_quiet)
    rules = _Rules() if fixed else None  # shape groundings: the ones answers are read from
    if rules is not None:
        ctl.register_observer(rules)
    root = resources.files("ngap.asp_rules")
    with resources.as_file(root.joinpath("ngap.lp")) as path:
        ctl.load(str(path))
    ctl.add("base", [], "\n".join(knowledge_facts(catalogue, eras, fixed, candidates)))
    ctl.ground([("base", [])])

    atoms = ctl.symbolic_atoms
    ctx_literals: dict[tuple[str, str], int] = {}
    fixed_dims = set(fixed or {}) | ({"era"} if len(eras) == 1 else set())
    for d in all_dimensions(eras):
        if d.name in fixed_dims:
            continue
        for v in d.values:
            atom = atoms[Function("ctx", [dim_symbol(d.name), value_symbol(d.name, v)])]
            if atom is None:
                raise RuntimeError(f"context atom for {d.name}={v} was not grounded")
            ctx_literals[(d.name, v)] = atom.literal
    bill_literals: dict[str, int] = {}
    for code in catalogue.codes.values():
        atom = atoms[Function("bill", [String(code.code)])]
        if atom is not None:
            bill_literals[code.code] = atom.literal
    violated = atoms[Function("violated")]
    if violated is None:
        raise RuntimeError("the rule base derives no violation at all")
    # CCAM acts listed in the vocabulary must exist in the catalogue.
    missing = [c for c in CCAM_ACTS if c not in catalogue.codes]
    if missing:
        raise RuntimeError(f"CCAM acts missing from codes.yaml: {missing}")
    dim_values: dict[str, list[str]] = {}
    for dim, value in ctx_literals:
        dim_values.setdefault(dim, []).append(value)
    program = GroundProgram(
        ctl, ctx_literals, bill_literals, violated.literal, dim_values, dict(fixed or {})
    )
    if rules is not None:
        program.relevant = rules.relevant_dims(program, ctl)
        rules.forget()  # the Control keeps its observer: drop the rules it recorded
    return program


SHOWN = (
    ("line", 2),
    ("rate", 2),
    ("unpriced_line", 1),
    ("unconfirmed_line", 1),
    ("violation", 2),
    ("violation", 3),
)
"""The shown predicates (billing.lp): with ``violated`` and the objective, all an answer reads."""


class _Rules(Observer):
    """Ground rules, as the grounder passes them to the solver (a clingo observer), to find
    which context dimensions an answer can depend on.

    A dimension is irrelevant in a grounding when none of its context atoms can reach, through
    the ground rules, an atom an answer reads (shown atoms, ``violated``, the objective) or an
    integrity constraint.  The rule base is a set of definitions over two choices (one value
    per dimension, the billed codes: ``choices`` checks there is no other), so an irrelevant
    dimension takes any value in every model: the answer is the same for each, and the engine
    fixes it instead of leaving it open (one solve less per encounter, and no enumeration of
    models that differ only there).  The "exactly one value" constraints of a dimension are
    rules over all of its values alike; they are left out of the reachability.
    """

    def __init__(self) -> None:
        self.rules: list[tuple[Sequence[int], Sequence[int]]] = []
        self.weighted: list[tuple[Sequence[int], list[int]]] = []
        self.objective: set[int] = set()
        self.choices: set[int] = set()

    def rule(self, choice: bool, head: Sequence[int], body: Sequence[int]) -> None:
        self.rules.append((head, body))  # called for every ground rule: kept minimal
        if choice:
            self.choices.update(head)

    def weight_rule(
        self,
        choice: bool,
        head: Sequence[int],
        lower_bound: int,
        body: Sequence[tuple[int, int]],
    ) -> None:
        self.weighted.append((head, [abs(lit) for lit, _ in body]))
        if choice:
            self.choices.update(head)

    def forget(self) -> None:
        """Drop what was recorded (as large as the grounding itself) once it has been read."""
        self.rules, self.weighted = [], []
        self.objective, self.choices = set(), set()

    def minimize(self, priority: int, literals: Sequence[tuple[int, int]]) -> None:
        self.objective.update(abs(lit) for lit, _ in literals)

    def relevant_dims(self, program: GroundProgram, ctl: clingo.Control) -> frozenset[str] | None:
        dim_of = {lit: dim for (dim, _), lit in program.ctx_literals.items()}
        domain = {lit for lit in dim_of} | set(program.bill_literals.values())
        if not self.choices <= domain:
            return None  # a choice the analysis does not know: every dimension may matter
        values: dict[str, set[int]] = {}
        for lit, dim in dim_of.items():
            values.setdefault(dim, set()).add(lit)
        roots = {program.violated_literal, *self.objective}
        atoms = ctl.symbolic_atoms
        for name, arity in SHOWN:
            roots.update(a.literal for a in atoms.by_signature(name, arity) if not a.is_fact)
        defined: dict[int, list[Sequence[int]]] = {}
        for head, body in self.rules:
            if not head:
                roots.update(abs(lit) for lit in body)  # a constraint restricts every answer
            for atom in head:
                defined.setdefault(atom, []).append(body)
        for head, wbody in self.weighted:
            dims = {dim_of.get(lit) for lit in wbody}
            if len(dims) == 1:
                only = next(iter(dims))
                if only is not None and set(wbody) == values[only]:
                    continue  # exactly one value of a dimension: alike for every value
            if not head:
                roots.update(wbody)
            for atom in head:
                defined.setdefault(atom, []).append(wbody)
        reached = set(roots)
        stack = list(roots)
        while stack:
            for body in defined.get(stack.pop(), ()):
                for lit in body:
                    atom = abs(lit)
                    if atom not in reached:
                        reached.add(atom)
                        stack.append(atom)
        return frozenset(dim_of[lit] for lit in reached if lit in dim_of)
