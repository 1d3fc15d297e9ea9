"""``gongji jobs allot-month``: every retired person's allotment (退休人员划入) for a month.

Walks every account of the shard (in key order) and asks
:func:`ledger.deciders.crediting.plan_allotment` for each, so the rules are the command's
own (the events written straight from their attributes, :mod:`ledger.adapters.direct`):
age band from the month after the 70th birthday, mixed history prorated, nothing for a
month after the month of death or for a closed (paid-out) account, the policy of the
region the person is insured in *now* (a transferred person is credited in the new
region). A month already credited writes nothing, so the job is idempotent.

Employed people are not candidates (``skipped: not_retired``), nor are people without a
personal account (``skipped: no_personal_account``) or outside ``--region``; other
refusals (a deceased person, a policy not in force, …) are listed in the rejects file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from ledger.account import Account
from ledger.adapters.batch import Append, planned
from ledger.commands import CreditAllotment
from ledger.deciders import crediting
from ledger.jobs.runner import Progress, rejected, run_population_job
from ledger.jobs.shard import Shard
from ledger.jobs.workers import with_workers
from ledger.jobs.summary import ALREADY, SKIPPED, WRITTEN, JobSummary, Outcome
from ledger.service import Ledger
from policies import credits
from policies.calendar import Month
from policies.errors import ErrorCode, LedgerError

@with_workers
def allot_month(
    ledger: Ledger, month: Month, rejects_path: Path, region: str | None = None,
    shard: Shard = Shard(), batch_size: int = 5000, progress: Progress | None = None,
) -> JobSummary:
    """Credit ``month``'s allotment to every retired person of ``shard`` (and ``region``).

    With ``workers=N`` (N > 1) the accounts are decided in N processes by key range
    (:mod:`ledger.jobs.workers`)."""
    summary = JobSummary("allot-month", str(shard), credit_event="AllotmentCredited")

    def plan(account: Account | None, _: Sequence[UUID], append: Append) -> list[Outcome]:
        assert account is not None  # the ids come from the accounts' own Enrolled events
        if region is not None and account.region != region:
            return [Outcome(SKIPPED, code="other_region")]
        if not account.has_account:
            return [Outcome(SKIPPED, code=ErrorCode.NO_PERSONAL_ACCOUNT.value)]
        if not credits.receives_allotment(account.facts, month):
            return [Outcome(SKIPPED, code=ErrorCode.NOT_RETIRED.value)]
        try:
            credited, credit = crediting.plan_allotment(
                account, ledger.book, CreditAllotment(person=account.person, month=month))
        except LedgerError as error:
            return [rejected(error, account.person)]
        if credit is None:
            return [Outcome(ALREADY)]
        append(account, Account.AllotmentCredited, credit)
        return [Outcome(WRITTEN, credited.credited)]

    return run_population_job(ledger, summary, planned(plan), rejects_path, shard, batch_size,
                              progress)
