"""Reading encounter files (JSON or YAML) with errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ngap.model.encounter import Encounter


class InputError(ValueError):
    """Bad input: the message names the file and the field."""


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def describe(error: ValidationError, where: str) -> str:
    lines = [f"{where}: invalid encounter"]
    for item in error.errors():
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"  {_location(item['loc'])}: {msg}")
    return "\n".join(lines)


def parse_encounter(data: Any, where: str = "<input>") -> Encounter:
    if not isinstance(data, dict):
        raise InputError(f"{where}: an encounter must be a mapping of fields")
    try:
        return Encounter.model_validate(data)
    except ValidationError as error:
        raise InputError(describe(error, where)) from error


def read_encounter(path: str) -> Encounter:
    """Read one encounter from a .json / .yaml / .yml file, or '-' for JSON on stdin."""
    if path == "-":
        import sys

        text, where, suffix = sys.stdin.read(), "<stdin>", ".json"
    else:
        file = Path(path)
        if not file.exists():
            raise InputError(f"{path}: no such file")
        text, where, suffix = file.read_text(encoding="utf-8"), path, file.suffix.lower()
    try:
        data = yaml.safe_load(text) if suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InputError(f"{where}: not valid {suffix.lstrip('.') or 'JSON'}: {error}") from error
    return parse_encounter(data, where)


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
