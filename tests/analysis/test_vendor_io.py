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


def test_age_band_messages_name_the_number_the_vendor_wrote() -> None:
    """``0-4`` is written with its last year inclusive: the message names 4 (what the vendor
    wrote) and 5 (the birthday it stops at), and the upper bounds that would be valid."""
    assert age_bands("0-4") == (
        "'0-4': a band cannot end at 4 years inclusive: 0-4 means under 5, and 5 years is not "
        "an age limit of the NGAP rules (a range a-b ends one year below a limit, b in: "
        "2, 5, 12, 16, 17, 24, 25, 44, 50, 59, 65, 69, 74, 75, 79)"
    )
    assert age_bands("<5") == (
        "'<5': 5 years is not an age limit of the NGAP rules (limits in years: "
        "3, 6, 13, 17, 18, 25, 26, 45, 51, 60, 66, 70, 75, 76, 80)"
    )
    assert age_bands("7-12") == (
        "'7-12': 7 years is not an age limit of the NGAP rules (a band starts at 0 or at a "
        "limit; limits in years: 3, 6, 13, 17, 18, 25, 26, 45, 51, 60, 66, 70, 75, 76, 80)"
    )
    assert age_bands("6-12") == age_bands("6-12")
    assert isinstance(age_bands("6-12"), tuple)


def test_errors_name_file_line_and_field(tmp_path: Path, nomenclature: object) -> None:
    catalogue: Catalogue = nomenclature.catalogue  # type: ignore[attr-defined]
    _write(
        tmp_path,
        "cumulation.json",
        "[\n"
        '  {"code_a": "", "code_b": "G", "allowed": "yes"},\n'
        '  {"code_a": "G", "code_b": "MEG", "allowed": "yes", "conditions": ["office"]},\n'
        '  {"code_a": "G", "code_b": "MN", "allowed": "yes"}\n'
        "]\n",
    )
    (tmp_path / "tariffs.csv").write_bytes(
        b"code,amount,effective_from\nG,30.00,2025-01-01\nMEG,5\xe9,2025-01-01\n"
    )
    _write(tmp_path, "tariffs_drom.json", '{"tariffs": {"code": "G"}}\n')
    ruleset = read_ruleset([tmp_path], catalogue)
    issues = {(Path(i.location.file).name, i.location.line): i.message for i in ruleset.issues}
    assert issues == {
        ("cumulation.json", 2): "code_a: empty code",
        ("cumulation.json", 3): "conditions: expected a mapping of condition columns to values",
        ("tariffs.csv", 3): "not UTF-8 text: invalid continuation byte at byte 6 of the line",
        ("tariffs_drom.json", 1): "not a valid json: expected a list, or an object with a "
        "'tariffs' list",
    }
    assert [p.pair for p in ruleset.pairs] == [("G", "MN")]


def test_encounters_without_id_keep_their_identity_when_reordered(
    tmp_path: Path, nomenclature: object
) -> None:
    catalogue: Catalogue = nomenclature.catalogue  # type: ignore[attr-defined]
    first = "- {date: 2025-03-05, place: office, done: [consultation], claimed: [G]}\n"
    second = "- {date: 2025-03-06, place: office, done: [consultation], claimed: [G]}\n"
    idents = []
    for name, text in (("a", first + second), ("b", second + first)):
        folder = tmp_path / name
        folder.mkdir()
        _write(folder, "encounters.yaml", text)
        idents.append(
            {(e.encounter.date, e.ident) for e in read_ruleset([folder], catalogue).encounters}
        )
    assert idents[0] == idents[1]
    assert len({ident for _, ident in idents[0]}) == 2
    assert all(ident.startswith("encounters@") for _, ident in idents[0])
    _write(
        tmp_path,
        "night.json",
        '{"date": "2025-03-05", "place": "office", "done": ["consultation"], "claimed": ["G"]}',
    )
    [alone] = read_ruleset([tmp_path / "night.json"], catalogue).encounters
    assert alone.ident == "night"
    twice = tmp_path / "twice"
    twice.mkdir()
    _write(twice, "encounters.yaml", (first + second).replace("{date", "{id: same, date"))
    ruleset = read_ruleset([twice], catalogue)
    assert [e.ident for e in ruleset.encounters] == ["same"]
    [issue] = ruleset.issues
    assert (issue.location.line, issue.message) == (
        2,
        f"id: 'same' is the id of the encounter at {twice / 'encounters.yaml'}:1",
    )
