"""Pairwise co-billability: the analysis (clingo, brave consequences per code) against the
independent python-constraint model (``ngap/solver/crosscheck.py``).

For many fully specified contexts, the pairs of codes billable together in that context must be
the same in both engines: clingo through ``EraSpace.matrix(context)`` (the machinery of the
co-billability matrix, restricted to one context), python-constraint through
``valid_cotations(context)`` (every pair inside some valid cotation).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from ngap import Encounter, Nomenclature
from ngap.analysis.rulebase import Analyser
from ngap.model.vocabulary import FLAGS, TRIPS
from ngap.solver.crosscheck import valid_cotations

SEED = 20_250_301
COUNT = 400
MAIN = {
    "office": ["consultation"] * 6
    + ["child_exam", "child_exam_certificate", "contraception_first", "consultant_opinion"]
    + ["cso", "cte", "mph", "mt_registration", "prevention_checkup", "burn_small"]
    + ["long_consultation_discharge", "long_consultation_deprescribing"],
    "home": ["visit"] * 6 + ["long_visit", "palliative_visit", "consultant_opinion", "burn_large"],
    "institution": ["visit", "visit", "consultation", "long_visit"],
    "tele": ["teleconsultation"] * 3 + ["tele_expertise_request", "tele_expertise_answer"],
}
# CCAM acts with a cumulation exception (ECG, home supplement, smear, biopsies, spirometry) and
# two with CCAM modifiers (nasal packing, suture).
EXTRAS = ["DEQP003", "YYYY490", "JKHD001", "QZHA001", "QZHA005", "BAHA001", "GLQP012"]
EXTRAS += ["GABD002", "QZJA002", "special_demand", "mis", "piv"]
EXTRAS += ["certificate_work_accident_light", "certificate_work_accident_serious", "consultation"]
PATIENT = ("ald", "ald_neuro", "palliative", "has_treating_doctor", "unable_to_move")
TRAVEL = ("mountain", "ik_distance", "on_foot_or_ski")
OTHER = ("treating", "pdsa_extended")


def _encounter(rng: random.Random, era_starts: list[dt.date], i: int) -> Encounter:
    day = (
        rng.choice(era_starts)
        if rng.random() < 0.4
        else dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 1700))
    )
    place = rng.choice(list(MAIN))
    done = [rng.choice(MAIN[place])]
    done += [e for e in rng.sample(EXTRAS, rng.choice((0, 0, 1, 2))) if e not in done]
    years = rng.choice((0, 1, 2, 4, 10, 20, 30, 50, 62, 72, 78, 85, 90))
    birth = day - dt.timedelta(days=int(years * 365.25) + rng.randint(0, 360))
    hour, minute = rng.randint(0, 23), rng.choice((0, 30, 59))
    call = (hour * 60 + minute - rng.choice((0, 30, 120, 600))) % 1440
    circumstances = {f: rng.random() < 0.25 for f in FLAGS if f not in PATIENT + TRAVEL + OTHER}
    sector = rng.choice(("1", "1", "2"))
    data: dict[str, Any] = {
        "id": f"pair-{i}",
        "date": day.isoformat(),
        "time": f"{hour:02d}:{minute:02d}",
        "call_time": f"{call // 60:02d}:{call % 60:02d}",
        "place": place,
        "zone": "drom" if rng.random() < 0.1 else "metro",
        "alsace_moselle": rng.random() < 0.1,
        "pdsa_extended": rng.random() < 0.7,
        "trip": "single" if rng.random() < 0.8 else rng.choice(TRIPS),
        "practitioner": {
            "specialty": rng.choice(("gp", "gp", "gp_specialist")),
            "sector": sector,
            "optam": sector == "2" and rng.random() < 0.5,
            "rate": "above" if rng.random() < 0.25 else "opposable",
            "treating_doctor": rng.random() < 0.5,
        },
        "patient": {
            "birth_date": max(birth, dt.date(1900, 1, 1)).isoformat(),
            "sex": rng.choice(("f", "m")),
            **{f: rng.random() < 0.3 for f in PATIENT},
        },
        "circumstances": circumstances,
        "travel": {**{f: rng.random() < 0.2 for f in TRAVEL}, "km": rng.choice((0, 6))},
        "done": done,
    }
    return Encounter.model_validate(data)


def _pairs(cotations: Any) -> tuple[set[str], set[tuple[str, str]]]:
    singles: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for cotation in cotations:
        singles |= set(cotation)
        pairs |= set(itertools.combinations(sorted(cotation), 2))
    return singles, pairs


def test_pairwise_co_billability_agrees_with_python_constraint(
    analyser: Analyser, nomenclature: Nomenclature
) -> None:
    rng = random.Random(SEED)
    starts = [e.start for e in analyser.eras if e.start.year < 2027]
    disagreements: list[str] = []
    compared_pairs = 0
    for i in range(COUNT):
        encounter = _encounter(rng, starts, i)
        ctx = nomenclature.context(encounter)
        space = analyser.space(ctx.era)
        fixed = {d: [str(v)] for d, v in ctx.values.items() if d in space.program.dims}
        assert len(fixed) == len(space.program.dims), "the context must be fully specified"
        matrix = space.matrix(fixed)
        asp_singles = set(matrix)
        asp_pairs = {(a, b) for a, partners in matrix.items() for b in partners if a < b}
        pc_singles, pc_pairs = _pairs(valid_cotations(ctx, encounter.date, nomenclature.catalogue))
        compared_pairs += len(pc_pairs)
        if (asp_singles, asp_pairs) != (pc_singles, pc_pairs):
            disagreements.append(
                f"{encounter.id} {encounter.model_dump_json(exclude_none=True)}\n"
                f"   codes only clingo: {sorted(asp_singles - pc_singles)}, "
                f"only python-constraint: {sorted(pc_singles - asp_singles)}\n"
                f"   pairs only clingo: {sorted(asp_pairs - pc_pairs)[:6]}, "
                f"only python-constraint: {sorted(pc_pairs - asp_pairs)[:6]}"
            )
    print(f"{compared_pairs} pairs compared over {COUNT} contexts")
    assert compared_pairs > COUNT, "the generated contexts bill too few pairs to compare"
    assert not disagreements, f"{len(disagreements)} of {COUNT} contexts disagree:\n" + "\n".join(
        disagreements[:6]
    )
