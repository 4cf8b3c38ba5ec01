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

import datetime as dt
import errno
import fcntl
import gc
import hashlib
import json
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ngap.audit import AuditFault
from ngap.audit.batches import RawBatch
from ngap.audit.columns import LIST_SEPARATORS, OUTPUT_TYPES
from ngap.audit.core import OUTPUT_SCHEMA, Auditor, lines_of
from ngap.audit.readers import DEFAULT_CHUNK, detect_format, read
from ngap.audit.situations import SituationCache
from ngap.io import InputError
from ngap.libc import die_with_parent, trim_heap

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
"""Version 2 records, for every finished chunk, the size and SHA-256 of its two part files."""
LOCK = ".lock"
OUTPUT_FORMATS = ("parquet", "csv", "jsonl")
CHUNK_NAME = re.compile(r"\d{3}-\d{6}")
PART_KINDS = ("encounters", "lines")


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
    nulls: tuple[str, ...] = ()
    """Cell texts read as empty (unknown) besides the empty cell, e.g. ("NA", "NULL")."""


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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, path: Path) -> None:
    """Make a written temporary file durable, then rename it into place (and make the rename
    durable): after a crash, a part or a manifest is there whole or not at all."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    _publish(tmp, path)


def file_digest(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a part file, as the manifest records them."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def lock_directory(out: Path) -> int:
    """Hold the output directory for this process (an advisory lock on ``DIR/.lock``).

    A second audit or ``--resume`` on the same directory raises ``AuditFault`` naming the pid
    that holds it; a lock left by a dead process is released by the kernel and taken over.
    Returns the descriptor to keep open for the run (``unlock_directory`` closes it).
    """
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip() or "?"
        os.close(fd)
        if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise AuditFault(f"{out}: output directory in use by pid {holder}") from None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def unlock_directory(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _bad_manifest(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}: {what}; the audit cannot be resumed from it (choose another --out, or remove "
        "the directory)"
    )


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an interrupted local audit, checked field by field (InputError naming
    the field otherwise).  Chunk entries are checked by ``_verified_chunks``."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise _bad_manifest(path, f"not JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise _bad_manifest(path, "not a JSON object")
    if manifest.get("version") != MANIFEST_VERSION:
        raise _bad_manifest(
            path, f"version {manifest.get('version')!r}, expected {MANIFEST_VERSION}"
        )
    inputs = manifest.get("inputs")
    fields = {"path": str, "size": int, "mtime_ns": int, "format": str}
    if not isinstance(inputs, list) or not all(
        isinstance(e, dict) and all(isinstance(e.get(k), t) for k, t in fields.items())
        for e in inputs
    ):
        raise _bad_manifest(path, "field 'inputs' is not a list of {path, size, mtime_ns, format}")
    if not isinstance(manifest.get("chunk_rows"), int) or isinstance(
        manifest.get("chunk_rows"), bool
    ):
        raise _bad_manifest(path, "field 'chunk_rows' is not a whole number")
    if not isinstance(manifest.get("chunks"), dict):
        raise _bad_manifest(path, "field 'chunks' is not an object")
    nulls = manifest.get("nulls", [])
    if not isinstance(nulls, list) or not all(isinstance(n, str) for n in nulls):
        raise _bad_manifest(path, "field 'nulls' is not a list of texts")
    if not isinstance(manifest.get("today"), str | None):
        raise _bad_manifest(path, "field 'today' is not a date")
    return manifest


def _counts_ok(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    whole = [entry.get("rows_in"), entry.get("rows_out")]
    statuses = entry.get("by_status")
    files = entry.get("files")
    return (
        all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in whole)
        and isinstance(statuses, dict)
        and all(isinstance(k, str) and isinstance(v, int) for k, v in statuses.items())
        and isinstance(files, dict)
    )


def _verified_chunks(out: Path, chunks: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The recorded chunks whose two parts are there with their recorded size and SHA-256;
    and a warning per chunk dropped (it is audited again, never skipped)."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, entry in chunks.items():
        if not CHUNK_NAME.fullmatch(str(name)):
            dropped.append(f"{MANIFEST}: chunk {name!r} is no chunk name, ignored")
            continue
        if not _counts_ok(entry):
            dropped.append(f"{MANIFEST}: chunk {name} has a malformed entry: audited again")
            continue
        for kind in PART_KINDS:
            part = out / "parts" / f"{kind}-{name}.parquet"
            recorded = entry["files"].get(part.name)
            actual = file_digest(part) if part.is_file() else None
            if actual is None or actual != recorded:
                what = "missing" if actual is None else "altered"
                dropped.append(f"parts/{part.name} {what}: chunk {name} audited again")
                break
        else:
            kept[name] = entry
    return kept, dropped


def part_files(out: Path, kind: str) -> list[Path]:
    """The part files of an audit directory, named exactly (never a glob pattern, which the
    directory's own name could turn into something else): those the manifest records as
    finished, or for a manifest without chunk records (Spark), the files of that kind."""
    manifest_path = out / MANIFEST
    chunks: Any = None
    try:
        chunks = json.loads(manifest_path.read_text(encoding="utf-8")).get("chunks")
    except (OSError, ValueError, AttributeError):
        chunks = None
    if isinstance(chunks, dict):
        names = sorted(n for n in chunks if CHUNK_NAME.fullmatch(str(n)))
        return [out / "parts" / f"{kind}-{n}.parquet" for n in names]
    parts = out / "parts"
    if not parts.is_dir():
        return []
    pattern = re.compile(rf"{kind}-[A-Za-z0-9_-]+\.parquet")
    return sorted(p for p in parts.iterdir() if pattern.fullmatch(p.name))


def _open_manifest(settings: Settings, formats: list[str]) -> dict[str, Any]:
    path = settings.out / MANIFEST
    inputs = [
        {**_fingerprint(p), "format": f} for p, f in zip(settings.inputs, formats, strict=True)
    ]
    # What decides the rows a chunk holds and how its cells read: a resumed audit must use the
    # same, or its chunks would be cut or read two ways (an "NA" unknown in some, text in
    # others; a date after --today refused in some only).
    wanted = {
        "inputs": inputs,
        "chunk_rows": settings.chunk_rows,
        "nulls": sorted(set(settings.nulls)),
        "today": settings.today.isoformat() if settings.today else None,
    }
    if path.exists():
        if not settings.resume:
            raise InputError(
                f"{settings.out} already holds an audit ({MANIFEST}); "
                "use --resume to continue it, or choose another --out"
            )
        manifest = load_manifest(path)
        recorded = [{k: v for k, v in entry.items() if k != "rows"} for entry in manifest["inputs"]]
        previous = {
            "inputs": recorded,
            "chunk_rows": manifest["chunk_rows"],
            "nulls": manifest.get("nulls", []),  # an audit begun before they were recorded
            "today": manifest.get("today"),
        }
        if previous != wanted:
            changed = ", ".join(
                {"inputs": "the inputs", "chunk_rows": "--chunk-rows", "nulls": "--null"}.get(
                    key, "--today"
                )
                for key in wanted
                if previous[key] != wanted[key]
            )
            raise InputError(
                f"{settings.out}: cannot resume, {changed} changed since the interrupted run "
                "(the same files, unchanged, and the same --chunk-rows, --null and --today are "
                "needed)"
            )
        manifest.pop("finished", None)
        return manifest
    manifest = {
        **wanted,
        "version": MANIFEST_VERSION,
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
    files: dict[str, Any] = {}
    for kind, data in (("encounters", table), ("lines", lines)):
        target = parts / f"{kind}-{name}.parquet"
        _write_parquet(data, target)
        files[target.name] = file_digest(target)
    _give_back_memory()  # keep the footprint of one chunk, not the sum of their leftovers
    statuses: dict[str, int] = {}
    for status in table.column("status").to_pylist():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "rows_in": batch.table.num_rows + len(batch.bad),
        "rows_out": table.num_rows,
        "by_status": statuses,
        "files": files,
    }


def _give_back_memory() -> None:
    """Return freed memory to the system: Arrow's pool, and the C heap, which glibc otherwise
    keeps fragmented after each chunk's short-lived objects (the RSS would creep up)."""
    pa.default_memory_pool().release_unused()
    trim_heap()


def _write_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    _publish(tmp, path)


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: a worker never outlives the audit that started it.

    On Linux the kernel kills it when its parent dies (PR_SET_PDEATHSIG); everywhere, a thread
    checks every half second that the parent is still there (a kill -9 of the parent runs no
    cleanup, and the pool's own shutdown would never come).
    """
    die_with_parent()  # Linux: SIGKILL when the parent thread dies

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _pool(workers: int) -> ProcessPoolExecutor:
    """Spawned workers that die with this process."""
    # Spawned, not forked: a fork would copy Arrow / DuckDB thread pools mid-flight (unsafe)
    # and the parent's solver state; each worker grounds the rule base once by itself.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


# ---------------------------------------------------------------------------------- run
def _chunks(settings: Settings, formats: list[str]) -> Iterator[tuple[str, RawBatch]]:
    for index, (path, fmt) in enumerate(zip(settings.inputs, formats, strict=True)):
        batches = read(path, settings.chunk_rows, fmt, settings.today, settings.nulls)
        for rank, batch in enumerate(batches):
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
    settings.out.mkdir(parents=True, exist_ok=True)
    lock = lock_directory(settings.out)
    try:
        return _run_locked(settings, formats, progress, start)
    finally:
        unlock_directory(lock)


def _run_locked(
    settings: Settings, formats: list[str], progress: Progress, start: float
) -> Outcome:
    manifest = _open_manifest(settings, formats)
    parts = settings.out / "parts"
    parts.mkdir(exist_ok=True)
    outcome = Outcome()
    done, dropped = _verified_chunks(settings.out, manifest["chunks"])
    manifest["chunks"] = done
    for message in dropped:
        outcome.warnings.append(message)
        progress.warn(message)
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
        with _pool(settings.workers) as pool:
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
    timings.update(finish(settings.out, settings.format, chunks=sorted(done), progress=progress))
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
    chunks: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """The rules across encounters (unless given), then the exports; seconds of each.

    ``chunks``: the finished chunks, whose parts are read by their exact names (default: the
    part files of the directory, as the Spark engine leaves them).
    """
    progress = progress or Progress()
    if chunks is None:
        parts, lines = part_files(out, "encounters"), part_files(out, "lines")
    else:
        parts = [out / "parts" / f"encounters-{c}.parquet" for c in chunks]
        lines = [out / "parts" / f"lines-{c}.parquet" for c in chunks]
    begun = time.perf_counter()
    if across:
        progress.phase("across", None)
        findings = find_across(out / "parts", lines)
    across_s = time.perf_counter() - begun
    if findings is not None:
        _write_parquet(findings, out / "findings.parquet")
        if fmt != "parquet":
            from ngap.audit.frequency import FLAT_FINDINGS_SCHEMA, flat_findings

            flat = (flat_findings(b) for b in findings.to_batches())
            export(flat, FLAT_FINDINGS_SCHEMA, out / f"findings.{fmt}", fmt)
    across_rules = _excess_rules(findings)
    rows = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    progress.phase("export", rows)
    batches = _counted(_public_batches(parts, across_rules), progress.advance)
    schema = _public_schema()
    if fmt == "parquet":
        batches, schema = (typed_batch(b) for b in batches), typed_schema()
    export(batches, schema, out / f"encounters.{fmt}", fmt)
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
    with _pool(1) as pool:
        pool.submit(_findings_to_file, [str(p) for p in lines], str(target)).result()
    table = pq.read_table(target)
    target.unlink()
    return table


def _findings_to_file(lines: list[str], target: str) -> None:
    """Run by ``find_across`` in a child process; DuckDB memory bounded, raised if too tight."""
    import duckdb

    from ngap.audit.duck import connect
    from ngap.audit.frequency import find_duckdb

    try:
        table = find_duckdb(lines)
    except duckdb.OutOfMemoryException:
        # Some window states cannot spill; give DuckDB more room rather than fail the audit.
        table = find_duckdb(lines, connect(memory="2GB"))
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
    """Encounter id -> the rules across encounters it was billed in excess of (';'-joined).

    ``excess_ids`` is a list: an id holding ``;`` is one encounter, never split into two."""
    rules: dict[str, list[str]] = {}
    if findings is None:
        return {}
    for rule, excess in zip(
        findings.column("rule").to_pylist(), findings.column("excess_ids").to_pylist(), strict=True
    ):
        for encounter in excess or ():
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


def typed_schema() -> pa.Schema:
    """``encounters.parquet``: the types ``columns.OUTPUT_TYPES`` declares."""
    kinds = {"int": pa.int64(), "date": pa.date32(), "list": pa.list_(pa.string())}
    return pa.schema(
        [pa.field(f.name, kinds.get(OUTPUT_TYPES.get(f.name, ""), f.type))
         for f in _public_schema()]
    )


def typed_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A flat (text) batch of audit rows with the declared types: dates as date32 (null when
    the input held no date), lists split on their separator."""
    schema = typed_schema()
    columns = []
    for field_, column in zip(schema, batch.columns, strict=True):
        kind = OUTPUT_TYPES.get(field_.name)
        if kind == "date":
            valid = pc.fill_null(pc.match_substring_regex(column, r"^\d{4}-\d{2}-\d{2}$"), False)
            text = pc.if_else(valid, column, pa.scalar(None, pa.string()))
            parsed = pc.strptime(text, "%Y-%m-%d", "s", error_is_null=True)
            column = pc.cast(parsed, pa.date32())
        elif kind == "list":
            separator = LIST_SEPARATORS.get(field_.name, ";")
            split = pc.split_pattern(column, separator)
            empty = pc.fill_null(pc.equal(column, ""), False)
            column = pc.if_else(empty, pa.scalar([], pa.list_(pa.string())), split)
        columns.append(column.cast(field_.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


FORMULA_START = r"^[=+\-@\t\r]"
"""A text cell starting with = + - @ tab or CR is a formula to a spreadsheet (OWASP CSV
injection)."""


def neutralise(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'`` (CSV only):
    an id ``=HYPERLINK(...)`` from an input file must stay text in the auditor's spreadsheet."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def export(batches: Iterator[pa.RecordBatch], schema: pa.Schema, path: Path, fmt: str) -> None:
    """Stream batches into one file of the chosen format (atomically).  CSV cells that would
    be formulas are neutralised (``neutralise``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        with pacsv.CSVWriter(tmp, schema) as writer:
            for batch in batches:
                writer.write_batch(neutralise(batch))
    else:
        with tmp.open("w", encoding="utf-8") as handle:
            for batch in batches:
                for row in batch.to_pylist():
                    handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    _publish(tmp, path)


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
