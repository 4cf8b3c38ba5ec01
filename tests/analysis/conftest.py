"""Shared fixtures of the rule-set analysis tests: one Analyser (groundings per era) per session,
and the command line wired to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from ngap import Nomenclature
from ngap.analysis import cli
from ngap.analysis.cli import register
from ngap.analysis.rulebase import Analyser
from ngap.analysis.space import EraSpace
from ngap.analysis.vendor import KINDS, ValidationReport, Validator
from ngap.model.eras import Era

DAY = dt.date(2025, 3, 1)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor"


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


class _MemoValidator(Validator):
    """The session's validator, remembering each validation of the shipped example: the CLI
    tests judge the same report with many options (triage, formats, exit codes), and the
    comparison itself is what test_vendor.py checks."""

    def __init__(self, inner: Validator) -> None:
        self.__dict__.update(inner.__dict__)
        self._memo: dict[tuple[object, ...], ValidationReport] = {}

    def validate(
        self,
        paths: Iterable[str],
        date: dt.date | None = None,
        *,
        witnesses_for_missing: bool = True,
        exclude: Iterable[str] = (),
        kinds: Collection[str] = KINDS,
    ) -> ValidationReport:
        paths = list(paths)
        options: dict[str, Any] = {
            "witnesses_for_missing": witnesses_for_missing,
            "exclude": exclude,
            "kinds": kinds,
        }
        if [Path(p).resolve() for p in paths] != [EXAMPLE]:
            return super().validate(paths, date, **options)
        key = (date, witnesses_for_missing, tuple(kinds))
        if key not in self._memo:
            self._memo[key] = super().validate(paths, date, **options)
        return self._memo[key]


@pytest.fixture(scope="session")
def app(analyser: Analyser, validator: Validator) -> Iterator[typer.Typer]:
    """A typer app with ``analyse`` and ``validate-ruleset``, reusing the session's groundings."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """ngap (test app)."""

    register(app)
    memo = _MemoValidator(validator)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_analyser", lambda: analyser)
        patch.setattr(cli, "_validator", lambda: memo)
        yield app
