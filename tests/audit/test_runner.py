"""The local engine end to end: rows in = rows out, atomic chunks, kill -9 and --resume."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ngap.audit.runner import Settings, run_audit
from ngap.audit.synthetic import generate
from ngap.io import InputError

EXAMPLES = Path(__file__).parents[2] / "examples" / "audit"
NGAP = [sys.executable, "-m", "ngap.cli"]


def _audit(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = subprocess.run(
        [*NGAP, "audit", *args], capture_output=True, text=True, check=False, **kwargs  # type: ignore[call-overload]
    )
    return result


def test_examples_every_row_out_in_each_format(tmp_path: Path) -> None:
    inputs = [EXAMPLES / n for n in ("encounters.csv", "encounters.jsonl", "encounters.parquet")]
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / fmt
        outcome = run_audit(Settings(inputs=inputs, out=out, format=fmt, chunk_rows=5))
        assert outcome.rows_in == outcome.rows_out
        exported = out / f"encounters.{fmt}"
        if fmt == "parquet":
            rows = pq.read_table(exported).to_pylist()
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            rows = pacsv.read_csv(exported).to_pylist()
        else:
            rows = [json.loads(line) for line in exported.read_text().splitlines()]
        # 26 CSV rows + 6 JSONL records + 25 typed Parquet rows (2024-09-31 cannot be typed)
        assert len(rows) == 26 + 6 + 25 == outcome.rows_out
        assert (out / "report.html").exists() and (out / "summary.json").exists()
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["rows_in"] == manifest["rows_out"] == len(rows)


def test_an_audit_directory_is_never_overwritten(tmp_path: Path) -> None:
    inputs = [EXAMPLES / "encounters.csv"]
    run_audit(Settings(inputs=inputs, out=tmp_path, report=False))
    with pytest.raises(InputError, match="already holds an audit"):
        run_audit(Settings(inputs=inputs, out=tmp_path, report=False))
    with pytest.raises(InputError, match="cannot resume, --chunk-rows changed"):
        run_audit(Settings(inputs=inputs, out=tmp_path, resume=True, chunk_rows=3, report=False))


def test_a_resume_reads_the_cells_as_the_interrupted_run(tmp_path: Path) -> None:
    """--null and --today decide how a chunk's cells read: a resume that changes them would
    leave chunks read two ways, so it is refused, naming what changed."""
    inputs = [EXAMPLES / "encounters.csv"]
    day = dt.date(2026, 11, 30)
    run_audit(Settings(inputs=inputs, out=tmp_path, nulls=("NA",), today=day, report=False))
    with pytest.raises(InputError, match="cannot resume, --null changed"):
        run_audit(Settings(inputs=inputs, out=tmp_path, resume=True, today=day, report=False))
    with pytest.raises(InputError, match="cannot resume, --today changed"):
        run_audit(Settings(inputs=inputs, out=tmp_path, resume=True, nulls=("NA",), report=False))
    resumed = run_audit(
        Settings(inputs=inputs, out=tmp_path, resume=True, nulls=("NA",), today=day, report=False)
    )
    assert resumed.rows_out == 26


def test_two_workers_give_the_same_rows(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(generate(3000, seed=3), source)
    one = run_audit(Settings(inputs=[source], out=tmp_path / "a", chunk_rows=500, report=False))
    two = run_audit(
        Settings(inputs=[source], out=tmp_path / "b", chunk_rows=500, workers=2, report=False)
    )
    assert one.by_status == two.by_status
    a = pq.read_table(tmp_path / "a" / "encounters.parquet").sort_by("row")
    b = pq.read_table(tmp_path / "b" / "encounters.parquet").sort_by("row")
    assert a.equals(b)


def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rows = 12_000
    source = tmp_path / "in.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(generate(rows, seed=11), source)
    out = tmp_path / "out"
    args = [str(source), "--out", str(out), "--chunk-rows", "400", "--quiet", "--today",
            "2026-01-01"]
    process = subprocess.Popen([*NGAP, "audit", *args], start_new_session=True)
    manifest = out / "manifest.json"
    deadline = time.time() + 300
    finished = 0
    while time.time() < deadline and process.poll() is None:
        if manifest.exists():
            try:
                finished = len(json.loads(manifest.read_text())["chunks"])
            except (json.JSONDecodeError, KeyError):
                finished = 0  # never: the manifest is replaced atomically
            if finished >= 3:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "encounters.parquet").exists()
    resumed = _audit([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    kept = json.loads(manifest.read_text())["resumes"][0]["kept_chunks"]
    assert kept >= 3  # the chunks finished before the kill were not audited again
    table = pq.read_table(out / "encounters.parquet")
    ids = table.column("id").to_pylist()
    assert len(ids) == rows and len(set(ids)) == rows
    assert sorted(table.column("row").to_pylist()) == list(range(1, rows + 1))
    # The same answers as a run that was never interrupted.
    clean = tmp_path / "clean"
    result = _audit([str(source), "--out", str(clean), "--chunk-rows", "400", "--quiet",
                     "--today", "2026-01-01"])
    assert result.returncode == 0, result.stderr
    want = pq.read_table(clean / "encounters.parquet")
    assert table.sort_by("row").equals(want.sort_by("row"))
    no_tmp = [p for p in (out / "parts").iterdir() if p.name.startswith(".")]
    assert not no_tmp or all(p.suffix == ".tmp" for p in no_tmp)


def test_missing_required_column_makes_every_row_bad_but_kept(tmp_path: Path) -> None:
    source = tmp_path / "no_claim.csv"
    source.write_text("id,date,place,done\na,2024-03-05,office,consultation\n", encoding="utf-8")
    run_audit(Settings(inputs=[source], out=tmp_path / "o", report=False))
    row = pq.read_table(tmp_path / "o" / "encounters.parquet").to_pylist()[0]
    assert row["status"] == "bad_input"
    assert row["reason"] == "claimed: column missing from the file"


def test_empty_file_gives_an_empty_audit(tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("", encoding="utf-8")
    outcome = run_audit(Settings(inputs=[source], out=tmp_path / "o"))
    assert outcome.rows_out == 0
    assert pq.read_table(tmp_path / "o" / "encounters.parquet").num_rows == 0
    assert isinstance(pq.read_table(tmp_path / "o" / "encounters.parquet"), pa.Table)


def test_encounters_billed_in_excess_name_the_rule_across_encounters(tmp_path: Path) -> None:
    run_audit(Settings(inputs=[EXAMPLES / "encounters.csv"], out=tmp_path, report=False))
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "encounters.parquet").to_pylist()}
    # Two long visits (VL) of one patient in the third quarter of 2024: the second is in excess.
    assert rows["E009"]["across_rules"] is not None
    assert "freq_vl_quarter" in rows["E009"]["across_rules"]  # list<string> in Parquet
    assert rows["E008"]["across_rules"] is None
    findings = pq.read_table(tmp_path / "findings.parquet").to_pylist()
    vl = [f for f in findings if f["rule"] == "freq_vl_quarter"]
    assert len(vl) == 1 and vl[0]["excess_ids"] == ["E009"] and vl[0]["excess_cents"] > 0


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_findings_id_lists_are_typed_in_parquet_and_joined_in_flat_files(
    tmp_path: Path, fmt: str
) -> None:
    """findings.parquet holds the codes and ids as list<string> (an id holding ``;`` stays one
    id, and names its encounter in ``across_rules``); findings.csv / .jsonl join them by ``;``,
    as encounters.csv / .jsonl join their lists."""
    header = EXAMPLES.joinpath("encounters.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [
        '"V;1",P07,D2,2024-07-02,15:00,,home,,88,f,true,true,false,false,true,12,long_visit,'
        "VL;IK,false",
        '"V;2",P07,D2,2024-08-20,15:00,,home,,88,f,true,true,false,false,true,12,long_visit,'
        "VL;IK,false",
    ]
    source = tmp_path / "vl.csv"
    source.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    run_audit(Settings(inputs=[source], out=out, format=fmt, report=True))
    typed = pq.read_table(out / "findings.parquet")
    assert typed.schema.field("excess_ids").type == pa.list_(pa.string())
    (vl,) = [f for f in typed.to_pylist() if f["rule"] == "freq_vl_quarter"]
    assert (vl["code"], vl["encounter_ids"], vl["excess_ids"]) == (["VL"], ["V;1", "V;2"], ["V;2"])
    encounters = pq.read_table(out / f"encounters.{fmt}") if fmt == "parquet" else None
    if encounters is not None:
        across = {r["id"]: r["across_rules"] for r in encounters.to_pylist()}
        assert across == {"V;1": None, "V;2": ["freq_vl_quarter"]}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (first,) = [f for f in summary["findings"]["first"] if f["rule"] == "freq_vl_quarter"]
    assert (first["encounter_ids"], first["excess_ids"]) == ("V;1;V;2", "V;2")
    if fmt == "csv":
        import csv

        with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
            flat = [r for r in csv.DictReader(handle) if r["rule"] == "freq_vl_quarter"]
        assert [(r["code"], r["encounter_ids"], r["excess_ids"]) for r in flat] == [
            ("VL", "V;1;V;2", "V;2")
        ]
        with (out / "encounters.csv").open(encoding="utf-8", newline="") as handle:
            across = {r["id"]: r["across_rules"] for r in csv.DictReader(handle)}
        assert across == {"V;1": "", "V;2": "freq_vl_quarter"}
    if fmt == "jsonl":
        lines = (out / "findings.jsonl").read_text(encoding="utf-8").splitlines()
        flat = [r for r in map(json.loads, lines) if r["rule"] == "freq_vl_quarter"]
        assert [(r["code"], r["encounter_ids"], r["excess_ids"]) for r in flat] == [
            ("VL", "V;1;V;2", "V;2")
        ]
