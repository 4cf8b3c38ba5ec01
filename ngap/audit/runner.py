"""The local engine: stream every input in chunks, audit them (in a process pool if asked),
write each chunk's output atomically, and keep a manifest so that ``--resume`` after a crash or
``kill -9`` continues without a lost or duplicated row.

Layout of the output directory::

    manifest.json                  inputs, settings, and every finished chunk with its counts
    parts/encounters-I-C.parquet   audit rows of chunk C of input I (written to a temporary name,
    parts/lines-I-C.parquet        then renamed: a chunk is there whole or not at all)
    encounters.<format>            every audit row, one per input record (rows in = rows out)
    findings.<format>              rules across encounters (frequency, sequence, trips)
    summary.json, report.html      the report (``ngap report DIR`` rebuilds them)

A chunk is identified by its input and its rank in that input; chunking is deterministic for
a given file and chunk size, and the manifest records both, so a resumed run skips exactly the
chunks that were finished.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ngap.audit.batches import RawBatch
from ngap.audit.core import OUTPUT_SCHEMA, Auditor, lines_of
from ngap.audit.readers import DEFAULT_CHUNK, detect_format, read
from ngap.audit.situations import SituationCache
from ngap.io import InputError

MANIFEST = "manifest.json"
OUTPUT_FORMATS = ("parquet", "csv", "jsonl")


@dataclass
class Settings:
    inputs: list[Path]
    out: Path
    format: str = "parquet"
    workers: int = 1
    resume: bool = False
    chunk_rows: int = DEFAULT_CHUNK
    memo_size: int = 20_000
    report: bool = True
    today: dt.date | None = None
    cache: Path | None = None
    """Situation cache shared by the workers (default ``out/situations.sqlite``); give a path
    outside ``out`` to keep it between audits."""


PHASES = ("read", "judge", "across", "export")
"""The phases of an audit, in the order a progress display meets them: reading a chunk and
judging its rows alternate; then the rules across encounters; then the export."""


@dataclass
class Progress:
    """What a progress display needs.

    ``advance(rows)`` counts rows done in the current phase: during read / judge, rows whose
    verdict is known (several times per chunk, at most every ``PROGRESS_SECONDS``, with one
    worker; once per chunk with several); during export, rows written.  ``phase(name, total)``
    announces one of ``PHASES`` and the rows it will count (None: no count, e.g. the rules
    across encounters, which run as one query)."""

    total: int | None = None
    advance: Callable[[int], None] = lambda rows: None
    warn: Callable[[str], None] = lambda message: None
    phase: Callable[[str, int | None], None] = lambda name, total: None


PROGRESS_SECONDS = 0.2


@dataclass
class Outcome:
    rows_in: int = 0
    rows_out: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------- manifest
def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _open_manifest(settings: Settings, formats: list[str]) -> dict[str, Any]:
    path = settings.out / MANIFEST
    inputs = [
        {**_fingerprint(p), "format": f} for p, f in zip(settings.inputs, formats, strict=True)
    ]
    wanted = {"inputs": inputs, "chunk_rows": settings.chunk_rows}
    if path.exists():
        if not settings.resume:
            raise InputError(
                f"{settings.out} already holds an audit ({MANIFEST}); "
                "use --resume to continue it, or choose another --out"
            )
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        recorded = [
            {k: v for k, v in entry.items() if k != "rows"} for entry in manifest.get("inputs", [])
        ]
        previous = {"inputs": recorded, "chunk_rows": manifest.get("chunk_rows")}
        if previous != wanted:
            raise InputError(
                f"{settings.out}: cannot resume, the inputs or the chunk size changed since the "
                "interrupted run (same files, unchanged, and the same --chunk-rows are needed)"
            )
        return manifest
    settings.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        **wanted,
        "version": 1,
        "engine": "local",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "chunks": {},
    }
    _write_json(path, manifest)
    return manifest


# ---------------------------------------------------------------------------------- workers
_AUDITOR: Auditor | None = None


_AUDITOR_FOR: tuple[int, dt.date | None, Path | None] | None = None


def _auditor(memo_size: int, today: dt.date | None, cache: Path | None) -> Auditor:
    """The process's auditor: the rule base is grounded once per process."""
    global _AUDITOR, _AUDITOR_FOR
    wanted = (memo_size, today, cache)
    if _AUDITOR is None or wanted != _AUDITOR_FOR:
        shared = SituationCache(cache) if cache is not None else None
        nomenclature = _AUDITOR.nomenclature if _AUDITOR is not None else None
        _AUDITOR = Auditor(nomenclature, memo_size=memo_size, today=today, cache=shared)
        _AUDITOR_FOR = wanted
    return _AUDITOR


def audit_chunk(
    batch: RawBatch,
    parts: Path,
    name: str,
    memo_size: int,
    today: dt.date | None,
    cache: Path | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Audit one chunk and write its two part files atomically; return its counts.

    ``on_rows(n)``: n more rows of the chunk judged (in this process only)."""
    out = _auditor(memo_size, today, cache).audit(batch, on_rows, PROGRESS_SECONDS)
    table = pa.Table.from_batches([out], schema=OUTPUT_SCHEMA)
    lines = lines_of(table)
    _write_parquet(table, parts / f"encounters-{name}.parquet")
    _write_parquet(lines, parts / f"lines-{name}.parquet")
    _give_back_memory()  # keep the footprint of one chunk, not the sum of their leftovers
    statuses: dict[str, int] = {}
    for status in table.column("status").to_pylist():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "rows_in": batch.table.num_rows + len(batch.bad),
        "rows_out": table.num_rows,
        "by_status": statuses,
    }


def _give_back_memory() -> None:
    """Return freed memory to the system: Arrow's pool, and the C heap, which glibc otherwise
    keeps fragmented after each chunk's short-lived objects (the RSS would creep up)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return None


_LIBC = _load_libc()


def _write_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------- run
def _chunks(settings: Settings, formats: list[str]) -> Iterator[tuple[str, RawBatch]]:
    for index, (path, fmt) in enumerate(zip(settings.inputs, formats, strict=True)):
        for rank, batch in enumerate(read(path, settings.chunk_rows, fmt, settings.today)):
            yield f"{index:03d}-{rank:06d}", batch


def run_audit(settings: Settings, progress: Progress | None = None) -> Outcome:
    """Audit every input into ``settings.out``; resumable; returns the counts."""
    progress = progress or Progress()
    start = time.perf_counter()
    if settings.format not in OUTPUT_FORMATS:
        raise InputError(
            f"unknown output format {settings.format!r}; expected {', '.join(OUTPUT_FORMATS)}"
        )
    for path in settings.inputs:
        if not path.exists():
            raise InputError(f"{path}: no such file")
    formats = [detect_format(p) for p in settings.inputs]
    manifest = _open_manifest(settings, formats)
    parts = settings.out / "parts"
    parts.mkdir(exist_ok=True)
    done: dict[str, Any] = manifest["chunks"]
    outcome = Outcome()
    warned: set[str] = set()

    reported = [0]  # rows of the current chunk already counted by the auditor

    def judged(rows: int) -> None:
        reported[0] += rows
        progress.advance(rows)

    def record(name: str, counts: dict[str, Any]) -> None:
        done[name] = counts
        _write_json(settings.out / MANIFEST, manifest)
        progress.advance(max(counts["rows_in"] - reported[0], 0))
        reported[0] = 0

    def note(batch: RawBatch) -> None:
        if batch.unknown_columns and batch.source not in warned:
            warned.add(batch.source)
            message = (
                f"{batch.source}: columns not in the encounter layout, ignored: "
                f"{', '.join(batch.unknown_columns)}"
            )
            outcome.warnings.append(message)
            progress.warn(message)

    cache = settings.cache or settings.out / "situations.sqlite"

    def todo() -> Iterator[tuple[str, RawBatch]]:
        """The chunks still to audit (those of an interrupted run are skipped)."""
        progress.phase("read", progress.total)
        for name, batch in _chunks(settings, formats):
            note(batch)
            if name in done:
                outcome.resumed_chunks += 1
                progress.advance(done[name]["rows_in"])
                continue
            progress.phase("judge", progress.total)
            yield name, batch
            progress.phase("read", progress.total)

    if settings.workers <= 1:
        for name, batch in todo():
            counts = audit_chunk(
                batch, parts, name, settings.memo_size, settings.today, cache, judged
            )
            record(name, counts)
    else:
        # Spawned, not forked: a fork would copy Arrow / DuckDB thread pools mid-flight (unsafe)
        # and the parent's solver state; each worker grounds the rule base once by itself.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=settings.workers, mp_context=context) as pool:
            pending: dict[Future[dict[str, Any]], str] = {}
            for name, batch in todo():
                while len(pending) >= 2 * settings.workers:  # bounded: memory stays flat
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        record(pending.pop(future), future.result())
                future = pool.submit(
                    audit_chunk, batch, parts, name, settings.memo_size, settings.today, cache
                )
                pending[future] = name
            for future in list(pending):
                record(pending.pop(future), future.result())

    release()  # the rest of the run needs no solver
    timings = {"audit_s": round(time.perf_counter() - start, 3)}
    manifest.setdefault("warnings", outcome.warnings)
    if settings.resume and outcome.resumed_chunks:
        manifest.setdefault("resumes", []).append(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "kept_chunks": outcome.resumed_chunks,
            }
        )
    timings.update(finish(settings.out, settings.format, progress=progress))
    for counts in done.values():
        outcome.rows_in += counts["rows_in"]
        outcome.rows_out += counts["rows_out"]
        for status, count in counts["by_status"].items():
            outcome.by_status[status] = outcome.by_status.get(status, 0) + count
    outcome.chunks = len(done)
    for index, entry in enumerate(manifest["inputs"]):
        entry["rows"] = sum(c["rows_in"] for n, c in done.items() if n.startswith(f"{index:03d}-"))
    outcome.seconds = time.perf_counter() - start
    manifest.update(
        rows_in=outcome.rows_in,
        rows_out=outcome.rows_out,
        seconds=round(outcome.seconds, 3),
        format=settings.format,
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        timings=timings,
    )
    _write_json(settings.out / MANIFEST, manifest)
    if settings.report:
        from ngap.audit.report import build_report

        begun = time.perf_counter()
        build_report(settings.out)
        timings["report_s"] = round(time.perf_counter() - begun, 3)
        _write_json(settings.out / MANIFEST, manifest)
    return outcome


def finish(
    out: Path,
    fmt: str,
    findings: pa.Table | None = None,
    *,
    across: bool = True,
    progress: Progress | None = None,
) -> dict[str, float]:
    """The rules across encounters (unless given), then the exports; seconds of each."""
    progress = progress or Progress()
    parts = sorted((out / "parts").glob("encounters-*.parquet"))
    lines = sorted((out / "parts").glob("lines-*.parquet"))
    begun = time.perf_counter()
    if across:
        progress.phase("across", None)
        findings = find_across(out / "parts", lines)
    across_s = time.perf_counter() - begun
    if findings is not None:
        _write_parquet(findings, out / "findings.parquet")
        if fmt != "parquet":
            export(iter(findings.to_batches()), findings.schema, out / f"findings.{fmt}", fmt)
    across_rules = _excess_rules(findings)
    rows = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    progress.phase("export", rows)
    export(
        _counted(_public_batches(parts, across_rules), progress.advance),
        _public_schema(),
        out / f"encounters.{fmt}",
        fmt,
    )
    return {
        "across_s": round(across_s, 3),
        "export_s": round(time.perf_counter() - begun - across_s, 3),
    }


def find_across(parts: Path, lines: list[Path]) -> pa.Table | None:
    """Findings of the rules across encounters over every lines part (DuckDB, out of core).

    Computed in a process of its own: the audit's memory (groundings, memo) and DuckDB's working
    memory never add up, and each stays within its bound whatever the input size.
    """
    if not lines:
        return None
    target = parts.parent / ".findings.parquet"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(_findings_to_file, str(parts / "lines-*.parquet"), str(target)).result()
    table = pq.read_table(target)
    target.unlink()
    return table


def _findings_to_file(lines_glob: str, target: str) -> None:
    """Run by ``find_across`` in a child process; DuckDB memory bounded, raised if too tight."""
    import duckdb

    from ngap.audit.duck import connect
    from ngap.audit.frequency import find_duckdb

    try:
        table = find_duckdb(lines_glob)
    except duckdb.OutOfMemoryException:
        # Some window states cannot spill; give DuckDB more room rather than fail the audit.
        table = find_duckdb(lines_glob, connect(memory="2GB"))
    pq.write_table(table, target)


def release() -> None:
    """Free this process's auditor (groundings, memo) and Arrow's cached memory."""
    global _AUDITOR, _AUDITOR_FOR
    _AUDITOR, _AUDITOR_FOR = None, None
    gc.collect()
    pa.default_memory_pool().release_unused()


def _public_schema() -> pa.Schema:
    fields = [f for f in OUTPUT_SCHEMA if not f.name.startswith("_")]
    return pa.schema([*fields, pa.field("across_rules", pa.string())])


def _excess_rules(findings: pa.Table | None) -> dict[str, str]:
    """Encounter id -> the rules across encounters it was billed in excess of (';'-joined)."""
    rules: dict[str, list[str]] = {}
    if findings is None:
        return {}
    for rule, excess in zip(
        findings.column("rule").to_pylist(), findings.column("excess_ids").to_pylist(), strict=True
    ):
        for encounter in (excess or "").split(";"):
            if encounter and rule not in rules.setdefault(encounter, []):
                rules[encounter].append(rule)
    return {encounter: ";".join(sorted(names)) for encounter, names in rules.items()}


def _counted(
    batches: Iterator[pa.RecordBatch], advance: Callable[[int], None]
) -> Iterator[pa.RecordBatch]:
    """The batches, each counted once written (the export's progress)."""
    for batch in batches:
        yield batch
        advance(batch.num_rows)


def _public_batches(parts: list[Path], across: dict[str, str]) -> Iterator[pa.RecordBatch]:
    names = [f.name for f in OUTPUT_SCHEMA if not f.name.startswith("_")]
    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches(columns=names):
            ids = batch.column("id").to_pylist()
            column = pa.array([across.get(i) if i is not None else None for i in ids], pa.string())
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, column], schema=_public_schema()
            )


def export(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, fmt: str) -> None:
    """Stream batches into one file of the chosen format (atomically)."""
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        with pacsv.CSVWriter(tmp, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    else:
        with tmp.open("w", encoding="utf-8") as handle:
            for batch in batches:
                for row in batch.to_pylist():
                    handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def count_records(paths: list[Path]) -> int | None:
    """Records in the inputs, for the progress bar's ETA (a fast byte scan; None if unknown)."""
    total = 0
    for path in paths:
        fmt = detect_format(path)
        if fmt == "parquet":
            total += pq.ParquetFile(path).metadata.num_rows
            continue
        if path.suffix.lower() == ".parquet":
            total += pq.ParquetFile(path).metadata.num_rows
            continue
        lines = 0
        with path.open("rb") as handle:
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
        total += max(lines - (0 if fmt == "jsonl" else 1), 0)
    return total
