"""The flat column layout of an encounter table (CSV, JSONL, Parquet) and of the audit output.

An encounter table holds one encounter per row.  Its columns are the fields of the encounter
model (``ngap schema``) with their path joined by ``_``: ``patient.age.years`` becomes
``patient_age_years``, ``circumstances.emergency`` becomes ``circumstances_emergency``.  The
list fields ``done`` and ``claimed`` are lists in JSONL / Parquet and ``;``-separated text in CSV.

Missing column versus empty cell, the one distinction that matters for audit data:

* a column left out of the file takes the encounter model's default (a yes/no circumstance is
  then *false*, as in an encounter file that leaves the field out);
* an empty cell (or JSON ``null``) is *unknown*: the rule base keeps that context open and the
  verdict becomes conditional on it.  This is how a claims extract that does not record the time,
  urgency or regulation of an act is judged fairly.

Audit-only columns (not part of one encounter, used by the rules across encounters):
``patient_id``, ``practitioner_id`` (frequency rules per patient / practitioner), ``household_id``
(patients of one household seen in one trip), ``stay_id`` (hospital stay for MSH / MIC / GL1) and
``patient_birth_year`` (when only the year is known, as in SNDS: the age band is then the set of
bands possible over that year).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from ngap.model.encounter import Encounter

Kind = Literal["text", "date", "time", "flag", "choice", "int", "float", "codes"]


@dataclass(frozen=True)
class Column:
    name: str
    path: tuple[str, ...]
    """Where the value goes in an encounter (empty for audit-only columns)."""
    kind: Kind
    required: bool
    choices: tuple[str, ...] = ()
    doc: str = ""
    default: Any = None


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation))
    if args and get_origin(args[0]) is Literal:
        return "choice", tuple(str(a) for a in get_args(args[0]))
    base = args[0] if args else annotation
    if base is bool:
        return "flag", ()
    if base is int:
        return "int", ()
    if base is float:
        return "float", ()
    if getattr(base, "__name__", "") == "date":
        return "date", ()
    return "text", ()


def _walk(model: type[BaseModel], prefix: tuple[str, ...]) -> list[Column]:
    out: list[Column] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation = field.annotation
        nested = next(
            (
                a
                for a in (annotation, *get_args(annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
        if nested is not None:
            out += _walk(nested, path)
            continue
        if path in (("done",), ("claimed",)):
            kind: Kind = "codes"
            choices: tuple[str, ...] = ()
        elif path in (("time",), ("call_time",)):
            kind, choices = "time", ()
        else:
            kind, choices = _kind(annotation)
        if path == ("trip",):
            from ngap.model.vocabulary import TRIPS

            kind, choices = "choice", tuple(TRIPS)
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        out.append(
            Column(
                name="_".join(path),
                path=path,
                kind=kind,
                required=field.is_required() or path in (("id",), ("claimed",)),
                choices=choices,
                doc=field.description or "",
                default=default,
            )
        )
    return out


ENCOUNTER_COLUMNS: tuple[Column, ...] = tuple(_walk(Encounter, ()))
"""Every column of an encounter table, in the order of the encounter model."""

AUDIT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", (), "text", False, doc="Patient key (frequency rules per patient)."),
    Column("practitioner_id", (), "text", False, doc="Practitioner key (SNP per week, APC...)."),
    Column(
        "household_id", (), "text", False,
        doc="Household or institution visited in one trip (several patients).",
    ),
    Column("stay_id", (), "text", False, doc="Hospital stay of a discharge (MSH/MIC/GL1)."),
    Column("patient_birth_year", (), "int", False, doc="Birth year when the date is unknown."),
)

INPUT_COLUMNS: dict[str, Column] = {c.name: c for c in (*ENCOUNTER_COLUMNS, *AUDIT_COLUMNS)}

OUTPUT_COLUMNS: dict[str, str] = {
    "id": "The encounter id of the input row.",
    "source": "Input file.",
    "row": "Record number in the input file (1 = first data row).",
    "status": "valid | conditional | violation | bad_input.",
    "date": "Date of the encounter (ISO).",
    "era": "Tariff era in force on that date.",
    "patient_id": "Patient key, as given.",
    "practitioner_id": "Practitioner key, as given.",
    "claimed": "Claimed codes, as normalised (refined codes replaced by their aggregate).",
    "rules": "Violated rule ids (one encounter's rules), ';'-separated.",
    "articles": "Their NGAP articles / legal references, ';'-separated, in the same order.",
    "messages": "Their messages (English), ' | '-separated, in the same order.",
    "conditions": "For a conditional verdict: what must have held (dimension=values).",
    "lines": "Per claimed line: code:verdict[:condition], ';'-separated "
    "(verdict valid | conditional | invalid).",
    "claimed_cents": "Total of the claim at the rules of its date (opposable rate).",
    "optimal_cents": "Total of the best legitimate cotation for what was done; empty when "
    "nothing shows what was done (activities not given, and no claimed code records one).",
    "difference_cents": "claimed - optimal: > 0 over-coding, < 0 under-coding.",
    "difference_certain_cents": "The part of the difference that holds whatever the unknown "
    "context: all of it when the optimum assumed nothing, and any over-coding (claimed above "
    "the best the most favourable context allows); 0 otherwise.",
    "difference_if_context_cents": "The rest: under-coding that exists only if the unknown "
    "context was as optimum_assumes says.",
    "optimum_assumes": "Unknown context the optimum relied on (dimension=value), ';'-separated.",
    "reason": "For bad_input: what is wrong, with the column.",
}
"""The audit output, one row per input encounter (rows in = rows out)."""

OUTPUT_COLUMNS["notes"] = "Remarks of the reader (e.g. SNDS lines whose nature maps to no code)."
OUTPUT_COLUMNS["source_lines"] = (
    "Input lines the row was read from: the lines of an SNDS encounter, the physical line(s) of "
    "a CSV record (line breaks in quoted cells counted), the line of an unreadable record."
)
EXPORT_ONLY_COLUMNS: dict[str, str] = {
    "across_rules": "Rules across encounters (freq_*) this encounter was billed in excess of, "
    "';'-separated; details in findings.*",
}
"""Columns of ``encounters.<format>`` added when the rules across encounters are known."""

OUTPUT_TYPES: dict[str, str] = {
    "row": "int",
    "date": "date",
    "claimed": "list",
    "rules": "list",
    "messages": "list",
    "lines": "list",
    "claimed_cents": "int",
    "optimal_cents": "int",
    "difference_cents": "int",
    "difference_certain_cents": "int",
    "difference_if_context_cents": "int",
    "source_lines": "list",
    "across_rules": "list",
}
"""Type of each column of ``encounters.parquet`` (every other column is text): ``int`` int64,
``date`` date32 (null when the input's date is no date), ``list`` list<string>.  CSV and JSONL
keep the flat text form: lists joined by ``LIST_SEPARATORS`` (``;`` unless listed)."""

LIST_SEPARATORS: dict[str, str] = {"messages": " | "}
"""How a list column is joined in the flat text form."""

LINE_COLUMNS: dict[str, str] = {
    "id": "Encounter id.",
    "source": "Input file.",
    "row": "Record number of the encounter in its input file.",
    "patient_id": "Patient key (may be empty).",
    "practitioner_id": "Practitioner key (may be empty).",
    "household_id": "Household or institution key of a several-patient trip (may be empty).",
    "stay_id": "Hospital stay key (may be empty).",
    "date": "Date of the encounter (date32).",
    "code": "One claimed code, normalised (CSO -> CCX ...).",
    "record": "The refined code kept in the record (CSO on a CCX line), null otherwise.",
    "cents": "Amount of that line at the rules of its date (null when unpriced).",
    "place": "Place of the encounter (may be empty when unknown).",
    "age_months": "Completed age in months on the date, when the birth date is known.",
    "status": "Verdict of the encounter (valid | conditional | violation).",
}
"""One row per claimed line of every audited encounter (``parts/lines-*.parquet``): the input
of the rules across encounters (frequency, sequence, household trips)."""


def flatten(encounter: Encounter) -> dict[str, Any]:
    """One encounter as a row of an encounter table (``None`` where the model says unknown)."""
    data = encounter.model_dump(mode="json")
    row: dict[str, Any] = {}
    for column in ENCOUNTER_COLUMNS:
        value: Any = data
        for part in column.path:
            value = value.get(part) if isinstance(value, dict) else None
        row[column.name] = value
    return row


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """A table row back to the nested fields of an encounter (only the columns present)."""
    data: dict[str, Any] = {}
    for name, value in row.items():
        column = INPUT_COLUMNS.get(name)
        if column is None or not column.path:
            continue
        if value is None and (column.kind in ("int", "float", "date") or column.name == "id"):
            continue  # an empty age, distance or birth date: not given
        if column.kind == "codes" and isinstance(value, str):
            value = [v for v in value.split(";") if v]
        if column.kind == "flag" and isinstance(value, str):
            value = value.lower() in ("true", "yes", "1", "oui")
        node = data
        for part in column.path[:-1]:
            node = node.setdefault(part, {})
        node[column.path[-1]] = value
    return data


_TYPES = {
    "text": "string",
    "date": "date",
    "time": "string",
    "flag": "boolean",
    "choice": "string",
    "int": "integer",
    "float": "number",
    "codes": "string",
}


def table_schema() -> dict[str, Any]:
    """The encounter table as a Frictionless Table Schema (``ngap table-schema``)."""
    from ngap.audit.cells import FALSE_WORDS, RANGES, TRUE_WORDS

    fields = []
    for column in (*ENCOUNTER_COLUMNS, *AUDIT_COLUMNS):
        field: dict[str, Any] = {
            "name": column.name,
            "type": _TYPES[column.kind],
            "description": column.doc
            or ("Encounter field " + ".".join(column.path) if column.path else ""),
        }
        constraints: dict[str, Any] = {}
        if column.required and column.name not in ("place", "done"):
            constraints["required"] = True
        if column.choices:
            constraints["enum"] = list(column.choices)
        if column.name in RANGES:
            low, high = RANGES[column.name]
            constraints["minimum"], constraints["maximum"] = low, high
        if column.kind == "time":
            constraints["pattern"] = "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
        if constraints:
            field["constraints"] = constraints
        if column.kind == "flag":
            field["trueValues"] = sorted(TRUE_WORDS)
            field["falseValues"] = sorted(FALSE_WORDS)
        if column.kind == "codes":
            field["format"] = "';'-separated in CSV; a list of strings in JSONL and Parquet"
        if column.path and column.default is not None and not column.required:
            field["x-default-when-column-missing"] = column.default
        fields.append(field)
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "title": "ngap encounter table (input of ngap audit)",
        "description": (
            "One encounter per row. An empty cell is unknown (the verdict becomes conditional on "
            "it); a column left out takes the encounter model's default. Unknown columns are "
            "reported and ignored."
        ),
        "fields": fields,
        "primaryKey": ["id"],
        "missingValues": [""],
    }
