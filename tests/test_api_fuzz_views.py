"""Nothing the API accepts may stop the read models (issue 8): generated requests, valid
and hostile (control characters, other scripts, huge numbers, wrong types), go through the
HTTP layer; afterwards the projection worker must reach the head of the log and its views
must equal a full recompute from the events. On SQLite and on PostgreSQL (where a NUL in
an id once stopped the worker for good)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import AGENCY, auth, settings
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api import create_app
from projections import ViewWorker
from test_projections_views import recompute

PEOPLE = ["A", "B", "张三", "x" * 64]
hostile_text = st.text(max_size=70)
ids = st.one_of(st.sampled_from(PEOPLE), st.sampled_from(["A\x00", "a/b", "Ａ", ""]),
                hostile_text)
amounts = st.one_of(
    st.sampled_from(["0.00", "1.00", "100.00", "5000.00", "9999999999999.99"]),
    st.sampled_from(["5000", "5000.5", "１２.００", "-1.00", "10000000000000.00"]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), hostile_text)
dates = st.one_of(st.sampled_from(["2024-03-01", "2024-12-31", "1900-01-01", "2199-12-31",
                                   "0000-01-01", "9999-12-31", "2024-02-30"]), hostile_text)
months = st.one_of(st.sampled_from(["2024-01", "2024-02", "0000-01", "9999-12", "2024-13"]),
                   hostile_text)
regions = st.one_of(st.sampled_from(["suizhou", "nanchang", "yunnan", "atlantis"]),
                    hostile_text)
flags = st.lists(st.one_of(st.sampled_from(["not_designated", "inpatient_stay"]),
                           hostile_text), max_size=3)

requests = st.one_of(
    st.tuples(st.just("/v1/people"), st.fixed_dictionaries({
        "person": ids, "region": regions, "birth_date": dates})),
    st.tuples(st.just("/v1/contributions"), st.fixed_dictionaries({
        "person": ids, "month": months, "base": amounts})),
    st.tuples(st.just("/v1/settlements"), st.fixed_dictionaries({
        "person": ids, "id": ids, "date": dates, "level": st.sampled_from([1, 2, 3, 0, "1"]),
        "in_scope": amounts, "flags": flags})),
    st.tuples(st.just("/v1/spends"), st.fixed_dictionaries({
        "payer": ids, "purpose": st.sampled_from(["pharmacy", "medical", "fitness", "x"]),
        "amount": amounts, "id": ids, "date": dates})),
    st.tuples(st.just("/v1/family-bindings"), st.fixed_dictionaries({
        "owner": ids, "member": ids, "relation": st.sampled_from(["child", "spouse", "cat"]),
        "date": dates})),
    st.tuples(st.just("/v1/reversals"), st.fixed_dictionaries({
        "id": ids, "date": dates, "reason": st.one_of(st.just("refund"), hostile_text)})),
    st.tuples(st.just("/v1/inheritances"), st.fixed_dictionaries({
        "person": ids, "date": dates,
        "heirs": st.lists(st.fixed_dictionaries({"name": ids, "share": st.sampled_from(
            ["1", "1/2", "0.5", "1/0", "2"])}), max_size=3)})),
    st.tuples(st.just("/v1/deaths"), st.fixed_dictionaries({"person": ids, "date": dates})),
)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(database_url))) as client:
        client.headers.update(auth(AGENCY))
        for person in PEOPLE:
            client.post("/v1/people", json={"person": person, "region": "suizhou",
                                            "birth_date": "1970-01-01"}).raise_for_status()
            client.post("/v1/contributions", json={"person": person, "month": "2024-01",
                                                   "base": "9000.00"}).raise_for_status()
        yield client


@hypothesis_settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
@given(batch=st.lists(requests, min_size=1, max_size=8))
def test_no_accepted_request_stops_the_views(client: TestClient, batch: list) -> None:
    for path, body in batch:
        response = client.post(path, json=body)
        assert response.status_code < 500, (path, body, response.text)
    ledger, views = client.app.state.services.ledger, client.app.state.services.views
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    assert views.position() == ledger.recorder.max_notification_id()
    assert views.dump() == recompute(ledger)
