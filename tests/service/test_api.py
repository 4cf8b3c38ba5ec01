"""The JSON API through its OpenAPI document: every endpoint, exact amounts from the case book,
errors that name the field, limits (413, time limit), no traceback in any response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from casebook import cents
from fastapi.testclient import TestClient
from service_support import (
    CHILD_CONSULTATION,
    NIGHT_NOT_URGENT_2025,
    NIGHT_VISIT,
    Client,
    assert_no_traceback,
    case,
)
from typer.testing import CliRunner

from ngap import Nomenclature, schemas
from ngap.cli import app
from ngap.service.app import Settings, create_app
from ngap.versions import versions

EXAMPLES = Path(__file__).parent.parent.parent / "examples"

EXPECTED_PATHS = {
    "/optimise": {"post"},
    "/enumerate": {"post"},
    "/check": {"post"},
    "/why-not": {"post"},
    "/codes": {"get"},
    "/codes/{code}": {"get"},
    "/rules/{rule_id}": {"get"},
    "/version": {"get"},
    "/validate-ruleset": {"post"},
}


def encounter_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """The request-body schema of the solver endpoints, resolvable inside the document."""
    return {"$ref": "#/components/schemas/Encounter", "components": openapi["components"]}


# ------------------------------------------------------------------ the OpenAPI document
def test_openapi_lists_every_endpoint(client: Client) -> None:
    paths = client.client.get("/openapi.json").json()["paths"]
    assert {p: set(ops) for p, ops in paths.items()} == EXPECTED_PATHS


def test_solver_bodies_are_the_encounter_schema(client: Client) -> None:
    document = client.client.get("/openapi.json").json()
    for path in ("/optimise", "/enumerate", "/check", "/why-not"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/Encounter"}
    schema = encounter_schema(document)
    jsonschema.validate(case(NIGHT_VISIT).data["encounter"], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"date": "2025-01-01", "place": "moon", "done": []}, schema)


# ------------------------------------------------------------------ solver endpoints
@pytest.mark.parametrize("name", [NIGHT_VISIT, CHILD_CONSULTATION, NIGHT_NOT_URGENT_2025])
def test_optimise_matches_the_case_book(client: Client, name: str) -> None:
    expected = case(name).data
    response = client.post("/optimise", json=expected["encounter"])
    assert response.status_code == 200
    data = response.json()
    best = data["optimal"][0]
    assert sorted(best["codes"]) == sorted(expected["optimise"]["codes"])
    assert best["total_cents"] == cents(expected["optimise"]["total"])
    assert best["billing_line"] == "+".join(best["codes"])
    assert data["versions"] == versions()
    for line in best["lines"]:
        assert line["label_fr"] and line["article"]


def test_enumerate_ranks_the_optimum_first(client: Client) -> None:
    expected = case(NIGHT_VISIT).data
    response = client.post("/enumerate?limit=5", json=expected["encounter"])
    assert response.status_code == 200
    cotations = response.json()["cotations"]
    assert 1 < len(cotations) <= 5
    assert cotations[0]["total_cents"] == cents(expected["optimise"]["total"])
    totals = [c["total_cents"] for c in cotations]
    assert totals == sorted(totals, reverse=True)


@pytest.mark.parametrize("name", [NIGHT_VISIT, NIGHT_NOT_URGENT_2025])
def test_check_matches_the_case_book(client: Client, name: str) -> None:
    data = case(name).data
    checks = data["check"] if isinstance(data["check"], list) else [data["check"]]
    for expected in checks:
        body = {**data["encounter"], "claimed": expected["claimed"]}
        response = client.post("/check", json=body)
        assert response.status_code == 200
        answer = response.json()
        assert answer["status"] == expected["status"]
        assert {v["rule"] for v in answer["violations"]} == set(expected["rules"])
        for violation in answer["violations"]:
            assert violation["message_fr"] and violation["article"]
        if "difference" in expected:
            assert answer["difference_cents"] == cents(expected["difference"])


def test_check_claimed_in_the_query(client: Client) -> None:
    data = case(NIGHT_NOT_URGENT_2025).data
    response = client.post("/check?claimed=G,MN", json=data["encounter"])
    assert response.status_code == 200
    assert [v["rule"] for v in response.json()["violations"]] == ["genuine_emergency"]


def test_check_without_claim_names_the_field(client: Client) -> None:
    response = client.post("/check", json=case(NIGHT_VISIT).data["encounter"])
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == ["claimed"]


def test_why_not_names_the_rule_and_the_context_that_would_allow(client: Client) -> None:
    """Why not MN for a non-urgent night act in 2025: the rule the case book names for G + MN,
    and « si l'acte était urgent »."""
    data = case(NIGHT_NOT_URGENT_2025).data
    refused = next(c for c in data["check"] if "MN" in c["claimed"])
    response = client.post("/why-not?code=MN", json=data["encounter"])
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "excluded"
    assert {v["rule"] for v in answer["violations"]} == set(refused["rules"])
    assert answer["changes"] == {"emergency": ["yes"]}
    assert answer["changes_text"]["fr"].startswith("si l'acte était urgent")
    assert "MN" in answer["with_code"]["codes"]


def test_why_not_for_a_code_on_the_optimum(client: Client) -> None:
    data = case(NIGHT_VISIT).data
    answer = client.post("/why-not?code=MDN", json=data["encounter"]).json()
    assert answer["status"] == "in_answer"


def test_why_not_under_open_context_gives_conditions(client: Client) -> None:
    """Urgency unknown: MN is possible only if the act was urgent (a condition, not a change)."""
    encounter = {**case(NIGHT_NOT_URGENT_2025).data["encounter"], "circumstances": {}}
    encounter["circumstances"] = {"emergency": None}
    optimum = client.post("/optimise", json=encounter).json()["optimal"][0]
    answer = client.post("/why-not?code=MHP", json=encounter).json()
    assert "MN" in optimum["codes"] and optimum["assumed"]["emergency"] == "yes"
    assert answer["status"] == "possible"
    assert answer["conditions"]["emergency"] == ["no"]
    assert "n'était pas urgent" in answer["conditions_text"]["fr"]


# ------------------------------------------------------------------ catalogue endpoints
def test_codes_on_a_date(client: Client, nomenclature: Nomenclature) -> None:
    response = client.get("/codes?date=2025-03-01")
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["codes"]}
    assert rows["G"]["amount_cents"] == 3000
    expected = {
        c.code for c in nomenclature.catalogue.codes.values() if c.billable_on(dt_date(2025, 3, 1))
    }
    assert set(rows) == expected


def dt_date(year: int, month: int, day: int) -> Any:
    import datetime as dt

    return dt.date(year, month, day)


def test_code_and_rule(client: Client) -> None:
    code = client.get("/codes/mn").json()
    assert code["code"] == "MN" and code["tariffs"][0]["amount"] == "35.00"
    rule = client.get("/rules/night_hours").json()
    assert rule["file"] == "ngap/asp_rules/majorations_nuit.lp" and rule["fr"]


@pytest.mark.parametrize("name", ["G", "DEQP003", "GABD002", "night_hours"])
def test_code_and_rule_answer_what_explain_prints(client: Client, name: str) -> None:
    """One description for the service and ``ngap explain --json``, with the explain schema:
    a CCAM act with its non-OPTAM grid and overseas values, every step with its cents, source
    ids and citations."""
    path = "/rules/" if name == "night_hours" else "/codes/"
    served = client.get(path + name).json()
    printed = CliRunner().invoke(app, ["explain", name, "--json"])
    assert printed.exit_code == 0, printed.output
    assert served == json.loads(printed.stdout)
    jsonschema.validate(served, schemas.SCHEMAS["explain"]())
    if name == "GABD002":
        assert served["tariffs_non_optam"] and served["drom"] and served["drom_non_optam"]
        step = served["tariffs"][-1]
        assert isinstance(step["amount_cents"], int) and step["sources"] and step["citations"]


def test_unknown_code_and_rule_suggest(client: Client) -> None:
    response = client.get("/codes/MNN")
    assert response.status_code == 404
    assert "MN" in response.json()["error"]["close_matches"]
    response = client.get("/rules/nigth_hours")
    assert response.status_code == 404
    assert "night_hours" in response.json()["error"]["close_matches"]


def test_version(client: Client) -> None:
    assert client.get("/version").json() == {"versions": versions()}


def test_validate_ruleset(client: Client) -> None:
    vendor = EXAMPLES / "vendor"
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in [vendor / "tariffs.csv"]]
    response = client.post("/validate-ruleset", files=files, data={"date": "2025-03-01"})
    assert response.status_code == 200
    report = response.json()
    assert report["files"] == ["tariffs.csv"]
    assert report["counts"]["tariff_rows"] > 0
    assert any(f["kind"] == "tariff_difference" for f in report["findings"])
    assert "ngap-vendor-" not in response.text  # no server path leaks


def test_validate_ruleset_refuses_other_files(client: Client) -> None:
    response = client.post("/validate-ruleset", files=[("files", ("run.sh", b"x"))])
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == ["files"]


# ------------------------------------------------------------------ bad input
BAD_INPUTS = [
    ({"date": "2025-01-01", "place": "office", "done": [], "colour": "red"}, "colour"),
    ({"date": "2025-02-30", "place": "office", "done": []}, "date"),
    ({"date": "2025-01-01", "time": "25:00", "place": "office", "done": []}, "time"),
    ({"date": "2025-01-01", "place": "moon", "done": []}, "place"),
    ({"date": "2025-01-01", "place": "office", "done": ["consultaton"]}, "done"),
    (
        {"date": "2025-01-01", "place": "office", "done": [], "patient": {"age": {"years": -1}}},
        "patient.age.years",
    ),
    ({"place": "office", "done": []}, "date"),
]


@pytest.mark.parametrize(("body", "field"), BAD_INPUTS)
@pytest.mark.parametrize("path", ["/optimise", "/enumerate", "/check", "/why-not?code=MN"])
def test_bad_input_names_the_field(client: Client, path: str, body: Any, field: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "bad_input"
    assert any(f == field or f.startswith(field + ".") for f in error["fields"]), error
    assert field in error["message"]


def test_suggestions_for_an_unknown_activity(client: Client) -> None:
    body = {"date": "2025-01-01", "place": "office", "done": ["consultaton"]}
    message = client.post("/optimise", json=body).json()["error"]["message"]
    assert "did you mean consultation" in message


def test_unknown_claimed_code_suggests(client: Client) -> None:
    body = {**case(NIGHT_VISIT).data["encounter"], "claimed": ["VG", "MDNN"]}
    response = client.post("/check", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "unknown" and "MDN" in error["close_matches"]
    response = client.post("/why-not?code=MNN", json=case(NIGHT_VISIT).data["encounter"])
    assert response.status_code == 422 and "MN" in response.json()["error"]["close_matches"]


def test_date_before_coverage(client: Client) -> None:
    body = {"date": "2021-12-31", "place": "office", "done": ["consultation"]}
    response = client.post("/optimise", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == ["date"]
    assert "2022-01-01" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "status"), [(b"{not json", 400), (b"[1, 2]", 422), (b"\xff\xfe", 400)]
)
def test_malformed_bodies(client: Client, content: bytes, status: int) -> None:
    response = client.post(
        "/optimise", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.json()["error"]["message"].startswith("<request>")


def test_bad_query_names_the_parameter(client: Client) -> None:
    response = client.post("/enumerate?limit=0", json=case(NIGHT_VISIT).data["encounter"])
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == ["query.limit"]
    response = client.get("/codes?date=2025-02-31")
    assert response.status_code == 422 and response.json()["error"]["fields"] == ["date"]


# ------------------------------------------------------------------ limits
def test_oversize_body_is_413(client: Client) -> None:
    big = b'{"date": "2025-01-01", "place": "office", "done": [], "id": "' + b"x" * 1_100_000
    response = client.post("/optimise", content=big + b'"}')
    assert response.status_code == 413
    assert response.json()["error"]["kind"] == "too_large"


def test_oversize_streamed_body_is_413(client: Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    response = client.post(
        "/optimise", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_time_limit_is_503(nomenclature: Nomenclature, monkeypatch: pytest.MonkeyPatch) -> None:
    # Remembered answers (an audit test may have switched them on for the session's engine)
    # would answer without solving, so without meeting the deadline.
    monkeypatch.setattr(nomenclature, "answer_memo", 0)
    app = create_app(Settings(warm=False, solve_seconds=1e-9), nomenclature=nomenclature)
    with TestClient(app) as slow:
        response = slow.post("/optimise", json=case(CHILD_CONSULTATION).data["encounter"])
    assert_no_traceback(response)
    assert response.status_code == 503
    assert response.json()["error"]["kind"] == "time_limit"
    assert "did not answer within" in response.json()["error"]["message"]


def test_internal_error_has_no_traceback(nomenclature: Nomenclature) -> None:
    app = create_app(Settings(warm=False), nomenclature=nomenclature)
    with TestClient(app, raise_server_exceptions=False) as broken:
        app.state.engine.nomenclature = None  # any attribute access now fails inside a handler
        response = broken.post("/optimise", json=case(CHILD_CONSULTATION).data["encounter"])
    assert_no_traceback(response)
    assert response.status_code == 500
    assert response.json()["error"] == {
        "status": 500,
        "kind": "internal",
        "message": "internal error",
    }


def test_cors_is_off_by_default(client: Client) -> None:
    response = client.client.options(
        "/optimise",
        headers={"origin": "https://example.org", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_when_asked(nomenclature: Nomenclature) -> None:
    settings = Settings(warm=False, cors_origins=("https://example.org",))
    with TestClient(create_app(settings, nomenclature=nomenclature)) as open_client:
        response = open_client.get("/version", headers={"origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "https://example.org"


def test_unknown_path_is_json_404(client: Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_docs_page_works_offline(client: Client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    for path in EXPECTED_PATHS:
        assert path in response.text
    assert "http://" not in response.text and "https://" not in response.text


def test_why_not_a_code_not_yet_in_force(client: Client) -> None:
    """MHP was created on 22 Dec 2024: no context of a 2023 date allows it."""
    data = case(NIGHT_VISIT).data
    answer = client.post("/why-not?code=MHP", json=data["encounter"]).json()
    assert data["encounter"]["date"] < "2024-12-22"
    assert answer["status"] == "never"
    assert "code_not_in_force" in {v["rule"] for v in answer["violations"]}
