"""The rule pages: one per code and per rule, each with its article, its dated tariffs (read back
from the page and compared with the catalogue), its rules with file and line, valid HTML,
relative links that resolve, and nothing fetched from outside."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markupsafe import escape as _escape
from typer.testing import CliRunner

from ngap import Nomenclature
from ngap.cli import app
from ngap.model.catalogue import Code
from ngap.site import render_code_page, render_index, render_rule_page, slug
from ngap.site.casebook import load_index
from ngap.site.examples import rule_example, worked_example

ROOT = Path(__file__).parents[2]


def esc(text: str) -> str:
    """Escaped as the templates escape (Jinja2 autoescape: markupsafe)."""
    return str(_escape(text))


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class PageParser(HTMLParser):
    """Collects what the tests read: balance of tags, ids, links, tariff rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.doctype = False
        self.lang: str | None = None
        self.tariffs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._table: tuple[str, str] | None = None
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._cents: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if "id" in values:
            self.ids.append(str(values["id"]))
        if tag == "a" and values.get("href") is not None:
            self.hrefs.append(str(values["href"]))
        for attr in ("src",):
            if values.get(attr):
                self.srcs.append(str(values[attr]))
        if tag == "table" and "tariffs" in str(values.get("class", "")):
            self._table = (str(values["data-zone"]), str(values["data-grid"]))
            self.tariffs.setdefault(self._table, [])
        if self._table and tag == "tr":
            self._row = []
        if self._table and tag == "td":
            self._cell = []
            if "data-cents" in values:
                self._cents = str(values["data-cents"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            return
        self.stack.pop()
        if self._table and tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if self._table and tag == "tr" and self._row and self._cents is not None:
            # (start, cents) of a tariff row; the DROM table has the zone first
            start = self._row[1] if self._table[0] == "drom" else self._row[0]
            self.tariffs[self._table].append((start, self._cents))
            self._cents = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser


def _expected_tariffs(code: Code) -> dict[tuple[str, str], list[tuple[str, str]]]:
    expected: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, steps in ((("metro", "std"), code.tariffs), (("metro", "s2"), code.tariffs_non_optam),
                       (("drom", "std"), code.drom)):  # fmt: skip
        if steps:
            expected[key] = [
                (s.start.isoformat(), "" if s.cents is None else str(s.cents)) for s in steps
            ]
    return expected


def test_a_page_per_code_and_per_rule(site_fr: Path, nomenclature: Nomenclature) -> None:
    catalogue = nomenclature.catalogue
    pages = {p.relative_to(site_fr).as_posix() for p in site_fr.rglob("*.html")}
    expected = {"index.html"}
    expected |= {f"codes/{slug(c)}.html" for c in catalogue.codes}
    expected |= {f"rules/{slug(r)}.html" for r in catalogue.rules}
    assert pages == expected


def test_code_pages_show_article_and_every_dated_tariff(
    site_fr: Path, nomenclature: Nomenclature
) -> None:
    for code in nomenclature.catalogue.codes.values():
        text = (site_fr / "codes" / f"{slug(code.code)}.html").read_text(encoding="utf-8")
        page = parse(text)
        assert esc(code.article) in text, code.code
        assert esc(code.label_fr) in text and esc(code.label_en) in text
        assert page.tariffs == _expected_tariffs(code), code.code
        for step in (*code.tariffs, *code.tariffs_non_optam, *code.drom):
            for sid in step.sources:
                source = nomenclature.catalogue.sources[sid]
                assert esc(source.title) in text, (code.code, sid)
                if source.url and source.url.startswith("http"):
                    assert f'href="{esc(source.url)}"' in text


def test_a_tariff_amount_is_printed_in_euros(site_fr: Path, site_en: Path) -> None:
    text = (site_fr / "codes" / "CRM.html").read_text(encoding="utf-8")
    assert "51,50 €" in text  # CRM stays 51.50 (59.50 is VRM)
    assert "€51.50" in (site_en / "codes" / "CRM.html").read_text(encoding="utf-8")


def test_rule_pages_show_article_messages_and_where_the_rule_is_written(
    site_fr: Path, nomenclature: Nomenclature
) -> None:
    for rule in nomenclature.catalogue.rules.values():
        text = (site_fr / "rules" / f"{slug(rule.id)}.html").read_text(encoding="utf-8")
        for value in (rule.article, rule.source, rule.fr, rule.en):
            assert esc(value) in text, rule.id
        places = re.findall(r"<code>(ngap/[\w/]+\.(?:lp|py)):(\d+)</code>", text)
        assert places, f"{rule.id}: no file and line"
        for file, line in places:
            written = (ROOT / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]
            assert rule.id in written or "breach" in written or "excludes" in written, (
                rule.id, file, line)  # fmt: skip
        assert any(Path(f).name == Path(rule.file).name for f, _ in places), rule.id


def test_code_pages_name_the_rules_that_mention_the_code(
    site_fr: Path, nomenclature: Nomenclature
) -> None:
    """Every rule stated in a line that names the code in quotes is on the code's page."""
    pattern = re.compile(r"breach\((\w+),\s*\"([^\"]+)\"")
    for path in sorted((ROOT / "ngap" / "asp_rules").glob("*.lp")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for rule, code in pattern.findall(line.split("%")[0]):
                if code not in nomenclature.catalogue.codes:
                    continue
                text = (site_fr / "codes" / f"{slug(code)}.html").read_text(encoding="utf-8")
                assert f'href="../rules/{slug(rule)}.html"' in text, (code, rule)


def test_cases_of_the_case_book_are_listed(site_fr: Path) -> None:
    cases = load_index()
    assert cases
    for case in cases[::25]:
        for code in case["codes"][:2]:
            text = (site_fr / "codes" / f"{slug(code)}.html").read_text(encoding="utf-8")
            assert esc(case["name"]) in text
        for rule in case["rules"][:2]:
            text = (site_fr / "rules" / f"{slug(rule)}.html").read_text(encoding="utf-8")
            assert esc(case["name"]) in text


def test_worked_examples_are_solved_and_agree_with_the_case_book(
    nomenclature: Nomenclature,
) -> None:
    by_name = {c["name"]: c for c in load_index()}
    agreed = 0
    for code, info in nomenclature.catalogue.codes.items():
        example = worked_example(nomenclature, code)
        if example is None:
            continue
        shown = info.refines if info.kind == "refined" and info.refines else code
        assert shown in example.cotation.codes, code
        amounts = [line.amount_cents or 0 for line in example.cotation.lines]
        assert example.cotation.total_cents == sum(amounts)
        case = by_name.get(example.case or "")
        expected = case["optimise"] if case else None
        same = expected is not None and sorted(expected["codes"]) == sorted(example.cotation.codes)
        if expected and expected["total"] and same:
            total = int(Decimal(expected["total"]) * 100)
            assert example.cotation.total_cents == total, (code, expected)
            agreed += 1
    assert agreed > 50


def test_links_resolve_and_nothing_is_fetched(site_fr: Path, site_en: Path) -> None:
    for site in (site_fr, site_en):
        for page in site.rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            parsed = parse(text)
            assert not parsed.srcs and "<link" not in text, page
            for href in parsed.hrefs:
                parts = urlsplit(href)
                if parts.scheme in ("http", "https"):
                    continue
                assert not parts.scheme and not parts.netloc, (page, href)
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file(), (page, href)


def test_pages_are_well_formed_html(site_fr: Path, site_en: Path) -> None:
    for site, lang in ((site_fr, "fr"), (site_en, "en")):
        for page in site.rglob("*.html"):
            parsed = parse(page.read_text(encoding="utf-8"))
            assert parsed.doctype and parsed.lang == lang, page
            assert not parsed.errors and not parsed.stack, (page, parsed.errors, parsed.stack)
            assert len(parsed.ids) == len(set(parsed.ids)), page


def test_index_lists_everything_with_a_search_box(
    site_fr: Path, nomenclature: Nomenclature
) -> None:
    text = (site_fr / "index.html").read_text(encoding="utf-8")
    hrefs = set(parse(text).hrefs)
    assert {f"codes/{slug(c)}.html" for c in nomenclature.catalogue.codes} <= hrefs
    assert {f"rules/{slug(r)}.html" for r in nomenclature.catalogue.rules} <= hrefs
    assert '<input type="search"' in text and "<script>" in text and "src=" not in text


def test_english_pages(site_en: Path, nomenclature: Nomenclature) -> None:
    code = nomenclature.catalogue.codes["MN"]
    text = (site_en / "codes" / "MN.html").read_text(encoding="utf-8")
    assert f"<code>MN</code> — {esc(code.label_en)}" in text
    assert "Worked example" in text


def test_base_url_for_a_web_service(nomenclature: Nomenclature) -> None:
    text = render_code_page(nomenclature, "K9/2", base_url="/ngap")
    hrefs = parse(text).hrefs
    assert "/ngap/" in hrefs
    assert any(h.startswith("/ngap/rules/") for h in hrefs)
    assert "/ngap/codes/K9" in hrefs  # the example bills K9 with K9/2
    index = parse(render_index(nomenclature, "en", base_url="https://x.example/")).hrefs
    assert "https://x.example/codes/K9%2F2" in index
    rule = parse(render_rule_page(nomenclature, "burn_face_hands", "en", base_url="/")).hrefs
    assert "/codes/K9%2F2" in rule


def test_unknown_names_and_languages(nomenclature: Nomenclature) -> None:
    with pytest.raises(KeyError):
        render_code_page(nomenclature, "NOPE")
    with pytest.raises(KeyError):
        render_rule_page(nomenclature, "nope")
    with pytest.raises(ValueError):
        render_index(nomenclature, "de")
    result = CliRunner().invoke(app, ["site", "/nonexistent-never/x", "--lang", "de"])
    assert result.exit_code == 2


def test_site_refuses_a_file_as_folder(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = CliRunner().invoke(app, ["site", str(target)])
    assert result.exit_code == 2 and target.read_text() == "x"


def test_pages_parse_without_error_by_the_html_standard(site_fr: Path, site_en: Path) -> None:
    """The WHATWG parsing algorithm (html5lib, strict) reports no parse error on any page."""
    html5lib = pytest.importorskip("html5lib")
    parser = html5lib.HTMLParser(strict=True)
    with pytest.raises(html5lib.html5parser.ParseError):
        parser.parse("<!DOCTYPE html><html><body><p>x</div></body></html>")
    for site in (site_fr, site_en):
        for page in site.rglob("*.html"):
            parser.parse(page.read_text(encoding="utf-8"))


def test_rule_pages_judge_a_claim_that_breaks_the_rule(
    site_fr: Path, nomenclature: Nomenclature
) -> None:
    """Every rule a case-book claim is expected to break has that claim checked on its page,
    and the verdict there names the rule (the case book and the rule base agree)."""
    expected = {r for case in load_index() for check in case["checks"] for r in check["rules"]}
    assert expected
    for rule in sorted(expected):
        example = rule_example(nomenclature, rule)
        assert example is not None, rule
        assert example.result.status == "violation"
        text = (site_fr / "rules" / f"{slug(rule)}.html").read_text(encoding="utf-8")
        assert 'id="example"' in text and esc(example.case) in text
        message = nomenclature.catalogue.rules[rule].fr
        assert any(
            v.message_fr.startswith(message.split("{")[0]) for v in example.result.violations
        )
