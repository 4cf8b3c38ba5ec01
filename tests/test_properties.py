"""Property-based tests (hypothesis) of the three modes on generated, fully specified encounters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngap import Encounter, Nomenclature
from ngap.model.vocabulary import ACTIVITIES, CCAM_ACTS

MAIN_ACTIVITIES = ["consultation", "visit", "teleconsultation"]
EXTRA = [a for a in ACTIVITIES if a not in MAIN_ACTIVITIES]
FLAGS = [
    "emergency",
    "regulated",
    "regulated_duty",
    "left_at_once",
    "correspondent",
    "mt_request",
    "fast_referral",
    "home_justified",
    "discharge_30d",
    "discharge_heart_failure",
]


@st.composite
def encounters(draw: st.DrawFn) -> Encounter:
    date = draw(st.dates(dt.date(2022, 1, 1), dt.date(2026, 11, 26)))
    birth = date - dt.timedelta(days=draw(st.integers(0, 95 * 365)))
    place = draw(st.sampled_from(["office", "home", "institution", "tele"]))
    main = draw(st.sampled_from(MAIN_ACTIVITIES))
    extra = draw(st.lists(st.sampled_from(EXTRA + list(CCAM_ACTS)), max_size=2, unique=True))
    sector = draw(st.sampled_from(["1", "2"]))
    data: dict[str, Any] = {
        "date": date.isoformat(),
        "time": f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        "call_time": f"{draw(st.integers(0, 23)):02d}:00",
        "place": place,
        "pdsa_extended": draw(st.booleans()),
        "practitioner": {
            "specialty": draw(st.sampled_from(["gp", "gp_specialist"])),
            "sector": sector,
            "optam": draw(st.booleans()),
            "rate": draw(st.sampled_from(["opposable", "above"])),
            "treating_doctor": draw(st.booleans()),
        },
        "patient": {
            "birth_date": birth.isoformat(),
            "sex": draw(st.sampled_from(["f", "m"])),
            "ald": draw(st.booleans()),
        },
        "circumstances": {f: draw(st.booleans()) for f in FLAGS},
        "done": [main, *extra],
    }
    return Encounter.model_validate(data)


SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(encounters())
def test_optimum_is_clean_and_maximal(nomenclature: Nomenclature, enc: Encounter) -> None:
    result = nomenclature.optimise(enc)
    assert result.optimal, "optimise always answers (the empty cotation is valid)"
    best = result.optimal[0]
    for cotation in result.optimal:
        assert cotation.total_cents == best.total_cents
        verdict = nomenclature.check(enc, list(cotation.codes))
        assert verdict.status == "valid", verdict.violations
        assert verdict.difference_cents == 0
    for cotation in nomenclature.enumerate(enc, limit=100_000).cotations:
        assert cotation.total_cents <= best.total_cents


@SETTINGS
@given(encounters(), st.data())
def test_claiming_an_unperformed_act_violates(
    nomenclature: Nomenclature, enc: Encounter, data: st.DataObject
) -> None:
    required = nomenclature.required_activities()
    candidates = sorted(
        code
        for code, activities in required.items()
        if not activities & set(enc.done)
        and nomenclature.catalogue.codes[code].billable_on(enc.date)
    )
    code = data.draw(st.sampled_from(candidates))
    base = list(nomenclature.optimise(enc).best.codes)
    verdict = nomenclature.check(enc, [*base, code])
    assert verdict.status == "violation"
    assert "act_not_performed" in {v.rule for v in verdict.violations}
