"""Views equal a full recompute, and the aggregates, after any interleaving of commands and
worker runs (random batch sizes, fresh workers as after a restart)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from policies.errors import LedgerError
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
                    _run(ledger, step())
                except (LedgerError, ValueError):
                    pass  # a refused or invalid command writes nothing
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
