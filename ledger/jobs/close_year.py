"""``gongji jobs close-year``: the year end (年度结转, DOMAIN.md 7) for every account.

For each account of the shard, in key order, :meth:`YearEndCommands.plan_year_close`
(the decider's :func:`~ledger.deciders.year_end.plan_year_close`) records the year's
close: the pooling years of the year closed with their unused cap forfeited (suizhou
art. 9, nanchang art. 13), interest credited where the region sets a rate (daily-balance
method), the balance carried over. An account whose year is already closed is left alone,
so a second run writes nothing and a run killed midway (each batch is one transaction) is
finished by running it again.

The accounts are read a batch at a time from their state rows, their histories (only
when some region sets an interest rate) a key range at a time, and the events are
stored straight from their attributes (:mod:`ledger.adapters.direct`), as credit-month's.

Closing is a record, not a switch: a visit dated in the next year already starts from a
fresh deductible and cap, and a late visit dated in the closed year still adds to that
year's accumulations (DOMAIN.md 3.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from ledger.account import Account
from ledger.adapters.batch import Append, planned
from ledger.commands import CloseYear
from ledger.jobs.runner import Progress, rejected, run_population_job
from ledger.jobs.shard import Shard
from ledger.jobs.workers import with_workers
from ledger.jobs.summary import ALREADY, WRITTEN, JobSummary, Outcome
from ledger.service import Ledger
from ledger.year_end import Histories
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

    histories = Histories(ledger)

    def plan(account: Account | None, _: Sequence[UUID], append: Append) -> list[Outcome]:
        assert account is not None  # the ids come from the accounts' own Enrolled events
        try:
            closed = ledger.plan_year_close(account, cmd, append, histories)
        except LedgerError as error:
            return [rejected(error, account.person)]
        if closed is None:
            return [Outcome(ALREADY)]
        pooling, interest = closed
        figures = {"pooling years closed": len(pooling),
                   "cap forfeited": sum(c["forfeited"] for c in pooling),
                   "interest credited": 1 if interest else 0}
        return [Outcome(WRITTEN, interest, figures=figures)]

    return run_population_job(ledger, summary, planned(plan), rejects_path, shard,
                              batch_size, progress)
