"""The auditor's console (/console, issue 11) in a real browser: Debian's chromium, driven by
Selenium through Debian's chromium-driver (nothing downloads a browser), with no network
but the server's own, on a small demo ledger plus one family-paid, reversed settlement.

Every figure the pages show is checked against the JSON API. Screenshots of each page are
saved under ``tests/artefacts/console/`` (ignored by git). One server and one browser for
the module; the tampering test runs last, as it breaks the ledger for good.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from api_support import AGENCY, AUDITOR, GONGJI, HOSPITAL, MEMBER_A, auth, running_server

from conftest import REQUIRE_SERVICES
from ledger import commands as c
from ledger import open_ledger
from cli.simulation import DEMO_PARAMETERS, Simulation

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTEFACTS = Path(__file__).parent / "artefacts" / "console"
PAYER, PATIENT, VISIT = "fam-payer", "fam-patient", "fam-visit-1"
YEAR = 2025  # the yunnan demo year

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.common.print_page_options import PrintOptions  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _family_story(database: str) -> None:
    """A small demo year, and PATIENT's visit paid from their own account, then PAYER's
    (家庭共济), then cash — and reversed."""
    ledger = open_ledger(database, DEMO_PARAMETERS)
    for step in Simulation(ledger, "yunnan", 24, seed=3).steps():
        step()
    for person, birth in ((PAYER, dt.date(1970, 3, 1)), (PATIENT, dt.date(1995, 7, 9))):
        ledger.execute(c.EnrollPerson(person=person, region="yunnan", birth_date=birth))
    ledger.execute(c.RecordContribution(person=PAYER, month="2025-01", base="5000.00"))
    ledger.execute(c.RecordContribution(person=PATIENT, month="2025-01", base="3000.00"))
    ledger.execute(c.BindFamilyMember(owner=PAYER, member=PATIENT, relation="child",
                                      date=dt.date(2025, 1, 1)))
    ledger.execute(c.SettleVisit(person=PATIENT, id=VISIT, date=dt.date(2025, 3, 10), level=2,
                                 in_scope="900.00", out_of_scope="35.50",
                                 pay=c.FamilyPay(family=PAYER, own_first=True)))
    ledger.execute(c.Reverse(id=VISIT, date=dt.date(2025, 3, 12), reason="refund"))
    ledger.close()
    subprocess.run([GONGJI, "projections", "run", "--once"], check=True, capture_output=True,
                   env={**os.environ, "GONGJI_DATABASE_URL": database})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BROWSER is None or DRIVER is None:
        if REQUIRE_SERVICES:
            pytest.fail("chromium or chromium-driver is not installed and "
                        "GONGJI_REQUIRE_SERVICES=1 (apt-get install -y chromium chromium-driver)")
        pytest.skip("chromium or chromium-driver is not installed "
                    "(apt-get install -y chromium chromium-driver)")
    database = str(tmp_path_factory.mktemp("console") / "demo.db")
    _family_story(database)
    return database


@pytest.fixture(scope="module")
def server(store: str):
    with running_server(store, DEMO_PARAMETERS) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str, tmp_path_factory: pytest.TempPathFactory):
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 "--window-size=1360,1000", "--lang=zh-CN",
                 f"--user-data-dir={tmp_path_factory.mktemp('profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=DRIVER))
    driver.implicitly_wait(5)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def signed(browser, server: str) -> None:
    """An auditor's console session in the browser (kept across the module's tests)."""
    if not any(c["name"] == "gongji_console" for c in browser.get_cookies()):
        sign_in(browser, server, AUDITOR)


def api(server: str, path: str, method: str = "GET") -> dict:
    answer = httpx.request(method, f"{server}{path}", headers=auth(AUDITOR), timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()


def shot(driver, name: str) -> None:
    """A screenshot of the whole page (the viewport stretched to its height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1360, "height": min(max(height, 700), 8000), "deviceScaleFactor": 1,
        "mobile": False})
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def text(driver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text.strip()


def go(driver, element, action: str = "click", timeout: float = 20) -> None:
    """Click (or submit) ``element`` and wait until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    getattr(element, action)()
    WebDriverWait(driver, timeout).until(lambda _: replaced(page))


def replaced(page) -> bool:
    """Is ``page`` (the old document's root) gone? selenium's ``staleness_of``, and also
    when Chromium, asked about the old node while the new page comes in, answers "Node
    with given id does not belong to the document" instead of a stale reference (seen
    once in CI: the test failed although the page had been replaced)."""
    try:
        page.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def table(driver, css: str) -> list[list[str]]:
    """The text of every cell of the rows ``css`` selects, in one round trip."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map("
        "r => [...r.querySelectorAll('td')].map(c => c.innerText.trim()))", css)


def sign_in(driver, server: str, key: str) -> None:
    driver.get(f"{server}/console/")
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    go(driver, field, "submit")


def test_sign_in_refuses_members_and_institutions_then_admits_an_auditor(browser, server):
    for key in (MEMBER_A, HOSPITAL, "no-such-key-000000001"):
        sign_in(browser, server, key)
        assert browser.find_element(By.ID, "sign-in-error").is_displayed()
        browser.get(f"{server}/console/people")  # still signed out: back to the form
        assert browser.find_elements(By.ID, "key"), key
    sign_in(browser, server, HOSPITAL)
    shot(browser, "01-sign-in-refused")
    sign_in(browser, server, AUDITOR)
    assert browser.current_url.endswith("/console/people")
    assert "auditor" in text(browser, ".tools")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert not [c for c in browser.get_cookies() if "expiry" in c]  # session cookies only
    assert all(AUDITOR not in c["value"] for c in browser.get_cookies())


@pytest.mark.usefixtures("signed")
def test_find_a_person_by_prefix_and_region(browser, server):
    browser.get(f"{server}/console/people")
    browser.find_element(By.ID, "prefix").send_keys("fam-")
    Select(browser.find_element(By.ID, "region")).select_by_value("yunnan")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[role=search] button"))
    found = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#people tbody th a")]
    assert found == [PATIENT, PAYER]
    shot(browser, "02-find")
    go(browser, browser.find_element(By.LINK_TEXT, PATIENT))
    assert browser.current_url.endswith(f"/console/people/{PATIENT}")


@pytest.mark.usefixtures("signed")
def test_timeline_rows_show_the_api_balance_and_article(browser, server):
    browser.get(f"{server}/console/people/{PAYER}")
    events = api(server, f"/v1/audit/people/{PAYER}/explain")["events"]
    rows = table(browser, "#timeline tbody tr")
    kinds = browser.execute_script("return [...document.querySelectorAll("
                                   "'#timeline tbody tr')].map(r => r.dataset.event)")
    assert len(rows) == len(events)
    newest = list(reversed(events))
    for kind, cells, event in zip(kinds, rows, newest):  # newest first, each to the fen
        assert kind == event["event"]
        assert cells[2] == (event["amount"] or "")
        if event["balance_after"] is not None:
            assert cells[3].endswith(f"→ {event['balance_after']}")
        for article in event["articles"]:
            assert article.split(" ", 1)[1] in cells[5]
    debit = rows[kinds.index("Debited")]
    assert f"为 {PATIENT} 支付" in debit[4] and "yunnan-2024 · art." in debit[5]
    account = api(server, f"/v1/people/{PAYER}?consistency=strong")
    assert text(browser, "#balance") == account["balance"] == newest[0]["balance_after"]
    shot(browser, "03-timeline")
    printed = base64.b64decode(browser.print_page(PrintOptions()))  # as an auditor prints it
    assert printed.startswith(b"%PDF")
    (ARTEFACTS / "03-timeline-printed.pdf").write_bytes(printed)


@pytest.mark.usefixtures("signed")
def test_family_paid_reversed_settlement_waterfall(browser, server):
    browser.get(f"{server}/console/people/{PATIENT}")
    go(browser, browser.find_element(By.LINK_TEXT, VISIT))
    split = api(server, f"/v1/settlements/{VISIT}")
    nhsa = api(server, f"/v1/settlements/{VISIT}?format=nhsa")
    steps = {r.get_attribute("data-step"): r for r in
             browser.find_elements(By.CSS_SELECTOR, "#waterfall tbody tr")}

    def amount(step: str) -> str:
        return steps[step].find_element(By.CSS_SELECTOR, ".amount").text

    def field(step: str) -> str:
        return steps[step].find_element(By.CSS_SELECTOR, "code.field").text

    for step, name in (("w_medical_total", "medfee_sumamt"),
                       ("w_out_of_scope", "fulamt_ownpay_amt"),
                       ("w_deductible", "act_pay_dedc"), ("w_fund", "hifp_pay"),
                       ("w_self_pay", "psn_part_amt"), ("w_own", "acct_pay"),
                       ("w_family", "acct_mulaid_pay"), ("w_cash", "psn_cash_pay"),
                       ("w_balance", "balc")):
        assert (amount(step), field(step)) == (nhsa[name], name), step
    s = split["split"]
    assert amount("w_over_cap") == s["over_cap"]
    assert float(s["family_paid"]) > 0 and float(s["own_paid"]) > 0
    articles = s["articles"]
    assert steps["w_deductible"].find_element(By.CSS_SELECTOR, ".article").text == \
        articles["deductible"]
    assert steps["w_fund"].find_element(By.CSS_SELECTOR, ".article").text == articles["rate"]
    family_debit = next(e for e in api(server, f"/v1/audit/people/{PAYER}/explain")["events"]
                        if e["transaction"] == VISIT and e["event"] == "Debited")
    assert steps["w_family"].find_element(By.CSS_SELECTOR, ".article").text == \
        family_debit["articles"][0]
    # the reversal: its date, what it restored, and every step taken back
    reversal = split["reversal"]
    assert reversal["date"] in text(browser, "#reversal")
    assert reversal["restored"] in text(browser, "#reversal")
    for step in ("w_medical_total", "w_fund", "w_own", "w_family"):
        assert steps[step].find_element(By.CSS_SELECTOR, ".reversed").text == \
            f"-{amount(step)}"
    restored = {r.get_attribute("data-person"): r.find_element(By.CSS_SELECTOR,
                                                               ".restored").text
                for r in browser.find_elements(By.CSS_SELECTOR, "#debits tbody tr")}
    assert restored == {d["person"]: d["amount"] for d in split["debits"]}
    shot(browser, "04-settlement")


@pytest.mark.usefixtures("signed")
def test_moving_the_as_of_date_redraws_the_balance(browser, server):
    browser.get(f"{server}/console/people/{PATIENT}")
    for day in ("2025-03-11", "2025-03-12", "2025-01-31"):
        picker = browser.find_element(By.ID, "as_of")
        browser.execute_script("arguments[0].value = arguments[1]", picker, day)
        go(browser, picker, "submit")
        assert f"as_of={day}" in browser.current_url
        figure = api(server, f"/v1/audit/people/{PATIENT}/balance?as_of={day}")
        assert text(browser, "#balance") == figure["balance"], day
        pooling = api(server, f"/v1/audit/people/{PATIENT}/pooling?as_of={day}")["years"]
        shown = browser.find_elements(By.CSS_SELECTOR, "#pooling-as-of tbody tr")
        assert [r.find_elements(By.TAG_NAME, "td")[4].text for r in shown] == \
            [y["fund_paid"] for y in pooling]
        if day == "2025-03-11":  # between the visit and its reversal
            assert float(pooling[0]["fund_paid"]) > 0
            shot(browser, "05-as-of")


@pytest.mark.usefixtures("signed")
def test_pooling_year_and_family_pages(browser, server):
    person = api(server, "/v1/people?prefix=yunnan-s3&limit=500")["people"]
    busiest = max((p["person"] for p in person), key=lambda p: sum(
        y["visits"] for y in api(server, f"/v1/people/{p}/pooling")["years"]))
    browser.get(f"{server}/console/people/{busiest}/pooling")
    day = text(browser, "#pooling-day")  # today: the year end counts from its recording
    assert day == str(max(dt.date.today(), dt.date(YEAR, 12, 31)))
    year = api(server, f"/v1/audit/people/{busiest}/pooling?as_of={day}&year={YEAR}")["years"][0]
    assert text(browser, "#fund") == year["fund_paid"]
    assert text(browser, "#deductible") == year["deductible_applied"]
    assert text(browser, "#cap") == year["cap"]
    assert text(browser, "#forfeited") == year["forfeited"]
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
    shot(browser, "06-pooling")
    browser.get(f"{server}/console/people/{PAYER}/family")
    family = api(server, f"/v1/people/{PAYER}/family-spending")
    assert [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#bindings tbody td a")] \
        == [b["member"] for b in family["bindings"]]
    assert text(browser, "#paid-total") == "0.00"  # the one payment was reversed
    browser.get(f"{server}/console/people/{PATIENT}/family")
    assert PAYER in text(browser, "#paid-for-me") and text(browser, "#received-total") == "0.00"
    shot(browser, "07-family")


@pytest.mark.usefixtures("signed")
def test_fund_report_chart_table_and_csv(browser, server):
    browser.get(f"{server}/console/reports/fund?region=yunnan&year={YEAR}")
    totals = api(server, f"/v1/reports/fund-totals?region=yunnan&year={YEAR}")["totals"]
    cells = table(browser, "#fund-rows tbody tr")
    assert [row[4] for row in cells] == [t["fund_paid"] for t in totals]
    fund = sum(int(t["fund_paid"].replace(".", "")) for t in totals)
    assert text(browser, "#fund-total") == f"{fund // 100}.{fund % 100:02d}"
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) == 12
    statement = api(server, f"/v1/reports/fund-statement?region=yunnan&year={YEAR}")["rows"]
    last = max(r["month"] for r in statement)
    assert {r["line"][len("fund."):]: r["ytd_amount"] for r in statement
            if r["month"] == last and r["line"].startswith("fund.")} == dict(zip(
        browser.execute_script("return [...document.querySelectorAll('#by-category tbody tr')]"
                               ".map(r => r.dataset.line)"),
        [row[3] for row in table(browser, "#by-category tbody tr")]))
    href = browser.find_element(By.ID, "csv").get_attribute("href")
    cookie = {c["name"]: c["value"] for c in browser.get_cookies()}
    download = httpx.get(href, cookies=cookie)
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("region,year,month,level,fund_paid") and len(lines) == \
        len(totals) + 1
    shot(browser, "08-fund")


@pytest.mark.usefixtures("signed")
def test_english_toggle_and_keyboard(browser, server):
    browser.get(f"{server}/console/people/{PATIENT}")
    go(browser, browser.find_element(By.CSS_SELECTOR, ".tools a[lang=en]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Timeline" in text(browser, "h1")
    assert browser.current_url.endswith(f"/console/people/{PATIENT}")
    labels = {f.get_attribute("for") for f in browser.find_elements(By.TAG_NAME, "label")}
    assert "as_of" in labels
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)  # the keyboard's way in
    skip = browser.switch_to.active_element
    assert skip.get_attribute("class") == "skip" and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    shot(browser, "09-timeline-en")
    go(browser, browser.find_element(By.CSS_SELECTOR, ".tools a[lang=zh-CN]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"


@pytest.mark.usefixtures("signed")
def test_verify_then_tamper_shows_the_difference(browser, server, store):
    browser.get(f"{server}/console/integrity")
    go(browser, browser.find_element(By.ID, "verify"))
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.ID, "verdict"))
    report = api(server, "/v1/audit/verify", "POST")
    assert browser.find_element(By.ID, "ok").is_displayed()
    assert text(browser, "#chain-head") == report["chain_head"]
    assert browser.find_elements(By.CSS_SELECTOR, "#progress progress")
    shot(browser, "10-verified")
    browser.get(f"{server}/console/integrity")
    assert text(browser, "#chain-head") == report["chain_head"]  # remembered
    # tamper: the amount of PATIENT's family-paid debit, in the stored row itself
    db = sqlite3.connect(store, isolation_level=None)
    rowid, state = db.execute(
        "SELECT rowid, state FROM stored_events WHERE topic LIKE '%Debited' "
        "AND instr(state, ?) > 0 ORDER BY rowid DESC LIMIT 1",
        (f'"transaction_id":"{VISIT}"'.encode(),)).fetchone()
    edited = state.replace(b'"amount":', b'"amount":1', 1)
    assert edited != state
    db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, rowid))
    db.close()
    browser.get(f"{server}/console/integrity")
    go(browser, browser.find_element(By.ID, "verify"))
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.ID, "verdict"))
    assert browser.find_element(By.ID, "differs").is_displayed()
    link = browser.find_element(By.LINK_TEXT, f"查看事件 #{rowid}")
    shot(browser, "11-tampered")
    go(browser, link)
    assert text(browser, "#event-person") in (PAYER, PATIENT)
    assert '"amount": 1' in text(browser, "#state")
    shot(browser, "12-event")
    db = sqlite3.connect(store, isolation_level=None)  # now garbage: the timeline says so
    db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b"\x00garbage", rowid))
    db.close()
    browser.get(f"{server}/console/people/{PAYER}")
    [bad] = browser.find_elements(By.CSS_SELECTOR, "#timeline tr.bad")
    assert f"位置 {rowid}" in bad.text
    shot(browser, "13-unreadable")


# -- without a browser: refusals are pages, never a 500 ---------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from fastapi.testclient import TestClient

    from api import create_app
    from api_support import settings

    app = create_app(settings(str(tmp_path_factory.mktemp("console-client") / "g.db")))
    with TestClient(app, follow_redirects=False) as client:
        answer = client.post("/v1/people", headers=auth(AGENCY), json={
            "person": "A", "region": "suizhou", "birth_date": "1980-05-01"})
        assert answer.status_code == 200, answer.text
        yield client


def test_pages_need_a_console_session(client):
    for path in ("/console/people", "/console/people/A", "/console/integrity",
                 "/console/reports/fund.csv", "/console/events/1"):
        answer = client.get(path, headers=auth(AUDITOR))  # an API key is not a session
        assert answer.status_code == 303 and answer.headers["location"].startswith(
            "/console/?next="), path
    assert client.post("/console/integrity/verify").status_code == 303
    answer = client.post("/console/sign-in", content=f"key={MEMBER_A}",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 403 and "gongji_console" not in answer.cookies


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/console/people/nobody", 404, "未找到该参保人员"),
    ("/console/people/A?as_of=2024-02-30", 422, "不是有效的日历日期"),
    ("/console/people/A/pooling?year=99999", 422, "1900–2199"),
    ("/console/people?region=atlantis", 422, "atlantis"),
    ("/console/reports/fund?year=20x4", 422, "1900–2199"),
    ("/console/settlements/nothing", 404, "nothing"),
    ("/console/events/99999999999999999999999", 200, "没有这个位置的事件"),
    ("/console/events/0", 200, "没有这个位置的事件"),
])
def test_refusals_are_pages_in_both_languages(client, path, status, words):
    client.cookies.clear()
    answer = client.post("/console/sign-in", content=f"key={AUDITOR}&next=/console/people",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303
    page = client.get(path)
    assert page.status_code == status, page.text[:400]
    assert page.headers["content-type"].startswith("text/html")
    assert words in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from outside
