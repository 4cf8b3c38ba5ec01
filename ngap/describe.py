"""A code's and a rule's description as data: what ``ngap explain --json`` prints and what the
service answers at ``GET /codes/{code}`` and ``GET /rules/{id}``.

Why one module: the command line and the service described codes each in their own way (the
service had neither the non-OPTAM grid nor the overseas values of a CCAM act, the command line
gave citations where the service gave source ids).  Both now read this one description: every
tariff step with its amount in cents and in euros, its grade, its source ids and their
citations, on every grid and zone the code has.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ngap.model.catalogue import Catalogue, Code, RuleInfo, TariffStep
from ngap.solver.results import euros

GRIDS = ("tariffs", "tariffs_non_optam", "drom", "drom_non_optam")
"""The tariff tables of a code: NGAP codes have the first (and their overseas values are in the
per-department steps); a CCAM act has all four (docs/ccam.md)."""


def citation(catalogue: Catalogue, source_id: str) -> str:
    """A source as a reader cites it: title — date — address (its id when unknown)."""
    source = catalogue.sources.get(source_id)
    if source is None:
        return source_id
    parts = [source.title]
    if source.date:
        parts.append(source.date.isoformat())
    if source.url:
        parts.append(source.url)
    return " — ".join(parts)


def step_description(catalogue: Catalogue, step: TariffStep) -> dict[str, Any]:
    return {
        "from": step.start.isoformat(),
        "amount_cents": step.cents,
        "amount": euros(step.cents) if step.cents is not None else None,
        "grade": step.grade,
        "not_billable": step.not_billable,
        "sources": list(step.sources),
        "citations": [citation(catalogue, sid) for sid in step.sources],
        "note": step.note,
    }


def code_description(catalogue: Catalogue, code: Code) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": code.code,
        "label_fr": code.label_fr,
        "label_en": code.label_en,
        "kind": code.kind,
        "nomenclature": code.nomenclature,
        "article": code.article,
        "valid_from": code.valid_from.isoformat(),
        "valid_to": code.valid_to.isoformat(),
        "refines": code.refines,
        "note": code.note,
        "sources": list(code.sources),
        "citations": [citation(catalogue, sid) for sid in code.sources],
        "tariffs": [step_description(catalogue, s) for s in code.tariffs],
    }
    if code.nomenclature == "CCAM":
        for grid in GRIDS[1:]:
            data[grid] = [step_description(catalogue, s) for s in getattr(code, grid)]
    return data


def rule_description(rule: RuleInfo) -> dict[str, Any]:
    return {
        "rule": rule.id,
        "file": posixpath.normpath(f"ngap/asp_rules/{rule.file}"),
        "article": rule.article,
        "source": rule.source,
        "from": rule.start.isoformat(),
        "to": rule.end.isoformat(),
        "kind": rule.kind,
        "fr": rule.fr,
        "en": rule.en,
    }
