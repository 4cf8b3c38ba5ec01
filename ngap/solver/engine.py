"""The facade: ground the rule base once, then optimise / enumerate / check encounters.

Every call reuses the same grounded ``clingo.Control``; an encounter is only a list of solver
literals (its context, and in check mode the claimed codes), so no call re-grounds anything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from itertools import count
from typing import Any

import clingo
from clingo import Symbol

from ngap.libc import trim_heap
from ngap.model.catalogue import Catalogue, Code, load_catalogue
from ngap.model.context import Context, derive
from ngap.model.encounter import Encounter
from ngap.model.eras import Era, compute_eras
from ngap.model.vocabulary import ACTIVITIES, CCAM_ACTS
from ngap.solver.program import GroundProgram, ground, grounding_bytes
from ngap.solver.results import (
    CheckResult,
    Cotation,
    EnumerateResult,
    Line,
    OptimiseResult,
    Violation,
    WhyNotResult,
    euros,
)
from ngap.solver.truth import true_literals

ACTIVITY_OF_REFINED = {
    "cso": "CSO",
    "cse": "CSE",
    "ase": "ASE",
    "cte": "CTE",
    "mph": "MPH",
    "mis": "MIS",
    "piv": "PIV",
}
PER_KM = ("IK", "IKM", "IKS")
PLACES = ("office", "home", "institution", "tele")
_DONE_DIMS = tuple((activity, f"done:{activity}") for activity in (*ACTIVITIES, *CCAM_ACTS))
"""Each activity and the context dimension that says whether it was performed."""


def shape_facts(place: str, done: frozenset[str]) -> dict[str, str]:
    """The context a shape grounding fixes as facts: the place, and for every activity whether
    it was performed."""
    fixed = {"place": place}
    for activity, dim in _DONE_DIMS:
        fixed[dim] = "yes" if activity in done else "no"
    return fixed


PARTITION_AFTER = 2
"""A (place, activities) shape seen this many times gets a grounding of its own."""
REPEATED_LINE_RULE = "repeated_line"
"""The rule a claimed code repeated in one session breaks (rules.yaml; checked here, since the
rule base sees a claim as a set of codes)."""
SEPARATE_SESSIONS = ("sessions", ("separate",))
"""The condition under which a repeated code is valid when the data cannot tell one session from
several (line-level claims group a day's lines of one patient and practitioner)."""
PARTITION_AFTER_WHEN_FULL = 16
"""... or this many times once the groundings kept fill 90 % of the budget: a new shape
grounding then costs another one, and grounding one costs as much as hundreds of solves, so
only the shapes that recur earn one (the others are answered on their era's full grounding,
the same answers, a little slower)."""
SHAPE_CANDIDATES_KEPT = 4096
"""Shapes whose candidate codes are remembered (a few hundred bytes each)."""
DEFAULT_GROUNDING_BUDGET_MB = 256.0
"""Memory allowed to the groundings kept in a process (their estimated size, see
``grounding_bytes``); the least recently used are dropped beyond it and grounded again when
needed.  A bound on size, not on count: a larger catalogue makes each grounding larger, so
fewer are kept, and memory stays flat whatever the rule base or the input."""

GroundingKey = tuple[object, ...]
"""("full", era) | ("place", era, place) | ("shape", place, activities)."""


class UnknownCodeError(ValueError):
    """A claimed code is not in the catalogue."""

    def __init__(self, code: str, close: list[str]) -> None:
        hint = f"; close matches: {', '.join(close)}" if close else ""
        super().__init__(f"unknown code {code!r}{hint}")
        self.code = code
        self.close = close


class SolveTimeout(RuntimeError):
    """The solver did not answer within the time limit set by ``time_limit``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the solver did not answer within {seconds:g} s")
        self.seconds = seconds


@dataclass(eq=False)
class _Deadline:
    end: float
    """time.monotonic() at which solving stops"""
    seconds: float
    control: clingo.Control | None = None
    """The control solving now under this deadline (the one to interrupt)."""
    expired: bool = False


class _Watchdog:
    """One thread per process that interrupts solves past their deadline.

    A synchronous solve interrupted from another thread costs nothing when no deadline is
    reached, whereas an asynchronous solve starts a thread per call (milliseconds on a loaded
    machine).  The thread sleeps until the earliest deadline, polling at most every half
    second when idle, so arming a deadline seldom has to wake it.
    """

    IDLE_POLL = 0.5

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: set[_Deadline] = set()
        self._waiting_until = 0.0
        self._thread: threading.Thread | None = None

    def add(self, deadline: _Deadline) -> None:
        with self._cond:
            self._active.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ngap-watchdog", daemon=True)
                self._thread.start()
            if deadline.end < self._waiting_until:
                self._cond.notify()

    def remove(self, deadline: _Deadline) -> None:
        with self._cond:
            self._active.discard(deadline)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for deadline in [d for d in self._active if d.end <= now]:
                    deadline.expired = True
                    self._active.discard(deadline)
                    if deadline.control is not None:
                        deadline.control.interrupt()
                ends = [d.end for d in self._active]
                self._waiting_until = min(ends) if ends else now + self.IDLE_POLL
                self._cond.wait(max(0.0, self._waiting_until - now))


_WATCHDOG = _Watchdog()
_DEADLINE: ContextVar[_Deadline | None] = ContextVar("ngap_deadline", default=None)


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Every solve inside the block stops at ``seconds`` after entry: ``SolveTimeout``.

    A server answers many encounters with one grounded program; an encounter that makes the
    solver search too long must not hold the process.  Without a limit (the CLI, the batch
    audit) nothing changes.
    """
    if seconds is None:
        yield
        return
    deadline = _Deadline(time.monotonic() + seconds, seconds)
    _WATCHDOG.add(deadline)
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)
        _WATCHDOG.remove(deadline)


def _run_solve(
    control: clingo.Control,
    assumptions: list[int],
    on_model: Callable[[clingo.Model], bool | None],
) -> None:
    """``control.solve``, interrupted at the deadline of ``time_limit`` when one is set."""
    deadline = _DEADLINE.get()
    if deadline is None:
        control.solve(assumptions=assumptions, on_model=on_model)
        return
    if deadline.expired or time.monotonic() >= deadline.end:
        raise SolveTimeout(deadline.seconds)
    deadline.control = control
    try:
        result = control.solve(assumptions=assumptions, on_model=on_model)
    finally:
        deadline.control = None
    if deadline.expired or result.interrupted:
        raise SolveTimeout(deadline.seconds)


@dataclass
class _Model:
    symbols: list[Symbol]
    cost: list[int]
    proven: bool
    assumed: dict[str, str]


class Nomenclature:
    """The NGAP knowledge base, grounded once, answering for any encounter from 2022 on."""

    def __init__(
        self,
        catalogue: Catalogue,
        eras: tuple[Era, ...],
        *,
        grounding_budget_mb: float = DEFAULT_GROUNDING_BUDGET_MB,
        answer_memo: int = 0,
    ):
        self.catalogue = catalogue
        self.eras = eras
        self.grounding_budget = int(grounding_budget_mb * 2**20)
        """Bytes (estimated) the kept groundings may take together."""
        self._groundings: OrderedDict[GroundingKey, GroundProgram] = OrderedDict()
        self._sizes: dict[GroundingKey, int] = {}
        self._grounded_bytes = 0
        self._serials = count(1)
        self._shape_seen: Counter[tuple[str, frozenset[str]]] = Counter()
        self._shape_candidates: dict[tuple[str, frozenset[str]], dict[str, frozenset[str]]] = {}
        """The codes each era can bill in a shape, kept when its grounding is dropped: making
        it again then needs no full grounding."""
        self.answer_memo = answer_memo
        """Solver answers remembered (0: none).  The batch audit turns it on: its distinct
        situations share most sub-questions (the optimum of a context, one line of a claim)."""
        self._answers: OrderedDict[tuple[object, ...], list[_Model]] = OrderedDict()
        self._last_context: dict[int, tuple[Context, list[int], list[str]]] = {}

    @classmethod
    def load(cls) -> Nomenclature:
        catalogue = load_catalogue()
        return cls(catalogue, compute_eras(catalogue))

    # ----------------------------------------------------------------- groundings
    def _kept(
        self, key: GroundingKey, build: Callable[[], GroundProgram], *, use: bool = True
    ) -> GroundProgram:
        """The grounding under ``key``, built if needed; least recently used ones are dropped
        while the kept ones exceed the memory budget (never the one returned).  ``use=False``:
        a look that does not count as a use (the eras' full groundings read for a new shape's
        candidates: an era no encounter is of goes first when memory is short)."""
        program = self._groundings.get(key)
        if program is not None:
            if use:
                self._groundings.move_to_end(key)
            return program
        program = build()
        program.serial = next(self._serials)
        size = grounding_bytes(program)
        self._groundings[key] = program
        self._sizes[key] = size
        self._grounded_bytes += size
        dropped = False
        while self._grounded_bytes > self.grounding_budget and len(self._groundings) > 1:
            old = next(k for k in self._groundings if k != key)
            del self._groundings[old]
            self._grounded_bytes -= self._sizes.pop(old)
            dropped = True
        if dropped:
            self._forget_answers()
            trim_heap()  # or the resident size creeps up as groundings come and go
        return program

    @property
    def grounded_bytes(self) -> int:
        """Estimated bytes of the groundings kept now (at most the budget, or one grounding)."""
        return self._grounded_bytes

    @property
    def groundings(self) -> int:
        """How many groundings are kept now."""
        return len(self._groundings)

    def full_program(self, era: Era, *, use: bool = True) -> GroundProgram:
        """The rule base grounded for one era with every code (check mode).

        One grounding per era keeps each program small: a solve call costs time in proportion
        to the number of solver variables, and most atoms (prices, existence) depend on the era.
        """
        return self._kept(("full", era.index), lambda: ground(self.catalogue, (era,)), use=use)

    def optimise_program(
        self, era: Era, place: str, done: frozenset[str] | None = None
    ) -> GroundProgram:
        """The rule base grounded for one era and place, billing only the codes that some
        encounter of that place can validly bill (when ``done`` is given: the grounding of that
        shape, see ``shape_program``, which answers for every era).

        The candidate codes are the brave consequences of ``bill/1`` under "no violation" in the
        full grounding, with every other context open: computed from the same rules, so the
        pruning never drops a code that could be valid.  Fixing the shape as facts lets the
        grounder drop every rule that cannot apply, and a solve call costs time in proportion to
        the size of what is left.
        """
        if done is not None:
            return self.shape_program(place, done)
        return self._kept(
            ("place", era.index, place), lambda: self._ground_place(era, {"place": place})
        )

    def shape_program(self, place: str, done: frozenset[str]) -> GroundProgram:
        """The rule base grounded for one encounter shape (place and the exact set of activities
        performed), over every era, the era being one more assumption.

        One grounding per shape rather than one per shape and era: most of a shape's atoms do
        not depend on the era (its rules), so spanning the 16 eras takes about a third of the
        memory of 16 groundings, and an audit over several years grounds each shape once.  It
        bills the codes some era can validly bill; ``candidates_by_era`` keeps each era's own,
        so that a claim of a code its era cannot bill is still judged on the full grounding,
        and the relevant dimensions are computed era by era (``_Rules.relevant_dims``).
        """
        return self._kept(("shape", place, done), lambda: self._ground_shape(place, done))

    def _era_candidates(self, era: Era, fixed: dict[str, str]) -> frozenset[str]:
        full = self.full_program(era, use=False)
        lits = [full.ctx_literals[item] for item in fixed.items()]
        return frozenset(self._brave_bills(full, [*lits, -full.violated_literal]))

    def _ground_place(self, era: Era, fixed: dict[str, str]) -> GroundProgram:
        candidates = self._era_candidates(era, fixed)
        return ground(self.catalogue, (era,), fixed=fixed, candidates=candidates)

    def _ground_shape(self, place: str, done: frozenset[str]) -> GroundProgram:
        fixed = shape_facts(place, done)
        shape = (place, done)
        by_era = self._shape_candidates.get(shape)
        if by_era is None:
            by_era = {str(era.index): self._era_candidates(era, fixed) for era in self.eras}
            if len(self._shape_candidates) >= SHAPE_CANDIDATES_KEPT:
                self._shape_candidates.pop(next(iter(self._shape_candidates)))
            self._shape_candidates[shape] = by_era
        candidates = frozenset().union(*by_era.values())
        return ground(
            self.catalogue, self.eras, fixed=fixed, candidates=candidates, candidates_by_era=by_era
        )

    def _brave_bills(self, program: GroundProgram, assumptions: list[int]) -> set[str]:
        _configure(program, ("brave", "ignore", "0", "no"))
        found: set[str] = set()

        def on_model(model: clingo.Model) -> None:
            found.clear()
            true = set(true_literals(model, program.bill_literals.values()))
            found.update(c for c, lit in program.bill_literals.items() if lit in true)

        _run_solve(program.control, assumptions, on_model)
        return found

    def ground_all(self) -> None:
        """Ground every era now (servers and benchmarks: no first-call latency).  Each era's
        full grounding answers the first encounters of a shape and gives the candidate codes
        of the shape groundings."""
        for era in self.eras:
            self.full_program(era)

    def facts(self, name: str, arity: int) -> list[tuple[Symbol, ...]]:
        """Ground facts of one predicate of the rule base (e.g. needs_done/2), for tools."""
        atoms = self.full_program(self.eras[-1]).control.symbolic_atoms.by_signature(name, arity)
        return [tuple(a.symbol.arguments) for a in atoms if a.is_fact]

    def required_activities(self) -> dict[str, set[str]]:
        """Code -> the activities one of which must be performed (``needs_done``)."""
        table: dict[str, set[str]] = {}
        for code, activity in self.facts("needs_done", 2):
            name = activity.string if activity.type == clingo.SymbolType.String else activity.name
            table.setdefault(code.string, set()).add(name)
        return table

    # ----------------------------------------------------------------- encounter -> literals
    def context(self, encounter: Encounter) -> Context:
        return derive(encounter, self.eras)

    def _assumptions(self, ctx: Context, program: GroundProgram) -> tuple[list[int], list[str]]:
        """The literals of a context in a grounding, and its open dimensions (fresh lists).

        The last context of each grounding is remembered: one check asks for the same context
        several times (claim, optimum, conditions, lines)."""
        last = self._last_context.get(program.serial)
        if last is not None and last[0] is ctx:
            return list(last[1]), list(last[2])
        lits: list[int] = []
        open_dims: list[str] = []
        table = program.ctx_literals
        relevant = program.relevant_in(str(ctx.era.index))
        for dim, values in program.dims.items():
            given = ctx.values.get(dim)
            if isinstance(given, str):
                lits.append(table[(dim, given)])
            elif relevant is not None and dim not in relevant:
                # No answer of this grounding depends on it: any allowed value answers for all.
                allowed = [v for v in values if given is None or v in given] or values
                lits.append(table[(dim, allowed[0])])
            elif isinstance(given, frozenset):
                lits.extend(-table[(dim, v)] for v in values if v not in given)
                open_dims.append(dim)
            else:
                open_dims.append(dim)
        if len(self._last_context) > 64:
            self._last_context.clear()
        self._last_context[program.serial] = (ctx, lits, open_dims)
        return list(lits), list(open_dims)

    def normalise_claim(self, claimed: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        codes: list[str] = []
        replaced: dict[str, str] = {}
        for raw in claimed:
            code = raw.strip().upper() if raw.strip().upper() in self.catalogue.codes else raw
            code = code.strip()
            if code not in self.catalogue.codes:
                close = difflib.get_close_matches(code, list(self.catalogue.codes), n=3)
                # A bare CCAM modifier letter (M, P, S...) is written MOD_M, MOD_P...
                modifier = f"MOD_{code.upper()}"
                if modifier in self.catalogue.codes:
                    close = [modifier, *(c for c in close if c != modifier)][:3]
                raise UnknownCodeError(code, close)
            aggregated = self.catalogue.refined.get(code)
            if aggregated:
                replaced[code] = aggregated
                code = aggregated
            if code not in codes:
                codes.append(code)
        return codes, replaced

    def claim_repeats(self, claimed: Sequence[str]) -> list[str]:
        """The claimed lines beyond the first of their code (``G;G;G`` -> ``[G, G]``).

        The rule base judges a claim as a set of codes; every repeated line is still a billed
        line, counted in the claimed total and judged by ``repeated_line`` (NGAP general
        provisions art. 11 B: one act per session).  IK, IKM and IKS carry their kilometres as a
        quantity, so a repeated travel line is a repeat as well.
        """
        seen: set[str] = set()
        repeats: list[str] = []
        for raw in claimed:
            code = raw.strip().upper() if raw.strip().upper() in self.catalogue.codes else raw
            code = self.catalogue.refined.get(code.strip(), code.strip())
            if code in seen:
                repeats.append(code)
            seen.add(code)
        return repeats

    def _with_repeats(
        self, result: CheckResult, repeats: list[str], sessions_known: bool
    ) -> CheckResult:
        """The verdict once every repeated line is counted and judged.

        ``sessions_known``: the input describes one session (an encounter), so a repeated code
        is a violation; otherwise (claim lines grouped by day) it is valid only if the acts were
        separate sessions, and the optimum under that assumption counts the repeats as well.
        """
        by_code = {line.code: line for line in result.claimed.lines}
        extra = tuple(by_code[c] for c in repeats if c in by_code)
        added = sum(line.amount_cents or 0 for line in extra)
        claimed = replace(
            result.claimed,
            lines=result.claimed.lines + extra,
            total_cents=result.claimed.total_cents + added,
        )
        if sessions_known:
            info = self.catalogue.rules[REPEATED_LINE_RULE]
            found = tuple(
                Violation(
                    rule=REPEATED_LINE_RULE,
                    codes=(code,),
                    article=info.article,
                    source=info.source,
                    message_fr=info.message("fr", code, None),
                    message_en=info.message("en", code, None),
                )
                for code in dict.fromkeys(repeats)
            )
            violations = tuple(sorted(result.violations + found, key=lambda v: (v.rule, v.codes)))
            return replace(
                result,
                claimed=claimed,
                status="violation",
                violations=violations,
                conditions={},
                difference_cents=(
                    None
                    if result.optimal is None
                    else claimed.total_cents - result.optimal.total_cents
                ),
            )
        dim, values = SEPARATE_SESSIONS
        optimal = result.optimal
        if optimal is not None:
            optimal = replace(
                optimal,
                lines=optimal.lines + extra,
                total_cents=optimal.total_cents + added,
                assumed={**optimal.assumed, dim: values[0]},
            )
        if result.status == "violation":
            return replace(result, claimed=claimed, optimal=optimal)
        return replace(
            result,
            claimed=claimed,
            status="conditional",
            conditions={**result.conditions, dim: values},
            optimal=optimal,
        )

    # ----------------------------------------------------------------- solving
    def _solve(
        self,
        program: GroundProgram,
        assumptions: list[int],
        open_dims: list[str],
        *,
        opt_mode: str,
        models: int = 0,
    ) -> list[_Model]:
        # Enumerate answers, not contexts: models that differ only in open context atoms that
        # change nothing billed are one answer (projection on the shown atoms).  Without it an
        # encounter with twenty unknown facts has millions of optimal models.
        project = "show" if open_dims and models != 1 else "no"
        wanted = ("auto", opt_mode, str(models), project)
        key: tuple[object, ...] | None = None
        if self.answer_memo:
            key = (program.serial, wanted, tuple(open_dims), tuple(assumptions))
            known = self._answers.get(key)
            if known is not None:
                self._answers.move_to_end(key)
                return known
        _configure(program, wanted)
        found: list[_Model] = []
        table = program.ctx_literals
        open_literals = {
            table[(dim, value)]: (dim, value) for dim in open_dims for value in program.dims[dim]
        }

        def on_model(model: clingo.Model) -> None:
            if opt_mode == "optN" and model.cost and not model.optimality_proven:
                return  # an intermediate model on the way to the optimum
            assumed = dict(open_literals[lit] for lit in true_literals(model, open_literals))
            found.append(
                _Model(
                    list(model.symbols(shown=True)),
                    list(model.cost),
                    model.optimality_proven,
                    assumed,
                )
            )

        _run_solve(program.control, assumptions, on_model)
        if key is not None:
            self._answers[key] = found
            if len(self._answers) > self.answer_memo:
                self._answers.popitem(last=False)
        return found

    def _forget_answers(self) -> None:
        """Drop remembered answers of groundings no longer kept (their serials never return)."""
        live = {p.serial for p in self._groundings.values()}
        for key in [k for k in self._answers if k[0] not in live]:
            del self._answers[key]

    # ----------------------------------------------------------------- building answers
    def _cotation(self, model: _Model, ctx: Context, done: Sequence[str]) -> Cotation:
        amounts: dict[str, int] = {}
        rates: dict[str, int] = {}
        unpriced: set[str] = set()
        unconfirmed: set[str] = set()
        for sym in model.symbols:
            name = sym.name
            if name == "line":
                amounts[sym.arguments[0].string] = sym.arguments[1].number
            elif name == "rate":
                rates[sym.arguments[0].string] = sym.arguments[1].number
            elif name == "unpriced_line":
                unpriced.add(sym.arguments[0].string)
            elif name == "unconfirmed_line":
                unconfirmed.add(sym.arguments[0].string)
        lines = []
        records = [ACTIVITY_OF_REFINED[a] for a in ACTIVITY_OF_REFINED if a in done]
        for code in sorted(rates, key=self._order):
            info = self.catalogue.codes[code]
            rate = rates[code]
            amount: int | None = None if code in unpriced else amounts.get(code, 0)
            unit = None
            quantity = None
            if code in PER_KM and amount is not None:
                unit = amount
                quantity = ctx.km
                amount = round(amount * ctx.km)
            elif amount is not None and rate:
                unit = amount * 100 // rate if rate != 100 else amount
            record = next(
                (r for r in records if self.catalogue.refined.get(r) == code),
                None,
            )
            step = info.step_on(ctx.era.start)
            sources = info.sources + (step.sources if step else ())
            by_department = None
            if code in unpriced and ctx.values.get("department") == "unknown":
                by_department = self._department_amounts(info, ctx.era.start)
            lines.append(
                Line(
                    code=code,
                    amount_cents=amount,
                    rate_percent=rate,
                    unit_cents=unit,
                    label=info.label_en,
                    label_fr=info.label_fr,
                    article=info.article,
                    sources=tuple(dict.fromkeys(sources)),
                    unconfirmed=code in unconfirmed,
                    unpriced=code in unpriced,
                    record=record,
                    quantity=quantity,
                    by_department=by_department,
                )
            )
        total = sum(line.amount_cents or 0 for line in lines)
        complete = not any(line.unpriced or line.unconfirmed for line in lines)
        return Cotation(tuple(lines), total, complete, model.assumed)

    @staticmethod
    def _department_amounts(info: Code, day: dt.date) -> dict[str, str] | None:
        """Each overseas department's amount on ``day`` when at least one is known."""
        amounts = {
            number: "?" if s is None or s.cents is None or s.not_billable else euros(s.cents)
            for number, s in info.department_steps(day).items()
        }
        return amounts if any(a != "?" for a in amounts.values()) else None

    def _order(self, code: str) -> tuple[int, str]:
        kind = self.catalogue.codes[code].kind
        rank = {"act": 0, "ccam": 1, "ccam_supplement": 2, "ccam_modifier": 3, "majoration": 4}
        return (rank.get(kind, 5 if kind == "travel" else 6), code)

    def _violations(self, model: _Model) -> tuple[Violation, ...]:
        out = []
        for sym in model.symbols:
            if sym.name != "violation":
                continue
            rule = sym.arguments[0].name
            codes = tuple(a.string for a in sym.arguments[1:])
            info = self.catalogue.rules[rule]
            code = codes[0] if codes else None
            other = codes[1] if len(codes) > 1 else None
            out.append(
                Violation(
                    rule=rule,
                    codes=codes,
                    article=info.article,
                    source=info.source,
                    message_fr=info.message("fr", code, other),
                    message_en=info.message("en", code, other),
                )
            )
        return tuple(sorted(out, key=lambda v: (v.rule, v.codes)))

    # ----------------------------------------------------------------- public API
    def optimise(self, encounter: Encounter) -> OptimiseResult:
        """Every cotation of maximal total that breaks no rule (ties included)."""
        return self.optimise_context(self.context(encounter), encounter.done)

    def optimise_context(self, ctx: Context, done: Sequence[str]) -> OptimiseResult:
        """``optimise`` for an already derived context (the batch audit derives its own)."""
        program = self._program_for(ctx)
        lits, open_dims = self._assumptions(ctx, program)
        lits.append(-program.violated_literal)
        models = self._solve(program, lits, open_dims, opt_mode="optN")
        optimal = [m for m in models if m.proven] or models[-1:]
        cotations = self._unique(self._cotation(m, ctx, done) for m in optimal)
        # Ties in a canonical order, whatever order the solver found them in: the same answer
        # from every process and grounding (the batch engines must agree row for row).
        cotations.sort(key=lambda c: (len(c.lines), c.codes))
        return OptimiseResult(ctx.day, str(ctx.era), tuple(cotations))

    def enumerate(self, encounter: Encounter, limit: int = 50) -> EnumerateResult:
        """Every valid cotation, ranked by total (highest first), at most ``limit``."""
        ctx = self.context(encounter)
        program = self._program_for(ctx)
        lits, open_dims = self._assumptions(ctx, program)
        lits.append(-program.violated_literal)
        cap = 20000
        models = self._solve(program, lits, open_dims, opt_mode="ignore", models=cap)
        cotations = self._unique(self._cotation(m, ctx, encounter.done) for m in models)
        cotations.sort(key=lambda c: (-c.total_cents, len(c.lines), c.codes))
        truncated = len(models) >= cap or len(cotations) > limit
        return EnumerateResult(
            encounter.date.isoformat(), str(ctx.era), tuple(cotations[:limit]), truncated
        )

    def check(self, encounter: Encounter, claimed: Sequence[str] | None = None) -> CheckResult:
        """Judge a claimed coding: violations with their articles, and the money at stake."""
        return self.check_context(
            self.context(encounter),
            encounter.done,
            claimed if claimed is not None else (encounter.claimed or ()),
        )

    def check_context(
        self,
        ctx: Context,
        done: Sequence[str],
        claimed: Sequence[str],
        *,
        sessions_known: bool = True,
        optimum: bool = True,
    ) -> CheckResult:
        """``check`` for an already derived context (the batch audit derives its own).

        ``sessions_known=False`` when the input cannot tell one session from several (claim
        lines grouped by day): a repeated code is then conditional, not a violation.
        ``optimum=False``: the claim alone, with no optimum and no difference (the batch audit,
        when nothing shows what was done).
        """
        codes, replaced = self.normalise_claim(claimed)
        program, lits, open_dims = self._claim_literals(ctx, codes)
        models = self._solve(program, lits, open_dims, opt_mode="opt")
        best = models[-1]
        cotation = self._cotation(best, ctx, done)
        violations = self._violations(best)
        conditions: dict[str, tuple[str, ...]] = {}
        if violations:
            status = "violation"
        elif not open_dims:
            status = "valid"
        else:
            status, conditions = self._conditions(program, lits, open_dims)
        best_cotation = self.optimise_context(ctx, done).best if optimum else None
        diff = None if best_cotation is None else cotation.total_cents - best_cotation.total_cents
        result = CheckResult(
            ctx.day,
            str(ctx.era),
            cotation,
            status,
            violations,
            conditions,
            best_cotation,
            diff,
            replaced,
        )
        repeats = self.claim_repeats(claimed)
        return self._with_repeats(result, repeats, sessions_known) if repeats else result

    def _claim_literals(
        self, ctx: Context, claim: Sequence[str]
    ) -> tuple[GroundProgram, list[int], list[str]]:
        """The grounding to judge a claim on, and the literals of context and claim."""
        wanted = set(claim)
        program = self._program_for(ctx)
        if not program.holds_claim(str(ctx.era.index), wanted):
            # A code that cannot be valid in this shape: the full grounding explains why.
            program = self.full_program(ctx.era)
        lits, open_dims = self._assumptions(ctx, program)
        lits += [lit if c in wanted else -lit for c, lit in program.bill_literals.items()]
        return program, lits, open_dims

    def judge_context(
        self,
        ctx: Context,
        claim: Sequence[str],
        valid_in: Mapping[str, str] | None = None,
    ) -> tuple[str, dict[str, tuple[str, ...]]]:
        """Only the verdict of a (normalised) claim: valid, conditional (and on what), violation.

        Cheaper than ``check_context`` (no optimum, no amounts): the batch audit uses it to tell
        which claimed line carries which condition.  ``valid_in``: values of the open context
        under which the claim is already known to be valid (e.g. the optimum's assumptions),
        which spares the solve that would look for them.
        """
        program, lits, open_dims = self._claim_literals(ctx, claim)
        if not claim and self._nothing_billed_is_valid(program):
            # Valid in every context the encounter allows (an encounter's context literals
            # always have a model: check_context's first solve relies on it too).
            return "valid", {}
        if valid_in is None and not self._solve(
            program, [*lits, -program.violated_literal], open_dims, opt_mode="ignore", models=1
        ):
            return "violation", {}
        if not open_dims:
            return "valid", {}
        return self._conditions(program, lits, open_dims)

    def _nothing_billed_is_valid(self, program: GroundProgram) -> bool:
        """Whether billing nothing breaks no rule in any context of this grounding (one solve,
        remembered with the grounding).  The audit asks the conditions of an empty claim for
        every one-line claim and every empty optimum; proving there are none took a search over
        every open dimension each time, about 10 ms."""
        if program.nothing_billed_valid is None:
            nothing = [-lit for lit in program.bill_literals.values()]
            program.nothing_billed_valid = not self._solve(
                program, [*nothing, program.violated_literal], [], opt_mode="ignore", models=1
            )
        return program.nothing_billed_valid

    def _conditions(
        self, program: GroundProgram, lits: list[int], open_dims: list[str]
    ) -> tuple[str, dict[str, tuple[str, ...]]]:
        """Valid in every open context, or only under conditions (brave consequences), for a
        claim known to be valid in some context."""
        violated = program.violated_literal
        if not self._solve(program, [*lits, violated], open_dims, opt_mode="ignore", models=1):
            return "valid", {}
        # For each open dimension, the values under which the claim can be valid.
        possible = self._possible_values(program, lits, open_dims)
        return "conditional", self._restrictions(program, lits, possible)

    @staticmethod
    def _restrictions(
        program: GroundProgram, lits: list[int], possible: dict[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        """The conditions: for each open dimension, the values under which the claim can be
        valid, where they are fewer than the values the encounter allows.  An input that
        already narrows a dimension (an age known in years, so a few age bands) is not a
        condition of the claim: whether the dimension was left open (the era's full grounding)
        or fixed because nothing depends on it (a shape grounding), the answer is the same.
        When no dimension narrows on its own (validity hangs on a combination of values), the
        values are compared with the whole dimension instead."""
        excluded = {-lit for lit in lits if lit < 0}
        table = program.ctx_literals
        narrowed = {
            d: v
            for d, v in possible.items()
            if len(v) < sum(table[(d, x)] not in excluded for x in program.dims[d])
        }
        return narrowed or {d: v for d, v in possible.items() if len(v) < len(program.dims[d])}

    # ----------------------------------------------------------------- why not this code?
    def why_not(self, encounter: Encounter, code: str) -> WhyNotResult:
        """Why ``code`` is not on the optimal cotation of ``encounter``.

        The best cotation that includes the code is found by the same objective as ``check``
        (fewest violations, then the highest total) with the code's bill literal assumed; when
        it breaks rules in every open context, the known context is relaxed to find a smallest
        set of dimensions whose change allows the code, and the values that do.
        """
        return self.why_not_context(self.context(encounter), encounter.done, code)

    def why_not_context(self, ctx: Context, done: Sequence[str], code: str) -> WhyNotResult:
        """``why_not`` for an already derived context."""
        target = self.normalise_claim([code])[0][0]
        optimal = self.optimise_context(ctx, done).best

        def answer(
            status: str,
            with_code: Cotation | None = None,
            violations: tuple[Violation, ...] = (),
            conditions: dict[str, tuple[str, ...]] | None = None,
            changes: dict[str, tuple[str, ...]] | None = None,
        ) -> WhyNotResult:
            return WhyNotResult(
                ctx.day,
                str(ctx.era),
                target,
                status,
                optimal,
                with_code,
                violations,
                conditions or {},
                changes or {},
            )

        if target in optimal.codes:
            return answer("in_answer", optimal)
        program = self.full_program(ctx.era)
        bill = program.bill_literals.get(target)
        if bill is None:
            return answer("never")
        by_dim, open_dims = self._dim_literals(ctx, program)
        lits = [lit for dim_lits in by_dim.values() for lit in dim_lits]
        valid = self._solve(
            program, [*lits, bill, -program.violated_literal], open_dims, opt_mode="opt"
        )
        if valid:
            best = self._cotation(valid[-1], ctx, done)
            possible = self._possible_values(program, [*lits, bill], open_dims)
            conditions = self._restrictions(program, lits, possible)
            return answer("possible", best, conditions=conditions)
        models = self._solve(program, [*lits, bill], open_dims, opt_mode="opt")
        with_code = self._cotation(models[-1], ctx, done)
        violations = self._violations(models[-1])
        changes = self._changes(program, by_dim, open_dims, bill)
        if changes is None:
            return answer("never", with_code, violations)
        return answer("excluded", with_code, violations, changes=changes)

    _KEEP_FIRST = ("done:", "place", "zone", "specialty", "day", "bridge", "age", "exam_window")
    """Known dimensions the search for a change of context keeps as given first: what was
    performed, where and when, for whom; circumstances (urgency, hours, regulation) change
    first."""

    def _changes(
        self,
        program: GroundProgram,
        by_dim: dict[str, list[int]],
        open_dims: list[str],
        bill: int,
    ) -> dict[str, tuple[str, ...]] | None:
        """A smallest set (irreducible, found greedily) of known dimensions whose change lets the
        code be billed without violation, each with the values that allow it; None when no
        context allows it (km are never changed)."""
        violated = program.violated_literal
        known = [d for d in by_dim if not d.startswith("km_bit_")]

        def rank(dim: str) -> tuple[int, str]:
            for i, prefix in enumerate(self._KEEP_FIRST):
                if dim == prefix or (prefix.endswith(":") and dim.startswith(prefix)):
                    return (i, dim)
            return (len(self._KEEP_FIRST), dim)

        def attempt(changed: set[str]) -> _Model | None:
            lits = [lit for d, ls in by_dim.items() if d not in changed for lit in ls]
            found = self._solve(
                program,
                [*lits, bill, -violated],
                [*open_dims, *sorted(changed)],
                opt_mode="ignore",
                models=1,
            )
            return found[0] if found else None

        changed = set(known)
        witness = attempt(changed)
        if witness is None:
            return None
        # Only the dimensions the witness gives another value need changing; restore the
        # others, then try to restore each remaining one in turn.
        given = {d: self._given_values(program, by_dim[d], d) for d in known}
        changed = {d for d in known if witness.assumed.get(d) not in given[d]}
        for dim in sorted(changed, key=rank):
            if attempt(changed - {dim}) is not None:
                changed.discard(dim)
        lits = [lit for d, ls in by_dim.items() if d not in changed for lit in ls]
        possible = self._possible_values(
            program, [*lits, bill], [*open_dims, *sorted(changed)], only=sorted(changed)
        )
        return {d: possible[d] for d in sorted(changed, key=rank)}

    @staticmethod
    def _given_values(program: GroundProgram, lits: list[int], dim: str) -> set[str]:
        """The values a dimension may take under its given literals."""
        positive = {lit for lit in lits if lit > 0}
        negative = {-lit for lit in lits if lit < 0}
        values = set()
        for value in program.dims[dim]:
            lit = program.ctx_literals[(dim, value)]
            if (positive and lit not in positive) or lit in negative:
                continue
            values.add(value)
        return values

    def _dim_literals(
        self, ctx: Context, program: GroundProgram
    ) -> tuple[dict[str, list[int]], list[str]]:
        """``_assumptions`` grouped by dimension (known ones), and the open dimensions."""
        by_dim: dict[str, list[int]] = {}
        open_dims: list[str] = []
        table = program.ctx_literals
        for dim, values in program.dims.items():
            given = ctx.values.get(dim)
            if isinstance(given, str):
                by_dim[dim] = [table[(dim, given)]]
            elif isinstance(given, frozenset):
                by_dim[dim] = [-table[(dim, v)] for v in values if v not in given]
                open_dims.append(dim)
            else:
                open_dims.append(dim)
        return by_dim, open_dims

    def _possible_values(
        self,
        program: GroundProgram,
        lits: list[int],
        open_dims: list[str],
        only: Sequence[str] | None = None,
    ) -> dict[str, tuple[str, ...]]:
        """For each dimension of ``only`` (default: the open ones), the values under which some
        model of ``lits`` has no violation (in one solve call: ``_context_values``)."""
        wanted = tuple(only) if only is not None else tuple(open_dims)
        possible: dict[str, set[str]] = {dim: set() for dim in wanted}
        assumptions = [*lits, -program.violated_literal]
        for dim, value in self._context_values(program, assumptions, wanted):
            possible[dim].add(value)
        return {d: tuple(sorted(v)) for d, v in possible.items() if v}

    def _context_values(
        self, program: GroundProgram, assumptions: list[int], dims: tuple[str, ...]
    ) -> frozenset[tuple[str, str]]:
        """The values of ``dims`` true in some model of ``assumptions``: their brave
        consequences, in one solve call.

        Each model found adds a clause for the rest of the call: some value not yet seen must
        hold in the next one, so the call ends after at most one model per value (and one
        failed search), where asking for each value on its own cost a solve call per value:
        a dozen for a few open dimensions, hundreds for an encounter with nothing known.
        clasp's own brave enumeration cannot serve: it reads consequences over the shown atoms
        only, and the context is not shown (no answer reads it).  Not remembered: in an SNDS
        audit 6 % of these questions come twice, and the answers took tens of MB.
        """
        _configure(program, ("auto", "ignore", "0", "no"))
        table = program.ctx_literals
        unseen = {table[(d, v)]: (d, v) for d in dims for v in program.dims[d]}
        found: set[tuple[str, str]] = set()

        def on_model(model: clingo.Model) -> bool:
            for lit in true_literals(model, list(unseen)):
                found.add(unseen.pop(lit))
            if not unseen:
                return False  # every value seen: nothing left to look for
            model.context.add_clause(list(unseen))  # the next model shows a new value
            return True

        _run_solve(program.control, assumptions, on_model)
        return frozenset(found)

    def _program_for(self, ctx: Context) -> GroundProgram:
        """The smallest grounding that answers for this encounter's shape.

        A shape (place, activities) seen ``PARTITION_AFTER`` times gets its own grounding;
        until then its encounters are answered on the era's full grounding.  Unknown
        activities: the era-and-place grounding; unknown place: the full one.
        """
        place = ctx.fixed("place")
        if place is None:
            return self.full_program(ctx.era)
        done = self._done_set(ctx)
        if done is None:
            return self.optimise_program(ctx.era, place)
        shape = (place, done)
        if ("shape", *shape) not in self._groundings:
            self._shape_seen[shape] += 1
            full = self._grounded_bytes >= 0.9 * self.grounding_budget
            if self._shape_seen[shape] < (PARTITION_AFTER_WHEN_FULL if full else PARTITION_AFTER):
                return self.full_program(ctx.era)
            del self._shape_seen[shape]
        return self.shape_program(place, done)

    @staticmethod
    def _done_set(ctx: Context) -> frozenset[str] | None:
        done = []
        values = ctx.values
        for activity, dim in _DONE_DIMS:
            value = values.get(dim)
            if value == "yes":
                done.append(activity)
            elif value != "no":  # unknown, or one of several values
                return None
        return frozenset(done)

    @staticmethod
    def _unique(cotations: object) -> list[Cotation]:
        seen: dict[tuple[str, ...], Cotation] = {}
        for c in cotations:  # type: ignore[attr-defined]
            seen.setdefault(tuple(sorted(c.codes)), c)
        return list(seen.values())


_SOLVE_OPTIONS = ("enum_mode", "opt_mode", "models", "project")


def _configure(program: GroundProgram, wanted: tuple[str, str, str, str]) -> None:
    """Set the solve options (enumeration, optimisation, models, projection) of a grounding,
    only if they changed: setting clasp options costs more than a small solve."""
    if program.settings == wanted:
        return
    conf: Any = program.control.configuration.solve
    old = program.settings if len(program.settings) == len(wanted) else ("",) * len(wanted)
    for name, value, before in zip(_SOLVE_OPTIONS, wanted, old, strict=True):
        if value != before:
            setattr(conf, name, value)
    program.settings = wanted

