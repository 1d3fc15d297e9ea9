"""``gongji jobs close-year``: the year end (年度结转, DOMAIN.md 7) for every account.

For each account of the shard, in key order, :meth:`YearEndCommands.decide_year_close`
records the year's close: the pooling years of the year closed with their unused cap
forfeited (suizhou art. 9, nanchang art. 13), interest credited where the region sets a
rate (daily-balance method), the balance carried over. An account whose year is
already closed is left alone, so a second run writes nothing and a run killed midway
(each batch is one transaction) is finished by running it again.

Closing is a record, not a switch: a visit dated in the next year already starts from a
fresh deductible and cap, and a late visit dated in the closed year still adds to that
year's accumulations (DOMAIN.md 3.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from ledger.account import Account
from ledger.commands import CloseYear
from ledger.jobs.runner import Progress, rejected, run_population_job
from ledger.jobs.shard import Shard
from ledger.jobs.workers import with_workers
from ledger.jobs.summary import ALREADY, WRITTEN, JobSummary, Outcome
from ledger.service import Ledger
from policies.errors import LedgerError


@with_workers
def close_year(
    ledger: Ledger, year: int, rejects_path: Path, region: str | None = None,
    shard: Shard = Shard(), batch_size: int = 5000, progress: Progress | None = None,
) -> JobSummary:
    """Close ``year`` for every account of ``shard`` (pooling of ``region`` only, if given).

    With ``workers=N`` (N > 1) the accounts are decided in N processes by key range
    (:mod:`ledger.jobs.workers`)."""
    cmd = CloseYear(year=year, region=region)
    summary = JobSummary("close-year", str(shard), credit_event="YearClosed")

    def decide(account: Account | None, _: Sequence[UUID]) -> tuple[list[Outcome], Account | None]:
        assert account is not None  # the ids come from the accounts' own Enrolled events
        try:
            closed = ledger.decide_year_close(account, cmd)
        except LedgerError as error:
            return [rejected(error, account.person)], account
        if closed is None:
            return [Outcome(ALREADY)], account
        pooling_years, interest = closed
        forfeited = sum(c["forfeited"] for e in account.pending_events
                        if isinstance(e, Account.YearClosed) for c in e.pooling)
        figures = {"pooling years closed": pooling_years, "cap forfeited": forfeited,
                   "interest credited": 1 if interest else 0}
        return [Outcome(WRITTEN, interest, figures=figures)], account

    return run_population_job(ledger, summary, decide, rejects_path, shard, batch_size,
                              progress)
