"""The case book (``tests/cases/*.yaml``) as a small index shipped with the package.

Why shipped: ``tests/`` is not part of an installed package, yet the pages of an installed
``ngap`` (and the web service) must list the cases that exercise a code or a rule and solve one
as a worked example.  ``casebook_index.json`` holds, per case, its topic, name, source, the rule it
exercises, its encounter and the codes and rules its expectations name; a test
(``tests/site/test_casebook_index.py``) rebuilds it from the case book and fails when it is stale.
Rebuild with ``python -m ngap.site.casebook tests/cases``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

INDEX_NAME = "casebook_index.json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def case_entry(topic: str, item: dict[str, Any]) -> dict[str, Any]:
    """One case of the case book, reduced to what the pages show."""
    optimise = item.get("optimise") or None
    checks = [
        {
            "claimed": [str(c) for c in check.get("claimed", [])],
            "status": check.get("status"),
            "rules": [str(r) for r in check.get("rules", [])],
        }
        for check in _as_list(item.get("check"))
    ]
    enumerate_ = item.get("enumerate") or {}
    codes: set[str] = set()
    if optimise:
        codes |= {str(c) for c in optimise.get("codes", [])}
    for check in checks:
        codes |= set(check["claimed"])
    for group in (*enumerate_.get("contains", []), *enumerate_.get("excludes", [])):
        codes |= {str(c) for c in group}
    rules = {str(item["rule"])} if item.get("rule") else set()
    for check in checks:
        rules |= set(check["rules"])
    return {
        "topic": topic,
        "name": str(item["name"]),
        "source": str(item.get("source", "")),
        "rule": str(item["rule"]) if item.get("rule") else None,
        "encounter": _jsonable(item.get("encounter", {})),
        "optimise": (
            {
                "codes": [str(c) for c in optimise.get("codes", [])],
                "total": str(optimise["total"]) if "total" in optimise else None,
            }
            if optimise
            else None
        ),
        "checks": checks,
        "codes": sorted(codes),
        "rules": sorted(rules),
    }


def build_index(cases_dir: Path) -> list[dict[str, Any]]:
    """Every case of ``cases_dir/*.yaml``, in file and case order."""
    entries = []
    for path in sorted(cases_dir.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            entries.append(case_entry(path.stem, item))
    return entries


def dumps(entries: list[dict[str, Any]]) -> str:
    """The exact text of the shipped index (one case per line: readable diffs)."""
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in entries]
    return "[\n" + ",\n".join(lines) + "\n]\n"


@functools.cache
def load_index() -> tuple[dict[str, Any], ...]:
    """The shipped index (empty when the file is missing)."""
    item = resources.files("ngap.site").joinpath(INDEX_NAME)
    if not item.is_file():
        return ()
    return tuple(json.loads(item.read_text(encoding="utf-8")))


def cases_for_code(code: str) -> list[dict[str, Any]]:
    return [c for c in load_index() if code in c["codes"]]


def cases_for_rule(rule: str) -> list[dict[str, Any]]:
    return [c for c in load_index() if rule in c["rules"]]


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/cases")
    target = Path(__file__).with_name(INDEX_NAME)
    target.write_text(dumps(build_index(folder)), encoding="utf-8")
    print(f"{target}: {len(build_index(folder))} cases")
