"""Every value on a page comes from data and is escaped: a modified copy of the catalogue with
markup in its labels, articles, notes, sources and rule messages renders as text."""

from __future__ import annotations

import dataclasses

import pytest

from ngap import Nomenclature
from ngap.model.catalogue import Catalogue
from ngap.site import render_code_page, render_index, render_rule_page

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


@pytest.fixture(scope="module")
def hostile(nomenclature: Nomenclature) -> Nomenclature:
    catalogue = nomenclature.catalogue
    code = catalogue.codes["COE"]
    step = dataclasses.replace(code.tariffs[0], note=f'note "{SCRIPT}')
    codes = dict(catalogue.codes)
    codes["COE"] = dataclasses.replace(
        code,
        label_fr=f"Examen {SCRIPT}",
        label_en=f"Exam {SCRIPT}",
        article=f"art. <b>1</b> & {SCRIPT}",
        note=SCRIPT,
        tariffs=(step, *code.tariffs[1:]),
    )
    sid = code.tariffs[0].sources[0]
    sources = dict(catalogue.sources)
    sources[sid] = dataclasses.replace(
        sources[sid], title=f"Titre {SCRIPT}", url="javascript:alert(1)"
    )
    rules = dict(catalogue.rules)
    rule_id = "freq_coe_window"
    rules[rule_id] = dataclasses.replace(
        rules[rule_id], article=f"art. {SCRIPT}", fr=f"{{code}} {SCRIPT}", source=SCRIPT
    )
    copy = Catalogue(codes=codes, sources=sources, rules=rules, refined=catalogue.refined)
    return Nomenclature(copy, nomenclature.eras)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_markup_in_the_data_is_escaped(hostile: Nomenclature, lang: str) -> None:
    pages = [
        render_code_page(hostile, "COE", lang),
        render_rule_page(hostile, "freq_coe_window", lang),
        render_index(hostile, lang),
    ]
    for text in pages:
        assert SCRIPT not in text
        assert ESCAPED in text
        # the only script of the site is the index's search box
        assert text.count("<script>") == (1 if '<input type="search"' in text else 0)
    code_page = pages[0]
    assert "art. &lt;b&gt;1&lt;/b&gt; &amp; " in code_page
    assert "javascript:" not in code_page  # a source address that is no web link is not a link
    assert "note &#34;" + ESCAPED in code_page
