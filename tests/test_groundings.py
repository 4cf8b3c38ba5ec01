"""Groundings kept within a memory budget, and context dimensions fixed where nothing depends on
them: neither may change an answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ngap import Encounter, Nomenclature
from ngap.solver import program as program_module


def _encounters() -> list[tuple[Encounter, list[str]]]:
    """Varied encounters, with sex, ALD, time of call, urgency left unknown in some."""
    out = []
    shapes: list[tuple[str, list[str], list[str]]] = [
        ("office", ["consultation"], ["G"]),
        ("office", ["consultation"], ["G", "MN"]),
        ("office", ["consultation"], ["G", "MEG"]),
        ("office", ["consultation", "DEQP003"], ["G", "DEQP003"]),
        ("home", ["visit"], ["VG", "MD", "IK"]),
        ("home", ["long_visit"], ["VL", "MD", "IK"]),
        ("tele", ["teleconsultation"], ["TCG"]),
        ("office", ["consultation"], ["CS"]),
    ]
    for i in range(48):
        place, done, claimed = shapes[i % len(shapes)]
        day = min(dt.date(2022, 3, 1) + dt.timedelta(days=97 * i), dt.date(2026, 11, 30))
        data: dict[str, Any] = {
            "date": day.isoformat(),
            "place": place,
            "practitioner": {"treating_doctor": i % 3 != 0},
            "patient": {"age": {"years": [2, 40, 85][i % 3]}},
            "travel": {"km": 1 + i % 9, "ik_distance": True},
            "done": done,
        }
        if i % 4:
            data["time"] = ["10:15", "21:30", "03:05"][i % 3]
            data["circumstances"] = {"emergency": i % 5 == 0}
        if i % 2:
            data["call_time"] = data.get("time", "10:00")
            data["patient"] |= {"sex": "f", "ald": i % 6 == 1}
        out.append((Encounter.model_validate(data), claimed))
    return out


def _answer(engine: Nomenclature, enc: Encounter, claimed: list[str]) -> dict[str, Any]:
    result = engine.check(enc, claimed).to_dict()
    for part in ("claimed", "optimal"):
        if result.get(part):
            # The assumed values of the open dimensions (and their wording) are shown; a
            # dimension fixed because no answer depends on it is rightly not mentioned.
            result[part].pop("assumed", None)
            result[part].pop("assumed_text", None)
    return result


@pytest.fixture(scope="module")
def plain_answers() -> list[dict[str, Any]]:
    """Answers with every unknown dimension left open and no bound on the groundings."""
    patch = pytest.MonkeyPatch()
    patch.setattr(program_module._Rules, "relevant_dims", lambda self, program, ctl: None)
    try:
        engine = Nomenclature.load()
        engine.grounding_budget = 1 << 40
        return [_answer(engine, enc, claimed) for enc, claimed in _encounters() * 2]
    finally:
        patch.undo()


def test_fixing_irrelevant_dimensions_changes_no_answer(
    plain_answers: list[dict[str, Any]],
) -> None:
    engine = Nomenclature.load()
    answers = [_answer(engine, enc, claimed) for enc, claimed in _encounters() * 2]
    assert answers == plain_answers
    shapes = [p for p in engine._groundings.values() if p.fixed]
    assert shapes and all(p.relevant is not None for p in shapes)
    consultation = engine.optimise_program(
        engine.eras[-1], "office", frozenset({"consultation"})
    )
    assert consultation.relevant is not None
    assert {"hour", "call", "emergency", "age"} <= consultation.relevant  # MN, MEG depend on them
    assert "sex" not in consultation.relevant  # no rule of a plain consultation reads it


def test_a_small_budget_keeps_memory_bounded_and_answers_equal(
    plain_answers: list[dict[str, Any]],
) -> None:
    engine = Nomenclature.load()
    engine.grounding_budget = 12 * 2**20  # a few groundings: they come and go
    # The first 16 encounters twice: every shape is grounded, dropped and grounded again.
    sample = _encounters()[:16]
    answers = []
    for enc, claimed in sample * 2:
        answers.append(_answer(engine, enc, claimed))
        assert engine.grounded_bytes <= engine.grounding_budget or engine.groundings == 1
    n = len(_encounters())
    assert answers == plain_answers[:16] + plain_answers[n : n + 16]


def test_grounding_size_follows_the_grounding() -> None:
    engine = Nomenclature.load()
    era = engine.eras[-1]
    full = program_module.grounding_bytes(engine.full_program(era))
    shape = program_module.grounding_bytes(
        engine.optimise_program(era, "tele", frozenset({"teleconsultation"}))
    )
    assert shape < full  # fewer codes and rules in the shape, so a smaller estimate
    assert engine.grounded_bytes >= full + shape
