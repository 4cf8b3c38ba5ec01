"""Build the deliberately flawed vendor rule set of this folder and its manifest of defects.

Why: ``ngap validate-ruleset`` must find every seeded defect and report nothing else
(``tests/analysis/test_vendor_example.py``).  The rule set starts as the model's own export
(``ngap.analysis.export``: tariffs of every period since 2022, the cumulation matrix of the
validation date), then a dozen defects of each kind are seeded; each seed is checked against the
model here, so a seed that is not a real difference fails loudly instead of silently.

Run from the repository root, after a change of the rule base or of the tariffs:

    .venv/bin/python examples/vendor/make_example.py

(``--baseline-only`` rewrites ``baseline.json`` alone, from ``SEEDED_DEFECTS.yaml``.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ngap import Encounter, Nomenclature
from ngap.analysis.baseline import baseline_text, entries_for
from ngap.analysis.export import PAIR_HEADER, TARIFF_HEADER, pair_rows, tariff_rows
from ngap.analysis.rulebase import Analyser
from ngap.analysis.vendor import Validator
from ngap.analysis.vendor_io import age_bands

HERE = Path(__file__).resolve().parent
DATE = dt.date(2025, 3, 1)

# ------------------------------------------------------------------ seeds
MISSING = ["APV", "CCP", "COB", "IMT", "MOP", "MUT", "RDV", "VSP", "ALQP003", "JKLD001",
           "QZJA002", "K16/2"]  # fmt: skip
"""Billable on DATE, left out of the vendor's tariffs and matrix."""

UNKNOWN = ["GX", "CCAM01", "MNO", "VGX", "K2", "IKX", "MDX", "TTE", "APY", "CSY", "ZZZZ999",
           "MEGA"]  # fmt: skip
"""Codes the vendor prices that the NGAP/CCAM catalogue does not know."""

# (code, zone, vendor row from, vendor row to or "", vendor amount, finding from, why)
TARIFFS = [
    ("CRM", "metro", "2024-12-22", "", "59.50", "2024-12-22",
     "the coding-aid trap: 59.50 is VRM, CRM is 51.50"),
    ("COE", "metro", "2025-07-01", "2025-12-31", "60.00", "2025-07-01",
     "the suspended 1 Jul 2025 step: COE stays 54.00 until 1 Jan 2026"),
    ("G", "metro", "2024-12-01", "2024-12-21", "30.00", "2024-12-01",
     "the 30 € G applied three weeks early (it starts on 22 Dec 2024)"),
    ("G", "drom", "2024-12-22", "", "35.60", "2024-12-22",
     "the June 2024 plan value for the DROM (36.00 in the convention)"),
    ("GS", "metro", "2024-12-22", "", "30.00", "2024-12-22",
     "GS priced after its abolition on 22 Dec 2024"),
    ("MEG", "metro", "2025-01-01", "2025-12-31", "5.50", "2025-01-01", "wrong MEG amount"),
    ("MN", "metro", "2025-01-01", "2025-12-31", "40.00", "2025-01-01", "MN and MM amounts swapped"),
    ("MM", "metro", "2025-01-01", "2025-12-31", "35.00", "2025-01-01", "MN and MM amounts swapped"),
    ("F", "metro", "2025-01-01", "2025-12-31", "20.00", "2025-01-01", "F rounded up"),
    ("MD", "metro", "2025-01-01", "2025-12-31", "15.00", "2025-01-01", "wrong MD amount"),
    ("DEQP003", "metro", "2025-01-01", "2025-12-31", "15.00", "2025-01-01", "ECG rounded"),
    ("VL", "metro", "2025-01-01", "2025-12-31", "65.00", "2025-01-01", "wrong VL amount"),
    ("GABD002", "metro", "2025-01-01", "2025-12-31", "27.72", "2025-01-01",
     "the 2021 CCAM price kept in 2025 (28.26 in CCAM v78)"),
]  # fmt: skip

# (code_a, code_b, conditions, why)
WRONGLY_ALLOWED = [
    ("MN", "F", {}, "one time majoration only (NGAP art. 14)"),
    ("G", "V", {}, "one main act per session (art. 11 B)"),
    ("MEG", "COD", {}, "COD already includes MEG"),
    ("CRN", "MN", {}, "the duty majoration replaces MN"),
    ("SNP", "MRT", {}, "SNP is for a doctor who is not the médecin traitant, MRT for him"),
    ("RQD", "G", {}, "tele-expertise is billed alone"),
    ("K9", "G", {}, "the burn dressing is billed alone"),
    ("K0.7", "K1", {}, "one certificate coefficient"),
    ("MD", "MDN", {}, "one travel majoration"),
    ("MSH", "MIC", {}, "MSH or MIC, not both"),
    ("G", "MEG", {"age_band": "80+"}, "MEG is for a child under 6"),
    ("VG", "MN", {"place": "office"}, "a visit letter is not billed at the office"),
]
WRONGLY_FORBIDDEN_DROPPED = [
    ("G", "MN", "night majoration on a consultation (emergency)"),
    ("MEG", "VG", "home visit of a child"),
    ("DEQP003", "G", "ECG with a consultation, both at full rate"),
    ("MEG", "MN", "child at night"),
    ("IK", "VG", "mileage on a justified visit"),
    ("MEG", "TCG", "teleconsultation of a child"),
]
"""Pairs billable together whose 'yes' row the vendor lost (unlisted pairs are forbidden)."""
WRONGLY_FORBIDDEN_ROWS = [
    ("G", "MEG", {"place": "office"}, "the everyday child consultation"),
    ("MD", "VG", {"sector": "2_optam"}, "OPTAM doctors bill VG + MD"),
    ("G", "MCG", {"age_band": "80+"}, "coordination majoration at any age"),
    ("G", "F", {"day": "holiday"}, "F on a public holiday"),
    ("CRM", "G", {"day": "sunday"}, "regulated duty, deep night, on a Sunday"),
    ("G", "JKHD001", {"sex": "f"}, "cervical smear in HAS screening, with the consultation"),
]

# Vendor test encounters: (id, encounter data, expected finding kind or None, why)
BASE: dict[str, Any] = {
    "place": "office",
    "time": "10:00",
    "call_time": "09:30",
    "done": ["consultation"],
}


def _enc(ident: str, **data: Any) -> dict[str, Any]:
    out = {"id": ident, **BASE, **data}
    out.setdefault("patient", {"birth_date": "1980-05-05", "sex": "f"})
    return out


ADULT = {"birth_date": "1980-05-05", "sex": "m"}
ENCOUNTERS: list[tuple[dict[str, Any], str | None, str]] = [
    # ---- cotations that break a rule
    (_enc("night-not-urgent", date="2025-03-07", time="21:00", call_time="20:30",
          patient=ADULT, claimed=["G", "MN"]), "rule_breaking_cotation",
     "MN without a genuine emergency (from 22 Dec 2024)"),
    (_enc("meg-ten-year-old", date="2025-03-05", patient={"birth_date": "2015-01-01"},
          claimed=["G", "MEG"]), "rule_breaking_cotation", "MEG after 6 years"),
    (_enc("f-on-weekday", date="2025-03-05", time="10:00", patient=ADULT,
          circumstances={"emergency": True}, claimed=["G", "F"]), "rule_breaking_cotation",
     "F on a Wednesday"),
    (_enc("md-not-justified", date="2025-03-05", place="home", done=["visit"], patient=ADULT,
          claimed=["VG", "MD"]), "rule_breaking_cotation", "MD for an unjustified visit"),
    (_enc("crm-not-on-duty", date="2025-03-05", time="03:00", call_time="02:30", patient=ADULT,
          claimed=["G", "CRM"]), "rule_breaking_cotation", "CRM outside regulated duty"),
    (_enc("smear-man", date="2025-03-05", patient={"birth_date": "1980-05-05", "sex": "m"},
          done=["consultation", "JKHD001"], claimed=["G", "JKHD001"]),
     "rule_breaking_cotation", "JKHD001 for a man"),
    (_enc("ccp-thirty", date="2025-03-05", patient={"birth_date": "1995-01-01", "sex": "f"},
          done=["contraception_first"], claimed=["CCP"]), "rule_breaking_cotation",
     "CCP after 25"),
    (_enc("tcg-at-office", date="2025-03-05", done=["teleconsultation"], patient=ADULT,
          claimed=["TCG"]), "rule_breaking_cotation", "a teleconsultation at the office"),
    (_enc("g-and-v", date="2025-03-05", practitioner={"sector": "2", "optam": False,
          "rate": "above"}, patient=ADULT, claimed=["G", "V"]), "rule_breaking_cotation",
     "two main acts"),
    (_enc("mcg-own-patient", date="2025-03-05", patient=ADULT,
          practitioner={"treating_doctor": True}, circumstances={"correspondent": True},
          claimed=["G", "MCG"]), "rule_breaking_cotation", "MCG by the médecin traitant"),
    (_enc("snp-not-regulated", date="2025-03-05", time="10:00", patient=ADULT,
          claimed=["G", "SNP"]), "rule_breaking_cotation", "SNP without regulation"),
    (_enc("rqd-with-g", date="2025-03-05", place="tele", patient=ADULT,
          done=["tele_expertise_request", "teleconsultation"], claimed=["RQD", "TCG"]),
     "rule_breaking_cotation", "tele-expertise billed with a teleconsultation"),
    (_enc("ccam-modifier-on-g", date="2025-03-05", patient=ADULT,
          circumstances={"emergency": True}, claimed=["G", "MOD_M"]), "rule_breaking_cotation",
     "the CCAM modifier M on a consultation (never on an NGAP act)"),
    # ---- valid cotations below the optimum
    (_enc("packing-without-m", date="2025-03-05", patient=ADULT, done=["GABD002"],
          circumstances={"emergency": True}, claimed=["GABD002"]), "suboptimal_cotation",
     "urgent nasal packing at the office without the modifier M"),
    (_enc("child-without-meg", date="2025-03-05", patient={"birth_date": "2022-01-01"},
          claimed=["G"]), "suboptimal_cotation", "MEG forgotten for a 3-year-old"),
    (_enc("elderly-without-mop", date="2025-03-05", patient={"birth_date": "1940-01-01"},
          claimed=["G"]), "suboptimal_cotation", "MOP forgotten (80+, not the MT)"),
    (_enc("visit-without-md", date="2025-03-05", place="home", done=["visit"],
          practitioner={"treating_doctor": True},
          patient={"birth_date": "1940-01-01", "sex": "f"}, claimed=["VG"]),
     "suboptimal_cotation", "MD forgotten on a justified visit (80+)"),
    (_enc("night-without-mn", date="2025-03-05", time="21:30", call_time="21:00",
          patient=ADULT, circumstances={"emergency": True}, claimed=["G"]),
     "suboptimal_cotation", "MN forgotten on a night emergency"),
    (_enc("sunday-without-f", date="2025-03-09", time="10:00", patient=ADULT,
          circumstances={"emergency": True}, claimed=["G"]), "suboptimal_cotation",
     "F forgotten on a Sunday emergency"),
    (_enc("ecg-forgotten", date="2025-03-05", patient=ADULT, done=["consultation", "DEQP003"],
          claimed=["G"]), "suboptimal_cotation", "the ECG done but not billed"),
    (_enc("duty-without-crn", date="2025-03-05", time="21:30", call_time="21:00",
          patient=ADULT, circumstances={"regulated_duty": True}, claimed=["G"]),
     "suboptimal_cotation", "CRN forgotten on regulated duty"),
    (_enc("correspondent-without-mcg", date="2025-03-05", patient=ADULT,
          circumstances={"correspondent": True}, claimed=["G"]), "suboptimal_cotation",
     "MCG forgotten by the correspondent"),
    (_enc("visit-without-ik", date="2025-03-05", place="home", done=["visit"],
          practitioner={"treating_doctor": True},
          patient={"birth_date": "1940-01-01", "sex": "f"},
          travel={"ik_distance": True, "km": 12}, claimed=["VG", "MD"]),
     "suboptimal_cotation", "IK forgotten (12 km)"),
    (_enc("mis-without-mtx", date="2025-03-05", patient=ADULT,
          done=["consultation", "mis"], claimed=["G"]), "suboptimal_cotation",
     "MTX (MIS) forgotten"),
    (_enc("certificate-without-k", date="2025-03-05", patient=ADULT,
          done=["consultation", "certificate_work_accident_light"], claimed=["G"]),
     "suboptimal_cotation", "K0.7 forgotten on the final work-accident certificate"),
    (_enc("vl-as-vg", date="2025-03-05", place="home", done=["visit", "long_visit"],
          practitioner={"treating_doctor": True},
          patient={"birth_date": "1950-01-01", "sex": "f", "ald_neuro": True},
          claimed=["VG", "MD"]), "suboptimal_cotation", "a long visit billed as VG"),
    # ---- correct cotations (nothing to report)
    (_enc("ok-adult", date="2025-03-05", patient=ADULT, claimed=["G"]), None, "plain G"),
    (_enc("ok-child", date="2025-03-05", patient={"birth_date": "2022-01-01"},
          claimed=["G", "MEG"]), None, "G + MEG"),
    (_enc("ok-night", date="2025-03-05", time="21:30", call_time="21:00", patient=ADULT,
          circumstances={"emergency": True}, claimed=["G", "MN"]), None, "G + MN"),
    (_enc("ok-visit", date="2025-03-05", place="home", done=["visit"],
          practitioner={"treating_doctor": True},
          patient={"birth_date": "1940-01-01", "sex": "f"}, claimed=["VG", "MD"]), None,
     "VG + MD"),
    (_enc("ok-ecg", date="2025-03-05", patient=ADULT, done=["consultation", "DEQP003"],
          claimed=["G", "DEQP003"]), None, "G + ECG"),
    (_enc("ok-packing-m", date="2025-03-05", patient=ADULT, done=["GABD002"],
          circumstances={"emergency": True}, claimed=["GABD002", "MOD_M"]), None,
     "GABD002 + M (55.14)"),
    (_enc("ok-2023", date="2023-06-01", patient={"birth_date": "2021-01-01"},
          claimed=["G", "MEG"]), None, "an older date"),
]  # fmt: skip


def _csv(rows: list[dict[str, str]], header: list[str]) -> tuple[str, dict[int, int]]:
    """CSV text, and row index -> line number."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    lines = {}
    for i, row in enumerate(rows):
        lines[i] = buffer.getvalue().count("\n") + 1
        writer.writerow(row)
    return buffer.getvalue(), lines


def main() -> None:
    analyser = Analyser()
    nomenclature = Nomenclature(analyser.catalogue, analyser.eras)
    space = analyser.space(analyser.era_of(DATE))
    seeded: dict[str, list[dict[str, str]]] = {}

    def seed(kind: str, key: str, why: str) -> None:
        seeded.setdefault(kind, []).append({"key": key, "why": why})

    # ---------------------------------------------------------------- tariffs
    codes = sorted(
        c for c, info in analyser.catalogue.codes.items()
        if info.kind != "refined" and c not in MISSING
    )  # fmt: skip
    alive = space.alive()
    for code in MISSING:
        assert code in alive, f"{code} is not billable on {DATE}: not a missing code"
        seed("missing_code", f"missing_code:{code}", "left out of the vendor's tariffs")
    tariffs = tariff_rows(analyser, codes)
    for code, zone, start, end, amount, finding_from, why in TARIFFS:
        # Cut the exported rows of the code around the wrong period, then insert it.
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end or "2099-12-31")
        kept = []
        for row in tariffs:
            if row["code"] != code or row["zone"] != zone:
                kept.append(row)
                continue
            r_from = dt.date.fromisoformat(row["effective_from"])
            r_to = dt.date.fromisoformat(row["effective_to"] or "2099-12-31")
            if r_from < first:
                kept.append(row | {"effective_to": min(r_to, first - dt.timedelta(days=1))
                                   .isoformat()})  # fmt: skip
            if r_to > last:
                kept.append(row | {"effective_from": max(r_from, last + dt.timedelta(days=1))
                                   .isoformat()})  # fmt: skip
        kept.append({"code": code, "amount": amount, "effective_from": start,
                     "effective_to": end, "zone": zone})  # fmt: skip
        tariffs = kept
        seed("tariff_difference", f"tariff_difference:{code}:{zone}:{finding_from}", why)
    metro = sorted(
        (r for r in tariffs if r["zone"] == "metro"),
        key=lambda r: (r["code"], r["effective_from"]),
    )
    drom = [r for r in tariffs if r["zone"] == "drom"]
    for i, code in enumerate(UNKNOWN):
        metro.append({"code": code, "amount": f"{10 + i}.00", "effective_from": "2024-01-01",
                      "effective_to": "", "zone": "metro"})  # fmt: skip
        seed("unknown_code", f"unknown_code:{code}", "not an NGAP/CCAM code")
    # Input errors in the tariffs: extra rows, so that nothing else changes.
    bad_tariffs = [
        ({"code": "G", "amount": "30.00", "effective_from": "2025-02-30", "effective_to": "",
          "zone": "metro"}, "bad date 2025-02-30"),
        ({"code": "MEG", "amount": "abc", "effective_from": "2025-01-01", "effective_to": "",
          "zone": "metro"}, "amount that is not a number"),
        ({"code": "VG", "amount": "30.00", "effective_from": "2025-01-01", "effective_to": "",
          "zone": "guadeloupe"}, "zone that is not metro / drom"),
        (next(r for r in metro if r["code"] == "TCG" and r["effective_to"] == ""),
         "duplicate row"),
        ({"code": "MD", "amount": "10.00", "effective_from": "2025-06-01",
          "effective_to": "2025-01-01", "zone": "metro"}, "period that ends before it starts"),
    ]  # fmt: skip
    bad_at = len(metro)
    metro += [dict(row) for row, _ in bad_tariffs]
    text, lines = _csv(metro, list(TARIFF_HEADER))
    (HERE / "tariffs.csv").write_text(
        "# Vendor X tariff export (deliberately flawed example: see SEEDED_DEFECTS.yaml)\n" + text,
        encoding="utf-8",
    )
    for i, (_, why) in enumerate(bad_tariffs):
        seed("input_error", f"input_error:tariffs.csv:{lines[bad_at + i] + 1}", why)
    # DROM tariffs as JSON (the JSON form of the same format).
    (HERE / "tariffs_drom.json").write_text(
        json.dumps({"tariffs": drom}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    # A file whose header lacks a required column: rejected as a whole.
    (HERE / "tariffs_update_2026.csv").write_text(
        "code,price,effective_from\nG,31.50,2026-01-01\n", encoding="utf-8"
    )
    seed("input_error", "input_error:tariffs_update_2026.csv:1", "missing column amount")

    # ---------------------------------------------------------------- cumulation matrix
    vendor_codes = set(codes)
    pairs = pair_rows(analyser, DATE, vendor_codes)
    dropped = {tuple(sorted((a, b))) for a, b, _ in WRONGLY_FORBIDDEN_DROPPED}
    pairs = [p for p in pairs if (p["code_a"], p["code_b"]) not in dropped]
    for a, b, why in WRONGLY_FORBIDDEN_DROPPED:
        assert space.satisfiable([a, b]), f"{a}+{b} is not billable together"
        x, y = sorted((a, b))
        seed("wrongly_forbidden", f"wrongly_forbidden:{x}:{y}", why + " (row lost)")
    condition_columns = ["place", "sector", "age_band", "day", "sex"]
    for a, b, cond, why in WRONGLY_ALLOWED:
        restriction = _restriction(cond)
        assert not space.satisfiable([a, b], restriction), f"{a}+{b} {cond} is billable"
        pairs.append({"code_a": a, "code_b": b, "allowed": "yes", **cond})
        seed("wrongly_allowed", _pair_key("wrongly_allowed", a, b, cond), why)
    for a, b, cond, why in WRONGLY_FORBIDDEN_ROWS:
        assert space.satisfiable([a, b], _restriction(cond)), f"{a}+{b} {cond} is not billable"
        pairs.append({"code_a": a, "code_b": b, "allowed": "no", **cond})
        seed("wrongly_forbidden", _pair_key("wrongly_forbidden", a, b, cond), why)
    pairs.append({"code_a": "GX", "code_b": "G", "allowed": "yes"})  # unknown code, again
    bad_pairs = [
        ({"code_a": "G", "code_b": "MEG", "allowed": "maybe"}, "allowed is not yes / no"),
        ({"code_a": "G", "code_b": "MEG", "allowed": "yes", "place": "garden"},
         "unknown place"),
        ({"code_a": "G", "code_b": "MEG", "allowed": "yes", "age_band": "0-4"},
         "age band not aligned with the NGAP age limits"),
        ({"code_a": "G", "code_b": "G", "allowed": "no"}, "a code paired with itself"),
        ({"code_a": "MEG", "code_b": "G", "allowed": "yes"}, "duplicate of the G / MEG row"),
    ]  # fmt: skip
    bad_at = len(pairs)
    pairs += [row for row, _ in bad_pairs]
    text, lines = _csv(pairs, [*PAIR_HEADER, *condition_columns])
    (HERE / "cumulation.csv").write_text(text, encoding="utf-8")
    for i, (_, why) in enumerate(bad_pairs):
        seed("input_error", f"input_error:cumulation.csv:{lines[bad_at + i]}", why)

    # ---------------------------------------------------------------- test encounters
    yaml_items: list[dict[str, Any]] = []
    json_items: list[dict[str, Any]] = []
    for data, kind, why in ENCOUNTERS:
        encounter = Encounter.model_validate(data)
        verdict = nomenclature.check(encounter)
        optimal = {frozenset(c.codes) for c in nomenclature.optimise(encounter).optimal}
        if verdict.violations:
            found: str | None = "rule_breaking_cotation"
        elif frozenset(verdict.claimed.codes) not in optimal:
            found = "suboptimal_cotation"
        else:
            found = None
        assert found == kind, f"{data['id']}: expected {kind}, the model says {found}"
        if kind is not None:
            seed(kind, f"{kind}:{data['id']}", why)
        (yaml_items if kind == "rule_breaking_cotation" else json_items).append(data)
    bad_encounters = [
        ({"id": "bad-field", "date": "2025-03-05", "place": "office", "done": ["consultation"],
          "claimed": ["G"], "urgent": True}, "unknown field"),
        ({"id": "no-claim", "date": "2025-03-05", "place": "office", "done": ["consultation"]},
         "no claimed cotation"),
    ]  # fmt: skip
    text = yaml.safe_dump(
        {"encounters": yaml_items + [e for e, _ in bad_encounters]},
        sort_keys=False,
        allow_unicode=True,
    )
    (HERE / "encounters.yaml").write_text(text, encoding="utf-8")
    item_lines = [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("- ")]
    for (_, why), line in zip(bad_encounters, item_lines[len(yaml_items) :], strict=True):
        seed("input_error", f"input_error:encounters.yaml:{line}", why)
    (HERE / "encounters.json").write_text(
        json.dumps(json_items, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    manifest = {
        "date": DATE.isoformat(),
        "note": (
            "Generated by make_example.py. Keys are finding keys of `ngap validate-ruleset` "
            "with file paths relative to this folder; the test checks that the findings are "
            "exactly these."
        ),
        "counts": {kind: len(items) for kind, items in seeded.items()},
        "defects": seeded,
    }
    (HERE / "SEEDED_DEFECTS.yaml").write_text(
        "# Seeded defects of the flawed vendor rule set of this folder.\n"
        + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
    print({kind: len(items) for kind, items in seeded.items()})
    write_baseline(analyser, nomenclature)


def write_baseline(analyser: Analyser, nomenclature: Nomenclature) -> None:
    """``baseline.json``: every seeded defect accepted, its reason the seed's explanation
    (what ``--write-baseline`` writes, with the reasons filled in).  With it,
    ``ngap validate-ruleset examples/vendor --date 2025-03-01 --baseline
    examples/vendor/baseline.json`` exits 0; the CI examples of ``docs/analysis.md`` use it."""
    manifest = yaml.safe_load((HERE / "SEEDED_DEFECTS.yaml").read_text(encoding="utf-8"))
    why = {d["key"]: d["why"] for items in manifest["defects"].values() for d in items}
    report = Validator(analyser, nomenclature).validate(
        [str(HERE)], DATE, witnesses_for_missing=False, exclude=[str(HERE / "baseline.json")]
    )
    unexplained = sorted(f.key for f in report.findings if f.key not in why)
    assert not unexplained, f"findings that are not seeded: {unexplained}"
    entries = []
    for entry in entries_for(report.findings):
        if entry.kind == "missing_code":
            reasons = {why[f"missing_code:{code}"] for code in entry.codes}
        else:
            reasons = {why[f.key] for f in report.findings if f.identity in entry.identities()}
        reason = "seeded defect of the example: " + "; ".join(sorted(reasons))
        entries.append(replace(entry, reason=reason))
    (HERE / "baseline.json").write_text(baseline_text(entries, DATE), encoding="utf-8")


def _restriction(cond: dict[str, str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    sectors = {"1": "s1", "2": "s2", "2_optam": "s2_optam"}
    for key, value in cond.items():
        if key == "age_band":
            bands = age_bands(value)
            assert isinstance(bands, tuple), bands
            out["age"] = bands
        elif key == "sector":
            out["sector"] = (sectors[value],)
        else:
            out[key] = (value,)
    return out


def _pair_key(kind: str, a: str, b: str, cond: dict[str, str]) -> str:
    x, y = sorted((a, b))
    text = ";".join(f"{k}={cond[k]}" for k in sorted(cond))
    return f"{kind}:{x}:{y}" + (f":{text}" if text else "")


if __name__ == "__main__":
    if sys.argv[1:] == ["--baseline-only"]:
        analyser = Analyser()
        write_baseline(analyser, Nomenclature(analyser.catalogue, analyser.eras))
    else:
        main()
