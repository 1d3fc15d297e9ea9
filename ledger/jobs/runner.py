"""The loop every batch job shares: batch, decide, commit, count, report progress.

A job hands over its work as batches (``{account id: [items]}``) and a decide function;
the runner commits each batch through :class:`ledger.adapters.batch.BatchWriter`, counts the
outcomes only after their batch is stored (so a killed run never over-reports; in a
deciding process of ``--workers`` the next batch is decided while the writing process
stores this one, and this one is counted when its answer comes), writes
rejected rows to the rejects file and calls ``progress`` after every batch.

Restart after a crash needs nothing special: each batch is one transaction, and every
decision is idempotent against what is already stored (a month already credited, a
year already closed), so a rerun skips the committed part and finishes the rest.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from pydantic import ValidationError

from ledger import metrics
from ledger import gcpause
from ledger.jobs import workers
from ledger.account import Account
from ledger.adapters.batch import Decide, Pending
from ledger.adapters.bulk import BulkReader
from ledger.commands import Command, parse
from ledger.core import LedgerCore
from ledger.jobs.csvfile import CsvSource, RejectsFile, Row
from ledger.jobs.keysort import RUN, key_ordered
from ledger.jobs.shard import Shard
from ledger.jobs.summary import REJECTED, JobSummary, Outcome
from policies.errors import ErrorCode, LedgerError

#: ``progress(fraction done 0..1, summary so far)``
Progress = Callable[[float, JobSummary], None]
#: One batch: the work per account, and how far through the input it ends (0..1).
Batch = tuple[Mapping[UUID, Sequence[Any]], float]
#: The values of a rejects-file line for an item and its outcome.
RejectRow = Callable[[Any, Outcome], Sequence[object]]


def run_batches(
    ledger: LedgerCore,
    summary: JobSummary,
    batches: Iterable[Batch],
    decide: Decide,
    rejects: RejectsFile | None = None,
    progress: Progress | None = None,
    reject_row: RejectRow | None = None,
) -> JobSummary:
    """Commit every batch; ``summary`` is filled in and returned."""
    writer = workers.writer_for(ledger)
    progress = workers.progress_for(progress)
    started = time.perf_counter()

    def settle(pending: Pending | None, work: Mapping[UUID, Sequence[Any]],
               done: float) -> None:
        """Count a batch once its answer says it is stored, then report progress."""
        if pending is not None:
            result = writer.finish(pending)
            summary.add_batch(result)
            refused: list[tuple[Sequence[object], Outcome]] = []
            kinds: Counter[str] = Counter()
            for account_id, items in work.items():
                for item, outcome in zip(items, result.outcomes[account_id], strict=True):
                    summary.add(outcome)
                    kinds[outcome.kind] += 1
                    if outcome.kind == REJECTED and reject_row is not None:
                        refused.append((reject_row(item, outcome), outcome))
            if rejects is not None:
                for values, outcome in sorted(refused, key=_line_order):
                    rejects.add(values, outcome.code, outcome.message)
                rejects.flush()
            metrics.job_batch(summary.job, kinds, done)
        summary.seconds = time.perf_counter() - started
        if progress is not None:
            progress(done, summary)

    begun: deque[tuple[Pending | None, Mapping[UUID, Sequence[Any]], float]] = deque()
    with gcpause.paused():
        for work, done in batches:
            begun.append((writer.begin(work, decide) if work else None, work, done))
            work = None  # type: ignore[assignment]  # held by ``begun`` only
            while len(begun) > writer.depth:
                settle(*begun.popleft())
                gcpause.after_batch()  # the settled batch freed: the collection
                # then traverses only what is left
        while begun:
            settle(*begun.popleft())
    summary.seconds = time.perf_counter() - started
    return summary


def rejected(error: LedgerError, person: str = "") -> Outcome:
    """A refusal as an outcome: the stable code and the message that says what to fix."""
    return Outcome(REJECTED, code=str(error.code), message=error.message, person=person)


def _line_order(refusal: tuple[Sequence[object], Outcome]) -> tuple:
    """Rejects in input order (line numbers first), whatever order the accounts ran in."""
    return tuple((0, v, "") if isinstance(v, int) else (1, 0, str(v)) for v in refusal[0])


def csv_batches(
    source: CsvSource, shard: Shard, size: int, summary: JobSummary,
    key: Callable[[Row], UUID], run: int = RUN,
) -> Iterator[Batch]:
    """The file's rows of ``shard`` in account-key order (:mod:`ledger.jobs.keysort`),
    about ``size`` rows a batch, grouped by account; an account's rows in file order."""

    def mine() -> Iterator[tuple[UUID, int, Row]]:
        for row in source.rows():
            account_id = key(row)
            if account_id in shard:
                yield account_id, row.line, row
            else:
                summary.other_shards += 1

    work: dict[UUID, list[Row]] = {}
    count = 0
    for account_id, row in key_ordered(mine(), run):
        if count >= size and account_id not in work:
            full, work, count = [work], {}, 0
            yield full.pop(), shard.fraction(account_id)  # not kept here once handed over
        work.setdefault(account_id, []).append(row)
        count += 1
    yield work, 1.0


def population_batches(
    ledger: LedgerCore, topic: str, shard: Shard, size: int
) -> Iterator[Batch]:
    """Every aggregate of the shard created by ``topic``, in key order, ``size`` a batch."""
    for ids in BulkReader(ledger).ids_by_topic(topic, shard.low, shard.high, size):
        yield {account_id: [account_id] for account_id in ids}, shard.fraction(ids[-1])
    yield {}, 1.0


def run_population_job(
    ledger: LedgerCore, summary: JobSummary, decide: Decide, rejects_path: Path,
    shard: Shard, batch_size: int, progress: Progress | None,
) -> JobSummary:
    """Run ``decide`` over every account of ``shard``; refusals listed by person."""
    rejects = rejects_file(rejects_path, ("person",))
    try:
        batches = population_batches(ledger, get_topic(Account.Enrolled), shard, batch_size)
        return run_batches(ledger, summary, batches, decide, rejects, progress,
                           lambda _, outcome: [outcome.person])
    finally:
        rejects.close()


def rejects_file(path: Path, columns: Sequence[str], by_line: bool = False) -> RejectsFile:
    """The job's rejects file (in a deciding process of ``--workers``, its own part)."""
    return RejectsFile(workers.part_path(path), columns, by_line)


def csv_reject_row(columns: Sequence[str]) -> RejectRow:
    """A rejects line for a CSV row: its line number, then its fields in ``columns`` order."""
    return lambda row, _: [row.line, *(row.fields.get(c, "") for c in columns)]


def row_command(command: type[Command], row: Row) -> Any:
    """A CSV row as ``command``; empty cells are absent values; a bad row is invalid_input."""
    if row.problem:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"line {row.line}: {row.problem}")
    data = {name: value for name, value in row.fields.items() if value != ""}
    try:
        return command.model_validate(data)
    except ValidationError:  # parse again for the message naming the line and each field
        return parse(command, data, where=f"line {row.line}")
