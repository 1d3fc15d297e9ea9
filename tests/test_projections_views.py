"""The read models: figures of a worked scenario, on SQLite, PostgreSQL and Redis.

The scenario (suizhou, 2024; amounts in yuan):
A earns 100.00 a month (Jan–Mar), B 60.00 (Jan); A binds B (spouse).
V1 (B, 03-01, L1, 300 in scope, paid by A's account): all deductible; A pays 200, cash 100.
V2 (B, 03-05, L1, 400): deductible 200 left, fund 80% × 200 = 160; B pays 60, cash 180.
S1: A pays 50 for B's pharmacy (03-10). V1 reversed 03-20: A gets 200 back.
Year 2024 closed: B forfeits 1300 − 160 = 1140.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import PARAMETERS
from ledger import Ledger, open_ledger
from ledger.commands import (
    BindFamilyMember,
    CloseYear,
    EnrollPerson,
    FamilyPay,
    RecordContribution,
    Reverse,
    SettleVisit,
    Spend,
)
from projections import ViewReader, ViewWorker, open_views, read_account
from projections.stores.base import StalePosition, ViewStore
from projections.stores.memory import MemoryViews


def scenario(ledger: Ledger, close: bool = True) -> None:
    for person, born in (("A", "1980-01-01"), ("B", "1982-01-01")):
        ledger.enroll(EnrollPerson(person=person, region="suizhou", birth_date=born))
    for month in ("2024-01", "2024-02"):
        ledger.credit_contribution(RecordContribution(person="A", month=month, base="5000.00"))
    ledger.credit_contribution(RecordContribution(person="B", month="2024-01", base="3000.00"))
    ledger.bind_family_member(BindFamilyMember(owner="A", member="B", relation="spouse",
                                               date="2024-01-01"))
    ledger.settle_visit(SettleVisit(person="B", id="V1", date="2024-03-01", level=1,
                                    in_scope="300.00", pay=FamilyPay(family="A")))
    ledger.settle_visit(SettleVisit(person="B", id="V2", date="2024-03-05", level=1,
                                    in_scope="400.00"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-03", base="5000.00"))
    ledger.spend(Spend(payer="A", beneficiary="B", purpose="pharmacy", amount="50.00",
                       id="S1", date="2024-03-10"))
    ledger.reverse(Reverse(id="V1", date="2024-03-20"))
    if close:
        ledger.close_year(CloseYear(year=2024))


def recompute(ledger: Ledger) -> dict:
    memory = MemoryViews()
    ViewWorker(ledger.recorder, ledger.mapper, memory).catch_up()
    return memory.dump()


def assert_worked_by_hand(views: ViewStore, ledger: Ledger) -> None:
    """Figures of the module docstring's scenario, worked by hand: "equal to the recompute"
    alone runs the same worker code twice and would hide a mistake both runs share."""
    reader = ViewReader(views, ledger.book)
    assert (reader.account("A").balance, reader.account("B").balance) == (25000, 0)
    pooling = reader.account("B").pooling["suizhou/2024"]
    assert (pooling.in_scope, pooling.deductible_applied, pooling.fund_paid) == (
        40000, 20000, 16000)
    assert (pooling.closed, pooling.forfeited) == (True, 130000 - 16000)


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.redis)])
def views(request: pytest.FixtureRequest, ledger: Ledger) -> Iterator[ViewStore]:
    """The SQL views beside the ledger's events (SQLite and PostgreSQL), or Redis views."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    store = open_views(database_of(ledger), redis_url)
    yield store
    store.close()


def database_of(ledger: Ledger) -> str:
    """The database URL the ledger was opened on (the fixture's)."""
    env = ledger.env
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        return env["SQLITE_DBNAME"]
    return (f"postgresql://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
            f"/{env['POSTGRES_DBNAME']}?schema={env['POSTGRES_SCHEMA']}")


def test_views_hold_the_scenario_figures(ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger)
    ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=7).catch_up()
    reader = ViewReader(views, ledger.book)

    a, b = reader.account("A"), reader.account("B")
    assert (a.balance, b.balance) == (25000, 0)
    assert (a.status, a.region, a.category) == ("active", "suizhou", "employed")
    pooling = b.pooling["suizhou/2024"]
    assert (pooling.in_scope, pooling.deductible_applied, pooling.fund_paid) == (40000, 20000, 16000)
    assert (pooling.visits, pooling.closed, pooling.cap, pooling.forfeited) == (2, True, 130000, 114000)
    assert pooling.cap_left == 114000

    family = reader.family("A")
    assert [(x.member, x.relation) for x in family.bindings] == [("B", "spouse")]
    assert [(s.beneficiary, s.purpose, s.paid, s.payments, s.reversed)
            for s in family.spending] == [("B", "medical", 0, 0, 1), ("B", "pharmacy", 5000, 1, 0)]

    [funds] = reader.fund_totals(region="suizhou", year=2024)
    assert (funds.month, funds.level, funds.fund_paid, funds.account_paid, funds.family_paid,
            funds.cash_paid, funds.visits, funds.reversed) == (3, 1, 16000, 6000, 0, 18000, 1, 1)

    assert [(d.day.isoformat(), d.change, d.closing) for d in reader.daily_balances("A")] == [
        ("2024-01-01", 10000, 10000), ("2024-02-01", 10000, 20000),
        ("2024-03-01", -10000, 10000), ("2024-03-10", -5000, 5000),
        ("2024-03-20", 20000, 25000)]
    assert reader.balance_on("A", dt.date(2024, 3, 15)) == 5000


def test_views_equal_the_aggregates_and_a_recompute(ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger)
    ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=3).catch_up()
    reader = ViewReader(views, ledger.book)
    for person in ("A", "B"):
        assert reader.account(person) == ledger.account_view(person)
    assert views.dump() == recompute(ledger)
    assert_worked_by_hand(views, ledger)


def test_a_restarted_worker_resumes_and_applies_nothing_twice(
        ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger, close=False)
    ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=4).catch_up()
    position = views.position()
    ledger.close_year(CloseYear(year=2024))
    fresh = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=4)  # a new process
    assert fresh.catch_up() == ledger.recorder.max_notification_id() - position
    assert fresh.catch_up() == 0
    assert views.dump() == recompute(ledger)
    assert_worked_by_hand(views, ledger)


def test_a_batch_for_a_moved_position_is_refused_whole(ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger)
    first = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=5)
    rows = first.log.read(0, 5)
    batch = first.projection.apply(rows)
    first.catch_up()
    before = views.dump()
    with pytest.raises(StalePosition):
        views.write(batch, expected=0)  # a second worker that read the same events
    assert views.dump() == before == recompute(ledger)
    assert_worked_by_hand(views, ledger)


def test_rebuild_starts_from_zero_and_gives_the_same_views(
        ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger)
    worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=6)
    worker.catch_up()
    first = views.dump()
    assert worker.rebuild() == ledger.recorder.max_notification_id()
    assert views.dump() == first == recompute(ledger)
    assert_worked_by_hand(views, ledger)


def test_strong_reads_the_aggregate_and_default_reads_the_views(
        ledger: Ledger, views: ViewStore) -> None:
    scenario(ledger, close=False)
    reader = ViewReader(views, ledger.book)
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    ledger.credit_contribution(RecordContribution(person="B", month="2024-04", base="3000.00"))
    lagging = read_account(ledger, reader, "B")
    strong = read_account(ledger, reader, "B", consistency="strong")
    assert (lagging.source, lagging.value.balance) == ("views", 0)
    assert lagging.position == views.position()
    assert (strong.source, strong.value.balance) == ("aggregate", 6000)


def test_the_worker_follows_new_events(ledger: Ledger, views: ViewStore) -> None:
    """On PostgreSQL a NOTIFY wakes the worker long before its 30 s poll; SQLite polls."""
    scenario(ledger, close=False)
    postgres = ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
    worker = ViewWorker(ledger.recorder, ledger.mapper, views)
    stop = threading.Event()
    thread = threading.Thread(target=worker.follow, args=(stop, 30.0 if postgres else 0.05))
    thread.start()
    try:
        _wait_for(lambda: views.position() == ledger.recorder.max_notification_id())
        time.sleep(0.3)  # the worker is now waiting for news
        ledger.credit_contribution(RecordContribution(person="B", month="2024-04",
                                                      base="3000.00"))
        _wait_for(lambda: views.position() == ledger.recorder.max_notification_id())
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert ViewReader(views, ledger.book).account("B").balance == 6000


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not catch up in time"
        time.sleep(0.02)


def test_views_live_beside_the_events_under_their_own_names(tmp_path) -> None:
    url = str(tmp_path / "own.db")
    ledger = open_ledger(url, PARAMETERS)
    views = open_views(url)
    try:
        scenario(ledger)
        ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
        import sqlite3

        with sqlite3.connect(url) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")}
            assert {"stored_events", "tracking", "gongji_view_accounts"} <= tables
            assert db.execute("SELECT notification_id FROM tracking WHERE application_name"
                              " = 'Ledger/views'").fetchone()[0] == views.position() > 0
    finally:
        views.close()
        ledger.close()


def test_a_spend_with_a_family_shortfall_and_its_reversal(ledger: Ledger, views: ViewStore) -> None:
    """B pays 100.00: 60.00 from B's own account, the 40.00 shortfall from A's (共济)."""
    scenario(ledger, close=False)
    ledger.credit_contribution(RecordContribution(person="B", month="2024-04", base="3000.00"))
    ledger.spend(Spend(payer="B", shortfall_from="A", purpose="pharmacy", amount="100.00",
                       id="S2", date="2024-04-02"))
    worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=4)
    worker.catch_up()
    reader = ViewReader(views, ledger.book)
    assert (reader.account("A").balance, reader.account("B").balance) == (21000, 0)
    pharmacy = [s for s in reader.family("A").spending if s.purpose == "pharmacy"]
    assert [(s.paid, s.payments, s.reversed) for s in pharmacy] == [(9000, 2, 0)]
    ledger.reverse(Reverse(id="S2", date="2024-04-03"))
    worker.catch_up()
    pharmacy = [s for s in reader.family("A").spending if s.purpose == "pharmacy"]
    assert [(s.paid, s.payments, s.reversed) for s in pharmacy] == [(5000, 1, 1)]
    for person in ("A", "B"):
        assert reader.account(person) == ledger.account_view(person)
    assert views.dump() == recompute(ledger)


def test_run_once_catches_up_and_exits(tmp_path, monkeypatch) -> None:
    """``gongji projections run --once``: the views reach the log's head, the command ends."""
    from typer.testing import CliRunner

    from cli.main import app

    url = str(tmp_path / "once.db")
    ledger = open_ledger(url, PARAMETERS)
    scenario(ledger)
    head = ledger.recorder.max_notification_id()
    ledger.close()
    monkeypatch.setenv("GONGJI_DATABASE_URL", url)
    monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["projections", "run", "--once"])
    assert result.exit_code == 0, result.output
    views = open_views(url)
    try:
        assert views.position() == head
    finally:
        views.close()
