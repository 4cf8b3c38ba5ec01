"""Validate a vendor's rule set against the model: every difference with its article and a witness.

Why: a vendor's cumulation matrix or tariff table is usually checked by hand against circulars.
The model answers the same questions over every context (``ngap.analysis.space``), so each
difference can be *shown*: a wrongly allowed pair comes with the rules that forbid it and an
encounter in which ``ngap check`` reports them; a wrongly forbidden pair with an encounter in
which the model bills both codes without breaking any rule; a tariff difference with its dates.

Findings (``key`` is what ``examples/vendor/SEEDED_DEFECTS.yaml`` lists):

* ``input_error:FILE:LINE`` — a row or file that could not be read (the rest is analysed;
  FILE relative to the directory given, or the file name of a file given directly);
* ``unknown_code:CODE`` — a code the NGAP/CCAM catalogue of the model does not know;
* ``missing_code:CODE`` — a code billable on the date that the vendor's tariffs do not cover
  (only when the vendor gives metropolitan tariffs; the command line sums them up in one
  finding, ``ngap.analysis.baseline.summarise_missing``);
* ``tariff_difference:CODE:ZONE:FROM`` — amounts differ from FROM (until the period's end);
* ``wrongly_allowed:A:B[:CONDITIONS]`` — the vendor allows A with B, the model never does;
* ``wrongly_forbidden:A:B[:CONDITIONS]`` — the vendor forbids A with B, the model allows it;
* ``rule_breaking_cotation:ID`` / ``suboptimal_cotation:ID`` — a vendor test encounter whose
  claimed cotation breaks a rule / differs from the model's optimum (ID: the encounter's
  ``id``, else its file and a digest of its content).

Each finding has an *identity* (kind, codes, context: :attr:`VendorFinding.identity`) that a
baseline entry names to accept it: no line of the report, no order, no witness text in it, so
the same difference keeps the same identity from run to run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from ngap import clock
from ngap.analysis.rulebase import Analyser
from ngap.analysis.space import EraSpace, Witness
from ngap.analysis.vendor_io import (
    Ignored,
    Location,
    PairRow,
    RuleSet,
    TariffRow,
    close_matches,
    read_ruleset,
)
from ngap.model.catalogue import FAR_FUTURE
from ngap.model.eras import COVERAGE_START, Era
from ngap.solver.engine import Nomenclature
from ngap.solver.results import euros
from ngap.versions import versions

Identity = tuple[str, tuple[str, ...], str]
"""(kind, codes, context): what a baseline entry names; see :attr:`VendorFinding.identity`."""

PAIR_KINDS = ("wrongly_allowed", "wrongly_forbidden")
PARTNERS_FROM = 8
"""A code in at least this many unconditional pair rows is judged by its partners (one brave
run, ~15 satisfiability calls' time) rather than pair by pair."""
ENCOUNTER_KINDS = ("rule_breaking_cotation", "suboptimal_cotation")

KINDS = (
    "input_error",
    "unknown_code",
    "missing_code",
    "tariff_difference",
    "wrongly_allowed",
    "wrongly_forbidden",
    "rule_breaking_cotation",
    "suboptimal_cotation",
)


@dataclass
class VendorFinding:
    kind: str
    subject: tuple[str, ...]
    message: str
    locations: list[Location] = field(default_factory=list)
    articles: list[dict[str, str]] = field(default_factory=list)
    """{"rule" or "code": id, "article": text} — the legal basis of the finding."""
    witness: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return ":".join((self.kind, *self.subject))

    @property
    def identity(self) -> Identity:
        """(kind, codes, context), the same on every run: input errors by file (relative) and
        line, tariffs by code, zone and first day, pairs by their sorted codes and conditions,
        test encounters by id; unknown and missing codes by code."""
        return identity_of(self.kind, self.subject)

    def baseline_entry(self) -> dict[str, Any]:
        """The baseline entry that accepts this finding."""
        kind, codes, context = self.identity
        if kind == "missing_code":
            codes = self.subject
        entry: dict[str, Any] = {"kind": kind, "codes": list(codes)}
        if context:
            entry["context"] = context
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "identity": self.baseline_entry(),
            "kind": self.kind,
            "subject": list(self.subject),
            "message": self.message,
            "locations": [str(loc) for loc in self.locations],
            "articles": self.articles,
            "details": self.details,
            "witness": self.witness,
        }


def identity_of(kind: str, subject: tuple[str, ...]) -> Identity:
    """The identity of a finding of ``kind`` about ``subject`` (``VendorFinding.subject``)."""
    if kind == "input_error":
        return kind, (), ":".join(subject)
    if kind == "tariff_difference":
        code, zone, start = subject
        return kind, (code,), f"zone={zone};from={start}"
    if kind in PAIR_KINDS:
        return kind, tuple(sorted(subject[:2])), ":".join(subject[2:])
    if kind in ENCOUNTER_KINDS:
        return kind, (), subject[0]
    return kind, subject, ""


@dataclass
class ValidationReport:
    date: dt.date
    era: Era
    files: list[str]
    findings: list[VendorFinding]
    counts: dict[str, int]
    """What was compared: codes, tariff rows, matrix rows, pairs judged, encounters."""
    graph: dict[str, Any]
    """Nodes and edges for the drawing: model compatibility among the codes of pair findings."""
    seconds: float
    ignored: list[Ignored] = field(default_factory=list)
    """Files of the directories given that were not read, and why."""
    notes: list[str] = field(default_factory=list)
    """What was not compared, and why (e.g. no tariffs: no missing codes)."""

    def to_dict(self) -> dict[str, Any]:
        by_kind = {k: sum(1 for f in self.findings if f.kind == k) for k in KINDS}
        return {
            "date": self.date.isoformat(),
            "era": str(self.era),
            "files": self.files,
            "ignored": [{"file": i.file, "reason": i.reason} for i in self.ignored],
            "notes": self.notes,
            "counts": self.counts,
            "findings_by_kind": by_kind,
            "findings": [f.to_dict() for f in self.findings],
            "seconds": round(self.seconds, 2),
            "versions": versions(),
        }


class Validator:
    """Compares rule sets with the model; reuses groundings across calls."""

    def __init__(self, analyser: Analyser | None = None, nomenclature: Nomenclature | None = None):
        self.analyser = analyser or Analyser()
        self.catalogue = self.analyser.catalogue
        self.nomenclature = nomenclature or Nomenclature(self.catalogue, self.analyser.eras)

    # -------------------------------------------------------------- entry point
    def validate(
        self,
        paths: Iterable[str],
        date: dt.date | None = None,
        *,
        witnesses_for_missing: bool = True,
        exclude: Iterable[str] = (),
        kinds: Collection[str] = KINDS,
    ) -> ValidationReport:
        """Compare the vendor files under ``paths`` with the model on ``date`` (default today).
        ``witnesses_for_missing``: a replayable witness per missing code (about 1 KB each; off
        when they are summed up).  ``exclude``: files never read (this run's own outputs).
        ``kinds``: the comparisons to make (the others are skipped, their findings absent)."""
        started = time.perf_counter()
        ruleset = read_ruleset(paths, self.catalogue, exclude)
        day = date or clock.today()
        era = self.analyser.era_of(day)
        space = self.analyser.space(era)
        notes: list[str] = []
        findings: list[VendorFinding] = []
        findings += self._input_errors(ruleset)
        findings += self._unknown(ruleset)
        if "missing_code" not in kinds:
            pass
        elif any(t.zone == "metro" for t in ruleset.tariffs):
            findings += self._missing(ruleset, space, day, witnesses_for_missing)
        else:
            notes.append(
                "missing codes: the rule set has no metropolitan tariff row "
                "(a matrix or test encounters alone say nothing about the codes covered)"
            )
        if "tariff_difference" in kinds:
            findings += self._tariffs(ruleset)
        pair_findings: list[VendorFinding] = []
        judged = 0
        if set(PAIR_KINDS) & set(kinds):
            pair_findings, judged = self._pairs(ruleset, space, day)
        findings += pair_findings
        if set(ENCOUNTER_KINDS) & set(kinds) or "input_error" in kinds:
            findings += self._encounters(ruleset)
        findings = [f for f in findings if f.kind in kinds]
        findings.sort(key=lambda f: (KINDS.index(f.kind), f.subject))
        counts = {
            "files": len(ruleset.files),
            "codes": len(ruleset.codes()),
            "tariff_rows": len(ruleset.tariffs),
            "matrix_rows": len(ruleset.pairs),
            "pairs_judged": judged,
            "encounters": len(ruleset.encounters),
            "input_errors": len(ruleset.issues),
        }
        graph = self._graph(space, pair_findings)
        return ValidationReport(
            day,
            era,
            ruleset.files,
            findings,
            counts,
            graph,
            time.perf_counter() - started,
            sorted(ruleset.ignored),
            notes,
        )

    # -------------------------------------------------------------- helpers
    def _code_article(self, code: str) -> dict[str, str]:
        info = self.catalogue.codes.get(code)
        return {"code": code, "article": info.article if info else ""}

    def _rule_article(self, rule: str) -> dict[str, str]:
        info = self.catalogue.rules.get(rule)
        return {"rule": rule, "article": info.article if info else ""}

    def _replay(
        self, witness: Witness, ident: str, earliest: dt.date | None = None
    ) -> dict[str, Any]:
        return self.analyser.replay(witness, ident, earliest)

    # -------------------------------------------------------------- input
    @staticmethod
    def _input_errors(ruleset: RuleSet) -> list[VendorFinding]:
        return [
            VendorFinding(
                "input_error",
                (ruleset.name(issue.location.file), str(issue.location.line)),
                issue.message,
                [issue.location],
            )
            for issue in ruleset.issues
        ]

    def _unknown(self, ruleset: RuleSet) -> list[VendorFinding]:
        out = []
        for code, where in sorted(ruleset.unknown.items()):
            close = close_matches(code, self.catalogue)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            out.append(
                VendorFinding(
                    "unknown_code",
                    (code,),
                    f"{code} is not a code of the NGAP/CCAM catalogue of the model"
                    f" ({len(where)} occurrence(s)){hint}",
                    sorted(where)[:20],
                    details={"occurrences": len(where), "close_matches": close},
                )
            )
        return out

    # -------------------------------------------------------------- codes and tariffs
    def _missing(
        self, ruleset: RuleSet, space: EraSpace, day: dt.date, witnesses: bool
    ) -> list[VendorFinding]:
        covered = {t.code for t in ruleset.tariffs if t.zone == "metro" and t.start <= day <= t.end}
        files = sorted({t.location.file for t in ruleset.tariffs if t.zone == "metro"})
        out = []
        for code in sorted(space.alive() - covered):
            info = self.catalogue.codes[code]
            witness = space.witness([code]) if witnesses else None
            out.append(
                VendorFinding(
                    "missing_code",
                    (code,),
                    f"{code} ({info.label_en}) is billable on {day} but the vendor's tariffs "
                    "do not cover that date",
                    [Location(f, 0) for f in files],
                    articles=[self._code_article(code)],
                    witness=self._replay(witness, f"missing-{code}") if witness else None,
                )
            )
        return out

    def _tariffs(self, ruleset: RuleSet) -> list[VendorFinding]:
        out = []
        eras = self.analyser.eras
        for row in sorted(ruleset.tariffs, key=lambda t: (t.code, t.zone, t.start)):
            info = self.catalogue.codes[row.code]
            if info.kind == "refined":
                continue
            segments: list[tuple[dt.date, dt.date, int | None, bool]] = []
            for era in eras:
                start, end = max(era.start, row.start, COVERAGE_START), min(era.end, row.end)
                if start > end:
                    continue
                model = self._model_amount(row, era)
                if model is _UNKNOWN:
                    continue
                assert not isinstance(model, _Unknown)
                differs = model != row.cents
                if segments and segments[-1][3] == differs and segments[-1][2] == model:
                    first = segments[-1]
                    segments[-1] = (first[0], end, model, differs)
                else:
                    segments.append((start, end, model, differs))
            for start, end, model, differs in segments:
                if not differs:
                    continue
                out.append(self._tariff_finding(row, start, end, model))
        return out

    def _model_amount(self, row: TariffRow, era: Era) -> int | _Unknown | None:
        """The model's amount (cents), None when the code is not in force, or UNKNOWN when
        the model has no amount to compare with (unpriced, free)."""
        info = self.catalogue.codes[row.code]
        if not info.billable_on(era.start):
            return None
        if info.kind == "free":
            return _UNKNOWN
        step = info.step_on(era.start, "std", row.zone)
        if step is None or step.cents is None:
            return _UNKNOWN
        return step.cents

    def _tariff_finding(
        self, row: TariffRow, start: dt.date, end: dt.date, model: int | None
    ) -> VendorFinding:
        vendor = "no amount" if row.cents is None else f"{euros(row.cents)} €"
        model_text = "not in force" if model is None else f"{euros(model)} €"
        until = "" if end >= FAR_FUTURE else f" to {end.isoformat()}"
        era = self.analyser.era_of(start)
        witness = None
        if model is not None:
            found = self.analyser.space(era).witness([row.code], {"zone": [row.zone]})
            if found is not None:
                witness = self._replay(found, f"tariff-{row.code}", start)
        step = self.catalogue.codes[row.code].step_on(start, "std", row.zone)
        return VendorFinding(
            "tariff_difference",
            (row.code, row.zone, start.isoformat()),
            f"{row.code} ({row.zone}) from {start.isoformat()}{until}: vendor {vendor}, "
            f"model {model_text}",
            [row.location],
            [self._code_article(row.code)],
            witness,
            {
                "vendor_cents": row.cents,
                "model_cents": model,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "model_grade": step.grade if step else None,
                "model_sources": list(step.sources) if step else [],
            },
        )

    # -------------------------------------------------------------- cumulation matrix
    def _pairs(
        self, ruleset: RuleSet, space: EraSpace, day: dt.date
    ) -> tuple[list[VendorFinding], int]:
        out: list[VendorFinding] = []
        judged = 0
        listed: set[tuple[str, str]] = set()
        refined = self.catalogue.refined
        # A code listed in many pairs without condition: its partners, found by one brave run,
        # answer all its pairs (a vendor matrix lists most codes against most others).
        rows_of: Counter[str] = Counter(
            refined.get(row.a, row.a)
            for row in ruleset.pairs
            if not row.conditions and row.start <= day <= row.end
        )
        for code, count in rows_of.items():
            if count >= PARTNERS_FROM and code in space.existing:
                space.partners(code)
        for row in ruleset.pairs:
            listed.add(row.pair)
            if not row.start <= day <= row.end:
                continue
            a, b = refined.get(row.a, row.a), refined.get(row.b, row.b)
            judged += 1
            restriction = row.restriction()
            if row.allowed:
                if space.satisfiable([a, b], restriction):
                    continue
                out.append(self._wrongly_allowed(space, row, a, b))
            else:
                witness = space.witness([a, b], restriction)
                if witness is None:
                    continue
                out.append(self._wrongly_forbidden(row, a, b, witness))
        if ruleset.default_allowed is not None:
            codes = sorted(c for c in ruleset.codes() if c in space.existing)
            matrix = {c: space.partners(c) for c in codes}
            where = ruleset.default_location
            for a, b in itertools.combinations(codes, 2):
                if (a, b) in listed:
                    continue
                judged += 1
                together = b in matrix[a]
                if together == ruleset.default_allowed:
                    continue
                row = PairRow(
                    a, b, ruleset.default_allowed, (), "", day, day, where or Location("", 0)
                )
                if ruleset.default_allowed:
                    out.append(self._wrongly_allowed(space, row, a, b, default=True))
                else:
                    witness = space.witness([a, b])
                    assert witness is not None
                    out.append(self._wrongly_forbidden(row, a, b, witness, default=True))
        return out, judged

    @staticmethod
    def _pair_subject(row: PairRow) -> tuple[str, ...]:
        a, b = row.pair
        return (a, b, row.condition_text) if row.condition_text else (a, b)

    def _wrongly_allowed(
        self, space: EraSpace, row: PairRow, a: str, b: str, default: bool = False
    ) -> VendorFinding:
        blocking = space.blocking([a, b], row.restriction())
        rules = list(blocking.rules) if blocking else []
        witness = (
            self._replay(blocking.witness, f"allowed-{a}-{b}") if blocking is not None else None
        )
        how = "not listed, so allowed by default" if default else "allowed"
        cond = f" when {row.condition_text}" if row.condition_text else ""
        because = ", ".join(rules) or "no context satisfies the conditions"
        return VendorFinding(
            "wrongly_allowed",
            self._pair_subject(row),
            f"{a} with {b}{cond}: {how} by the vendor, never billable together in the model "
            f"({because})",
            [row.location],
            [self._rule_article(r) for r in rules],
            witness,
            {
                "blocking_rules": rules,
                "alternatives": [list(x) for x in blocking.alternatives] if blocking else [],
                "default": default,
            },
        )

    def _wrongly_forbidden(
        self, row: PairRow, a: str, b: str, witness: Witness, default: bool = False
    ) -> VendorFinding:
        how = "not listed, so forbidden by default" if default else "forbidden"
        cond = f" when {row.condition_text}" if row.condition_text else ""
        return VendorFinding(
            "wrongly_forbidden",
            self._pair_subject(row),
            f"{a} with {b}{cond}: {how} by the vendor, billable together in the model "
            f"(witness cotation {' + '.join(witness.billed)})",
            [row.location],
            [self._code_article(a), self._code_article(b)],
            self._replay(witness, f"forbidden-{a}-{b}"),
            {"witness_cotation": list(witness.billed), "default": default},
        )

    # -------------------------------------------------------------- test encounters
    def _encounters(self, ruleset: RuleSet) -> list[VendorFinding]:
        out = []
        for item in ruleset.encounters:
            encounter = item.encounter
            try:
                verdict = self.nomenclature.check(encounter)
            except ValueError as error:
                out.append(
                    VendorFinding(
                        "input_error",
                        (ruleset.name(item.location.file), str(item.location.line)),
                        str(error),
                        [item.location],
                    )
                )
                continue
            data = encounter.model_dump(mode="json", exclude_none=True)
            optimum = verdict.optimal
            details: dict[str, Any] = {
                "claimed": list(verdict.claimed.codes),
                "claimed_cents": verdict.claimed.total_cents,
                "optimal": list(optimum.codes) if optimum else [],
                "optimal_cents": optimum.total_cents if optimum else None,
                "status": verdict.status,
            }
            witness = {"encounter": data, "replayable": True}
            if verdict.violations:
                rules = sorted({v.rule for v in verdict.violations})
                details["violations"] = [
                    {"rule": v.rule, "codes": list(v.codes), "message": v.message_en}
                    for v in verdict.violations
                ]
                out.append(
                    VendorFinding(
                        "rule_breaking_cotation",
                        (item.ident,),
                        f"{item.ident}: claimed {' + '.join(verdict.claimed.codes)} breaks "
                        + ", ".join(rules),
                        [item.location],
                        [self._rule_article(r) for r in rules],
                        witness,
                        details,
                    )
                )
                continue
            optimal_sets = {
                frozenset(c.codes) for c in self.nomenclature.optimise(encounter).optimal
            }
            if frozenset(verdict.claimed.codes) in optimal_sets:
                continue
            diff = verdict.difference_cents or 0
            out.append(
                VendorFinding(
                    "suboptimal_cotation",
                    (item.ident,),
                    f"{item.ident}: claimed {' + '.join(verdict.claimed.codes) or '(nothing)'} "
                    f"({euros(verdict.claimed.total_cents)} €) differs from the optimum "
                    f"{' + '.join(optimum.codes) if optimum else '?'} "
                    f"({euros(optimum.total_cents) if optimum else '?'} €): {euros(diff)} €"
                    + ("" if optimum is None or optimum.complete else " (optimum partly unpriced)"),
                    [item.location],
                    [self._code_article(c) for c in (optimum.codes if optimum else ())],
                    witness,
                    details | {"difference_cents": diff},
                )
            )
        return out

    # -------------------------------------------------------------- drawing
    @staticmethod
    def _graph(space: EraSpace, findings: list[VendorFinding]) -> dict[str, Any]:
        codes = sorted({c for f in findings for c in f.subject[:2]} & set(space.codes))
        edges = []
        for a, b in itertools.combinations(codes, 2):
            if b in space.partners(a):
                edges.append({"a": a, "b": b, "kind": "model"})
        for f in findings:
            a, b = f.subject[0], f.subject[1]
            if a in codes and b in codes:
                edges.append({"a": a, "b": b, "kind": f.kind})
        return {"era": space.era.index, "nodes": codes, "edges": edges}


class _Unknown:
    pass


_UNKNOWN = _Unknown()


def validate(paths: Iterable[str], date: dt.date | None = None) -> ValidationReport:
    """Convenience: validate the vendor files under ``paths`` with a fresh model."""
    return Validator().validate(paths, date)
