"""Support of the service tests: a checking client, cases of the case book by name, their form."""

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


def form_of(encounter: dict[str, Any], **extra: str) -> dict[str, Any]:
    """The form fields a browser would post for an encounter of the case book."""
    form: dict[str, Any] = {"date": encounter["date"], "place": encounter["place"]}
    for name in ("time", "call_time"):
        if name in encounter:
            form[name] = encounter[name]
    patient = encounter.get("patient", {})
    if "birth_date" in patient:
        form["patient.birth_date"] = patient["birth_date"]
    if "age" in patient:
        form["patient.age.years"] = str(patient["age"].get("years", 0))
    if "sex" in patient:
        form["patient.sex"] = patient["sex"]
    for section in ("patient", "practitioner", "circumstances", "travel"):
        for name, value in encounter.get(section, {}).items():
            if isinstance(value, bool) or value is None:
                tri = "unknown" if value is None else "yes" if value else "no"
                form[f"{section}.{name}"] = tri
    if "km" in encounter.get("travel", {}):
        form["travel.km"] = str(encounter["travel"]["km"])
    form["done"] = list(encounter["done"])
    form.update(extra)
    return form


NIGHT_VISIT = "Urgent justified night visit 22:30 (call 22:00), Nov 2023"
CHILD_CONSULTATION = "MEG on G for a child under 6 in 2025"
NIGHT_NOT_URGENT_2025 = "From 22 Dec 2024, non-urgent non-regulated act at 21:30"
