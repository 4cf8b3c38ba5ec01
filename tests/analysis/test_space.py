"""Questions over every context of an era: billable codes, pairs, blocking rules, witnesses."""

from __future__ import annotations

import itertools
import random
import time

from ngap import Encounter, Nomenclature
from ngap.analysis.rulebase import Analyser
from ngap.analysis.space import EraSpace


def _check(nomenclature: Nomenclature, analyser: Analyser, witness: object) -> object:
    replay = analyser.replay(witness)  # type: ignore[arg-type]
    assert replay["replayable"], replay.get("differences")
    return nomenclature.check(Encounter.model_validate(replay["encounter"]))


def test_a_billable_code_has_a_witness_that_replays_valid(
    space: EraSpace, analyser: Analyser, nomenclature: Nomenclature
) -> None:
    witness = space.witness(["G", "MEG"])
    assert witness is not None
    assert {"G", "MEG"} <= set(witness.billed)
    assert witness.context["age"] in ("a0", "a1", "a2", "a3", "a4", "a5", "a6")
    verdict = _check(nomenclature, analyser, witness)
    assert verdict.status == "valid", verdict.violations  # type: ignore[attr-defined]


def test_every_billable_code_replays_valid(
    space: EraSpace, analyser: Analyser, nomenclature: Nomenclature
) -> None:
    """The realisability constraints make every witness an encounter the model accepts."""
    for code in sorted(space.alive()):
        witness = space.witness([code])
        assert witness is not None, code
        verdict = _check(nomenclature, analyser, witness)
        assert verdict.status == "valid", (code, verdict.violations)  # type: ignore[attr-defined]


def test_never_together_names_the_rule_and_its_witness_breaks_it(
    space: EraSpace, analyser: Analyser, nomenclature: Nomenclature
) -> None:
    assert space.witness(["MN", "F"]) is None
    blocking = space.blocking(["MN", "F"])
    assert blocking is not None
    assert blocking.rules == ("one_time_majoration",)
    assert blocking.sufficient == ("one_time_majoration",)
    verdict = _check(nomenclature, analyser, blocking.witness)
    assert {v.rule for v in verdict.violations} == {"one_time_majoration"}  # type: ignore[attr-defined]


def test_blocking_lists_alternative_rule_sets(space: EraSpace) -> None:
    blocking = space.blocking(["MCU", "CS"])
    assert blocking is not None
    found = {blocking.rules, *blocking.alternatives}
    assert ("overrun_letter",) in found and ("opposable_only",) in found


def test_disabling_a_rule_unblocks_its_pair(space: EraSpace) -> None:
    assert not space.satisfiable(["MN", "F"])
    with space.disabled_rules(["one_time_majoration"]):
        assert space.satisfiable(["MN", "F"])
    assert not space.satisfiable(["MN", "F"])


def test_context_restrictions(space: EraSpace) -> None:
    assert space.satisfiable(["G", "MEG"], {"place": ["office"]})
    assert not space.satisfiable(["G", "MEG"], {"age": ["a20"]})
    witness = space.witness(["VG", "MD"], {"sector": ["s2_optam"]})
    assert witness is not None and witness.context["sector"] == "s2_optam"


def test_dead_code_and_existence(analyser: Analyser) -> None:
    space = analyser.space(analyser.era_of(__import__("datetime").date(2024, 6, 1)))
    assert "MMG" in space.existing and "MMG" not in space.alive()
    blocking = space.blocking(["MMG"])
    assert blocking is not None and blocking.rules == ("mmg_inside_g",)


def test_matrix_agrees_with_pair_questions(space: EraSpace) -> None:
    matrix = space.matrix()
    for a, partners in matrix.items():
        for b in partners:
            assert a in matrix[b], (a, b)  # symmetric
    rng = random.Random(7)
    codes = sorted(matrix)
    for a, b in rng.sample(list(itertools.combinations(codes, 2)), 60):
        assert (b in matrix[a]) == space.satisfiable([a, b]), (a, b)
    assert {"RQD", "TE2"} <= set(codes) and not matrix["RQD"] and not matrix["TE2"]


def test_a_pair_witness_is_fast(space: EraSpace, analyser: Analyser) -> None:
    pairs = [("G", "MEG"), ("VG", "MD"), ("G", "DEQP003"), ("G", "MN"), ("CRM", "G")]
    started = time.perf_counter()
    for a, b in pairs * 4:
        witness = space.witness([a, b])
        assert witness is not None
        analyser.replay(witness)
    per_pair = (time.perf_counter() - started) / (len(pairs) * 4)
    assert per_pair < 0.05, f"{per_pair * 1000:.1f} ms per pair witness"


def test_largest_cotation_is_billable_at_once(space: EraSpace) -> None:
    witness = space.largest_cotation({"place": ["tele"]})
    assert witness is not None and len(witness.billed) >= 2
    assert witness.context["place"] == "tele"
    assert space.satisfiable(list(witness.billed), {"place": ["tele"]})
