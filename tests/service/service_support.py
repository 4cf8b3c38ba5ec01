"""Support of the service tests: a checking client, cases of the case book by name."""

from __future__ import annotations

import json
from typing import Any

import httpx
from casebook import Case, load_cases
from fastapi.testclient import TestClient

TRACEBACK_MARKS = ("Traceback", 'File "', "most recent call last", '.py", line')


def assert_no_traceback(response: httpx.Response) -> None:
    """No response of the service ever shows Python internals."""
    for mark in TRACEBACK_MARKS:
        assert mark not in response.text, f"{response.request.url}: {mark!r} in the response"


class Client:
    """TestClient that checks every response for traceback text and, for JSON, ``versions``."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.request(method, url, **kwargs)
        assert_no_traceback(response)
        if response.headers.get("content-type", "").startswith("application/json"):
            assert "versions" in response.json(), url
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def case(name_start: str) -> Case:
    """The case of the case book whose name starts with ``name_start`` (exactly one)."""
    found = [c for c in load_cases() if c.name.startswith(name_start)]
    assert len(found) == 1, f"{name_start!r}: {len(found)} cases"
    # As JSON would carry it (YAML reads dates as dates).
    return Case(found[0].topic, found[0].name, json.loads(json.dumps(found[0].data, default=str)))


NIGHT_VISIT = "Urgent night visit 22:30 (call 22:00), Nov 2023"
CHILD_CONSULTATION = "MEG on G for a child under 6 in 2025"
NIGHT_NOT_URGENT_2025 = "From 22 Dec 2024, non-urgent non-regulated act at 21:30"
