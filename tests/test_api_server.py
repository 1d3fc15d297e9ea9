"""A real ``gongji serve``: conformance over HTTP, concurrency, idempotency across restarts.

Every conformance case runs through ``gongji conformance run FILE --api URL`` against a
server started on an empty store with the case's policy parameters, and must print the
expected document, byte for byte the same as the in-process run.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from api_support import AGENCY, GONGJI, auth, running_server
from conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
CASE_DIRS = [SHARED / "conformance" / "cases", ROOT / "tests" / "conformance_cases",
             ROOT / "conformance" / "cases"]
CASES = sorted({case.name: case for folder in CASE_DIRS if folder.is_dir()
                for case in folder.glob("*.json")
                if not case.name.endswith(".expected.json")}.values())


def conformance_run(case: Path, *api: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GONGJI, "conformance", "run", str(case), *api],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_conformance_over_http_equals_expected_and_in_process(case: Path, database_url: str):
    parameters = json.loads(case.read_text()).get("policy_parameters") or {}
    with running_server(database_url, parameters) as url:
        over_http = conformance_run(case, "--api", url, "--api-key", AGENCY)
    assert over_http.returncode == 0, over_http.stderr
    expected = json.loads(case.with_name(case.stem + ".expected.json").read_text())
    assert json.loads(over_http.stdout) == expected
    in_process = conformance_run(case)
    assert over_http.stdout == in_process.stdout


def test_runner_exits_2_when_the_server_has_other_parameters(sqlite_url: str):
    case = CASES[0]  # any scenario: its parameters are not the server's
    with running_server(sqlite_url, {"nanchang": {"average_pension": "1.00"}}) as url:
        done = conformance_run(case, "--api", url, "--api-key", AGENCY)
    assert done.returncode == 2
    assert "policy parameters" in done.stderr and "GONGJI_POLICY_PARAMETERS" in done.stderr
    assert done.stdout == ""


# -- concurrency -----------------------------------------------------------------------

THREADS, ROUNDS = 8, 4


def _enroll_with_balance(client: httpx.Client) -> int:
    """A (suizhou, employed) with 12 months credited; the balance in fen."""
    assert client.post("/v1/people", json={"person": "A", "region": "suizhou",
                                           "birth_date": "1980-01-01"}).status_code == 200
    credited = 0
    for month in range(1, 13):
        response = client.post("/v1/contributions", json={
            "person": "A", "month": f"2023-{month:02d}", "base": "5000.00"})
        credited += int(response.json()["credited"].replace(".", ""))
    return credited


def _fen(text: str) -> int:
    return int(text.replace(".", ""))


@pytest.mark.slow
def test_concurrent_spends_and_visits_never_overdraw_nor_exceed_the_cap(database_url: str):
    with running_server(database_url, workers=2) as url:
        with httpx.Client(base_url=url, headers=auth(AGENCY), timeout=60) as client:
            credited = _enroll_with_balance(client)  # 12 × 100.00
        outcomes: list[tuple[str, int, dict]] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            with httpx.Client(base_url=url, headers=auth(AGENCY), timeout=60) as client:
                for i in range(ROUNDS):
                    spend = client.post("/v1/spends", json={
                        "payer": "A", "purpose": "pharmacy", "amount": "70.00",
                        "id": f"s-{n}-{i}", "date": "2023-12-20"})
                    visit = client.post("/v1/settlements", json={
                        "person": "A", "id": f"v-{n}-{i}", "date": "2023-12-20", "level": 1,
                        "in_scope": "400.00", "out_of_scope": "10.00"})
                    with lock:
                        outcomes.append(("spend", spend.status_code, spend.json()))
                        outcomes.append(("visit", visit.status_code, visit.json()))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with httpx.Client(base_url=url, headers=auth(AGENCY), timeout=60) as client:
            account = client.get("/v1/people/A").json()
            pooling = client.get("/v1/people/A/pooling").json()["years"]

    refused = [body["code"] for kind, status, body in outcomes if status != 200]
    assert set(refused) <= {"insufficient_balance"}, refused
    spends = [body for kind, status, body in outcomes if kind == "spend" and status == 200]
    visits = [body for kind, status, body in outcomes if kind == "visit" and status == 200]
    assert len(visits) == THREADS * ROUNDS  # a visit always settles; cash covers the rest
    taken = sum(_fen(s["paid"]) for s in spends) + sum(_fen(v["account_paid"]) for v in visits)
    balance = _fen(account["balance"])
    assert balance >= 0
    assert credited == taken + balance  # money conserved to the fen
    for visit in visits:
        assert _fen(visit["fund_paid"]) + _fen(visit["self_pay"]) == _fen(visit["medical_total"])
        assert _fen(visit["self_pay"]) == _fen(visit["account_paid"]) + _fen(visit["cash_paid"])
    (year,) = pooling
    fund_paid = sum(_fen(v["fund_paid"]) for v in visits)
    assert _fen(year["fund_paid"]) == fund_paid <= _fen(year["cap"]) == 130000
    assert fund_paid == 130000  # 32 visits × 400.00 in scope are far beyond the cap
    assert _fen(year["deductible_applied"]) == 50000


@pytest.mark.slow
def test_one_idempotency_key_runs_once_across_workers_and_restarts(database_url: str,
                                                                   tmp_path: Path):
    """Emigration has no domain id: only the Idempotency-Key stops it running twice."""
    body = {"person": "E", "date": "2024-03-01"}
    headers = {**auth(AGENCY), "Idempotency-Key": "emigrate-E-1"}
    with running_server(database_url, workers=2) as url:
        with httpx.Client(base_url=url, headers=auth(AGENCY)) as client:
            client.post("/v1/people", json={"person": "E", "region": "suizhou",
                                            "birth_date": "1970-05-05"})
            client.post("/v1/contributions", json={"person": "E", "month": "2024-01",
                                                   "base": "6000.00"})
        answers: list[httpx.Response] = []

        def send() -> None:
            answers.append(httpx.post(f"{url}/v1/emigrations", json=body, headers=headers,
                                      timeout=60))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ok = [a for a in answers if a.status_code == 200]
    assert ok and all(a.json() == {"paid_out": "120.00"} for a in ok)
    assert {a.json()["code"] for a in answers if a.status_code != 200} <= {
        "concurrency_conflict"}
    with running_server(database_url) as url:  # a restart keeps the key
        again = httpx.post(f"{url}/v1/emigrations", json=body, headers=headers)
        other = httpx.post(f"{url}/v1/emigrations", json={**body, "date": "2024-03-02"},
                           headers=headers)
    assert again.status_code == 200 and again.json() == {"paid_out": "120.00"}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["code"] == "duplicate_conflict"
