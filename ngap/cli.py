"""Command line: ``ngap optimise|enumerate|check|codes|explain|schema|vocabulary``.

Exit status (enforced for every command by ``ngap.cli_common.NgapGroup``): 0 valid or a plain
answer, 1 the claimed coding breaks a rule, 2 bad input or usage, 3 internal or environment fault
(one line, no traceback without ``--debug``).  Text in French by default, ``--lang en``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ngap.cli_common import (
    DebugOpt,
    LangOpt,
    NgapGroup,
    err,
    fail,
    language,
    out,
    say,
)
from ngap.clock import today
from ngap.describe import code_description, rule_description
from ngap.io import InputError, encounter_schema, read_encounter
from ngap.model.catalogue import load_catalogue
from ngap.model.encounter import KNOWN_DONE
from ngap.model.eras import COVERAGE_START, DateOutOfRange
from ngap.model.labels import LANGS, Lang, activity_label, phrase, phrase_assumed, phrase_condition
from ngap.model.vocabulary import CCAM_ACTS, CCAM_LABELS, TRIPS
from ngap.solver.engine import Nomenclature, UnknownCodeError
from ngap.solver.results import STATUS_TEXT, CheckResult, Cotation, euros
from ngap.versions import versions

app = typer.Typer(
    cls=NgapGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Les règles de facturation NGAP des médecins généralistes (optimise, enumerate, "
    "check). The NGAP billing rules for general practitioners.",
)

__all__ = ["app", "err", "main", "out"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
EncounterArg = Annotated[str, typer.Argument(help="Encounter file (.json, .yaml) or - for stdin.")]


def main() -> None:
    """Console entry point (``ngap``, ``python -m ngap``): the exit-status contract applies."""
    app(prog_name="ngap")


def _print_version(value: bool) -> None:
    if not value:
        return
    from ngap.versions import versions

    info = versions()
    kb = info["knowledge_base"]
    out.print(
        f"{info['tool']['name']} {info['tool']['version']} — "
        + say(
            f"base de connaissances {kb['fingerprint']} (révisée le {kb['revised']})",
            f"knowledge base {kb['fingerprint']} (revised {kb['revised']})",
        ),
        highlight=False,
    )
    raise typer.Exit(0)


@app.callback()
def _global(
    lang: LangOpt = None,
    debug: DebugOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Versions de l'outil et de la base de connaissances / tool and knowledge base.",
        ),
    ] = False,
) -> None:
    """Les règles de facturation NGAP des médecins généralistes / the NGAP billing rules.

    Exit status: 0 answer or valid, 1 a claim breaks a rule, 2 bad input or usage, 3 internal
    or environment fault.
    """


def _fail(message: str, en: str | None = None) -> typer.Exit:
    return fail(message, en)


def _load(path: str) -> tuple[Nomenclature, Any]:
    try:
        encounter = read_encounter(path)
        nomenclature = Nomenclature.load()
        nomenclature.context(encounter)
    except InputError as error:
        raise fail(error.fr, error.en) from error
    except DateOutOfRange as error:
        raise fail(str(error)) from error
    return nomenclature, encounter


def _emit_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _amount(line: Any, lang: Lang) -> str:
    if line.unpriced:
        amount = say("non chiffré", "unpriced", lang)
        if line.by_department:
            amount += "\n" + ", ".join(f"{d}: {a}" for d, a in line.by_department.items())
        return amount
    amount = euros(line.amount_cents)
    if line.unconfirmed:
        amount += say(" (non confirmé)", " (unconfirmed)", lang)
    return amount


def _cotation_table(title: str, cotation: Cotation, lang: Lang | None = None) -> Table:
    lang = lang or language()
    table = Table(title=title, title_justify="left")
    table.add_column("code")
    table.add_column(say("montant €", "amount €", lang), justify="right")
    table.add_column(say("taux", "rate", lang))
    table.add_column(say("libellé", "label", lang))
    table.add_column(say("base légale", "legal basis", lang))
    for line in cotation.lines:
        code = f"{line.code} ({line.record})" if line.record else line.code
        if line.quantity is not None:
            code += f" × {line.quantity:g} km"
        label = line.label_fr if lang == "fr" and line.label_fr else line.label
        table.add_row(code, _amount(line, lang), f"{line.rate_percent} %", label, line.article)
    suffix = "" if cotation.complete else say(
        "  (montants non chiffrés ou non confirmés)", "  (some amounts unpriced or unconfirmed)",
        lang,
    )
    table.caption = f"total {euros(cotation.total_cents)} €{suffix}"
    if cotation.assumed:
        table.caption += "\n" + phrase_assumed(cotation.assumed, lang)
    return table


def _heading(date: str, era: str) -> str:
    return say(f"Rencontre du {date} — {era}", f"Encounter of {date} — {era}")


@app.command()
def optimise(path: EncounterArg, as_json: JsonOpt = False) -> None:
    """The maximal legitimate cotation (every one, when several tie)."""
    nomenclature, encounter = _load(path)
    result = nomenclature.optimise(encounter)
    if as_json:
        _emit_json(result.to_dict())
        return
    out.print(_heading(result.date, result.era))
    for i, cotation in enumerate(result.optimal, 1):
        title = say("Cotation optimale", "Optimal cotation") + (
            f" {i}/{len(result.optimal)}" if len(result.optimal) > 1 else ""
        )
        out.print(_cotation_table(title, cotation))


@app.command("enumerate")
def enumerate_(
    path: EncounterArg,
    limit: Annotated[int, typer.Option(min=1, help="At most this many cotations (≥ 1).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Every valid cotation, ranked by total."""
    nomenclature, encounter = _load(path)
    result = nomenclature.enumerate(encounter, limit=limit)
    if as_json:
        _emit_json(result.to_dict())
        return
    title = say(
        f"Cotations valides le {result.date} ({result.era})",
        f"Valid cotations on {result.date} ({result.era})",
    )
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("codes")
    table.add_column("total €", justify="right")
    table.add_column(say("en supposant", "assuming"))
    for i, cotation in enumerate(result.cotations, 1):
        total = euros(cotation.total_cents) + ("" if cotation.complete else " *")
        assumed = ", ".join(phrase(k, v, language()) for k, v in sorted(cotation.assumed.items()))
        table.add_row(str(i), " + ".join(cotation.codes) or say("(rien)", "(nothing)"), total,
                      assumed)
    captions = []
    if any(not c.complete for c in result.cotations):
        captions.append(say("* montant non chiffré ou non confirmé",
                            "* some amount unpriced or unconfirmed"))
    if result.truncated:
        captions.append(say(f"les {limit} premières seulement", f"first {limit} shown"))
    table.caption = "\n".join(captions) or None
    out.print(table)


def _print_check(result: CheckResult, lang: Lang) -> None:
    colour = {"valid": "green", "conditional": "yellow", "violation": "red"}[result.status]
    out.print(_heading(result.date, result.era))
    out.print(_cotation_table(say("Cotation déclarée", "Claimed", lang), result.claimed, lang))
    for code, aggregated in result.normalised.items():
        out.print(
            say(
                f"note : {code} se facture {aggregated} (le code détaillé reste dans le dossier)",
                f"note: {code} is billed as {aggregated} (the refined code stays in the record)",
                lang,
            )
        )
    verdict = STATUS_TEXT[result.status][lang]
    out.print(f"Verdict{say(' :', ':', lang)} [bold {colour}]{escape(verdict)}[/]")
    for v in result.violations:
        message = v.message_fr if lang == "fr" else v.message_en
        out.print(escape(f"  ✗ [{v.rule}] {message}\n      {v.article}"), highlight=False)
    if result.conditions:
        out.print(say("  valide seulement si, à la fois :", "  valid only if, all of:", lang))
    for dim, values in result.conditions.items():
        out.print(escape(f"    – {phrase_condition(dim, values, lang)}"), highlight=False)
    if result.optimal is not None and result.difference_cents is not None:
        diff = result.difference_cents
        if lang == "fr":
            kind = "surcotation" if diff > 0 else "sous-cotation" if diff < 0 else "aucun écart"
        else:
            kind = "over-coding" if diff > 0 else "under-coding" if diff < 0 else "no difference"
        out.print(
            say("Déclaré ", "Claimed ", lang)
            + f"{euros(result.claimed.total_cents)} € — optimal "
            f"{euros(result.optimal.total_cents)} € ({' + '.join(result.optimal.codes)}) — "
            f"{kind} {euros(abs(diff))} €",
            highlight=False,
        )


@app.command()
def check(
    path: EncounterArg,
    claimed: Annotated[
        str | None, typer.Option(help="Claimed codes, comma-separated (else the file's).")
    ] = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Judge a claimed coding: violated rules with their articles, money at stake."""
    nomenclature, encounter = _load(path)
    codes = [c.strip() for c in claimed.split(",") if c.strip()] if claimed is not None else None
    if codes is None and encounter.claimed is None:
        raise fail(
            "aucun code déclaré : donner --claimed G,MEG ou une liste 'claimed' dans le fichier",
            "no claimed codes: give --claimed G,MEG or a 'claimed' list in the file",
        )
    try:
        result = nomenclature.check(encounter, codes)
    except UnknownCodeError as error:
        raise fail(str(error)) from error
    if as_json:
        _emit_json(result.to_dict())
    else:
        _print_check(result, language(lang))
    raise typer.Exit(1 if result.status == "violation" else 0)


@app.command()
def codes(
    date: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD); default: today.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The catalogue of codes in force on a date, with amounts and grades."""
    day = _day_option(date)
    nomenclature = Nomenclature.load()
    rows: list[dict[str, Any]] = []
    for code in nomenclature.catalogue.codes.values():
        if not code.billable_on(day):
            continue
        step = code.step_on(day)
        # CCAM codes have a second grid: sector 2 without OPTAM (None for NGAP codes).
        other = code.step_on(day, "s2") if code.nomenclature == "CCAM" else None
        rows.append(
            {
                "code": code.code,
                "kind": code.kind,
                "nomenclature": code.nomenclature,
                "amount_cents": step.cents if step else None,
                "grade": step.grade if step else None,
                "amount_non_optam_cents": other.cents if other else None,
                "grade_non_optam": other.grade if other else None,
                "label_fr": code.label_fr,
                "label_en": code.label_en,
                "article": code.article,
            }
        )
    if as_json:
        _emit_json({"date": day.isoformat(), "codes": rows, "versions": versions()})
        return
    lang = language()
    title = say(f"Codes en vigueur le {day.isoformat()}", f"Codes in force on {day.isoformat()}")
    table = Table(title=title, title_justify="left")
    for column in ("code", say("nature", "kind"), say("montant €", "amount €"), "grade",
                   say("hors OPTAM €", "non-OPTAM €"), say("libellé", "label")):
        table.add_column(column)
    for row in rows:
        free = row["kind"] == "free"
        amount = say("libre", "free") if free else euros(row["amount_cents"])
        s2 = "" if row["grade_non_optam"] is None else euros(row["amount_non_optam_cents"])
        label = row["label_fr"] if lang == "fr" and row["label_fr"] else row["label_en"]
        table.add_row(row["code"], row["kind"], amount, row["grade"] or "", s2, label)
    out.print(table)


def _day_option(date: str | None) -> dt.date:
    """``--date``: an ISO date between the first day covered and today (default: today)."""
    now = today()
    if not date:
        return now
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as error:
        raise fail(
            f"--date : {date!r} n'est pas une date possible AAAA-MM-JJ",
            f"--date: {date!r} is not a possible date YYYY-MM-DD",
        ) from error
    if day > now:
        raise fail(
            f"--date : {day.isoformat()} est après aujourd'hui ({now.isoformat()})",
            f"--date: {day.isoformat()} is after today ({now.isoformat()})",
        )
    if day < COVERAGE_START:
        raise fail(
            f"--date : {day.isoformat()} est avant le {COVERAGE_START.isoformat()}, premier jour "
            "couvert par la base",
            f"--date: {day.isoformat()} is before {COVERAGE_START.isoformat()}, the first day "
            "the knowledge base covers",
        )
    return day


@app.command()
def explain(
    name: Annotated[str, typer.Argument(help="A code (G, DEQP003...) or a rule id.")],
    as_json: JsonOpt = False,
) -> None:
    """A code's legal basis, dated tariffs and sources; or a rule's article and period."""
    nomenclature = Nomenclature.load()
    catalogue = nomenclature.catalogue
    if name in catalogue.rules:
        data: dict[str, Any] = rule_description(catalogue.rules[name])
    else:
        key = name.upper() if name.upper() in catalogue.codes else name
        if key not in catalogue.codes:
            import difflib

            close = difflib.get_close_matches(name, [*catalogue.codes, *catalogue.rules], n=3)
            words = ", ".join(close)
            raise fail(
                f"code ou règle inconnu {name!r}"
                + (f" ; vouliez-vous dire {words} ?" if close else ""),
                f"unknown code or rule {name!r}" + (f"; close matches: {words}" if close else ""),
            )
        data = code_description(catalogue, catalogue.codes[key])
    if as_json:
        _emit_json({**data, "versions": versions()})
        return
    lang = language()
    colon = say(" :", ":")
    titles = {
        "tariffs": say("tarifs :", "tariffs:"),
        "tariffs_non_optam": say("tarifs, grille hors secteur 1 / hors OPTAM :",
                                 "tariffs, sector 2 non-OPTAM grid:"),
        "drom": say("tarifs, départements d'outre-mer (DROM) :",
                    "tariffs, overseas departments (DROM):"),
        "drom_non_optam": say("tarifs, DROM, grille hors secteur 1 / hors OPTAM :",
                              "tariffs, overseas departments (DROM), sector 2 non-OPTAM grid:"),
    }
    if data.get("nomenclature") == "CCAM":
        titles["tariffs"] = say("tarifs, grille secteur 1 / OPTAM :",
                                "tariffs, sector 1 / OPTAM grid:")
    for key, value in data.items():
        if key in titles:
            out.print(titles[key], highlight=False)
            for step in value:
                amount = step["amount"] or say("non chiffré", "unpriced")
                flag = say(" (non facturable)", " (not billable)") if step["not_billable"] else ""
                since = say(f"à partir du {step['from']}", f"from {step['from']}")
                out.print(escape(f"  {since}{colon} {amount} € [grade {step['grade']}]{flag}"),
                          highlight=False)
                for cite in step["citations"]:
                    out.print(escape(f"      {cite}"), highlight=False)
        elif key == "sources":
            continue  # the ids; their citations are printed below
        elif key == "citations":
            out.print(f"sources{colon}")
            for cite in value:
                out.print(escape(f"  {cite}"), highlight=False)
        elif value is not None:
            name = _EXPLAIN_KEYS.get(key, (key, key))[0 if lang == "fr" else 1]
            out.print(escape(f"{name}{colon} {value}"), highlight=False)


_EXPLAIN_KEYS = {
    "rule": ("règle", "rule"),
    "file": ("fichier", "file"),
    "from": ("en vigueur du", "from"),
    "to": ("au", "to"),
    "fr": ("message", "message (fr)"),
    "en": ("message (en)", "message"),
    "label_fr": ("libellé", "label (fr)"),
    "label_en": ("libellé (en)", "label"),
    "kind": ("nature", "kind"),
    "valid_from": ("valable du", "valid from"),
    "valid_to": ("au", "valid to"),
    "refines": ("précise", "refines"),
}
"""The names of ``explain``'s fields in text output (the JSON keys stay as they are)."""


@app.command()
def schema(
    output: Annotated[
        str | None,
        typer.Option("--output", help="Schema of this JSON output instead (see --list)."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the schema names.")] = False,
) -> None:
    """Print the JSON Schema of an encounter file, or of a JSON output (--output NAME)."""
    from ngap import schemas

    if list_:
        for name, text in schemas.DESCRIPTIONS.items():
            sys.stdout.write(f"{name}\t{text}\n")
        return
    if output is None:
        _emit_json(encounter_schema())
        return
    if output not in schemas.SCHEMAS:
        raise _fail(f"--output: unknown schema {output!r}; one of {', '.join(schemas.SCHEMAS)}")
    _emit_json(schemas.schema(output))


@app.command()
def vocabulary(as_json: JsonOpt = False) -> None:
    """The closed vocabulary: activities (``done``), the CCAM acts with their labels, trips."""
    codes = load_catalogue().codes

    def label(name: str, lang: Lang) -> str:
        if name in codes:
            code = codes[name]
            return code.label_fr if lang == "fr" and code.label_fr else code.label_en
        return activity_label(name, lang)

    ccam = [
        {"code": c, "label_fr": CCAM_LABELS[c], "label_en": codes[c].label_en} for c in CCAM_ACTS
    ]
    data: dict[str, Any] = {
        "done": list(KNOWN_DONE),
        "ccam": ccam,
        "trip": list(TRIPS),
        "done_labels": {name: {lang: label(name, lang) for lang in LANGS} for name in KNOWN_DONE},
        "trip_labels": {t: {lang: phrase("trip", t, lang) for lang in LANGS} for t in TRIPS},
    }
    if as_json:
        _emit_json({**data, "versions": versions()})
        return
    lang = language()
    colon = say(" :", ":")
    table = Table(title=f"done{colon} " + say("activités et actes CCAM", "activities and CCAM "
                                              "acts"), title_justify="left")
    table.add_column(say("valeur", "value"))
    table.add_column(say("libellé", "label"))
    for name in KNOWN_DONE:
        table.add_row(name, label(name, lang))
    out.print(table)
    out.print(f"trip{colon} " + ", ".join(f"{t} ({phrase('trip', t, lang)})" for t in TRIPS),
              highlight=False)


@app.command()
def site(
    out_dir: Annotated[str, typer.Argument(help="Folder to write the pages into.")],
    lang: LangOpt = "fr",
) -> None:
    """Write the rule pages: one HTML page per code and per rule, and an index (offline)."""
    from pathlib import Path

    from ngap.site import LANGS, build_site

    if lang not in LANGS:
        raise _fail(f"--lang: {lang!r} is not one of {', '.join(LANGS)}")
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise _fail(f"{out_dir}: exists and is not a directory")
    try:
        written = build_site(target, lang)
    except OSError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(3) from error
    out.print(f"{written} pages written to {escape(out_dir)} (open index.html)", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (one solver each).")] = 1,
    max_body: Annotated[int, typer.Option(help="Largest request body, bytes (413).")] = 1_000_000,
    time_limit: Annotated[
        float, typer.Option(help="Time limit of the solves of one request, s (503).")
    ] = 10.0,
    cors: Annotated[
        str | None, typer.Option(help="Origins allowed by CORS, comma-separated (default off).")
    ] = None,
) -> None:
    """The REST service and the French web calculator (docs/service.md)."""
    from ngap.service.server import run

    if workers < 1 or max_body < 1 or not 0 < port < 65536 or time_limit < 0:
        raise _fail("--workers, --max-body and --port must be positive, --time-limit not negative")
    try:
        run(host, port, workers, max_body, time_limit, cors)
    except OSError as error:  # the address is taken, or not ours to bind
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(3) from error


def _register_analysis() -> None:
    from ngap.analysis.cli import register
    from ngap.audit.cli import register as register_audit

    register(app)
    register_audit(app)


_register_analysis()

if __name__ == "__main__":  # pragma: no cover
    main()
