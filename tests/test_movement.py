"""The one definition of balance movement (ledger/movement.py) against everything that
moves or reads a balance: the account aggregate, the read models' daily changes, the
audit's as-of figure and the interest spans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PARAMETERS

from conformance.inprocess import InProcessDriver
from conformance.runner import run
from conformance.scenario import load
from ledger import open_ledger
from ledger.account import Account
from ledger.movement import KINDS, MOVING, movement, region_spans
from projections import ViewReader, ViewWorker, open_views
from projections.audit import balance_as_of
from projections.monitoring.flows import INFLOWS, LINE_OF, OUTFLOWS

CASES = sorted(p for p in (Path(__file__).parent / "conformance_cases").glob("*.json")
               if not p.name.endswith(".expected.json"))


def test_every_event_kind_of_the_account_is_defined_once() -> None:
    kinds = {name for name, value in vars(Account).items() if isinstance(value, type)
             and issubclass(value, Account.Event) and name not in ("Event", "Created")}
    assert kinds == set(KINDS)
    assert set(MOVING) == {
        "ContributionCredited", "AllotmentCredited", "LumpSumCredited", "InterestCredited",
        "DebitRestored", "TransferredIn", "Debited", "TransferredOut", "EmigrationPaidOut",
        "InheritancePaidOut"}


def test_value_dates() -> None:
    def event(name: str, **fields: Any) -> Any:
        return type(name, (SimpleNamespace,), {})(amount=500, **fields)

    assert movement(event("ContributionCredited", month="2024-03")) == (dt.date(2024, 3, 1), 500)
    assert movement(event("InterestCredited", year=2024)) == (dt.date(2025, 1, 1), 500)
    assert movement(event("Debited", date=dt.date(2024, 5, 6))) == (dt.date(2024, 5, 6), -500)
    assert movement(event("VisitPooled", date=dt.date(2024, 5, 6))) is None
    stored = {"month": "2024-03", "year": 2024, "date": {"_type_": "date_iso",
                                                        "_data_": "2024-05-06"}}
    assert [KINDS[k].stored_day(stored) for k in (
        "AllotmentCredited", "InterestCredited", "TransferredIn")] == [
        "2024-03-01", "2025-01-01", "2024-05-06"]


def test_interest_spans_follow_transfers_and_end_with_death() -> None:
    def event(name: str, **fields: Any) -> Any:
        return type(name, (SimpleNamespace,), {})(**fields)

    d = dt.date
    history = [event("Enrolled", region="suizhou"),
               event("TransferredOut", date=d(2024, 4, 10), to_region="nanchang"),
               event("TransferredIn", date=d(2024, 4, 10), region="nanchang"),
               event("Died", date=d(2024, 9, 30))]
    assert region_spans(history, 2024) == {"suizhou": [(d(2024, 1, 1), d(2024, 4, 9))],
                                           "nanchang": [(d(2024, 4, 10), d(2024, 9, 30))]}
    assert region_spans(history, 2025) == {}


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Every conformance case run in process, with interest at every year end; each a
    (ledger, views) on its own store."""
    stores = []
    for path in CASES:
        scenario = load(path)
        url = str(tmp_path_factory.mktemp("movement") / "gongji.db")
        parameters = {**PARAMETERS, **scenario.policy_parameters}
        ledger = open_ledger(url, {region: {**parameters.get(region, {}), "interest_rate": "0.015"}
                                   for region in ("suizhou", "nanchang", "jilin", "yunnan",
                                                  "chongqing")})
        run(scenario, InProcessDriver(ledger), log=lambda line: None)
        views = open_views(url)
        ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
        stores.append((ledger, views))
    yield stores
    for ledger, views in stores:
        views.close()
        ledger.close()


def test_the_account_moves_its_balance_exactly_as_defined(histories: list[Any]) -> None:
    seen: set[str] = set()
    for ledger, _ in histories:
        for account_id in ledger.account_ids():
            account = None
            for event in ledger.events.get(account_id):
                before = 0 if account is None else account.balance
                account = event.mutate(account)
                move = movement(event)
                assert account.balance - before == (move[1] if move else 0), event
                seen.add(type(event).__name__)
    assert set(MOVING) <= seen  # the cases exercise every kind that moves money


def test_views_and_audit_date_each_movement_as_defined(histories: list[Any]) -> None:
    for ledger, views in histories:
        reader = ViewReader(views, ledger.book)
        for account_id in ledger.account_ids():
            events = list(ledger.events.get(account_id))
            person = events[0].person
            daily: dict[dt.date, int] = {}
            for event in events:
                if (move := movement(event)) is not None:
                    daily[move[0]] = daily.get(move[0], 0) + move[1]
            closing, running = {}, 0
            for day in sorted(daily):
                running += daily[day]
                closing[day] = running
            assert {b.day: b.closing for b in reader.daily_balances(person)} == closing, person
            for day, balance in closing.items():
                assert balance_as_of(ledger, person, day).balance == balance


def test_the_fund_statement_puts_each_movement_on_a_line_of_its_direction() -> None:
    assert {*LINE_OF, "Debited"} == set(MOVING)  # an account payment's line is by purpose
    assert LINE_OF["Debited"] is None
    for name, line in LINE_OF.items():
        if name != "Debited":
            assert line in (INFLOWS if MOVING[name].sign > 0 else OUTFLOWS), name
