"""Views equal a full recompute, and the aggregates, after any interleaving of commands and
worker runs (random batch sizes, fresh workers as after a restart)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import PARAMETERS
from ledger import open_ledger
from ledger.commands import (
    BindFamilyMember,
    CloseYear,
    EnrollPerson,
    FamilyPay,
    RecordContribution,
    RecordRetirement,
    Reverse,
    SettleVisit,
    Spend,
    Transfer,
)
from policies.errors import ErrorCode, LedgerError
from projections import ViewReader, ViewWorker, open_views
from test_projections_views import recompute

PEOPLE = ("P0", "P1", "P2")
person = st.sampled_from(PEOPLE)
day = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2024, 12, 31)).map(str)
money = st.integers(1, 900).map(lambda yuan: f"{yuan}.00")
txn = st.sampled_from(["T0", "T1", "T2", "T3"])

# each command is made when run (a thunk): an invalid one (binding oneself) is refused then
commands = st.one_of(
    st.builds(lambda p, m, b: lambda: RecordContribution(person=p, month=f"2024-{m:02d}",
                                                         base=b),
              person, st.integers(1, 12), money),
    st.builds(lambda p, i, d, level, amount, payer: lambda: SettleVisit(
        person=p, id=i, date=d, level=level, in_scope=amount,
        pay=FamilyPay(family=payer, own_first=True) if payer not in (None, p) else "own"),
        person, txn, day, st.integers(1, 3), money, st.none() | person),
    st.builds(lambda o, m, d: lambda: BindFamilyMember(owner=o, member=m, relation="spouse",
                                                       date=d), person, person, day),
    st.builds(lambda payer, b, i, d: lambda: Spend(payer=payer, beneficiary=b,
                                                   purpose="pharmacy", amount="5.00", id=i,
                                                   date=d), person, person, txn, day),
    st.builds(lambda payer, backer, i, d, amount: lambda: Spend(
        payer=payer, shortfall_from=backer, purpose="pharmacy", amount=amount, id=i, date=d),
        person, person, txn, day, money),
    st.builds(lambda i, d: lambda: Reverse(id=i, date=d), txn, day),
    st.builds(lambda p, d: lambda: RecordRetirement(person=p, date=d), person, day),
    st.builds(lambda p: lambda: Transfer(person=p, to_region="nanchang", date="2024-06-01"),
              person),
    st.just(lambda: CloseYear(year=2024)),
)
# the only commands that cannot be made, and the only refusals the others may meet; any
# other code (policy_invalid, unknown_person, concurrency_conflict, …) is a bug
INVALID = ("an owner cannot bind themself", "name a family member, not the payer")
E = ErrorCode
REFUSALS: dict[type, set[ErrorCode]] = {
    RecordContribution: {E.DUPLICATE_CONFLICT, E.NOT_EMPLOYED, E.ACCOUNT_CLOSED},
    SettleVisit: {E.DUPLICATE_CONFLICT, E.NOT_BOUND, E.ACCOUNT_CLOSED},
    BindFamilyMember: {E.DUPLICATE_CONFLICT, E.ACCOUNT_CLOSED},
    Spend: {E.DUPLICATE_CONFLICT, E.INSUFFICIENT_BALANCE, E.NOT_BOUND, E.ACCOUNT_CLOSED},
    Reverse: {E.UNKNOWN_TRANSACTION, E.ALREADY_REVERSED, E.ACCOUNT_CLOSED},
    RecordRetirement: {E.NOT_EMPLOYED, E.DUPLICATE_CONFLICT, E.ACCOUNT_CLOSED},
    Transfer: {E.INVALID_INPUT, E.ACCOUNT_CLOSED},  # already in nanchang
    CloseYear: set(),
}
# a worker run: its batch size, and whether it is a fresh worker (a restart)
runs = st.tuples(st.integers(1, 8), st.booleans())
steps = st.lists(st.one_of(commands, runs), min_size=1, max_size=20)


@pytest.mark.parametrize("store", ["sql", pytest.param("redis", marks=pytest.mark.redis)])
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_views_equal_recompute_after_any_interleaving(store: str, plan: list,
                                                      request: pytest.FixtureRequest) -> None:
    redis_url = request.getfixturevalue("redis_url") if store == "redis" else None
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "p.db")
        ledger = open_ledger(url, PARAMETERS)
        views = open_views(url, redis_url)
        views.reset()
        try:
            for name in PEOPLE:
                ledger.enroll(EnrollPerson(person=name, region="suizhou",
                                           birth_date="1970-01-01"))
            worker = ViewWorker(ledger.recorder, ledger.mapper, views)
            for step in plan:
                if isinstance(step, tuple):
                    batch_size, restart = step
                    if restart:
                        worker = ViewWorker(ledger.recorder, ledger.mapper, views)
                    worker.batch_size = batch_size
                    worker.catch_up()
                    continue
                try:
                    command = step()
                except ValidationError as error:  # binding oneself, one's own shortfall
                    assert any(reason in str(error) for reason in INVALID), error
                    continue
                try:
                    _run(ledger, command)
                except LedgerError as error:  # a refusal writes nothing
                    assert error.code in REFUSALS[type(command)], (command, error.code)
            worker.catch_up()
            assert views.dump() == recompute(ledger)
            reader = ViewReader(views, ledger.book)
            for name in PEOPLE:
                assert reader.account(name) == ledger.account_view(name)
        finally:
            views.close()
            ledger.close()


def _run(ledger, command) -> object:
    method = {
        RecordContribution: ledger.credit_contribution, SettleVisit: ledger.settle_visit,
        BindFamilyMember: ledger.bind_family_member, Spend: ledger.spend,
        Reverse: ledger.reverse, RecordRetirement: ledger.retire, Transfer: ledger.transfer,
        CloseYear: ledger.close_year,
    }[type(command)]
    return method(command)


def test_an_interleaving_worked_by_hand(tmp_path: Path) -> None:
    """The property compares two runs of the same worker code; this pins what both must say.

    P0 (suizhou, employed): 100.00 credited (5000.00 × 2%); a level-1 visit of 600.00 in
    scope: deductible 500.00, fund (600.00 − 500.00) × 80% = 80.00, self pay 520.00 of
    which the account pays its 100.00 and cash 420.00; then 60.00 (3000.00 × 2%): 60.00 left.
    """
    url = str(tmp_path / "p.db")
    ledger = open_ledger(url, PARAMETERS)
    views = open_views(url, None)
    try:
        ledger.enroll(EnrollPerson(person="P0", region="suizhou", birth_date="1970-01-01"))
        worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=1)
        ledger.credit_contribution(RecordContribution(person="P0", month="2024-01",
                                                      base="5000.00"))
        worker.catch_up()
        ledger.settle_visit(SettleVisit(person="P0", id="T0", date="2024-02-01", level=1,
                                        in_scope="600.00"))
        worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=2)  # a restart
        worker.catch_up()
        ledger.credit_contribution(RecordContribution(person="P0", month="2024-02",
                                                      base="3000.00"))
        worker.catch_up()
        account = ViewReader(views, ledger.book).account("P0")
        pooling = account.pooling["suizhou/2024"]
        assert account.balance == 6000
        assert (pooling.in_scope, pooling.deductible_applied, pooling.fund_paid) == (
            60000, 50000, 8000)
        assert views.dump() == recompute(ledger)
    finally:
        views.close()
        ledger.close()
