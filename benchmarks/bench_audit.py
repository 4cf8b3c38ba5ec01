"""Batch audit benchmark: prints figures and ratios, ends with one JSON line (never a test).

    python benchmarks/bench_audit.py                 # 1 000 000 encounters
    python benchmarks/bench_audit.py --rows 200000 --no-spark
    python benchmarks/bench_audit.py --rss-rows 10000000   # also peak RSS over 10 M rows

The input is ``ngap.audit.synthetic``'s documented mix (plain G, children, visits with km,
nights, ECG, teleconsultations, claims with unknown time and urgency, 8 % seeded errors of
each kind), written as Parquet.  Figures, each on the same file:

* ``uncached_per_s``: every encounter solved on its own (memo off, one row per chunk), sample;
* ``memoised_per_s``: ``ngap audit`` on one core, end to end (read, audit, write the parts,
  rules across encounters, export), memo starting empty;
* ``memoised_warm_per_s``: read + audit on one core once the memo holds the mix's situations,
  the steady state of a long run;
* ``memoised_kept_cache_per_s``: ``ngap audit`` on one core end to end again, with the situation
  cache of the first run (``--cache``: a repeated audit of the same kind of data);
* ``workers2_per_s``: ``ngap audit --workers 2`` end to end, fresh situation cache;
* ``spark_local2_per_s``: ``--engine spark`` in ``local[2]`` end to end (JVM start included);
* ``peak_rss_mb``: this process and its children; ``rss_10m_mb`` with ``--rss-rows``.

Target on a 2-core machine: memoised >= 200 000 enc/s on one core, peak RSS < 500 MB at 10 M.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from ngap.audit.batches import RawBatch
from ngap.audit.core import Auditor
from ngap.audit.readers import DEFAULT_CHUNK, read
from ngap.audit.runner import Settings, run_audit
from ngap.audit.synthetic import today, write


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def uncached(path: Path, sample: int) -> float:
    auditor = Auditor(memo_size=0, today=today())
    table = next(read(path, sample)).table.slice(0, sample)
    start = time.perf_counter()
    for i in range(table.num_rows):
        auditor.audit(RawBatch("bench", i + 1, table.slice(i, 1)))
    return table.num_rows / (time.perf_counter() - start)


def warm(path: Path, rows: int) -> tuple[float, int]:
    auditor = Auditor(today=today())
    for batch in read(path, DEFAULT_CHUNK):  # fill the memo with the mix's situations
        auditor.audit(batch)
    start = time.perf_counter()
    seen = 0
    for batch in read(path, DEFAULT_CHUNK):
        seen += auditor.audit(batch).num_rows
    return seen / (time.perf_counter() - start), len(auditor.memo)


def end_to_end(path: Path, out: Path, rows: int, **kwargs: object) -> float:
    start = time.perf_counter()
    outcome = run_audit(Settings(inputs=[path], out=out, today=today(), report=False, **kwargs))  # type: ignore[arg-type]
    assert outcome.rows_out == rows, (outcome.rows_out, rows)
    return rows / (time.perf_counter() - start)


def spark(path: Path, out: Path, rows: int) -> float:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from ngap.audit.spark_engine import run_spark

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter()
    outcome = run_spark(Settings(inputs=[path], out=out, today=today(), report=False), session)
    elapsed = time.perf_counter() - start
    session.stop()
    assert outcome.rows_out == rows, (outcome.rows_out, rows)
    return rows / elapsed


def rss_at(rows: int, work: Path) -> float:
    """Peak RSS of a separate ``ngap audit`` process over ``rows`` encounters (one core, end to
    end: audit, rules across encounters, export).

    Read from the child's own ``VmHWM``: ``ru_maxrss`` survives ``exec`` on Linux, so a child
    forked from this (large) process would report our memory instead of its own.
    """
    path = write(work / f"rss_{rows}.parquet", rows)
    code = (
        "from pathlib import Path;"
        "from ngap.audit.runner import Settings, run_audit;"
        "from ngap.audit.synthetic import today;"
        f"run_audit(Settings(inputs=[Path({str(path)!r})], out=Path({str(work / 'rss_out')!r}),"
        " today=today(), report=False));"
        "print(next(int(l.split()[1]) for l in open('/proc/self/status')"
        " if l.startswith('VmHWM')) / 1024)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="rows for the uncached rate")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--rss-rows", type=int, default=0, help="also measure RSS at this size")
    args = parser.parse_args()
    figures: dict[str, float | int] = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        path = write(work / "mix.parquet", args.rows)
        print(f"generated {args.rows} encounters in {time.perf_counter() - start:.1f} s")
        figures["uncached_per_s"] = round(uncached(path, args.sample), 1)
        print(f"uncached, one core:          {figures['uncached_per_s']:>10,.0f} enc/s")
        kept = work / "kept.sqlite"
        figures["memoised_per_s"] = round(
            end_to_end(path, work / "one", args.rows, cache=kept), 1
        )
        print(f"memoised, one core:          {figures['memoised_per_s']:>10,.0f} enc/s")
        figures["memoised_kept_cache_per_s"] = round(
            end_to_end(path, work / "again", args.rows, cache=kept), 1
        )
        print(
            f"same, situation cache kept:  {figures['memoised_kept_cache_per_s']:>10,.0f} enc/s"
        )
        rate, situations = warm(path, args.rows)
        figures["memoised_warm_per_s"] = round(rate, 1)
        figures["distinct_situations"] = situations
        print(f"memoised warm, one core:     {rate:>10,.0f} enc/s ({situations} situations)")
        figures["workers2_per_s"] = round(
            end_to_end(path, work / "two", args.rows, workers=2), 1
        )
        print(f"two workers:                 {figures['workers2_per_s']:>10,.0f} enc/s")
        if not args.no_spark:
            figures["spark_local2_per_s"] = round(spark(path, work / "spark", args.rows), 1)
            print(f"spark local[2]:              {figures['spark_local2_per_s']:>10,.0f} enc/s")
        figures["peak_rss_mb"] = round(
            max(_rss_mb(resource.RUSAGE_SELF), _rss_mb(resource.RUSAGE_CHILDREN)), 1
        )
        print(f"peak RSS:                    {figures['peak_rss_mb']:>10,.0f} MB")
        if args.rss_rows:
            figures["rss_rows"] = args.rss_rows
            figures["rss_at_rows_mb"] = round(rss_at(args.rss_rows, work), 1)
            print(f"peak RSS at {args.rss_rows:,} rows: {figures['rss_at_rows_mb']:,.0f} MB")
    memo = figures["memoised_per_s"]
    figures["memoised_vs_uncached"] = round(float(memo) / float(figures["uncached_per_s"]), 1)
    figures["target_200k_met_end_to_end"] = int(float(memo) >= 200_000)
    figures["target_200k_met_warm"] = int(float(figures["memoised_warm_per_s"]) >= 200_000)
    figures["target_200k_met_kept_cache"] = int(
        float(figures["memoised_kept_cache_per_s"]) >= 200_000
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    pa.set_cpu_count(1)  # one core means one core
    main()
