"""One page per code and per rule, and an index: the knowledge base as documentation.

Why: most questions about a billing tool read "this figure differs from the official page" and
are settled by a page that shows the figure, its date, its grade and its source, the rules that
touch the code with the file and line that state them, and the cases that test them (the
publicodes / OpenFisca legislation-explorer habit).  The pages are built from the catalogue, the
rule base and the case book as they are; nothing lists codes or rules by hand.

Every page is one self-contained HTML file (inline CSS, the index's search a few lines of inline
script, no external resource) so the site works from ``file://`` and offline.  Every value comes
from data and is escaped by Jinja2's autoescape.  Links are relative (``../rules/X.html``) or,
with ``base_url`` (a web service serving ``/codes/CODE`` and ``/rules/ID``), absolute from it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
import yaml

from ngap.model.catalogue import FAR_FUTURE, FAR_PAST, Catalogue, Code, TariffStep
from ngap.site.casebook import cases_for_code, cases_for_rule, load_index
from ngap.site.examples import RuleExample, WorkedExample, rule_example, worked_example
from ngap.site.rulebase_index import RuleBaseIndex, build_index
from ngap.solver.engine import Nomenclature
from ngap.versions import versions

LANGS = ("fr", "en")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "site": "ngap — règles de facturation NGAP / CCAM du médecin généraliste",
        "index": "Index",
        "codes": "Codes",
        "rules": "Règles",
        "search": "Rechercher un code, une règle, un article…",
        "code": "Code",
        "label": "Libellé",
        "label_other": "Libellé (anglais)",
        "kind": "Nature",
        "nomenclature": "Nomenclature",
        "article": "Article",
        "validity": "Validité",
        "from": "du",
        "to": "au",
        "open": "sans date de fin",
        "refines": "Facturé sous",
        "note": "Remarque",
        "tariffs": "Tarifs datés",
        "grid_std": "secteur 1 / OPTAM (tarif opposable)",
        "grid_s2": "secteur 2 non OPTAM",
        "metro": "Métropole",
        "drom": "DROM",
        "zone": "Zone",
        "start": "Depuis",
        "end": "Jusqu'au",
        "amount": "Montant",
        "grade": "Fiabilité",
        "sources": "Sources",
        "not_billable": "non facturable",
        "unpriced": "non chiffré",
        "no_tariff": "Aucun tarif (code gratuit, détaillé ou jamais facturé seul).",
        "rules_of_code": "Règles qui concernent ce code",
        "rule": "Règle",
        "where": "Où",
        "mentions": "Lignes de la base de règles qui nomment ce code",
        "cases": "Cas du recueil qui l'exercent",
        "no_cases": "Aucun cas du recueil.",
        "case": "Cas",
        "topic": "Thème",
        "expected": "Attendu",
        "example": "Exemple résolu",
        "example_from_case": "Rencontre du cas « {case} », résolue par optimise :",
        "rule_example": "Exemple : une cotation qui enfreint la règle",
        "rule_example_intro": "Cas « {case} » : la cotation {claimed} est jugée par check :",
        "verdict": "Verdict",
        "claimed_total": "Total réclamé",
        "optimal_total": "Cotation optimale",
        "difference": "Écart",
        "example_from_analysis": "Rencontre construite par l'analyse de la base de règles "
        "(un témoin où le code est facturable), résolue par optimise :",
        "no_example": "Aucune rencontre ne facture ce code seul (voir les règles).",
        "lines": "Lignes",
        "rate": "Taux",
        "total": "Total",
        "assumed": "Contexte ouvert supposé",
        "incomplete": "(montants non confirmés ou non chiffrés : total minimal)",
        "rule_id": "Identifiant",
        "source": "Source",
        "period": "Période d'application",
        "always": "toujours",
        "message_fr": "Message (français)",
        "message_en": "Message (anglais)",
        "files": "Fichier et lignes",
        "codes_of_rule": "Codes concernés",
        "generic_rule": "Règle générale : elle vaut pour tout code.",
        "same_date": "Textes de la bibliographie datés du même jour",
        "rule_kind": "Type",
        "versions": "Version de l'outil {tool}, base de connaissances {kb} révisée le {date}.",
        "grade_O": "O : texte officiel",
        "grade_S": "S : syndicat, presse ou deux sources concordantes",
        "grade_K": "K : un calculateur ou une seule source",
        "grade_?": "? : non confirmé",
        "kind_act": "acte",
        "kind_majoration": "majoration",
        "kind_travel": "déplacement",
        "kind_ccam": "acte CCAM",
        "kind_ccam_supplement": "supplément CCAM",
        "kind_refined": "code détaillé",
        "kind_free": "acte gratuit",
        "rule_condition": "condition (sa violation est une faute de cotation)",
        "rule_exception": "exception (période d'une permission, jamais une violation)",
        "latest": "Dernier tarif",
        "count_codes": "{n} codes",
        "count_rules": "{n} règles",
    },
    "en": {
        "site": "ngap — NGAP / CCAM billing rules for general practitioners",
        "index": "Index",
        "codes": "Codes",
        "rules": "Rules",
        "search": "Search a code, a rule, an article…",
        "code": "Code",
        "label": "Label",
        "label_other": "Label (French)",
        "kind": "Kind",
        "nomenclature": "Nomenclature",
        "article": "Article",
        "validity": "Validity",
        "from": "from",
        "to": "to",
        "open": "no end date",
        "refines": "Billed as",
        "note": "Note",
        "tariffs": "Dated tariffs",
        "grid_std": "sector 1 / OPTAM (opposable rate)",
        "grid_s2": "sector 2 non-OPTAM",
        "metro": "Metropolitan France",
        "drom": "Overseas departments (DROM)",
        "zone": "Zone",
        "start": "From",
        "end": "Until",
        "amount": "Amount",
        "grade": "Grade",
        "sources": "Sources",
        "not_billable": "not billable",
        "unpriced": "unpriced",
        "no_tariff": "No tariff (free, refined, or never billed on its own).",
        "rules_of_code": "Rules that concern this code",
        "rule": "Rule",
        "where": "Where",
        "mentions": "Lines of the rule base that name this code",
        "cases": "Case-book cases that exercise it",
        "no_cases": "No case-book case.",
        "case": "Case",
        "topic": "Topic",
        "expected": "Expected",
        "example": "Worked example",
        "example_from_case": "Encounter of the case “{case}”, solved by optimise:",
        "rule_example": "Example: a coding that breaks the rule",
        "rule_example_intro": "Case “{case}”: the coding {claimed} judged by check:",
        "verdict": "Verdict",
        "claimed_total": "Claimed total",
        "optimal_total": "Optimal cotation",
        "difference": "Difference",
        "example_from_analysis": "Encounter built by the rule-base analysis (a witness where "
        "the code is billable), solved by optimise:",
        "no_example": "No encounter bills this code on its own (see the rules).",
        "lines": "Lines",
        "rate": "Rate",
        "total": "Total",
        "assumed": "Open context assumed",
        "incomplete": "(unconfirmed or unpriced amounts: the total is a lower bound)",
        "rule_id": "Id",
        "source": "Source",
        "period": "In force",
        "always": "always",
        "message_fr": "Message (French)",
        "message_en": "Message (English)",
        "files": "File and lines",
        "codes_of_rule": "Codes concerned",
        "generic_rule": "General rule: it applies to every code.",
        "same_date": "Bibliography entries dated the same day",
        "rule_kind": "Kind",
        "versions": "Tool version {tool}, knowledge base {kb} revised on {date}.",
        "grade_O": "O: official text",
        "grade_S": "S: union, press or two concordant sources",
        "grade_K": "K: one calculator or one source",
        "grade_?": "?: unconfirmed",
        "kind_act": "act",
        "kind_majoration": "majoration",
        "kind_travel": "travel fee",
        "kind_ccam": "CCAM act",
        "kind_ccam_supplement": "CCAM supplement",
        "kind_refined": "refined code",
        "kind_free": "free act",
        "rule_condition": "condition (breaking it is a coding error)",
        "rule_exception": "exception (period of a permission, never a violation)",
        "latest": "Latest tariff",
        "count_codes": "{n} codes",
        "count_rules": "{n} rules",
    },
}


# ====================================================================== links
def slug(name: str) -> str:
    """A file name for a code or rule id: ``K9/2`` -> ``K9~2F2`` (injective, URL-safe)."""
    return _SAFE.sub(lambda m: "~" + "".join(f"{b:02X}" for b in m.group().encode()), name)


@dataclass(frozen=True)
class Links:
    """Where the pages are: relative static files, or under ``base_url`` (a web service)."""

    base_url: str | None = None
    depth: int = 0
    """0 for the index, 1 for a page under ``codes/`` or ``rules/`` (static files only)."""

    def _prefix(self) -> str:
        return "../" * self.depth

    def index(self) -> str:
        if self.base_url is not None:
            return self.base_url
        return self._prefix() + "index.html"

    def code(self, code: str) -> str:
        if self.base_url is not None:
            return f"{self.base_url}codes/{quote(code, safe='')}"
        return f"{self._prefix()}codes/{quote(slug(code))}.html"

    def rule(self, rule: str) -> str:
        if self.base_url is not None:
            return f"{self.base_url}rules/{quote(rule, safe='')}"
        return f"{self._prefix()}rules/{quote(slug(rule))}.html"


def _links(base_url: str | None, depth: int) -> Links:
    if base_url is not None and not base_url.endswith("/"):
        base_url += "/"
    return Links(base_url, depth)


# ====================================================================== data for the templates
@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ngap.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_INDEXES: dict[int, tuple[Catalogue, RuleBaseIndex]] = {}


def _index(catalogue: Catalogue) -> RuleBaseIndex:
    """The rule-base index of a catalogue, built once (keyed by identity: catalogues are not
    hashable, and a test may render pages of a modified copy)."""
    cached = _INDEXES.get(id(catalogue))
    if cached is None or cached[0] is not catalogue:
        cached = (catalogue, build_index(catalogue))
        _INDEXES[id(catalogue)] = cached
    return cached[1]


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: fr or en")
    return lang


def _day(day: dt.date) -> str | None:
    return None if day >= FAR_FUTURE or day <= FAR_PAST else day.isoformat()


def _euros(cents: int | None, lang: str) -> str | None:
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    if lang == "fr":
        return f"{sign}{units:,}".replace(",", "\u202f") + f",{rest:02d} €"
    return f"{sign}€{units:,}.{rest:02d}"


def _source(catalogue: Catalogue, sid: str) -> dict[str, Any]:
    source = catalogue.sources.get(sid)
    if source is None:
        return {"id": sid, "title": sid, "url": None, "date": None}
    url = source.url if source.url and source.url.startswith(("https://", "http://")) else None
    return {
        "id": sid,
        "title": source.title,
        "url": url,
        "date": source.date.isoformat() if source.date else None,
    }


def _steps(
    catalogue: Catalogue, code: Code, steps: tuple[TariffStep, ...], lang: str
) -> list[dict[str, Any]]:
    rows = []
    for i, step in enumerate(steps):
        following = [s for s in steps[i + 1 :] if s.zone == step.zone]
        end = following[0].start - dt.timedelta(days=1) if following else code.valid_to
        rows.append(
            {
                "start": step.start.isoformat(),
                "end": _day(end),
                "amount": _euros(step.cents, lang),
                "cents": step.cents,
                "grade": step.grade,
                "not_billable": step.not_billable,
                "zone": step.zone,
                "note": step.note,
                "sources": [_source(catalogue, s) for s in step.sources],
            }
        )
    return rows


def _grids(catalogue: Catalogue, code: Code, lang: str) -> list[dict[str, Any]]:
    t = TEXT[lang]
    grids = []
    for zone, grid, steps in (
        ("metro", "std", code.tariffs),
        ("metro", "s2", code.tariffs_non_optam),
        ("drom", "std", code.drom),
    ):
        if steps:
            grids.append(
                {
                    "title": f"{t[zone]} — {t['grid_' + grid]}",
                    "zone": zone,
                    "grid": grid,
                    "rows": _steps(catalogue, code, steps, lang),
                }
            )
    return grids


def _case(case: dict[str, Any], links: Links) -> dict[str, Any]:
    expected = []
    if case["optimise"]:
        total = case["optimise"]["total"]
        expected.append(
            "optimise: " + " + ".join(case["optimise"]["codes"]) + (f" = {total}" if total else "")
        )
    for check in case["checks"]:
        rules = ", ".join(check["rules"])
        expected.append(
            f"check {' + '.join(check['claimed'])}: {check['status']}"
            + (f" ({rules})" if rules else "")
        )
    return {
        "topic": case["topic"],
        "name": case["name"],
        "source": case["source"],
        "expected": expected,
        "rules": [{"id": r, "href": links.rule(r)} for r in case["rules"]],
    }


def _example(
    example: WorkedExample | None, catalogue: Catalogue, lang: str, links: Links
) -> dict[str, Any] | None:
    if example is None:
        return None
    t = TEXT[lang]
    if example.origin == "casebook":
        intro = t["example_from_case"].format(case=example.case)
    else:
        intro = t["example_from_analysis"]
    cot = example.cotation
    return {
        "intro": intro,
        "encounter": yaml.safe_dump(
            example.encounter, allow_unicode=True, sort_keys=False, default_flow_style=None
        ).strip(),
        "date": example.date,
        "era": example.era,
        "lines": [
            {
                "code": line.code,
                "href": links.code(line.code) if line.code in catalogue.codes else None,
                "amount": t["unpriced"] if line.unpriced else _euros(line.amount_cents, lang),
                "unconfirmed": line.unconfirmed,
                "rate": line.rate_percent,
                "quantity": line.quantity,
                "article": line.article,
            }
            for line in cot.lines
        ],
        "total": _euros(cot.total_cents, lang),
        "complete": cot.complete,
        "assumed": ", ".join(f"{k} = {v}" for k, v in sorted(cot.assumed.items())),
    }


def _rule_example(
    example: RuleExample | None, rule_id: str, lang: str, links: Links
) -> dict[str, Any] | None:
    if example is None:
        return None
    t = TEXT[lang]
    result = example.result
    optimal = result.optimal
    return {
        "intro": t["rule_example_intro"].format(
            case=example.case, claimed=" + ".join(example.claimed)
        ),
        "encounter": yaml.safe_dump(
            example.encounter, allow_unicode=True, sort_keys=False, default_flow_style=None
        ).strip(),
        "status": result.status,
        "violations": [
            {
                "rule": v.rule,
                "href": links.rule(v.rule),
                "this": v.rule == rule_id,
                "message": v.message_fr if lang == "fr" else v.message_en,
                "article": v.article,
            }
            for v in result.violations
        ],
        "claimed_total": _euros(result.claimed.total_cents, lang),
        "optimal": " + ".join(optimal.codes) if optimal else None,
        "optimal_total": _euros(optimal.total_cents, lang) if optimal else None,
        "difference": _euros(result.difference_cents, lang),
    }


def _page_versions(lang: str) -> str:
    data = versions()
    return TEXT[lang]["versions"].format(
        tool=data["tool"]["version"],
        kb=data["knowledge_base"]["fingerprint"],
        date=data["knowledge_base"]["revised"],
    )


def _render(template: str, lang: str, links: Links, **context: Any) -> str:
    return (
        _environment()
        .get_template(template)
        .render(
            lang=lang,
            t=TEXT[lang],
            links=links,
            footer=_page_versions(lang),
            **context,
        )
    )


_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "janv", "january", "janvier"),
            ("feb", "fév", "fev", "february", "février"),
            ("mar", "march", "mars"),
            ("apr", "avr", "april", "avril"),
            ("may", "mai"),
            ("jun", "june", "juin"),
            ("jul", "july", "juil", "juillet"),
            ("aug", "august", "août", "aout"),
            ("sep", "sept", "september", "septembre"),
            ("oct", "october", "octobre"),
            ("nov", "november", "novembre"),
            ("dec", "déc", "december", "décembre"),
        ]
    )
    for m in names
}
_DATE_TEXT = re.compile(r"\b(\d{1,2})(?:er)?\s+([A-Za-zéû]+)\.?\s+(\d{4})\b")


def dated_sources(catalogue: Catalogue, text: str) -> list[dict[str, Any]]:
    """Bibliography entries dated a day the text names (``Décision UNCAM 29 Oct 2024``)."""
    days = set()
    for day, month, year in _DATE_TEXT.findall(text):
        number = _MONTHS.get(month.lower())
        if number is None:
            continue
        try:
            days.add(dt.date(int(year), number, int(day)))
        except ValueError:
            continue
    found = [s for s in catalogue.sources.values() if s.date in days]
    found.sort(key=lambda s: (s.kind != "official", s.id))
    return [_source(catalogue, s.id) for s in found[:6]]


# ====================================================================== public functions
def render_code_page(
    nomenclature: Nomenclature, code: str, lang: str = "fr", *, base_url: str | None = None
) -> str:
    """The page of one code (KeyError for an unknown code)."""
    lang = _lang(lang)
    catalogue = nomenclature.catalogue
    info = catalogue.codes[code]
    links = _links(base_url, 1)
    index = _index(catalogue)
    t = TEXT[lang]
    rules = [
        {
            "id": rid,
            "href": links.rule(rid),
            "article": catalogue.rules[rid].article,
            "where": index.rule_lines.get(rid, []),
        }
        for rid in index.rules_of(code)
        if rid in catalogue.rules
    ]
    refined_by = sorted(c.code for c in catalogue.codes.values() if c.refines == code)
    return _render(
        "code.html",
        lang,
        links,
        title=f"{code} — {info.label_fr if lang == 'fr' else info.label_en}",
        code=info,
        label=info.label_fr if lang == "fr" else info.label_en,
        label_other=info.label_en if lang == "fr" else info.label_fr,
        kind=t.get("kind_" + info.kind, info.kind),
        valid_from=_day(info.valid_from),
        valid_to=_day(info.valid_to),
        refines={"code": info.refines, "href": links.code(info.refines)} if info.refines else None,
        refined_by=[{"code": c, "href": links.code(c)} for c in refined_by],
        code_sources=[_source(catalogue, s) for s in info.sources],
        grids=_grids(catalogue, info, lang),
        rules=rules,
        mentions=index.code_lines.get(code, []),
        cases=[_case(c, links) for c in cases_for_code(code)],
        casebook=bool(load_index()),
        example=_example(worked_example(nomenclature, code), catalogue, lang, links),
    )


def render_rule_page(
    nomenclature: Nomenclature, rule_id: str, lang: str = "fr", *, base_url: str | None = None
) -> str:
    """The page of one rule id (KeyError for an unknown id)."""
    lang = _lang(lang)
    catalogue = nomenclature.catalogue
    rule = catalogue.rules[rule_id]
    links = _links(base_url, 1)
    index = _index(catalogue)
    codes = [
        {"code": c, "href": links.code(c), "label": _label(catalogue.codes[c], lang)}
        for c in index.codes_of(rule_id)
    ]
    return _render(
        "rule.html",
        lang,
        links,
        title=f"{rule_id} — {rule.article}",
        rule=rule,
        rule_kind=TEXT[lang].get("rule_" + rule.kind, rule.kind),
        start=_day(rule.start),
        end=_day(rule.end),
        dated=dated_sources(catalogue, rule.source),
        where=index.rule_lines.get(rule_id, []),
        codes=codes,
        cases=[_case(c, links) for c in cases_for_rule(rule_id)],
        casebook=bool(load_index()),
        example=_rule_example(rule_example(nomenclature, rule_id), rule_id, lang, links),
    )


def _label(code: Code, lang: str) -> str:
    return code.label_fr if lang == "fr" else code.label_en


def render_index(
    nomenclature: Nomenclature, lang: str = "fr", *, base_url: str | None = None
) -> str:
    """The index of every code and every rule, with a search box."""
    lang = _lang(lang)
    catalogue = nomenclature.catalogue
    links = _links(base_url, 0)
    t = TEXT[lang]
    codes = []
    for info in sorted(catalogue.codes.values(), key=lambda c: (c.nomenclature, c.code)):
        latest = info.tariffs[-1] if info.tariffs else None
        codes.append(
            {
                "code": info.code,
                "href": links.code(info.code),
                "label": _label(info, lang),
                "kind": t.get("kind_" + info.kind, info.kind),
                "nomenclature": info.nomenclature,
                "latest": _euros(latest.cents, lang) if latest else None,
                "latest_from": latest.start.isoformat() if latest else None,
                "article": info.article,
            }
        )
    rules = [
        {
            "id": rule.id,
            "href": links.rule(rule.id),
            "article": rule.article,
            "start": _day(rule.start),
            "end": _day(rule.end),
            "message": rule.message(lang, "…", "…"),
        }
        for rule in sorted(catalogue.rules.values(), key=lambda r: r.id)
    ]
    return _render("index.html", lang, links, title=t["site"], codes=codes, rules=rules)
