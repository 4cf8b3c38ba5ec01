"""The rule pages served to browsers at the JSON URLs (content negotiation), and their index."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

from service_support import NIGHT_VISIT, Client, case, form_of

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_the_code_page_with_its_article_and_tariffs(client: Client) -> None:
    data = client.get("/codes/MN").json()
    response = client.get("/codes/mn", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    html = unescape(response.text)
    assert '<html lang="fr">' in html and data["article"] in html and data["label_fr"] in html
    shown = [int(c) for c in re.findall(r'class="n" data-cents="(\d+)"', response.text)]
    assert shown[0] == 3500 and "35,00 €" in html  # MN from 2022 (NGAP, avenant 9)
    assert {t["amount_cents"] for t in data["tariffs"] if t["amount_cents"]} <= set(shown)
    # Links stay inside the service: rule pages under /rules/, the index at /.
    hrefs = re.findall(r'href="([^"]+)"', response.text)
    assert "/" in hrefs and any(h.startswith("/rules/") for h in hrefs)


def test_english_page_and_a_code_with_a_slash(client: Client) -> None:
    response = client.get("/codes/K9%2F2", params={"lang": "en"}, headers=BROWSER)
    assert response.status_code == 200 and '<html lang="en">' in response.text
    assert client.get("/codes/K9%2F2").json()["code"] == "K9/2"


def test_a_browser_gets_the_rule_page(client: Client) -> None:
    data = client.get("/rules/night_hours").json()
    response = client.get("/rules/night_hours", headers=BROWSER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/")
    assert data["article"] in unescape(response.text)
    assert "night_hours" in response.text


def test_unknown_code_and_rule_are_404_pages(client: Client) -> None:
    response = client.get("/codes/MNN", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/codes/MN"' in response.text and "Introuvable" in response.text
    response = client.get("/rules/nigth_hours", params={"lang": "en"}, headers=BROWSER)
    assert response.status_code == 404 and "Not found" in response.text
    assert 'href="/rules/night_hours?lang=en"' in response.text


def test_api_clients_keep_json(client: Client) -> None:
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        response = client.get("/codes/MN", headers=headers)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] == "MN" and response.headers["vary"] == "Accept"
        assert client.get("/rules/night_hours", headers=headers).json()["rule"] == "night_hours"


def test_index_of_pages_linked_from_the_calculator(client: Client) -> None:
    calculator = client.get("/").text
    assert 'href="/pages"' in calculator
    index = client.get("/pages").text
    assert 'href="/codes/MN"' in index and 'href="/rules/night_hours"' in index
    assert 'href="/codes/K9%2F2"' in index


def test_every_code_of_an_answer_links_to_its_page(client: Client) -> None:
    encounter = case(NIGHT_VISIT).data["encounter"]
    html = client.post("/", data=form_of(encounter)).text
    hrefs = re.findall(r'<a href="/codes/([^"?]+)" class="code-page">', html)
    links = {unquote(c) for c in hrefs}
    line = re.search(r'id="billing-line-1">([^<]+)<', html)
    assert line, "no answer"
    assert set(line.group(1).split("+")) <= links
    catalogue = client.get("/codes", params={"date": encounter["date"]}).json()["codes"]
    assert links <= {c["code"] for c in catalogue}


def test_broken_rules_of_a_verdict_link_to_their_pages(client: Client) -> None:
    """The claimed coding of the case book breaks rules: each one links to its page."""
    data = case(NIGHT_VISIT).data
    claim = next(c for c in data["check"] if c["status"] == "violation")
    html = client.post("/", data=form_of(data["encounter"], claimed="+".join(claim["claimed"])))
    linked = re.findall(r'<a href="/rules/([^"?]+)" class="rule-page">', html.text)
    assert set(linked) == set(claim["rules"])
