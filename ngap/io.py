"""Reading encounter files (JSON or YAML) with errors that name the field, in French and English.

What a file says is read as written: YAML dates and times stay text (an unquoted
``date: 2024-02-30`` is an impossible date named as such, ``time: 21:30`` is not the sexagesimal
integer 1290), a key written twice is refused rather than silently overwritten, and a file that is
not UTF-8 text, empty, a directory, absurdly nested or holding a number of thousands of digits is
bad input with a clear message — never a crash.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ngap.model import labels
from ngap.model.encounter import Encounter, FieldError
from ngap.model.labels import Lang

MAX_BYTES = 1_000_000
"""An encounter is a few hundred bytes; a larger file is not one."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"


class InputError(ValueError):
    """Bad input: the message names the file and the field (``str()`` is the English text)."""

    def __init__(self, en: str, fr: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.fr = fr if fr is not None else en

    def text(self, lang: Lang) -> str:
        return self.fr if lang == "fr" else self.en


class _Loader(yaml.SafeLoader):
    """YAML as written: no implicit dates or base-60 numbers, no duplicate keys."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        implicit_scalar = kind is yaml.ScalarNode and implicit[0]
        sexagesimal = ":" in str(value) and tag.endswith((":int", ":float"))
        if implicit_scalar and (tag == _TIMESTAMP or sexagesimal):
            return _STR
        return tag

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue
                if duplicate:
                    raise _Duplicate(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _Duplicate(key)
        data[key] = value
    return data


def load_text(text: str, where: str, syntax: str) -> Any:
    """Parse JSON or YAML text; every failure is an ``InputError`` naming the file."""
    try:
        if syntax == "yaml":
            return yaml.load(text, Loader=_Loader)
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as dup:
        at = f" (line {dup.line})" if dup.line else ""
        at_fr = f" (ligne {dup.line})" if dup.line else ""
        raise InputError(
            f"{where}: key {dup.key!r} is written twice{at}",
            f"{where} : la clé {dup.key!r} est écrite deux fois{at_fr}",
        ) from None
    except RecursionError:
        raise InputError(
            f"{where}: nested too deeply to be an encounter",
            f"{where} : imbrication trop profonde pour une rencontre",
        ) from None
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        name = syntax.upper()
        detail = " ".join(str(error).split())
        raise InputError(
            f"{where}: not valid {name}: {detail}",
            f"{where} : {name} invalide : {detail}",
        ) from error
    except ValueError as error:  # e.g. an integer beyond Python's 4 300-digit limit
        detail = " ".join(str(error).split())
        raise InputError(
            f"{where}: unreadable value: {detail}",
            f"{where} : valeur illisible : {detail}",
        ) from error


def decode(raw: bytes, where: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is allowed); anything else is named for what it is."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:2].count(b"\x00") == 1:
        raise InputError(
            f"{where}: UTF-16 text; save the file as UTF-8",
            f"{where} : texte UTF-16 ; enregistrer le fichier en UTF-8",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{where}: not UTF-8 text (byte {raw[error.start]:#04x} at offset {error.start}); "
            "save the file as UTF-8",
            f"{where} : pas du texte UTF-8 (octet {raw[error.start]:#04x} à la position "
            f"{error.start}) ; enregistrer le fichier en UTF-8",
        ) from None
    if "\x00" in text:
        raise InputError(
            f"{where}: binary content (NUL bytes); an encounter is UTF-8 text",
            f"{where} : contenu binaire (octets nuls) ; une rencontre est du texte UTF-8",
        )
    return text


def _read_bytes(path: str) -> bytes:
    """The bytes of a file; missing files and directories are bad input, other OSErrors not."""
    file = Path(path)
    if file.is_dir():
        raise InputError(
            f"{path}: is a directory, not an encounter file",
            f"{path} : est un dossier, pas un fichier de rencontre",
        )
    if not file.exists():
        raise InputError(f"{path}: no such file", f"{path} : fichier introuvable")
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise InputError(
            f"{path}: {size} bytes, too large for one encounter (at most {MAX_BYTES})",
            f"{path} : {size} octets, trop gros pour une rencontre (au plus {MAX_BYTES})",
        )
    return file.read_bytes()


def read_data(path: str) -> tuple[Any, str]:
    """The parsed content of an encounter file (or ``-``: JSON or YAML on stdin) and its name."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.read(MAX_BYTES + 1) if stream is not None else sys.stdin.read().encode()
        where, syntax = "<stdin>", "yaml"  # YAML reads JSON too, with the same strictness
    else:
        raw, where = _read_bytes(path), path
        syntax = "yaml" if Path(path).suffix.lower() in (".yaml", ".yml") else "json"
    if len(raw) > MAX_BYTES:
        raise InputError(f"{where}: too large for one encounter", f"{where} : trop gros")
    text = decode(raw, where)
    if not text.strip():
        raise InputError(f"{where}: empty file", f"{where} : fichier vide")
    return load_text(text, where, syntax), where


def read_encounter(path: str) -> Encounter:
    """Read one encounter from a .json / .yaml / .yml file, or '-' for JSON or YAML on stdin."""
    data, where = read_data(path)
    return parse_encounter(data, where)


def parse_encounter(data: Any, where: str = "<input>") -> Encounter:
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: an encounter must be a mapping of fields (date, place, done…)",
            f"{where} : une rencontre est une suite de champs (date, place, done…)",
        )
    try:
        return Encounter.model_validate(data)
    except ValidationError as error:
        raise InputError(describe(error, where, "en"), describe(error, where, "fr")) from error
    except RecursionError:
        raise InputError(
            f"{where}: nested too deeply to be an encounter",
            f"{where} : imbrication trop profonde pour une rencontre",
        ) from None


# ---------------------------------------------------------------------------------------------
# Messages


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose field list applies at ``loc`` (for "did you mean" on unknown fields)."""
    model: type[BaseModel] = Encounter
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        sub = field.annotation
        candidates = [sub, *getattr(sub, "__args__", ())]
        found = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not found:
            return None
        model = found[0]
    return model


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_DATE_REASONS_FR = {
    "day value is outside expected range": "ce jour n'existe pas dans ce mois",
    "month value is outside expected range": "le mois va de 01 à 12",
    "input is too short": "trop court",
    "invalid character in year": "année mal écrite",
    "invalid date separator, expected `-`": "séparateur attendu : -",
}
"""Pydantic's reasons for refusing a date, in French."""


def _message(item: Any, lang: Lang) -> str:
    """One pydantic error in plain words, with the closest valid value when there is one."""
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    fr = lang == "fr"
    if kind == "value_error" and isinstance(ctx.get("error"), FieldError):
        error: FieldError = ctx["error"]
        return error.fr if fr else error.en
    if kind == "extra_forbidden":
        model = _model_at(tuple(item["loc"]))
        name = str(item["loc"][-1])
        hint = labels.suggestion(name, model.model_fields, None, lang) if model else ""
        return ("champ inconnu" if fr else "unknown field") + hint
    if kind == "missing":
        return "champ obligatoire absent" if fr else "required field missing"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        field = str(item["loc"][-1])
        hint = labels.suggestion(str(value), expected, labels.ENUM_ALIASES.get(field), lang)
        allowed = ", ".join(expected)
        if fr:
            return f"valeur inconnue {_short(value)} ; valeurs possibles : {allowed}{hint}"
        return f"unknown value {_short(value)}; expected one of {allowed}{hint}"
    if kind.startswith("date"):
        reason = str(ctx.get("error", ""))
        if fr:
            reason = _DATE_REASONS_FR.get(reason, "")
            return f"date impossible ou mal écrite {_short(value)} (attendu AAAA-MM-JJ) {reason}"
        return f"impossible or malformed date {_short(value)} (expected YYYY-MM-DD) {reason}"
    if kind == "string_type":
        if fr:
            return f"texte attendu, pas {_short(value)} (l'écrire entre guillemets)"
        return f"text expected, not {_short(value)} (write it in quotes)"
    if kind.startswith("bool"):
        return (
            f"oui/non attendu (true/false), pas {_short(value)}"
            if fr
            else f"yes/no expected (true/false), not {_short(value)}"
        )
    if kind.startswith(("int", "float")):
        shown = _short(value)
        return f"nombre attendu, pas {shown}" if fr else f"number expected, not {shown}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        sign = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">",
                "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "?")
        return (
            f"{_short(value)} hors limites : doit être {sign} {bound}"
            if fr
            else f"{_short(value)} out of range: must be {sign} {bound}"
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return (
            f"une suite de champs attendue, pas {_short(value)}"
            if fr
            else f"a mapping of fields expected, not {_short(value)}"
        )
    if kind in ("tuple_type", "list_type"):
        shown = _short(value)
        return f"une liste attendue, pas {shown}" if fr else f"a list expected, not {shown}"
    message = str(item["msg"])
    return message.removeprefix("Value error, ")


def describe(error: ValidationError, where: str, lang: Lang = "en") -> str:
    """Every error of an encounter, one line each, naming the field."""
    head = f"{where} : rencontre invalide" if lang == "fr" else f"{where}: invalid encounter"
    lines = [head]
    for item in error.errors():
        lines.append(f"  {_location(tuple(item['loc']))}: {_message(item, lang)}")
    return "\n".join(lines)


def encounter_schema() -> dict[str, Any]:
    """The published JSON Schema of an encounter (``ngap schema``)."""
    from ngap.model.encounter import KNOWN_DONE
    from ngap.model.vocabulary import TRIPS

    schema = Encounter.model_json_schema()
    props = schema["properties"]
    props["done"]["items"] = {"type": "string", "enum": list(KNOWN_DONE)}
    props["trip"]["enum"] = list(TRIPS)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ngap.example/schema/encounter.json"
    schema["title"] = "ngap encounter"
    return schema
