"""Fixtures of the service tests: one application on the session's grounded nomenclature."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from service_support import Client

from ngap import Nomenclature
from ngap.service.app import Settings, create_app


@pytest.fixture(scope="session")
def client(nomenclature: Nomenclature) -> Iterator[Client]:
    app = create_app(Settings(warm=False, solve_seconds=120.0), nomenclature=nomenclature)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield Client(test_client)
