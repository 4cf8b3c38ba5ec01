"""Groundings kept within a memory budget, and context dimensions fixed where nothing depends on
them: neither may change an answer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from ngap import Encounter, Nomenclature
from ngap.solver import program as program_module
from ngap.solver.engine import shape_facts


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
    engine.ground_all()  # every era's full grounding: shapes find their codes there
    # Room for the eras' full groundings (dropped last) and a few shapes: they come and go.
    engine.grounding_budget = engine.grounded_bytes + 4 * 2**20
    # The first 16 encounters twice: every shape is grounded, dropped and grounded again.
    sample = _encounters()[:16]
    answers = []
    made = 0
    real_ground = program_module.ground

    def counted(*args: Any, **kwargs: Any) -> program_module.GroundProgram:
        nonlocal made
        made += 1
        return real_ground(*args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr("ngap.solver.engine.ground", counted)
    # Shapes get their grounding on their second sighting even with the budget full.
    patch.setattr("ngap.solver.engine.PARTITION_AFTER_WHEN_FULL", 2)
    try:
        for enc, claimed in sample * 2:
            answers.append(_answer(engine, enc, claimed))
            assert engine.grounded_bytes <= engine.grounding_budget or engine.groundings == 1
    finally:
        patch.undo()
    assert made > len({(e.place, tuple(e.done)) for e, _ in sample})  # some made again
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


@pytest.mark.parametrize(
    ("place", "done"),
    [
        ("office", "contraception_first"),  # sex matters from the second era on
        ("office", "prevention_checkup"),  # RDV exists from 30 May 2024 only
        ("home", "visit"),
    ],
)
def test_a_shape_over_every_era_answers_as_the_eras_own_groundings(place: str, done: str) -> None:
    """One grounding of a shape spans every era; in each era, the codes it may bill and the
    dimensions an answer depends on are those of a grounding of that era alone."""
    engine = Nomenclature.load()
    shape = engine.shape_program(place, frozenset({done}))
    assert shape.candidates_by_era is not None and shape.relevant_by_era is not None
    fixed = shape_facts(place, frozenset({done}))
    differ = set()
    for era in engine.eras:
        full = engine.full_program(era)
        lits = [full.ctx_literals[item] for item in fixed.items()]
        candidates = frozenset(engine._brave_bills(full, [*lits, -full.violated_literal]))
        alone = program_module.ground(
            engine.catalogue, (era,), fixed=fixed, candidates=candidates
        )
        assert shape.candidates_by_era[str(era.index)] == candidates
        assert alone.relevant is not None
        assert shape.relevant_in(str(era.index)) - {"era"} == alone.relevant
        differ.add(alone.relevant)
    if done != "visit":
        assert len(differ) > 1  # the case this test is about: relevance changes with the era


def test_a_claim_of_a_code_its_era_cannot_bill_is_judged_on_the_full_grounding() -> None:
    """RDV is in the shape grounding of a prevention check-up (billable from 30 May 2024), but
    claimed in 2023 it is judged on the era's full grounding.  There the patient's unknown age
    stays open, so the claim breaks one rule only (the code is not in force); the shape
    grounding, where no rule of 2023 reads the age, would fix an age and add a second one."""
    engine = Nomenclature.load()
    encounter = Encounter.model_validate(
        {"date": "2023-06-01", "place": "office", "done": ["prevention_checkup"]}
    )
    for _ in range(3):  # the shape gets its grounding on its second sighting
        result = engine.check(encounter, ["RDV"])
        assert result.status == "violation"
        assert {v.rule for v in result.violations} == {"code_not_in_force"}
    assert ("shape", "office", frozenset({"prevention_checkup"})) in engine._groundings
    later = encounter.model_copy(update={"date": dt.date(2025, 3, 3)})
    assert engine.check(later, ["RDV"]).status == "conditional"  # on the patient's age


def test_a_dimension_the_input_narrows_is_no_condition_on_any_grounding() -> None:
    """An SNDS age in years leaves a few age bands.  A COE claim is judged first on the era's
    full grounding (every dimension open), then on its shape's (where no rule reads the age):
    both answers must give the same conditions, without "age in the bands the input allows"."""
    engine = Nomenclature.load()
    encounter = Encounter.model_validate(
        {"date": "2024-01-10", "place": "office", "done": ["child_exam_certificate"]}
    )
    ctx = engine.context(encounter)
    values = {k: v for k, v in ctx.values.items() if k != "exam_window"}
    values["age"] = frozenset({"a1", "a2", "a3"})
    ctx = dataclasses.replace(ctx, values=values)
    judged_on: list[str] = []
    claim_literals = engine._claim_literals

    def recorded(*args: Any) -> Any:
        program, lits, open_dims = claim_literals(*args)
        judged_on.append("shape" if program.fixed else "full")
        return program, lits, open_dims

    engine._claim_literals = recorded  # type: ignore[method-assign]
    for _ in range(3):
        result = engine.check_context(ctx, encounter.done, ["COE"])
        assert result.status == "conditional"
        assert result.conditions == {"exam_window": ("coe",)}
    assert judged_on[0] == "full" and judged_on[-1] == "shape"


def _possible_one_by_one(
    engine: Nomenclature, program: Any, lits: list[int], open_dims: list[str]
) -> dict[str, tuple[str, ...]]:
    """The values of each open dimension under which the claim can be valid, one solve call
    per value: the plain definition the single-call enumeration must agree with."""
    violated = program.violated_literal
    possible: dict[str, tuple[str, ...]] = {}
    for dim in open_dims:
        values = tuple(
            value
            for value in sorted(program.dims[dim])
            if engine._solve(
                program,
                [*lits, -violated, program.ctx_literals[(dim, value)]],
                open_dims,
                opt_mode="ignore",
                models=1,
            )
        )
        if values:
            possible[dim] = values
    return possible


def test_context_values_in_one_call_equal_one_solve_per_value(nomenclature: Nomenclature) -> None:
    """``_possible_values`` enumerates the values some valid answer can take in one solve call
    (a clause per model asks for a value not yet seen); it must find exactly the values that
    a solve per value finds, on shape and full groundings, valid claims and violations."""
    compared = 0
    for enc, claimed in _encounters()[:24]:
        ctx = nomenclature.context(enc)
        for claim in (claimed, claimed[:1], [*claimed, "MN"]):
            codes, _ = nomenclature.normalise_claim(claim)
            program, lits, open_dims = nomenclature._claim_literals(ctx, codes)
            if not open_dims:
                continue
            want = _possible_one_by_one(nomenclature, program, lits, open_dims)
            assert nomenclature._possible_values(program, lits, open_dims) == want, (enc, claim)
            compared += 1
    assert compared >= 20


def test_an_empty_claim_is_valid_in_every_context_as_the_full_search_says() -> None:
    """``judge_context`` answers an empty claim from one solve per grounding (billing nothing
    breaks no rule in any context); the search it spares gives the same answer."""
    engine = Nomenclature.load()
    for enc, _ in _encounters()[:16]:
        ctx = engine.context(enc)
        assert engine.judge_context(ctx, ()) == ("valid", {})
        program, lits, open_dims = engine._claim_literals(ctx, ())
        assert engine._nothing_billed_is_valid(program)
        # The search it spares: a valid model, and no context where the claim breaks a rule.
        violated = program.violated_literal
        assert engine._solve(program, [*lits, -violated], open_dims, opt_mode="ignore", models=1)
        assert engine._conditions(program, lits, open_dims) == ("valid", {})
    for era in engine.eras:  # every era's rule base: nothing billed, nothing broken
        full = engine.full_program(era)
        nothing = [-lit for lit in full.bill_literals.values()]
        assert not engine._solve(
            full, [*nothing, full.violated_literal], [], opt_mode="ignore", models=1
        ), era
        assert engine._nothing_billed_is_valid(full), era


def test_true_literals_read_what_is_true_reads() -> None:
    """``truth.true_literals`` (clingo's C binding) agrees with ``Model.is_true`` on every model
    of a small program, literals in their given order."""
    import clingo

    from ngap.solver.truth import true_literals

    ctl = clingo.Control(["0", "--warn=none"])
    ctl.add("base", [], "{ a(1..4) }. :- a(1), a(2). #show a/1.")
    ctl.ground([("base", [])])
    literals = [atom.literal for atom in ctl.symbolic_atoms.by_signature("a", 1)][::-1]
    seen = 0

    def on_model(model: clingo.Model) -> None:
        nonlocal seen
        assert true_literals(model, literals) == [x for x in literals if model.is_true(x)]
        seen += 1

    ctl.solve(on_model=on_model)
    assert seen == 12  # 16 subsets, 4 with both a(1) and a(2)
