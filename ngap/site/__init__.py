"""Rule pages: one HTML page per code and per rule id, and an index (``ngap site OUT_DIR``).

Interface (also used by the web service, which serves the same pages at ``/codes/CODE`` and
``/rules/ID`` by passing ``base_url``):

* :func:`render_code_page`, :func:`render_rule_page`, :func:`render_index` -> HTML text;
* :func:`build_site` writes ``index.html``, ``codes/<slug>.html``, ``rules/<slug>.html``
  (:func:`slug`: ``K9/2`` -> ``K9~2F2``) and returns the number of pages written.
"""

from __future__ import annotations

from pathlib import Path

from ngap.site.pages import (
    LANGS,
    Links,
    render_code_page,
    render_index,
    render_rule_page,
    slug,
)
from ngap.solver.engine import Nomenclature

__all__ = [
    "LANGS",
    "Links",
    "build_site",
    "render_code_page",
    "render_index",
    "render_rule_page",
    "slug",
]


def build_site(out_dir: Path, lang: str = "fr", *, nomenclature: Nomenclature | None = None) -> int:
    """Write the whole site under ``out_dir`` (relative links: it works from ``file://``)."""
    nomenclature = nomenclature or Nomenclature.load()
    out_dir = Path(out_dir)
    (out_dir / "codes").mkdir(parents=True, exist_ok=True)
    (out_dir / "rules").mkdir(parents=True, exist_ok=True)
    written = 0
    pages: list[tuple[Path, str]] = [(out_dir / "index.html", render_index(nomenclature, lang))]
    for code in nomenclature.catalogue.codes:
        text = render_code_page(nomenclature, code, lang)
        pages.append((out_dir / "codes" / f"{slug(code)}.html", text))
    for rule in nomenclature.catalogue.rules:
        text = render_rule_page(nomenclature, rule, lang)
        pages.append((out_dir / "rules" / f"{slug(rule)}.html", text))
    for path, text in pages:
        path.write_text(text, encoding="utf-8")
        written += 1
    return written
