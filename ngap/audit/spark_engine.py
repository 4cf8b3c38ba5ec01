"""The Spark engine: the same per-chunk core (``Auditor.audit``) run by pyspark ``mapInArrow``.

Encounter tables in Parquet are read by Spark itself, in parallel, with each row's record
number taken from the Parquet metadata (``_metadata.row_index``), then read as the local Parquet
reader reads them (``readers.ParquetLayout``, ``readers.blank_nulls``); every executor's Python
worker grounds the rule base once and keeps its memo for the tasks it runs.  Other inputs (CSV,
JSONL, SNDS line extracts) are read in chunks by the local readers on the driver and shipped to
the executors as Arrow chunks: the solving is distributed, the reading is not, so give Spark
Parquet for very large inputs.

The rules across encounters run as Spark SQL (the same query text as DuckDB locally); the
exports and the report are then written exactly as by the local engine, so both engines give
identical files (a test checks it on the shipped examples in ``local[2]`` mode).  A user with a
cluster runs ``ngap audit ... --engine spark`` under ``spark-submit`` with their own settings;
without a session one is created in ``local[*]`` mode.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ngap.audit.batches import BadRow, RawBatch
from ngap.audit.core import LINES_SCHEMA, OUTPUT_SCHEMA, Auditor, lines_of
from ngap.audit.readers import ParquetLayout, blank_nulls, detect_format, read
from ngap.audit.runner import MANIFEST, Outcome, Settings, _write_json, finish
from ngap.io import InputError

_AUDITOR: Auditor | None = None


def _auditor(today: dt.date | None) -> Auditor:
    """One auditor per executor Python worker: the rule base is grounded once there."""
    global _AUDITOR
    if _AUDITOR is None:
        _AUDITOR = Auditor(today=today)
    return _AUDITOR


def _session() -> Any:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors use this interpreter
    return (
        SparkSession.builder.appName("ngap-audit")
        .master("local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )


def _spark_schema() -> Any:
    return from_arrow_schema(OUTPUT_SCHEMA)


def from_arrow_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema as convert

    return convert(schema)


# ---------------------------------------------------------------------------------- tasks
def audit_rows(
    batches: Iterator[pa.RecordBatch],
    today: dt.date | None,
    names: tuple[str, ...],
    nulls: tuple[str, ...] = (),
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for the rows of one Parquet file read by Spark.

    Each batch holds the file's columns by position (``column_<i>``, named ``names`` in the
    file), then ``_source`` and ``_row``.  The rows are read exactly as the local Parquet reader
    reads them (``ParquetLayout``: a column of the file named ``_lines``, ``_source_lines``,
    ``_source`` or ``_row`` is the file's own, never taken for one of ours), and the declared
    null sentinels applied as the local readers apply them.
    """
    auditor = _auditor(today)
    for batch in batches:
        table = pa.Table.from_batches([batch])
        for source in table.column("_source").unique().to_pylist():
            part = table.filter(pc.equal(table.column("_source"), source))
            rows = part.column("_row").combine_chunks().cast(pa.int64())
            data = part.drop_columns(["_source", "_row"]).rename_columns(list(names))
            raw = ParquetLayout.of(data.schema).batch(
                str(source), int(rows[0].as_py()) if len(rows) else 1, data, rows
            )
            raw.table = blank_nulls(raw.table, nulls)
            yield auditor.audit(raw)


def audit_blobs(
    batches: Iterator[pa.RecordBatch], today: dt.date | None
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for chunks read on the driver and shipped as Arrow IPC blobs."""
    auditor = _auditor(today)
    for batch in batches:
        for blob in batch.column("blob").to_pylist():
            yield auditor.audit(unpack(blob))


def pack(batch: RawBatch) -> bytes:
    """A RawBatch as bytes: its table in Arrow IPC, its metadata as JSON in the schema."""
    meta = {
        "source": batch.source,
        "first_row": batch.first_row,
        "bad": [b.__dict__ for b in batch.bad],
        "unknown": list(batch.unknown_columns),
    }
    table = batch.table
    if batch.rows is not None:
        table = table.append_column("__rows", batch.rows)
    if batch.errors is not None:
        table = table.append_column("__errors", batch.errors)
    table = table.replace_schema_metadata({"ngap": json.dumps(meta)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def unpack(blob: bytes) -> RawBatch:
    table = pa.ipc.open_stream(blob).read_all()
    meta = json.loads(table.schema.metadata[b"ngap"])
    rows = errors = None
    if "__rows" in table.column_names:
        rows = table.column("__rows").combine_chunks()
        table = table.drop_columns(["__rows"])
    if "__errors" in table.column_names:
        errors = table.column("__errors").combine_chunks()
        table = table.drop_columns(["__errors"])
    return RawBatch(
        meta["source"],
        meta["first_row"],
        table.replace_schema_metadata(None),
        rows,
        [BadRow(**b) for b in meta["bad"]],
        tuple(meta["unknown"]),
        errors,
    )


# ---------------------------------------------------------------------------------- run
def run_spark(settings: Settings, spark: Any = None) -> Outcome:
    """Audit with Spark; same output directory layout and files as the local engine."""
    from pyspark.sql import functions as F

    if settings.resume:
        raise InputError(
            "--resume is for the local engine; Spark retries failed tasks itself "
            "(rerun the Spark audit into a fresh --out)"
        )
    start = time.perf_counter()
    out = settings.out
    if (out / MANIFEST).exists():
        raise InputError(f"{out} already holds an audit ({MANIFEST}); choose another --out")
    for path in settings.inputs:
        if not path.exists():
            raise InputError(f"{path}: no such file")
    out.mkdir(parents=True, exist_ok=True)
    spark = spark or _session()
    today = settings.today
    schema = _spark_schema()
    frames = []
    blobs: list[bytes] = []
    for path in settings.inputs:
        if detect_format(path) == "parquet":
            df = spark.read.parquet(str(path.resolve()))
            names = tuple(df.columns)
            # The file's columns by position: whatever their names (``_row``, ``_source``,
            # ``_metadata``...), they cannot meet the two columns added here, and the record
            # number comes from Spark's own metadata column, never from a column of the file.
            df = df.select(
                *[df[i].alias(f"column_{i}") for i in range(len(names))],
                F.lit(str(path)).alias("_source"),
                (df.metadataColumn("_metadata").getField("row_index") + 1).alias("_row"),
            )
            task = functools.partial(audit_rows, today=today, names=names, nulls=settings.nulls)
            frames.append(df.mapInArrow(task, schema))
        else:
            blobs += [
                pack(b)
                for b in read(path, settings.chunk_rows, today=settings.today,
                              nulls=settings.nulls)
            ]
    if blobs:
        shipped = spark.createDataFrame(
            [(i, b) for i, b in enumerate(blobs)], "chunk int, blob binary"
        )
        shipped = shipped.repartition(
            max(1, min(len(blobs), spark.sparkContext.defaultParallelism))
        )
        frames.append(shipped.mapInArrow(lambda it: audit_blobs(it, today), schema))
    staging = out / "spark"
    if staging.exists():
        shutil.rmtree(staging)
    audited = None
    for frame in frames:
        audited = frame if audited is None else audited.unionByName(frame)
    outcome = Outcome()
    findings_table = None
    parts = out / "parts"
    parts.mkdir(exist_ok=True)
    if audited is not None:
        audited.write.parquet(str(staging / "encounters"))
        written = spark.read.parquet(str(staging / "encounters"))
        written.mapInArrow(_lines_task, from_arrow_schema(LINES_SCHEMA)).write.parquet(
            str(staging / "lines")
        )
        from ngap.audit.frequency import find_spark, typed_findings

        findings = find_spark(spark, spark.read.parquet(str(staging / "lines")))
        findings_table = typed_findings(findings.toArrow())
        counts = written.groupBy("status").count().collect()
        outcome.by_status = {r["status"]: int(r["count"]) for r in counts}
        # Same layout as the local engine: parts/encounters-*.parquet, parts/lines-*.parquet.
        for kind in ("encounters", "lines"):
            for i, file in enumerate(sorted((staging / kind).glob("*.parquet"))):
                file.replace(parts / f"{kind}-spark-{i:05d}.parquet")
        shutil.rmtree(staging)
    outcome.rows_out = sum(outcome.by_status.values())
    outcome.rows_in = outcome.rows_out
    manifest: dict[str, Any] = {
        "version": 1,
        "engine": "spark",
        "inputs": [{"path": str(p), "format": detect_format(p)} for p in settings.inputs],
        "format": settings.format,
        "rows_in": outcome.rows_in,
        "rows_out": outcome.rows_out,
    }
    finish(out, settings.format, findings_table, across=False)
    outcome.seconds = time.perf_counter() - start
    manifest["seconds"] = round(outcome.seconds, 3)
    manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_json(out / MANIFEST, manifest)
    if settings.report:
        from ngap.audit.report import build_report

        build_report(out)
    return outcome


def _lines_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from lines_of(batch).to_batches()
