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


SNDS_LINES = (
    "BEN_NIR_PSA;BEN_RNG_GEM;BEN_NAI_ANN;BEN_AMA_COD;PFS_EXE_NUM;PSE_SPE_COD;PSE_CNV_COD;"
    "EXE_SOI_DTD;EXE_LIE_COD;PRS_NAT_REF;PRS_ACT_QTE;PRS_OPS_TRF\n"
    "P1;NA;1958;;100;1;1;2023-03-14;0;1110;1;1\n"
    "P2;1;1958;;100;1;1;2023-03-14;0;1110;1;1\n"
)


def _rows(out: Path) -> dict[tuple[str, int], dict[str, object]]:
    table = pq.read_table(out / "encounters.parquet")
    return {(Path(str(r["source"])).name, int(r["row"])): r for r in table.to_pylist()}


@pytest.fixture(scope="module")
def hostile(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """One Spark audit (and the local ones to compare with) of a Parquet table whose columns
    are named like internal ones and which holds ``NA`` cells, and of an SNDS extract with a
    key part ``NA``, with ``--null NA``."""
    import datetime as dt

    import pyarrow as pa

    from ngap.audit.spark_engine import run_spark

    base = tmp_path_factory.mktemp("hostile")
    table = base / "internal.parquet"
    pq.write_table(
        pa.table({
            "id": ["E1", "E2"],
            "date": ["2024-03-05", "2024-03-05"],
            "place": ["office", "NA"],
            "claimed": [["G", "G"], ["G"]],
            # The file's own columns: never line numbers, a source or a record number.
            "_lines": ["7", "8"],
            "_source_lines": ["9", "10"],
            "_row": [40, 41],
            "_source": ["elsewhere.csv", "elsewhere.csv"],
            "_metadata": ["x", "y"],
        }),
        table,
    )
    snds = base / "snds.csv"
    snds.write_text(SNDS_LINES, encoding="utf-8")
    today = dt.date(2026, 11, 26)
    outs = {"spark": base / "spark", "local": base / "local", "plain": base / "plain"}
    for name, nulls in (("local", ("NA",)), ("plain", ())):
        run_audit(Settings(inputs=[table, snds], out=outs[name], today=today, nulls=nulls,
                           report=False))
    run_spark(Settings(inputs=[table, snds], out=outs["spark"], today=today, nulls=("NA",),
                       report=False), spark)
    return outs


def test_spark_reads_columns_named_like_internal_ones_as_the_local_engine(
    hostile: dict[str, Path],
) -> None:
    """A Parquet column ``_lines`` made Spark take the rows for SNDS day groups (two G then
    possibly two sessions: conditional, not a repeated line); ``_row`` / ``_source`` clashed
    with the columns Spark adds, ``_metadata`` with the one it reads the record number from.
    The verdicts are now the local engine's."""
    spark, local = _rows(hostile["spark"]), _rows(hostile["local"])
    e1 = spark[("internal.parquet", 1)]
    assert (e1["id"], e1["status"], e1["rules"]) == ("E1", "violation", ["repeated_line"])
    assert e1["source_lines"] is None  # not the file's own _lines or _source_lines
    assert spark[("internal.parquet", 1)] == local[("internal.parquet", 1)]


def test_spark_applies_null_sentinels_to_parquet_and_snds_input(
    hostile: dict[str, Path],
) -> None:
    """``--null NA`` on the Spark engine: a place ``NA`` in Parquet is unknown (not bad input),
    an SNDS key part ``NA`` leaves its line without an encounter; as the local engine does."""
    spark, local, plain = (_rows(hostile[k]) for k in ("spark", "local", "plain"))
    assert plain[("internal.parquet", 2)]["status"] == "bad_input"
    assert plain[("snds.csv", 2)]["status"] == "valid"
    assert spark[("internal.parquet", 2)]["status"] != "bad_input"
    assert spark[("snds.csv", 2)]["status"] == "bad_input"
    assert spark == local
    fa = pq.read_table(hostile["local"] / "findings.parquet")
    fb = pq.read_table(hostile["spark"] / "findings.parquet")
    assert fa.to_pylist() == fb.to_pylist()
