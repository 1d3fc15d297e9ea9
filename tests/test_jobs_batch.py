"""The batch write path: one transaction per batch, and a safe fallback on a clash; the
key walk that feeds the population jobs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from jobs_support import contributions, enroll_many
from ledger import Ledger
from ledger.account import Account
from ledger.adapters.batch import BatchWriter, planned
from ledger.adapters.bulk import BulkReader
from ledger.commands import RecordContribution, parse
from ledger.ids import account_id
from ledger.jobs import credit_month


def credit(month: str):
    def decide(account, items):
        result = [None] * len(items)
        if account is not None:
            account.credit_contribution(month, 100000, 2000, "test")
        return result, account
    return decide


def credit_direct(month: str):
    """``credit`` as a plan: the batch takes the direct path (ledger.adapters.direct)."""
    def plan(account, items, append):
        if account is not None:
            append(account, Account.ContributionCredited,
                   {"month": month, "base": 100000, "amount": 2000, "article": "test"})
        return [None] * len(items)
    return planned(plan)


@pytest.mark.parametrize("credit", [credit, credit_direct])
def test_a_batch_is_stored_in_one_insert_with_snapshots_and_reads_back(
        memory_ledger: Ledger, tmp_path: Path, credit):
    names = enroll_many(memory_ledger, tmp_path, 5)
    work = {account_id(n): [n] for n in names}
    writer = BatchWriter(memory_ledger)
    for month in range(1, 100):  # Enrolled + 99 credits: version 100 is snapshotted
        writer.run(work, credit(f"2000-{month:02d}" if month <= 12 else f"{1900 + month}-01"))
    account = memory_ledger.account(names[0])
    assert (account.version, account.balance) == (100, 99 * 2000)
    snapshot = next(memory_ledger.snapshots.get(account.id, desc=True, limit=1))
    assert snapshot.originator_version == 100
    assert writer.reader.aggregates(work)[account.id].balance == 99 * 2000
    assert list(memory_ledger.state_differences()) == []


def test_a_clash_with_another_writer_redoes_the_batch_account_by_account(
        memory_ledger: Ledger, tmp_path: Path):
    ledger = memory_ledger
    names = enroll_many(ledger, tmp_path, 3)
    racing = {"done": False}

    def decide(account, items):
        if not racing["done"]:  # another writer credits this account meanwhile
            racing["done"] = True
            ledger.credit_contribution(parse(RecordContribution, {
                "person": account.person, "month": "2024-01", "base": "1000.00"}))
        return credit("2024-02")(account, items)

    result = BatchWriter(ledger).run({account_id(n): [n] for n in names}, decide)
    assert result.fallbacks == 1 and result.events["ContributionCredited"] == 3
    views = [ledger.account_view(n) for n in names]
    assert [v.balance for v in views] == [2000 + 2000, 2000, 2000]
    assert result.balances_after - result.balances_before == 3 * 2000


def test_a_clash_on_the_direct_path_redoes_the_batch_account_by_account(
        memory_ledger: Ledger, tmp_path: Path):
    ledger = memory_ledger
    names = enroll_many(ledger, tmp_path, 3)
    racing = {"done": False}
    direct = credit_direct("2024-02").plan  # type: ignore[attr-defined]

    def plan(account, items, append):
        if not racing["done"]:  # another writer credits this account meanwhile
            racing["done"] = True
            ledger.credit_contribution(parse(RecordContribution, {
                "person": account.person, "month": "2024-01", "base": "1000.00"}))
        return direct(account, items, append)

    result = BatchWriter(ledger).run({account_id(n): [n] for n in names}, planned(plan))
    assert result.fallbacks == 1 and result.events["ContributionCredited"] == 3
    assert [ledger.account_view(n).balance for n in names] == [2000 + 2000, 2000, 2000]
    assert result.balances_after - result.balances_before == 3 * 2000
    assert list(ledger.state_differences()) == []


def test_walking_the_accounts_costs_the_same_on_every_page(memory_ledger: Ledger,
                                                           tmp_path: Path):
    """The key walk of the population jobs (close-year, fill-in, verify) reads each page
    from where the last one ended: SQLite steps over as many keys for the last page as for
    the first. (With a second lower bound it sought the shard's start for every page and
    stepped over every key before it: 1M accounts took 5.7 s of CPU instead of 0.5.)"""
    names = enroll_many(memory_ledger, tmp_path, 80)
    credit_month(memory_ledger, contributions(tmp_path, names, "2024-03"), tmp_path / "r.csv")
    reader = BulkReader(memory_ledger)
    queries: list[tuple[str, list]] = []
    fetch = reader._fetch

    def recorded(recorder, sql, params):  # noqa: ANN001, ANN202
        queries.append((sql, params))
        return fetch(recorder, sql, params)

    reader._fetch = recorded
    pages = list(reader.ids_by_topic(get_topic(Account.Enrolled), UUID(int=0), None, 10))
    assert [len(p) for p in pages] == [10] * 8
    assert sorted(i for p in pages for i in p) == sorted(account_id(n) for n in names)

    raw = sqlite3.connect(tmp_path / "rules.db")
    steps: list[int] = []

    def count() -> int:
        steps[-1] += 1
        return 0

    raw.set_progress_handler(count, 1)
    for sql, params in queries[:8]:
        steps.append(0)
        raw.execute(sql, params).fetchall()
    raw.close()
    assert max(steps) <= 2 * min(steps), steps
