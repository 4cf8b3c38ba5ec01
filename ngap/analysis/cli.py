"""Commands ``ngap analyse`` and ``ngap validate-ruleset``; ``register(app)`` adds them.

Why a separate module: ``ngap/cli.py`` belongs to the encounter commands; it adds these with
``ngap.analysis.cli.register(app)``.  Exit status, as for the other commands: 0 clean (for
``validate-ruleset``: nothing outside the baseline), 1 defects found (or, for ``analyse
--codes``, codes not billable together), 2 bad input or usage, 3 internal fault.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import typer

from ngap import clock
from ngap.analysis.baseline import (
    BaselineError,
    Entry,
    baseline_text,
    entries_for,
    load_baseline,
    parse_kinds,
    triage,
)
from ngap.analysis.ci_formats import junit, sarif
from ngap.analysis.html import validation_html
from ngap.analysis.render import (
    dot,
    graph_for_export,
    graphml,
    rulebase_json,
    rulebase_text,
    validation_json,
    validation_text,
)
from ngap.analysis.rulebase import Analyser, analyse, load_allow_list
from ngap.analysis.space import Blocking
from ngap.analysis.vendor import KINDS, Validator
from ngap.model.eras import DateOutOfRange
from ngap.versions import versions

DateOpt = Annotated[
    str | None,
    typer.Option(
        "--date",
        help="Date YYYY-MM-DD (default: every era; graphml and dot: today).",
    ),
]
OutOpt = Annotated[str | None, typer.Option("--out", help="Write the report to this file.")]


@lru_cache(maxsize=1)
def _analyser() -> Analyser:
    """One set of groundings per process (a test session or a server reuses them)."""
    return Analyser()


@lru_cache(maxsize=1)
def _validator() -> Validator:
    return Validator(_analyser())


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as error:
        raise _fail(f"--date: {text!r} is not a date YYYY-MM-DD") from error
    if day > clock.today():
        raise _fail(f"--date: {day.isoformat()} is after today ({clock.today().isoformat()})")
    return day


def _emit(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    Path(out).write_text(text, encoding="utf-8")
    typer.echo(f"report written to {out}", err=True)


def analyse_command(
    date: DateOpt = None,
    format: Annotated[str, typer.Option("--format", help="text | json | graphml | dot")] = "text",
    codes: Annotated[
        str | None,
        typer.Option(
            "--codes",
            help="Question instead of the report: are these codes (comma-separated) billable "
            "together in some context? A witness encounter, or the rules that forbid it.",
        ),
    ] = None,
    allow_list: Annotated[
        str | None, typer.Option("--allow-list", help="Allow-list file (default: shipped).")
    ] = None,
    matrix: Annotated[
        bool | None,
        typer.Option(
            "--matrix/--no-matrix",
            help="Compute the compatibility graph of each era (default: only with --date).",
        ),
    ] = None,
    out: OutOpt = None,
) -> None:
    """Defects of the rule base over every context: dead codes, contradictions, rules that
    never fire, redundant exclusions.  Without --date every era is analysed; with --date, the
    era of that date (and its compatibility graph).  graphml / dot draw the compatibility
    graph of the era of --date (default today)."""
    if format not in ("text", "json", "graphml", "dot"):
        raise _fail(f"--format: {format!r} is not text, json, graphml or dot")
    day = _date(date)
    analyser = _analyser()
    try:
        if day is None and format in ("graphml", "dot"):
            day = clock.today()
        eras = [analyser.era_of(day)] if day else list(analyser.eras)
    except DateOutOfRange as error:
        raise _fail(str(error)) from error
    if codes is not None:
        _question(analyser, [c.strip() for c in codes.split(",") if c.strip()], eras, format)
        return
    try:
        allow = load_allow_list(allow_list)
    except (OSError, ValueError) as error:
        raise _fail(f"allow-list: {error}") from error
    want_matrix = matrix if matrix is not None else (day is not None)
    report = analyse(analyser, eras, allow, matrix=want_matrix or format in ("graphml", "dot"))
    catalogue = analyser.catalogue
    if format == "json":
        _emit(rulebase_json(report, catalogue), out)
    elif format == "text":
        _emit(rulebase_text(report, catalogue), out)
    else:
        era = eras[0].index
        graph = graph_for_export(report, era)
        title = f"ngap compatibility graph, era {era} ({eras[0].start}..{eras[0].end})"
        _emit(graphml(graph) if format == "graphml" else dot(graph, title), out)
    raise typer.Exit(1 if report.defects else 0)


def _question(analyser: Analyser, codes: list[str], eras: list[Any], format: str) -> None:
    import json

    unknown = [c for c in codes if c not in analyser.catalogue.codes]
    if unknown or not codes:
        raise _fail(f"unknown code(s): {', '.join(unknown) or '(none given)'}")
    answers = []
    for era in eras:
        result = analyser.together(codes, era)
        entry: dict[str, Any] = {"era": era.index, "from": era.start.isoformat()}
        if result is None:
            entry["billable"] = False
            entry["rules"] = []
        elif isinstance(result, Blocking):
            entry["billable"] = False
            entry["rules"] = list(result.rules)
            entry["alternatives"] = [list(a) for a in result.alternatives]
            entry["witness"] = analyser.replay(result.witness, "blocked")
        else:
            entry["billable"] = True
            entry["witness"] = analyser.replay(result, "witness")
        answers.append(entry)
    if format == "json":
        data = {"codes": codes, "answers": answers, "versions": versions()}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        for entry in answers:
            head = f"era {entry['era']} (from {entry['from']}): {' + '.join(codes)}"
            if entry["billable"]:
                typer.echo(f"{head}: billable together")
            else:
                rules = ", ".join(entry["rules"]) or "not billable by the rule base"
                typer.echo(f"{head}: never billable together — {rules}")
                for alt in entry.get("alternatives", []):
                    typer.echo(f"    or break: {', '.join(alt)}")
            if "witness" in entry:
                typer.echo("    " + json.dumps(entry["witness"]["encounter"], ensure_ascii=False))
    raise typer.Exit(0 if any(a["billable"] for a in answers) else 1)


FORMATS = ("text", "json", "html", "junit", "sarif")


def validate_command(
    paths: Annotated[
        list[str], typer.Argument(help="Vendor files, or directories searched for them.")
    ],
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Date YYYY-MM-DD of the comparison of codes and matrix (default: today). "
            "Tariffs are compared on every date their rows cover, test encounters on their "
            "own date.",
        ),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="text | json | html | junit | sarif")
    ] = "text",
    out: OutOpt = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help=f"Judge only these finding kinds (comma-separated): {', '.join(KINDS)}.",
        ),
    ] = None,
    ignore: Annotated[
        str | None,
        typer.Option("--ignore", help="Do not judge these finding kinds (comma-separated)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Accepted differences (JSON or YAML, see docs/vendor-formats.md): exit 0 "
            "when every finding is accepted; stale entries are listed, never fail.",
        ),
    ] = None,
    write_baseline: Annotated[
        str | None,
        typer.Option(
            "--write-baseline",
            help="Write the current findings as a baseline to this file (.json, .yaml) and "
            "exit 0; with --baseline, the reasons of entries still matching are kept.",
        ),
    ] = None,
    list_missing: Annotated[
        bool,
        typer.Option(
            "--list-missing",
            help="One missing_code finding per code, with a witness (default: one finding "
            "listing them).",
        ),
    ] = False,
) -> None:
    """Compare a vendor's rule set (tariffs, cumulation matrix, test encounters; see
    docs/vendor-formats.md) with the model.  Every difference comes with its NGAP article and
    a witness encounter.  Exit 0: no finding (outside the baseline); 1: findings; 2: bad input
    or usage; 3: internal fault."""
    if format not in FORMATS:
        raise _fail(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
    try:
        kinds = parse_kinds(only, ignore)
    except ValueError as error:
        raise _fail(str(error)) from error
    day = _date(date)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}")
    entries: list[Entry] = []
    if baseline is not None:
        try:
            entries = load_baseline(baseline)
        except BaselineError as error:
            raise _fail(f"--baseline: {error}") from error
    try:
        _validate(paths, day, format, out, kinds, entries, baseline, write_baseline, list_missing)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:  # an internal fault: exit 3, the traceback only when debugging
        if os.environ.get("NGAP_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(error).__name__}: {error} (NGAP_DEBUG=1 shows the traceback)",
            err=True,
        )
        raise typer.Exit(3) from error


def _validate(
    paths: list[str],
    day: dt.date | None,
    format: str,
    out: str | None,
    kinds: tuple[str, ...],
    entries: list[Entry],
    baseline: str | None,
    write_baseline: str | None,
    list_missing: bool,
) -> None:
    exclude = [p for p in (out, baseline, write_baseline) if p is not None]
    try:
        report = _validator().validate(
            paths, day, witnesses_for_missing=list_missing, exclude=exclude, kinds=kinds
        )
    except DateOutOfRange as error:
        raise _fail(str(error)) from error
    if report.counts["files"] == 0:
        ignored = "; ".join(f"{i.file} ({i.reason})" for i in report.ignored) or "none"
        raise _fail(
            "no vendor file found (names: see docs/vendor-formats.md: tariffs*, cumulation*, "
            f"encounters*...); ignored: {ignored}"
        )
    review = triage(report, kinds, entries, baseline, list_missing)
    if write_baseline is not None:
        # The baseline accepts every current finding; the report is then judged against it.
        current = [*review.findings, *(f for f, _ in review.baselined)]
        kept = [e for e in entries if e.kind not in kinds]
        written = sorted(
            entries_for(current, entries) + kept,
            key=lambda e: (KINDS.index(e.kind), e.codes, e.context),
        )
        yaml_format = Path(write_baseline).suffix.lower() in (".yaml", ".yml")
        Path(write_baseline).write_text(
            baseline_text(written, report.date, yaml_format), encoding="utf-8"
        )
        typer.echo(f"baseline of {len(written)} entries written to {write_baseline}", err=True)
        written = load_baseline(write_baseline)  # the lines of its entries, for the report
        review = triage(report, kinds, written, write_baseline, list_missing)
    render = {
        "json": validation_json,
        "html": validation_html,
        "junit": junit,
        "sarif": sarif,
        "text": validation_text,
    }[format]
    _emit(render(review), out)
    if out is not None:  # the verdict in the job's log, the report in its file
        outside = " outside the baseline" if review.baseline is not None else ""
        stale = f", {len(review.stale)} stale baseline entries" if review.stale else ""
        typer.echo(f"{len(review.findings)} finding(s){outside}{stale}", err=True)
    raise typer.Exit(review.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``analyse`` and ``validate-ruleset`` to the ``ngap`` command line."""
    app.command("analyse")(analyse_command)
    app.command("validate-ruleset")(validate_command)
