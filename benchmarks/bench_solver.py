"""Benchmark: optimise and check on generated encounters, ground-once vs a naive baseline.

Run:  python benchmarks/bench_solver.py [--encounters 10000] [--baseline 300]

Prints encounters per second for
  (a) the ground-once design (one grounding per era, per era and place, and per recurring
      encounter shape; each encounter is a list of solver assumptions), for optimise and for
      check, every encounter distinct, no caching of answers: first a cold batch (which grounds
      the shapes), then a measured batch of other encounters from the same distribution;
  (b) a naive baseline that builds and grounds a new clingo Control for each encounter, with
      the encounter's context as facts (measured on a sample, same generator);
then the ratio and the peak RSS.  The last line is one JSON object with the figures.
Pinned to one core when the OS allows it.  Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import clingo
from clingo import Function

from ngap import Encounter, Nomenclature
from ngap.solver.program import dim_symbol, knowledge_facts, value_symbol

DONE_MIX = [
    (["consultation"], 50),
    (["visit"], 10),
    (["consultation", "DEQP003"], 8),
    (["teleconsultation"], 8),
    (["child_exam"], 5),
    (["child_exam_certificate"], 3),
    (["consultation", "JKHD001"], 4),
    (["consultation", "MJPA010"], 3),
    (["visit", "DEQP003"], 2),
    (["long_visit"], 2),
    (["consultant_opinion"], 2),
    (["contraception_first"], 2),
    (["burn_small"], 1),
]


def generate(n: int, seed: int = 20261126) -> list[Encounter]:
    """Distinct, fully specified encounters with a realistic mix (documented in DONE_MIX)."""
    return list(iter_encounters(n, seed))


def iter_encounters(n: int, seed: int = 20261126) -> Iterator[Encounter]:
    """``generate``, one encounter at a time: the benchmark keeps no more than a batch alive,
    so its peak RSS is the engine's, not that of 20 000 encounters held by the harness."""
    rng = random.Random(seed)
    start = dt.date(2022, 1, 1)
    span = (dt.date(2026, 11, 26) - start).days
    choices, weights = zip(*DONE_MIX, strict=True)
    for i in range(n):
        date = start + dt.timedelta(days=rng.randrange(span))
        done = list(rng.choices(choices, weights)[0])
        place = "home" if {"visit", "long_visit"} & set(done) else "office"
        if "teleconsultation" in done:
            place = "tele"
        age_days = rng.randrange(0, 95 * 365)
        hour = rng.choices([rng.randrange(8, 19), rng.randrange(0, 24)], [85, 15])[0]
        data: dict[str, Any] = {
            "id": str(i),
            "date": date.isoformat(),
            "time": f"{hour:02d}:{rng.randrange(60):02d}",
            "call_time": f"{max(hour - 1, 0):02d}:00",
            "place": place,
            "practitioner": {
                "sector": rng.choices(["1", "2"], [80, 20])[0],
                "optam": rng.random() < 0.5,
                "rate": "opposable" if rng.random() < 0.9 else "above",
                "treating_doctor": rng.random() < 0.6,
                "specialty": rng.choice(["gp", "gp_specialist"]),
            },
            "patient": {
                "birth_date": (date - dt.timedelta(days=age_days)).isoformat(),
                "sex": rng.choice(["f", "m"]),
                "ald": rng.random() < 0.2,
            },
            "circumstances": {
                "emergency": rng.random() < 0.05,
                "correspondent": rng.random() < 0.1,
                "mt_request": rng.random() < 0.5,
                "home_justified": rng.random() < 0.5,
                "regulated": rng.random() < 0.03,
            },
            "done": done,
        }
        yield Encounter.model_validate(data)


BATCH = 500


def _batches(encounters: Iterator[Encounter]) -> Iterator[list[Encounter]]:
    while batch := list(itertools.islice(encounters, BATCH)):
        yield batch


def _key(encounter: Encounter) -> bytes:
    """An encounter without its id, as a short digest (warm-up and measured must differ)."""
    text = encounter.model_dump_json(exclude={"id"}).encode()
    return hashlib.blake2b(text, digest_size=16).digest()


def claimed_for(nomenclature: Nomenclature, enc: Encounter, rng: random.Random) -> list[str]:
    """A plausible claim: the usual letter for the act, sometimes with an extra majoration."""
    base = {"visit": "VG", "teleconsultation": "TCG", "long_visit": "VL"}.get(enc.done[0], "G")
    extra = rng.choice([[], [], ["MEG"], ["MN"], ["MD"], ["DEQP003"]])
    return [base, *extra]


def naive_rate(nomenclature: Nomenclature, encounters: list[Encounter]) -> float:
    """A new Control per encounter: load, add KB facts and the encounter as facts, ground, solve."""
    root = resources.files("ngap.asp_rules")
    with resources.as_file(root.joinpath("ngap.lp")) as path:
        lp_path = str(path)
    t0 = time.perf_counter()
    for enc in encounters:
        ctx = nomenclature.context(enc)
        ctl = clingo.Control(["--warn=none", "--opt-mode=optN"])
        ctl.load(lp_path)
        facts = knowledge_facts(nomenclature.catalogue, (ctx.era,))
        for dim, value in ctx.values.items():
            if isinstance(value, str) and dim != "era":
                facts.append(f"{Function('ctx', [dim_symbol(dim), value_symbol(dim, value)])}.")
        ctl.add("base", [], "\n".join(facts))
        ctl.add("base", [], ":- violated.")
        ctl.ground([("base", [])])
        ctl.solve(on_model=lambda m: None)
    return len(encounters) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=300, help="baseline sample size")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    t0 = time.perf_counter()
    nomenclature = Nomenclature.load()
    nomenclature.ground_all()
    load_s = time.perf_counter() - t0
    # Cold pass: a first batch from the same distribution, which also grounds the recurring
    # encounter shapes (place, activities) once; then the measured batch, all distinct.  Both
    # are generated in batches outside the timed sections and dropped after use.
    warmup_keys: set[bytes] = set()
    elapsed = 0.0
    for batch in _batches(iter_encounters(args.encounters, seed=1)):
        warmup_keys.update(_key(e) for e in batch)
        t0 = time.perf_counter()
        for enc in batch:
            nomenclature.optimise(enc)
        elapsed += time.perf_counter() - t0
    cold_per_s = args.encounters / elapsed
    shapes = nomenclature.groundings

    elapsed = 0.0
    for batch in _batches(iter_encounters(args.encounters)):
        assert not {_key(e) for e in batch} & warmup_keys, "measured encounters must be new"
        t0 = time.perf_counter()
        for enc in batch:
            nomenclature.optimise(enc)
        elapsed += time.perf_counter() - t0
    optimise_per_s = args.encounters / elapsed

    rng = random.Random(7)
    statuses: dict[str, int] = {}
    elapsed = 0.0
    for batch in _batches(iter_encounters(args.encounters)):
        claims = [claimed_for(nomenclature, e, rng) for e in batch]
        t0 = time.perf_counter()
        for enc, claim in zip(batch, claims, strict=True):
            status = nomenclature.check(enc, claim).status
            statuses[status] = statuses.get(status, 0) + 1
        elapsed += time.perf_counter() - t0
    check_per_s = args.encounters / elapsed

    encounters = generate(args.baseline)
    baseline_per_s = naive_rate(nomenclature, encounters)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "encounters": args.encounters,
        "load_and_ground_s": round(load_s, 3),
        "optimise_per_s": round(optimise_per_s, 1),
        "optimise_cold_per_s": round(cold_per_s, 1),
        "groundings_kept": shapes,
        "grounded_mb_estimated": round(nomenclature.grounded_bytes / 2**20, 1),
        "grounding_budget_mb": round(nomenclature.grounding_budget / 2**20, 1),
        "check_per_s": round(check_per_s, 1),
        "check_statuses": statuses,
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio": round(optimise_per_s / baseline_per_s, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "clingo": clingo.__version__,
        "python": sys.version.split()[0],
    }
    print(f"encounters          {args.encounters}")
    print(f"load + ground (all) {load_s:.2f} s")
    print(f"optimise, cold      {cold_per_s:,.0f} enc/s (first batch; {shapes} groundings kept)")
    print(f"optimise            {optimise_per_s:,.0f} enc/s (ground once, assumptions)")
    print(f"check               {check_per_s:,.0f} enc/s (includes the optimum for the difference)")
    print(f"baseline            {baseline_per_s:,.1f} enc/s (new Control per encounter)")
    print(f"ratio               {optimise_per_s / baseline_per_s:,.1f}x")
    print(f"peak RSS            {peak_rss_mb:,.0f} MB")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
