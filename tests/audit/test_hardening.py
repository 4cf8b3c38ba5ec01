"""Hostile input and faults: the audit never crashes, never hides a row or a euro.

Bad input becomes a ``bad_input`` row naming the file, line and column (or exit 2 naming the
file for a whole-file problem); an environment fault is exit 3 with one line, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ngap.audit.runner import Settings, run_audit
from ngap.cli import app
from ngap.model.encounter import Encounter
from ngap.solver.engine import Nomenclature

TODAY = "2026-11-26"
runner = CliRunner()
G_2025 = 3000
"""G from 22 Dec 2024: 30.00 € (convention médicale 2024, ameli 28 Nov 2024)."""
G_2023 = 2500
"""G from 1 May 2017 to 21 Dec 2024: 25.00 € (C 23 € + MMG 3.50 € counted as G 25 €)."""


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "encounters.jsonl").read_text().splitlines()]


def _audit(tmp_path: Path, *inputs: Path, **settings: Any) -> list[dict[str, Any]]:
    import datetime as dt

    out = tmp_path / "out"
    run_audit(
        Settings(
            inputs=list(inputs), out=out, format="jsonl", report=False,
            today=dt.date.fromisoformat(TODAY), **settings,
        )
    )
    return _rows(out)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ 1. repeated claimed codes
def test_check_counts_and_judges_a_repeated_code(nomenclature: Nomenclature) -> None:
    encounter = Encounter.model_validate(
        {"date": "2025-03-05", "place": "office", "patient": {"birth_date": "1980-01-01"},
         "practitioner": {"sector": "1"}, "done": ["consultation"]}
    )
    once = nomenclature.check(encounter, ["G"])
    twice = nomenclature.check(encounter, ["G", "G"])
    assert once.claimed.total_cents == G_2025
    assert twice.claimed.total_cents == 2 * G_2025
    assert twice.status == "violation"
    assert [v.rule for v in twice.violations] == ["repeated_line"]
    assert "11 B" in twice.violations[0].article
    assert once.difference_cents is not None
    assert twice.difference_cents == once.difference_cents + G_2025


def test_cli_check_and_the_audit_agree_on_a_repeated_code(tmp_path: Path) -> None:
    encounter = _write(
        tmp_path / "e.yaml",
        "date: 2025-03-05\nplace: office\npatient: {birth_date: 1980-01-01}\n"
        "practitioner: {sector: '1'}\ndone: [consultation]\n",
    )
    result = runner.invoke(app, ["check", str(encounter), "--claimed", "G,G", "--json"])
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["status"] == "violation"
    assert answer["claimed"]["total_cents"] == 2 * G_2025
    table = _write(
        tmp_path / "t.csv",
        "id,date,place,patient_birth_date,practitioner_sector,done,claimed\n"
        "A1,2025-03-05,office,1980-01-01,1,consultation,G;G;G;G\n",
    )
    jsonl = _write(
        tmp_path / "t.jsonl",
        '{"id": "J1", "date": "2025-03-05", "place": "office", "patient_birth_date": '
        '"1980-01-01", "practitioner_sector": "1", "done": ["consultation"], '
        '"claimed": ["G", "G", "G"]}\n',
    )
    rows = {r["id"]: r for r in _audit(tmp_path, table, jsonl)}
    assert rows["A1"]["status"] == rows["J1"]["status"] == "violation"
    assert rows["A1"]["rules"] == rows["J1"]["rules"] == "repeated_line"
    assert rows["A1"]["claimed"] == "G;G;G;G"
    assert rows["A1"]["claimed_cents"] == 4 * G_2025
    assert rows["J1"]["claimed_cents"] == 3 * G_2025
    assert rows["A1"]["lines"] == "G:valid;G:invalid;G:invalid;G:invalid"
    assert rows["A1"]["difference_cents"] == 4 * G_2025 - rows["A1"]["optimal_cents"]


def test_two_paid_g_of_one_snds_day_are_two_lines_valid_only_if_two_sessions(
    tmp_path: Path,
) -> None:
    lines = _write(
        tmp_path / "d.csv",
        "BEN_NIR_PSA;BEN_RNG_GEM;BEN_NAI_ANN;PFS_EXE_NUM;PSE_SPE_COD;PSE_CNV_COD;EXE_SOI_DTD;"
        "EXE_LIE_COD;PRS_NAT_REF;PRS_ACT_QTE;PRS_OPS_TRF\n"
        "P1;1;1958;100;1;1;2023-03-14;0;1110;1;1\n"
        "P1;1;1958;100;1;1;2023-03-14;0;1110;1;1\n",
    )
    (row,) = _audit(tmp_path, lines)
    assert row["claimed"] == "G;G"
    assert row["claimed_cents"] == 2 * G_2023
    assert row["status"] == "conditional"
    assert "sessions=separate" in row["conditions"]
    assert row["lines"].split(";")[1] == "G:conditional:sessions=separate"
    assert "sessions=separate" in row["optimum_assumes"]
    assert row["source_lines"] == "2;3"


# ------------------------------------------------------------------ 5. crashes -> exit 2 / 3
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngap", "audit", *args, "--quiet", "--today", TODAY],
        capture_output=True, text=True, check=False, env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    text = " ".join(result.stderr.split())
    assert text.startswith("error:"), text
    for word in words:
        assert word in text, text


def test_whole_file_problems_exit_2_naming_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("id,date,claimed\nA,2025-03-05,G\n".encode("utf-16"))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": ["A"], "date": ["2025-03-05"], "claimed": ["G"]}), good)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = [(utf16, "UTF-16"), (folder, "directory"), (empty, "Parquet"),
             (truncated, "Parquet")]
    for path, word in cases:
        _one_line_error(_cli(str(path), "--out", str(tmp_path / f"o-{path.name}")), 2,
                        path.name, word)


def test_out_that_is_a_file_or_a_dangling_link_exits_2(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.csv", "id,date,claimed\nA,2025-03-05,G\n")
    afile = _write(tmp_path / "afile", "x")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    _one_line_error(_cli(str(table), "--out", str(afile)), 2, "afile", "not a directory")
    _one_line_error(_cli(str(table), "--out", str(link)), 2, "link", "symbolic link")


def test_hostile_cells_and_records_are_bad_input_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = "9" * 5000
    jsonl = _write(
        tmp_path / "h.jsonl",
        f'{{"id": "J1", "date": "2025-03-05", "claimed": ["G"], "patient_age_years": {big}}}\n'
        + '{"id": "J2", "x": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
        + '{"id": "J3", "date": "2025-03-05", "claimed": {"x": "G"}}\n'
        + '{"id": "J4", "date": ["2025-03-05"], "claimed": ["G"]}\n'
        + '{"id": "J5", "date": "2025-03-05", "date": "2025-03-06", "claimed": ["G"]}\n'
        + '{"id": "J6", "date": "2025-03-05", "claimed": ["G"], "travel_km": 1e400}\n'
        + '{"id": "J7", "date": "2025-03-05", "claimed": [["G"]]}\n',
    )
    csv = _write(
        tmp_path / "h.csv",
        "id,date,claimed,travel_km\nC1,2025-03-05,G,NaN\nC2,2025-03-05,G,Infinity\n"
        "C3,2025-03-05,G,1e400\n",
    )
    nested = tmp_path / "nested.parquet"
    pq.write_table(
        pa.table({"id": ["P1"], "date": ["2025-03-05"],
                  "claimed": pa.array([[["G"]]], pa.list_(pa.list_(pa.string())))}),
        nested,
    )
    mapped = tmp_path / "mapped.parquet"
    pq.write_table(
        pa.table({"id": ["M1"], "date": ["2025-03-05"],
                  "done": pa.array([[("a", "b")]], pa.map_(pa.string(), pa.string())),
                  "claimed": ["G"]}),
        mapped,
    )
    rows = _audit(tmp_path, jsonl, csv, nested, mapped)
    assert len(rows) == 7 + 3 + 1 + 1
    assert {r["status"] for r in rows} == {"bad_input"}
    reasons = {(Path(r["source"]).name, r["row"]): r["reason"] for r in rows}
    assert "4300" in reasons[("h.jsonl", 1)] and "line 1" in reasons[("h.jsonl", 1)]
    assert "line 2" in reasons[("h.jsonl", 2)]
    assert "claimed" in reasons[("h.jsonl", 3)]
    assert "date: a list" in reasons[("h.jsonl", 4)]
    assert "'date' appears twice" in reasons[("h.jsonl", 5)]
    assert "travel_km" in reasons[("h.jsonl", 6)]
    assert "claimed: a list of texts" in reasons[("h.jsonl", 7)]
    for row in (1, 2, 3):
        assert "travel_km" in reasons[("h.csv", row)] and "not a number" in reasons[("h.csv", row)]
    assert "claimed: a column of type list<" in reasons[("nested.parquet", 1)]
    assert "done: a column of type map<" in reasons[("mapped.parquet", 1)]


# ------------------------------------------------------------------ 6. input hygiene
def test_null_sentinels_are_text_unless_declared(tmp_path: Path) -> None:
    table = _write(
        tmp_path / "t.csv",
        "id,date,place,patient_birth_date,done,claimed,travel_km\n"
        "NA,2025-03-05,office,1980-01-01,consultation,G,nan\n"
        "N2,2025-03-05,NULL,1980-01-01,consultation,G,\n",
    )
    rows = {r["row"]: r for r in _audit(tmp_path, table)}
    assert rows[1]["id"] == "NA"
    assert rows[1]["status"] == "bad_input" and "travel_km: 'nan'" in rows[1]["reason"]
    assert rows[2]["status"] == "bad_input" and "place: 'NULL'" in rows[2]["reason"]
    declared = {r["row"]: r for r in _audit(tmp_path / "b", table, nulls=("NULL", "nan"))}
    assert declared[1]["id"] == "NA" and declared[1]["status"] != "bad_input"
    assert declared[2]["status"] != "bad_input"


def test_a_bom_on_line_1_is_accepted(tmp_path: Path) -> None:
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"id": "B1", "date": "2025-03-05", "claimed": ["G"]}\n')
    csv = tmp_path / "b.csv"
    csv.write_bytes(b"\xef\xbb\xbfid,date,claimed\nB2,2025-03-05,G\n")
    rows = _audit(tmp_path, jsonl, csv)
    assert [r["id"] for r in rows] == ["B1", "B2"]
    assert all(r["status"] != "bad_input" for r in rows)


def test_a_jsonl_line_over_the_size_limit_is_one_bad_row(tmp_path: Path) -> None:
    from ngap.audit.readers import MAX_LINE_BYTES

    jsonl = tmp_path / "long.jsonl"
    jsonl.write_text(
        '{"id": "L1", "date": "2025-03-05", "claimed": ["G"], "notes": "'
        + "x" * (MAX_LINE_BYTES + 10) + '"}\n{"id": "L2", "date": "2025-03-05", "claimed": ["G"]}\n'
    )
    rows = {r["row"]: r for r in _audit(tmp_path, jsonl)}
    assert rows[1]["status"] == "bad_input" and "longer than" in rows[1]["reason"]
    assert rows[2]["id"] == "L2" and rows[2]["status"] != "bad_input"


SNDS_HEADER = (
    "BEN_NIR_PSA;BEN_RNG_GEM;BEN_NAI_ANN;BEN_AMA_COD;PFS_EXE_NUM;PSE_SPE_COD;PSE_CNV_COD;"
    "EXE_SOI_DTD;EXE_LIE_COD;PRS_NAT_REF;PRS_ACT_QTE;PRS_OPS_TRF\n"
)


def test_an_snds_line_with_an_extra_field_is_one_bad_line(tmp_path: Path) -> None:
    lines = _write(
        tmp_path / "d.csv",
        SNDS_HEADER
        + "P1;1;1958;;100;1;1;2023-03-14;0;1110;1;1\n"
        + "P2;1;1958;;100;1;1;2023-03-14;0;1110;1;1;EXTRA\n"
        + "P3;1;1958;;100;1;1;2023-03-14;0;1110;1;1\n",
    )
    rows = {r["row"]: r for r in _audit(tmp_path, lines)}
    assert sorted(rows) == [2, 3, 4]
    assert rows[3]["status"] == "bad_input" and "more fields than the header" in rows[3]["reason"]
    assert rows[2]["status"] == rows[4]["status"] == "valid"


def test_snds_null_sentinels_are_text_unless_declared(tmp_path: Path) -> None:
    """``--null NA`` on an SNDS extract: a key part ``NA`` leaves its line without an encounter
    (bad input) and an age code ``NA`` is no age to note; undeclared, both are text."""
    lines = _write(
        tmp_path / "d.csv",
        SNDS_HEADER
        + "P1;NA;1958;;100;1;1;2023-03-14;0;1110;1;1\n"
        + "P2;1;1958; NA ;100;1;1;2023-03-14;0;1110;1;1\n",
    )
    plain = {r["row"]: r for r in _audit(tmp_path, lines)}
    assert plain[2]["status"] == "valid" and plain[2]["patient_id"] == "P1|NA"
    assert "BEN_AMA_COD 'NA'" in plain[3]["notes"]
    declared = {r["row"]: r for r in _audit(tmp_path / "b", lines, nulls=("NA",))}
    assert declared[2]["status"] == "bad_input"
    assert declared[2]["reason"] == "BEN_RNG_GEM empty: the line belongs to no encounter"
    assert declared[3]["status"] == "valid" and declared[3]["notes"] is None


def test_snds_age_in_months_decides_a_child_exam(tmp_path: Path) -> None:
    lines = _write(
        tmp_path / "d.csv",
        SNDS_HEADER
        + "P1;1;2024;1008;100;1;1;2025-03-14;0;1104;1;1\n"
        + "P2;1;2024;;100;1;1;2025-03-14;0;1104;1;1\n",
    )
    rows = {r["patient_id"]: r for r in _audit(tmp_path, lines)}
    assert rows["P1|1"]["status"] == "valid"  # COE at 8 months (BEN_AMA_COD 1008)
    assert rows["P2|1"]["status"] == "conditional"  # birth year only: the age stays open
    # The condition names the age, or the child-exam window the age decides.
    assert any(k in rows["P2|1"]["conditions"] for k in ("age=", "exam_window="))


# ------------------------------------------------------------------ 3. exact names, no globs
EXAMPLES = Path(__file__).parents[2] / "examples" / "audit"


def test_an_output_directory_named_like_a_pattern_keeps_its_findings(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    plain = tmp_path / "plain"
    bracket = tmp_path / "out[1]"
    for out in (plain, bracket):
        run_audit(Settings(inputs=[EXAMPLES / "encounters.csv"], out=out, report=True))
    found = pq.read_table(bracket / "findings.parquet").num_rows
    assert found == pq.read_table(plain / "findings.parquet").num_rows > 0
    summary = json.loads((bracket / "summary.json").read_text())
    assert summary["rows"] == 26 and summary["findings"]["rows"] == found


def test_a_stray_part_not_in_the_manifest_is_not_read(tmp_path: Path) -> None:
    import shutil

    import pyarrow.parquet as pq

    out = tmp_path / "o"
    run_audit(Settings(inputs=[EXAMPLES / "encounters.csv"], out=out, report=False))
    part = out / "parts" / "encounters-000-000000.parquet"
    shutil.copy(part, out / "parts" / "encounters-000-000099.parquet")
    from ngap.audit.runner import finish

    finish(out, "parquet", chunks=["000-000000"])
    assert pq.read_table(out / "encounters.parquet").num_rows == 26


# ------------------------------------------------------------------ 4. resume, lock, workers
def _interrupted(out: Path) -> dict[str, Any]:
    """Make a finished audit look interrupted (as after kill -9 before the end)."""
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    manifest.pop("finished")
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "encounters.parquet").unlink()
    return manifest


def test_resume_recomputes_a_missing_or_altered_part(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    source = EXAMPLES / "encounters.csv"
    out = tmp_path / "o"
    run_audit(Settings(inputs=[source], out=out, chunk_rows=5, report=False))
    want = pq.read_table(out / "encounters.parquet")
    manifest = _interrupted(out)
    assert len(manifest["chunks"]) == 6
    entry = manifest["chunks"]["000-000001"]["files"]["encounters-000-000001.parquet"]
    assert set(entry) == {"size", "sha256"}
    (out / "parts" / "lines-000-000002.parquet").unlink()
    altered = out / "parts" / "encounters-000-000003.parquet"
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    outcome = run_audit(Settings(inputs=[source], out=out, chunk_rows=5, report=False,
                                 resume=True))
    assert outcome.resumed_chunks == 4
    assert any("lines-000-000002.parquet missing" in w for w in outcome.warnings)
    assert any("encounters-000-000003.parquet altered" in w for w in outcome.warnings)
    assert pq.read_table(out / "encounters.parquet").equals(want)


def test_a_corrupted_manifest_is_named_and_refused(tmp_path: Path) -> None:
    from ngap.io import InputError

    source = EXAMPLES / "encounters.csv"
    out = tmp_path / "o"
    run_audit(Settings(inputs=[source], out=out, chunk_rows=10, report=False))
    good = json.loads((out / "manifest.json").read_text())
    cases: list[tuple[str, str]] = [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**good, "version": 1}), "version 1"),
        (json.dumps({k: v for k, v in good.items() if k != "chunks"}), "'chunks'"),
        (json.dumps({**good, "chunk_rows": "10"}), "'chunk_rows'"),
        (json.dumps({**good, "inputs": [{"path": 3}]}), "'inputs'"),
    ]
    for text, word in cases:
        (out / "manifest.json").write_text(text)
        try:
            run_audit(Settings(inputs=[source], out=out, chunk_rows=10, report=False,
                               resume=True))
        except InputError as error:
            assert "manifest.json" in str(error) and word in str(error), str(error)
        else:
            raise AssertionError(f"{word}: accepted")
        result = _cli(str(source), "--out", str(out), "--chunk-rows", "10", "--resume")
        _one_line_error(result, 2, "manifest.json", word)
    # A chunk list altered by hand: the bogus entries are audited again, never trusted.
    (out / "manifest.json").write_text(json.dumps(
        {**good, "finished": None,
         "chunks": {**good["chunks"], "../../x": {}, "000-000001": {"rows_in": "many"}}}
    ))
    outcome = run_audit(Settings(inputs=[source], out=out, chunk_rows=10, report=False,
                                 resume=True))
    assert outcome.rows_in == outcome.rows_out == 26
    assert any("'../../x'" in w for w in outcome.warnings)


def test_a_directory_in_use_is_refused_and_a_stale_lock_taken_over(tmp_path: Path) -> None:
    import os

    from ngap.audit.runner import LOCK, lock_directory, unlock_directory

    source = _write(tmp_path / "t.csv", "id,date,claimed\nA,2025-03-05,G\n")
    out = tmp_path / "o"
    out.mkdir()
    held = lock_directory(out)
    try:
        result = _cli(str(source), "--out", str(out))
        _one_line_error(result, 3, "in use by pid", str(os.getpid()))
        resumed = _cli(str(source), "--out", str(out), "--resume")
        _one_line_error(resumed, 3, "in use by pid")
    finally:
        unlock_directory(held)
    (out / LOCK).write_text("999999999\n")  # left by a process that no longer exists
    assert _cli(str(source), "--out", str(out)).returncode == 0


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    import os
    import signal
    import time

    import pyarrow.parquet as pq

    from ngap.audit.synthetic import generate

    source = tmp_path / "in.parquet"
    pq.write_table(generate(4000, seed=5), source)
    process = subprocess.Popen(
        [sys.executable, "-m", "ngap", "audit", str(source), "--out", str(tmp_path / "o"),
         "--workers", "2", "--chunk-rows", "200", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 2 and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.1)
    assert len(workers) >= 2, "the workers did not start"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and "Z" not in (Path(f"/proc/{w}") / "stat").read_text().split(")")[1][:3]]
    assert not alive, f"orphan workers {alive}"


def test_report_on_an_interrupted_audit_says_it_is_incomplete(tmp_path: Path) -> None:
    source = EXAMPLES / "encounters.csv"
    out = tmp_path / "o"
    run_audit(Settings(inputs=[source], out=out, chunk_rows=10, report=False))
    _interrupted(out)
    result = runner.invoke(app, ["report", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["complete"] is False
    assert summary["progress"] == {"chunks": 3, "rows_in": 26, "rows_out": 26}
    assert "Audit incomplet / incomplete audit" in (out / "report.html").read_text()
    finished = tmp_path / "f"
    run_audit(Settings(inputs=[source], out=finished, chunk_rows=10))
    complete = json.loads((finished / "summary.json").read_text())
    assert complete["complete"] is True
    assert "incomplete audit" not in (finished / "report.html").read_text()


# ------------------------------------------------------------------ 5. environment faults
def test_disk_full_and_read_only_directory_exit_3_in_one_line(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import errno

    from ngap.audit import runner as engine

    source = _write(tmp_path / "t.csv", "id,date,claimed\nA,2025-03-05,G\n")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o1" / "x"))

    def read_only(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "o2" / "m"))

    wide = CliRunner()
    monkeypatch.setattr(engine, "_write_parquet", full)
    result = wide.invoke(app, ["audit", str(source), "--out", str(tmp_path / "o1"), "--quiet"])
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "no space left" in text and "Traceback" not in text
    monkeypatch.setattr(engine, "_write_json", read_only)
    result = wide.invoke(app, ["audit", str(source), "--out", str(tmp_path / "o2"), "--quiet"])
    assert result.exit_code == 3
    assert "Read-only file system" in " ".join(result.output.split())
    debug = wide.invoke(
        app, ["audit", str(source), "--out", str(tmp_path / "o3"), "--quiet", "--debug"]
    )
    # --debug: the fault itself comes through (raised, or printed with its traceback, exit 3).
    assert isinstance(debug.exception, OSError) or debug.exit_code == 3, debug.output


# ------------------------------------------------------------------ 7. the situation cache
def test_cache_option_is_used_and_its_key_is_private(tmp_path: Path) -> None:
    import stat

    source = _write(tmp_path / "t.csv", "id,date,claimed\nA,2025-03-05,G\n")
    cache = tmp_path / "keep" / "cache.sqlite"
    result = runner.invoke(
        app, ["audit", str(source), "--out", str(tmp_path / "o"), "--cache", str(cache),
              "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert cache.is_file() and not (tmp_path / "o" / "situations.sqlite").exists()
    key = cache.with_name("cache.sqlite.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_an_edited_or_malformed_cache_row_is_a_miss(
    nomenclature: Nomenclature, tmp_path: Path
) -> None:
    import sqlite3

    import pyarrow as pa

    from ngap.audit.batches import RawBatch
    from ngap.audit.core import Auditor
    from ngap.audit.situations import SituationCache

    table = pa.table({
        "id": ["V1", "V2"], "date": ["2025-03-05", "2025-03-05"], "place": ["office", "office"],
        "patient_birth_date": ["1980-01-01", "1980-01-01"], "done": ["consultation"] * 2,
        "claimed": ["G;G", "VG"],
    })
    path = tmp_path / "s.sqlite"
    first = Auditor(nomenclature, cache=SituationCache(path)).audit(RawBatch("in", 1, table))
    want = first.column("status").to_pylist()
    assert want == ["violation", "violation"]
    db = sqlite3.connect(path)
    rows = db.execute("SELECT key, verdict FROM verdicts").fetchall()
    assert len(rows) == 2
    # Someone without the key turns the verdicts into valid ones: their MACs fail.
    for key, verdict in rows:
        forged = json.loads(verdict) | {"status": "valid", "rules": ""}
        db.execute("UPDATE verdicts SET verdict = ? WHERE key = ?", (json.dumps(forged), key))
    db.commit()
    again = Auditor(nomenclature, cache=SituationCache(path))
    assert again.audit(RawBatch("in", 1, table)).column("status").to_pylist() == want
    assert again.solved == 2
    # Rows with a valid MAC but a malformed verdict (another writer): misses as well.
    from ngap.audit.core import _from_json, _to_json

    cache = SituationCache(tmp_path / "t.sqlite", stamp="x")
    key = ("k",)
    text = '["k"]'
    assert cache._db is not None
    cache._db.execute("INSERT INTO verdicts VALUES (?, ?, ?)",
                      (text, "{not json", cache._mac(text, "{not json")))
    assert cache.get(key) is None
    good = _to_json(again.judge(next(iter(again.memo)), None))
    assert _from_json(dict(good)) is not None
    for broken in ({**good, "status": 3}, {**good, "status": "fine"},
                   {**good, "claimed_cents": "12"}, {**good, "line_codes": ["G"], "line_cents": []},
                   {k: v for k, v in good.items() if k != "lines"}, [good]):
        assert _from_json(broken) is None, broken


# ------------------------------------------------------------------ 2. physical CSV lines
def test_a_stray_quote_is_bad_input_naming_the_lines_it_swallows(tmp_path: Path) -> None:
    lines = ["id,date,claimed"] + [f"E{i},2025-03-05,G" for i in range(2, 10_001)]
    lines[4999] = 'E5000,"2025-03-05,G'  # physical line 5000 opens a quote never closed
    source = _write(tmp_path / "stray.csv", "\n".join(lines) + "\n")
    rows = _audit(tmp_path, source)
    assert len(rows) == 4998 + 1
    (bad,) = [r for r in rows if r["status"] == "bad_input"]
    assert bad["id"] == "E5000"
    assert bad["reason"].startswith("lines 5000-10000:") and "quote left open" in bad["reason"]
    assert bad["source_lines"] == "5000"
    # A quote closed further down: the swallowed lines are named, the lines after it keep
    # their own physical numbers.
    closed = _write(
        tmp_path / "closed.csv",
        'id,date,claimed,notes\nA,2025-03-05,G,"two\nlines"\nB,2025-03-05,G,x\n'
        'C,"2025-03-05,G,x\nD,2025-03-05,G,x\nE,2025-03-05",G,x\nF,2025-03-05,G,x\n'
        "G,2025-03-05,G;G;H,x\n",
    )
    by_id = {r["id"]: r for r in _audit(tmp_path / "c", closed)}
    assert by_id["A"]["status"] != "bad_input"  # a line break in a notes cell is no problem
    assert by_id["C"]["status"] == "bad_input"
    assert by_id["C"]["reason"].startswith("lines 5-7: date holds a line break")
    assert [by_id[k]["row"] for k in "ABCFG"] == [1, 2, 3, 4, 5]
    # Every CSV row names its physical line(s), line breaks inside quoted cells counted.
    assert [by_id[k]["source_lines"] for k in "ABCFG"] == ["2;3", "4", "5;6;7", "8", "9"]


# ------------------------------------------------------------------ 8. output forms
def test_csv_output_neutralises_formulas_and_parquet_output_is_typed(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from ngap.audit.columns import OUTPUT_TYPES

    source = _write(
        tmp_path / "f.csv",
        'id,date,claimed\n=HYPERLINK("http://x"),2025-03-05,G\n@SUM(A1),2025-03-05,G;G\n'
        "+1,2025-03-05,G\n-2,2025-03-05,G\nplain,2025-03-05,G\nbad,2024-09-31,G\n",
    )
    for fmt in ("csv", "parquet"):
        run_audit(Settings(inputs=[source], out=tmp_path / fmt, format=fmt, report=False))
    flat = pacsv.read_csv(
        tmp_path / "csv" / "encounters.csv",
        convert_options=pacsv.ConvertOptions(column_types={"id": pa.string()}),
    )
    assert flat.column("id").to_pylist() == [
        "'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+1", "'-2", "plain", "bad"
    ]
    assert flat.column("claimed").to_pylist()[1] == "G;G"
    typed = pq.read_table(tmp_path / "parquet" / "encounters.parquet")
    kinds = {"int": pa.int64(), "date": pa.date32(), "list": pa.list_(pa.string())}
    for name, kind in OUTPUT_TYPES.items():
        assert typed.schema.field(name).type == kinds[kind], name
    rows = typed.to_pylist()
    assert rows[0]["id"] == '=HYPERLINK("http://x")'  # Parquet is no spreadsheet: kept as is
    assert rows[1]["claimed"] == ["G", "G"] and rows[1]["rules"] == ["repeated_line"]
    assert rows[1]["date"] == dt.date(2025, 3, 5)
    assert rows[5]["status"] == "bad_input" and rows[5]["date"] is None
    assert rows[4]["rules"] == [] and rows[4]["across_rules"] is None


# ------------------------------------------------------------------ 9. money split
def test_money_is_split_into_certain_and_only_if_context(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "m.csv",
        "id,date,time,place,patient_birth_date,practitioner_sector,done,claimed,"
        "circumstances_emergency\n"
        # certain over-coding: a repeated G whatever the context (nothing unknown here)
        "M1,2025-03-05,10:00,office,1980-01-01,1,consultation,G;G,false\n"
        # nothing unknown, valid: no difference at all
        "M2,2025-03-05,10:00,office,1980-01-01,1,consultation,G,false\n"
        # urgency unknown at night: the optimum needs it, under-coding only if it was urgent
        "M3,2025-03-05,22:00,office,1980-01-01,1,consultation,G,\n",
    )
    rows = {r["id"]: r for r in _audit(tmp_path, source)}
    m1, m2, m3 = rows["M1"], rows["M2"], rows["M3"]
    assert m1["difference_cents"] == m1["difference_certain_cents"] == G_2025
    assert m1["difference_if_context_cents"] == 0 and m1["optimum_assumes"] == ""
    assert m2["difference_cents"] == m2["difference_certain_cents"] == 0
    assert m3["optimum_assumes"] != ""
    assert m3["difference_cents"] < 0
    assert m3["difference_certain_cents"] == 0
    assert m3["difference_if_context_cents"] == m3["difference_cents"]
    out = tmp_path / "out"
    from ngap.audit.report import build_report

    money = build_report(out)["money"]
    assert money["difference_certain_cents"] == G_2025
    assert money["difference_if_context_cents"] == m3["difference_cents"]
    assert money["overcoding_certain_cents"] == G_2025
    page = " ".join((out / "report.html").read_text().split())
    assert "Écart certain / certain difference" in page
    assert "net difference" not in page
