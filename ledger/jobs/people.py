"""``gongji people import``: bulk enrollment (参保登记) from a CSV file.

Columns: ``person,region,birth_date,scheme,retired_on,standard_years,total_years`` with the
meanings of FORMAT.md; the last three may be empty (and ``scheme`` empty means the
region's default). Optional columns: ``lump_sum_until`` (YYYY-MM) for chongqing's
lump-sum payers, and ``resettled`` (true/false) for a person resettled outside the
region (异地安置), who gets no more credits where the policy says so (nanchang art. 28).
A row enrolls the person exactly as the ``enroll`` command would; a row for a person
already enrolled with the same facts is an idempotent repeat, with other facts it is
``duplicate_conflict``. The new accounts' ``Enrolled`` events, chain links and state rows
are written a batch at a time, the events straight from their attributes
(:mod:`ledger.adapters.direct`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ledger.account import Account
from ledger.adapters.batch import Append, planned
from ledger.commands import ImportPerson
from ledger.ids import account_id
from ledger.jobs.csvfile import MONTH, CsvSource, Row
from ledger.jobs.runner import (
    Progress, csv_batches, csv_reject_row, rejected, rejects_file, row_command, run_batches,
)
from ledger.jobs.shard import Shard
from ledger.jobs.workers import with_workers
from ledger.jobs.summary import ALREADY, WRITTEN, JobSummary, Outcome
from ledger.service import Ledger
from policies.errors import LedgerError

COLUMNS = ("person", "region", "birth_date", "scheme", "retired_on", "standard_years",
           "total_years")
OPTIONAL = ("lump_sum_until", "resettled")


def open_source(path: Path, encoding: str | None = None) -> CsvSource:
    """The people file (CSV or .xlsx), its encoding and header checked."""
    return CsvSource(path, COLUMNS, OPTIONAL, kinds={"lump_sum_until": MONTH},
                     encoding=encoding)


@with_workers
def import_people(
    ledger: Ledger, path: Path, rejects_path: Path, shard: Shard = Shard(),
    batch_size: int = 5000, progress: Progress | None = None, encoding: str | None = None,
) -> JobSummary:
    """Enroll every person of ``path`` that falls in ``shard``; rejects to ``rejects_path``.

    With ``workers=N`` (N > 1) the accounts are decided in N processes by key range
    (:mod:`ledger.jobs.workers`)."""
    source = open_source(path, encoding)
    summary = JobSummary("people import", str(shard), credit_event="Enrolled")

    def plan(account: Account | None, rows: Sequence[Row], append: Append) -> list[Outcome]:
        outcomes = []
        for row in rows:
            try:
                facts = ledger.enrollment_facts(row_command(ImportPerson, row))
                if account is None:
                    account = append(None, Account.Enrolled, facts)
                    outcomes.append(Outcome(WRITTEN, person=facts["person"]))
                    continue
                ledger.same_request(account.enrolled_as, facts, f"person {facts['person']!r}")
                outcomes.append(Outcome(ALREADY))
            except LedgerError as error:
                outcomes.append(rejected(error))
        return outcomes

    rejects = rejects_file(rejects_path, ("line", *COLUMNS, *OPTIONAL), by_line=True)
    try:
        batches = csv_batches(source, shard, batch_size, summary,
                              key=lambda row: account_id(row.fields.get("person", "")))
        return run_batches(ledger, summary, batches, planned(plan, creates=True), rejects,
                           progress, csv_reject_row((*COLUMNS, *OPTIONAL)))
    finally:
        rejects.close()

