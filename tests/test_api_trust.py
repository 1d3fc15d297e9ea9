"""Input that must be refused, and what a role must not learn (issue 8): every refusal is a
problem with a stable code and English and Chinese sentences naming the field, and
changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_support import (
    AGENCY, HOSPITAL, MEMBER_A, MEMBER_B, PHARMACY, auth, list_directory, settings,
)
from fastapi.testclient import TestClient

from api import create_app
from api.limits import MAX_BODY


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(sqlite_url))) as client:
        client.headers.update(auth(AGENCY))
        list_directory(client)
        client.post("/v1/people", json={"person": "A", "region": "suizhou",
                                        "birth_date": "1980-01-01"}).raise_for_status()
        client.post("/v1/people", json={"person": "B", "region": "suizhou",
                                        "birth_date": "1982-01-01"}).raise_for_status()
        for person in "AB":
            client.post("/v1/contributions", json={"person": person, "month": "2023-01",
                                                   "base": "5000.00"}).raise_for_status()
        yield client


def log_head(client: TestClient) -> int:
    return client.app.state.services.ledger.recorder.max_notification_id()


def refused(client: TestClient, path: str, body: object, field: str | None,
            status: int = 422, code: str = "invalid_input") -> dict:
    before = log_head(client)
    response = client.post(path, content=json.dumps(body).encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["field"] == field, problem
    assert log_head(client) == before, "a refusal must write nothing"
    return problem


# -- amounts: strings of ASCII digits, exactly two decimals, ≤ 13 integer digits ------


@pytest.mark.parametrize("base", [
    100000000000000000000, 10**400, 5000, 5000.5, "5000", "5000.5", "５０００.００",
    "5000.00 ", "+5000.00", "-5000.00", "10000000000000.00", "5e3", None, True,
], ids=lambda v: repr(v)[:24])
def test_an_amount_that_is_not_a_two_decimal_string_is_refused(client: TestClient,
                                                               base: object) -> None:
    problem = refused(client, "/v1/contributions",
                      {"person": "A", "month": "2023-02", "base": base}, "base")
    assert problem["detail"].startswith("base: amount ")
    assert "base" in problem["detail_zh"] and "两位小数" in problem["detail_zh"]


def test_the_largest_amount_is_accepted(client: TestClient) -> None:
    response = client.post("/v1/contributions", json={
        "person": "A", "month": "2023-02", "base": "9999999999999.99"})
    assert response.status_code == 200
    # 2% of 9999999999999.99 = 199999999999.9998 → 199999999999.9998 rounds to …00.00
    assert response.json()["credited"] == "200000000000.00"


# -- dates and months: 1900–2199; log positions within the store's integers -----------


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/contributions", {"person": "A", "month": "0000-01", "base": "1.00"}, "month"),
    ("/v1/contributions", {"person": "A", "month": "9999-12", "base": "1.00"}, "month"),
    ("/v1/contributions", {"person": "A", "month": "1899-12", "base": "1.00"}, "month"),
    ("/v1/retirements", {"person": "A", "date": "0000-01-01"}, "date"),
    ("/v1/retirements", {"person": "A", "date": "9999-12-31"}, "date"),
    ("/v1/retirements", {"person": "A", "date": "2200-01-01"}, "date"),
    ("/v1/year-closings", {"year": 9999}, "year"),
])
def test_dates_outside_1900_to_2199_are_refused(client: TestClient, path: str, body: dict,
                                               field: str) -> None:
    problem = refused(client, path, body, field)
    assert field in problem["detail_zh"]


@pytest.mark.parametrize("query", [
    "/v1/people/A/events?before=99999999999999999999999",
    "/v1/people/A/events?before=0",
    "/v1/people/A?as_of=9999-12-31",
    "/v1/people/A?as_of=0000-01-01",
    "/v1/people/A/pooling?year=99999999999",
])
def test_query_values_out_of_range_are_422_not_500(client: TestClient, query: str) -> None:
    response = client.get(query)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"


# -- ids: a documented charset and length --------------------------------------------


@pytest.mark.parametrize("person", [
    "A\x00", "a/b", " A", "A B", "", "x" * 65, "A\n", "..", "A%2F", "Ａ",
], ids=repr)
def test_a_person_id_outside_the_charset_is_refused(client: TestClient, person: str) -> None:
    problem = refused(client, "/v1/people", {"person": person, "region": "suizhou",
                                             "birth_date": "1980-01-01"}, "person")
    assert "编号" in problem["detail_zh"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/settlements", {"person": "A", "id": "v/1", "date": "2023-06-01", "level": 1,
                         "in_scope": "10.00"}, "id"),
    ("/v1/spends", {"payer": "A", "purpose": "pharmacy", "amount": "1.00", "id": "s\x00",
                    "date": "2023-06-01"}, "id"),
    ("/v1/inheritances", {"person": "A", "date": "2023-06-01",
                          "heirs": [{"name": "H\u200b", "share": "1"}]}, "heirs"),
    ("/v1/reversals", {"id": "v1", "date": "2023-06-01", "reason": "a\x00b"}, "reason"),
])
def test_every_kind_of_id_is_checked(client: TestClient, path: str, body: dict,
                                     field: str) -> None:
    refused(client, path, body, field)


def test_ids_with_cjk_and_punctuation_are_accepted_and_read_back(client: TestClient) -> None:
    assert client.post("/v1/people", json={"person": "张三-01.x:y_z", "region": "suizhou",
                                           "birth_date": "1980-01-01"}).status_code == 200
    assert client.get("/v1/people/张三-01.x:y_z",
                      params={"consistency": "strong"}).json()["person"] == "张三-01.x:y_z"


# -- bodies: a documented size, flags unique ------------------------------------------


def test_a_body_over_the_limit_is_413_and_writes_nothing(client: TestClient) -> None:
    before = log_head(client)
    body = {"person": "A", "id": "big", "date": "2023-06-01", "level": 1,
            "in_scope": "10.00", "flags": ["not_designated"] * 700_000}
    response = client.post("/v1/settlements", json=body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert str(MAX_BODY) in response.json()["detail"]
    assert log_head(client) == before


def test_a_chunked_body_over_the_limit_is_413_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"person": "A", "id": "big", "date": "2023-06-01", "level": 1, '
        for _ in range(MAX_BODY // 1000 + 1):
            yield b'"x": "' + b"y" * 1000 + b'", '
        yield b'"in_scope": "10.00"}'

    response = client.post("/v1/settlements", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_repeated_flags_are_refused(client: TestClient) -> None:
    refused(client, "/v1/settlements", {
        "person": "A", "id": "v9", "date": "2023-06-01", "level": 1, "in_scope": "10.00",
        "flags": ["not_designated", "not_designated"]}, "flags")


# -- roles: nothing learnt that a GET would refuse ------------------------------------


def test_a_member_may_not_preview_a_visit_paid_by_another_account(client: TestClient) -> None:
    client.post("/v1/family-bindings", json={"owner": "B", "member": "A",
                                             "relation": "spouse", "date": "2023-01-01"})
    preview = {"person": "A", "id": "p1", "date": "2023-06-01", "level": 1,
               "in_scope": "9999999.00", "pay": {"family": "B"}}
    response = client.post("/v1/settlements/preview", json=preview, headers=auth(MEMBER_A))
    assert response.status_code == 403
    assert "100.00" not in response.text  # B's balance
    own = client.post("/v1/settlements/preview", json={**preview, "pay": "own"},
                      headers=auth(MEMBER_A))
    assert own.status_code == 200 and own.json()["own_paid"] == "100.00"
    # the agency may preview the family payment
    assert client.post("/v1/settlements/preview", json=preview).json()["family_paid"] == \
        "100.00"


def test_an_institution_cannot_replay_another_institutions_settlement(
        client: TestClient) -> None:
    visit = {"person": "A", "id": "h-v1", "date": "2023-06-01", "level": 1,
             "in_scope": "600.00"}
    first = client.post("/v1/settlements", json=visit, headers=auth(HOSPITAL))
    assert first.status_code == 200 and first.json()["own_balance_after"] is not None
    before = log_head(client)
    replay = client.post("/v1/settlements", json=visit, headers=auth(PHARMACY))
    assert replay.status_code == 409 and replay.json()["code"] == "duplicate_conflict"
    assert "own_balance_after" not in replay.text and "500.00" not in replay.text
    assert log_head(client) == before
    # its own retry still answers with the split
    again = client.post("/v1/settlements", json=visit, headers=auth(HOSPITAL))
    assert again.json() == first.json()


def test_someone_elses_settlement_and_a_missing_one_look_the_same(client: TestClient) -> None:
    client.post("/v1/settlements", json={"person": "A", "id": "a-v1", "date": "2023-06-01",
                                         "level": 1, "in_scope": "10.00"},
                headers=auth(HOSPITAL)).raise_for_status()
    others = client.get("/v1/settlements/a-v1", headers=auth(MEMBER_B))
    missing = client.get("/v1/settlements/a-v2", headers=auth(MEMBER_B))
    assert others.status_code == missing.status_code == 404
    strip = lambda p: {k: v for k, v in p.items() if k not in ("detail", "instance")}  # noqa: E731
    assert strip(others.json()) == strip(missing.json())
    assert others.json()["detail"].replace("a-v1", "ID") == \
        missing.json()["detail"].replace("a-v2", "ID")
    assert client.get("/v1/settlements/a-v1", headers=auth(MEMBER_A)).status_code == 200
