"""The web calculator answered on the server (no browser), and the French wording it uses."""

from __future__ import annotations

import re

import pytest
from casebook import cents
from service_support import CHILD_CONSULTATION, NIGHT_VISIT, Client, case, form_of

from ngap import Nomenclature
from ngap.model.encounter import KNOWN_DONE
from ngap.model.labels import (
    ACTIVITY_LABELS_FR,
    FIELD_LABELS,
    FLAG_LABELS_EN,
    FLAG_LABELS_FR,
    context_clause,
    describe_context,
)
from ngap.model.vocabulary import ACTIVITIES, FLAGS, static_dimensions


def _total_cents(html: str) -> int:
    match = re.search(r'id="optimal-1".*?class="num total" data-cents="(\d+)"', html, re.S)
    assert match, "no optimal total on the page"
    return int(match.group(1))


def test_form_in_french_with_every_activity_and_ccam_act(
    client: Client, nomenclature: Nomenclature
) -> None:
    html = client.get("/").text
    assert '<html lang="fr">' in html and "Calculer" in html
    for activity in ACTIVITIES:
        assert f'value="{activity}"' in html
        assert ACTIVITY_LABELS_FR[activity].replace("'", "&#39;") in html
    ccam = [
        c.code
        for c in nomenclature.catalogue.codes.values()
        if c.nomenclature == "CCAM" and c.kind == "ccam" and c.code in KNOWN_DONE
    ]
    assert ccam
    for code in ccam:
        assert f'id="done-{code}"' in html
    assert "http://" not in html and "https://" not in html  # nothing loaded from a network


def test_english_on_request(client: Client) -> None:
    html = client.get("/?lang=en").text
    assert '<html lang="en">' in html and "Compute" in html


@pytest.mark.parametrize("name", [NIGHT_VISIT, CHILD_CONSULTATION])
def test_answer_page_amounts(client: Client, name: str) -> None:
    data = case(name).data
    response = client.post("/", data=form_of(data["encounter"]))
    assert response.status_code == 200
    assert _total_cents(response.text) == cents(data["optimise"]["total"])


def test_billing_line_with_kilometres(client: Client) -> None:
    data = case("IK with MU (GP left at once)").data
    response = client.post("/optimise", json=data["encounter"]).json()
    best = response["optimal"][0]
    assert best["total_cents"] == cents(data["optimise"]["total"])
    assert best["billing_line"] == "VG+MU+IK×5"


def test_billing_line_with_a_half_rate_act(client: Client) -> None:
    data = case("ECG with another technical act").data
    best = client.post("/optimise", json=data["encounter"]).json()["optimal"][0]
    assert best["total_cents"] == cents(data["optimise"]["total"])
    assert best["billing_line"] == "MJPA010+DEQP003/2"


def test_form_error_names_the_field_and_escapes(client: Client) -> None:
    form = form_of(case(CHILD_CONSULTATION).data["encounter"], time="25:99")
    response = client.post("/", data=form)
    assert response.status_code == 422
    assert "Saisie invalide" in response.text and "time:" in response.text
    form = form_of(case(CHILD_CONSULTATION).data["encounter"], claimed="<script>x</script>")
    response = client.post("/", data=form)
    assert response.status_code == 422
    assert "<script>x" not in response.text and "&lt;script&gt;x" in response.text


def test_quick_why_not_buttons(client: Client) -> None:
    data = case(NIGHT_VISIT).data
    html = client.post("/", data=form_of(data["encounter"], why_not_quick="MD")).text
    assert 'id="why-not"' in html and "Pourquoi pas MD ?" in html
    assert 'name="why_not_quick" value="MD"' in html


# ------------------------------------------------------------------ wording
def test_every_context_value_has_a_french_and_english_clause() -> None:
    for dim in static_dimensions():
        for value in dim.values:
            for lang in ("fr", "en"):
                clause = context_clause(dim.name, value, lang)
                assert "=" not in clause and clause, (dim.name, value, lang)


def test_every_flag_and_activity_has_labels() -> None:
    assert set(ACTIVITY_LABELS_FR) == set(ACTIVITIES)
    form_flags = {f for f in FLAGS if f != "treating"} | {"treating_doctor", "optam"}
    assert form_flags <= set(FLAG_LABELS_FR) | set(FIELD_LABELS)
    assert form_flags <= set(FLAG_LABELS_EN) | set(FIELD_LABELS)


def test_context_in_plain_french() -> None:
    text = describe_context({"emergency": "yes", "call": "night", "hour": ("h20_21", "h21_24")})
    assert text == (
        "si l'acte était urgent (urgence justifiée par l'état du patient) et l'appel avait été "
        "reçu entre 19 h et 7 h et l'acte avait lieu entre 20 h et 24 h"
    )
    assert describe_context({"age": "a0"}, "en") == "if the patient was under 9 days"


def test_serve_command_usage() -> None:
    from typer.testing import CliRunner

    from ngap.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["serve", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"}
    )
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--host", "--port", "--workers", "--max-body", "--time-limit", "--cors"):
        assert option in text
    assert runner.invoke(app, ["serve", "--workers", "0"]).exit_code == 2


def test_unknown_context_in_words(client: Client) -> None:
    """Urgency and call time unknown at 21:30 in 2025: the best cotation holds only if the act
    was urgent and the call came at night, said in French; irrelevant open context is not."""
    data = case("From 22 Dec 2024, non-urgent non-regulated act at 21:30").data
    encounter = {**data["encounter"], "circumstances": {"emergency": None}}
    encounter.pop("call_time")
    html = client.post("/", data=form_of(encounter)).text
    match = re.search(r'id="assumed-1">([^<]*)<', html)
    assert match, "no statement of the unknown context"
    text = match.group(1).replace("&#39;", "'")
    assert text.startswith("Valide seulement si ")
    assert "l'acte était urgent" in text and "entre 19 h et 7 h" in text
    assert "était un homme" not in text and "avait entre" not in text  # known: not assumed
