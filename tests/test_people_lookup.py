"""``GET /v1/people?prefix=…&region=…``: find people without the exact id, page by page.

Today there is no such route (405). On every view store (SQL on SQLite and PostgreSQL,
Redis): prefix and region filters, code-point order, a cursor through the pages, agency
and auditor only, and refusals for an unknown region or a cursor the API did not give.
"""

from __future__ import annotations

import pytest
from api_support import AGENCY, AUDITOR, HOSPITAL, MEMBER_A, auth, settings
from fastapi.testclient import TestClient

from api import create_app
from conftest import PARAMETERS
from ledger import open_ledger
from ledger.commands import EnrollPerson, Transfer
from projections import ViewWorker, open_views
from projections.stores.memory import MemoryViews

PEOPLE = [("4201-001", "suizhou"), ("4201-002", "suizhou"), ("4201-010", "nanchang"),
          ("4201-1", "suizhou"), ("4202-001", "suizhou"), ("A", "suizhou"),
          ("4201-003", "suizhou")]


def _store(url: str) -> None:
    ledger = open_ledger(url, PARAMETERS)
    for person, region in PEOPLE:
        ledger.enroll(EnrollPerson(person=person, region=region, birth_date="1980-01-01"))
    ledger.transfer(Transfer(person="4201-003", to_region="nanchang", date="2024-02-01"))
    ledger.close()


def _views(url: str, redis_url: str | None) -> None:
    ledger, views = open_ledger(url, PARAMETERS), open_views(url, redis_url)
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    views.close()
    ledger.close()


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.redis)])
def client(request: pytest.FixtureRequest, database_url: str):
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    _store(database_url)
    _views(database_url, redis_url)
    with TestClient(create_app(settings(database_url, PARAMETERS, redis_url))) as client:
        yield client


def _ids(body: dict) -> list[str]:
    return [p["person"] for p in body["people"]]


def test_prefix_region_and_pages(client: TestClient):
    agency = auth(AGENCY)
    every = client.get("/v1/people?prefix=4201", headers=agency).json()
    assert _ids(every) == ["4201-001", "4201-002", "4201-003", "4201-010", "4201-1"]
    assert every["next_cursor"] is None and every["source"] == "views"
    assert every["people"][2] == {"person": "4201-003", "region": "nanchang",
                                  "scheme": "standard", "has_account": True,
                                  "status": "active"}  # its region after the transfer
    in_suizhou = client.get("/v1/people?prefix=4201-0&region=suizhou", headers=agency).json()
    assert _ids(in_suizhou) == ["4201-001", "4201-002"]
    pages, cursor = [], None
    while True:
        query = "/v1/people?prefix=4201&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=auth(AUDITOR)).json()
        pages.append(_ids(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["4201-001", "4201-002"], ["4201-003", "4201-010"], ["4201-1"]]
    assert _ids(client.get("/v1/people?prefix=", headers=agency).json())[-1] == "A"
    assert client.get("/v1/people?prefix=9", headers=agency).json()["people"] == []


def test_who_may_look_people_up_and_what_is_refused(client: TestClient):
    for key in (HOSPITAL, MEMBER_A):
        assert client.get("/v1/people?prefix=4", headers=auth(key)).status_code == 403
    assert client.get("/v1/people?prefix=4").status_code == 401
    atlantis = client.get("/v1/people?region=atlantis", headers=auth(AGENCY))
    assert atlantis.status_code == 422 and atlantis.json()["field"] == "region"
    assert "suizhou" in atlantis.json()["detail"]
    cursor = client.get("/v1/people?cursor=%%%", headers=auth(AGENCY))
    assert cursor.status_code == 422 and cursor.json()["field"] == "cursor"
    assert client.get("/v1/people?limit=0", headers=auth(AGENCY)).status_code == 422


def test_the_memory_store_answers_the_same(tmp_path):
    url = str(tmp_path / "g.db")
    _store(url)
    ledger, views = open_ledger(url, PARAMETERS), MemoryViews()
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    sql = open_views(url)
    ViewWorker(ledger.recorder, ledger.mapper, sql).catch_up()
    for prefix, region, after in (("4201", None, None), ("4201-0", "suizhou", "4201-001"),
                                  ("", "nanchang", None)):
        assert views.people(prefix, region, after, 3) == sql.people(prefix, region, after, 3)
    sql.close()
    ledger.close()
