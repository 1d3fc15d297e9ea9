"""The fund statement ties out month by month in both regions of a transfer (#15).

Six people in Yunnan and Nanchang, six months of contributions, visits and spends; four
transfers: at a month's end, in mid-month, one back again, and one the other way. Each
region's month, on every view store, must tie out to the fen against Σ balances of the
accounts that were in that region on the month's last day, and its lines must equal the
domain events attributed to the region the account was in when the money moved.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import StoredEvent
from test_projections_views import database_of

from ledger import Ledger
from ledger.account import Account
from ledger.commands import EnrollPerson, RecordContribution, SettleVisit, Spend, Transfer
from ledger.movement import movement, region_on, region_spans
from projections import ViewReader, ViewWorker, open_views
from projections.audit import balance_as_of
from projections.monitoring.statement import statements, tie_out
from projections.stores.base import ViewStore
from projections.stores.memory import MemoryViews

YEAR, REGIONS = 2025, ("yunnan", "nanchang")
PEOPLE = {"TY1": "yunnan", "TY2": "yunnan", "TY3": "yunnan",
          "TN1": "nanchang", "TN2": "nanchang", "TN3": "nanchang"}
TRANSFERS = {  # month -> (person, to region, day)
    2: [("TN1", "yunnan", 10)],
    3: [("TY1", "nanchang", 31)],  # on the month's last day: that day is the destination's
    4: [("TY2", "nanchang", 15)],  # mid-month, with movements before and after it
    5: [("TY2", "yunnan", 20)],  # and back again
}


def run_half_year(ledger: Ledger) -> None:
    for person, region in PEOPLE.items():
        ledger.enroll(EnrollPerson(person=person, region=region, birth_date="1980-05-05"))
    for month in range(1, 7):
        ym = f"{YEAR}-{month:02d}"
        for n, person in enumerate(PEOPLE):
            ledger.credit_contribution(RecordContribution(
                person=person, month=ym, base=f"{6000 + 1000 * n}.00"))
        for n, person in enumerate(PEOPLE):
            ledger.settle_visit(SettleVisit(person=person, id=f"TV{month}{n}",
                                            date=f"{ym}-{3 + n:02d}", level=1 + n % 3,
                                            in_scope="83.47", out_of_scope="5.01"))
        for person, to_region, day in TRANSFERS.get(month, []):
            ledger.transfer(Transfer(person=person, to_region=to_region, date=f"{ym}-{day:02d}"))
        last = calendar.monthrange(YEAR, month)[1]
        for n, person in enumerate(PEOPLE):  # after the transfers of the month
            ledger.spend(Spend(payer=person, id=f"TS{month}{n}", date=f"{ym}-{last}",
                               amount=f"{12 + n}.34", purpose="pharmacy"))


def events_by_account(ledger: Ledger) -> dict[str, list]:
    accounts: dict[str, list] = defaultdict(list)
    for n in ledger.recorder.select_notifications(None, 10**9):
        event = ledger.mapper.to_domain_event(
            StoredEvent(n.originator_id, n.originator_version, n.topic, n.state))
        if isinstance(event, Account.Event):
            accounts[str(n.originator_id)].append(event)
    return accounts


@pytest.fixture(params=["sql", "memory", pytest.param("redis", marks=pytest.mark.redis)])
def views(request: pytest.FixtureRequest, ledger: Ledger) -> Iterator[ViewStore]:
    """SQL views beside the ledger (SQLite and PostgreSQL), Redis, or memory (the store's
    generic path of the tie-out)."""
    if request.param == "memory":
        store: ViewStore = MemoryViews()
    else:
        redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
        store = open_views(database_of(ledger), redis_url)
    yield store
    store.close()


def test_every_month_of_both_regions_ties_out_across_transfers(ledger: Ledger,
                                                               views: ViewStore) -> None:
    run_half_year(ledger)
    ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=13).catch_up()
    reader = ViewReader(views, ledger.book)
    accounts = events_by_account(ledger)
    # the lines from the domain events: each movement in the region the account is in
    # when it moves (the out of a transfer in its source, the in in its destination)
    net: dict[tuple[str, int], int] = defaultdict(int)
    moved: dict[tuple[str, int, str], int] = defaultdict(int)
    for events in accounts.values():
        region = None
        for event in events:
            if isinstance(event, (Account.Enrolled, Account.TransferredIn)):
                region = event.region
            found = movement(event)
            if found is not None:
                day, amount = found
                net[(region, day.month)] += amount
                moved[(region, day.month, type(event).__name__)] += event.amount
    transfers = 0
    for region in REGIONS:
        found = statements(views, region, YEAR)
        assert [s.month for s in found] == list(range(1, 7))
        running = 0
        for statement in found:
            month = statement.month
            assert statement.opening == running
            running += net[(region, month)]
            assert statement.closing == running, (region, month)
            lines = {line.code: line.amount for line in statement.inflows + statement.outflows}
            assert lines.get("in.transfer_in", 0) == moved[(region, month, "TransferredIn")]
            assert lines.get("out.transfer_out", 0) == moved[(region, month, "TransferredOut")]
            transfers += lines.get("in.transfer_in", 0)
            check = tie_out(reader, statement)
            # Σ balances of the accounts in the region that day, from the events alone
            day = statement.last_day
            inside = [events[0].person for events in accounts.values()
                      if any(start <= day <= end for start, end
                             in region_spans(events, YEAR).get(region, []))]
            expected = sum(balance_as_of(ledger, person, day).balance for person in inside)
            assert (check.closing, check.balances, check.accounts) == (
                statement.closing, expected, len(inside)), (region, month)
            assert check.ties_out
    assert transfers == sum(e.amount for events in accounts.values() for e in events
                            if isinstance(e, Account.TransferredIn)) > 0
    assert sum(statements(views, region, YEAR, 6)[0].closing for region in REGIONS) == sum(
        ledger.account(person).balance for person in PEOPLE)


def test_the_region_on_a_day_is_the_last_entered_on_or_before_it() -> None:
    entered = [("2025-04-15", "nanchang"), ("", "yunnan"), ("2025-05-20", "yunnan")]
    assert [region_on(entered, day) for day in (
        "2025-01-01", "2025-04-14", "2025-04-15", "2025-05-19", "2025-05-20")] == [
        "yunnan", "yunnan", "nanchang", "nanchang", "yunnan"]
    assert region_on([], "2025-01-01") is None
