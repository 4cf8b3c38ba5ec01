"""What the service does for one request, shared by the JSON API and the web calculator.

Input is parsed exactly as the command line parses a file (``ngap.io.parse_encounter``), so the
messages are the same and name the field; every answer is a plain dict that carries
``versions``.  Errors are ``ServiceError`` with an HTTP status, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ngap.describe import code_description, rule_description
from ngap.io import InputError, parse_encounter
from ngap.model.catalogue import Catalogue, Code
from ngap.model.encounter import Encounter
from ngap.model.eras import DateOutOfRange
from ngap.model.labels import describe_context
from ngap.solver.engine import Nomenclature, SolveTimeout, UnknownCodeError, time_limit
from ngap.solver.results import Cotation, euros
from ngap.versions import versions


@dataclass
class ServiceError(Exception):
    """An answer other than 200: the status, a message (the CLI's), and details."""

    status: int
    kind: str
    message: str
    fields: list[str] = field(default_factory=list)
    close_matches: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "kind": self.kind, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        if self.close_matches:
            error["close_matches"] = self.close_matches
        return {"error": error, "versions": versions()}


def bad_input(message: str, fields: Sequence[str] = ()) -> ServiceError:
    return ServiceError(422, "bad_input", message, list(fields))


def encounter_from(data: Any) -> Encounter:
    """The encounter of a request body, with the CLI's messages (the field is named)."""
    try:
        return parse_encounter(data, "<request>")
    except InputError as error:
        fields: list[str] = []
        cause = error.__cause__
        if isinstance(cause, ValidationError):
            fields = [".".join(str(p) for p in item["loc"]) for item in cause.errors()]
        raise bad_input(str(error), fields) from error


@dataclass
class Engine:
    """One grounded nomenclature per process and the limits every solve runs under."""

    nomenclature: Nomenclature
    solve_seconds: float | None = 10.0

    @property
    def catalogue(self) -> Catalogue:
        return self.nomenclature.catalogue

    # ------------------------------------------------------------------ answers
    def optimise(self, encounter: Encounter) -> dict[str, Any]:
        result = self._run(lambda: self.nomenclature.optimise(encounter))
        data = result.to_dict()
        data["optimal"] = [self.cotation(c) for c in result.optimal]
        return self._stamp(data)

    def enumerate(self, encounter: Encounter, limit: int) -> dict[str, Any]:
        result = self._run(lambda: self.nomenclature.enumerate(encounter, limit=limit))
        data = result.to_dict()
        data["cotations"] = [self.cotation(c) for c in result.cotations]
        return self._stamp(data)

    def check(self, encounter: Encounter, claimed: Sequence[str] | None) -> dict[str, Any]:
        if claimed is None and encounter.claimed is None:
            raise bad_input(
                "no claimed codes: give a 'claimed' list in the encounter or ?claimed=G,MEG",
                ["claimed"],
            )
        result = self._run(lambda: self.nomenclature.check(encounter, claimed))
        data = result.to_dict()
        data["claimed"] = self.cotation(result.claimed)
        data["optimal"] = self.cotation(result.optimal) if result.optimal else None
        data["difference"] = euros(result.difference_cents)
        data["conditions_text"] = self._texts(result.conditions)
        return self._stamp(data)

    def why_not(self, encounter: Encounter, code: str) -> dict[str, Any]:
        result = self._run(lambda: self.nomenclature.why_not(encounter, code))
        data = result.to_dict()
        data["optimal"] = self.cotation(result.optimal)
        data["with_code"] = self.cotation(result.with_code) if result.with_code else None
        data["conditions_text"] = self._texts(result.conditions)
        data["changes_text"] = self._texts(result.changes)
        return self._stamp(data)

    def add_conditions(self, encounter: Encounter, cotations: list[dict[str, Any]]) -> None:
        """Add to each cotation the open context it needs (``conditions``, ``conditions_text``):
        only the unknown dimensions that matter for it, where ``assumed`` names a value for
        every open dimension (the web page says the former in words)."""
        ctx = self.nomenclature.context(encounter)
        for cotation in cotations:
            if not cotation["assumed"]:
                cotation["conditions"], cotation["conditions_text"] = {}, {}
                continue
            codes = cotation["codes"]
            _, conditions = self._run(lambda c=codes: self.nomenclature.judge_context(ctx, c))
            cotation["conditions"] = {k: list(v) for k, v in conditions.items()}
            cotation["conditions_text"] = self._texts(conditions)

    def codes(self, day: dt.date) -> dict[str, Any]:
        rows = [
            code_summary(code, day)
            for code in self.catalogue.codes.values()
            if code.billable_on(day)
        ]
        return self._stamp({"date": day.isoformat(), "codes": rows})

    def code(self, name: str) -> dict[str, Any]:
        catalogue = self.catalogue
        key = name.upper() if name.upper() in catalogue.codes else name
        if key not in catalogue.codes:
            close = difflib.get_close_matches(name, list(catalogue.codes), n=3)
            raise unknown(f"unknown code {name!r}", close, 404)
        return self._stamp(code_description(catalogue, catalogue.codes[key]))

    def rule(self, rule_id: str) -> dict[str, Any]:
        rules = self.catalogue.rules
        if rule_id not in rules:
            close = difflib.get_close_matches(rule_id, list(rules), n=3)
            raise unknown(f"unknown rule {rule_id!r}", close, 404)
        return self._stamp(rule_description(rules[rule_id]))

    # ------------------------------------------------------------------ shaping answers
    def cotation(self, cotation: Cotation) -> dict[str, Any]:
        """A cotation with French labels, the line to copy and the assumptions in words."""
        data = cotation.to_dict()
        for line in data["lines"]:
            info = self.catalogue.codes.get(line["code"])
            line["label_fr"] = info.label_fr if info else line["label"]
            line["label_en"] = info.label_en if info else line["label"]
            line["amount"] = euros(line["amount_cents"])
        data["billing_line"] = billing_line(cotation)
        data["assumed_text"] = {
            lang: describe_context(cotation.assumed, lang) for lang in ("fr", "en")
        }
        return data

    @staticmethod
    def _texts(context: dict[str, tuple[str, ...]]) -> dict[str, str]:
        return {lang: describe_context(context, lang) for lang in ("fr", "en")}

    @staticmethod
    def _stamp(data: dict[str, Any]) -> dict[str, Any]:
        data["versions"] = versions()
        return data

    def _run(self, call: Any) -> Any:
        try:
            with time_limit(self.solve_seconds):
                return call()
        except SolveTimeout as error:
            raise ServiceError(
                503,
                "time_limit",
                f"{error}: the encounter leaves too much open; give more of its context "
                "(time, urgency, patient) and retry",
            ) from error
        except UnknownCodeError as error:
            raise unknown(str(error), error.close) from error
        except DateOutOfRange as error:
            raise bad_input(str(error), ["date"]) from error


def unknown(message: str, close: Sequence[str], status: int = 422) -> ServiceError:
    """An unknown code or rule (422 in a claim, 404 as a path), with close matches."""
    return ServiceError(status, "unknown", message, close_matches=list(close))


def code_summary(code: Code, day: dt.date) -> dict[str, Any]:
    step = code.step_on(day)
    return {
        "code": code.code,
        "kind": code.kind,
        "nomenclature": code.nomenclature,
        "amount_cents": step.cents if step else None,
        "grade": step.grade if step else None,
        "label_fr": code.label_fr,
        "label_en": code.label_en,
        "article": code.article,
    }


def billing_line(cotation: Cotation) -> str:
    """The cotation as billing software takes it: ``VG+MN+MDN``, per-km codes with their km
    (``IK×8``), half-rate acts marked and after the full-rate ones (``MJPA010+DEQP003/2``:
    the CCAM association lists the principal act first)."""
    parts = []
    for line in sorted(cotation.lines, key=lambda line: -line.rate_percent):
        text = line.code
        if line.quantity is not None:
            text += f"×{line.quantity:g}"
        elif line.rate_percent == 50:
            text += "/2"
        parts.append(text)
    return "+".join(parts)


def parse_date(text: str | None, name: str = "date") -> dt.date:
    if text is None or text == "":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise bad_input(f"{name}: {text!r} is not a date YYYY-MM-DD", [name]) from error
