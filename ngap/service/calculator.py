"""The web calculator: a French form a GP fills in a minute, answered on the server.

The form posts back to ``/`` (no script needed; a few lines of vanilla JS only filter the CCAM
list); the answer is computed by the same ``Engine`` as the JSON API.  Field names are the
encounter's own paths (``circumstances.emergency``), yes/no fields have a third value "unknown"
(the rule base keeps it open), and the CCAM acts offered are read from the catalogue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.datastructures import FormData

from ngap.model.encounter import KNOWN_DONE, Circumstances, Encounter, Patient, Practitioner, Travel
from ngap.model.labels import Lang, activity_label, context_clause, flag_label
from ngap.model.vocabulary import ACTIVITIES, TRIPS
from ngap.service.operations import Engine, ServiceError, encounter_from
from ngap.service.pages import page_href
from ngap.versions import versions

router = APIRouter()

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ngap.service", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

MAIN_FLAGS = (
    "circumstances.emergency",
    "circumstances.regulated",
    "circumstances.regulated_duty",
    "circumstances.home_justified",
    "circumstances.left_at_once",
)
"""The yes/no circumstances shown at once; the others are under « Autres circonstances »."""

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Calculateur de cotation NGAP / CCAM — médecine générale",
        "pages": "Codes et règles",
        "when": "Quand",
        "date": "Date de l'acte",
        "time": "Heure de l'acte",
        "call_time": "Heure de l'appel",
        "place": "Lieu",
        "patient": "Patient",
        "birth_date": "Date de naissance",
        "age": "ou âge",
        "years": "ans",
        "months": "mois",
        "sex": "Sexe",
        "doctor": "Médecin",
        "sector": "Secteur",
        "specialty": "Qualification",
        "rate": "Tarif",
        "circumstances": "Circonstances",
        "other": "Autres circonstances",
        "travel": "Déplacement",
        "km": "Kilomètres facturables (IK)",
        "trip": "Rang dans la tournée",
        "zone": "Zone",
        "alsace_moselle": "Alsace-Moselle",
        "done": "Actes réalisés",
        "ccam": "Actes techniques CCAM",
        "ccam_filter": "Rechercher un acte CCAM (code ou libellé)",
        "claimed": "Codes facturés (à vérifier), ex. G+MN",
        "compute": "Calculer",
        "why_not": "Pourquoi pas ce code ?",
        "why_not_button": "Pourquoi pas ?",
        "yes": "oui",
        "no": "non",
        "unknown": "inconnu",
        "optimal": "Cotation optimale",
        "code": "Code",
        "label": "Libellé",
        "amount": "Montant",
        "article": "Article",
        "total": "Total",
        "copy_line": "À recopier dans le logiciel de facturation",
        "alternatives": "Autres cotations valides",
        "check": "Vérification des codes facturés",
        "verdict": "Verdict",
        "valid": "valide",
        "conditional": "valide sous conditions",
        "violation": "non conforme",
        "only_if": "Valide seulement",
        "difference": "Écart avec l'optimum",
        "why": "Pourquoi pas",
        "in_answer": "est déjà dans la cotation optimale.",
        "possible": "est possible, mais la meilleure cotation qui le contient rapporte moins :",
        "excluded": "est exclu dans ce contexte.",
        "never": "n'est facturable dans aucun contexte à cette date.",
        "rules": "Règles qui l'excluent",
        "would_allow": "Il serait possible",
        "error": "Saisie invalide",
        "unpriced": "non chiffré",
        "unconfirmed": "non confirmé",
        "incomplete": "total minimal : un montant n'est pas confirmé",
        "versions": "Base de connaissances",
        "none": "(aucun code)",
    },
    "en": {
        "title": "NGAP / CCAM billing calculator — general practice",
        "pages": "Codes and rules",
        "when": "When",
        "date": "Date of the act",
        "time": "Time of the act",
        "call_time": "Time of the call",
        "place": "Place",
        "patient": "Patient",
        "birth_date": "Birth date",
        "age": "or age",
        "years": "years",
        "months": "months",
        "sex": "Sex",
        "doctor": "Doctor",
        "sector": "Sector",
        "specialty": "Qualification",
        "rate": "Rate",
        "circumstances": "Circumstances",
        "other": "Other circumstances",
        "travel": "Travel",
        "km": "Billable kilometres (IK)",
        "trip": "Rank in the trip",
        "zone": "Zone",
        "alsace_moselle": "Alsace-Moselle",
        "done": "Acts performed",
        "ccam": "CCAM technical acts",
        "ccam_filter": "Search a CCAM act (code or label)",
        "claimed": "Billed codes (to check), e.g. G+MN",
        "compute": "Compute",
        "why_not": "Why not this code?",
        "why_not_button": "Why not?",
        "yes": "yes",
        "no": "no",
        "unknown": "unknown",
        "optimal": "Optimal cotation",
        "code": "Code",
        "label": "Label",
        "amount": "Amount",
        "article": "Article",
        "total": "Total",
        "copy_line": "To copy into the billing software",
        "alternatives": "Other valid cotations",
        "check": "Check of the billed codes",
        "verdict": "Verdict",
        "valid": "valid",
        "conditional": "valid under conditions",
        "violation": "violation",
        "only_if": "Valid only",
        "difference": "Difference with the optimum",
        "why": "Why not",
        "in_answer": "is already on the optimal cotation.",
        "possible": "is possible, but the best cotation with it pays less:",
        "excluded": "is excluded in this context.",
        "never": "is billable in no context on this date.",
        "rules": "Rules that exclude it",
        "would_allow": "It would be possible",
        "error": "Invalid input",
        "unpriced": "unpriced",
        "unconfirmed": "unconfirmed",
        "incomplete": "lower bound: an amount is not confirmed",
        "versions": "Knowledge base",
        "none": "(no code)",
    },
}

CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "place": {
        "office": ("Cabinet", "Office"),
        "home": ("Domicile", "Home"),
        "institution": ("Établissement (EHPAD…)", "Institution (nursing home…)"),
        "tele": ("Téléconsultation", "Teleconsultation"),
    },
    "sex": {"": ("inconnu", "unknown"), "f": ("Femme", "Female"), "m": ("Homme", "Male")},
    "practitioner.sector": {
        "1": ("Secteur 1", "Sector 1"),
        "2": ("Secteur 2", "Sector 2"),
        "": ("inconnu", "unknown"),
    },
    "practitioner.specialty": {
        "gp": ("Médecin généraliste", "GP"),
        "gp_specialist": ("Spécialiste en médecine générale", "Specialist in general medicine"),
    },
    "practitioner.rate": {
        "opposable": ("Tarif opposable", "Opposable rate"),
        "above": ("Avec dépassement", "Above the opposable rate"),
        "": ("inconnu", "unknown"),
    },
    "zone": {"metro": ("Métropole", "Metropolitan France"), "drom": ("DROM", "Overseas (DROM)")},
}


@dataclass(frozen=True)
class Flag:
    """A yes/no/unknown field of the form: its encounter path, label and default."""

    path: str
    label: str
    default: str


def _default(value: Any) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _flags(lang: Lang) -> list[Flag]:
    sections: list[tuple[str, type[BaseModel]]] = [
        ("practitioner", Practitioner),
        ("patient", Patient),
        ("circumstances", Circumstances),
        ("travel", Travel),
    ]
    flags = []
    for prefix, model in sections:
        for name, info in model.model_fields.items():
            if info.annotation == bool | None:
                flags.append(
                    Flag(f"{prefix}.{name}", flag_label(name, lang), _default(info.default))
                )
    pdsa = Encounter.model_fields["pdsa_extended"].default
    flags.append(Flag("pdsa_extended", flag_label("pdsa_extended", lang), _default(pdsa)))
    return flags


def ccam_acts(engine: Engine, lang: Lang) -> list[tuple[str, str]]:
    """The CCAM acts of the catalogue that an encounter can record as performed."""
    acts = []
    for code in engine.catalogue.codes.values():
        if code.nomenclature == "CCAM" and code.kind == "ccam" and code.code in KNOWN_DONE:
            acts.append((code.code, code.label_fr if lang == "fr" else code.label_en))
    return sorted(acts)


# ------------------------------------------------------------------------------ form -> input
def _tri(value: str | None, default: str, path: str) -> bool | None:
    chosen = value or default
    if chosen not in ("yes", "no", "unknown"):
        raise ServiceError(
            422, "bad_input", f"{path}: {chosen!r} is not yes, no or unknown", [path]
        )
    return None if chosen == "unknown" else chosen == "yes"


def form_to_encounter(form: FormData, lang: Lang) -> dict[str, Any]:
    """The encounter (as ``ngap schema`` describes it) of a submitted form."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    data: dict[str, Any] = {
        "date": text("date"),
        "place": text("place") or "office",
        "zone": text("zone") or "metro",
        "alsace_moselle": text("alsace_moselle") == "on",
        "trip": text("trip") or "single",
        "done": [v for v in form.getlist("done") if isinstance(v, str)],
        "practitioner": {},
        "patient": {},
        "circumstances": {},
        "travel": {},
    }
    for name in ("time", "call_time"):
        if text(name):
            data[name] = text(name)
    for flag in _flags(lang):
        value = _tri(text(flag.path), flag.default, flag.path)
        if "." in flag.path:
            section, name = flag.path.split(".")
            data[section][name] = value
        else:
            data[flag.path] = value
    practitioner = data["practitioner"]
    practitioner["specialty"] = text("practitioner.specialty") or "gp"
    # A select left out of the form keeps the encounter's default; its empty choice is unknown.
    for name, default in (("sector", "1"), ("rate", "opposable")):
        path = f"practitioner.{name}"
        practitioner[name] = (text(path) or None) if path in form else default
    patient = data["patient"]
    patient["sex"] = text("patient.sex") or None
    if text("patient.birth_date"):
        patient["birth_date"] = text("patient.birth_date")
    elif text("patient.age.years") or text("patient.age.months"):
        patient["age"] = {
            "years": _number(text("patient.age.years") or "0", "patient.age.years"),
            "months": _number(text("patient.age.months") or "0", "patient.age.months"),
        }
    if text("travel.km"):
        data["travel"]["km"] = _number(text("travel.km"), "travel.km", real=True)
    return data


def _number(value: str, path: str, real: bool = False) -> float | int:
    try:
        return float(value.replace(",", ".")) if real else int(value)
    except ValueError as error:
        raise ServiceError(
            422, "bad_input", f"{path}: {value!r} is not a number", [path]
        ) from error


def _claimed(text: str) -> list[str]:
    for sep in ("+", ";", " "):
        text = text.replace(sep, ",")
    return [c for c in text.split(",") if c.strip()]


# ------------------------------------------------------------------------------ pages
def _lang(request: Request, form: FormData | None = None) -> Lang:
    value = request.query_params.get("lang") or (form.get("lang") if form else None)
    return "en" if value == "en" else "fr"


def _page(
    request: Request, lang: Lang, values: dict[str, Any], status: int = 200, **answer: Any
) -> HTMLResponse:
    engine: Engine = request.app.state.engine
    template = _ENV.get_template("calculator.html")
    html = template.render(
        t=TEXT[lang],
        lang=lang,
        values=values,
        flags=_flags(lang),
        main_flags=MAIN_FLAGS,
        choices={
            k: {v: labels[0 if lang == "fr" else 1] for v, labels in c.items()}
            for k, c in CHOICES.items()
        },
        trips=[(t, context_clause("trip", t, lang)) for t in TRIPS],
        activities=[(a, activity_label(a, lang)) for a in ACTIVITIES],
        ccam=ccam_acts(engine, lang),
        versions=versions(),
        code_href=lambda code: page_href("codes", code, lang),
        rule_href=lambda rule: page_href("rules", rule, lang),
        **answer,
    )
    return HTMLResponse(html, status_code=status)


def _initial_values() -> dict[str, Any]:
    return {"date": dt.date.today().isoformat(), "place": "office", "done": ["consultation"]}


@router.get("/", include_in_schema=False)
async def form_page(request: Request) -> HTMLResponse:
    """The empty form (today, office, a consultation)."""
    return _page(request, _lang(request), _initial_values())


@router.post("/", include_in_schema=False)
async def answer_page(request: Request) -> HTMLResponse:
    """The form as submitted, with the answer: optimum, alternatives, check, why not."""
    form = await request.form()
    lang = _lang(request, form)
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["done"] = [v for v in form.getlist("done") if isinstance(v, str)]
    engine: Engine = request.app.state.engine
    try:
        encounter = encounter_from(form_to_encounter(form, lang))
        optimal = engine.optimise(encounter)
        alternatives = engine.enumerate(encounter, 10)
        engine.add_conditions(encounter, optimal["optimal"])
        engine.add_conditions(encounter, alternatives["cotations"])
        claimed_text = str(form.get("claimed") or "").strip()
        check = engine.check(encounter, _claimed(claimed_text)) if claimed_text else None
        quick = form.get("why_not_quick")
        why_code = str(quick if isinstance(quick, str) and quick else form.get("why_not") or "")
        why = engine.why_not(encounter, why_code.strip()) if why_code.strip() else None
    except ServiceError as error:
        return _page(request, lang, values, status=error.status, error=error)
    optimum_codes = set(optimal["optimal"][0]["codes"]) if optimal["optimal"] else set()
    suggestions = sorted(
        {c for cot in alternatives["cotations"] for c in cot["codes"]} - optimum_codes
    )
    return _page(
        request,
        lang,
        values,
        optimal=optimal,
        alternatives=alternatives,
        check=check,
        why=why,
        suggestions=suggestions,
    )


def api_reference(request: Request, openapi: dict[str, Any]) -> HTMLResponse:
    """A plain HTML page of the endpoints of the OpenAPI document (works offline)."""
    template = _ENV.get_template("api.html")
    return HTMLResponse(template.render(openapi=openapi, versions=versions()))
