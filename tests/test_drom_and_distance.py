"""The overseas department and the IK distance of an encounter (docs/drom.md, NGAP art. 13 C)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ngap import Encounter, Nomenclature

VISIT = {"date": "2023-11-28", "time": "10:00", "place": "home", "done": ["visit"]}
OLD = {"age": {"years": 85}, "sex": "f"}


def test_a_department_implies_the_overseas_zone() -> None:
    enc = Encounter.model_validate({**VISIT, "department": "973"})
    assert enc.zone == "drom"


@pytest.mark.parametrize(
    "extra",
    [
        {"zone": "metro", "department": "971"},
        {"zone": "drom", "department": "metro"},
        {"travel": {"km": 12, "distance_km": 8, "mountain": False}},
        {"travel": {"distance_km": 8, "mountain": None}},
    ],
)
def test_inconsistent_travel_or_department_is_refused(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Encounter.model_validate({**VISIT, **extra})


@pytest.mark.parametrize(
    ("distance", "mountain", "billable"),
    [(8, False, 12.0), (8, True, 14.0), (1.5, False, 0.0), (2, False, 0.0), (1.5, True, 1.0)],
)
def test_billable_km_deduct_the_allowance_on_both_legs(
    distance: float, mountain: bool, billable: float
) -> None:
    enc = Encounter.model_validate(
        {**VISIT, "travel": {"distance_km": distance, "mountain": mountain}}
    )
    assert enc.travel.billable_km == billable


def test_unnamed_department_lists_each_amount(nomenclature: Nomenclature) -> None:
    enc = Encounter.model_validate(
        {**VISIT, "zone": "drom", "patient": OLD, "travel": {"ik_distance": True, "km": 12}}
    )
    best = nomenclature.optimise(enc).best
    ik = next(line for line in best.lines if line.code == "IK")
    assert ik.unpriced and ik.amount_cents is None
    assert ik.by_department == {
        "971": "0.67", "972": "0.67", "973": "0.73", "974": "0.73", "976": "0.73"
    }
    named = Encounter.model_validate({**enc.model_dump(), "zone": "drom", "department": "971"})
    line = next(x for x in nomenclature.optimise(named).best.lines if x.code == "IK")
    assert line.amount_cents == 804 and line.by_department is None
