"""The API reading the projections' views, and the audit routes, with a real worker in-process.

The history (suizhou, 2024; DOMAIN.md 3.1, 3.2, 4, 5; amounts in yuan):

- A earns 2% of 5000.00 = 100.00 a month (Jan, Feb, later Mar); B 2% of 3000.00 = 60.00 (Jan).
- A binds B (spouse) from 2024-01-01.
- V1 (B, 03-01, L1, 300.00 in scope, paid by A's account): deductible 500 − 0 left → all
  300.00 is deductible, fund 0; self-pay 300.00: A's account 200.00 (all it has), cash 100.00.
- V2 (B, 03-05, L1, 400.00): deductible 500 − 300 = 200.00, payable 200.00 × 80% = 160.00
  fund; self-pay 240.00: B's own 60.00, cash 180.00.
- A's March credit (value date 03-01) → A 100.00; S1: A pays 50.00 for B's pharmacy (03-10)
  → A 50.00; V1 reversed 03-20: A gets 200.00 back → A 250.00, B's accumulations lose V1's
  300.00 of in-scope and deductible.

The worker is the deployment's (``cli.projections.worker``: the store chosen from the
environment like ``gongji projections run``), caught up once where a test says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_support import AGENCY, AUDITOR, HOSPITAL, KEYS, MEMBER_A, MEMBER_B, auth, settings
from fastapi.testclient import TestClient

from api import create_app
from api import schemas as s
from cli.projections import worker

A_ROWS = [  # (event, amount, balance after) of A's movements, in recording order
    ("ContributionCredited", "100.00", "100.00"),
    ("ContributionCredited", "100.00", "200.00"),
    ("Debited", "-200.00", "0.00"),  # V1, for B
    ("ContributionCredited", "100.00", "100.00"),
    ("Debited", "-50.00", "50.00"),  # S1, for B
    ("DebitRestored", "200.00", "250.00"),  # V1 reversed
]


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.redis)])
def deployment(request: pytest.FixtureRequest, database_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API and the worker's environment on one store: SQL views beside the events
    (SQLite, PostgreSQL), or Redis views when GONGJI_REDIS_URL is set."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_url)
    monkeypatch.setenv("GONGJI_API_KEYS", json.dumps(KEYS))
    if redis_url:
        monkeypatch.setenv("GONGJI_REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)
    with TestClient(create_app(settings(database_url, redis_url=redis_url))) as client:
        client.headers.update(auth(AGENCY))
        history(client)
        yield client


def history(client: TestClient) -> None:
    def post(path: str, body: dict) -> None:
        client.post(path, json=body).raise_for_status()

    for person, born in (("A", "1980-01-01"), ("B", "1982-01-01")):
        post("/v1/people", {"person": person, "region": "suizhou", "birth_date": born})
    for month in ("2024-01", "2024-02"):
        post("/v1/contributions", {"person": "A", "month": month, "base": "5000.00"})
    post("/v1/contributions", {"person": "B", "month": "2024-01", "base": "3000.00"})
    post("/v1/family-bindings", {"owner": "A", "member": "B", "relation": "spouse",
                                 "date": "2024-01-01"})
    post("/v1/settlements", {"person": "B", "id": "V1", "date": "2024-03-01", "level": 1,
                             "in_scope": "300.00", "pay": {"family": "A"}})
    post("/v1/settlements", {"person": "B", "id": "V2", "date": "2024-03-05", "level": 1,
                             "in_scope": "400.00"})
    post("/v1/contributions", {"person": "A", "month": "2024-03", "base": "5000.00"})
    post("/v1/spends", {"payer": "A", "beneficiary": "B", "purpose": "pharmacy",
                        "amount": "50.00", "id": "S1", "date": "2024-03-10"})
    post("/v1/reversals", {"id": "V1", "date": "2024-03-20"})


def catch_up() -> int:
    """What one pass of ``gongji projections run`` does; the views' position after it."""
    with worker() as w:
        w.catch_up()
        return w.views.position()


def head(client: TestClient) -> int:
    return client.app.state.services.ledger.recorder.max_notification_id()


def figures(body: dict) -> dict:
    """A read's answer without the fields that say where it came from."""
    return {k: v for k, v in body.items() if k not in ("consistency", "source", "position")}


# -- eventual and strong reads ----------------------------------------------------------


def test_before_the_worker_ran_the_aggregate_answers_and_says_so(deployment: TestClient):
    client = deployment
    for path in ("/v1/people/A", "/v1/people/A/pooling"):
        response = client.get(path)  # eventual by default, but the views are empty
        assert response.status_code == 200
        assert response.headers["Gongji-Consistency"] == "strong"
        assert (response.json()["consistency"], response.json()["source"],
                response.json()["position"]) == ("strong", "aggregate", None)
    assert client.get("/v1/people/A").json()["balance"] == "250.00"
    assert client.get("/v1/people/Z").json()["code"] == "unknown_person"


def test_after_catching_up_the_views_answer_as_the_aggregate_does(deployment: TestClient):
    client = deployment
    position = catch_up()
    assert position == head(client)
    for person in ("A", "B"):
        for path in (f"/v1/people/{person}", f"/v1/people/{person}/pooling"):
            eventual = client.get(path)
            strong = client.get(path, params={"consistency": "strong"})
            assert eventual.headers["Gongji-Consistency"] == "eventual"
            assert (eventual.json()["source"], eventual.json()["position"]) == ("views", position)
            assert strong.headers["Gongji-Consistency"] == "strong"
            assert (strong.json()["source"], strong.json()["position"]) == ("aggregate", None)
            assert figures(eventual.json()) == figures(strong.json())
    assert client.get("/v1/people/A").json()["balance"] == "250.00"
    [year] = client.get("/v1/people/B/pooling").json()["years"]
    assert (year["in_scope"], year["deductible_applied"], year["fund_paid"], year["cap"],
            year["cap_left"]) == ("400.00", "200.00", "160.00", "1300.00", "1140.00")
    assert client.get("/v1/people/Z").json()["code"] == "unknown_person"


def test_the_hot_reads_bodies_are_their_models_bytes(deployment: TestClient):
    """The balance and pooling reads write orjson from plain values (no model built): the
    bytes are those of the documented model, every field in its order and JSON form."""
    client = deployment
    catch_up()
    for person in ("A", "B"):
        for path, model, query in ((f"/v1/people/{person}", s.Account, {"as_of": "2024-02-01"}),
                                   (f"/v1/people/{person}/pooling", s.Pooling, {"year": "2023"})):
            for params in ({}, {"consistency": "strong"}, {"year": "2024"}, query):
                response = client.get(path, params=params)
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/json"
                assert response.content == \
                    model.model_validate_json(response.content).model_dump_json().encode()
    assert client.get("/v1/people/B/pooling", params={"year": "2023"}).json()["years"] == []


LANE_HEADERS = [  # the hot lane's plain case, and what it leaves to the route
    auth(AGENCY), auth(AUDITOR), auth(HOSPITAL), auth(MEMBER_A), auth(MEMBER_B),
    {"X-API-Key": AGENCY}, {"Authorization": f"bearer {AGENCY}"}, {},
    {"Authorization": "Bearer unknown-key-0000001"}, {"Authorization": f"Basic {AGENCY}"},
    {"Authorization": f"Basic {AGENCY}", "X-API-Key": MEMBER_A},
    {"Authorization": f"Bearer {AGENCY} x"}, {"X-API-Key": "unknown-key-0000001"},
]


@pytest.mark.parametrize("headers", LANE_HEADERS)
def test_the_hot_lane_answers_as_the_route_does(deployment: TestClient, headers: dict):
    """Without a query the lane (:mod:`api.hot`) answers; ``?consistency=eventual`` (the
    same read) always goes through the route: status, body and headers are the same, for
    every key — allowed, unknown, missing, another member's — and every person."""
    client = deployment
    client.headers.clear()
    catch_up()
    for person in ("A", "B", "Z", "A%0A", "-A"):
        for path in (f"/v1/people/{person}", f"/v1/people/{person}/pooling"):
            lane = client.get(path, headers=headers)
            route = client.get(path + "?consistency=eventual", headers=headers)
            assert (lane.status_code, lane.content) == (route.status_code, route.content)
            assert lane.status_code != 500
            for name in ("content-type", "gongji-consistency", "www-authenticate"):
                assert lane.headers.get(name) == route.headers.get(name)


def test_the_hot_lane_is_counted_under_its_route(deployment: TestClient):
    client = deployment
    catch_up()
    for _ in range(3):
        assert client.get("/v1/people/A/pooling").status_code == 200
    metrics = client.get("/metrics").text
    assert 'route="/v1/people/{person}/pooling",status="200"' in metrics


def test_a_lagging_view_is_labelled_with_its_position(deployment: TestClient):
    client = deployment
    position = catch_up()
    client.post("/v1/contributions", json={"person": "A", "month": "2024-04",
                                           "base": "5000.00"}).raise_for_status()
    lagging = client.get("/v1/people/A")
    strong = client.get("/v1/people/A", params={"consistency": "strong"})
    assert lagging.headers["Gongji-Consistency"] == "eventual"
    assert (lagging.json()["balance"], lagging.json()["position"]) == ("250.00", position)
    assert position < head(client)
    assert strong.json()["balance"] == "350.00"
    assert catch_up() == head(client)
    assert client.get("/v1/people/A").json()["balance"] == "350.00"


# -- family spending and the fund report (read models only) ------------------------------


def test_family_spending_and_fund_totals(deployment: TestClient):
    client = deployment
    empty = client.get("/v1/people/A/family-spending").json()
    assert (empty["bindings"], empty["spending"], empty["position"]) == ([], [], 0)
    position = catch_up()
    family = client.get("/v1/people/A/family-spending", headers=auth(MEMBER_A))
    assert family.headers["Gongji-Consistency"] == "eventual"
    assert family.json()["position"] == position
    assert family.json()["bindings"] == [{"member": "B", "relation": "spouse",
                                          "bound_from": "2024-01-01", "unbound_on": None}]
    assert family.json()["spending"] == [  # V1 reversed: nothing left of it but the count
        {"beneficiary": "B", "purpose": "medical", "paid": "0.00", "payments": 0, "reversed": 1},
        {"beneficiary": "B", "purpose": "pharmacy", "paid": "50.00", "payments": 1,
         "reversed": 0},
    ]
    assert client.get("/v1/people/Z/family-spending").json()["code"] == "unknown_person"

    report = client.get("/v1/reports/fund-totals", params={"region": "suizhou",
                                                           "month": "2024-03"})
    assert report.json()["totals"] == [{  # V2 only: fund 160, B's own 60, cash 180
        "region": "suizhou", "year": 2024, "month": 3, "level": 1, "fund_paid": "160.00",
        "account_paid": "60.00", "family_paid": "0.00", "cash_paid": "180.00", "visits": 1,
        "reversed": 1}]
    assert client.get("/v1/reports/fund-totals", params={"month": "2024-04"}).json()[
        "totals"] == []
    assert client.get("/v1/reports/fund-totals", params={
        "year": 2023, "month": "2024-03"}).json()["code"] == "invalid_input"


# -- audit --------------------------------------------------------------------------------


def test_explain_gives_every_movement_with_its_balance_and_articles(deployment: TestClient):
    client = deployment
    a = client.get("/v1/audit/people/A/explain", params={"year": 2024},
                   headers=auth(AUDITOR)).json()
    moved = [(e["event"], e["amount"], e["balance_after"]) for e in a["events"]
             if e["amount"] is not None]
    assert moved == A_ROWS
    credits = [e for e in a["events"] if e["event"] == "ContributionCredited"]
    assert all(e["account"] == "A" and e["articles"] for e in credits)
    assert credits[0]["detail"]["base"] == "5000.00" and credits[0]["detail"]["month"] == "2024-01"

    b = client.get("/v1/audit/people/B/explain", headers=auth(AUDITOR)).json()["events"]
    by_family = [(e["transaction"], e["amount"]) for e in b if e["account"] == "A"]
    assert by_family == [("V1", "-200.00"), ("S1", "-50.00")]
    assert all(e["balance_after"] is None for e in b if e["account"] == "A")
    own = [(e["amount"], e["balance_after"]) for e in b
           if e["account"] == "B" and e["amount"] is not None]
    assert own == [("60.00", "60.00"), ("-60.00", "0.00")]  # January credit, V2
    pooled = [e for e in b if e["event"] == "VisitPooled" and e["transaction"] == "V2"]
    assert "suizhou art. 8" in pooled[0]["articles"]
    assert pooled[0]["detail"]["fund_paid"] == "160.00"
    assert client.get("/v1/audit/people/Z/explain").json()["code"] == "unknown_person"


BALANCES = [  # as_of, basis, balance, movements of A
    ("2024-02-15", "business", "200.00", 2),  # January and February credits
    ("2024-03-15", "business", "50.00", 5),  # + V1 −200, March credit (value 03-01), S1 −50
    ("2024-03-31", "business", "250.00", 6),  # + V1's reversal
    ("2024-03-31", "recorded", "0.00", 0),  # all of it was recorded today, years later
]
POOLING = [  # as_of, in_scope, deductible applied, fund paid, visits of B in 2024
    ("2024-03-03", "300.00", "300.00", "0.00", 1),  # V1 only
    ("2024-03-10", "700.00", "500.00", "160.00", 2),  # V1 and V2
    ("2024-03-25", "400.00", "200.00", "160.00", 2),  # V1 reversed on 03-20
]


def test_balance_and_pooling_as_of(deployment: TestClient):
    client = deployment
    for as_of, basis, balance, movements in BALANCES:
        answer = client.get("/v1/audit/people/A/balance",
                            params={"as_of": as_of, "basis": basis}).json()
        assert answer == {"person": "A", "as_of": as_of, "basis": basis, "balance": balance,
                          "movements": movements, "unreadable": []}
    for as_of, in_scope, deductible, fund, visits in POOLING:
        answer = client.get("/v1/audit/people/B/pooling", params={"as_of": as_of}).json()
        [year] = answer["years"]
        assert (answer["basis"], year["region"], year["year"]) == ("business", "suizhou", 2024)
        assert (year["in_scope"], year["deductible_applied"], year["fund_paid"],
                year["visits"], year["cap"]) == (in_scope, deductible, fund, visits, "1300.00")
    assert client.get("/v1/audit/people/A/balance",
                      params={"as_of": "2024-02-30"}).json()["code"] == "invalid_input"


def test_verify_compares_the_views_the_api_reads(deployment: TestClient):
    client = deployment
    position = catch_up()
    report = client.post("/v1/audit/verify", headers=auth(AUDITOR)).json()
    assert report["ok"] is True and report["first_difference"] is None
    assert report["differences"] == []
    assert report["events"] == report["chained_events"] == report["position"] == position
    assert report["settlements"] == 2 and report["view_rows"] > 0
    assert report["chain_head"]


def test_a_view_store_that_does_not_answer_is_a_503_not_a_500(tmp_path) -> None:
    """An outage (Redis down) is neither the caller's fault nor our bug: 503, try again."""
    dead = settings(str(tmp_path / "gongji.db"), redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(dead), raise_server_exceptions=False) as client:
        client.post("/v1/people", headers=auth(AGENCY),
                    json={"person": "A", "region": "suizhou", "birth_date": "1980-01-01"})
        response = client.get("/v1/people/A", headers=auth(AGENCY))
    assert response.status_code == 503
    assert response.json()["code"] == "store_unavailable"
    assert response.headers["Retry-After"] == "5"
