"""Shared fixtures of the rule-set analysis tests: one Analyser (groundings per era) per session."""

from __future__ import annotations

import datetime as dt

import pytest

from ngap import Nomenclature
from ngap.analysis.rulebase import Analyser
from ngap.analysis.space import EraSpace
from ngap.analysis.vendor import Validator
from ngap.model.eras import Era

DAY = dt.date(2025, 3, 1)


@pytest.fixture(scope="session")
def analyser(nomenclature: Nomenclature) -> Analyser:
    return Analyser(nomenclature.catalogue, nomenclature.eras)


@pytest.fixture(scope="session")
def era(analyser: Analyser) -> Era:
    return analyser.era_of(DAY)


@pytest.fixture(scope="session")
def space(analyser: Analyser, era: Era) -> EraSpace:
    return analyser.space(era)


@pytest.fixture(scope="session")
def validator(analyser: Analyser, nomenclature: Nomenclature) -> Validator:
    return Validator(analyser, nomenclature)
