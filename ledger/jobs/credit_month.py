"""``gongji jobs credit-month``: a month's contributions for a city, from a CSV file.

Columns ``person,month,base`` (base in yuan, two decimals at most). Each row is what the
``contribution`` command does — 2% of the base credited (个人账户计入), once per person and
month — decided by :func:`ledger.deciders.crediting.plan_contribution` (the command's own
checks and rule) on accounts loaded a batch at a time, the events written straight from
their attributes (:mod:`ledger.adapters.direct`). A row for a month already credited with
the same base writes nothing (``already``), so a rerun after a crash or by mistake credits nobody twice. A row that
cannot be credited (unknown person, no personal account, a bad base, a closed account,
a retired person, …) goes to the rejects file with its code and does not stop the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ledger.account import Account
from ledger.adapters.batch import Append, planned
from ledger.commands import RecordContribution
from ledger.deciders import crediting
from ledger.deciders.checks import unknown_person
from ledger.ids import account_id
from ledger.jobs.csvfile import MONEY, MONTH, CsvSource, Row
from ledger.jobs.runner import (
    Progress, csv_batches, csv_reject_row, rejected, rejects_file, row_command, run_batches,
)
from ledger.jobs.shard import Shard
from ledger.jobs.workers import with_workers
from ledger.jobs.summary import ALREADY, WRITTEN, JobSummary, Outcome
from ledger.service import Ledger
from policies.errors import LedgerError

COLUMNS = ("person", "month", "base")


def open_source(path: Path, encoding: str | None = None) -> CsvSource:
    """The contributions file (CSV or .xlsx), its encoding and header checked."""
    return CsvSource(path, COLUMNS, kinds={"base": MONEY, "month": MONTH}, encoding=encoding)


@with_workers
def credit_month(
    ledger: Ledger, path: Path, rejects_path: Path, shard: Shard = Shard(),
    batch_size: int = 5000, progress: Progress | None = None, encoding: str | None = None,
) -> JobSummary:
    """Credit every row of ``path`` that falls in ``shard``; rejects to ``rejects_path``.

    With ``workers=N`` (N > 1) the accounts are decided in N processes by key range
    (:mod:`ledger.jobs.workers`)."""
    source = open_source(path, encoding)
    summary = JobSummary("credit-month", str(shard), credit_event="ContributionCredited")

    def plan(account: Account | None, rows: Sequence[Row], append: Append) -> list[Outcome]:
        outcomes = []
        for row in rows:
            try:
                cmd = row_command(RecordContribution, row)
                if account is None:
                    raise unknown_person(cmd.person)
                credited, credit = crediting.plan_contribution(account, ledger.book, cmd)
                if credit is None:
                    outcomes.append(Outcome(ALREADY, 0))
                else:
                    append(account, Account.ContributionCredited, credit)
                    outcomes.append(Outcome(WRITTEN, credited.credited))
            except LedgerError as error:
                outcomes.append(rejected(error))
        return outcomes

    rejects = rejects_file(rejects_path, ("line", *COLUMNS), by_line=True)
    try:
        batches = csv_batches(source, shard, batch_size, summary,
                              key=lambda row: account_id(row.fields.get("person", "")))
        return run_batches(ledger, summary, batches, planned(plan), rejects, progress,
                           csv_reject_row(COLUMNS))
    finally:
        rejects.close()

