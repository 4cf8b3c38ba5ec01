"""Reading a vendor's rule set: tariffs, cumulation matrix, test encounters (CSV, JSON, YAML).

Why: billing software vendors each keep their own copy of the NGAP rules; the open formats of
``docs/vendor-formats.md`` let them export it so that ``ngap validate-ruleset`` can compare it with
the model.  Input is read defensively: every problem (missing column, unknown code, bad date,
duplicate or overlapping rows, invalid encounter) becomes an :class:`InputIssue` naming the file and
the line, the faulty row is left out, and everything else is still analysed.

Only files named as the formats say are read from a directory (``VENDOR_NAMES``): a directory
under version control also holds reports, baselines and notes, and reading one of them as vendor
data would turn yesterday's report into today's input errors.  Every other file is listed as
ignored, never parsed; a name-matched file that is an output of ``ngap`` itself (JSON or YAML
carrying ``versions``, SARIF) is ignored too.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ngap.io import describe
from ngap.model.catalogue import FAR_FUTURE, Catalogue
from ngap.model.encounter import Encounter
from ngap.model.vocabulary import (
    AGE_THRESHOLDS,
    DAY_TYPES,
    FLAGS,
    PLACES,
    RATES,
    SEXES,
    SPECIALTIES,
    TRIPS,
    ZONES,
    age_band_names,
)

YES = {"yes", "y", "true", "1", "oui", "o", "allowed"}
NO = {"no", "n", "false", "0", "non", "forbidden"}
SECTOR_NAMES = {
    "1": "s1",
    "s1": "s1",
    "2": "s2",
    "s2": "s2",
    "2_optam": "s2_optam",
    "optam": "s2_optam",
    "s2_optam": "s2_optam",
}
CONDITION_VALUES: dict[str, tuple[str, ...]] = {
    "place": PLACES,
    "rate": RATES,
    "day": DAY_TYPES,
    "specialty": SPECIALTIES,
    "zone": ZONES,
    "sex": SEXES,
    "trip": TRIPS,
}
CONDITION_COLUMNS = (*CONDITION_VALUES, "sector", "age_band", *FLAGS)
TARIFF_COLUMNS = ("code", "amount", "effective_from")
TARIFF_OPTIONAL = ("effective_to", "zone", "label", "note")
PAIR_COLUMNS = ("code_a", "code_b", "allowed")
PAIR_OPTIONAL = ("effective_from", "effective_to", "note", *CONDITION_COLUMNS)
WILDCARD = "*"
VENDOR_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tariffs": (("tariffs", "tarifs", "prices"), (".csv", ".json")),
    "pairs": (("cumulation", "cumul", "matrix", "pairs"), (".csv", ".json")),
    "encounters": (("encounters", "tests"), (".json", ".yaml", ".yml")),
}
"""Kind of vendor file -> (name prefixes, suffixes) read from a directory
(``docs/vendor-formats.md``); any file of an ``encounters/`` folder is an encounter file."""


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        """``file:line``, or the file alone when the problem is the whole file (line 0)."""
        return f"{self.file}:{self.line}" if self.line > 0 else self.file


@dataclass(frozen=True)
class InputIssue:
    location: Location
    message: str


@dataclass(frozen=True, order=True)
class Ignored:
    """A file of a scanned directory that was not read, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class TariffRow:
    code: str
    cents: int | None
    start: dt.date
    end: dt.date
    zone: str
    location: Location


@dataclass(frozen=True)
class PairRow:
    a: str
    b: str
    allowed: bool
    conditions: tuple[tuple[str, tuple[str, ...]], ...]
    """Dimension -> allowed model values (sorted), the row's condition columns."""
    condition_text: str
    """The conditions as the vendor wrote them: ``place=office;age_band=0-5``."""
    start: dt.date
    end: dt.date
    location: Location

    @property
    def pair(self) -> tuple[str, str]:
        a, b = sorted((self.a, self.b))
        return a, b

    def restriction(self) -> dict[str, tuple[str, ...]]:
        return dict(self.conditions)


@dataclass(frozen=True)
class VendorEncounter:
    encounter: Encounter
    ident: str
    location: Location


@dataclass
class RuleSet:
    """Everything read from the vendor's files."""

    tariffs: list[TariffRow] = field(default_factory=list)
    pairs: list[PairRow] = field(default_factory=list)
    default_allowed: bool | None = None
    """Verdict for pairs the matrix does not list (a ``*,*`` row); None: not judged."""
    default_location: Location | None = None
    encounters: list[VendorEncounter] = field(default_factory=list)
    issues: list[InputIssue] = field(default_factory=list)
    unknown: dict[str, list[Location]] = field(default_factory=dict)
    """Codes the catalogue does not know, where they occur."""
    files: list[str] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """File as shown -> its name relative to the directory given (the file name for a file
    given directly): the file part of a finding's identity, the same from any working
    directory."""

    def name(self, shown: str) -> str:
        return self.names.get(shown, shown)

    def codes(self) -> set[str]:
        """The vendor's codes: in its tariffs and its matrix (known codes only)."""
        found = {t.code for t in self.tariffs}
        for p in self.pairs:
            found.update((p.a, p.b))
        return found


class _Reader:
    def __init__(self, catalogue: Catalogue, ruleset: RuleSet):
        self.catalogue = catalogue
        self.rules = ruleset

    # -------------------------------------------------------------- helpers
    def issue(self, where: Location, message: str) -> None:
        self.rules.issues.append(InputIssue(where, message))

    def code(self, raw: Any, where: Location, column: str = "code") -> str | None:
        """A known code (refined codes are kept), else None and the code is recorded unknown."""
        text = str(raw or "").strip()
        if not text:
            self.issue(where, f"{column}: empty code")
            return None
        if text in self.catalogue.codes:
            return text
        if text.upper() in self.catalogue.codes:
            return text.upper()
        self.rules.unknown.setdefault(text, []).append(where)
        return None

    def date(self, raw: Any, where: Location, column: str) -> dt.date | None:
        if isinstance(raw, dt.date):
            return raw
        text = str(raw).strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.issue(where, f"{column}: {text!r} is not a date YYYY-MM-DD")
            return None

    # -------------------------------------------------------------- tariffs
    def tariff(self, row: Mapping[str, Any], where: Location) -> None:
        missing = [c for c in TARIFF_COLUMNS if c not in row]
        if missing:
            self.issue(where, f"missing field(s) {', '.join(missing)}")
            return
        unknown = sorted(
            k for k, v in row.items() if k not in TARIFF_COLUMNS + TARIFF_OPTIONAL and _given(v)
        )
        if unknown:
            self.issue(where, f"unknown field(s) {', '.join(unknown)}: row left out")
            return
        start = self.date(row["effective_from"], where, "effective_from")
        raw_end = row.get("effective_to")
        end = self.date(raw_end, where, "effective_to") if raw_end not in (None, "") else FAR_FUTURE
        cents = self.amount(row["amount"], where)
        zone = str(row.get("zone") or "metro").strip().lower()
        if zone not in ZONES:
            self.issue(where, f"zone: {zone!r} is not one of {', '.join(ZONES)}")
            return
        code = self.code(row["code"], where)
        if start is None or end is None or cents is False or code is None:
            return
        if end < start:
            self.issue(where, f"effective_to {end} is before effective_from {start}")
            return
        assert cents is not True
        self.rules.tariffs.append(TariffRow(code, cents, start, end, zone, where))

    def amount(self, raw: Any, where: Location) -> int | bool | None:
        """Cents, None (no amount given), or False (bad value, reported)."""
        if raw is None or str(raw).strip() == "":
            return None
        text = str(raw).strip().replace("€", "").replace(" ", "").replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.issue(where, f"amount: {raw!r} is not an amount in euros")
            return False
        if value < 0:
            self.issue(where, f"amount: {raw!r} is negative")
            return False
        return int((value * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))

    # -------------------------------------------------------------- cumulation matrix
    def pair(self, row: Mapping[str, Any], where: Location) -> None:
        missing = [c for c in PAIR_COLUMNS if c not in row]
        if missing:
            self.issue(where, f"missing field(s) {', '.join(missing)}")
            return
        nested = row.get("conditions") or {}
        if not isinstance(nested, Mapping):
            self.issue(where, "conditions: expected a mapping of condition columns to values")
            return
        conditions_raw = dict(nested)
        for key, value in row.items():
            if key in CONDITION_COLUMNS and value not in (None, ""):
                conditions_raw[key] = value
        unknown = sorted(
            k
            for k, v in row.items()
            if k not in (*PAIR_COLUMNS, *PAIR_OPTIONAL, "conditions") and _given(v)
        ) + sorted(set(conditions_raw) - set(CONDITION_COLUMNS))
        if unknown:
            self.issue(where, f"unknown condition or field(s) {', '.join(unknown)}")
            return
        allowed = _yes_no(row["allowed"])
        if allowed is None:
            self.issue(where, f"allowed: {row['allowed']!r} is not yes or no")
            return
        raw_a, raw_b = str(row["code_a"]).strip(), str(row["code_b"]).strip()
        if raw_a == WILDCARD and raw_b == WILDCARD:
            if self.rules.default_allowed is not None:
                self.issue(where, f"second default row (first at {self.rules.default_location})")
                return
            self.rules.default_allowed = allowed
            self.rules.default_location = where
            return
        start = self.date(row.get("effective_from") or "1900-01-01", where, "effective_from")
        end = self.date(row.get("effective_to") or FAR_FUTURE, where, "effective_to")
        conditions = self.conditions(conditions_raw, where)
        a, b = self.code(raw_a, where, "code_a"), self.code(raw_b, where, "code_b")
        if a is None or b is None or conditions is None or start is None or end is None:
            return
        if a == b:
            self.issue(where, f"a code paired with itself ({a})")
            return
        text = ";".join(f"{k}={conditions_raw[k]}" for k in sorted(conditions_raw))
        self.rules.pairs.append(
            PairRow(a, b, allowed, tuple(sorted(conditions.items())), text, start, end, where)
        )

    def conditions(
        self, raw: Mapping[str, Any], where: Location
    ) -> dict[str, tuple[str, ...]] | None:
        out: dict[str, tuple[str, ...]] = {}
        for column, value in raw.items():
            text = str(value).strip()
            if column == "age_band":
                bands = age_bands(text)
                if isinstance(bands, str):
                    self.issue(where, f"age_band: {bands}")
                    return None
                out["age"] = bands
                continue
            values = [v.strip().lower() for v in text.split("|")]
            if column == "sector":
                mapped = [SECTOR_NAMES.get(v) for v in values]
                if None in mapped:
                    self.issue(where, f"sector: {text!r} is not 1, 2 or 2_optam")
                    return None
                out["sector"] = tuple(sorted({m for m in mapped if m}))
                continue
            if column in FLAGS:
                flags = [_yes_no(v) for v in values]
                if None in flags:
                    self.issue(where, f"{column}: {text!r} is not yes or no")
                    return None
                out[column] = tuple(sorted({"yes" if f else "no" for f in flags}))
                continue
            choices = CONDITION_VALUES[column]
            bad = [v for v in values if v not in choices]
            if bad:
                self.issue(where, f"{column}: {text!r} is not one of {', '.join(choices)}")
                return None
            out[column] = tuple(sorted(set(values)))
        return out

    # -------------------------------------------------------------- encounters
    def encounter(self, data: Any, where: Location, stem: str, alone: bool = False) -> None:
        """One test encounter; without an ``id``, its identity is the file stem (``alone``: the
        only encounter of its file) or the stem and a digest of its content (stable when
        encounters are reordered)."""
        if not isinstance(data, dict):
            self.issue(where, "an encounter must be a mapping of fields")
            return
        try:
            encounter = Encounter.model_validate(data)
        except ValidationError as error:
            problems = describe(error, str(where)).splitlines()[1:]
            self.issue(where, "invalid encounter: " + "; ".join(p.strip() for p in problems))
            return
        if not encounter.claimed:
            self.issue(where, "a test encounter needs the vendor's 'claimed' cotation")
            return
        known = True
        for code in encounter.claimed:
            if self.code(code, where) is None:
                known = False
        if known:
            digest = hashlib.sha256(
                json.dumps(data, sort_keys=True, default=str).encode("utf-8")
            ).hexdigest()
            ident = encounter.id or (stem if alone else f"{stem}@{digest[:10]}")
            self.rules.encounters.append(VendorEncounter(encounter, ident, where))


def _given(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    return None


_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_BELOW = re.compile(r"^<\s*(\d+)$")
_FROM = re.compile(r"^(?:(\d+)\s*\+|>=\s*(\d+))$")


def age_bands(text: str) -> tuple[str, ...] | str:
    """Years ``0-5`` (5 inclusive), ``<6``, ``80+`` / ``>=80`` -> the model's age bands, or an
    error message when a limit is not one of the rules' age limits."""
    text = text.strip()
    low: int
    high: int | None
    if m := _RANGE.match(text):
        low, high = int(m.group(1)), int(m.group(2)) + 1
    elif m := _BELOW.match(text):
        low, high = 0, int(m.group(1))
    elif m := _FROM.match(text):
        low, high = int(m.group(1) or m.group(2)), None
    else:
        return f"{text!r} is not an age range in years (0-5, <6, 80+)"
    limits = [t.months for t in AGE_THRESHOLDS if t.days == 0 and t.months % 12 == 0]
    years = sorted({m // 12 for m in limits})
    listed = ", ".join(map(str, years))
    if low != 0 and low not in years:
        return (
            f"{text!r}: {low} years is not an age limit of the NGAP rules "
            f"(a band starts at 0 or at a limit; limits in years: {listed})"
        )
    if high is not None and high not in years:
        if m := _RANGE.match(text):
            # The vendor wrote the last year inclusive: name that number, then the limit it means.
            last = int(m.group(2))
            ends = ", ".join(str(y - 1) for y in years)
            return (
                f"{text!r}: a band cannot end at {last} years inclusive: {low}-{last} means "
                f"under {high}, and {high} years is not an age limit of the NGAP rules "
                f"(a range a-b ends one year below a limit, b in: {ends})"
            )
        return (
            f"{text!r}: {high} years is not an age limit of the NGAP rules "
            f"(limits in years: {listed})"
        )
    if high is not None and high <= low:
        return f"{text!r} is an empty range"
    names = age_band_names()
    bounds = [0, *(t.months * 31 + t.days for t in AGE_THRESHOLDS)]
    lo = low * 12 * 31
    hi = None if high is None else high * 12 * 31
    chosen = []
    for index, name in enumerate(names):
        start = bounds[index]
        end = bounds[index + 1] if index + 1 < len(bounds) else None
        if start >= lo and (hi is None or (end is not None and end <= hi)):
            chosen.append(name)
    return tuple(chosen)


# ====================================================================== files
def _csv_rows(text: str) -> tuple[list[str], int, Iterator[tuple[int, dict[str, str]]]]:
    """The header, its line, and the rows with their line numbers (comments and blank lines
    skipped)."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] = []
    header_line = 1
    for cells in reader:  # the header: the first row that is neither empty nor a # comment
        if any(c.strip() for c in cells) and not cells[0].lstrip().startswith("#"):
            header = [h.strip().lower() for h in cells]
            header_line = reader.line_num
            break

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for cells in reader:
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h}
            if len(cells) > len(header):
                row["__extra__"] = ",".join(cells[len(header) :])
            yield reader.line_num, row

    return header, header_line, rows()


def json_items(text: str, key: str) -> Iterator[tuple[int, Any]]:
    """Items of a JSON list (or of ``{key: [...]}``) with the line each one starts on."""
    decoder = json.JSONDecoder()
    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    if stripped.startswith("{"):
        data = json.loads(text)
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"expected a list, or an object with a {key!r} list")
        # Re-locate the list in the text for line numbers.
        start = text.find("[", text.find(f'"{key}"'))
        yield from _json_list_items(text, start, decoder)
        return
    if not stripped.startswith("["):
        raise ValueError("expected a JSON list")
    yield from _json_list_items(text, offset, decoder)


def _json_list_items(text: str, start: int, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any]]:
    index = start + 1
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return
        item, end = decoder.raw_decode(text, index)
        yield text.count("\n", 0, index) + 1, item
        index = end


def _kind_of(path: Path, header: Sequence[str] | None = None) -> str | None:
    name = path.name.lower()
    if any(w in name for w in ("tarif", "tariff", "price")):
        return "tariffs"
    if any(w in name for w in ("cumul", "matrix", "pair")):
        return "pairs"
    if "encounter" in name or "test" in name or path.parent.name.lower() == "encounters":
        return "encounters"
    if header is not None:
        if "code_a" in header:
            return "pairs"
        if "amount" in header:
            return "tariffs"
    return None


def kind_by_name(relative: Path) -> str | None:
    """The kind of vendor file a name inside a scanned directory stands for (prefix of the
    name, case-insensitive; any file of an ``encounters/`` folder is an encounter file)."""
    name = relative.name.lower()
    for kind, (prefixes, _) in VENDOR_NAMES.items():
        if name.startswith(prefixes):
            return kind
    if any(part.lower() == "encounters" for part in relative.parts[:-1]):
        return "encounters"
    return None


def _names_help() -> str:
    return "; ".join(
        f"{kind}: {'*, '.join(prefixes)}* ({', '.join(suffixes)})"
        for kind, (prefixes, suffixes) in VENDOR_NAMES.items()
    )


def _scan(
    paths: Iterable[str | Path], ruleset: RuleSet, exclude: set[Path]
) -> Iterator[tuple[Path, str | None]]:
    """The files to read and their kind (None: a file given directly, classified on reading).
    Files of a directory that are not vendor files are recorded in ``ruleset.ignored``."""
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            ruleset.names[str(root)] = root.name
            yield root, None
            continue
        for child in sorted(root.rglob("*")):
            relative = child.relative_to(root)
            if not child.is_file() or any(p.startswith(".") for p in relative.parts):
                continue  # hidden files and folders (.git, editor files) are not listed
            shown = str(child)
            kind = kind_by_name(relative)
            if child.resolve() in exclude:
                ruleset.ignored.append(Ignored(shown, "written or read by this run"))
            elif kind is None:
                ruleset.ignored.append(Ignored(shown, "not a vendor file name"))
            elif child.suffix.lower() not in VENDOR_NAMES[kind][1]:
                suffixes = ", ".join(VENDOR_NAMES[kind][1])
                ruleset.ignored.append(Ignored(shown, f"{kind} files are {suffixes}"))
            else:
                ruleset.names[shown] = relative.as_posix()
                yield child, kind


def own_output(text: str, suffix: str) -> bool:
    """Whether a file is an output of ``ngap`` (a JSON/YAML report or baseline carrying
    ``versions``, a SARIF log) rather than vendor data."""
    if suffix not in (".json", ".yaml", ".yml"):
        return False
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return False
    if not isinstance(data, dict):
        return False
    versions = data.get("versions")
    tool = versions.get("tool") if isinstance(versions, dict) else None
    if isinstance(tool, dict) and tool.get("name") == "ngap":
        return True
    return "runs" in data and "sarif" in str(data.get("$schema", "")).lower()


def read_ruleset(
    paths: Iterable[str | Path], catalogue: Catalogue, exclude: Iterable[str | Path] = ()
) -> RuleSet:
    """Read every vendor file under ``paths`` (directories are searched recursively for the
    documented names).  ``exclude``: files this run writes or reads otherwise (its report, its
    baseline), never read as vendor data."""
    ruleset = RuleSet()
    reader = _Reader(catalogue, ruleset)
    skip = {Path(p).resolve() for p in exclude}
    for path, kind in _scan(paths, ruleset, skip):
        shown = str(path)
        if not path.exists():
            ruleset.files.append(shown)
            reader.issue(Location(shown, 0), "no such file")
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raw = path.read_bytes()
            line = raw.count(b"\n", 0, error.start) + 1
            column = error.start - raw.rfind(b"\n", 0, error.start)
            ruleset.files.append(shown)
            reader.issue(
                Location(shown, line),
                f"not UTF-8 text: {error.reason} at byte {column} of the line",
            )
            continue
        except OSError as error:
            ruleset.files.append(shown)
            reader.issue(Location(shown, 0), f"cannot read: {error.strerror or error}")
            continue
        if own_output(text, path.suffix.lower()):
            ruleset.ignored.append(Ignored(shown, "an output of ngap (report, baseline, SARIF)"))
            continue
        ruleset.files.append(shown)
        try:
            _read_file(reader, path, shown, text, kind)
        except (ValueError, yaml.YAMLError) as error:
            line = getattr(error, "lineno", 0) or 0
            mark = getattr(error, "problem_mark", None)
            if mark is not None:
                line = mark.line + 1
            reader.issue(
                Location(shown, line or 1), f"not a valid {path.suffix.lstrip('.')}: {error}"
            )
    _check_duplicates(ruleset)
    return ruleset


def _read_file(reader: _Reader, path: Path, shown: str, text: str, named: str | None) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, header_line, rows = _csv_rows(text)
        kind = named or _kind_of(path, header)
        required = {"tariffs": TARIFF_COLUMNS, "pairs": PAIR_COLUMNS}.get(kind or "")
        if required is None:
            reader.issue(
                Location(shown, 1),
                "cannot tell a tariffs file from a matrix file "
                "(name it tariffs*.csv or cumulation*.csv)",
            )
            return
        missing = [c for c in required if c not in header]
        if missing:
            reader.issue(
                Location(shown, header_line),
                f"missing column(s) {', '.join(missing)} (header: {', '.join(header)})",
            )
            return
        for line, row in rows:
            where = Location(shown, line)
            if "__extra__" in row:
                reader.issue(where, "more cells than columns in the header")
                continue
            if kind == "tariffs":
                reader.tariff(row, where)
            else:
                reader.pair(row, where)
        return
    kind = named or _kind_of(path)
    if suffix == ".json" and kind in ("tariffs", "pairs"):
        key = "tariffs" if kind == "tariffs" else "pairs"
        for line, item in json_items(text, key):
            where = Location(shown, line)
            if not isinstance(item, dict):
                reader.issue(where, "expected an object")
            elif kind == "tariffs":
                reader.tariff(item, where)
            else:
                reader.pair(item, where)
        return
    if kind == "encounters" or suffix in (".yaml", ".yml", ".json"):
        _read_encounters(reader, path, shown, text)
        return
    reader.issue(Location(shown, 1), "unrecognised file")


def _read_encounters(reader: _Reader, path: Path, shown: str, text: str) -> None:
    if path.suffix.lower() == ".json":
        stripped = text.lstrip()
        if stripped.startswith("["):
            for line, item in json_items(text, "encounters"):
                reader.encounter(item, Location(shown, line), path.stem)
            return
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("encounters"), list):
            for line, item in json_items(text, "encounters"):
                reader.encounter(item, Location(shown, line), path.stem)
            return
        reader.encounter(data, Location(shown, 1), path.stem, alone=True)
        return
    docs = list(yaml.compose_all(text))
    for node in docs:
        if node is None:
            continue
        data = yaml.safe_load(yaml.serialize(node))
        items = data.get("encounters") if isinstance(data, dict) else None
        if isinstance(data, list) or isinstance(items, list):
            seq = node if isinstance(data, list) else _mapping_value(node, "encounters")
            for item_node in getattr(seq, "value", []):
                item = yaml.safe_load(yaml.serialize(item_node))
                where = Location(shown, item_node.start_mark.line + 1)
                reader.encounter(item, where, path.stem)
        else:
            where = Location(shown, node.start_mark.line + 1)
            reader.encounter(data, where, path.stem, alone=len(docs) == 1)


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    for k, v in getattr(node, "value", []):
        if getattr(k, "value", None) == key:
            return v  # type: ignore[no-any-return]
    return None


def _check_duplicates(ruleset: RuleSet) -> None:
    """Duplicate or overlapping tariff rows, duplicate matrix rows, encounters sharing an id:
    the first one is kept."""
    kept: list[TariffRow] = []
    by_key: dict[tuple[str, str], list[TariffRow]] = {}
    for row in ruleset.tariffs:
        clash = next(
            (
                o
                for o in by_key.get((row.code, row.zone), [])
                if o.start <= row.end and row.start <= o.end
            ),
            None,
        )
        if clash is not None:
            what = "duplicate of" if clash.start == row.start else "overlaps"
            ruleset.issues.append(
                InputIssue(
                    row.location,
                    f"{row.code} ({row.zone}) from {row.start}: {what} the row at {clash.location}",
                )
            )
            continue
        by_key.setdefault((row.code, row.zone), []).append(row)
        kept.append(row)
    ruleset.tariffs = kept
    pairs: list[PairRow] = []
    seen: dict[
        tuple[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...], dt.date], PairRow
    ] = {}
    for pair in ruleset.pairs:
        key = (pair.pair, pair.conditions, pair.start)
        first = seen.get(key)
        if first is not None:
            verdict = "conflicting" if first.allowed != pair.allowed else "duplicate"
            ruleset.issues.append(
                InputIssue(
                    pair.location,
                    f"{verdict} row for {pair.a}/{pair.b}"
                    + (f" ({pair.condition_text})" if pair.condition_text else "")
                    + f": first at {first.location}",
                )
            )
            continue
        seen[key] = pair
        pairs.append(pair)
    ruleset.pairs = pairs
    # An encounter's id is the identity of its findings: two encounters may not share one.
    encounters: list[VendorEncounter] = []
    first_at: dict[str, Location] = {}
    for item in ruleset.encounters:
        if item.ident in first_at:
            ruleset.issues.append(
                InputIssue(
                    item.location,
                    f"id: {item.ident!r} is the id of the encounter at {first_at[item.ident]}",
                )
            )
            continue
        first_at[item.ident] = item.location
        encounters.append(item)
    ruleset.encounters = encounters


def close_matches(code: str, catalogue: Catalogue) -> list[str]:
    return difflib.get_close_matches(code.upper(), list(catalogue.codes), n=3, cutoff=0.6)
