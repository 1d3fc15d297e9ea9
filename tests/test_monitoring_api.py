"""The monitoring routes over HTTP: the statement as JSON, CSV and XLSX (by ``format`` or
``Accept``), institution indicators, alerts, and a review recorded once, as an event.

The history (yunnan 2025): A earns 2 % of 10000.00 = 200.00 a month (Jan–Mar) and binds
six family members, then pays 30.00 for each at a pharmacy on 03-11…16 (an account paying for
six people: the ``many_beneficiaries`` alert at its default of 6); B has a visit at H1.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from api_support import AGENCY, AUDITOR, HOSPITAL, KEYS, auth, settings
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api import create_app
from cli.projections import worker

ALERT = "many_beneficiaries:A:2025"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = str(tmp_path_factory.mktemp("monitoring") / "gongji.db")
    patch = pytest.MonkeyPatch()
    patch.setenv("GONGJI_DATABASE_URL", path)
    patch.setenv("GONGJI_API_KEYS", json.dumps(KEYS))
    patch.delenv("GONGJI_REDIS_URL", raising=False)
    patch.delenv("GONGJI_MONITORING", raising=False)
    with TestClient(create_app(settings(path))) as client:
        client.headers.update(auth(AGENCY))

        def post(route: str, body: dict) -> None:
            client.post(route, json=body).raise_for_status()

        for person in ("A", "B", *(f"M{n}" for n in range(1, 7))):
            post("/v1/people", {"person": person, "region": "yunnan", "birth_date": "1980-01-01"})
        for month in ("2025-01", "2025-02", "2025-03"):
            post("/v1/contributions", {"person": "A", "month": month, "base": "10000.00"})
        for n in range(1, 7):
            post("/v1/family-bindings", {"owner": "A", "member": f"M{n}", "relation": "sibling",
                                         "date": "2025-01-01"})
            post("/v1/spends", {"payer": "A", "beneficiary": f"M{n}", "purpose": "pharmacy",
                                "amount": "30.00", "id": f"S{n}", "date": f"2025-03-{n + 10}"})
        post("/v1/settlements", {"person": "B", "id": "V1", "date": "2025-03-12", "level": 1,
                                 "in_scope": "100.00", "out_of_scope": "20.00",
                                 "institution": "H1"})
        with worker() as w:
            w.catch_up()
        yield client
    patch.undo()


def test_the_statement_as_json_ties_out(client: TestClient):
    body = client.get("/v1/reports/fund-statement?region=yunnan&year=2025&month=3").json()
    lines = {row["line"]: row for row in body["rows"]}
    assert lines["in.contribution"]["amount"] == "200.00"
    assert lines["in.contribution"]["ytd_amount"] == "600.00"
    assert lines["out.family.pharmacy"]["amount"] == "180.00"
    assert lines["out.family.pharmacy"]["count"] == 6
    assert lines["opening"]["amount"] == "400.00"
    assert lines["closing"]["amount"] == "420.00"  # 400 + 200 − 180; B paid all in cash
    # yunnan: L1 per-visit deductible 20.00, employed 60 % of 80.00 = 48.00 from the fund
    assert lines["fund.1.employed"]["amount"] == "48.00"
    assert body["tie_out"] == [{"month": 3, "closing": "420.00", "balances": "420.00",
                                "accounts": 1, "ties_out": True}]
    every = client.get("/v1/reports/fund-statement?region=yunnan&year=2025").json()
    assert [t["month"] for t in every["tie_out"]] == [1, 2, 3]


def test_the_statement_as_csv_and_xlsx_by_query_or_accept(client: TestClient):
    url = "/v1/reports/fund-statement?region=yunnan&year=2025&month=3"
    for response in (client.get(url + "&format=csv"),
                     client.get(url, headers={"Accept": "text/csv"})):
        assert response.headers["content-type"].startswith("text/csv")
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0].startswith("region,year,month,section,line")
        assert "yunnan,2025,3,outflows,out.family.pharmacy," in text and ",180.00,6," in text
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for response in (client.get(url + "&format=xlsx"), client.get(url, headers={"Accept": xlsx})):
        assert response.headers["content-type"] == xlsx
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = {row[4]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert rows["closing"][6] == 420 and sheet.cell(2, 7).number_format == "0.00"


@pytest.mark.parametrize("query, field", [("region=atlantis&year=2025", "region"),
                                          ("region=yunnan&year=2025&month=13", "month"),
                                          ("region=yunnan&year=2025&format=pdf", "format")])
def test_a_bad_query_is_refused_naming_it(client: TestClient, query: str, field: str):
    response = client.get(f"/v1/reports/fund-statement?{query}")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_input" and field in json.dumps(problem)
    assert problem["detail_zh"]


def test_institution_indicators_name_the_visits_institution(client: TestClient):
    body = client.get("/v1/reports/institutions?region=yunnan&year=2025&month=3").json()
    assert body["institutions"] == [{
        "level": 1, "institution": "H1", "visits": 1, "in_scope_per_visit": "100.00",
        "total_per_visit": "120.00", "growth_3m": "", "growth_yoy": "",
        "self_pay_share": "0.6000", "out_of_scope_share": "0.1667"}]
    assert body["flags"] == [] and body["method"] == "robust_z"


def test_an_alert_is_reviewed_once_and_the_review_shows_who_looked(client: TestClient):
    alerts = client.get("/v1/reports/alerts?region=yunnan&year=2025").json()["alerts"]
    assert [(a["id"], a["count"], a["status"]) for a in alerts] == [(ALERT, 6, "open")]
    assert alerts[0]["article"] == "suizhou art. 25; jilin (十一)"
    review = {"review": "R1", "alert": ALERT, "outcome": "referred",
              "note": "six siblings in one day: inspection", "reviewer": "auditor-7",
              "date": "2025-04-01"}
    first = client.post("/v1/reports/alert-reviews", json=review, headers=auth(AUDITOR))
    assert first.status_code == 200, first.text
    assert first.json() == {**review, "role": "auditor"}
    again = client.post("/v1/reports/alert-reviews", json=review, headers=auth(AUDITOR))
    assert again.json() == first.json()
    other = client.post("/v1/reports/alert-reviews", json={**review, "outcome": "acknowledged"})
    assert other.status_code == 409 and other.json()["code"] == "duplicate_conflict"
    with worker() as w:
        assert w.catch_up() == 1  # one review event, not two
    alerts = client.get("/v1/reports/alerts").json()["alerts"]
    assert alerts[0]["status"] == "referred"
    assert alerts[0]["reviews"] == [{"review": "R1", "outcome": "referred",
                                     "note": review["note"], "reviewer": "auditor-7",
                                     "role": "auditor", "date": "2025-04-01"}]


@pytest.mark.parametrize("change, field", [({"outcome": "ignored"}, "outcome"),
                                           ({"note": ""}, "note"),
                                           ({"alert": "pharmacy_day:B:2025-03-12"}, "alert"),
                                           ({"date": "2025-02-30"}, "date")])
def test_a_bad_review_changes_nothing(client: TestClient, change: dict, field: str):
    review = {"review": "R9", "alert": ALERT, "outcome": "acknowledged", "note": "seen",
              "reviewer": "a1", "date": "2025-04-02", **change}
    response = client.post("/v1/reports/alert-reviews", json=review)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input" and field in response.text
    with worker() as w:
        assert w.catch_up() == 0


def test_institutions_may_not_read_the_monitoring(client: TestClient):
    for path in ("/v1/reports/fund-statement?region=yunnan&year=2025", "/v1/reports/alerts"):
        assert client.get(path, headers=auth(HOSPITAL)).status_code == 403


# -- the same over the command line ----------------------------------------------------


def gongji(*args: str, **env: str):
    from typer.testing import CliRunner

    from cli.main import app

    return CliRunner().invoke(app, list(args), env=env or None)


def test_the_command_writes_the_statement_and_its_chart(client: TestClient, tmp_path):
    chart, sheet = tmp_path / "year.png", tmp_path / "statement.xlsx"
    result = gongji("reports", "fund-statement", "--region", "yunnan", "--year", "2025",
                    "--format", "xlsx", "--output", str(sheet), "--chart", str(chart))
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 20_000
    rows = list(load_workbook(sheet).active.iter_rows(min_row=2, values_only=True))
    assert {row[2] for row in rows} == {1, 2, 3}
    assert [row[6] for row in rows if row[4] == "closing"] == [200, 400, 420]
    table = gongji("reports", "fund-statement", "--region", "yunnan", "--year", "2025",
                   "--month", "3")
    assert table.exit_code == 0 and "ties out 平衡" in table.output
    assert "420.00" in table.output


def test_the_command_lists_and_reviews_alerts(client: TestClient):
    listed = gongji("reports", "alerts", "--format", "json")
    assert listed.exit_code == 0
    assert [a["id"] for a in json.loads(listed.stdout)] == [ALERT]
    bad = gongji("reports", "review-alert", ALERT, "--review", "C1", "--outcome", "maybe",
                 "--note", "x", "--reviewer", "a1")
    assert bad.exit_code == 1 and "outcome" in bad.output
    unknown = gongji("reports", "review-alert", "pharmacy_day:A:2025-03-11", "--review", "C1",
                     "--outcome", "acknowledged", "--note", "x", "--reviewer", "a1")
    assert unknown.exit_code == 1 and "no alert" in unknown.output
    done = gongji("reports", "review-alert", ALERT, "--review", "C2", "--outcome",
                  "acknowledged", "--note", "checked the receipts", "--reviewer", "clerk-3",
                  "--date", "2025-04-03")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"review": "C2", "alert": ALERT, "outcome": "acknowledged",
                                       "note": "checked the receipts", "reviewer": "clerk-3",
                                       "role": "agency", "date": "2025-04-03"}
    settings_error = gongji("reports", "alerts", GONGJI_MONITORING='{"alerts": 1}')
    assert settings_error.exit_code == 2 and "GONGJI_MONITORING" in settings_error.output


def test_the_indicators_from_the_log_equal_those_from_the_views(client: TestClient):
    args = ("reports", "institutions", "--region", "yunnan", "--year", "2025", "--month", "3",
            "--format", "json")
    views, log = gongji(*args), gongji(*args, "--from-events")
    assert views.exit_code == log.exit_code == 0
    assert json.loads(views.stdout) == json.loads(log.stdout)
    assert json.loads(views.stdout)[0]["institution"] == "H1"
