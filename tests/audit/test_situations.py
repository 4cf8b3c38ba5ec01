"""The situation cache: shared between processes, exact, and never stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from ngap.audit.batches import RawBatch
from ngap.audit.core import Auditor
from ngap.audit.situations import SituationCache, canonical
from ngap.audit.synthetic import generate, today
from ngap.solver.engine import Nomenclature


def test_a_second_auditor_solves_nothing_and_answers_the_same(
    nomenclature: Nomenclature, tmp_path: Path
) -> None:
    table = generate(2_000, seed=21)
    first = Auditor(nomenclature, today=today(), cache=SituationCache(tmp_path / "s.sqlite"))
    a = first.audit(RawBatch("in", 1, table))
    assert first.solved > 10
    second = Auditor(nomenclature, today=today(), cache=SituationCache(tmp_path / "s.sqlite"))
    b = second.audit(RawBatch("in", 1, table))
    assert second.solved == 0
    assert pa.Table.from_batches([a]).equals(pa.Table.from_batches([b]))


def test_another_knowledge_base_empties_the_cache(tmp_path: Path) -> None:
    key = ("1", frozenset({"weekday", "holiday"}), None, 3.0, ("consultation",), ("G",))
    cache = SituationCache(tmp_path / "s.sqlite", stamp="one")
    cache.put(key, {"status": "valid"})
    cache.flush()
    assert SituationCache(tmp_path / "s.sqlite", stamp="one").get(key) == {"status": "valid"}
    assert SituationCache(tmp_path / "s.sqlite", stamp="two").get(key) is None
    assert len(SituationCache(tmp_path / "s.sqlite", stamp="two")) == 0


def test_keys_are_the_same_text_in_every_process() -> None:
    key = ("1", frozenset({"s2", "s2_optam", "s1"}), None, 1.5, ("visit", "long_visit"), ())
    code = (
        "from ngap.audit.situations import canonical;"
        "print(canonical(('1', frozenset({'s2', 's2_optam', 's1'}), None, 1.5,"
        " ('visit', 'long_visit'), ())))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert outputs == {canonical(key)}


def test_an_unusable_file_only_turns_the_cache_off(tmp_path: Path) -> None:
    broken = tmp_path / "s.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    cache = SituationCache(broken)
    assert not cache.usable
    assert cache.get(("x",)) is None
