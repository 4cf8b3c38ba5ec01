"""Shared fixtures: one grounded Nomenclature per test session (ground once, solve many)."""

from __future__ import annotations

import pytest

from ngap import Nomenclature


@pytest.fixture(scope="session")
def nomenclature() -> Nomenclature:
    return Nomenclature.load()
