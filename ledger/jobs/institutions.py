"""``gongji institutions import``: the institution directory (定点医药机构目录) from a file.

Columns: ``code,name,region,level,designated,networked,valid_from,valid_to``. ``region``
is a region code (医保区划 admdvs: the built-in five and ``GONGJI_ADMDVS``'s) or the
ledger's region name; ``level`` 1, 2 or 3 (医疗机构等级: the level whose pooling rate
applies, 1 for a pharmacy 定点零售药店 unless the region says otherwise); ``designated``
and ``networked`` true/false (also 1/0, 是/否); ``valid_to`` may be empty (open-ended).

Each row is one directory entry, known by ``code`` and ``valid_from``. A row the
directory already holds is a harmless repeat (nothing written); a row whose entry changed
is recorded as a new version (a ``Listed`` event), never an edit. A file that gives one
entry twice is refused on its second row. Bad rows go to the rejects file with their
stable code and message, and do not stop the import.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from pydantic import BeforeValidator, StringConstraints, model_validator

from ledger.admdvs import region_of
from ledger.adapters.batch import BatchResult
from ledger.commands import Command, Day, Id, Level
from ledger.core import LedgerCore
from ledger.directory import Entry, Institution, institution_id
from ledger.jobs.csvfile import CsvSource, RejectsFile, Row
from ledger.jobs.runner import Progress, csv_reject_row, rejected, row_command
from ledger.jobs.summary import ALREADY, WRITTEN, JobSummary, Outcome
from policies.errors import ErrorCode, InputError, LedgerError

COLUMNS = ("code", "name", "region", "level", "designated", "networked", "valid_from",
           "valid_to")
YES_NO = {"是": "true", "否": "false", "y": "true", "n": "false"}


def _level(value: object) -> object:
    return int(value) if isinstance(value, str) and value.strip() in ("1", "2", "3") else value


def _yes_no(value: object) -> object:
    return YES_NO.get(value.strip().lower(), value) if isinstance(value, str) else value


class DirectoryRow(Command):
    """One row of the directory file (定点医药机构目录条目)."""

    code: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=200)]
    region: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=32)]
    level: Annotated[Level, BeforeValidator(_level)]
    designated: Annotated[bool, BeforeValidator(_yes_no)]
    networked: Annotated[bool, BeforeValidator(_yes_no)]
    valid_from: Day
    valid_to: Day | None = None

    @model_validator(mode="after")
    def _span(self) -> DirectoryRow:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise InputError("valid_to is before valid_from",
                             "有效期结束日期 valid_to 早于开始日期 valid_from")
        return self


def open_source(path: Path, encoding: str | None = None) -> CsvSource:
    """The directory file (CSV or .xlsx), its encoding and header checked."""
    return CsvSource(path, COLUMNS, encoding=encoding)


def entry_of(row: DirectoryRow, regions_by_code: dict[str, str], regions: Sequence[str],
             line: int) -> Entry:
    """The directory entry a row gives, its region resolved, or ``invalid_input``."""
    region = region_of(row.region, regions_by_code, regions)
    if region is None:
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"line {line}: region {row.region!r} is neither a region code (医保区划: "
            f"{', '.join(sorted(regions_by_code))}; more with GONGJI_ADMDVS) nor a region "
            f"({', '.join(regions)})", field="region",
            message_zh=f"第 {line} 行：统筹地区 region（{row.region}）不是已知的医保区划或统筹地区",
        )
    return Entry(code=row.code, name=row.name, region=region,
                 admdvs=row.region if row.region != region else None, level=row.level,
                 designated=row.designated, networked=row.networked,
                 valid_from=row.valid_from.isoformat(),
                 valid_to=row.valid_to.isoformat() if row.valid_to else None)


def import_institutions(
    ledger: LedgerCore, path: Path, rejects_path: Path, regions_by_code: dict[str, str],
    batch_size: int = 500, progress: Progress | None = None, encoding: str | None = None,
) -> JobSummary:
    """List every row of ``path`` in the directory; rejects to ``rejects_path``."""
    source = open_source(path, encoding)
    summary = JobSummary("institutions import", "1/1", credit_event="Listed")
    regions = ledger.book.regions
    seen: dict[tuple[str, str], int] = {}  # (code, valid_from) → its line in this file
    rejects = RejectsFile(rejects_path, ("line", *COLUMNS), reason=("error", "message"))
    started = time.perf_counter()
    reject_row = csv_reject_row(COLUMNS)
    try:
        chunk: list[tuple[Row, Entry | LedgerError]] = []
        for row in source.rows():
            chunk.append((row, _checked(row, regions_by_code, regions, seen)))
            if len(chunk) >= batch_size:
                _commit(ledger, chunk, summary, rejects, reject_row)
                chunk = []
                summary.seconds = time.perf_counter() - started
                if progress is not None:
                    progress(source.position / max(1, source.size), summary)
        _commit(ledger, chunk, summary, rejects, reject_row)
        summary.seconds = time.perf_counter() - started
        if progress is not None:
            progress(1.0, summary)
    finally:
        rejects.close()
    return summary


def _checked(row: Row, regions_by_code: dict[str, str], regions: Sequence[str],
             seen: dict[tuple[str, str], int]) -> Entry | LedgerError:
    try:
        entry = entry_of(row_command(DirectoryRow, row), regions_by_code, regions, row.line)
    except LedgerError as error:
        return error
    first = seen.setdefault((entry.code, entry.valid_from), row.line)
    if first != row.line:
        return LedgerError(
            ErrorCode.DUPLICATE_CONFLICT,
            f"line {row.line}: institution {entry.code!r} from {entry.valid_from} is already "
            f"on line {first}; give each entry once (a change is a new file's row)",
            field="code")
    return entry


def _commit(ledger: LedgerCore, chunk: list[tuple[Row, Entry | LedgerError]],
            summary: JobSummary, rejects: RejectsFile, reject_row: Any) -> None:
    """Decide the chunk's rows and store them in one transaction (one by one if another
    writer got in between); count them only once stored."""
    if not chunk:
        return

    def decide(rows: list[tuple[Row, Entry | LedgerError]]) -> tuple[list[Outcome], Counter[str]]:
        aggregates: dict[str, Institution] = {}
        outcomes = []
        for _, entry in rows:
            if isinstance(entry, LedgerError):
                outcomes.append(rejected(entry))
                continue
            found = aggregates.get(entry.code)
            if found is None:
                try:
                    found = ledger.load(institution_id(entry.code))
                except AggregateNotFoundError:
                    found = Institution(entry.code)
                aggregates[entry.code] = found
            outcomes.append(Outcome(WRITTEN if found.list_entry(entry) else ALREADY))
        events = Counter(type(e).__name__ for a in aggregates.values()
                         for e in a.pending_events)
        ledger.save(*aggregates.values())
        return outcomes, events

    try:
        outcomes, events = decide(chunk)
        fallbacks = 0
    except IntegrityError:
        outcomes, events, fallbacks = [], Counter(), 1
        for item in chunk:
            one, stored = ledger.write(lambda item=item: decide([item]))
            outcomes += one
            events += stored
    summary.add_batch(BatchResult({}, events=events, fallbacks=fallbacks))
    for (row, _), outcome in zip(chunk, outcomes, strict=True):
        summary.add(outcome)
        if outcome.code:
            rejects.add(reject_row(row, outcome), outcome.code, outcome.message)
    rejects.flush()
