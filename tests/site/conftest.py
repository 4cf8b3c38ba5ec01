"""The rule pages built once per test run: French with ``build_site``, English with the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ngap import Nomenclature
from ngap.cli import app
from ngap.site import build_site


@pytest.fixture(scope="session")
def site_fr(tmp_path_factory: pytest.TempPathFactory, nomenclature: Nomenclature) -> Path:
    out = tmp_path_factory.mktemp("site_fr")
    written = build_site(out, "fr", nomenclature=nomenclature)
    catalogue = nomenclature.catalogue
    assert written == 1 + len(catalogue.codes) + len(catalogue.rules)
    return out


@pytest.fixture(scope="session")
def site_en(tmp_path_factory: pytest.TempPathFactory, nomenclature: Nomenclature) -> Path:
    out = tmp_path_factory.mktemp("site_en")
    # The command as a user runs it, on the session's engine: its groundings (and the
    # analysis the worked examples come from) are already there.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Nomenclature, "load", classmethod(lambda cls, *a, **k: nomenclature))
        result = CliRunner().invoke(app, ["site", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "pages written" in result.output
    return out
