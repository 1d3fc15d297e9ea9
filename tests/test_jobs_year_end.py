"""``close-year``: idempotent, resumable after kill -9, interest, and DOMAIN.md 3.2 after it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from jobs_support import balances, contributions, enroll_many
from ledger import Ledger, open_ledger
from ledger.commands import SettleVisit, parse
from ledger.jobs import close_year, credit_month
from policies.interest import daily_balance_interest
from policies.money import Rate

GONGJI = str(Path(sys.executable).with_name("gongji"))


def visit(ledger: Ledger, vid: str, date: str, in_scope: str):
    return ledger.settle_visit(parse(SettleVisit, {
        "person": "P00000", "id": vid, "date": date, "level": 1, "in_scope": in_scope}))


def test_after_the_close_next_year_is_fresh_and_a_late_visit_keeps_its_year(
        memory_ledger: Ledger, tmp_path: Path):
    ledger = memory_ledger
    enroll_many(ledger, tmp_path, 1)
    assert visit(ledger, "v1", "2023-06-01", "2000.00").deductible_applied == 50000
    summary = close_year(ledger, 2023, tmp_path / "r.csv")
    assert summary.written == 1 and summary.figures["pooling years closed"] == 1
    # suizhou employed cap 1300.00; fund paid (2000 − 500) × 80% = 1200.00
    assert summary.figures["cap forfeited"] == 130000 - 120000
    fresh = visit(ledger, "v2", "2024-01-05", "1000.00")
    assert (fresh.deductible_applied, fresh.cap) == (50000, 130000)
    late = visit(ledger, "v3", "2023-12-30", "1000.00")
    assert late.deductible_applied == 0 and late.fund_paid == 130000 - 120000
    assert close_year(ledger, 2023, tmp_path / "r.csv").written == 0


def test_interest_on_daily_balances_is_credited_once_and_ties_out(tmp_path: Path):
    ledger = open_ledger(str(tmp_path / "i.db"),
                         {"nanchang": {"average_pension": "3100.00", "interest_rate": "0.015"}})
    names = enroll_many(ledger, tmp_path, 5, region="nanchang")
    credit_month(ledger, contributions(tmp_path, names, "2024-03"), tmp_path / "r.csv")
    before = balances(ledger, names)
    expected = {n: daily_balance_interest(ledger.movements(ledger.account(n).id), 2024,
                                          Rate.parse("0.015")) for n in names}
    # by hand: P00000 holds 60.00 from 1 March (306 days to 31 December 2024):
    # 6000 × 306 = 1,836,000 fen·days × 1.5% ÷ 360 = 76.5 fen → 77 (half up)
    assert expected[names[0]] == 77 and all(expected.values())
    summary = close_year(ledger, 2024, tmp_path / "y.csv", batch_size=2)
    assert summary.credited == sum(expected.values()) and summary.ties_out
    assert balances(ledger, names) == {n: before[n] + expected[n] for n in names}
    assert close_year(ledger, 2024, tmp_path / "y.csv").credited == 0
    ledger.close()


def _stored(db: Path, event: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM stored_events WHERE topic LIKE ?",
                            (f"%.{event}",)).fetchone()[0]


def _kill_in_the_middle_then_rerun(command: list[str], db: Path, event: str, total: int):
    """Start the job, SIGKILL it once some batches are stored, run it again to the end."""
    env = {**os.environ, "GONGJI_DATABASE_URL": str(db)}
    job = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _stored(db, event) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert 0 < _stored(db, event) < total, "the kill must land in the middle of the run"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "✓ every row counted once" in rerun.stdout
    assert _stored(db, event) == total


def test_kill_9_during_the_year_end_then_a_rerun_finishes_with_exact_totals(tmp_path: Path):
    db = tmp_path / "k.db"
    ledger = open_ledger(str(db))
    names = enroll_many(ledger, tmp_path, 300)
    credit_month(ledger, contributions(tmp_path, names, "2024-03"), tmp_path / "r.csv")
    before = balances(ledger, names)
    ledger.close()
    _kill_in_the_middle_then_rerun(
        [GONGJI, "jobs", "close-year", "--year", "2024", "--batch-size", "1",
         "--rejects", str(tmp_path / "y.csv")], db, "YearClosed", 300)
    ledger = open_ledger(str(db))
    assert balances(ledger, names) == before
    assert all(ledger.account(n).closed_years == [2024] for n in names)
    third = close_year(ledger, 2024, tmp_path / "y.csv")
    assert (third.written, third.already) == (0, 300)
    ledger.close()


def test_kill_9_during_crediting_then_a_rerun_credits_each_row_exactly_once(tmp_path: Path):
    db = tmp_path / "c.db"
    ledger = open_ledger(str(db))
    names = enroll_many(ledger, tmp_path, 300)
    ledger.close()
    file = contributions(tmp_path, names, "2024-03")
    _kill_in_the_middle_then_rerun(
        [GONGJI, "jobs", "credit-month", str(file), "--batch-size", "1"], db,
        "ContributionCredited", 300)
    ledger = open_ledger(str(db))
    expected = {n: Rate.parse("0.02").apply(300000 + i * 100 + i % 100)
                for i, n in enumerate(names)}
    # by hand: 3025.25 × 2% = 60.505 → 60.51; 3125.25 × 2% = 62.505 → 62.51
    assert (expected[names[25]], expected[names[125]]) == (6051, 6251)
    assert balances(ledger, names) == expected
    ledger.close()
