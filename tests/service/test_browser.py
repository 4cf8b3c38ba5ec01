"""The web calculator in a real headless browser against a real server.

A uvicorn process serves the application on a free loopback port; Playwright drives Debian's
Chromium through the French form as a GP would: a night visit and a child consultation (amounts
exact, from the case book), « pourquoi pas MN ? », a claimed coding checked.  Skipped only when
``/usr/bin/chromium`` is absent.  With ``NGAP_SCREENSHOT=path`` the calculator is photographed
(docs/calculator.png).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from casebook import cents
from service_support import CHILD_CONSULTATION, NIGHT_VISIT, TRACEBACK_MARKS, case

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NGAP_SERVICE_WARM": "0",
        "NGAP_SERVICE_TIME_LIMIT": "30",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "ngap.service.server:factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/version", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    # Chromium puts a Unix socket in its profile directory, which Playwright creates under the
    # temporary directory; a socket path is limited to 108 bytes, so a long TMPDIR (CI runs
    # from a long path with spaces) makes Chromium abort.  The browser gets a short one.
    short = tempfile.mkdtemp(prefix="ngap-browser-", dir="/tmp" if os.path.isdir("/tmp") else None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", short)  # before the Playwright driver starts: it reads it then
        playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
        # Nothing but the server may be reached: the calculator works offline.
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(server) else route.abort()
            ),
        )
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()
    finally:
        playwright.stop()
        shutil.rmtree(short, ignore_errors=True)


def _tri(value: Any) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def fill(page: Any, base: str, encounter: dict[str, Any], **extra: str) -> None:
    """Fill the calculator with an encounter of the case book, as a user would, and submit."""
    page.goto(base + "/")
    page.click("details > summary")  # « Autres circonstances »
    page.fill('[name="date"]', encounter["date"])
    for name in ("time", "call_time"):
        if name in encounter:
            page.fill(f'[name="{name}"]', encounter[name])
    page.select_option('[name="place"]', encounter["place"])
    patient = encounter.get("patient", {})
    if "birth_date" in patient:
        page.fill('[name="patient.birth_date"]', patient["birth_date"])
    if "age" in patient:
        page.fill('[name="patient.age.years"]', str(patient["age"].get("years", 0)))
        page.fill('[name="patient.age.months"]', str(patient["age"].get("months", 0)))
    if "sex" in patient:
        page.select_option('[name="patient.sex"]', patient["sex"])
    for section in ("patient", "practitioner", "circumstances", "travel"):
        for name, value in encounter.get(section, {}).items():
            if isinstance(value, bool) or value is None:
                page.select_option(f'[name="{section}.{name}"]', _tri(value))
    for box in page.locator('input[name="done"]:checked').all():
        box.uncheck()
    for act in encounter["done"]:
        page.check(f'[id="done-{act}"]')
    for name, value in extra.items():
        page.fill(f'[name="{name}"]', value)
    page.click("#compute")
    page.wait_for_selector("#answer h2, #error")


def _no_traceback(page: Any) -> None:
    html = page.content()
    for mark in TRACEBACK_MARKS:
        assert mark not in html


def test_night_visit(page: Any, server: str) -> None:
    data = case(NIGHT_VISIT).data
    claim = next(c for c in data["check"] if c["status"] == "violation")
    fill(page, server, data["encounter"], claimed="+".join(claim["claimed"]))
    _no_traceback(page)
    total = page.locator("#optimal-1 .total")
    assert int(total.get_attribute("data-cents")) == cents(data["optimise"]["total"])
    assert total.inner_text().replace("\u202f", " ") == f"{data['optimise']['total']} €"
    line = page.locator("#billing-line-1").inner_text()
    assert sorted(line.split("+")) == sorted(data["optimise"]["codes"])
    # The claimed coding: verdict and the rules broken, with their French messages.
    assert page.locator("#verdict").inner_text() == "non conforme"
    rules = {li.get_attribute("data-rule") for li in page.locator("#check li[data-rule]").all()}
    assert rules == set(claim["rules"])
    assert "Article" in page.content() or "NGAP" in page.locator("#check").inner_text()


def test_a_code_of_the_answer_opens_its_rule_page(page: Any, server: str) -> None:
    """From the answer, a code's link leads to its page: article, dated tariffs, rules."""
    data = case(NIGHT_VISIT).data
    fill(page, server, data["encounter"])
    link = page.locator("#optimal-1 a.code-page").first
    code = link.inner_text()
    expected = httpx.get(f"{server}/codes/{code}", timeout=30).json()
    link.click()
    page.wait_for_selector("table.tariffs")
    _no_traceback(page)
    assert page.url == f"{server}/codes/{code}"
    assert page.locator("h1 code").inner_text() == code
    assert expected["article"] in page.locator("body").inner_text()
    cells = page.locator("table.tariffs td[data-cents]").all()
    shown = {int(v) for c in cells if (v := c.get_attribute("data-cents"))}
    assert {t["amount_cents"] for t in expected["tariffs"] if t["amount_cents"]} <= shown
    assert page.locator('a[href^="/rules/"]').count() >= 1


def test_child_consultation_and_why_not_mn(page: Any, server: str) -> None:
    data = case(CHILD_CONSULTATION).data
    fill(page, server, data["encounter"], why_not="MN")
    _no_traceback(page)
    total = page.locator("#optimal-1 .total")
    assert int(total.get_attribute("data-cents")) == cents(data["optimise"]["total"])
    line = page.locator("#billing-line-1").inner_text()
    assert sorted(line.split("+")) == sorted(data["optimise"]["codes"])
    # « Pourquoi pas MN ? »: the rules of the engine's answer, and the context that allows it.
    expected = httpx.post(
        server + "/why-not", params={"code": "MN"}, json=data["encounter"], timeout=60
    ).json()
    why = page.locator("#why-not")
    assert "Pourquoi pas MN ?" in why.inner_text()
    rules = {li.get_attribute("data-rule") for li in why.locator("li[data-rule]").all()}
    assert rules == {v["rule"] for v in expected["violations"]} and rules
    changes = page.locator("#why-changes").inner_text()
    assert "l'acte était urgent" in changes and "entre 20 h et" in changes
    screenshot = os.environ.get("NGAP_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)


def test_ccam_search_filters_the_catalogue_acts(page: Any, server: str) -> None:
    page.goto(server + "/")
    ccam = httpx.get(server + "/codes", params={"date": "2025-03-01"}, timeout=30).json()
    listed = page.locator("#ccam-acts li")
    assert listed.count() >= 1
    page.fill("#ccam-filter", "DEQP003")
    visible = [li for li in listed.all() if li.is_visible()]
    assert len(visible) == 1 and "DEQP003" in visible[0].inner_text()
    assert any(row["code"] == "DEQP003" for row in ccam["codes"])


def test_english_page(page: Any, server: str) -> None:
    page.goto(server + "/?lang=en")
    assert page.locator("#compute").inner_text() == "Compute"
    assert page.locator("html").get_attribute("lang") == "en"
