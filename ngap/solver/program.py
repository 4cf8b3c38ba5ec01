"""Build and ground the rule base once; map context values and codes to solver literals.

The knowledge-base facts are built as clingo ``Symbol`` objects and rendered by clingo itself, so
no text from an encounter ever reaches the ASP parser: an encounter only becomes a list of
literals (assumptions) for ``Control.solve``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import clingo
from clingo import Function, Number, String, Symbol
from clingo.backend import Observer

from ngap.libc import heap_in_use
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


def _price_facts(code: Code, era: Era, zone: str, grid: str) -> tuple[str, int | None, bool]:
    """The price of a code in an era, zone and grid: ("tariff", cents, unconfirmed),
    ("unpriced", None, False), or ("", None, False) where the code has no price there."""
    if code.kind in ("refined", "free"):
        return "", None, False
    step: TariffStep | None
    if zone != "metro":
        # CCAM codes have overseas values on both grids; NGAP codes have one grid.
        step = code.department_step(
            era.start, zone, grid if code.nomenclature == "CCAM" else "std"
        )
    elif grid == "s2":
        if code.nomenclature != "CCAM":
            return "", None, False
        step = code.step_on(era.start, "s2")
    else:
        step = code.step_on(era.start)
    if step is None or step.cents is None or step.not_billable:
        return "unpriced", None, False
    return "tariff", step.cents, bool(step.unconfirmed)


def _tariff_facts(code: Code, eras: tuple[Era, ...]) -> Iterable[str]:
    """A code's prices, by price period: the runs of consecutive eras in which its prices are
    the same in every zone and grid.

    price_period(C,P,L): the period of code C that runs from era P to era L; tariff(C,P,Z,G,A),
    unpriced(C,P,Z,G), unconfirmed(C,P,Z,G) within it.  Keyed by period, not by era, a
    grounding over several eras holds one price rule per period of each code (most codes have
    two or three over all eras), not one per era: fewer rules, smaller and faster to solve."""
    c = String(code.code)
    runs: list[tuple[Era, Era, tuple[tuple[str, int | None, bool], ...]]] = []
    for era in eras:
        prices = tuple(_price_facts(code, era, zone, grid) for zone, grid in ZONES_GRIDS)
        if runs and runs[-1][2] == prices:
            runs[-1] = (runs[-1][0], era, prices)
        else:
            runs.append((era, era, prices))
    for first, last, prices in runs:
        if all(kind == "" for kind, _, _ in prices):
            continue
        p = Number(first.index)
        yield _fact("price_period", c, p, Number(last.index))
        for (zone, grid), (kind, cents, unconfirmed) in zip(ZONES_GRIDS, prices, strict=True):
            z, g = Function(zone), Function(grid)
            if kind == "unpriced":
                yield _fact("unpriced", c, p, z, g)
            elif kind == "tariff" and cents is not None:
                yield _fact("tariff", c, p, z, g, Number(cents))
                if unconfirmed:
                    yield _fact("unconfirmed", c, p, z, g)


def _era_runs(eras: tuple[Era, ...], start: dt.date, end: dt.date) -> tuple[Era, Era] | None:
    """The first and last of ``eras`` that begin within [start, end] (eras lie wholly inside
    or wholly outside a rule's period, so these are all of them in between)."""
    inside = [era for era in eras if start <= era.start <= end]
    return (inside[0], inside[-1]) if inside else None


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
    eras = tuple(sorted(eras, key=lambda era: era.index))
    for era in eras:
        e = Number(era.index)
        facts.append(_fact("era", e))
        facts.append(_fact("era_start", e, Number(day_number(era.start))))
        facts.append(_fact("era_end", e, Number(day_number(era.end))))
    for before, after in itertools.pairwise(eras):
        facts.append(_fact("next_era", Number(before.index), Number(after.index)))
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
        mine.extend(_tariff_facts(code, eras))
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
        run = _era_runs(eras, rule.start, rule.end)
        if run is not None:
            first, last = run
            facts.append(
                _fact("rule_eras", Function(rule.id), Number(first.index), Number(last.index))
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
    heap_bytes: int | None = None
    """The C heap this grounding took when it was made (glibc only; see ``grounding_bytes``)."""
    relevant_by_era: dict[str, frozenset[str]] | None = None
    """In a grounding that spans several eras: ``relevant`` for each era (its value)."""
    nothing_billed_valid: bool | None = None
    """Whether billing nothing breaks no rule in any context (``Nomenclature``; None: not asked
    yet)."""
    candidates_by_era: dict[str, frozenset[str]] | None = None
    """In a grounding that spans several eras: the codes some valid answer can bill in each
    era.  A claim of other codes is judged on the era's full grounding (every violated rule
    named), as a claim of a code this grounding does not hold."""

    def relevant_in(self, era: str) -> frozenset[str] | None:
        """The open dimensions an answer for an encounter of this era can depend on."""
        if self.relevant_by_era is not None:
            return self.relevant_by_era.get(era, self.relevant)
        return self.relevant

    def holds_claim(self, era: str, codes: Iterable[str]) -> bool:
        """Whether a claim of these codes is judged here rather than on the full grounding."""
        if self.candidates_by_era is not None:
            billable: Collection[str] = self.candidates_by_era.get(era, ())
        else:
            billable = self.bill_literals.keys()
        return all(code in billable for code in codes)


BYTES_BASE = 1024 * 1024
BYTES_PER_ATOM = 400
SOLVING_GROWTH = 1.5
"""What solving adds to the heap a grounding took when it was made (clasp's learnt constraints
and heuristics): 3 000 generated encounters optimised and checked took the heap of 16 era and
13 shape groundings from 144 MB, as made, to 211 MB (clingo 5.8)."""


def grounding_bytes(program: GroundProgram) -> int:
    """The memory a grounding holds once it has been solved for a while.

    Measured where the C library can tell (the heap the grounding took, times
    ``SOLVING_GROWTH``); elsewhere estimated from its atoms: a fixed part (the parsed rule base
    and clasp's solver, about 1 MB) and a part per ground atom.  Either way the budget follows
    the size of the rule base and catalogue, not a number of groundings."""
    if program.heap_bytes is not None:
        return int(program.heap_bytes * SOLVING_GROWTH)
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
    candidates_by_era: dict[str, frozenset[str]] | None = None,
) -> GroundProgram:
    """The rule base grounded for these eras (with ``fixed`` context values as facts, billing
    only ``candidates``); ``candidates_by_era``: in a grounding over several eras, the codes
    each era can validly bill (see ``GroundProgram.candidates_by_era``)."""
    heap_before = heap_in_use()
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
    if len(eras) > 1:
        program.candidates_by_era = candidates_by_era
    if rules is not None:
        by_era = rules.relevant_dims(program, ctl)
        if by_era is not None:
            program.relevant = frozenset().union(*by_era.values())
            if "era" in program.dims:
                program.relevant_by_era = by_era
        rules.forget()  # the Control keeps its observer: drop the rules it recorded
    heap_after = heap_in_use()
    if heap_before is not None and heap_after is not None:
        program.heap_bytes = max(heap_after - heap_before, 0)
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

    def relevant_dims(
        self, program: GroundProgram, ctl: clingo.Control
    ) -> dict[str, frozenset[str]] | None:
        """For each era the grounding spans (its value of the ``era`` dimension, or ``""`` when
        the era is a fact), the open dimensions an answer can depend on; None: all of them.

        In a grounding that spans several eras, a rule that only one era can fire (a tariff
        step, a rule in force from some date) must not make a dimension relevant in the other
        eras: it would leave that dimension open there (a solve more, another assumed value)
        where the era's own grounding fixes it.  So each atom carries a set of eras (a bit
        mask): those in which it may be true (``possible``), and those in which it is surely
        true (``sure``), computed as the well-founded model is, by alternating least
        fixpoints; a rule counts in an era only if its positive body may be true and no atom
        of its negative body is surely true there.  With one era this is the plain
        reachability over the rules the grounder kept.
        """
        dim_of = {lit: dim for (dim, _), lit in program.ctx_literals.items()}
        domain = set(dim_of) | set(program.bill_literals.values())
        if not self.choices <= domain:
            return None  # a choice the analysis does not know: every dimension may matter
        era_values = program.dims.get("era")
        eras = era_values if era_values else [""]
        full = (1 << len(eras)) - 1
        era_bit = (
            {program.ctx_literals[("era", v)]: 1 << i for i, v in enumerate(era_values)}
            if era_values
            else {}
        )
        values: dict[str, set[int]] = {}
        for lit, dim in dim_of.items():
            values.setdefault(dim, set()).add(lit)
        rules = self.rules
        weighted_heads = {atom for head, _ in self.weighted for atom in head}
        # A code billed in an era where no valid answer bills it is judged on the full
        # grounding (``GroundProgram.holds_claim``), and no answer read here bills it: its
        # rules must not make a dimension relevant in that era.
        limit = dict(era_bit)
        if program.candidates_by_era is not None and era_values:
            for code, lit in program.bill_literals.items():
                limit[lit] = sum(
                    1 << i
                    for i, v in enumerate(era_values)
                    if code in program.candidates_by_era.get(v, ())
                )
        possible, sure = _well_founded(
            rules, weighted_heads, self.choices, era_bit, limit, full
        )

        def applies(body: Sequence[int]) -> int:
            mask = full
            for lit in body:
                mask &= possible.get(lit, 0) if lit > 0 else ~sure.get(-lit, 0)
                if not mask:
                    break
            return mask

        reach: dict[int, int] = {}
        stack: list[int] = []

        def mark(atom: int, mask: int) -> None:
            old = reach.get(atom, 0)
            if mask & ~old:
                reach[atom] = old | mask
                stack.append(atom)

        mark(program.violated_literal, full)
        for atom in self.objective:
            mark(atom, full)
        atoms = ctl.symbolic_atoms
        for name, arity in SHOWN:
            for a in atoms.by_signature(name, arity):
                if not a.is_fact:
                    mark(a.literal, full)
        defined: dict[int, list[tuple[Sequence[int], int]]] = {}
        for head, body in rules:
            mask = applies(body)
            if not mask:
                continue
            if not head:
                for lit in body:
                    mark(abs(lit), mask)  # a constraint restricts every answer of its eras
            for atom in head:
                defined.setdefault(atom, []).append((body, mask))
        for head, wbody in self.weighted:
            dims = {dim_of.get(lit) for lit in wbody}
            if len(dims) == 1:
                only = next(iter(dims))
                if only is not None and set(wbody) == values[only]:
                    continue  # exactly one value of a dimension: alike for every value
            if not head:
                for lit in wbody:
                    mark(lit, full)
            for atom in head:
                defined.setdefault(atom, []).append((wbody, full))
        while stack:
            atom = stack.pop()
            mask = reach[atom]
            for body, applicable in defined.get(atom, ()):
                passed = mask & applicable
                if passed:
                    for lit in body:
                        mark(abs(lit), passed)
        relevant: dict[str, set[str]] = {v: set() for v in eras}
        for lit, mask in reach.items():
            if lit not in dim_of:
                continue
            for i, value in enumerate(eras):
                if mask >> i & 1:
                    relevant[value].add(dim_of[lit])
        return {v: frozenset(dims) for v, dims in relevant.items()}



def _well_founded(
    rules: Sequence[tuple[Sequence[int], Sequence[int]]],
    weighted_heads: set[int],
    choices: set[int],
    era_bit: dict[int, int],
    limit: dict[int, int],
    full: int,
) -> tuple[dict[int, int], dict[int, int]]:
    """Per atom, the eras (a bit mask) in which it may be true and those in which it surely is.

    Alternating least fixpoints, as for the well-founded model: ``possible`` derives through
    rules whose negative body is not surely true, ``sure`` through non-choice rules whose
    positive body is sure and whose negative body cannot be true.  An era atom is true in its
    own era only; every other choice (context values, billed codes) may be true in any era that
    ``limit`` allows it.  Weight rules are not followed: their heads may be true in every era
    and are never sure.
    """
    uses: dict[int, list[int]] = {}
    for index, (_, body) in enumerate(rules):
        for lit in body:
            if lit > 0:
                uses.setdefault(lit, []).append(index)
    definite = [bool(head) and not any(a in choices for a in head) for head, _ in rules]

    def least(seed: dict[int, int], negative: dict[int, int], sure_only: bool) -> dict[int, int]:
        """The least masks closed under the rules, a negative literal holding in the eras
        where ``negative`` leaves its atom out."""
        known = dict(seed)
        queued = [True] * len(rules)
        stack = list(range(len(rules)))
        while stack:
            index = stack.pop()
            queued[index] = False
            head, body = rules[index]
            if not head or (sure_only and not definite[index]):
                continue
            mask = full
            for lit in body:
                mask &= known.get(lit, 0) if lit > 0 else ~negative.get(-lit, 0)
                if not mask:
                    break
            if not mask:
                continue
            for atom in head:
                gained = mask & limit.get(atom, full)
                old = known.get(atom, 0)
                if gained & ~old:
                    known[atom] = old | gained
                    for user in uses.get(atom, ()):
                        if not queued[user]:
                            queued[user] = True
                            stack.append(user)
        return known

    seed = dict(era_bit)
    seed.update((atom, limit.get(atom, full)) for atom in weighted_heads if atom not in era_bit)
    sure = dict(era_bit)
    while True:
        possible = least(seed, sure, sure_only=False)
        again = least(era_bit, possible, sure_only=True)
        if again == sure:
            return possible, sure
        sure = again
