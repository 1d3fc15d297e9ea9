"""Explain and point-in-time figures, from the events alone (the scenario of the views' tests)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from conftest import JILIN, PARAMETERS
from ledger import Ledger, open_ledger
from ledger.ids import account_id
from projections.audit import balance_as_of, explain, pooling_as_of
from projections.log import EventLog
from test_projections_views import scenario


@pytest.fixture
def story(memory_ledger: Ledger) -> Ledger:
    scenario(memory_ledger)
    return memory_ledger


def test_explain_gives_amount_balance_after_and_articles(story: Ledger) -> None:
    rows = explain(story, "A")
    own = [(r.event, r.amount, r.balance_after) for r in rows if r.amount is not None]
    assert own == [
        ("ContributionCredited", 10000, 10000), ("ContributionCredited", 10000, 20000),
        ("Debited", -20000, 0), ("ContributionCredited", 10000, 10000),
        ("Debited", -5000, 5000), ("DebitRestored", 20000, 25000)]
    contribution = rows[1]
    assert contribution.articles == ("suizhou art. 14(一)",)
    assert contribution.date == dt.date(2024, 1, 1)
    family = [r for r in rows if r.event == "Debited"]
    assert {r.detail["beneficiary"] for r in family} == {"B"}
    assert [r.articles for r in family] == [("suizhou art. 15(二)",),  # family medical
                                            ("suizhou art. 15(一)(二)",)]  # pharmacy


def test_explain_shows_visits_with_their_pricing_articles_and_family_payments(
        story: Ledger) -> None:
    rows = explain(story, "B", year=2024)
    pooled = [r for r in rows if r.event == "VisitPooled"]
    assert [(r.transaction, r.date, r.detail["fund_paid"]) for r in pooled] == [
        ("V1", dt.date(2024, 3, 1), 0), ("V2", dt.date(2024, 3, 5), 16000)]
    assert "suizhou art. 8" in pooled[1].articles
    paid_by_a = [(r.account, r.transaction, r.amount) for r in rows if r.account == "A"]
    assert paid_by_a == [("A", "V1", -20000), ("A", "S1", -5000)]
    closed = [r for r in rows if r.event == "YearClosed"]
    assert closed[0].articles == ("suizhou art. 9",)
    assert explain(story, "B", year=2023) == []


def test_balance_as_of_reads_business_dates(story: Ledger) -> None:
    def on(day: str) -> int:
        return balance_as_of(story, "A", dt.date.fromisoformat(day)).balance

    assert [on(d) for d in ("2023-12-31", "2024-01-01", "2024-02-15", "2024-03-01",
                            "2024-03-15", "2024-03-31")] == [0, 10000, 20000, 10000, 5000, 25000]
    recorded = balance_as_of(story, "A", dt.date.today(), basis="recorded")
    assert recorded.balance == 25000
    assert balance_as_of(story, "A", dt.date(2024, 12, 31), basis="recorded").balance == 0


def test_pooling_as_of_follows_visit_and_reversal_dates(story: Ledger) -> None:
    def on(day: str) -> tuple:
        [usage] = pooling_as_of(story, "B", dt.date.fromisoformat(day)).years
        return usage.in_scope, usage.deductible_applied, usage.fund_paid, usage.closed

    assert pooling_as_of(story, "B", dt.date(2024, 2, 1)).years == []
    assert on("2024-03-02") == (30000, 30000, 0, False)
    assert on("2024-03-10") == (70000, 50000, 16000, False)
    assert on("2024-03-25") == (40000, 20000, 16000, False)
    [closed] = pooling_as_of(story, "B", dt.date.today(), year=2024).years
    assert (closed.closed, closed.forfeited, closed.cap_left) == (True, 114000, 114000)


def test_the_cli_explains_in_json_and_answers_as_of(tmp_path, monkeypatch) -> None:
    url = str(tmp_path / "cli.db")
    ledger = open_ledger(url, PARAMETERS)
    scenario(ledger)
    ledger.close()
    monkeypatch.setenv("GONGJI_DATABASE_URL", url)
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", json.dumps({"jilin": JILIN,
                                                               **PARAMETERS}))
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "explain", "A", "--year", "2024", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[-1]["event"] == "YearClosed" and rows[-2]["balance_after"] == "250.00"
    result = runner.invoke(app, ["audit", "balance", "A", "--as-of", "2024-03-15", "--json"])
    assert json.loads(result.stdout)["balance"] == "50.00"
    result = runner.invoke(app, ["audit", "pooling", "B", "--as-of", "2024-03-10", "--json"])
    assert json.loads(result.stdout)["years"][0]["fund_paid"] == "160.00"
    result = runner.invoke(app, ["audit", "balance", "nobody", "--as-of", "2024-03-15"])
    assert result.exit_code == 1 and "unknown_person" in result.output


def test_family_payments_are_found_by_the_database_on_each_store(ledger: Ledger) -> None:
    """The debits naming the person are picked by the store's own query (SQLite ``instr``,
    PostgreSQL ``position``), not by reading every debit."""
    scenario(ledger)
    rows = explain(ledger, "B", year=2024)
    assert [(r.account, r.transaction, r.amount) for r in rows if r.account == "A"] == [
        ("A", "V1", -20000), ("A", "S1", -5000)]
    found = EventLog(ledger.recorder).containing(
        "ledger.account:Account.Debited", b'"beneficiary":"B"')
    assert found is not None  # A's two payments for B, and B's own debit
    assert sorted(row[1] for row in found) == sorted(
        [account_id("A").hex] * 2 + [account_id("B").hex])
    assert explain(ledger, "B", paid_by_family=False) == [
        r for r in explain(ledger, "B") if r.account == "B"]
