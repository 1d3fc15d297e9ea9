"""The operation table (ledger/operations.py) is the one list of operations: the service's
dispatch, the API's write routes and the conformance drivers are all generated from it,
and an entry added to it appears in every one of them."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from api_support import AGENCY, AUDITOR, auth, settings
from fastapi.testclient import TestClient

from api import create_app
from api.keys import Role
from api.schemas import ANSWERS, NHSA_VISIT
from api.vocabulary import has_chinese
from api.writes import write_router
from conformance.http import ROUTES, routes
from conformance.steps import OPS, ops
from ledger import Ledger
from ledger import commands as c
from ledger import results as r
from ledger.ids import account_id, transaction_id
from ledger.operations import BY_COMMAND, OPERATIONS, Loads, Operation
from ledger.prefetch import Fetched
from ledger.reviews import AlertReviewRequest, review_key
from policies.errors import LedgerError

# the step kinds of FORMAT.md's table, written out here as the independent record
FORMAT_STEPS = {"contribution", "lump_sum", "allotment", "retire", "visit", "bind", "unbind",
                "spend", "reverse", "transfer", "emigrate", "death", "inheritance",
                "close_year"}
PROBE = Operation(
    "close_year", c.CloseYear, r.YearClosed, "/v1/probe-closings", ("auditor",), "year end",
    "Probe a year's close (测试)", "An entry that exists only in this test.", {"year": 2023},
    Loads(every_account=True), op="probe_close", fields=("closed", "interest"),
    name="probe_close")


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_every_command_has_exactly_one_operation_that_runs_it() -> None:
    commands = {cls for cls in _subclasses(c.Command) if cls.__module__.startswith("ledger.")
                and not cls.__module__.startswith("ledger.jobs.")}  # rows of the jobs' files
    assert set(BY_COMMAND) == commands - {
        c.ImportPerson,  # the register's rows are enrollments
        AlertReviewRequest}  # the body of a review: the command adds the key's role
    assert len([op for op in OPERATIONS if op.writes]) == len(BY_COMMAND)
    for op in OPERATIONS:
        command = list(inspect.signature(getattr(Ledger, op.method)).parameters.values())[1]
        assert command.annotation in (op.command, op.command.__name__), op


def test_routes_steps_and_dispatch_are_the_tables(tmp_path: Path) -> None:
    assert set(OPS) == set(ROUTES) == {op.op for op in OPERATIONS if op.op} == FORMAT_STEPS
    assert {name: spec.command for name, spec in OPS.items()} == {
        op.op: op.command for op in OPERATIONS if op.op}
    assert ROUTES == {op.op: (op.path, op.fields) for op in OPERATIONS if op.op}
    app = create_app(settings(str(tmp_path / "g.db")))
    try:
        document = app.openapi()
    finally:
        app.state.services.close()
    table_paths = {op.path for op in OPERATIONS}
    posted = {path for path, operations in document["paths"].items() if "post" in operations}
    assert posted - table_paths == {"/v1/audit/verify", "/v1/what-if",  # no ledger command
                                    "/fsi/api/rsfComIfsService/callService"}  # the gateway
    for op in OPERATIONS:
        operation = document["paths"][op.path][op.verb.lower()]
        assert operation["operationId"].startswith(op.operation_name + "_v1_")
        assert (operation["summary"], operation["description"]) == (op.summary, op.description)
        assert operation["tags"] == [op.tag]
        assert ("Idempotency-Key" in {p["name"] for p in operation.get("parameters", [])}) \
            == op.writes
        assert ("format" in {p["name"] for p in operation.get("parameters", [])}) == op.nhsa


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.path for op in OPERATIONS])
def test_each_entry_is_complete(op: Operation) -> None:
    c.parse(op.body or op.command, op.example, op.path)  # the example is a valid request
    assert has_chinese(op.summary) and has_chinese(op.description)
    assert set(op.roles) <= set(get_args(Role)) and op.roles
    answer = ANSWERS[op.result]
    assert set(op.fields) <= set(answer.model.model_fields)
    if op.nhsa:
        assert op.result is r.VisitResult and NHSA_VISIT.model is not answer.model
    named = {*op.loads.accounts, *op.loads.transactions}
    assert {name.split(".")[0] for name in named} <= set(op.command.model_fields)
    if op.member is not None:
        assert op.member in op.command.model_fields and "member" in op.roles
    if op.institution:
        assert "institution" in op.command.model_fields and "institution" in op.roles


def test_loads_name_the_accounts_and_transactions_of_a_command() -> None:
    visit = BY_COMMAND[c.SettleVisit].loads
    paid_by_b = c.parse(c.SettleVisit, {"person": "A", "id": "V1", "date": "2024-01-02",
                                        "level": 1, "in_scope": "1.00", "pay": {"family": "B"}})
    assert visit.people(paid_by_b) == ["A", "B"] and visit.transaction_ids(paid_by_b) == ["V1"]
    own = paid_by_b.model_copy(update={"pay": "own"})
    assert visit.people(own) == ["A"]
    spend = c.parse(c.Spend, {"payer": "A", "beneficiary": "A", "purpose": "pharmacy",
                              "amount": "1.00", "id": "S1", "date": "2024-01-02"})
    assert BY_COMMAND[c.Spend].loads.people(spend) == ["A"]  # once, not per field



# the year end loads every account; a review loads its own record by review id
PREFETCHING = [op for op in OPERATIONS if not op.loads.every_account]


@pytest.mark.parametrize("op", PREFETCHING, ids=[op.path for op in PREFETCHING])
def test_the_write_loop_prefetches_what_the_table_says(op: Operation, memory_ledger: Ledger,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's first prefetch is the accounts and transactions its entry names (a
    reversal then asks for the accounts its transaction debited)."""
    asked: list[set[Any]] = []
    fetch = memory_ledger.fetch

    def recorded(needs: Any) -> Any:
        asked.append((needs(Fetched()) if callable(needs) else needs).aggregate_ids())
        return fetch(needs)

    monkeypatch.setattr(memory_ledger, "fetch", recorded)
    command = c.parse(op.command, op.example)
    with contextlib.suppress(LedgerError):  # on an empty ledger: unknown_person, mostly
        getattr(memory_ledger, op.method)(command)
    assert asked[0] == {*map(account_id, op.loads.people(command)),
                        *map(transaction_id, op.loads.transaction_ids(command)),
                        *map(review_key, op.loads.review_ids(command))}


# -- a new entry appears everywhere -----------------------------------------------------


@pytest.fixture
def probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with the probe's route added, and the service dispatching its command."""

    class ProbeYear(c.CloseYear):
        """A command type of the test's own."""

    monkeypatch.setitem(BY_COMMAND, ProbeYear, PROBE)
    app = create_app(settings(str(tmp_path / "g.db")))
    app.include_router(write_router([PROBE]))
    app.state.probe = ProbeYear
    with TestClient(app) as client:
        yield client


def test_a_new_entry_is_a_route_a_step_and_a_dispatch(probed: TestClient) -> None:
    answer = probed.post("/v1/probe-closings", json={"year": 2023}, headers=auth(AUDITOR))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"closed": 0, "accounts": 0, "interest": "0.00"}
    refused = probed.post("/v1/probe-closings", json={"year": 2023}, headers=auth(AGENCY))
    assert refused.status_code == 403  # only the roles of the entry
    operation = probed.get("/openapi.json", headers=auth(AGENCY)).json()[
        "paths"]["/v1/probe-closings"]["post"]
    assert operation["operationId"] == "probe_close_v1_probe_closings_post"
    assert operation["summary"] == "Probe a year's close (测试)"
    assert operation["requestBody"]["content"]["application/json"]["example"] == {"year": 2023}

    step = ops([PROBE])["probe_close"]
    command = c.parse(step.command, {"year": 2023})
    ledger: Any = probed.app.state.services.ledger
    assert step.result(command, ledger.execute(command)) == {"closed": 0, "interest": "0.00"}
    assert routes([PROBE]) == {"probe_close": ("/v1/probe-closings", ("closed", "interest"))}
    assert ledger.execute(probed.app.state.probe(year=2023)) == r.YearClosed(closed=0)
