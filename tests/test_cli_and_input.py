"""The command line and input validation: exit status, JSON output, errors naming the field,
French by default, input read as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
from clitext import flat
from typer.testing import CliRunner

from ngap import Nomenclature, UnknownCodeError
from ngap.cli import app
from ngap.io import InputError, encounter_schema, parse_encounter, read_encounter
from ngap.model import labels
from ngap.model.eras import DateOutOfRange
from ngap.model.vocabulary import ACTIVITIES, FLAGS, static_dimensions

RUNNER = CliRunner()
ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


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


# ---------------------------------------------------------------------------------------------
# The exit-status contract, through the real entry point (``python -m ngap``)


def ngap(*args: str, cwd: Path, env: dict[str, str] | None = None,
         stdout: int | IO[str] = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ngap`` from another directory, as a user would."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ngap", *args],
        cwd=cwd, env=environ, stdout=stdout, stderr=subprocess.PIPE, encoding="utf-8",
        timeout=300,
    )


def test_exit_0_answer_and_version(tmp_path: Path) -> None:
    answer = ngap("optimise", str(EXAMPLES / "01_g_child_2023.yaml"), "--json", cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["optimal"][0]["total_cents"] == 3150
    version = ngap("--version", cwd=tmp_path)
    assert version.returncode == 0
    from ngap.versions import versions

    info = versions()
    assert info["tool"]["version"] in version.stdout
    assert info["knowledge_base"]["fingerprint"] in version.stdout


def test_exit_1_rule_broken(tmp_path: Path) -> None:
    result = ngap("check", str(EXAMPLES / "04_night_not_urgent_2025.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "genuine_emergency" in result.stdout and "surcotation 30.00 €" in flat(result.stdout)


def test_exit_2_usage_and_input(tmp_path: Path) -> None:
    example = str(EXAMPLES / "01_g_child_2023.yaml")
    for args in (
        ("optimise", example, "--no-such-option"),
        ("optimise", example, "--lang", "xx"),
        ("enumerate", example, "--limit", "-1"),
        ("optimise", str(tmp_path)),
    ):
        result = ngap(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_exit_3_environment_fault_one_line(tmp_path: Path) -> None:
    """Disk full while writing the answer; a broken NGAP_TODAY: exit 3, one line, no traceback."""
    example = str(EXAMPLES / "01_g_child_2023.yaml")
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            result = ngap("optimise", example, "--json", cwd=tmp_path, stdout=full)
        assert result.returncode == 3
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    broken = ngap("optimise", example, cwd=tmp_path, env={"NGAP_TODAY": "tomorrow"})
    assert broken.returncode == 3
    assert "NGAP_TODAY" in broken.stderr and "Traceback" not in broken.stderr


def _explode(*_: object, **__: object) -> None:
    raise RuntimeError("unexpected state")


def test_exit_3_internal_error_traceback_only_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Nomenclature, "load", _explode)
    example = str(EXAMPLES / "01_g_child_2023.yaml")
    quiet = RUNNER.invoke(app, ["optimise", example])
    assert quiet.exit_code == 3
    assert "Traceback" not in quiet.output
    assert "erreur interne" in flat(quiet.output) and "unexpected state" in quiet.output
    for args in (["optimise", example, "--debug"], ["--debug", "optimise", example]):
        loud = RUNNER.invoke(app, args)
        assert loud.exit_code == 3
        assert "Traceback" in loud.output and "unexpected state" in loud.output


def test_error_lines_do_not_depend_on_terminal_width(tmp_path: Path) -> None:
    deep = tmp_path / ("a long directory name " * 8).strip() / "missing.yaml"
    code, output = run("optimise", str(deep))
    assert code == 2
    assert str(deep) in output  # on one line, not cut at 80 columns


# ---------------------------------------------------------------------------------------------
# The input contract: read as written


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_yaml_dates_and_times_are_text(tmp_path: Path) -> None:
    enc = read_encounter(str(_write(tmp_path, "e.yaml", (
        "date: 2024-02-03\ntime: 21:30\ncall_time: 07:05\nplace: office\n"
        "done: [consultation]\npatient: {age: 85, birth_date: null}\n"
    ))))
    assert enc.time == "21:30" and enc.call_time == "07:05"
    assert enc.patient.age is not None and enc.patient.age.years == 85
    with pytest.raises(InputError) as error:
        read_encounter(str(_write(tmp_path, "f.yaml", (
            "date: 2024-02-30\nplace: office\ndone: [consultation]\n"
        ))))
    assert "date" in error.value.en and "2024-02-30" in error.value.fr


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("dup.yaml", "date: 2024-01-02\nplace: office\ndate: 2024-01-03\ndone: []\n",
         ("'date'", "deux fois")),
        ("dup.json", '{"date": "2024-01-02", "place": "office", "place": "home", "done": []}',
         ("'place'", "deux fois")),
        ("utf16.yaml", "date: 2024-01-02\n".encode("utf-16"), ("UTF-16",)),
        ("latin1.yaml", "date: 2024-01-02\nid: é\n".encode("latin-1"), ("UTF-8",)),
        ("empty.yaml", "", ("vide",)),
        ("blank.json", "  \n", ("vide",)),
        ("deep.json", "[" * 100_000, ("imbrication",)),
        ("deep.yaml", "a: " + "[" * 100_000, ("imbrication",)),
        ("huge.json", '{"date": "2024-01-02", "travel": {"km": ' + "9" * 5000 + "}}",
         ("4300",)),
        ("huge.yaml", "date: 2024-01-02\ntravel: {km: " + "9" * 5000 + "}\n", ("4300",)),
        ("list.yaml", "- date: 2024-01-02\n", ("suite de champs",)),
    ],
)
def test_unreadable_files_are_bad_input(
    tmp_path: Path, name: str, content: str | bytes, words: tuple[str, ...]
) -> None:
    path = _write(tmp_path, name, content)
    code, output = run("optimise", str(path))
    assert code == 2, output
    assert "Traceback" not in output
    for word in words:
        assert word in flat(output)


def test_a_directory_is_bad_input(tmp_path: Path) -> None:
    code, output = run("optimise", str(tmp_path))
    assert code == 2 and "dossier" in flat(output)


def test_dates_after_today_are_refused_by_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGAP_TODAY", "2025-01-09")
    example = str(EXAMPLES / "04_night_not_urgent_2025.yaml")  # 2025-01-10
    for command in ("optimise", "enumerate", "check"):
        code, output = run(command, example)
        assert code == 2, command
        assert "date" in output and "2025-01-09" in flat(output)
    code, output = run("codes", "--date", "2025-01-10")
    assert code == 2 and "2025-01-09" in flat(output)
    for command in ("analyse", "validate-ruleset"):
        args = [command, "--date", "2025-01-10"]
        if command == "validate-ruleset":
            args.append(str(EXAMPLES / "vendor"))
        code, output = run(*args)
        assert code == 2 and "2025-01-09" in flat(output), command
    monkeypatch.setenv("NGAP_TODAY", "2025-01-10")
    assert run("optimise", example)[0] == 0
    code, output = run("codes", "--json")
    assert code == 0 and json.loads(output)["date"] == "2025-01-10"


def test_codes_date_must_be_possible() -> None:
    assert run("codes", "--date", "2024-02-30")[0] == 2
    assert run("codes", "--date", "2021-12-31")[0] == 2


@pytest.mark.parametrize(
    ("data", "field", "suggested"),
    [
        ({"place": "offic"}, "place", "office"),
        ({"done": ["consultaton"]}, "done", "consultation"),
        ({"done": ["visitte"]}, "done", "visit"),
        ({"trip": "singel"}, "trip", "single"),
        ({"patient": {"sex": "femm"}}, "patient.sex", "f"),
        ({"zone": "metr"}, "zone", "metro"),
        ({"practitioner": {"rate": "oposable"}}, "practitioner.rate", "opposable"),
        ({"circumstances": {"emergecy": True}}, "circumstances.emergecy", "emergency"),
    ],
)
def test_errors_suggest_the_closest_value(
    data: dict[str, object], field: str, suggested: str
) -> None:
    base: dict[str, object] = {"date": "2024-01-02", "place": "office", "done": ["consultation"]}
    with pytest.raises(InputError) as error:
        parse_encounter({**base, **data}, "case")
    for text in (error.value.fr, error.value.en):
        assert field in text and suggested in text


def test_french_aliases_are_normalised() -> None:
    enc = parse_encounter(
        {
            "date": "2024-01-02",
            "time": "21h30",
            "place": "Domicile",
            "done": ["visite"],
            "practitioner": {"sector": 2, "optam": "oui", "rate": "dépassement"},
            "patient": {"sex": "femme", "age": 85, "ald": "non"},
            "circumstances": {"emergency": "Oui"},
            "zone": "métropole",
        }
    )
    assert (enc.place, enc.done, enc.time, enc.zone) == ("home", ("visit",), "21:30", "metro")
    assert enc.practitioner.sector == "2" and enc.practitioner.optam is True
    assert enc.practitioner.rate == "above"
    assert (enc.patient.sex, enc.patient.ald) == ("f", False)
    assert enc.circumstances.emergency is True
    for alias, canonical in (("cabinet", "office"), ("établissement", "institution"),
                             ("téléconsultation", "tele")):
        enc = parse_encounter({"date": "2024-01-02", "place": alias, "done": []})
        assert enc.place == canonical
    tele = parse_encounter({"date": "2024-01-02", "place": "tele", "done": ["Téléconsultation"]})
    assert tele.done == ("teleconsultation",)


# ---------------------------------------------------------------------------------------------
# French everywhere


def test_every_word_of_the_vocabulary_has_french_and_english() -> None:
    assert set(labels.ACTIVITY_LABELS_FR) == set(ACTIVITIES)
    assert set(labels.FLAG_LABELS_FR) == set(FLAGS) == set(labels.FLAG_LABELS_EN)
    for dim in static_dimensions():
        if dim.name.startswith("km_bit"):
            continue
        for value in dim.values:
            for lang in labels.LANGS:
                text = labels.phrase(dim.name, value, lang)
                assert "=" not in text and "_" not in text, (dim.name, value, lang, text)
    assert labels.phrase("call", "night") == "appel de nuit"
    assert labels.phrase("hour", "h21_24") == "entre 21 h et minuit"
    assert labels.phrase_assumed({"call": "night", "emergency": "yes"}) == (
        "en supposant : appel de nuit, urgence justifiée par l'état du patient"
    )


def test_text_output_is_french_by_default_english_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = str(EXAMPLES / "01_g_child_2023.yaml")
    code, french = run("optimise", example)
    assert code == 0 and "Cotation optimale" in french and "total 31.50 €" in french
    for args in (["optimise", example, "--lang", "en"], ["--lang", "en", "optimise", example]):
        code, english = run(*args)
        assert code == 0 and "Optimal cotation" in english and "Cotation" not in english
    monkeypatch.setenv("NGAP_LANG", "en")
    assert "Optimal cotation" in run("optimise", example)[1]
    assert "Cotation optimale" in run("optimise", example, "--lang", "fr")[1]
    for command in (["codes"], ["vocabulary"], ["explain", "G"], ["schema"], ["table-schema"]):
        assert run(*command, "--lang", "en")[0] == 0, command
        assert run(*command, "--lang", "xx")[0] == 2, command


def test_json_answers_carry_both_languages() -> None:
    code, output = run("check", str(EXAMPLES / "04_night_not_urgent_2025.yaml"), "--json")
    data = json.loads(output)
    assert data["status"] == "violation"
    assert data["status_text"] == {"fr": "règle enfreinte", "en": "rule broken"}
    line = data["claimed"]["lines"][0]
    assert line["label_fr"] and line["label_en"] == line["label"]
    assert set(data["claimed"]["assumed_text"]) == {"fr", "en"}
    code, output = run("vocabulary", "--json")
    assert code == 0
    vocab = json.loads(output)
    assert vocab["done_labels"]["visit"] == {"fr": "Visite à domicile", "en": "Home visit"}
    assert set(vocab["done_labels"]) == set(vocab["done"])


def test_conditions_in_plain_words() -> None:
    path = str(EXAMPLES / "12_audit_open_context.yaml")
    code, output = run("check", path, "--json")
    data = json.loads(output)
    assert data["status"] == "conditional"
    assert data["conditions"]["call"] == ["night"]  # the identifiers stay
    fr, en = data["conditions_text"]["fr"], data["conditions_text"]["en"]
    assert "appel de nuit" in fr and "night call" in en
    assert "entre 6 h et 8 h ou entre 20 h et minuit" in fr
    code, text = run("check", path)
    assert code == 0 and "valide seulement si" in flat(text) and "appel de nuit" in text


def test_stdin_reads_json_or_yaml() -> None:
    for text in (
        '{"date": "2024-02-03", "place": "office", "done": ["consultation"]}',
        "date: 2024-02-03\nplace: cabinet\ndone: [consultation]\n",
    ):
        result = RUNNER.invoke(app, ["optimise", "-", "--json"], input=text)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["optimal"][0]["codes"][0] == "G"
    bad = RUNNER.invoke(app, ["optimise", "-"], input='{"date": "2024-02-03", "date": "x"}')
    assert bad.exit_code == 2 and "'date'" in bad.output
