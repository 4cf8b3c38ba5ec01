"""The case book: encounters with their exact expected answers, in YAML files per topic.

Like OpenFisca's YAML tests, each case reads as the law's own example.  Format
(tests/cases/<topic>.yaml, a list of cases):

    - name: "G + MEG for a child under 6 (seed SRP-IMG 2023: 31.50 €)"
      source: "seed 000, III. Cotations"          # where the expected figure comes from
      rule: meg_in_child_exam                      # optional: the rule id the case exercises
      encounter: {date: 2023-11-15, place: office, patient: {age: {years: 3}}, done: [consultation]}
      optimise:                                    # optional
        codes: [G, MEG]                            # one of the optimal cotations (order free)
        total: "31.50"                             # its total in euros (exact)
        ties: 1                                    # optional: number of optimal cotations
        complete: true                             # optional: false if a line is unpriced
      check:                                       # optional, may be a list
        claimed: [G, MN]
        status: violation                          # valid | conditional | violation
        rules: [night_hours, urgency_justified]    # exact set of violated rule ids
        difference: "35.00"                        # claimed - optimal, euros (optional)
      enumerate:                                   # optional
        contains: [[G], [G, MEG]]                  # these cotations are valid
        excludes: [[G, MN]]                        # and these are not
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    topic: str
    name: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.topic}: {self.name}"


def cents(euros: str | float | int) -> int:
    return int(Decimal(str(euros)) * 100)


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(Case(path.stem, str(item["name"]), item))
    return cases
