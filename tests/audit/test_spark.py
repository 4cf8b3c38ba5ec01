"""The Spark engine (local[2]) gives exactly the rows and findings of the local engine."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ngap.audit.runner import Settings, run_audit

EXAMPLES = Path(__file__).parents[2] / "examples" / "audit"
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    pyspark = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        pyspark.SparkSession.builder.master("local[2]")
        .appName("ngap-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_equals_local_on_the_shipped_examples(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ngap.audit.spark_engine import run_spark

    inputs = [EXAMPLES / n for n in ("encounters.parquet", "encounters.csv", "encounters.jsonl")]
    if (EXAMPLES / "dcir_sample.csv").exists():
        inputs.append(EXAMPLES / "dcir_sample.csv")
    local = run_audit(Settings(inputs=inputs, out=tmp_path / "local", chunk_rows=8))
    distributed = run_spark(Settings(inputs=inputs, out=tmp_path / "spark", chunk_rows=8), spark)
    assert distributed.by_status == local.by_status
    keys = [("source", "ascending"), ("row", "ascending"), ("id", "ascending")]
    a = pq.read_table(tmp_path / "local" / "encounters.parquet").sort_by(keys)
    b = pq.read_table(tmp_path / "spark" / "encounters.parquet").sort_by(keys)
    assert a.num_rows == b.num_rows > 0
    assert a.to_pylist() == b.to_pylist()
    fa = pq.read_table(tmp_path / "local" / "findings.parquet")
    fb = pq.read_table(tmp_path / "spark" / "findings.parquet")
    assert fa.to_pylist() == fb.to_pylist()
    assert (tmp_path / "spark" / "report.html").exists()
