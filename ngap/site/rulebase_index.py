"""Where each rule id and each code sits in the rule base: files, lines, and what ties them.

Why: a rule page must say where its rule is written (file and line), and a code page which rules
concern the code.  Both are read from the shipped ``.lp`` files themselves (and from the rules
across encounters of :mod:`ngap.audit.frequency`), never from a hand-kept list, so a new code or
rule shows up on its pages as soon as the rule base mentions it.

A rule *concerns* a code when a statement that states the rule (``breach(R, ...)``,
``excludes(_, _, R)``, ``in_force(R)``) names the code, or uses a predicate whose definition names
it, directly or through other predicates (``biopsy("QZHA001")`` -> ``cumul_ok`` ->
``cumul_allowed`` -> ``breach(ngap_ccam_no_cumul, X)``), or selects codes by kind
(``kind(C, ccam)``: every code of that kind in the catalogue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

from ngap.model.catalogue import Catalogue

RULE_BASE_PREFIX = "ngap/asp_rules/"
FREQUENCY_FILE = "ngap/audit/frequency.py"
_IDENT = re.compile(r"[a-z_][A-Za-z0-9_]*")
_PRED = re.compile(r"(?<![A-Za-z0-9_\"])(#?[a-z_][A-Za-z0-9_]*)\s*\(")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KIND = re.compile(r"\bkind\(\s*[A-Z_][A-Za-z0-9_]*\s*,\s*([a-z_]+)\s*\)")
_RULE_ARG = re.compile(
    r"\b(?:breach\(\s*([a-z_][A-Za-z0-9_]*)\s*,"
    r"|excludes\([^()]*,\s*([a-z_][A-Za-z0-9_]*)\s*\)"
    r"|in_force\(\s*([a-z_][A-Za-z0-9_]*)\s*\))"
)


@dataclass(frozen=True)
class Location:
    """A line of a file of the package (path relative to the project root, 1-based line)."""

    file: str
    line: int
    text: str


@dataclass
class Statement:
    file: str
    first: int
    last: int
    text: str
    """The statement without its comments."""
    head: frozenset[str]
    body: frozenset[str]
    codes: frozenset[str]
    rules: frozenset[str]
    kinds: frozenset[str]


@dataclass
class RuleBaseIndex:
    """Rules and codes of the rule base, with their places in the files."""

    rule_lines: dict[str, list[Location]] = field(default_factory=dict)
    """Rule id -> the statements that state it (first line of each)."""
    rule_codes: dict[str, set[str]] = field(default_factory=dict)
    """Rule id -> the codes it concerns."""
    code_lines: dict[str, list[Location]] = field(default_factory=dict)
    """Code -> every line of the rule base that names it."""

    def codes_of(self, rule: str) -> list[str]:
        return sorted(self.rule_codes.get(rule, ()))

    def rules_of(self, code: str) -> list[str]:
        return sorted(r for r, codes in self.rule_codes.items() if code in codes)


def _strip_comment(line: str) -> str:
    """The line without its ``%`` comment (a ``%`` inside a string is kept)."""
    inside = False
    for i, char in enumerate(line):
        if char == '"':
            inside = not inside
        elif char == "%" and not inside:
            return line[:i]
    return line


def _statements(file: str, text: str, codes: set[str], rules: set[str]) -> list[Statement]:
    """Split an ASP file into statements (ended by a ``.`` outside strings and ``..``)."""
    out: list[Statement] = []
    buffer: list[str] = []
    first = 0
    block_comment = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw
        if block_comment:
            if "*%" not in line:
                continue
            line = line.split("*%", 1)[1]
            block_comment = False
        if "%*" in line:
            line, rest = line.split("%*", 1)
            if "*%" not in rest:
                block_comment = True
        line = _strip_comment(line)
        if not line.strip():
            continue
        if not buffer:
            first = number
        inside = False
        start = 0
        for i, char in enumerate(line):
            if char == '"':
                inside = not inside
            elif char == "." and not inside:
                before = line[i - 1] if i else ""
                after = line[i + 1] if i + 1 < len(line) else ""
                if after == "." or before == "." or (before.isdigit() and after.isdigit()):
                    continue
                buffer.append(line[start : i + 1])
                out.append(_statement(file, first, number, " ".join(buffer), codes, rules))
                buffer, start, first = [], i + 1, number
        rest = line[start:]
        if rest.strip():
            buffer.append(rest)
    return out


def _statement(
    file: str, first: int, last: int, text: str, codes: set[str], rules: set[str]
) -> Statement:
    head_text, _, body_text = text.partition(":-")
    named_rules = {
        name for match in _RULE_ARG.finditer(text) for name in match.groups() if name
    } & rules
    return Statement(
        file=file,
        first=first,
        last=last,
        text=text.strip(),
        head=frozenset(_predicates(head_text)),
        body=frozenset(_predicates(body_text)),
        codes=frozenset(s for s in _STRING.findall(text) if s in codes),
        rules=frozenset(named_rules),
        kinds=frozenset(_KIND.findall(body_text)),
    )


def _predicates(text: str) -> set[str]:
    names = {m.group(1) for m in _PRED.finditer(text)}
    # zero-arity atoms (``ecg_alone``, ``jkhd_screening``): identifiers not followed by "("
    for match in _IDENT.finditer(_STRING.sub('""', text)):
        end = match.end()
        if end >= len(text) or text[end] != "(":
            names.add(match.group())
    return {n for n in names if not n.startswith("#") and n not in ("not",)}


def _asp_files() -> list[tuple[str, str]]:
    folder = resources.files("ngap.asp_rules")
    files = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".lp")), key=lambda p: p.name
    )
    return [(RULE_BASE_PREFIX + item.name, item.read_text(encoding="utf-8")) for item in files]


def build_index(catalogue: Catalogue) -> RuleBaseIndex:
    """Scan the rule base (and the rules across encounters) for rules and codes."""
    codes = set(catalogue.codes)
    rules = set(catalogue.rules)
    by_kind: dict[str, set[str]] = {}
    for code in catalogue.codes.values():
        by_kind.setdefault(code.kind, set()).add(code.code)
    index = RuleBaseIndex()
    statements: list[Statement] = []
    for file, text in _asp_files():
        statements += _statements(file, text, codes, rules)
        for number, raw in enumerate(text.splitlines(), 1):
            for name in set(_STRING.findall(raw)) & codes:
                index.code_lines.setdefault(name, []).append(Location(file, number, raw.strip()))
    # codes each predicate can stand for, closed over the definitions (a least fixpoint)
    pred_codes: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for st in statements:
            if st.rules:
                continue  # rule statements are read below, not merged into their predicate
            found = set(st.codes)
            for kind in st.kinds:
                found |= by_kind.get(kind, set())
            for pred in st.body:
                found |= pred_codes.get(pred, set())
            for pred in st.head:
                known = pred_codes.setdefault(pred, set())
                if not found <= known:
                    known |= found
                    changed = True
    for st in statements:
        for rule in sorted(st.rules):
            index.rule_lines.setdefault(rule, []).append(
                Location(st.file, st.first, st.text if len(st.text) < 300 else st.text[:297] + "…")
            )
            concerned = index.rule_codes.setdefault(rule, set())
            concerned |= st.codes
            for kind in st.kinds:
                concerned |= by_kind.get(kind, set())
            for pred in st.body | (st.head - {"breach", "excludes", "in_force"}):
                concerned |= pred_codes.get(pred, set())
    _frequency_rules(index, catalogue)
    _python_rules(index, catalogue)
    return index


def _python_rules(index: RuleBaseIndex, catalogue: Catalogue) -> None:
    """Rules checked in Python (rules.yaml names the module, e.g. ``../solver/engine.py``):
    their lines are those that name the rule id."""
    for rule in catalogue.rules.values():
        if rule.id in index.rule_lines or not rule.file.endswith(".py"):
            continue
        parts = rule.file.split("/")
        if len(parts) != 3 or parts[0] != "..":
            continue
        module = resources.files(f"ngap.{parts[1]}").joinpath(parts[2])
        lines = module.read_text(encoding="utf-8").splitlines()
        shown = f"ngap/{parts[1]}/{parts[2]}"
        index.rule_lines[rule.id] = [
            Location(shown, n, raw.strip())
            for n, raw in enumerate(lines, 1)
            if f'"{rule.id}"' in raw
        ]
        index.rule_codes.setdefault(rule.id, set())


def _frequency_rules(index: RuleBaseIndex, catalogue: Catalogue) -> None:
    """Rules across encounters: their codes from :data:`FREQUENCY_RULES`, lines from the file."""
    from ngap.audit import frequency

    text = resources.files("ngap.audit").joinpath("frequency.py").read_text(encoding="utf-8")
    lines = text.splitlines()
    for rule in frequency.FREQUENCY_RULES:
        if rule.id not in catalogue.rules:
            continue
        found = [
            Location(FREQUENCY_FILE, n, raw.strip())
            for n, raw in enumerate(lines, 1)
            if f'"{rule.id}"' in raw
        ]
        index.rule_lines.setdefault(rule.id, []).extend(found)
        index.rule_codes.setdefault(rule.id, set()).update(
            c for c in rule.codes if c in catalogue.codes
        )
