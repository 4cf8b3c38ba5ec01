"""Shared fixtures: one grounded Nomenclature per test session (ground once, solve many)."""

from __future__ import annotations

import pytest

from ngap import Nomenclature


@pytest.fixture(scope="session")
def nomenclature() -> Nomenclature:
    return Nomenclature.load()


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the caller's language, debug switch or frozen day (NGAP_*)."""
    for name in ("NGAP_LANG", "NGAP_DEBUG", "NGAP_TODAY"):
        monkeypatch.delenv(name, raising=False)
