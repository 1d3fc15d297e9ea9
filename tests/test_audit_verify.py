"""``audit verify``: chain, re-pricing and recomputed views, each naming the first difference."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from conftest import JILIN, PARAMETERS
from ledger import Ledger, open_ledger
from ledger.commands import RecordContribution
from policies.book import PolicyBook
from projections import ViewWorker, open_views
from projections.audit import verify
from test_chain import execute, state_replace
from test_projections_views import database_of, scenario


def test_an_untouched_ledger_verifies(ledger: Ledger, tmp_path) -> None:
    scenario(ledger)
    views = open_views(database_of(ledger))
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    report = verify(ledger, views)
    views.close()
    assert report.ok, report.differences
    assert (report.events, report.settlements) == (20, 2)
    assert report.view_rows > 10 and report.position == 20


def test_an_edited_view_row_is_named(ledger: Ledger) -> None:
    scenario(ledger)
    views = open_views(database_of(ledger))
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    execute(ledger, "UPDATE gongji_view_accounts SET balance = balance + 1 WHERE person = 'A'"
            if "SQLITE_DBNAME" in ledger.env else
            f"UPDATE {ledger.env['POSTGRES_SCHEMA']}.gongji_view_accounts "
            "SET balance = balance + 1 WHERE person = 'A'")
    report = verify(ledger, views)
    views.close()
    assert [d.check for d in report.differences] == ["views"]
    assert "view accounts row ('A',): balance is 25001, the events give 25000" in \
        report.first.message


def test_a_settlement_the_policy_does_not_give_is_named(tmp_path) -> None:
    """Priced with a policy file that was since changed: re-pricing shows the settlement."""
    ledger = open_ledger(str(tmp_path / "p.db"), PARAMETERS)
    scenario(ledger)
    ledger.book = PolicyBook.load(PARAMETERS)  # the retired rates for employed persons:
    suizhou = ledger.book.versions["suizhou"]
    rates = suizhou[0].pooling.rates.model_copy(update={"employed": (
        suizhou[0].pooling.rates.retired)})
    suizhou[0] = suizhou[0].model_copy(update={"pooling": suizhou[0].pooling.model_copy(
        update={"rates": rates})})
    report = verify(ledger)
    ledger.close()
    # each settlement is named, not only the first: V2 priced 200.00 over the deductible
    # (V1 was reversed before it) at 0.8 = 160.00; at 0.85 it would be 170.00
    assert [(d.check, d.kind, d.position, d.message) for d in report.differences] == [
        ("pricing", "mismatch", 9,
         "event #9: settlement 'V1' of B: rate recorded 0.8, re-priced 0.85"),
        ("pricing", "mismatch", 12,
         "event #12: settlement 'V2' of B: fund_paid recorded 160.00, re-priced 170.00")]


def test_the_cli_exits_non_zero_naming_the_edited_event(tmp_path, monkeypatch) -> None:
    url = str(tmp_path / "v.db")
    ledger = open_ledger(url, PARAMETERS)
    scenario(ledger)
    monkeypatch.setenv("GONGJI_DATABASE_URL", url)
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", json.dumps({"jilin": JILIN, **PARAMETERS}))
    runner = CliRunner()
    assert runner.invoke(app, ["projections", "rebuild"]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.stdout
    state_replace(ledger, 11, '"amount":6000', '"amount":600')
    ledger.close()
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["differences"][0]["check"] == "chain"
    assert document["differences"][0]["message"].startswith("event #11 (")
    assert "edited" in document["differences"][0]["message"]


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch) -> None:
    monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)


def test_views_behind_the_log_are_a_difference(ledger: Ledger) -> None:
    """Never-run views, and views one event behind: each a difference, never "ok"."""
    scenario(ledger)
    views = open_views(database_of(ledger))
    try:
        [behind] = verify(ledger, views).differences
        assert (behind.check, behind.kind, behind.position) == ("views", "behind", 0)
        assert behind.message.startswith("the views are at position 0, behind the log's head "
                                         "20: they do not show every event yet; run `gongji "
                                         "projections run --once`")
        ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
        assert verify(ledger, views).ok
        ledger.credit_contribution(RecordContribution(person="B", month="2024-02",
                                                      base="3000.00"))
        report = verify(ledger, views)
        assert [(d.check, d.kind, d.position) for d in report.differences] == [
            ("views", "behind", 20)]
        assert "position 20, behind the log's head 21" in report.first.message
        assert report.view_rows > 10  # the rows up to 20 were still compared, and agree
    finally:
        views.close()


def test_no_events_and_no_views_is_sound(tmp_path) -> None:
    ledger = open_ledger(str(tmp_path / "empty.db"), PARAMETERS)
    views = open_views(str(tmp_path / "empty.db"))
    report = verify(ledger, views)
    views.close()
    ledger.close()
    assert report.ok and (report.events, report.head, report.position) == (0, 0, 0)
