"""Defects of the rule base itself, found by solving over every context of every era.

Why: a rule base of ~90 rules written by several people drifts — a code no context can bill, a
rule whose condition can never hold, an exclusion another rule already implies, a majoration
declared on a base act that another rule forbids it with.  Tests on examples do not see these;
questions over *all* contexts do.  Each finding carries the rules involved, their NGAP articles,
the eras it holds in, and a witness encounter that shows it (``ngap check`` on the witness gives
the violations listed).

Kinds of finding (the ``key`` of a finding is ``kind:subject`` and is what the allow-list names):

``dead_code``
    a code in force in an era that no context lets you bill (witness: a context in which billing
    it alone breaks the fewest rules);
``contradiction``
    a majoration declared on a base act (``attaches(M,B)``: M requires one of its bases) that
    other rules forbid it with in every context (``M`` and ``B`` are each billable);
``never_fires``
    a rule in force, written for codes that exist, that no context and no billing can break;
``unused_rule`` / ``undocumented_rule``
    a rule of ``rules.yaml`` the rule base never grounds a breach for / a rule id the rule base
    uses that ``rules.yaml`` does not date (so it is never in force);
``redundant_exclusion``
    an ``excludes(A,B,R)`` fact whose pair stays never billable together with rule R switched off
    (``disabled(R)``): the other rules already forbid it;
``implied_rule``
    a (non-exclusion) rule whose every breach is already forbidden by other rules.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import networkx as nx
import yaml

from ngap.analysis.space import Blocking, EraSpace, Witness
from ngap.analysis.witness import encounter_of
from ngap.model.catalogue import Catalogue, load_catalogue
from ngap.model.eras import Era, compute_eras, era_of
from ngap.versions import versions

Evidence = tuple[list[str], list[list[str]], dict[str, Any] | None]
"""Blocking rules, alternative rule sets, witness (encounter data)."""

KINDS = (
    "undocumented_rule",
    "unused_rule",
    "dead_code",
    "contradiction",
    "never_fires",
    "redundant_exclusion",
    "implied_rule",
)


# ====================================================================== the spaces of all eras
class Analyser:
    """One :class:`EraSpace` per era, grounded on first use."""

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        eras: tuple[Era, ...] | None = None,
        extra: str = "",
    ):
        """``extra``: ASP rules added to the rule base (what-if analyses; see EraSpace)."""
        self.catalogue = catalogue or load_catalogue()
        self.eras = eras or compute_eras(self.catalogue)
        self.extra = extra
        self._spaces: dict[int, EraSpace] = {}
        self.evidence: dict[tuple[int, str], Evidence] = {}
        """Evidence of findings already computed (era, witness id): repeated reports are fast."""

    def space(self, era: Era) -> EraSpace:
        found = self._spaces.get(era.index)
        if found is None:
            found = EraSpace(self.catalogue, era, self.extra)
            self._spaces[era.index] = found
        return found

    def era_of(self, day: dt.date) -> Era:
        return era_of(self.eras, day)

    def replay(
        self, witness: Witness, ident: str | None = None, earliest: dt.date | None = None
    ) -> dict[str, Any]:
        """The witness as a replayable encounter (JSON data) with its claimed codes."""
        replay = encounter_of(
            witness.context, witness.era, witness.billed, self.eras, ident, earliest
        )
        data: dict[str, Any] = {"encounter": replay.encounter, "replayable": replay.replayable}
        if replay.differences:
            data["differences"] = list(replay.differences)
        if witness.violations:
            data["violations"] = [
                {"rule": r, "codes": list(codes)} for r, codes in witness.violations
            ]
        return data

    # -------------------------------------------------------------- convenience questions
    def billable(self, code: str, era: Era) -> Witness | None:
        """Is ``code`` billable in some context of ``era``?  The witness, or None."""
        return self.space(era).witness([code])

    def together(self, codes: Sequence[str], era: Era) -> Witness | Blocking | None:
        """A witness that ``codes`` are billable together in ``era``, or the rules that always
        forbid it (None: a code is not billable by the rule base at all)."""
        space = self.space(era)
        witness = space.witness(codes)
        if witness is not None:
            return witness
        return space.blocking(codes)


# ====================================================================== findings
@dataclass
class Finding:
    """One defect (or allowed peculiarity) of the rule base."""

    kind: str
    subject: tuple[str, ...]
    message: str
    eras: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    """The rules involved: the rule itself, or the rules that block the combination."""
    witness: dict[str, Any] | None = None
    allowed: str | None = None
    """The allow-list's reason, when the finding is explained there."""
    alternatives: list[list[str]] = field(default_factory=list)
    """Other, as small, sets of rules that block the combination."""
    evidence: Callable[[], Evidence] | None = field(default=None, repr=False, compare=False)
    """Computes ``rules``, ``alternatives`` and ``witness`` (once, for the latest era)."""

    @property
    def key(self) -> str:
        return f"{self.kind}:{':'.join(self.subject)}"

    def to_dict(self, catalogue: Catalogue, eras: tuple[Era, ...]) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "subject": list(self.subject),
            "message": self.message,
            "eras": self.eras,
            "periods": periods(self.eras, eras),
            "rules": [
                {"rule": r, "article": catalogue.rules[r].article if r in catalogue.rules else ""}
                for r in self.rules
            ],
            "alternatives": self.alternatives,
            "witness": self.witness,
            "allowed": self.allowed,
        }


def periods(indices: Iterable[int], eras: tuple[Era, ...]) -> list[str]:
    """Consecutive eras merged into date ranges: ``2022-01-01..2024-12-21``."""
    by_index = {e.index: e for e in eras}
    out: list[str] = []
    run: list[Era] = []
    for index in sorted(set(indices)):
        era = by_index[index]
        if run and run[-1].index + 1 != index:
            out.append(f"{run[0].start.isoformat()}..{run[-1].end.isoformat()}")
            run = []
        run.append(era)
    if run:
        out.append(f"{run[0].start.isoformat()}..{run[-1].end.isoformat()}")
    return out


@dataclass
class EraSummary:
    """The compatibility graph of one era, in numbers."""

    era: int
    start: str
    end: str
    codes_in_force: int
    billable: int
    pairs: int
    components: list[list[str]]
    cliques: int
    largest_cliques: list[list[str]]
    largest_cliques_billable: list[bool]
    """Whether each of ``largest_cliques`` is billable all at once in some context (pairwise
    compatible codes need not be: at most two CCAM acts, one main act...)."""
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RuleBaseReport:
    findings: list[Finding]
    summaries: list[EraSummary]
    eras: tuple[Era, ...]
    analysed: list[int]
    stale_allowances: list[str]
    seconds: float
    graphs: dict[int, nx.Graph] = field(default_factory=dict)

    @property
    def defects(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed is None]

    def to_dict(self, catalogue: Catalogue) -> dict[str, Any]:
        return {
            "analysed_eras": self.analysed,
            "defects": len(self.defects),
            "allowed": len(self.findings) - len(self.defects),
            "findings": [f.to_dict(catalogue, self.eras) for f in self.findings],
            "stale_allowances": self.stale_allowances,
            "eras": [s.to_dict() for s in self.summaries],
            "matrices": {
                str(era): {code: sorted(graph.neighbors(code)) for code in sorted(graph.nodes)}
                for era, graph in self.graphs.items()
            },
            "seconds": round(self.seconds, 2),
            "versions": versions(),
        }


# ====================================================================== one era
def _blocking_evidence(
    analyser: Analyser,
    space: EraSpace,
    codes: Sequence[str],
    ident: str,
    disabled: Sequence[str] = (),
) -> Callable[[], Evidence]:
    def compute() -> Evidence:
        key = (space.era.index, ident)
        known = analyser.evidence.get(key)
        if known is not None:
            return known
        with space.disabled_rules(disabled):
            blocking = space.blocking(codes)
        if blocking is None:
            return [], [], None
        found = (
            list(blocking.rules),
            [list(a) for a in blocking.alternatives],
            analyser.replay(blocking.witness, ident),
        )
        analyser.evidence[key] = found
        return found

    return compute


def _implied_evidence(analyser: Analyser, space: EraSpace, rule: str) -> Callable[[], Evidence]:
    def compute() -> Evidence:
        with space.disabled_rules([rule]):
            found = space.fewest([space.would_fire[rule]])
        if found is None:
            return [], [], None
        rules = sorted({r for r, _ in found.violations})
        return rules, [], analyser.replay(found, f"implied-{rule}")

    return compute


def _era_findings(analyser: Analyser, space: EraSpace) -> list[Finding]:
    """The findings of one era; their evidence is computed later, for the latest era only."""
    catalogue = analyser.catalogue
    era = space.era.index
    out: list[Finding] = []
    alive = space.alive()

    for code in sorted(space.existing - alive):
        out.append(
            Finding(
                "dead_code",
                (code,),
                f"{code} is in force but no context lets you bill it",
                [era],
                evidence=_blocking_evidence(analyser, space, [code], f"dead-{code}"),
            )
        )

    for majoration, base in space.attachments:
        if majoration not in alive or base not in alive:
            continue
        if space.satisfiable([majoration, base]):
            continue
        out.append(
            Finding(
                "contradiction",
                (majoration, base),
                f"{majoration} is declared on {base} (attaches) but other rules forbid "
                f"{majoration} with {base} in every context",
                [era],
                evidence=_blocking_evidence(
                    analyser, space, [majoration, base], f"contradiction-{majoration}-{base}"
                ),
            )
        )

    firing = space.firing_rules()
    potential = _rules_on_live_codes(space)
    for rule in sorted((space.in_force & potential) - firing):
        if catalogue.rules.get(rule) and catalogue.rules[rule].kind == "exception":
            continue
        out.append(
            Finding(
                "never_fires",
                (rule,),
                f"rule {rule} is in force but no context and no billing breaks it",
                [era],
                [rule],
            )
        )

    exclusion_only = _exclusion_only_rules(space)
    for rule in sorted(firing - exclusion_only - {"code_not_in_force"}):
        if space.rule_implied(rule):
            out.append(
                Finding(
                    "implied_rule",
                    (rule,),
                    f"rule {rule} never forbids anything the other rules allow",
                    [era],
                    evidence=_implied_evidence(analyser, space, rule),
                )
            )

    for a, b, rule in space.exclusions:
        if rule not in space.in_force or a not in alive or b not in alive:
            continue
        if space.exclusion_implied(a, b, rule):
            out.append(
                Finding(
                    "redundant_exclusion",
                    (rule, a, b),
                    f"excludes({a},{b},{rule}) is implied by other rules",
                    [era],
                    evidence=_blocking_evidence(
                        analyser, space, [a, b], f"redundant-{rule}-{a}-{b}", [rule]
                    ),
                )
            )
    return out


def _rules_on_live_codes(space: EraSpace) -> frozenset[str]:
    """Rules with a grounded breach on codes that exist in the era."""
    live = space.existing
    found = set()
    for arity in (2, 3):
        for atom in space.control.symbolic_atoms.by_signature("breach", arity):
            args = atom.symbol.arguments
            if all(a.string in live for a in args[1:]):
                found.add(args[0].name)
    return frozenset(found)


def _exclusion_only_rules(space: EraSpace) -> frozenset[str]:
    """Rules all of whose breaches come from ``excludes`` facts (judged fact by fact)."""
    facts: dict[str, set[tuple[str, str]]] = {}
    for a, b, rule in space.exclusions:
        facts.setdefault(rule, set()).add((a, b))
    other: set[str] = set()
    pairs: dict[str, set[tuple[str, str]]] = {}
    for atom in space.control.symbolic_atoms.by_signature("breach", 2):
        other.add(atom.symbol.arguments[0].name)
    for atom in space.control.symbolic_atoms.by_signature("breach", 3):
        args = atom.symbol.arguments
        pairs.setdefault(args[0].name, set()).add((args[1].string, args[2].string))
    return frozenset(
        rule for rule, ps in pairs.items() if rule not in other and ps <= facts.get(rule, set())
    )


def _summary(space: EraSpace, seconds: float) -> tuple[EraSummary, nx.Graph]:
    graph = compatibility_graph(space)
    cliques = sorted((sorted(c) for c in nx.find_cliques(graph)), key=lambda c: (-len(c), c))
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=len, reverse=True)
    summary = EraSummary(
        era=space.era.index,
        start=space.era.start.isoformat(),
        end=space.era.end.isoformat(),
        codes_in_force=len(space.existing),
        billable=graph.number_of_nodes(),
        pairs=graph.number_of_edges(),
        components=components,
        cliques=len(cliques),
        largest_cliques=cliques[:3],
        largest_cliques_billable=[space.satisfiable(c) for c in cliques[:3]],
        seconds=round(seconds, 2),
    )
    return summary, graph


def compatibility_graph(space: EraSpace) -> nx.Graph:
    """Codes billable in the era, an edge between two codes billable together in some
    context.  Its components and maximal cliques bound the sets of codes billable together
    (a clique is pairwise compatible; whether it is billable all at once is
    :meth:`EraSpace.satisfiable`)."""
    graph: nx.Graph = nx.Graph(era=space.era.index, start=space.era.start.isoformat())
    catalogue = space.catalogue
    for code, partners in space.matrix().items():
        info = catalogue.codes[code]
        graph.add_node(code, kind=info.kind, label=info.label_en, nomenclature=info.nomenclature)
        graph.add_edges_from((code, other) for other in partners)
    return graph


def maximal_sets(space: EraSpace, limit: int = 50) -> list[tuple[list[str], bool]]:
    """The maximal cliques of the compatibility graph, largest first, each with whether the
    whole clique is billable at once in some context."""
    graph = compatibility_graph(space)
    cliques = sorted((sorted(c) for c in nx.find_cliques(graph)), key=lambda c: (-len(c), c))
    return [(c, space.satisfiable(c)) for c in cliques[:limit]]


# ====================================================================== the report
def load_allow_list(path: str | None = None) -> dict[str, str]:
    """Finding key -> reason (``ngap/analysis/allow_list.yaml``, or another file)."""
    if path is None:
        text = resources.files("ngap.analysis").joinpath("allow_list.yaml").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    data = yaml.safe_load(text) or {}
    allow = data.get("allow", {}) if isinstance(data, dict) else {}
    if not isinstance(allow, dict):
        raise ValueError("allow-list: 'allow' must map finding keys to reasons")
    return {str(k): str(v) for k, v in allow.items()}


def allowance(key: str, allow: dict[str, str]) -> str | None:
    """The allow-list entry for a finding key: the key itself, else the first glob pattern
    (``redundant_exclusion:snp_no_cumul:*``) that matches it."""
    if key in allow:
        return key
    return next((p for p in allow if "*" in p and fnmatch.fnmatchcase(key, p)), None)


def _static_findings(analyser: Analyser, spaces: list[EraSpace]) -> list[Finding]:
    catalogue = analyser.catalogue
    used = set().union(*(s.breach_rules for s in spaces)) if spaces else set()
    out = []
    for rule in sorted(used - set(catalogue.rules)):
        out.append(
            Finding(
                "undocumented_rule",
                (rule,),
                f"rule {rule} is used by the rule base but rules.yaml does not date it, so it "
                "is never in force",
                [s.era.index for s in spaces],
                [rule],
            )
        )
    for rule in sorted(set(catalogue.rules) - used):
        if catalogue.rules[rule].kind == "exception":
            continue
        if not catalogue.rules[rule].file.endswith(".lp"):
            continue  # a rule across encounters (ngap/audit/frequency.py), not of one encounter
        out.append(
            Finding(
                "unused_rule",
                (rule,),
                f"rule {rule} of rules.yaml has no breach in the rule base",
                [s.era.index for s in spaces],
                [rule],
            )
        )
    return out


def analyse(
    analyser: Analyser | None = None,
    eras: Sequence[Era] | None = None,
    allow: dict[str, str] | None = None,
    matrix: bool = True,
) -> RuleBaseReport:
    """Every finding over ``eras`` (default: all), merged across eras, with the allow-list."""
    started = time.perf_counter()
    analyser = analyser or Analyser()
    chosen = list(eras or analyser.eras)
    allow = load_allow_list() if allow is None else allow
    merged: dict[str, Finding] = {}
    summaries: list[EraSummary] = []
    graphs: dict[int, nx.Graph] = {}
    spaces = []
    for era in chosen:
        t0 = time.perf_counter()
        space = analyser.space(era)
        spaces.append(space)
        for finding in _era_findings(analyser, space):
            known = merged.get(finding.key)
            if known is None:
                merged[finding.key] = finding
            else:
                known.eras += finding.eras
                known.evidence = finding.evidence  # the most recent era's
        if matrix:
            summary, graph = _summary(space, 0.0)
            summary.seconds = round(time.perf_counter() - t0, 2)
            summaries.append(summary)
            graphs[era.index] = graph
    for finding in _static_findings(analyser, spaces):
        merged.setdefault(finding.key, finding)
    for finding in merged.values():
        if finding.evidence is not None:
            finding.rules, finding.alternatives, finding.witness = finding.evidence()
            finding.evidence = None
    findings = sorted(merged.values(), key=lambda f: (KINDS.index(f.kind), f.subject))
    used: set[str] = set()
    for finding in findings:
        entry = allowance(finding.key, allow)
        if entry is not None:
            used.add(entry)
            finding.allowed = allow[entry]
    stale = sorted(k for k in allow if k not in used)
    if len(chosen) < len(analyser.eras):
        stale = []  # an allowance may concern another era
    return RuleBaseReport(
        findings,
        summaries,
        analyser.eras,
        [e.index for e in chosen],
        stale,
        time.perf_counter() - started,
        graphs,
    )
