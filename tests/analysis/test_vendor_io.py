"""Reading vendor files: every problem names its file and line, the rest is still read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ngap.analysis.vendor_io import age_bands, read_ruleset
from ngap.model.catalogue import Catalogue


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_errors_name_file_and_line_and_the_rest_is_read(
    tmp_path: Path, nomenclature: object
) -> None:
    catalogue: Catalogue = nomenclature.catalogue  # type: ignore[attr-defined]
    _write(
        tmp_path,
        "tariffs.csv",
        "# export of 2025-03-01\n"
        "code;amount;effective_from;effective_to;zone\n"
        "G;30,00;2024-12-22;;\n"
        "G2;30,00;2024-12-22;;\n"
        "MEG;5,00;2025-02-30;;\n"
        "MN;35,00;2022-01-01;;\n"
        "MN;35,00;2022-01-01;;\n"
        "MM;40,00;2022-01-01;2021-01-01;\n",
    )
    _write(tmp_path, "cumulation_extra.csv", "code_a,code_b\nG,MEG\n")
    ruleset = read_ruleset([tmp_path], catalogue)
    assert [(t.code, t.cents) for t in ruleset.tariffs] == [("G", 3000), ("MN", 3500)]
    issues = {(Path(i.location.file).name, i.location.line): i.message for i in ruleset.issues}
    assert "not a date" in issues[("tariffs.csv", 5)]
    assert "duplicate" in issues[("tariffs.csv", 7)]
    assert "before" in issues[("tariffs.csv", 8)]
    assert "missing column(s) allowed" in issues[("cumulation_extra.csv", 1)]
    assert [str(loc).split("/")[-1] for loc in ruleset.unknown["G2"]] == ["tariffs.csv:4"]


def test_json_items_and_yaml_encounters_have_their_lines(
    tmp_path: Path, nomenclature: object
) -> None:
    catalogue: Catalogue = nomenclature.catalogue  # type: ignore[attr-defined]
    _write(
        tmp_path,
        "cumulation.json",
        '{"pairs": [\n'
        '  {"code_a": "G", "code_b": "MEG", "allowed": true},\n'
        '  {"code_a": "G", "code_b": "MN", "allowed": "no",\n'
        '   "conditions": {"place": "office", "age_band": "0-5"}},\n'
        '  {"code_a": "G", "code_b": "MN", "allowed": "perhaps"},\n'
        '  {"code_a": "*", "code_b": "*", "allowed": "no"}\n'
        "]}\n",
    )
    _write(
        tmp_path,
        "encounters.yaml",
        "encounters:\n"
        "- {id: a, date: 2025-03-05, place: office, done: [consultation], claimed: [G]}\n"
        "- {id: b, date: 2025-03-05, place: garden, done: [consultation], claimed: [G]}\n"
        "- {id: c, date: 2025-03-05, place: office, done: [consultation]}\n",
    )
    ruleset = read_ruleset([tmp_path], catalogue)
    assert ruleset.default_allowed is False
    assert [(p.pair, p.allowed, p.location.line) for p in ruleset.pairs] == [
        (("G", "MEG"), True, 2),
        (("G", "MN"), False, 3),
    ]
    assert ruleset.pairs[1].restriction() == {
        "place": ("office",),
        "age": ("a0", "a1", "a2", "a3", "a4", "a5", "a6"),
    }
    issues = {(Path(i.location.file).name, i.location.line): i.message for i in ruleset.issues}
    assert "not yes or no" in issues[("cumulation.json", 5)]
    assert "place" in issues[("encounters.yaml", 3)]
    assert "claimed" in issues[("encounters.yaml", 4)]
    assert [e.ident for e in ruleset.encounters] == ["a"]
    assert ruleset.encounters[0].encounter.date == dt.date(2025, 3, 5)


def test_age_bands_follow_the_rules_age_limits() -> None:
    assert age_bands("0-5") == ("a0", "a1", "a2", "a3", "a4", "a5", "a6")
    assert age_bands("<6") == age_bands("0-5")
    assert age_bands("80+") == ("a20",)
    assert age_bands(">=80") == ("a20",)
    assert age_bands("18-25") == ("a10", "a11")
    assert "not an age limit" in str(age_bands("0-4"))
    assert "not an age range" in str(age_bands("toddlers"))
