"""The command line and input validation: exit status, JSON output, errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ngap import Nomenclature, UnknownCodeError
from ngap.cli import app
from ngap.io import InputError, encounter_schema, parse_encounter
from ngap.model.eras import DateOutOfRange

RUNNER = CliRunner()
EXAMPLES = Path(__file__).parent.parent / "examples"


def run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.output


def test_optimise_json() -> None:
    code, output = run("optimise", str(EXAMPLES / "01_g_child_2023.yaml"), "--json")
    assert code == 0
    data = json.loads(output)
    assert data["optimal"][0]["codes"] == ["G", "MEG"]
    assert data["optimal"][0]["total_cents"] == 3150


def test_check_exit_status() -> None:
    path = str(EXAMPLES / "04_night_not_urgent_2025.yaml")
    code, output = run("check", path, "--json")
    assert code == 1
    data = json.loads(output)
    assert {v["rule"] for v in data["violations"]} == {"genuine_emergency"}
    assert data["difference_cents"] == 3000  # 30 + 35 claimed vs 30 + 5 optimal
    code, _ = run("check", path, "--claimed", "G,MHP")
    assert code == 0


def test_unknown_code_is_bad_input() -> None:
    code, output = run("check", str(EXAMPLES / "01_g_child_2023.yaml"), "--claimed", "G,MEGG")
    assert code == 2
    assert "MEGG" in output and "MEG" in output


def test_bad_file_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"date": "2023-02-30", "place": "offic", "done": ["consultaton"], "x": 1}')
    code, output = run("optimise", str(bad))
    assert code == 2
    for field in ("date", "place", "done", "x"):
        assert field in output


def test_codes_and_explain() -> None:
    code, output = run("codes", "--date", "2025-07-01", "--json")
    assert code == 0
    codes = {c["code"]: c for c in json.loads(output)["codes"]}
    assert codes["COE"]["amount_cents"] == 5400  # the 1 Jul 2025 step never happened
    assert "GS" not in codes  # abolished on 22 Dec 2024
    code, output = run("explain", "CRM", "--json")
    assert code == 0
    assert json.loads(output)["tariffs"][0]["amount"] == "51.50"
    code, output = run("explain", "genuine_emergency", "--json")
    assert json.loads(output)["from"] == "2024-12-22"
    code, _ = run("explain", "NOPE")
    assert code == 2


def test_schema_lists_the_vocabulary() -> None:
    schema = encounter_schema()
    assert "consultation" in schema["properties"]["done"]["items"]["enum"]
    code, output = run("schema")
    assert code == 0 and json.loads(output)["title"] == "ngap encounter"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"date": "2024-01-01", "place": "office", "done": ["consultation"], "time": "25:00"},
            "time",
        ),
        (
            {
                "date": "2024-01-01",
                "place": "office",
                "done": ["consultation"],
                "patient": {"age": {"years": -1}},
            },
            "patient.age.years",
        ),
        (
            {
                "date": "2024-01-01",
                "place": "office",
                "done": ["consultation"],
                "patient": {"birth_date": "2024-02-01"},
            },
            "birth_date",
        ),
        ({"date": "2024-01-01", "place": "office"}, "done"),
        ({"date": "2024-01-01", "place": "office", "done": ["ecg"]}, "done"),
        ({"date": "2024-01-01", "place": "office", "done": [], "trip": "bus"}, "trip"),
    ],
)
def test_input_errors_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as error:
        parse_encounter(data, "case")
    assert field in str(error.value)


def test_dates_before_2022_are_refused(nomenclature: Nomenclature) -> None:
    enc = parse_encounter({"date": "2021-12-31", "place": "office", "done": ["consultation"]})
    with pytest.raises(DateOutOfRange):
        nomenclature.optimise(enc)


def test_unknown_claimed_code(nomenclature: Nomenclature) -> None:
    enc = parse_encounter({"date": "2024-01-01", "place": "office", "done": ["consultation"]})
    with pytest.raises(UnknownCodeError) as error:
        nomenclature.check(enc, ["G", "DEQP03"])
    assert "DEQP003" in str(error.value)


def test_refined_codes_are_billed_as_aggregated(nomenclature: Nomenclature) -> None:
    enc = parse_encounter(
        {
            "date": "2024-05-02",
            "time": "10:00",
            "place": "office",
            "done": ["cso"],
            "practitioner": {"treating_doctor": True},
            "patient": {"birth_date": "2017-01-01", "sex": "m"},
        }
    )
    verdict = nomenclature.check(enc, ["CSO"])
    assert verdict.normalised == {"CSO": "CCX"}
    assert verdict.status == "valid"
    assert verdict.claimed.lines[0].record == "CSO"


def test_published_schema_is_current() -> None:
    """schema/encounter.schema.json is what `ngap schema` prints (regenerate it if not)."""
    published = json.loads((EXAMPLES.parent / "schema" / "encounter.schema.json").read_text())
    assert published == encounter_schema()


def test_examples_validate_against_the_schema() -> None:
    import jsonschema
    import yaml

    schema = encounter_schema()
    for path in EXAMPLES.glob("[0-9]*.yaml"):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        jsonschema.validate(data, schema)
