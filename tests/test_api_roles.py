"""Who may and who may not: every route of the API against every kind of key.

One row per route: the request, and the keys allowed. An allowed key must get past the
role checks to an answer: a success, or a refusal of the request itself (a 4xx problem with
its code, never 401/403); a 500 is a failure, not "allowed". Every other key must get 403;
no key gets 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import (
    AGENCY,
    AUDITOR,
    HOSPITAL,
    KEYS,
    MEMBER_A,
    MEMBER_B,
    PHARMACY,
    auth,
    list_directory,
    settings,
)
from fastapi.testclient import TestClient

from api import create_app

DATA = Path(__file__).resolve().parents[1] / "policies" / "data"
EVERYONE = set(KEYS)
COUNTER = {AGENCY, HOSPITAL, PHARMACY}
VISIT = {"person": "A", "date": "2023-06-01", "level": 1, "in_scope": "50.00"}

ROWS: list[tuple[str, str, dict | None, set[str]]] = [
    ("POST", "/v1/people", {"person": "N", "region": "suizhou", "birth_date": "1990-01-01"},
     {AGENCY}),
    ("POST", "/v1/contributions", {"person": "A", "month": "2023-02", "base": "5000.00"},
     {AGENCY}),
    ("POST", "/v1/lump-sums", {"person": "C", "id": "l1", "date": "2023-03-01",
                               "base": "1000.00"}, {AGENCY}),
    ("POST", "/v1/allotments", {"person": "R", "month": "2023-07"}, {AGENCY}),
    ("POST", "/v1/retirements", {"person": "A", "date": "2030-01-01"}, {AGENCY}),
    ("POST", "/v1/transfers", {"person": "T", "to_region": "nanchang", "date": "2024-01-02"},
     {AGENCY}),
    ("POST", "/v1/emigrations", {"person": "E", "date": "2024-01-02"}, {AGENCY}),
    ("POST", "/v1/deaths", {"person": "D", "date": "2024-01-02"}, {AGENCY}),
    ("POST", "/v1/inheritances", {"person": "D", "date": "2024-01-03",
                                  "heirs": [{"name": "x", "share": "1"}]}, {AGENCY}),
    ("POST", "/v1/year-closings", {"year": 2023}, {AGENCY}),
    ("POST", "/v1/family-bindings", {"owner": "A", "member": "B", "relation": "spouse",
                                     "date": "2023-01-01"}, {AGENCY, MEMBER_A}),
    ("POST", "/v1/family-bindings/revocations", {"owner": "A", "member": "B",
                                                 "date": "2023-12-01"}, {AGENCY, MEMBER_A}),
    ("POST", "/v1/settlements", {**VISIT, "id": "v-any"}, COUNTER),
    ("POST", "/v1/settlements", {**VISIT, "id": "v-h1", "institution": "H1"},
     {AGENCY, HOSPITAL}),
    ("POST", "/v1/settlements/preview", {**VISIT, "id": "p"},
     {AGENCY, HOSPITAL, PHARMACY, AUDITOR, MEMBER_A}),
    ("POST", "/v1/spends", {"payer": "A", "purpose": "pharmacy", "amount": "1.00",
                            "id": "s-p1", "date": "2023-06-01", "institution": "P1"},
     {AGENCY, PHARMACY}),
    ("GET", "/v1/institutions/H1", None, {AGENCY, AUDITOR, HOSPITAL}),
    ("GET", "/v1/institutions?region=suizhou", None, {AGENCY, AUDITOR}),
    ("POST", "/v1/reversals", {"id": "seed-h1", "date": "2023-06-05"}, {AGENCY, HOSPITAL}),
    ("GET", "/v1/people/A", None, {AGENCY, AUDITOR, HOSPITAL, PHARMACY, MEMBER_A}),
    ("GET", "/v1/people/A/pooling", None, {AGENCY, AUDITOR, HOSPITAL, PHARMACY, MEMBER_A}),
    ("GET", "/v1/people/A/events", None, {AGENCY, AUDITOR, MEMBER_A}),
    ("GET", "/v1/people/A/family-spending", None, {AGENCY, AUDITOR, MEMBER_A}),
    ("GET", "/v1/people?prefix=A", None, {AGENCY, AUDITOR}),
    ("GET", "/v1/reports/fund-totals?year=2023", None, {AGENCY, AUDITOR}),
    ("GET", "/v1/reports/fund-statement?region=suizhou&year=2023", None, {AGENCY, AUDITOR}),
    ("GET", "/v1/reports/institutions?region=suizhou&year=2023&month=6", None,
     {AGENCY, AUDITOR}),
    ("GET", "/v1/reports/alerts", None, {AGENCY, AUDITOR}),
    ("POST", "/v1/reports/alert-reviews", {
        "review": "r1", "alert": "pharmacy_day:A:2023-06-01", "outcome": "acknowledged",
        "note": "seen", "reviewer": "x1", "date": "2023-06-02"}, {AGENCY, AUDITOR}),
    ("GET", "/v1/audit/people/A/explain?year=2023", None, {AGENCY, AUDITOR}),
    ("GET", "/v1/audit/people/A/balance?as_of=2023-06-30", None, {AGENCY, AUDITOR}),
    ("GET", "/v1/audit/people/A/pooling?as_of=2023-06-30", None, {AGENCY, AUDITOR}),
    ("POST", "/v1/audit/verify", None, {AGENCY, AUDITOR}),
    ("POST", "/v1/what-if", {"region": "suizhou", "year": 2023, "drafts": [
        {"name": "s.toml", "toml": (DATA / "suizhou-2022.toml").read_text(encoding="utf-8")}]},
     {AGENCY}),
    ("GET", "/v1/settlements/seed-h1", None, {AGENCY, AUDITOR, HOSPITAL, MEMBER_A}),
    ("GET", "/v1/policy-parameters", None, EVERYONE),
    ("GET", "/v1/whoami", None, EVERYONE),
    ("POST", "/fsi/api/rsfComIfsService/callService", {  # the national platform gateway
        "infno": "1101", "msgid": "roles-1", "mdtrtarea_admvs": "421300",
        "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "1",
        "opter_name": "x", "inf_time": "2023-06-01 09:00:00", "fixmedins_code": "H1",
        "fixmedins_name": "x", "input": {"data": {"mdtrt_cert_no": "A"}}},
     {AGENCY, HOSPITAL}),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """People A, B (suizhou), C (nanchang), R (retired), T, E, D; a visit by H1."""
    path = tmp_path_factory.mktemp("roles") / "gongji.db"
    with TestClient(create_app(settings(str(path)))) as client:
        agency = auth(AGENCY)
        list_directory(client)
        for person, region, extra in (("A", "suizhou", {}), ("B", "suizhou", {}),
                                      ("C", "nanchang", {}), ("T", "suizhou", {}),
                                      ("E", "suizhou", {}), ("D", "suizhou", {}),
                                      ("R", "suizhou", {"retired_on": "2020-01-01"})):
            client.post("/v1/people", headers=agency, json={
                "person": person, "region": region, "birth_date": "1960-01-01", **extra,
            }).raise_for_status()
        client.post("/v1/contributions", headers=agency, json={
            "person": "A", "month": "2023-01", "base": "9000.00"}).raise_for_status()
        client.post("/v1/settlements", headers=auth(HOSPITAL), json={
            **VISIT, "id": "seed-h1"}).raise_for_status()
        yield client


def test_the_table_covers_every_route(client: TestClient):
    documented = {(method.upper(), path)
                  for path, operations in client.get("/openapi.json").json()["paths"].items()
                  for method in operations}
    covered = {(method, _template(path)) for method, path, _, _ in ROWS}
    assert documented - {("GET", "/v1/health"), ("GET", "/v1/ready")} == covered


def _template(path: str) -> str:
    return (path.split("?")[0].replace("/people/A", "/people/{person}")
            .replace("/settlements/seed-h1", "/settlements/{id}")
            .replace("/institutions/H1", "/institutions/{code}"))


@pytest.mark.parametrize("method, path, body, allowed", ROWS,
                         ids=[f"{m} {p}" for m, p, _, _ in ROWS])
def test_who_may_and_who_may_not(client: TestClient, method: str, path: str,
                                 body: dict | None, allowed: set[str]):
    forbidden = EVERYONE - allowed
    # a settlement the key may not read is answered exactly as a missing one
    refusal = (404, "unknown_transaction") if _template(path) == "/v1/settlements/{id}" \
        and method == "GET" else (403, "forbidden")
    for key in sorted(forbidden):  # refused first: a refusal changes nothing
        response = client.request(method, path, json=body, headers=auth(key))
        answer = response.json()  # problem+json, or the gateway's envelope
        code = answer.get("code", answer.get("err_msg", "")[1:10])
        assert (response.status_code, code) == refusal, (KEYS[key], answer)
    assert client.request(method, path, json=body).status_code == 401
    for key in sorted(allowed):
        response = client.request(method, path, json=body, headers=auth(key))
        status = response.status_code
        assert 200 <= status < 500 and status not in (401, 403), (KEYS[key], response.text)
        if status >= 400:  # refused for what it asks, as a problem with its stable code
            assert response.headers["content-type"] == "application/problem+json", response.text
            assert response.json()["code"], (KEYS[key], response.json())


def test_a_member_reads_and_binds_only_for_itself(client: TestClient):
    member_b = auth(MEMBER_B)
    assert client.get("/v1/people/B", headers=member_b).status_code == 200
    assert client.get("/v1/people/A", headers=member_b).status_code == 403
    assert client.post("/v1/family-bindings", headers=member_b, json={
        "owner": "B", "member": "A", "relation": "spouse", "date": "2023-01-01",
    }).status_code == 200


def test_health_needs_no_key(client: TestClient):
    assert client.get("/v1/health").json() == {"status": "ok"}
