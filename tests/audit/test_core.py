"""The audit core gives, for every row, exactly what the one-encounter API gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from ngap.audit.batches import RawBatch
from ngap.audit.columns import unflatten
from ngap.audit.core import Auditor, lines_of
from ngap.audit.readers import read
from ngap.model.encounter import Encounter
from ngap.solver.engine import Nomenclature

EXAMPLES = Path(__file__).parents[2] / "examples" / "audit"


@pytest.fixture(scope="module")
def auditor(nomenclature: Nomenclature) -> Auditor:
    return Auditor(nomenclature)


def _rows(auditor: Auditor, path: Path) -> list[dict[str, object]]:
    out = []
    for batch in read(path, chunk_rows=7):
        out += auditor.audit(batch).to_pylist()
    return out


def test_every_example_row_matches_the_one_encounter_check(
    auditor: Auditor, nomenclature: Nomenclature
) -> None:
    with (EXAMPLES / "encounters.csv").open(encoding="utf-8") as handle:
        source = {r["id"]: r for r in csv.DictReader(handle)}
    audited = _rows(auditor, EXAMPLES / "encounters.csv")
    assert [r["id"] for r in audited] == list(source)  # rows in = rows out, in order
    judged = 0
    for row in audited:
        if row["status"] == "bad_input":
            assert row["reason"]
            continue
        cells = {k: (v if v != "" else None) for k, v in source[str(row["id"])].items()}
        encounter = Encounter.model_validate(unflatten(cells))
        want = nomenclature.check(encounter)
        assert row["status"] == want.status, row["id"]
        assert (row["rules"] or "").split(";") == [v.rule for v in want.violations] or (
            not row["rules"] and not want.violations
        )
        assert row["claimed_cents"] == want.claimed.total_cents
        assert row["optimal_cents"] == (want.optimal.total_cents if want.optimal else None)
        assert row["difference_cents"] == want.difference_cents
        judged += 1
    assert judged >= 15


def test_known_verdicts_of_the_examples(auditor: Auditor) -> None:
    rows = {r["id"]: r for r in _rows(auditor, EXAMPLES / "encounters.csv")}
    # G at 10:40 with MN, no emergency: invalid whatever the context.
    assert rows["E003"]["status"] == "violation"
    assert rows["E003"]["lines"] == "G:valid;MN:invalid"
    # G + MN with time and urgency unknown: valid only at night and if urgent; G itself is valid.
    e004 = rows["E004"]
    assert e004["status"] == "conditional"
    assert "emergency=yes" in str(e004["conditions"])
    assert str(e004["lines"]).startswith("G:valid;MN:conditional:")
    assert "hour=h06_07|h07_08|h20_21|h21_24" in str(e004["lines"])
    # Worked amount: G 26.50 € from 22 Dec 2023, MN 35 €.
    assert e004["claimed_cents"] == 2650 + 3500
    # The 2022 G was 25 € (the 1 Jul 2025 trap is tested in test_reference_traps_in_bulk).
    assert rows["E015"]["claimed_cents"] == 2500
    assert rows["E019"]["status"] == "bad_input" and "GX" in str(rows["E019"]["reason"])
    assert "did you mean office" in str(rows["E017"]["reason"])
    assert "2024-09-31" in str(rows["E018"]["reason"])


def test_memo_answers_repeated_situations_once(nomenclature: Nomenclature) -> None:
    auditor = Auditor(nomenclature)
    n = 500
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "date": ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"]
            * (n // 5),
            "time": ["10:00"] * n,
            "place": ["office"] * n,
            "done": ["consultation"] * n,
            "claimed": ["G"] * n,
            "patient_age_years": [str(40 + i % 5) for i in range(n)],
        }
    )
    out = auditor.audit(RawBatch("mem", 1, table))
    assert out.num_rows == n
    assert set(out.column("status").to_pylist()) == {"valid"}
    assert auditor.solved == 1  # weekdays of one era, adult ages of one band: one situation
    assert lines_of(out).num_rows == n


def test_an_empty_batch_and_a_batch_of_only_bad_rows(auditor: Auditor) -> None:
    empty = pa.table({"id": pa.array([], pa.string())})
    assert auditor.audit(RawBatch("e", 1, empty)).num_rows == 0
    bad = pa.table({"id": ["x"], "date": ["nope"], "place": ["office"], "claimed": ["G"]})
    out = auditor.audit(RawBatch("b", 1, bad)).to_pylist()
    assert out[0]["status"] == "bad_input" and "date" in str(out[0]["reason"])


def test_the_typed_parquet_example_is_built_from_the_csv() -> None:
    import importlib.util

    import pyarrow.parquet as pq

    spec = importlib.util.spec_from_file_location("make_parquet", EXAMPLES / "make_parquet.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert pq.read_table(EXAMPLES / "encounters.parquet").equals(module.build())


def test_reference_traps_in_bulk(auditor: Auditor) -> None:
    """The traps real sources fell into, through the batch path (line amounts of the claim)."""
    rows = [
        # id, date, time, place, done, claimed, birth date, emergency, regulated duty
        ("g_0630", "2025-06-30", "10:00", "office", "consultation", "G", None, "false", "false"),
        ("g_0701", "2025-07-01", "10:00", "office", "consultation", "G", None, "false", "false"),
        ("coe_0701", "2025-07-01", "10:00", "office", "child_exam_certificate", "COE",
         "2024-10-01", "false", "false"),
        ("crm", "2025-03-01", "23:00", "office", "consultation", "G;CRM", None, "false", "true"),
        ("vrm", "2025-03-01", "23:00", "home", "visit", "VG;VRM", None, "false", "true"),
        ("mhp", "2025-01-10", "21:00", "office", "consultation", "G;MN", None, "false", "false"),
    ]
    names = ["id", "date", "time", "place", "done", "claimed", "patient_birth_date",
             "circumstances_emergency", "circumstances_regulated_duty"]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    table = table.append_column("patient_age_years", pa.array(
        [None if r[6] else "40" for r in rows], pa.string()))
    out = {r["id"]: r for r in auditor.audit(RawBatch("traps", 1, table)).to_pylist()}

    def cents(row: str, code: str) -> int:
        line = dict(zip(out[row]["_line_codes"], out[row]["_line_cents"], strict=True))
        return int(line[code])

    # No tariff step on 1 Jul 2025 (suspended, applied 1 Jan 2026): G 30 €, COE still 54 €.
    assert cents("g_0630", "G") == cents("g_0701", "G") == 3000
    assert cents("coe_0701", "COE") == 5400
    # CRM stayed 51.50 € in 2025; 59.50 € is VRM.
    assert cents("crm", "CRM") == 5150
    assert cents("vrm", "VRM") == 5950
    # From 22 Dec 2024 a night act without a genuine emergency gets MHP (5 €), not MN.
    assert out["mhp"]["status"] == "violation"
    assert out["mhp"]["rules"] == "genuine_emergency"
    assert out["mhp"]["lines"] == "G:valid;MN:invalid"
    assert out["mhp"]["optimal_cents"] == 3000 + 500


def _table(rows: list[dict[str, str | None]]) -> RawBatch:
    names = sorted({k for r in rows for k in r})
    return RawBatch("t", 1, pa.table({n: [r.get(n) for r in rows] for n in names}))


def test_no_optimum_when_nothing_shows_what_was_done(auditor: Auditor) -> None:
    """An empty claim, or a lone IK or MM line, with the activities unknown: the claim is judged
    and no optimum is invented (it would be the dearest cotation of any activities at all)."""
    base = {"date": "2024-03-05", "place": "home", "patient_age_years": "50"}
    rows = auditor.audit(
        _table(
            [
                {**base, "id": "empty", "claimed": ""},
                {**base, "id": "ik", "claimed": "IK", "travel_km": "4"},
                {**base, "id": "mm", "claimed": "MM"},
                {**base, "id": "vg", "claimed": "VG"},  # records a visit: optimum as before
                # A refined code records what its aggregate records (CSO: a consultation).
                {**base, "id": "cso", "claimed": "CSO", "place": "office"},
            ]
        )
    ).to_pylist()
    by_id = {r["id"]: r for r in rows}
    empty = by_id["empty"]
    assert (empty["status"], empty["claimed_cents"], empty["optimal_cents"]) == ("valid", 0, None)
    assert empty["difference_cents"] is None and empty["difference_if_context_cents"] is None
    for name in ("ik", "mm"):
        row = by_id[name]
        assert row["status"] == "violation", row  # IK and MM need a visit or consultation
        assert row["optimal_cents"] is None and row["difference_cents"] is None
        assert row["optimum_assumes"] == ""
    for name in ("vg", "cso"):
        row = by_id[name]
        assert row["optimal_cents"] is not None, row
        assert row["optimal_cents"] >= row["claimed_cents"] > 0, row
