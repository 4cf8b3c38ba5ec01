"""``ngap audit`` and ``ngap report``: the batch audit on the command line.

Exit status: 0 the audit ran (whatever it found), 2 the command could not run (no such file,
an output directory holding another audit, a resume whose inputs changed...), 3 an environment
fault or internal error (disk full, read-only directory, output directory in use): one line,
the traceback only with ``--debug``.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ngap.audit import AuditFault
from ngap.io import InputError

PHASE_LABELS = {
    "read": "reading",
    "judge": "judging",
    "across": "rules across encounters",
    "export": "export",
}
"""What the progress bar shows during each phase of ``ngap audit`` (runner.PHASES)."""

err = Console(stderr=True)
out = Console()


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


def audit_command(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Encounter tables (.csv, .jsonl, .parquet) or SNDS ER_PRS_F line extracts "
            "(.csv / .parquet with a PRS_NAT_REF column).",
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")],
    fmt: Annotated[
        str, typer.Option("--format", help="Output format: parquet, csv or jsonl.")
    ] = "parquet",
    engine: Annotated[
        str, typer.Option("--engine", help="local (streaming, process pool) or spark.")
    ] = "local",
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (local).")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted audit in --out.")
    ] = False,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", help="Rows per chunk (atomic unit of output).")
    ] = 20_000,
    today: Annotated[
        str | None,
        typer.Option("--today", help="Treat dates after this day as impossible (ISO date)."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Situation cache (SQLite) to keep between audits; default: DIR/situations.sqlite.",
        ),
    ] = None,
    null: Annotated[
        str | None,
        typer.Option(
            "--null",
            help="Cell texts that mean unknown besides the empty cell, comma-separated "
            "(e.g. NA,NULL); default: none.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """Audit coded encounters in bulk against the rules of each encounter's date."""
    try:
        _audit(inputs, out_dir, fmt, engine, workers, resume, chunk_rows, today, cache, null,
               quiet)
    except typer.Exit:
        raise
    except AuditFault as error:
        if debug:
            raise
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(3) from None
    except Exception as error:
        if debug:
            raise
        raise _fault(error) from None


def _fault(error: BaseException) -> typer.Exit:
    """An environment fault or internal error: one line, exit 3 (``--debug`` for the trace)."""
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        what = error.strerror or str(error)
        message = f"{where}{what}"
        if error.errno == errno.ENOSPC:
            message = f"no space left on the device ({message})"
    else:
        message = f"internal error: {type(error).__name__}: {error}"
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(3)


def _audit(
    inputs: list[Path],
    out_dir: Path,
    fmt: str,
    engine: str,
    workers: int,
    resume: bool,
    chunk_rows: int,
    today: str | None,
    cache: Path | None,
    null: str | None,
    quiet: bool,
) -> None:
    from ngap.audit.runner import Progress as Hooks
    from ngap.audit.runner import Settings, count_records, run_audit

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError as error:
        raise _fail(f"--today: {today!r} is not an ISO date") from error
    if workers < 1 or chunk_rows < 1:
        raise _fail("--workers and --chunk-rows must be at least 1")
    for path in inputs:
        if path.is_dir():
            raise _fail(f"{path}: is a directory, not an input file")
        if not path.is_file():
            raise _fail(f"{path}: no such file")
    if out_dir.exists() and not out_dir.is_dir():
        raise _fail(f"--out {out_dir}: exists and is not a directory")
    if out_dir.is_symlink() and not out_dir.exists():
        raise _fail(f"--out {out_dir}: a symbolic link to nothing")
    nulls = tuple(n.strip() for n in (null or "").split(",") if n.strip())
    if fmt not in ("parquet", "csv", "jsonl"):
        raise _fail(f"unknown output format {fmt!r}; expected parquet, csv or jsonl")
    if engine not in ("local", "spark"):
        raise _fail(f"unknown engine {engine!r}; expected local or spark")
    settings = Settings(
        inputs=list(inputs),
        out=out_dir,
        format=fmt,
        workers=workers,
        resume=resume,
        chunk_rows=chunk_rows,
        today=day,
        cache=cache,
        nulls=nulls,
    )
    try:
        if engine == "spark":
            from ngap.audit.spark_engine import run_spark

            outcome = run_spark(settings)
        elif engine == "local":
            total = None if quiet else count_records(settings.inputs)
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=quiet,
                transient=False,
            ) as bar:
                task = bar.add_task(PHASE_LABELS["read"], total=total, rate="-")
                started = [time.monotonic()]

                def advance(rows: int) -> None:
                    bar.advance(task, rows)
                    elapsed = time.monotonic() - started[0] or 1e-9
                    bar.update(task, rate=f"{bar.tasks[0].completed / elapsed:,.0f}")

                def phase(name: str, rows: int | None) -> None:
                    label = PHASE_LABELS.get(name, name)
                    if name in ("read", "judge"):  # they alternate chunk by chunk: one count
                        bar.update(task, description=label)
                        return
                    started[0] = time.monotonic()
                    bar.reset(task, total=rows, description=label, rate="-")

                def warn(message: str) -> None:
                    if not quiet:
                        bar.console.print(f"[yellow]warning:[/] {escape(message)}")

                outcome = run_audit(settings, Hooks(total, advance, warn, phase))
        else:
            raise _fail(f"unknown engine {engine!r}; expected local or spark")
    except InputError as error:
        raise _fail(str(error)) from error
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(outcome.by_status.items()))
    if not quiet:
        out.print(
            f"{outcome.rows_in} rows in, {outcome.rows_out} rows out ({statuses}) in "
            f"{outcome.seconds:.1f} s"
            + (
                f"; {outcome.resumed_chunks} chunks kept from the interrupted run"
                if outcome.resumed_chunks
                else ""
            )
        )
        out.print(f"output: {escape(str(out_dir))}/encounters.{fmt}, report.html, summary.json")


def report_command(
    directory: Annotated[Path, typer.Argument(help="Output directory of ngap audit.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """(Re)build summary.json and report.html of an audit directory."""
    from ngap.audit.report import build_report

    if not (directory / "parts").is_dir():
        raise _fail(f"{directory}: not an audit directory (no parts/)")
    try:
        summary = build_report(directory)
    except Exception as error:
        if debug:
            raise
        raise _fault(error) from None
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        out.print(f"{escape(str(directory))}/report.html and summary.json written")


def synth_command(
    rows: Annotated[int, typer.Argument(help="Number of encounters to generate.")],
    target: Annotated[Path, typer.Argument(help="File to write (.parquet, .csv or .jsonl).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed, the same table.")] = 7,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl or parquet (default: from the file's suffix)."),
    ] = None,
) -> None:
    """Write a realistic synthetic encounter table (the documented mix, 8 % seeded errors)."""
    from ngap.audit.synthetic import FORMATS, today, write

    if rows < 0:
        raise _fail("N must be zero or more")
    if fmt is not None and fmt not in FORMATS:
        raise _fail(f"unknown format {fmt!r}; expected {', '.join(FORMATS)}")
    if not target.parent.is_dir():
        raise _fail(f"{target.parent}: no such directory")
    write(target, rows, seed=seed, fmt=fmt)
    out.print(
        f"{rows} encounters written to {escape(str(target))} "
        f"(audit them with --today {today().isoformat()} or later)",
        highlight=False,
    )


def table_schema_command() -> None:
    """The encounter-table layout of ``ngap audit`` as a Frictionless Table Schema (JSON)."""
    from ngap.audit.columns import table_schema

    print(json.dumps(table_schema(), ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add ``audit``, ``report``, ``synth`` and ``table-schema`` to the ``ngap`` command line."""
    app.command("audit")(audit_command)
    app.command("synth")(synth_command)
    app.command("report")(report_command)
    app.command("table-schema")(table_schema_command)
