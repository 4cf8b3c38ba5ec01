"""The audit report: exact figures on a hand-made output directory, and a safe, printable page."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from html.parser import HTMLParser
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ngap.audit.columns import OUTPUT_COLUMNS
from ngap.audit.frequency import FINDINGS_SCHEMA
from ngap.audit.report import build_report, euros, percent

INT_COLUMNS = {"row", "claimed_cents", "optimal_cents", "difference_cents"}
SCHEMA = pa.schema(
    [(name, pa.int64() if name in INT_COLUMNS else pa.string()) for name in OUTPUT_COLUMNS]
)
EVIL = "<script>alert(1)</script>"
VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})


def _enc(id_: str, status: str, date: str | None, practitioner: str | None, **kw: Any) -> dict:
    claimed, optimal = kw.pop("claimed_cents", None), kw.pop("optimal_cents", None)
    row = {
        "id": id_,
        "source": "a.csv",
        "status": status,
        "date": date,
        "era": "2024",
        "patient_id": "A",
        "practitioner_id": practitioner,
        "claimed_cents": claimed,
        "optimal_cents": optimal,
        "difference_cents": None if claimed is None else claimed - optimal,
        **kw,
    }
    return row


def _write_part(path: pathlib.Path, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(
        [{name: r.get(name) for name in OUTPUT_COLUMNS} for r in rows], schema=SCHEMA
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


PART_0 = [
    _enc(
        "e1",
        "valid",
        "2024-01-10",
        "P1",
        row=1,
        claimed="G",
        lines="G:valid",
        claimed_cents=3000,
        optimal_cents=3000,
    ),
    _enc(
        "e2",
        "violation",
        "2024-01-15",
        "P1",
        row=2,
        claimed="G;MMG",
        rules="code_not_in_force;mmg_inside_g;mmg_inside_g",
        articles="art X;art Y;art Y",
        messages="MMG not in force | MMG alone | MMG alone",
        lines="G:valid;MMG:invalid",
        claimed_cents=3350,
        optimal_cents=3000,
    ),
    _enc(
        "e3",
        "conditional",
        "2024-02-03",
        "P2",
        row=3,
        claimed="G;MN",
        conditions="time=night",
        lines="G:valid;MN:conditional:time=night",
        claimed_cents=7000,
        optimal_cents=7000,
    ),
    _enc(EVIL, "bad_input", None, "P1", row=4, reason="bad date <b>2024-13-45</b>"),
]
PART_1 = [
    _enc(
        "e5",
        "violation",
        "2024-02-20",
        "P2",
        row=5,
        claimed="VG",
        rules="wrong_place",
        articles="NGAP I",
        messages="VG is not billable at this place",
        lines="VG:invalid",
        claimed_cents=5000,
        optimal_cents=3000,
    ),
    _enc(
        "e6",
        "valid",
        "2024-02-21",
        "P2",
        row=6,
        claimed="G",
        lines="G:valid",
        optimum_assumes="",
        claimed_cents=2500,
        optimal_cents=3000,
    ),
    _enc(
        "e7",
        "valid",
        "2024-03-01",
        "P1",
        row=7,
        claimed="G",
        lines="G:valid",
        optimum_assumes="time=night",
        claimed_cents=3000,
        optimal_cents=4000,
    ),
    {
        **_enc("e8", "bad_input", "garbage", None, row=1, reason="missing column claimed"),
        "source": "b.csv",
    },
]
FINDINGS = pa.table(
    {
        "rule": ["freq_g_per_day", "freq_g_per_day", "freq_x"],
        "patient_id": ["A", "B", "A"],
        "practitioner_id": ["P1", "P1", "P2"],
        "code": [["G"], ["G"], ["MN"]],
        "first_date": [dt.date(2024, 1, 10), dt.date(2024, 2, 1), dt.date(2024, 2, 3)],
        "last_date": [dt.date(2024, 1, 10), dt.date(2024, 2, 1), dt.date(2024, 2, 9)],
        "count": [3, 2, 2],
        "limit": [1, 1, 1],
        "encounter_ids": [["e1", "e2", "e7"], ["e10", "e9"], ["e3", EVIL]],
        "excess_ids": [["e2", "e7"], ["e10"], [EVIL]],
        "excess_cents": [6000, 3000, 1500],
        "detail": ["G billed 3 times <same day>", "G twice", "MN twice a week"],
    },
    schema=FINDINGS_SCHEMA,
)


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("audit")
    _write_part(out / "parts" / "encounters-00000.parquet", PART_0)
    _write_part(out / "parts" / "encounters-00001.parquet", PART_1)
    pq.write_table(FINDINGS, out / "findings.parquet")
    manifest = {"inputs": [{"path": "a.csv", "rows": 7}], "format": "csv", "rows_out": 8}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def summary(audit_dir: pathlib.Path) -> dict[str, Any]:
    return build_report(audit_dir, top=5)


def test_totals_and_status(summary: dict[str, Any]) -> None:
    assert summary["rows"] == 8
    assert summary["status"] == {"valid": 3, "conditional": 1, "violation": 2, "bad_input": 2}
    money = summary["money"]
    assert money["claimed_cents"] == 23850
    assert money["optimal_cents"] == 23000
    assert money["overcoding_cents"] == 2350
    assert money["undercoding_cents"] == 1500
    assert money["undercoding_certain_cents"] == 500
    assert money["undercoding_if_context_cents"] == 1000
    assert (money["overcoding_encounters"], money["undercoding_encounters"]) == (2, 2)
    assert summary["manifest"]["format"] == "csv"
    assert summary["manifest"]["engine"] is None


def test_by_rule_counts_an_encounter_once_per_rule(summary: dict[str, Any]) -> None:
    by_rule = [(r["rule"], r["encounters"], r["overcoding_cents"]) for r in summary["by_rule"]]
    assert by_rule == [
        ("wrong_place", 1, 2000),
        ("code_not_in_force", 1, 350),
        ("mmg_inside_g", 1, 350),
    ]
    assert all(r["article"] for r in summary["by_rule"])


def test_by_month(summary: dict[str, Any]) -> None:
    months = [
        (
            m["month"],
            m["encounters"],
            m["violations"],
            m["overcoding_cents"],
            m["undercoding_cents"],
        )
        for m in summary["by_month"]
    ]
    assert months == [
        ("2024-01", 2, 1, 350, 0),
        ("2024-02", 3, 1, 2000, 500),
        ("2024-03", 1, 0, 0, 1000),
    ]
    assert summary["undated_rows"] == 2


def test_practitioners_code_conditions(summary: dict[str, Any]) -> None:
    prac = summary["practitioners"]
    first = prac["top"][0]
    assert (first["practitioner_id"], first["encounters"], first["violations"]) == ("P2", 3, 1)
    assert first["overcoding_cents"] == 2000
    assert first["violation_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert prac["top"][1]["bad_input"] == 1
    assert prac["eligible"] == 0 and prac["flagged_count"] == 0 and not first["outlier"]
    codes = {c["code"]: c for c in summary["by_code"]["codes"]}
    assert (codes["G"]["claimed"], codes["G"]["in_violation"]) == (5, 0)
    assert (codes["VG"]["in_violation"], codes["VG"]["overcoding_cents"]) == (1, 2000)
    assert codes["MN"]["conditional"] == 1
    assert summary["conditions"]["top"] == [
        {"condition": "time=night", "encounters": 1, "claimed_cents": 7000}
    ]


def test_findings_bad_rows_and_rules(summary: dict[str, Any]) -> None:
    findings = summary["findings"]
    assert findings["present"] and findings["rows"] == 3 and findings["excess_cents"] == 10500
    assert [(r["rule"], r["findings"], r["excess_cents"]) for r in findings["by_rule"]] == [
        ("freq_g_per_day", 2, 9000),
        ("freq_x", 1, 1500),
    ]
    assert findings["first"][0]["first_date"] == "2024-01-10"
    # The lists of findings.parquet read as the flat text of findings.jsonl.
    first = {r["excess_cents"]: r for r in findings["first"]}
    assert (first[6000]["code"], first[6000]["encounter_ids"]) == ("G", "e1;e2;e7")
    assert (first[6000]["excess_ids"], first[1500]["excess_ids"]) == ("e2;e7", EVIL)
    bad = summary["bad_input"]
    assert bad["count"] == 2
    assert [(r["source"], r["row"], r["id"]) for r in bad["first"]] == [
        ("a.csv", 4, EVIL),
        ("b.csv", 1, "e8"),
    ]
    rules = {r["rule"]: r for r in summary["rules"]}
    assert sorted(rules) == [
        "code_not_in_force",
        "freq_g_per_day",
        "freq_x",
        "mmg_inside_g",
        "wrong_place",
    ]
    assert rules["mmg_inside_g"]["in_catalogue"] and rules["mmg_inside_g"]["source"]
    assert not rules["freq_x"]["in_catalogue"]
    assert rules["freq_x"]["message_en"] == "MN twice a week"


def test_summary_file_matches(audit_dir: pathlib.Path, summary: dict[str, Any]) -> None:
    assert json.loads((audit_dir / "summary.json").read_text(encoding="utf-8")) == summary


def test_findings_written_as_text_read_as_the_lists(
    tmp_path: pathlib.Path, summary: dict[str, Any]
) -> None:
    """A findings.parquet whose id lists are ``;``-joined text (as written before they were
    typed) gives the summary and the page of the typed file."""
    _write_part(tmp_path / "parts" / "encounters-00000.parquet", PART_0)
    _write_part(tmp_path / "parts" / "encounters-00001.parquet", PART_1)
    flat = pa.table(
        {
            name: pc.binary_join(column, ";") if pa.types.is_list(column.type) else column
            for name, column in zip(FINDINGS.column_names, FINDINGS.columns, strict=True)
        }
    )
    assert flat.schema.field("excess_ids").type == pa.string()
    pq.write_table(flat, tmp_path / "findings.parquet")
    again = build_report(tmp_path, top=5)
    assert again["findings"] == summary["findings"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "e1; e2; e7" in page and "[e1" not in page


class _Balance(HTMLParser):
    """Checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID and (not self.stack or self.stack[-1] != tag):
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()


def test_html_is_safe_and_complete(audit_dir: pathlib.Path, summary: dict[str, Any]) -> None:
    page = (audit_dir / "report.html").read_text(encoding="utf-8")
    assert "ngap — rapport d'audit / audit report" in page
    for section in (
        "summary",
        "by-rule",
        "by-month",
        "practitioners",
        "by-code",
        "conditional",
        "findings",
        "bad-input",
        "rules",
        "how-to-read",
    ):
        assert f'<section id="{section}">' in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;2024-13-45&lt;/b&gt;" in page
    assert 'src="http' not in page and 'href="http' not in page
    assert "238,50 €" in page and "freq_g_per_day" in page and "art Y" not in page
    assert page.count("<svg") == page.count("</svg>") >= 4
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []


def test_french_number_formats() -> None:
    assert euros(123456) == "1 234,56 €"
    assert euros(-5) == "-0,05 €"
    assert euros(123456789) == "1 234 567,89 €"
    assert percent(0.1234) == "12,3 %"


def test_outlier_flag_uses_median_and_mad(tmp_path: pathlib.Path) -> None:
    rows = []
    # Violation rates over 20 encounters: 5 %, 10 %, 10 %, 15 %, 60 % -> median 10 %, MAD 5 %,
    # threshold 25 %: only P5 stands out.  P6 (5 encounters, all violations) is too small.
    for pid, bad, n in (
        ("P1", 1, 20),
        ("P2", 2, 20),
        ("P3", 2, 20),
        ("P4", 3, 20),
        ("P5", 12, 20),
        ("P6", 5, 5),
    ):
        for i in range(n):
            status = "violation" if i < bad else "valid"
            rows.append(
                _enc(
                    f"{pid}-{i}",
                    status,
                    "2024-05-02",
                    pid,
                    row=len(rows) + 1,
                    claimed_cents=3000,
                    optimal_cents=3000,
                )
            )
    _write_part(tmp_path / "parts" / "encounters-00000.parquet", rows)
    prac = build_report(tmp_path)["practitioners"]
    assert prac["eligible"] == 5
    assert prac["median_violation_rate"] == pytest.approx(0.10)
    assert prac["mad"] == pytest.approx(0.05)
    assert prac["threshold"] == pytest.approx(0.25)
    assert [p["practitioner_id"] for p in prac["flagged"]] == ["P5"]
    assert prac["flagged_count"] == 1


def test_without_findings(tmp_path: pathlib.Path) -> None:
    _write_part(tmp_path / "parts" / "encounters-00000.parquet", PART_1)
    summary = build_report(tmp_path)
    assert summary["findings"] == {
        "present": False,
        "rows": 0,
        "excess_cents": 0,
        "by_rule": [],
        "first": [],
    }
    assert summary["rows"] == 4 and summary["manifest"]["format"] is None
    assert "findings.parquet" in (tmp_path / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("empty_part", [True, False])
def test_zero_rows(tmp_path: pathlib.Path, empty_part: bool) -> None:
    if empty_part:
        _write_part(tmp_path / "parts" / "encounters-00000.parquet", [])
    summary = build_report(tmp_path)
    assert summary["rows"] == 0
    assert summary["status"] == {"valid": 0, "conditional": 0, "violation": 0, "bad_input": 0}
    assert summary["money"]["claimed_cents"] == 0
    assert summary["by_rule"] == [] and summary["by_month"] == []
    assert summary["practitioners"]["median_violation_rate"] is None
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == page.count("</svg>")
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8")) == summary


def test_claims_with_no_optimum_are_counted_apart(tmp_path: pathlib.Path) -> None:
    """An encounter with no optimum (nothing shows what was done) is in the claimed total, not
    in the optimal one: the summary says how much and how many, and a bad row is not one."""
    lone_ik = _enc("ik", "violation", "2024-03-05", "P1", row=8, claimed_cents=970, optimal_cents=0)
    empty = _enc("none", "valid", "2024-03-05", "P1", row=9, claimed_cents=0, optimal_cents=0)
    for row in (lone_ik, empty):
        row.update(optimal_cents=None, difference_cents=None)
    _write_part(tmp_path / "parts" / "encounters-00000.parquet", [*PART_1, lone_ik, empty])
    money = build_report(tmp_path)["money"]
    assert money["claimed_cents"] == 5000 + 2500 + 3000 + 970
    assert money["optimal_cents"] == 3000 + 3000 + 4000
    assert money["claimed_without_optimum_cents"] == 970
    assert money["encounters_without_optimum"] == 2
    assert money["priced_encounters"] == 3
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "claimed with no optimum" in page and "9,70" in page
