"""The API's behaviour through FastAPI's TestClient: errors, idempotency, pre-settlement,
family payment, NHSA names, history, settings and the OpenAPI page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import AGENCY, HOSPITAL, KEYS, auth, list_directory, settings
from fastapi.testclient import TestClient

from api import create_app
from api.keys import load_keys
from api.vocabulary import has_chinese
from conformance.http import ROUTES
from conformance.steps import OPS
from ledger.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def open_client(database_url: str, redis_url: str | None = None) -> TestClient:
    client = TestClient(create_app(settings(database_url, redis_url=redis_url)))
    client.headers.update(auth(AGENCY))
    list_directory(client)
    return client


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with open_client(sqlite_url) as client:
        yield client


@pytest.fixture
def any_store(database_url: str) -> Iterator[TestClient]:
    with open_client(database_url) as client:
        yield client


def enroll(client: TestClient, person: str = "A", months: int = 1,
           region: str = "suizhou", base: str = "5000.00") -> None:
    """Enroll ``person`` with ``months`` credited (suizhou: 2% of 5000.00 = 100.00 each)."""
    assert client.post("/v1/people", json={"person": person, "region": region,
                                           "birth_date": "1980-01-01"}).status_code == 200
    for month in range(1, months + 1):
        client.post("/v1/contributions", json={"person": person, "month": f"2023-{month:02d}",
                                               "base": base}).raise_for_status()


def balance(client: TestClient, person: str) -> str:
    return client.get(f"/v1/people/{person}").json()["balance"]


VISIT = {"person": "A", "id": "v1", "date": "2023-06-01", "level": 1, "in_scope": "600.00",
         "out_of_scope": "20.00"}


# -- errors are problem+json -----------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    (b"{not json", None),
    (b"[1, 2]", None),
    (json.dumps({"person": "A", "month": "2023-01", "base": 8000.5}).encode(), "base"),
    (json.dumps({"person": "A", "month": "2023-01", "base": "80.123"}).encode(), "base"),
    (json.dumps({"person": "A", "month": "2023-13", "base": "80.00"}).encode(), "month"),
    (json.dumps({"person": "A", "month": "2023-01", "base": "1.00", "x": 1}).encode(), "x"),
])
def test_bad_input_is_422_invalid_input_never_500(client: TestClient, body: bytes,
                                                  field: str | None):
    response = client.post("/v1/contributions", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_input" and problem["field"] == field
    assert problem["detail"] and has_chinese(problem["detail_zh"])


def test_refusals_map_to_statuses(client: TestClient):
    enroll(client)
    unknown = client.post("/v1/contributions", json={"person": "Z", "month": "2023-01",
                                                     "base": "1.00"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_person")
    poor = client.post("/v1/spends", json={"payer": "A", "purpose": "pharmacy",
                                           "amount": "500.00", "id": "s1", "date": "2023-02-01"})
    assert (poor.status_code, poor.json()["code"]) == (409, "insufficient_balance")
    assert "余额不足" in poor.json()["detail_zh"]
    banned = client.post("/v1/spends", json={"payer": "A", "purpose": "fitness",
                                             "amount": "5.00", "id": "s2", "date": "2023-02-01"})
    assert (banned.status_code, banned.json()["code"]) == (422, "purpose_not_allowed")
    client.post("/v1/settlements", json=VISIT).raise_for_status()
    first = client.post("/v1/reversals", json={"id": "v1", "date": "2023-06-02"})
    again = client.post("/v1/reversals", json={"id": "v1", "date": "2023-06-03"})
    assert first.status_code == 200
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")
    reused = client.post("/v1/settlements", json={**VISIT, "in_scope": "1.00"})
    assert (reused.status_code, reused.json()["code"]) == (409, "duplicate_conflict")
    missing = client.get("/v1/settlements/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_transaction")
    assert client.get("/v1/nowhere").json()["code"] == "not_found"


def test_no_or_unknown_key_is_401(client: TestClient):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-a-key-at-all-000"}):
        response = client.get("/v1/whoami", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/v1/whoami", headers={"Authorization": "",
                                             "X-API-Key": HOSPITAL}).json()["role"] == "institution"


# -- idempotency -----------------------------------------------------------------------


def test_idempotency_key_replays_the_original_and_refuses_another_body(any_store: TestClient):
    client = any_store
    enroll(client, months=3)
    key = {"Idempotency-Key": "transfer-A-1"}
    body = {"person": "A", "to_region": "nanchang", "date": "2024-02-01"}
    first = client.post("/v1/transfers", json=body, headers=key)
    replay = client.post("/v1/transfers", json=body, headers=key)
    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json() == {"amount": "300.00"}
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = client.post("/v1/transfers", json={**body, "to_region": "yunnan"}, headers=key)
    assert (other.status_code, other.json()["code"]) == (409, "duplicate_conflict")
    assert client.get("/v1/people/A").json()["region"] == "nanchang"  # moved once
    # without the key the transfer is a new request and the ledger judges it
    assert client.post("/v1/transfers", json=body).json()["code"] == "invalid_input"


def test_a_refused_request_does_not_keep_its_key(client: TestClient):
    enroll(client)
    key = {"Idempotency-Key": "spend-1"}
    spend = {"payer": "A", "purpose": "pharmacy", "amount": "150.00", "id": "s1",
             "date": "2023-03-01"}
    assert client.post("/v1/spends", json=spend, headers=key).status_code == 409
    enroll_more = {"person": "A", "month": "2023-02", "base": "5000.00"}
    client.post("/v1/contributions", json=enroll_more).raise_for_status()
    retried = client.post("/v1/spends", json=spend, headers=key)
    assert retried.status_code == 200 and retried.json()["paid"] == "150.00"
    assert balance(client, "A") == "50.00"


def test_idempotency_in_redis(sqlite_url: str, redis_url: str):
    with open_client(sqlite_url, redis_url) as client:
        enroll(client)
        key = {"Idempotency-Key": "emigrate-A"}
        body = {"person": "A", "date": "2024-01-05"}
        assert client.post("/v1/emigrations", json=body, headers=key).json() == {
            "paid_out": "100.00"}
        replay = client.post("/v1/emigrations", json=body, headers=key)
        assert replay.json() == {"paid_out": "100.00"}
        assert replay.headers["Idempotent-Replayed"] == "true"
        other = client.post("/v1/emigrations", json={**body, "date": "2024-01-06"}, headers=key)
        assert other.json()["code"] == "duplicate_conflict"


# -- settlements -----------------------------------------------------------------------


def test_preview_gives_the_settlement_figures_and_writes_nothing(any_store: TestClient):
    client = any_store
    enroll(client, months=2)
    before = client.get("/v1/people/A").json()
    preview = client.post("/v1/settlements/preview", json=VISIT)
    assert client.get("/v1/people/A").json() == before
    assert client.get("/v1/people/A/pooling").json()["years"] == []
    settled = client.post("/v1/settlements", json=VISIT)
    assert preview.status_code == settled.status_code == 200
    assert preview.json() == settled.json()
    assert settled.json() | {} == {**settled.json(), "deductible_applied": "500.00",
                                   "fund_paid": "80.00", "self_pay": "540.00",
                                   "account_paid": "200.00", "cash_paid": "340.00",
                                   "pooling_reason": None, "medical_total": "620.00"}


def test_own_account_first_then_family_and_reversal_puts_each_part_back(client: TestClient):
    enroll(client, "A", months=1)   # 100.00
    enroll(client, "B", months=6)   # 600.00
    client.post("/v1/family-bindings", json={"owner": "B", "member": "A",
                                             "relation": "child",
                                             "date": "2023-01-01"}).raise_for_status()
    visit = {**VISIT, "pay": {"family": "B", "own_first": True}}
    split = client.post("/v1/settlements", json=visit).json()
    assert (split["own_paid"], split["family_paid"], split["family_payer"]) == (
        "100.00", "440.00", "B")
    assert (split["account_paid"], split["cash_paid"]) == ("540.00", "0.00")
    nhsa = client.get("/v1/settlements/v1", params={"format": "nhsa"}).json()
    assert (nhsa["acct_pay"], nhsa["acct_mulaid_pay"], nhsa["psn_cash_pay"]) == (
        "100.00", "440.00", "0.00")
    assert (nhsa["hifp_pay"], nhsa["psn_part_amt"], nhsa["medfee_sumamt"]) == (
        "80.00", "540.00", "620.00")
    assert (balance(client, "A"), balance(client, "B")) == ("0.00", "160.00")
    assert client.post("/v1/reversals", json={"id": "v1", "date": "2023-06-02"}).json() == {
        "id": "v1", "restored": "540.00"}
    assert (balance(client, "A"), balance(client, "B")) == ("100.00", "600.00")
    record = client.get("/v1/settlements/v1").json()
    assert record["debits"] == [{"person": "A", "amount": "100.00", "role": "own"},
                                {"person": "B", "amount": "440.00", "role": "family"}]
    assert record["reversal"] == {"date": "2023-06-02", "reason": "refund",
                                  "restored": "540.00"}
    assert record["split"]["id"] == "v1" and record["split"]["fund_paid"] == "80.00"


def test_settle_in_nhsa_vocabulary(client: TestClient):
    enroll(client)
    nhsa = client.post("/v1/settlements", params={"format": "nhsa"}, json=VISIT).json()
    assert nhsa == {"setl_id": "v1", "medfee_sumamt": "620.00", "fulamt_ownpay_amt": "20.00",
                    "inscp_scp_amt": "600.00", "act_pay_dedc": "500.00", "hifp_pay": "80.00",
                    "pool_prop_selfpay": "0.8", "fund_pay_sumamt": "80.00",
                    "psn_part_amt": "540.00", "acct_pay": "100.00", "acct_mulaid_pay": "0.00",
                    "psn_cash_pay": "440.00", "balc": "0.00"}


def test_an_institution_acts_under_its_own_id_only(client: TestClient):
    enroll(client, months=5)
    hospital = {**auth(HOSPITAL)}
    settled = client.post("/v1/settlements", json=VISIT, headers=hospital)
    assert settled.status_code == 200
    assert client.get("/v1/settlements/v1").json()["institution"] == "H1"
    assert client.post("/v1/settlements", json={**VISIT, "id": "v2", "institution": "P1"},
                       headers=hospital).status_code == 403
    pharmacy = auth(next(k for k, v in KEYS.items() if v.get("institution") == "P1"))
    assert client.post("/v1/reversals", json={"id": "v1", "date": "2023-06-02"},
                       headers=pharmacy).status_code == 403
    assert client.get("/v1/settlements/v1", headers=pharmacy).status_code == 404
    assert client.post("/v1/reversals", json={"id": "v1", "date": "2023-06-02"},
                       headers=hospital).json()["restored"] == "500.00"


# -- reads -----------------------------------------------------------------------------


def test_events_are_paged_newest_first(any_store: TestClient):
    client = any_store
    enroll(client, months=5)
    first = client.get("/v1/people/A/events", params={"limit": 4}).json()
    versions = [e["version"] for e in first["events"]]
    assert versions == [6, 5, 4, 3] and first["next_before"] == 3
    rest = client.get("/v1/people/A/events", params={"limit": 4, "before": 3}).json()
    assert [e["version"] for e in rest["events"]] == [2, 1] and rest["next_before"] is None
    newest = first["events"][0]
    assert newest["type"] == "ContributionCredited"
    assert newest["data"]["amount"] == "100.00" and newest["data"]["month"] == "2023-05"
    assert rest["events"][-1]["type"] == "Enrolled"
    assert client.get("/v1/people/Z/events").json()["code"] == "unknown_person"


def test_account_category_as_of_and_consistency(client: TestClient):
    client.post("/v1/people", json={"person": "R", "region": "suizhou",
                                    "birth_date": "1960-01-01", "retired_on": "2023-05-10"})
    before = client.get("/v1/people/R", params={"as_of": "2023-05-31",
                                                 "consistency": "strong"})
    after = client.get("/v1/people/R", params={"as_of": "2023-06-01"})
    assert before.json()["category"] == "employed" and after.json()["category"] == "retired"
    assert before.headers["Gongji-Consistency"] == "strong"
    # eventual by default, but no worker ran: the views do not know R, the aggregate answers
    assert after.headers["Gongji-Consistency"] == "strong"
    assert after.json()["source"] == "aggregate" and after.json()["position"] is None
    assert client.get("/v1/people/R", params={"as_of": "2023-02-30"}).status_code == 422


def test_policy_parameters_in_force(sqlite_url: str):
    parameters = {"nanchang": {"average_pension": "3100.00"}}
    with TestClient(create_app(settings(sqlite_url, parameters))) as client:
        answer = client.get("/v1/policy-parameters", headers=auth(AGENCY)).json()
    assert answer["parameters"] == parameters
    assert "jilin" in answer["invalid"] and "suizhou" in answer["regions"]


def test_every_conformance_op_has_a_route(client: TestClient):
    assert set(ROUTES) == set(OPS)
    paths = client.get("/openapi.json").json()["paths"]
    assert all("post" in paths[route] for route, _ in ROUTES.values())


# -- settings and the OpenAPI page -----------------------------------------------------


@pytest.mark.parametrize("keys, message", [
    ('{"agency-key-0000000001": {"role": "boss"}}', "role"),
    ('{"hospital-key-00000001": {"role": "institution"}}', "institution id"),
    ('{"member-key-0000000001": {"role": "member"}}', "person id"),
    ('{"short": {"role": "agency"}}', "16 characters"),
    ('not json', "GONGJI_API_KEYS"),
])
def test_bad_api_keys_stop_start_up_naming_the_setting(keys: str, message: str):
    with pytest.raises(SettingsError, match="GONGJI_API_KEYS") as error:
        load_keys(load_settings(api_keys=keys).api_keys)
    assert message in str(error.value)


def test_bad_database_url_names_the_setting():
    with pytest.raises(SettingsError, match="GONGJI_DATABASE_URL"):
        load_settings(database_url="mysql://somewhere/db")
    assert load_keys(Settings(api_keys=json.dumps(KEYS)).api_keys)[
        "agency-key-0000000001"].role == "agency"


def test_openapi_gives_every_field_a_chinese_term_and_an_example(client: TestClient):
    document = client.get("/openapi.json").json()
    missing = []
    for model, schema in document["components"]["schemas"].items():
        for name, prop in schema.get("properties", {}).items():
            if not has_chinese(prop.get("description", "")) or "examples" not in prop:
                missing.append(f"{model}.{name}")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if (not has_chinese(parameter.get("description", ""))
                        or "examples" not in parameter["schema"]):
                    missing.append(f"{method} {path} ?{parameter['name']}")
    assert missing == []
    settle = document["paths"]["/v1/settlements"]["post"]
    assert {"422", "409", "404", "403", "401"} <= set(settle["responses"])
    nhsa = document["components"]["schemas"]["NhsaSetlInfo"]["properties"]
    assert "acct_mulaid_pay" in nhsa and "family_paid" in nhsa["acct_mulaid_pay"]["description"]
