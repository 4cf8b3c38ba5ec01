"""The per-request time limit of the engine: solves stop at the deadline, nothing lingers."""

from __future__ import annotations

import time

import pytest
from service_support import NIGHT_NOT_URGENT_2025, case

from ngap import Encounter, Nomenclature
from ngap.solver.engine import SolveTimeout, time_limit
from ngap.solver.results import WhyNotResult


def _open_encounter() -> Encounter:
    """Little known: the solver has much to search (every circumstance open)."""
    data = case(NIGHT_NOT_URGENT_2025).data["encounter"]
    flags = {"emergency": None, "regulated": None, "regulated_duty": None, "left_at_once": None}
    return Encounter.model_validate(
        {"date": data["date"], "place": "home", "done": ["visit"], "circumstances": flags}
    )


def _key(result: WhyNotResult) -> tuple[object, ...]:
    """What the answer says (the values shown for context that matters nothing may vary
    between equivalent optimal models)."""
    with_code = result.with_code.codes if result.with_code else None
    return (
        result.status,
        result.optimal.codes,
        result.optimal.total_cents,
        with_code,
        tuple(v.rule for v in result.violations),
        result.conditions,
        result.changes,
    )


def test_deadline_stops_the_solver_and_leaves_it_usable(
    nomenclature: Nomenclature, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Solve every time: remembered answers (switched on by an audit on the session's engine)
    # would never meet the deadline.
    monkeypatch.setattr(nomenclature, "answer_memo", 0)
    encounter = _open_encounter()
    expected = _key(nomenclature.why_not(encounter, "MM"))
    started = time.monotonic()
    with pytest.raises(SolveTimeout), time_limit(0.001):
        for _ in range(1000):  # each call solves many times: the deadline falls inside
            nomenclature.why_not(encounter, "MM")
    assert time.monotonic() - started < 30
    # No interrupt left behind: the next answers, limited or not, are the full ones.
    assert _key(nomenclature.why_not(encounter, "MM")) == expected
    with time_limit(120):
        assert _key(nomenclature.why_not(encounter, "MM")) == expected


def test_no_limit_outside_the_block(nomenclature: Nomenclature) -> None:
    encounter = _open_encounter()
    with time_limit(60):
        limited = nomenclature.optimise(encounter)
    again = nomenclature.optimise(encounter)
    assert [(c.codes, c.total_cents) for c in again.optimal] == [
        (c.codes, c.total_cents) for c in limited.optimal
    ]
    assert limited.best.total_cents > 0
