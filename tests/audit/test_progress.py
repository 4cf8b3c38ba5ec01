"""Progress of ``ngap audit``: phases in order, rows counted within chunks, none twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ngap.audit import runner as runner_module
from ngap.audit.runner import PHASES, Progress, Settings, run_audit
from ngap.audit.synthetic import today, write
from ngap.cli import app


def test_phases_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "PROGRESS_SECONDS", 0.0)  # report every situation
    source = write(tmp_path / "mix.parquet", 1_500, seed=5)
    events: list[tuple[str, int | None]] = []
    counted: dict[str, int] = {}
    calls: dict[str, int] = {}
    current = [""]

    def phase(name: str, total: int | None) -> None:
        current[0] = name
        if not events or events[-1][0] != name:
            events.append((name, total))

    def advance(rows: int) -> None:
        key = "export" if current[0] == "export" else "audit"
        counted[key] = counted.get(key, 0) + rows
        calls[key] = calls.get(key, 0) + 1

    outcome = run_audit(
        Settings(
            inputs=[source], out=tmp_path / "out", today=today(), report=False, chunk_rows=500
        ),
        Progress(1_500, advance, phase=phase),
    )
    names = [name for name, _ in events]
    assert names[:2] == ["read", "judge"]
    assert names[-2:] == ["across", "export"]
    assert set(names) == set(PHASES)
    assert dict(events)["export"] == outcome.rows_out == 1_500
    assert counted == {"audit": 1_500, "export": 1_500}  # every row once per counted phase
    assert calls["audit"] > 3  # within chunks, not once per chunk of 500


def test_quiet_prints_no_progress(tmp_path: Path) -> None:
    source = write(tmp_path / "mix.csv", 50, seed=5)
    result = CliRunner().invoke(
        app,
        ["audit", str(source), "--out", str(tmp_path / "out"), "--today",
         today().isoformat(), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == ""
