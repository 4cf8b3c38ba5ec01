"""JSON Schemas of every JSON answer of ``ngap`` (the output contracts), in one module.

Why one module: a consumer of ``ngap ... --json`` (a billing system, a CI job, the web service)
needs a contract it can validate against, and the contract must not drift from what the code
writes.  Each schema here is built from the same constants and dataclasses as the outputs (the
line fields from :class:`ngap.solver.results.Line`, the kinds and grades from the catalogue, the
audit columns from :mod:`ngap.audit.columns`), the files under ``schema/`` are written from this
module (``python -m ngap.schemas``), and a test validates real outputs of every command and
checks that the files equal what this module builds.

Every answer carries ``versions`` (:func:`ngap.versions.versions`): the tool version and the
knowledge base it answered with.  Field names are stable; new fields may be added (objects of
answers are open: ``additionalProperties`` is left out except where a closed set is a promise).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://ngap.example/schema/"

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
DATE: Schema = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
STRINGS: Schema = {"type": "array", "items": STRING}
BILINGUAL: Schema = {
    "type": "object",
    "properties": {"fr": STRING, "en": STRING},
    "required": ["fr", "en"],
}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (``anyOf`` keeps enums and formats intact)."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(
    properties: dict[str, Schema],
    required: list[str] | None = None,
    *,
    closed: bool = False,
    description: str | None = None,
) -> Schema:
    """An object; every property required unless ``required`` says otherwise."""
    schema: Schema = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = properties
    schema["required"] = list(properties) if required is None else required
    if closed:
        schema["additionalProperties"] = False
    return schema


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _python_type(hint: Any) -> Schema:
    """A JSON Schema for a Python annotation of the dataclasses of the answers."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        inner = (
            _python_type(kinds[0])
            if len(kinds) == 1
            else {"anyOf": [_python_type(k) for k in kinds]}
        )
        return nullable(inner) if type(None) in args else inner
    if origin in (tuple, list):
        return array(_python_type(args[0]) if args else {})
    if origin is dict:
        return {"type": "object", "additionalProperties": _python_type(args[1])}
    simple = {str: STRING, int: INTEGER, float: NUMBER, bool: BOOLEAN}
    if hint in simple:
        return dict(simple[hint])
    return {}


def from_dataclass(cls: type, descriptions: dict[str, str] | None = None) -> Schema:
    """The object ``dataclasses.asdict(instance)`` gives, every field required."""
    hints = typing.get_type_hints(cls)
    props: dict[str, Schema] = {}
    for item in dataclasses.fields(cls):
        schema = _python_type(hints[item.name])
        if descriptions and item.name in descriptions:
            schema = {"description": descriptions[item.name], **schema}
        props[item.name] = schema
    return obj(props, description=(cls.__doc__ or "").strip() or None)


# ====================================================================== shared parts
def versions_schema() -> Schema:
    return obj(
        {
            "tool": obj({"name": {"const": "ngap"}, "version": STRING}),
            "knowledge_base": obj(
                {
                    "fingerprint": {
                        "type": "string",
                        "pattern": "^[0-9a-f]{16}$",
                        "description": "First 16 hex digits of the SHA-256 of the rule base "
                        "and data files.",
                    },
                    "revised": DATE,
                }
            ),
        },
        description="The tool and knowledge base that produced the answer (ngap.versions).",
    )


def _solver_defs() -> dict[str, Schema]:
    from ngap.solver.results import Line, Violation

    line = from_dataclass(
        Line,
        {
            "amount_cents": "Amount of the line in cents (null when unpriced).",
            "rate_percent": "Percentage of the price paid (100, or 50 for a second act).",
            "record": "The refined code kept in the record (CSO on a CCX line), or null.",
            "quantity": "Kilometres of an IK line, or null.",
        },
    )
    cotation = obj(
        {
            "codes": STRINGS,
            "total_cents": INTEGER,
            "total": {"type": "string", "pattern": r"^-?\d+\.\d{2}$"},
            "complete": {
                "type": "boolean",
                "description": "False when a line has no confirmed price (the total is then a "
                "lower bound).",
            },
            "assumed": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "Values chosen for context the encounter left open.",
            },
            "assumed_text": {
                **BILINGUAL,
                "description": "The assumed context in plain words (empty when none).",
            },
            "lines": array(ref("line")),
        }
    )
    return {
        "versions": versions_schema(),
        "line": line,
        "cotation": cotation,
        "violation": from_dataclass(Violation),
    }


def _with_defs(title: str, body: Schema, defs: dict[str, Schema], name: str) -> Schema:
    schema: Schema = {"$schema": DRAFT, "$id": f"{BASE_ID}{name}.schema.json", "title": title}
    schema.update(body)
    schema["$defs"] = defs
    return schema


def _answer(name: str, title: str, props: dict[str, Schema], defs: dict[str, Schema]) -> Schema:
    """A top-level answer: its properties plus ``versions``, all required."""
    body = obj({**props, "versions": ref("versions")})
    return _with_defs(title, body, {"versions": versions_schema(), **defs}, name)


# ====================================================================== one encounter
def optimise_schema() -> Schema:
    return _answer(
        "optimise",
        "ngap optimise --json",
        {
            "date": DATE,
            "era": STRING,
            "optimal": {
                **array(ref("cotation")),
                "minItems": 1,
                "description": "Every cotation of maximal total, best first.",
            },
        },
        _solver_defs(),
    )


def enumerate_schema() -> Schema:
    return _answer(
        "enumerate",
        "ngap enumerate --json",
        {"date": DATE, "era": STRING, "truncated": BOOLEAN, "cotations": array(ref("cotation"))},
        _solver_defs(),
    )


def check_schema() -> Schema:
    return _answer(
        "check",
        "ngap check --json",
        {
            "date": DATE,
            "era": STRING,
            "status": {"enum": ["valid", "conditional", "violation"]},
            "status_text": {**BILINGUAL, "description": "The verdict in words."},
            "claimed": ref("cotation"),
            "violations": array(ref("violation")),
            "conditions": {
                "type": "object",
                "additionalProperties": STRINGS,
                "description": "Conditional verdict: the values each open dimension must take.",
            },
            "conditions_text": obj(
                {"fr": STRINGS, "en": STRINGS},
            ),
            "optimal": nullable(ref("cotation")),
            "difference_cents": {
                **nullable(INTEGER),
                "description": "claimed - optimal: > 0 over-coding, < 0 under-coding.",
            },
            "normalised": {"type": "object", "additionalProperties": STRING},
        },
        _solver_defs(),
    )


# ====================================================================== catalogue
def codes_schema() -> Schema:
    from ngap.model.catalogue import GRADES, KINDS

    row = obj(
        {
            "code": STRING,
            "kind": {"enum": list(KINDS)},
            "nomenclature": {"enum": ["NGAP", "CCAM"]},
            "amount_cents": nullable(INTEGER),
            "grade": nullable({"enum": list(GRADES)}),
            "label_fr": STRING,
            "label_en": STRING,
            "article": STRING,
        }
    )
    return _answer("codes", "ngap codes --json", {"date": DATE, "codes": array(row)}, {})


def explain_schema() -> Schema:
    from ngap.model.catalogue import GRADES, KINDS

    step = obj(
        {
            "from": DATE,
            "amount_cents": nullable(INTEGER),
            "amount": nullable({"type": "string", "pattern": r"^\d+\.\d{2}$"}),
            "grade": {"enum": list(GRADES)},
            "not_billable": BOOLEAN,
            "sources": STRINGS,
            "citations": STRINGS,
            "note": nullable(STRING),
        },
        description="A tariff step: from its date on; sources are ids of sources.yaml, "
        "citations the same sources as title — date — address.",
    )
    code = obj(
        {
            "code": STRING,
            "label_fr": STRING,
            "label_en": STRING,
            "kind": {"enum": list(KINDS)},
            "nomenclature": {"enum": ["NGAP", "CCAM"]},
            "article": STRING,
            "valid_from": DATE,
            "valid_to": DATE,
            "refines": nullable(STRING),
            "note": nullable(STRING),
            "tariffs": array(step),
            "tariffs_non_optam": array(step),
            "drom": array(step),
            "drom_non_optam": array(step),
            "sources": STRINGS,
            "citations": STRINGS,
            "versions": ref("versions"),
        },
        required=[
            "code", "label_fr", "label_en", "kind", "nomenclature", "article", "valid_from",
            "valid_to", "refines", "note", "tariffs", "sources", "citations", "versions",
        ],
        description="A code.  A CCAM act also has its non-OPTAM grid and the overseas values "
        "of both grids (docs/ccam.md).",
    )
    rule = obj(
        {
            "rule": STRING,
            "file": STRING,
            "article": STRING,
            "source": STRING,
            "from": DATE,
            "to": DATE,
            "kind": STRING,
            "fr": STRING,
            "en": STRING,
            "versions": ref("versions"),
        }
    )
    body: Schema = {"oneOf": [ref("code"), ref("rule")]}
    defs = {"versions": versions_schema(), "code": code, "rule": rule}
    return _with_defs("ngap explain --json (a code or a rule)", body, defs, "explain")


def vocabulary_schema() -> Schema:
    from ngap.model.encounter import KNOWN_DONE
    from ngap.model.vocabulary import TRIPS

    return _answer(
        "vocabulary",
        "ngap vocabulary --json",
        {"done": array({"enum": list(KNOWN_DONE)}), "trip": array({"enum": list(TRIPS)})},
        {},
    )


# ====================================================================== analysis
def _witness() -> Schema:
    return obj(
        {
            "encounter": {"type": "object", "description": "A replayable encounter (ngap schema)."},
            "replayable": BOOLEAN,
            "differences": STRINGS,
            "violations": array(obj({"rule": STRING, "codes": STRINGS})),
        },
        required=["encounter", "replayable"],
    )


def analyse_schema() -> Schema:
    from ngap.analysis.rulebase import KINDS

    finding = obj(
        {
            "key": STRING,
            "kind": {"enum": list(KINDS)},
            "subject": STRINGS,
            "message": STRING,
            "eras": array(INTEGER),
            "periods": STRINGS,
            "rules": array(obj({"rule": STRING, "article": STRING})),
            "alternatives": array(STRINGS),
            "witness": nullable(ref("witness")),
            "allowed": nullable(STRING),
        }
    )
    era = obj(
        {
            "era": INTEGER,
            "start": DATE,
            "end": DATE,
            "codes_in_force": INTEGER,
            "billable": INTEGER,
            "pairs": INTEGER,
            "components": array(STRINGS),
            "cliques": INTEGER,
            "largest_cliques": array(STRINGS),
            "largest_cliques_billable": array(BOOLEAN),
            "seconds": NUMBER,
        }
    )
    return _answer(
        "analyse",
        "ngap analyse --format json",
        {
            "analysed_eras": array(INTEGER),
            "defects": INTEGER,
            "allowed": INTEGER,
            "findings": array(finding),
            "stale_allowances": STRINGS,
            "eras": array(era),
            "matrices": {
                "type": "object",
                "description": "Era index -> code -> the codes billable together with it.",
                "additionalProperties": {"type": "object", "additionalProperties": STRINGS},
            },
            "seconds": NUMBER,
        },
        {"witness": _witness()},
    )


def analyse_codes_schema() -> Schema:
    answer = obj(
        {
            "era": INTEGER,
            "from": DATE,
            "billable": BOOLEAN,
            "rules": STRINGS,
            "alternatives": array(STRINGS),
            "witness": ref("witness"),
        },
        required=["era", "from", "billable"],
    )
    return _answer(
        "analyse_codes",
        "ngap analyse --codes A,B --format json",
        {"codes": STRINGS, "answers": array(answer)},
        {"witness": _witness()},
    )


def validate_ruleset_schema() -> Schema:
    from ngap.analysis.vendor import KINDS

    finding = obj(
        {
            "key": STRING,
            "kind": {"enum": list(KINDS)},
            "subject": STRINGS,
            "message": STRING,
            "locations": STRINGS,
            "articles": array({"type": "object", "additionalProperties": STRING}),
            "details": {"type": "object"},
            "witness": nullable(ref("witness")),
        }
    )
    return _answer(
        "validate_ruleset",
        "ngap validate-ruleset --format json",
        {
            "date": DATE,
            "era": STRING,
            "files": STRINGS,
            "counts": {"type": "object", "additionalProperties": INTEGER},
            "findings_by_kind": obj({k: INTEGER for k in KINDS}),
            "findings": array(finding),
            "seconds": NUMBER,
        },
        {"witness": _witness()},
    )


# ====================================================================== batch audit
def audit_row_schema() -> Schema:
    """One row of ``encounters.jsonl`` (and, column for column, of the CSV and Parquet)."""
    from ngap.audit.columns import EXPORT_ONLY_COLUMNS, OUTPUT_COLUMNS
    from ngap.audit.report import INT_COLUMNS, STATUSES

    props: dict[str, Schema] = {}
    for name, doc in {**OUTPUT_COLUMNS, **EXPORT_ONLY_COLUMNS}.items():
        if name in INT_COLUMNS:
            kind = nullable(INTEGER)
        elif name == "status":
            kind = {"enum": list(STATUSES)}
        else:
            kind = nullable(STRING)
        props[name] = {"description": doc, **kind}
    body = obj(props, required=list(OUTPUT_COLUMNS), closed=True)
    schema: Schema = {
        "$schema": DRAFT,
        "$id": f"{BASE_ID}audit_row.schema.json",
        "title": "ngap audit: one output row per input encounter",
        "description": "Rows in = rows out. The versions of the run are in summary.json.",
    }
    schema.update(body)
    return schema


def audit_summary_schema() -> Schema:
    from ngap.audit.report import MANIFEST_KEYS, STATUSES

    count = INTEGER
    cents = INTEGER
    rate = nullable(NUMBER)
    practitioner = obj(
        {
            "practitioner_id": nullable(STRING),
            "encounters": count,
            "violations": count,
            "violation_rate": rate,
            "bad_input": count,
            "overcoding_cents": cents,
            "undercoding_cents": cents,
            "eligible": BOOLEAN,
            "outlier": BOOLEAN,
        }
    )
    money_keys = (
        "claimed_cents",
        "optimal_cents",
        "overcoding_cents",
        "undercoding_cents",
        "undercoding_certain_cents",
        "undercoding_if_context_cents",
        "priced_encounters",
        "claimed_without_optimum_cents",
        "encounters_without_optimum",
        "overcoding_encounters",
        "undercoding_encounters",
        "undercoding_if_context_encounters",
    )
    def joined(what: str) -> Schema:
        # The flat text form of findings.csv / findings.jsonl; findings.parquet holds a list.
        return {
            "description": f"{what}, joined by ';' (list<string> in findings.parquet).",
            **nullable(STRING),
        }

    finding_row = obj(
        {
            "rule": nullable(STRING),
            "patient_id": nullable(STRING),
            "practitioner_id": nullable(STRING),
            "code": joined("The codes involved, distinct and sorted"),
            "first_date": nullable(DATE),
            "last_date": nullable(DATE),
            "count": nullable(INTEGER),
            "limit": nullable(INTEGER),
            "encounter_ids": joined("Every encounter of the window, sorted"),
            "excess_ids": joined("The encounters billed beyond the limit, sorted"),
            "excess_cents": nullable(INTEGER),
            "detail": nullable(STRING),
        }
    )
    return _answer(
        "audit_summary",
        "ngap audit: summary.json (also ngap report --json)",
        {
            "version": {"const": 1, "description": "Layout version of summary.json."},
            "generated": {"type": "string", "format": "date-time"},
            "manifest": obj({k: {} for k in MANIFEST_KEYS}),
            "rows": count,
            "status": {
                **obj({s: count for s in STATUSES}),
                "additionalProperties": count,
            },
            "money": obj({k: INTEGER for k in money_keys}),
            "by_rule": array(
                obj(
                    {
                        "rule": STRING,
                        "article": STRING,
                        "encounters": count,
                        "overcoding_cents": cents,
                        "undercoding_cents": cents,
                    }
                )
            ),
            "by_month": array(
                obj(
                    {
                        "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                        "encounters": count,
                        "violations": count,
                        "conditional": count,
                        "bad_input": count,
                        "overcoding_cents": cents,
                        "undercoding_cents": cents,
                    }
                )
            ),
            "undated_rows": count,
            "practitioners": obj(
                {
                    "count": count,
                    "without_id_rows": count,
                    "min_encounters": count,
                    "eligible": count,
                    "median_violation_rate": rate,
                    "mad": rate,
                    "threshold": rate,
                    "flagged_count": count,
                    "top": array(practitioner),
                    "flagged": array(practitioner),
                }
            ),
            "by_code": obj(
                {
                    "distinct": count,
                    "codes": array(
                        obj(
                            {
                                "code": STRING,
                                "claimed": count,
                                "in_violation": count,
                                "conditional": count,
                                "overcoding_cents": cents,
                            }
                        )
                    ),
                }
            ),
            "conditions": obj(
                {
                    "conditional": count,
                    "distinct": count,
                    "top": array(
                        obj({"condition": STRING, "encounters": count, "claimed_cents": cents})
                    ),
                }
            ),
            "findings": obj(
                {
                    "present": BOOLEAN,
                    "rows": count,
                    "excess_cents": cents,
                    "by_rule": array(
                        obj(
                            {
                                "rule": nullable(STRING),
                                "findings": count,
                                "excess_cents": cents,
                                "patients": count,
                                "practitioners": count,
                            }
                        )
                    ),
                    "first": array(finding_row),
                }
            ),
            "bad_input": obj(
                {
                    "count": count,
                    "first": array(
                        obj(
                            {
                                "source": nullable(STRING),
                                "row": nullable(INTEGER),
                                "id": nullable(STRING),
                                "reason": nullable(STRING),
                            }
                        )
                    ),
                }
            ),
            "rules": array(
                obj(
                    {
                        "rule": STRING,
                        "in_catalogue": BOOLEAN,
                        "kind": STRING,
                        "article": STRING,
                        "source": STRING,
                        "message_en": STRING,
                    }
                )
            ),
        },
        {},
    )


# ====================================================================== inputs (existing)
def encounter_input_schema() -> Schema:
    from ngap.io import encounter_schema

    return encounter_schema()


def encounter_table_schema() -> Schema:
    from ngap.audit.columns import table_schema

    return table_schema()


SCHEMAS: dict[str, Callable[[], Schema]] = {
    "encounter": encounter_input_schema,
    "encounter_table": encounter_table_schema,
    "optimise": optimise_schema,
    "enumerate": enumerate_schema,
    "check": check_schema,
    "codes": codes_schema,
    "explain": explain_schema,
    "vocabulary": vocabulary_schema,
    "analyse": analyse_schema,
    "analyse_codes": analyse_codes_schema,
    "validate_ruleset": validate_ruleset_schema,
    "audit_summary": audit_summary_schema,
    "audit_row": audit_row_schema,
}
"""Every published schema by name: ``ngap schema --output NAME``, ``schema/NAME.schema.json``."""

DESCRIPTIONS: dict[str, str] = {
    "encounter": "input: one encounter file (ngap optimise|enumerate|check)",
    "encounter_table": "input: an encounter table, Frictionless Table Schema (ngap audit)",
    "optimise": "ngap optimise --json",
    "enumerate": "ngap enumerate --json",
    "check": "ngap check --json",
    "codes": "ngap codes --json",
    "explain": "ngap explain NAME --json",
    "vocabulary": "ngap vocabulary --json",
    "analyse": "ngap analyse --format json",
    "analyse_codes": "ngap analyse --codes A,B --format json",
    "validate_ruleset": "ngap validate-ruleset --format json",
    "audit_summary": "summary.json of ngap audit / ngap report (also ngap report --json)",
    "audit_row": "one row of encounters.jsonl|csv|parquet written by ngap audit",
}


def schema(name: str) -> Schema:
    """The schema called ``name`` (KeyError for an unknown name)."""
    return SCHEMAS[name]()


def dumps(data: Schema) -> str:
    """The exact text of a published schema file."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_all(folder: Path) -> list[Path]:
    """Write every schema as ``folder/<name>.schema.json``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / f"{name}.schema.json"
        path.write_text(dumps(schema(name)), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "schema")):
        print(path)
