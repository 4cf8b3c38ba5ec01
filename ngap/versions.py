"""Versions carried by every JSON answer: the tool's and the knowledge base's.

An answer about billing is only as good as the rules and tariffs that produced it, so every JSON
output names both: the tool version (the package) and the knowledge-base version, a digest of the
rule base and data files (two installs with the same digest answer alike) with the date the
knowledge base was last revised (``ngap/model/data/knowledge_base.yaml``, updated with the data).
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import Any

import yaml

TOOL_NAME = "ngap"


def tool_version() -> str:
    """The installed package version (``ngap.__version__``)."""
    from ngap import __version__

    return __version__


@functools.cache
def knowledge_base_fingerprint() -> str:
    """SHA-256 of every ``.lp`` file of the rule base and every data file of the model."""
    digest = hashlib.sha256()
    folders = (
        resources.files("ngap.asp_rules"),
        resources.files("ngap.model").joinpath("data"),
    )
    for folder in folders:
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.is_file() and item.name.endswith((".lp", ".yaml", ".csv")):
                digest.update(item.name.encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()


@functools.cache
def knowledge_base_date() -> str:
    """ISO date of the latest revision of the knowledge base (rules or data)."""
    text = resources.files("ngap.model").joinpath("data/knowledge_base.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return str(data["revised"])


def versions() -> dict[str, Any]:
    """The ``versions`` object of every JSON answer (see ``schema/``)."""
    return {
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "knowledge_base": {
            "fingerprint": knowledge_base_fingerprint()[:16],
            "revised": knowledge_base_date(),
        },
    }
