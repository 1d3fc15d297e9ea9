"""The write lane (:class:`api.hot.HotWrites`) answers exactly as the routes do.

The same requests go to two apps on two fresh stores, one with the lane and one without:
each answer (status, headers, body) is the same, and the lane answered the plain cases
itself and passed every other one on to the route (a bad body, a query string, another
content type, a repeated or malformed Idempotency-Key, an unknown key, a role the
operation does not admit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_support import AGENCY, AUDITOR, HOSPITAL, MEMBER_A, auth, list_directory, settings
from fastapi.testclient import TestClient

from api import hot
from api.app import create_app
from api.hot import HotWrites

JSON = {"Content-Type": "application/json"}
VOLATILE = {"x-request-id", "date"}

#: (name, path, body as bytes or JSON, headers, does the lane answer it itself?)
REQUESTS: list[tuple[str, str, Any, dict[str, str], bool]] = [
    ("enroll", "/v1/people", {"person": "A", "region": "suizhou",
                              "birth_date": "1970-01-01"}, auth(AGENCY), True),
    ("enroll B", "/v1/people", {"person": "B", "region": "suizhou",
                                "birth_date": "1980-01-01"}, auth(AGENCY), True),
    ("credit", "/v1/contributions", {"person": "A", "month": "2024-01", "base": "5000.00"},
     auth(AGENCY), True),
    ("settle", "/v1/settlements", {"person": "A", "id": "V1", "date": "2024-06-01",
                                   "level": 1, "in_scope": "80.00", "out_of_scope": "5.00"},
     {**auth(AGENCY), "Idempotency-Key": "k-1"}, True),
    ("replayed", "/v1/settlements", {"person": "A", "id": "V1", "date": "2024-06-01",
                                     "level": 1, "in_scope": "80.00", "out_of_scope": "5.00"},
     {**auth(AGENCY), "Idempotency-Key": "k-1"}, True),
    ("same key, other body", "/v1/settlements", {"person": "A", "id": "V9",
                                                 "date": "2024-06-01", "level": 1,
                                                 "in_scope": "1.00"},
     {**auth(AGENCY), "Idempotency-Key": "k-1"}, True),
    ("institution", "/v1/settlements", {"person": "B", "id": "V2", "date": "2024-06-01",
                                        "level": 2, "in_scope": "0.00",
                                        "out_of_scope": "3.00"},
     auth(HOSPITAL), True),
    ("unknown person", "/v1/settlements", {"person": "NOBODY", "id": "V3",
                                           "date": "2024-06-01", "level": 1,
                                           "in_scope": "1.00"}, auth(AGENCY), True),
    ("too little", "/v1/spends", {"payer": "B", "purpose": "pharmacy", "amount": "99999.00",
                                  "id": "S1", "date": "2024-06-03"}, auth(AGENCY), True),
    ("member for another", "/v1/family-bindings", {"owner": "B", "member": "A",
                                                   "relation": "child",
                                                   "date": "2024-05-01"},
     auth(MEMBER_A), True),
    ("member role not admitted", "/v1/spends", {"payer": "A", "purpose": "pharmacy",
                                                "amount": "1.00", "id": "S2",
                                                "date": "2024-06-03"}, auth(MEMBER_A), False),
    ("reverse", "/v1/reversals", {"id": "V1", "date": "2024-06-02"}, auth(AGENCY), True),
    ("bad amount", "/v1/contributions", {"person": "A", "month": "2024-02", "base": "5000"},
     auth(AGENCY), False),
    ("not JSON", "/v1/contributions", b"{person", auth(AGENCY), False),
    ("nested deep", "/v1/contributions", b"[" * 5000 + b"]" * 5000, auth(AGENCY), False),
    ("query string", "/v1/settlements?format=nhsa", {"person": "A", "id": "V4",
                                                     "date": "2024-06-01", "level": 1,
                                                     "in_scope": "2.00"},
     auth(AGENCY), False),
    ("bad idempotency key", "/v1/contributions", {"person": "A", "month": "2024-03",
                                                  "base": "5000.00"},
     {**auth(AGENCY), "Idempotency-Key": "has space"}, False),
    ("auditor may not", "/v1/contributions", {"person": "A", "month": "2024-03",
                                              "base": "5000.00"}, auth(AUDITOR), False),
    ("unknown key", "/v1/contributions", {"person": "A", "month": "2024-03",
                                          "base": "5000.00"},
     auth("no-such-key-000000001"), False),
    ("no key", "/v1/contributions", {"person": "A", "month": "2024-03", "base": "5000.00"},
     {}, False),
]


@pytest.fixture
def apps(tmp_path: Any) -> Iterator[tuple[TestClient, TestClient]]:
    lane = create_app(settings(str(tmp_path / "lane.db")))
    routes = create_app(settings(str(tmp_path / "routes.db")))
    routes.user_middleware = [m for m in routes.user_middleware if m.cls is not HotWrites]
    assert any(m.cls is HotWrites for m in lane.user_middleware)
    with TestClient(lane) as with_lane, TestClient(routes) as without:
        list_directory(with_lane)
        list_directory(without)
        yield with_lane, without


def _send(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    data = body if isinstance(body, bytes) else None
    response = client.post(path, content=data, json=None if data else body,
                           headers={**JSON, **headers})
    kept = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, kept, response.content


def test_the_lane_answers_as_the_routes_do(apps, monkeypatch: pytest.MonkeyPatch) -> None:
    with_lane, without = apps
    answered: list[bool] = []
    admitted = hot.HotWrites._admitted

    def spy(scope: Any, op: Any, data: bytes) -> Any:
        found = admitted(scope, op, data)
        answered.append(found is not None)
        return found

    monkeypatch.setattr(hot.HotWrites, "_admitted", staticmethod(spy))
    statuses = set()
    for name, path, body, headers, plain in REQUESTS:
        answered.clear()
        got = _send(with_lane, path, body, headers)
        assert got == _send(without, path, body, headers), name
        assert answered == [plain] or (not plain and answered in ([], [False])), name
        statuses.add(got[0])
    # the script reaches successes, replays and each kind of refusal
    assert {200, 401, 403, 404, 409, 422} <= statuses, statuses


def test_other_content_types_and_repeated_keys_go_to_the_route(apps) -> None:
    with_lane, without = apps
    body = b'{"person": "A", "region": "suizhou", "birth_date": "1970-01-01"}'
    for headers in ({"Content-Type": "text/plain"},
                    {"Content-Type": "application/json; charset=utf-8"}):
        for client in (with_lane, without):
            client.headers.clear()
        got = with_lane.post("/v1/people", content=body, headers={**auth(AGENCY), **headers})
        expected = without.post("/v1/people", content=body,
                                headers={**auth(AGENCY), **headers})
        assert (got.status_code, got.content) == (expected.status_code, expected.content)
    repeated = [("Authorization", f"Bearer {AGENCY}"), ("Content-Type", "application/json"),
                ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    body = b'{"person": "A", "month": "2024-01", "base": "5000.00"}'
    got = with_lane.post("/v1/contributions", content=body, headers=repeated)
    expected = without.post("/v1/contributions", content=body, headers=repeated)
    assert (got.status_code, got.content) == (expected.status_code, expected.content)


def test_a_body_cut_short_reaches_the_route_whole() -> None:
    """The lane reads a body before it decides; when the client goes away half way, the
    route gets every message the lane read, in order, then what follows."""
    import asyncio

    seen: list[dict[str, Any]] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    incoming = [{"type": "http.request", "body": b'{"person": ', "more_body": True},
                {"type": "http.disconnect"}]
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/v1/people", "query_string": b"",
             "headers": []}
    asyncio.run(HotWrites(route)(scope, receive, None))
    assert seen == incoming
