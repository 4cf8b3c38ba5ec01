"""The rule base as a search space: every context left open, one grounding per era.

Why: the engine (``ngap.solver.engine``) answers for one encounter.  The questions of a rule-set
analysis are about *all* encounters at once ("is there any context in which X is billable?",
"which codes can ever be billed with X?", "does rule R ever forbid something no other rule
forbids?").  They are answered by the same rule base, grounded with ``-c analysis=1`` (every rule
id then has an ``#external disabled(R)`` that switches it off), with no context assumption: the
solver chooses every context dimension itself, and the true ``ctx`` atoms of a model are the
witness context.

Two things are added to the grounding, and nothing in ``ngap/asp_rules`` is changed:

* **realisability**: the context dimensions are independent choices in the rule base, but some
  combinations can never come from an encounter (a 40-year-old in a COE window, a bridge day that
  is a Sunday, a bridge day in a ten-day era that has none).  Python computes, per era, the
  (age band, child-exam window) and (kind of day, bridge day) pairs the encounter model can
  produce, and the analysis forbids the others, so every witness can be replayed;
* **probes**: ``fires(R)`` (rule R is violated on codes that exist in the era), ``would_fire(R)``
  (R's condition holds, even with R switched off), an external bound on the number of distinct
  rules broken (to name the fewest rules that block a combination, by plain satisfiability
  calls), a switchable objective for the largest cotation billable at once, and domain
  heuristics that make witnesses small and plain (bill nothing more than needed, circumstances
  false, sector 1 at the opposable rate...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import clingo
from clingo import Function

from ngap.model import calendar as cal
from ngap.model.catalogue import Catalogue
from ngap.model.child_exams import CALENDAR_2025, age_band, exam_window
from ngap.model.eras import Era
from ngap.solver import program as program_module
from ngap.solver.program import GroundProgram, ground

ContextRestriction = Mapping[str, Collection[str]]
"""Dimension -> the values still allowed (a condition on the context; absent = open)."""

PROBE = """
% a code that exists in the era (a rule "fires" only on such codes, except the existence rule)
live(C) :- ctx(era,E), exists(C,E).
fires(R) :- violation(R,C), live(C).
fires(R) :- violation(R,C,D), live(C), live(D).
fires(code_not_in_force) :- violation(code_not_in_force,_).
would_fire(R) :- breach(R,C), in_force(R), live(C).
would_fire(R) :- breach(R,C,D), in_force(R), live(C), live(D).
#project fires/1.

% realisable contexts only (facts computed in Python per era)
:- ctx(age,B), ctx(exam_window,W), not age_window(B,W).
:- ctx(day,D), ctx(bridge,Y), not day_bridge(D,Y).

% name the rules that block a combination: at most K distinct rules broken
#external fire_bound(K) : K = 1..MAXBOUND.
:- fire_bound(K), #count { R : violation(R,_); R : violation(R,_,_) } > K.

% the largest set of codes billable at once (switched on by largest_cotation() only)
#external max_bills.
#maximize { 1@20,C : bill(C), max_bills }.

% plain witnesses: bill nothing more than needed, circumstances false, usual practice
#heuristic bill(C) : code(C). [2,false]
#heuristic ctx(D,no) : dim(D), dom(D,no). [1,true]
#heuristic ctx(D,V) : dim(D), preferred(D,V), dom(D,V). [1,true]
#heuristic ctx(done(visit),no) : dim(done(visit)). [2,true]
preferred(zone,metro). preferred(trip,single). preferred(sector,s1). preferred(rate,opposable).
preferred(specialty,gp). preferred(day,weekday). preferred(hour,h14_19). preferred(call,day).
preferred(exam_window,none). preferred(age,a12). preferred(place,office).
""".replace("MAXBOUND", "12")
MAX_BOUND = 12


@dataclass(frozen=True)
class Witness:
    """A context (every dimension of the era's grounding) and the codes billed in it."""

    era: Era
    context: dict[str, str]
    billed: tuple[str, ...]
    violations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """In a blocking model: the rules broken (with their codes); empty for a valid witness."""


@dataclass(frozen=True)
class Blocking:
    """Why some codes are never billable together: the fewest rules that must be broken."""

    rules: tuple[str, ...]
    """Rules broken by a model that breaks the fewest distinct rules."""
    alternatives: tuple[tuple[str, ...], ...]
    """For each rule of ``rules``: the fewest rules broken by a model that keeps that rule
    (when such a model breaks no more rules than ``rules``): other ways the codes are blocked."""
    witness: Witness
    """That model: a context in which billing the codes breaks exactly these rules."""
    sufficient: tuple[str, ...] = field(default=())
    """Rules of ``rules`` whose removal alone makes the codes billable together."""


# ------------------------------------------------------------------ realisable contexts
@lru_cache(maxsize=4)
def _age_windows(calendar_2025: bool) -> frozenset[tuple[str, str]]:
    on = dt.date(2025, 6, 30) if calendar_2025 else dt.date(2024, 6, 30)
    pairs = set()
    for days in range(0, 20 * 366):
        birth = on - dt.timedelta(days=days)
        pairs.add((age_band(birth, on), exam_window(birth, on)))
    for years in range(20, 121):
        birth = dt.date(on.year - years, 1, 1)
        pairs.add((age_band(birth, on), exam_window(birth, on)))
    return frozenset(pairs)


def age_windows(era: Era) -> frozenset[tuple[str, str]]:
    """(age band, child-exam window) pairs an encounter of this era can have."""
    return _age_windows(era.start >= CALENDAR_2025)


def era_days(era: Era, limit: int = 800) -> Iterator[dt.date]:
    day = era.start
    last = min(era.end, era.start + dt.timedelta(days=limit))
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def day_bridges(era: Era) -> frozenset[tuple[str, str]]:
    """(kind of day, bridge day) pairs some date of the era has (either calendar)."""
    pairs = set()
    for day in era_days(era):
        for alsace in (False, True):
            bridge = "yes" if cal.is_bridge_day(day, alsace) else "no"
            pairs.add((cal.day_type(day, alsace), bridge))
    return frozenset(pairs)


def _realisable_facts(era: Era) -> str:
    facts = [f"{Function('age_window', [Function(b), Function(w)])}." for b, w in age_windows(era)]
    facts += [f"{Function('day_bridge', [Function(d), Function(y)])}." for d, y in day_bridges(era)]
    return "\n".join(facts)


@contextmanager
def _extra_rules(text: str) -> Iterator[None]:
    """Append ``text`` to the base program that ``ngap.solver.program.ground`` grounds."""
    if not text:
        yield
        return
    original = program_module.knowledge_facts

    def with_extra(*args: Any, **kwargs: Any) -> list[str]:
        return [*original(*args, **kwargs), text]

    program_module.knowledge_facts = with_extra
    try:
        yield
    finally:
        program_module.knowledge_facts = original


# ------------------------------------------------------------------ the space of one era
class EraSpace:
    """The rule base grounded for one era, every other context dimension open."""

    def __init__(self, catalogue: Catalogue, era: Era, extra: str = ""):
        """``extra``: ASP text added to the rule base before grounding (what-if analyses of a
        candidate rule, and the tests of the analysis itself); empty for the rule base as is."""
        self.catalogue = catalogue
        self.era = era
        with _extra_rules(extra):
            program = ground(catalogue, (era,), "-c", "analysis=1", "--heuristic=Domain")
        ctl = program.control
        ctl.add("probe", [], PROBE + _realisable_facts(era))
        ctl.ground([("probe", [])])
        self.program: GroundProgram = program
        self.control = ctl
        atoms = ctl.symbolic_atoms
        self.disabled: dict[str, clingo.Symbol] = {}
        for atom in atoms.by_signature("disabled", 1):
            ctl.assign_external(atom.symbol, False)
            self.disabled[atom.symbol.arguments[0].name] = atom.symbol
        self.fires = {a.symbol.arguments[0].name: a.literal for a in atoms.by_signature("fires", 1)}
        self.would_fire = {
            a.symbol.arguments[0].name: a.literal for a in atoms.by_signature("would_fire", 1)
        }
        self.in_force = frozenset(
            a.symbol.arguments[0].name for a in atoms.by_signature("in_force", 1) if a.is_fact
        )
        self.existing = frozenset(
            a.symbol.arguments[0].string
            for a in atoms.by_signature("exists", 2)
            if a.symbol.arguments[0].string in program.bill_literals
        )
        self.exclusions: tuple[tuple[str, str, str], ...] = tuple(
            sorted(
                (
                    a.symbol.arguments[0].string,
                    a.symbol.arguments[1].string,
                    a.symbol.arguments[2].name,
                )
                for a in atoms.by_signature("excludes", 3)
                if a.is_fact
            )
        )
        self.attachments: tuple[tuple[str, str], ...] = tuple(
            sorted(
                (a.symbol.arguments[0].string, a.symbol.arguments[1].string)
                for a in atoms.by_signature("attaches", 2)
                if a.is_fact
            )
        )
        self.breach_rules = frozenset(
            a.symbol.arguments[0].name
            for sig in (("breach", 2), ("breach", 3))
            for a in atoms.by_signature(*sig)
        )
        self.bound_symbols: dict[int, clingo.Symbol] = {}
        for atom in atoms.by_signature("fire_bound", 1):
            self.bound_symbols[atom.symbol.arguments[0].number] = atom.symbol
        self._brave_cache: dict[str, frozenset[str]] = {}
        self._sat_cache: dict[frozenset[str], bool] = {}
        self._disabled_now = 0
        self._alive: frozenset[str] | None = None

    # -------------------------------------------------------------- literals
    @property
    def codes(self) -> frozenset[str]:
        """Codes this grounding can bill (every billable kind; refined codes are not billed)."""
        return frozenset(self.program.bill_literals)

    def restriction_literals(self, context: ContextRestriction | None) -> list[int]:
        """Assumptions for a restricted context: every value not allowed is false."""
        lits: list[int] = []
        if not context:
            return lits
        table = self.program.ctx_literals
        for dim, allowed in context.items():
            if dim == "era":
                continue
            values = self.program.dims.get(dim)
            if values is None:
                raise KeyError(f"unknown context dimension {dim!r}")
            unknown = set(allowed) - set(values)
            if unknown:
                raise KeyError(f"{dim}: unknown values {sorted(unknown)}")
            lits.extend(-table[(dim, v)] for v in values if v not in allowed)
        return lits

    def _lits(
        self,
        codes: Iterable[str],
        context: ContextRestriction | None,
        valid: bool,
        absent: Iterable[str] = (),
    ) -> list[int] | None:
        lits = []
        for code in codes:
            lit = self.program.bill_literals.get(code)
            if lit is None:
                return None  # a code this grounding cannot bill (refined, unknown)
            lits.append(lit)
        lits += [-self.program.bill_literals[c] for c in absent if c in self.program.bill_literals]
        lits += self.restriction_literals(context)
        if valid:
            lits.append(-self.program.violated_literal)
        return lits

    def _configure(self, enum_mode: str, opt_mode: str, models: int) -> None:
        conf = self.control.configuration.solve
        conf.enum_mode = enum_mode  # type: ignore[union-attr]
        conf.opt_mode = opt_mode  # type: ignore[union-attr]
        conf.models = str(models)  # type: ignore[union-attr]
        conf.project = "no"  # type: ignore[union-attr]
        self.program.settings = ("", "", "")  # the engine's cached solve options are stale now

    def _witness(self, model: clingo.Model, with_violations: bool = False) -> Witness:
        program = self.program
        context = {
            dim: value for (dim, value), lit in program.ctx_literals.items() if model.is_true(lit)
        }
        billed = tuple(sorted(c for c, lit in program.bill_literals.items() if model.is_true(lit)))
        violations: list[tuple[str, tuple[str, ...]]] = []
        if with_violations:
            # violation/2,3 are shown (billing.lp): reading the shown atoms, not all of them.
            for sym in model.symbols(shown=True):
                if sym.name == "violation":
                    args = sym.arguments
                    violations.append((args[0].name, tuple(a.string for a in args[1:])))
        return Witness(self.era, context, billed, tuple(sorted(violations)))

    # -------------------------------------------------------------- basic questions
    def witness(
        self,
        codes: Iterable[str],
        context: ContextRestriction | None = None,
        absent: Iterable[str] = (),
    ) -> Witness | None:
        """A context in which ``codes`` are billed together without breaking any rule (None:
        there is none).  ``absent``: codes that must not be billed."""
        lits = self._lits(codes, context, valid=True, absent=absent)
        if lits is None:
            return None
        self._configure("auto", "ignore", 1)
        found: list[Witness] = []
        self.control.solve(assumptions=lits, on_model=lambda m: found.append(self._witness(m)))
        return found[0] if found else None

    def satisfiable(self, codes: Iterable[str], context: ContextRestriction | None = None) -> bool:
        """Whether ``codes`` are billable together in some context (of ``context``).

        Remembered when no context is given and no rule is switched off: the rule-base analysis
        and every vendor validation of the same era ask the same pairs again.
        """
        codes = tuple(codes)
        context = context or None  # no restriction at all: the open context
        key = frozenset(codes) if context is None and not self._disabled_now else None
        if key is not None and key in self._sat_cache:
            return self._sat_cache[key]
        if key is not None and len(key) == 2:
            a, b = sorted(key)
            for one, other in ((a, b), (b, a)):
                partners = self._brave_cache.get(one)
                if partners is not None:  # the partners of a code already answer the pair
                    return other in partners
        lits = self._lits(codes, context, valid=True)
        if lits is None:
            return False
        self._configure("auto", "ignore", 1)
        answer = bool(self.control.solve(assumptions=lits).satisfiable)
        if key is not None:
            self._sat_cache[key] = answer
        return answer

    def _brave(self, assumptions: list[int], table: Mapping[str, int]) -> frozenset[str] | None:
        self._configure("brave", "ignore", 0)
        found: set[str] = set()
        pending = dict(table)

        def on_model(model: clingo.Model) -> None:
            # Brave consequences only grow from one model to the next: test the names not
            # found yet (a brave run reports many models, each once read whole).
            new = [name for name, lit in pending.items() if model.is_true(lit)]
            found.update(new)
            for name in new:
                del pending[name]

        try:
            result = self.control.solve(assumptions=assumptions, on_model=on_model)
        finally:
            self._configure("auto", "ignore", 1)
        return frozenset(found) if result.satisfiable else None

    def alive(self) -> frozenset[str]:
        """Codes billable in some context of the era (brave consequences of ``bill/1``)."""
        if self._alive is None:
            lits = [-self.program.violated_literal]
            self._alive = self._brave(lits, self.program.bill_literals) or frozenset()
        return self._alive

    def partners(self, code: str, context: ContextRestriction | None = None) -> frozenset[str]:
        """Every code billable together with ``code`` in some context (``code`` excluded)."""
        # Remembered for the rule base as is only: with a rule switched off a code has more
        # partners, and ``satisfiable`` answers pairs from this table.
        remember = context is None and not self._disabled_now
        if remember and code in self._brave_cache:
            return self._brave_cache[code]
        lits = self._lits([code], context, valid=True)
        found = frozenset() if lits is None else self._brave(lits, self.program.bill_literals)
        result = frozenset() if found is None else found - {code}
        if remember:
            self._brave_cache[code] = result
        return result

    def matrix(self, context: ContextRestriction | None = None) -> dict[str, frozenset[str]]:
        """The co-billability matrix: code -> the codes billable with it in some context."""
        if context is None:
            alive = self.alive()
        else:
            lits = self._lits([], context, valid=True) or []
            alive = self._brave(lits, self.program.bill_literals) or frozenset()
        return {code: self.partners(code, context) for code in sorted(alive)}

    # -------------------------------------------------------------- why not
    @contextmanager
    def disabled_rules(self, rules: Iterable[str]) -> Iterator[None]:
        """Switch rules off (``disabled(R)``) inside the block."""
        symbols = [self.disabled[r] for r in rules if r in self.disabled]
        for sym in symbols:
            self.control.assign_external(sym, True)
        self._disabled_now += 1
        try:
            yield
        finally:
            self._disabled_now -= 1
            for sym in symbols:
                self.control.assign_external(sym, False)

    def _bounded(self, lits: list[int], bound: int) -> Witness | None:
        """A model breaking at most ``bound`` distinct rules (None: there is none)."""
        bound_symbol = self.bound_symbols[bound]
        self._configure("auto", "ignore", 1)
        found: list[Witness] = []
        self.control.assign_external(bound_symbol, True)
        try:
            self.control.solve(
                assumptions=lits,
                on_model=lambda m: found.append(self._witness(m, with_violations=True)),
            )
        finally:
            self.control.assign_external(bound_symbol, False)
        return found[0] if found else None

    def fewest(self, lits: list[int]) -> Witness | None:
        for bound in range(1, MAX_BOUND + 1):
            found = self._bounded(lits, bound)
            if found is not None:
                return found
        return None

    def blocking(
        self, codes: Iterable[str], context: ContextRestriction | None = None
    ) -> Blocking | None:
        """The fewest rules that must be broken to bill ``codes`` together (None if the codes
        are billable together, or cannot be billed by this grounding at all).

        The smallest bound K for which a model breaking at most K distinct rules exists is found
        by plain satisfiability calls (K = 1, 2, ...); then, for each rule R of that model, the
        fewest rules to break while keeping R (``alternatives``), and whether switching R off alone
        is enough (``sufficient``)."""
        codes = list(codes)
        lits = self._lits(codes, context, valid=False)
        if lits is None or self.satisfiable(codes, context):
            return None
        first = self.fewest(lits)
        if first is None:
            return None  # the context restriction itself is impossible
        rules = tuple(sorted({r for r, _ in first.violations}))
        alternatives: list[tuple[str, ...]] = []
        sufficient = []
        for rule in rules:
            with self.disabled_rules([rule]):
                if self.satisfiable(codes, context):
                    sufficient.append(rule)
            avoid = self.fires.get(rule)
            if avoid is not None:
                other = self._bounded([*lits, -avoid], len(rules))
                if other is not None:
                    alt = tuple(sorted({r for r, _ in other.violations}))
                    if alt != rules and alt not in alternatives:
                        alternatives.append(alt)
        return Blocking(rules, tuple(alternatives), first, tuple(sufficient))

    def largest_cotation(self, context: ContextRestriction | None = None) -> Witness | None:
        """A largest set of codes billable together in some context (seconds: an optimisation
        over every context; the maximal cliques of the compatibility graph are only pairwise)."""
        lits = self._lits([], context, valid=True)
        if lits is None:
            return None
        switch = Function("max_bills")
        self.control.assign_external(switch, True)
        self._configure("auto", "opt", 0)
        found: list[Witness] = []
        try:
            self.control.solve(assumptions=lits, on_model=lambda m: found.append(self._witness(m)))
        finally:
            self.control.assign_external(switch, False)
            self._configure("auto", "ignore", 1)
        return found[-1] if found else None

    # -------------------------------------------------------------- rules
    def firing_rules(self) -> frozenset[str]:
        """Rules some context and some billing violate (violations allowed)."""
        return self._brave([], self.fires) or frozenset()

    def rule_implied(self, rule: str) -> bool:
        """True when, with ``rule`` switched off, no valid cotation meets its condition: every
        cotation it forbids is already forbidden by the other rules."""
        lit = self.would_fire.get(rule)
        if lit is None:
            return True
        with self.disabled_rules([rule]):
            self._configure("auto", "ignore", 1)
            return not self.control.solve(
                assumptions=[lit, -self.program.violated_literal]
            ).satisfiable

    def exclusion_implied(self, a: str, b: str, rule: str) -> bool:
        """True when ``a`` and ``b`` stay never billable together with ``rule`` switched off."""
        with self.disabled_rules([rule]):
            return not self.satisfiable([a, b])
