"""The rule pages in the service: ``/codes/CODE`` and ``/rules/ID`` for a browser, ``/pages``.

The same URLs answer JSON to API clients; a request whose ``Accept`` header prefers
``text/html`` (a browser) gets the page of ``ngap.site`` instead, rendered with ``base_url="/"``
so that its links stay inside the service.  ``?lang=en`` gives the English page.
"""

from __future__ import annotations

import difflib
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import escape

from ngap.model.labels import Lang
from ngap.service.operations import Engine
from ngap.site import render_code_page, render_index, render_rule_page

router = APIRouter()

VARY = {"Vary": "Accept"}
"""The same URL answers HTML or JSON: caches must key on ``Accept``."""

_NOT_FOUND: dict[str, tuple[str, str, str]] = {
    # lang: (title, "did you mean", index link text)
    "fr": ("Introuvable", "Vouliez-vous dire", "Index des codes et des règles"),
    "en": ("Not found", "Did you mean", "Index of codes and rules"),
}


def _media_quality(accept: str) -> dict[str, float]:
    """``text/html,*/*;q=0.8`` -> ``{"text/html": 1.0, "*/*": 0.8}`` (first value kept)."""
    qualities: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media:
            qualities.setdefault(media.lower(), quality)
    return qualities


def wants_html(request: Request) -> bool:
    """True when the client prefers an HTML page to JSON (a browser; API clients keep JSON)."""
    qualities = _media_quality(request.headers.get("accept", ""))
    html = qualities.get("text/html", 0.0)
    return html > 0 and html >= qualities.get("application/json", 0.0)


def page_lang(request: Request) -> Lang:
    return "en" if request.query_params.get("lang") == "en" else "fr"


def page_href(kind: str, name: str, lang: Lang = "fr") -> str:
    """The service URL of a page: ``kind`` is ``codes`` or ``rules`` (``K9/2`` -> ``K9%2F2``)."""
    return f"/{kind}/{quote(name, safe='')}" + ("?lang=en" if lang == "en" else "")


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _not_found(what: str, close: list[str], kind: str, lang: Lang) -> HTMLResponse:
    """A 404 page in the user's language, with the closest names linked."""
    title, did_you_mean, index = _NOT_FOUND[lang]
    suffix = "?lang=en" if lang == "en" else ""
    links = ", ".join(
        f'<a href="{page_href(kind, name, lang)}">{escape(name)}</a>' for name in close
    )
    hint = f"<p>{did_you_mean} {links} ?</p>" if links else ""
    html = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title} — {escape(what)}</title></head><body>"
        f"<h1>{title} : {escape(what)}</h1>{hint}"
        f'<p><a href="/pages{suffix}">{index}</a></p></body></html>'
    )
    return HTMLResponse(html, status_code=404, headers=VARY)


def code_page(request: Request, name: str) -> HTMLResponse:
    """The page of a code (``mn`` finds ``MN``, as the JSON endpoint does), or a 404 page."""
    engine, lang = _engine(request), page_lang(request)
    codes = engine.catalogue.codes
    key = name.upper() if name.upper() in codes else name
    if key not in codes:
        return _not_found(name, difflib.get_close_matches(name, list(codes), n=3), "codes", lang)
    page = render_code_page(engine.nomenclature, key, lang, base_url="/")
    return HTMLResponse(page, headers=VARY)


def rule_page(request: Request, rule_id: str) -> HTMLResponse:
    """The page of a rule id, or a 404 page."""
    engine, lang = _engine(request), page_lang(request)
    rules = engine.catalogue.rules
    if rule_id not in rules:
        close = difflib.get_close_matches(rule_id, list(rules), n=3)
        return _not_found(rule_id, close, "rules", lang)
    page = render_rule_page(engine.nomenclature, rule_id, lang, base_url="/")
    return HTMLResponse(page, headers=VARY)


@router.get("/pages", include_in_schema=False)
async def index_page(request: Request) -> HTMLResponse:
    """The index of every code and rule, each linked to its page."""
    engine = _engine(request)
    return HTMLResponse(render_index(engine.nomenclature, page_lang(request), base_url="/"))
