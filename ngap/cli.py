"""Command line: ``ngap optimise|enumerate|check|codes|explain|schema``.

Exit status: 0 valid (or a plain answer), 1 the claimed coding breaks a rule, 2 bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ngap.io import InputError, encounter_schema, read_encounter
from ngap.model.encounter import KNOWN_DONE
from ngap.model.eras import DateOutOfRange
from ngap.model.vocabulary import TRIPS
from ngap.solver.engine import Nomenclature, UnknownCodeError
from ngap.solver.results import CheckResult, Cotation, euros

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The NGAP billing rules for general practitioners (optimise, enumerate, check).",
)
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of messages: fr or en.")]
EncounterArg = Annotated[str, typer.Argument(help="Encounter file (.json, .yaml) or - for stdin.")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


def _load(path: str) -> tuple[Nomenclature, Any]:
    try:
        encounter = read_encounter(path)
        nomenclature = Nomenclature.load()
        nomenclature.context(encounter)
    except (InputError, DateOutOfRange) as error:
        raise _fail(str(error)) from error
    return nomenclature, encounter


def _emit_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _cotation_table(title: str, cotation: Cotation) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("code")
    table.add_column("amount €", justify="right")
    table.add_column("rate")
    table.add_column("legal basis")
    for line in cotation.lines:
        amount = euros(line.amount_cents)
        if line.unpriced:
            amount = "unpriced"
            if line.by_department:
                amount += "\n" + ", ".join(f"{d}: {a}" for d, a in line.by_department.items())
        elif line.unconfirmed:
            amount += " (unconfirmed)"
        code = f"{line.code} ({line.record})" if line.record else line.code
        if line.quantity is not None:
            code += f" × {line.quantity:g} km"
        table.add_row(code, amount, f"{line.rate_percent} %", line.article)
    suffix = "" if cotation.complete else "  (some amounts unpriced or unconfirmed)"
    table.caption = f"total {euros(cotation.total_cents)} €{suffix}"
    if cotation.assumed:
        assumed = ", ".join(f"{k}={v}" for k, v in sorted(cotation.assumed.items()))
        table.caption += f"\nassuming the open context: {assumed}"
    return table


@app.command()
def optimise(path: EncounterArg, as_json: JsonOpt = False) -> None:
    """The maximal legitimate cotation (every one, when several tie)."""
    nomenclature, encounter = _load(path)
    result = nomenclature.optimise(encounter)
    if as_json:
        _emit_json(result.to_dict())
        return
    out.print(f"Encounter of {result.date} — {result.era}")
    for i, cotation in enumerate(result.optimal, 1):
        title = "Optimal cotation" + (
            f" {i}/{len(result.optimal)}" if len(result.optimal) > 1 else ""
        )
        out.print(_cotation_table(title, cotation))


@app.command("enumerate")
def enumerate_(
    path: EncounterArg,
    limit: Annotated[int, typer.Option(help="At most this many cotations.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Every valid cotation, ranked by total."""
    nomenclature, encounter = _load(path)
    result = nomenclature.enumerate(encounter, limit=limit)
    if as_json:
        _emit_json(result.to_dict())
        return
    table = Table(title=f"Valid cotations on {result.date} ({result.era})", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("codes")
    table.add_column("total €", justify="right")
    for i, cotation in enumerate(result.cotations, 1):
        total = euros(cotation.total_cents) + ("" if cotation.complete else " *")
        table.add_row(str(i), " + ".join(cotation.codes) or "(nothing)", total)
    if result.truncated:
        table.caption = f"first {limit} shown"
    out.print(table)


def _print_check(result: CheckResult, lang: str) -> None:
    colour = {"valid": "green", "conditional": "yellow", "violation": "red"}[result.status]
    out.print(f"Encounter of {result.date} — {result.era}")
    out.print(_cotation_table("Claimed", result.claimed))
    for code, aggregated in result.normalised.items():
        out.print(f"note: {code} is billed as {aggregated} (the refined code stays in the record)")
    out.print(f"Verdict: [bold {colour}]{result.status}[/]")
    for v in result.violations:
        message = v.message_fr if lang == "fr" else v.message_en
        out.print(escape(f"  ✗ [{v.rule}] {message}\n      {v.article}"), highlight=False)
    for dim, values in result.conditions.items():
        out.print(f"  valid only if {dim} ∈ {{{', '.join(values)}}}")
    if result.optimal is not None and result.difference_cents is not None:
        diff = result.difference_cents
        kind = "over-coding" if diff > 0 else "under-coding" if diff < 0 else "no difference"
        out.print(
            f"Claimed {euros(result.claimed.total_cents)} € — optimal "
            f"{euros(result.optimal.total_cents)} € ({' + '.join(result.optimal.codes)}) — "
            f"{kind} {euros(abs(diff))} €"
        )


@app.command()
def check(
    path: EncounterArg,
    claimed: Annotated[
        str | None, typer.Option(help="Claimed codes, comma-separated (else the file's).")
    ] = None,
    as_json: JsonOpt = False,
    lang: LangOpt = "fr",
) -> None:
    """Judge a claimed coding: violated rules with their articles, money at stake."""
    nomenclature, encounter = _load(path)
    codes = [c for c in claimed.split(",") if c.strip()] if claimed is not None else None
    if codes is None and encounter.claimed is None:
        raise _fail("no claimed codes: give --claimed G,MEG or a 'claimed' list in the file")
    try:
        result = nomenclature.check(encounter, codes)
    except UnknownCodeError as error:
        raise _fail(str(error)) from error
    if as_json:
        _emit_json(result.to_dict())
    else:
        _print_check(result, lang)
    raise typer.Exit(1 if result.status == "violation" else 0)


@app.command()
def codes(
    date: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD); default: today.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The catalogue of codes in force on a date, with amounts and grades."""
    try:
        day = dt.date.fromisoformat(date) if date else dt.date.today()
    except ValueError as error:
        raise _fail(f"--date: {date!r} is not a date YYYY-MM-DD") from error
    nomenclature = Nomenclature.load()
    rows: list[dict[str, Any]] = []
    for code in nomenclature.catalogue.codes.values():
        if not code.billable_on(day):
            continue
        step = code.step_on(day)
        rows.append(
            {
                "code": code.code,
                "kind": code.kind,
                "nomenclature": code.nomenclature,
                "amount_cents": step.cents if step else None,
                "grade": step.grade if step else None,
                "label_fr": code.label_fr,
                "label_en": code.label_en,
                "article": code.article,
            }
        )
    if as_json:
        _emit_json({"date": day.isoformat(), "codes": rows})
        return
    table = Table(title=f"Codes in force on {day.isoformat()}", title_justify="left")
    for column in ("code", "kind", "amount €", "grade", "label"):
        table.add_column(column)
    for row in rows:
        amount = "free" if row["kind"] == "free" else euros(row["amount_cents"])
        table.add_row(row["code"], row["kind"], amount, row["grade"] or "", row["label_en"])
    out.print(table)


@app.command()
def explain(
    name: Annotated[str, typer.Argument(help="A code (G, DEQP003...) or a rule id.")],
    as_json: JsonOpt = False,
) -> None:
    """A code's legal basis, dated tariffs and sources; or a rule's article and period."""
    nomenclature = Nomenclature.load()
    catalogue = nomenclature.catalogue
    if name in catalogue.rules:
        rule = catalogue.rules[name]
        data: dict[str, Any] = {
            "rule": rule.id,
            "file": posixpath.normpath(f"ngap/asp_rules/{rule.file}"),
            "article": rule.article,
            "source": rule.source,
            "from": rule.start.isoformat(),
            "to": rule.end.isoformat(),
            "fr": rule.fr,
            "en": rule.en,
        }
    else:
        key = name.upper() if name.upper() in catalogue.codes else name
        if key not in catalogue.codes:
            import difflib

            close = difflib.get_close_matches(name, [*catalogue.codes, *catalogue.rules], n=3)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise _fail(f"unknown code or rule {name!r}{hint}")
        code = catalogue.codes[key]
        data = {
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
            "tariffs": [
                {
                    "from": s.start.isoformat(),
                    "amount": euros(s.cents) if s.cents is not None else None,
                    "grade": s.grade,
                    "not_billable": s.not_billable,
                    "sources": [_cite(catalogue, sid) for sid in s.sources],
                    "note": s.note,
                }
                for s in code.tariffs
            ],
            "sources": [_cite(catalogue, sid) for sid in code.sources],
        }
    if as_json:
        _emit_json(data)
        return
    for key, value in data.items():
        if key == "tariffs":
            out.print("tariffs:")
            for step in value:
                amount = step["amount"] or "unpriced"
                flag = " (not billable)" if step["not_billable"] else ""
                out.print(
                    escape(f"  from {step['from']}: {amount} € [grade {step['grade']}]{flag}")
                )
                for cite in step["sources"]:
                    out.print(escape(f"      {cite}"), highlight=False)
        elif key == "sources":
            out.print("sources:")
            for cite in value:
                out.print(escape(f"  {cite}"), highlight=False)
        elif value is not None:
            out.print(escape(f"{key}: {value}"), highlight=False)


def _cite(catalogue: Any, sid: str) -> str:
    source = catalogue.sources.get(sid)
    if source is None:
        return sid
    parts = [source.title]
    if source.date:
        parts.append(source.date.isoformat())
    if source.url:
        parts.append(source.url)
    return " — ".join(parts)


@app.command()
def schema() -> None:
    """Print the JSON Schema of an encounter file."""
    data = encounter_schema()
    _emit_json(data)


@app.command()
def vocabulary(as_json: JsonOpt = False) -> None:
    """The closed vocabulary: activities (``done``) and trips."""
    data = {"done": list(KNOWN_DONE), "trip": list(TRIPS)}
    if as_json:
        _emit_json(data)
        return
    out.print("done: " + ", ".join(KNOWN_DONE))
    out.print("trip: " + ", ".join(TRIPS))


def _register_analysis() -> None:
    from ngap.analysis.cli import register
    from ngap.audit.cli import register as register_audit

    register(app)
    register_audit(app)


_register_analysis()

if __name__ == "__main__":  # pragma: no cover
    app()
