"""Benchmark: the rule-set analysis (all eras, all pairs) and a 200-code vendor validation.

Run:  python benchmarks/bench_analysis.py [--eras all|N] [--witnesses 300]

Prints, per era: grounding, the billable codes (one brave solve), the full pairwise
co-billability matrix (one brave solve per billable code), the defect detectors; then the time of
a witness for a single pair (a valid witness turned into a replayable encounter, and the rules
blocking a forbidden pair), and a cold validation of a synthetic 200-code vendor rule set (the
model's own export plus 100 vendor-specific codes, a full cumulation matrix with a default).
Targets: the matrix of one era < 10 s on one core, a witness for a single pair < 50 ms.
The last line is one JSON object with the figures.  Pinned to one core when the OS allows it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import clingo

from ngap.analysis.export import PAIR_HEADER, TARIFF_HEADER, pair_rows, tariff_rows, to_csv
from ngap.analysis.rulebase import Analyser, _era_findings
from ngap.analysis.vendor import Validator

VENDOR_DATE = dt.date(2025, 3, 1)
VENDOR_CODES = 200


def _era_figures(analyser: Analyser) -> list[dict[str, Any]]:
    rows = []
    for era in analyser.eras:
        t0 = time.perf_counter()
        space = analyser.space(era)
        t1 = time.perf_counter()
        alive = space.alive()
        t2 = time.perf_counter()
        matrix = space.matrix()
        t3 = time.perf_counter()
        findings = _era_findings(analyser, space)
        t4 = time.perf_counter()
        pairs = sum(len(v) for v in matrix.values()) // 2
        rows.append(
            {
                "era": era.index,
                "start": era.start.isoformat(),
                "codes": len(space.codes),
                "billable": len(alive),
                "pairs": pairs,
                "ground_s": round(t1 - t0, 3),
                "billable_s": round(t2 - t1, 3),
                "matrix_s": round(t3 - t2, 3),
                "detectors_s": round(t4 - t3, 3),
                "findings": len(findings),
            }
        )
        print(
            f"era {era.index:2d} {era.start}  ground {t1 - t0:5.2f} s  billable {len(alive):3d} "
            f"({t2 - t1:5.3f} s)  matrix {pairs:5d} pairs {t3 - t2:5.2f} s  "
            f"detectors {t4 - t3:5.2f} s"
        )
    return rows


def _witness_figures(analyser: Analyser, count: int) -> dict[str, float]:
    space = analyser.space(analyser.era_of(VENDOR_DATE))
    matrix = space.matrix()
    rng = random.Random(11)
    codes = sorted(matrix)
    together = [(a, b) for a in codes for b in matrix[a] if a < b]
    apart = [(a, b) for a, b in itertools.combinations(codes, 2) if b not in matrix[a]]
    valid_ms, blocked_ms = [], []
    for a, b in rng.sample(together, min(count, len(together))):
        t0 = time.perf_counter()
        witness = space.witness([a, b])
        assert witness is not None
        analyser.replay(witness)
        valid_ms.append((time.perf_counter() - t0) * 1000)
    for a, b in rng.sample(apart, min(count // 3, len(apart))):
        t0 = time.perf_counter()
        blocking = space.blocking([a, b])
        assert blocking is not None
        analyser.replay(blocking.witness)
        blocked_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "pair_witness_ms_mean": round(statistics.mean(valid_ms), 2),
        "pair_witness_ms_p95": round(sorted(valid_ms)[int(0.95 * len(valid_ms))], 2),
        "pair_witness_ms_max": round(max(valid_ms), 2),
        "blocked_pair_ms_mean": round(statistics.mean(blocked_ms), 2),
        "blocked_pair_ms_p95": round(sorted(blocked_ms)[int(0.95 * len(blocked_ms))], 2),
    }


def _vendor_figures() -> dict[str, Any]:
    """A cold validation (new groundings) of a synthetic 200-code vendor rule set."""
    exporter = Analyser()
    tariffs = tariff_rows(exporter)
    pairs = pair_rows(exporter, VENDOR_DATE)
    known = sorted({r["code"] for r in tariffs})
    extra = [f"V{i:03d}" for i in range(VENDOR_CODES - len(known))]
    tariffs += [
        {"code": c, "amount": "10.00", "effective_from": "2024-01-01", "effective_to": "",
         "zone": "metro"}
        for c in extra
    ]  # fmt: skip
    pairs += [{"code_a": c, "code_b": "G", "allowed": "yes"} for c in extra]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "tariffs.csv").write_text(to_csv(tariffs, TARIFF_HEADER))
        Path(tmp, "cumulation.csv").write_text(to_csv(pairs, PAIR_HEADER))
        t0 = time.perf_counter()
        report = Validator(Analyser()).validate([tmp], VENDOR_DATE)
        cold = time.perf_counter() - t0
    kinds: dict[str, int] = {}
    for f in report.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    print(
        f"vendor validation   {len(known) + len(extra)} codes, {report.counts['pairs_judged']} "
        f"pairs judged, {len(tariffs)} tariff rows: {cold:.2f} s cold "
        f"(findings {kinds})"
    )
    return {
        "vendor_codes": len(known) + len(extra),
        "vendor_pairs_judged": report.counts["pairs_judged"],
        "vendor_tariff_rows": len(tariffs),
        "vendor_validation_cold_s": round(cold, 2),
        "vendor_findings": kinds,
    }


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--witnesses", type=int, default=300)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    analyser = Analyser()
    eras = _era_figures(analyser)
    total = time.perf_counter() - t0
    witness = _witness_figures(analyser, args.witnesses)
    print(
        f"pair witness        {witness['pair_witness_ms_mean']:.2f} ms mean, "
        f"{witness['pair_witness_ms_p95']:.2f} ms p95 (valid pair, replayable encounter)"
    )
    print(
        f"blocked pair        {witness['blocked_pair_ms_mean']:.2f} ms mean, "
        f"{witness['blocked_pair_ms_p95']:.2f} ms p95 (fewest blocking rules + witness)"
    )
    vendor = _vendor_figures()
    matrix_s = [e["matrix_s"] for e in eras]
    figures = {
        "eras": len(eras),
        "full_analysis_all_eras_s": round(total, 2),
        "matrix_per_era_s_max": max(matrix_s),
        "matrix_per_era_s_mean": round(statistics.mean(matrix_s), 3),
        "era_total_s_max": max(
            round(e["ground_s"] + e["billable_s"] + e["matrix_s"] + e["detectors_s"], 3)
            for e in eras
        ),
        **witness,
        **vendor,
        "per_era": eras,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "clingo": clingo.__version__,
        "python": sys.version.split()[0],
    }
    print(f"full analysis       {total:.1f} s for {len(eras)} eras (all pairs, all detectors)")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
