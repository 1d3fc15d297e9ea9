"""``POST /v1/what-if``: agency only, drafts validated like files, writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import AGENCY, AUDITOR, HOSPITAL, auth, settings
from conftest import PARAMETERS
from fastapi.testclient import TestClient
from test_whatif import FINAL, record_year

from api import create_app


@pytest.fixture
def client(sqlite_url: str):
    with TestClient(create_app(settings(sqlite_url, PARAMETERS))) as client:
        record_year(client.app.state.services.ledger)
        yield client


def body(toml: str | None = None, **extra):
    return {"region": "nanchang", "year": 2024,
            "drafts": [{"name": "nanchang-final.toml",
                        "toml": toml or FINAL.read_text(encoding="utf-8")}], **extra}


def test_the_agency_gets_the_report_side_by_side(client: TestClient) -> None:
    ledger = client.app.state.services.ledger
    head = ledger.recorder.max_notification_id()
    response = client.post("/v1/what-if", json=body(), headers=auth(AGENCY))
    assert response.status_code == 200, response.text
    report = response.json()
    assert ledger.recorder.max_notification_id() == head
    assert report["self_check"]["ok"] is True and report["self_check"]["visits"] == 7
    assert (report["visits_settled"], report["visits_reversed"]) == (7, 1)
    fund = next(r for r in report["tables"]["totals"] if r["measure"] == "fund_paid")
    assert fund == {"measure": "fund_paid", "actual": "2020.00", "nanchang-final": "2385.00",
                    "change nanchang-final": "365.00"}
    gains = report["tables"]["gain and lose most"]
    assert [(r["who"], r["person"], r["self_pay change"]) for r in gains] == [
        ("gains", "A", "-200.00"), ("gains", "B", "-165.00")]


@pytest.mark.parametrize("key", [AUDITOR, HOSPITAL])
def test_only_the_agency_may_run_it(client: TestClient, key: str) -> None:
    response = client.post("/v1/what-if", json=body(), headers=auth(key))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_a_broken_draft_is_422_naming_file_and_field(client: TestClient) -> None:
    text = FINAL.read_text(encoding="utf-8").replace('deductible_kind = "accumulated"',
                                                     'deductible_kind = "sometimes"')
    response = client.post("/v1/what-if", json=body(text), headers=auth(AGENCY))
    problem = response.json()
    assert response.status_code == 422 and problem["code"] == "invalid_input"
    assert problem["field"] == "policy"
    assert problem["detail"].startswith(
        "draft policy nanchang-final.toml: pooling.deductible_kind:")
    assert problem["detail_zh"]
    not_toml = client.post("/v1/what-if", json=body("rates = [1,"), headers=auth(AGENCY))
    assert not_toml.status_code == 422 and "nanchang-final.toml" in not_toml.json()["detail"]
    other_region = client.post("/v1/what-if", json={**body(), "region": "suizhou"},
                               headers=auth(AGENCY))
    assert other_region.status_code == 422
    assert "the draft is a policy of 'nanchang'" in other_region.json()["detail"]


def test_bad_requests_are_problems_not_errors(client: TestClient) -> None:
    for bad in ({**body(), "year": "last"}, {**body(), "drafts": []},
                {**body(), "parameters": {"nanchang": {"average_pension": 3100.5}}},
                {**body(), "name": Path("x").name}):
        response = client.post("/v1/what-if", json=bad, headers=auth(AGENCY))
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "invalid_input"
