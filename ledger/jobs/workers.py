"""``--workers N``: a job decided in N processes by key range, written by one (多进程判定).

The job's shard is split into N key ranges (:class:`~ledger.jobs.shard.Shard` ``i/N`` of
it). Each range is run by a forked process with connections of its own: it reads its
accounts' state rows, decides with the same deciders as the single commands and encodes
the batch (:meth:`BatchWriter.decide <ledger.adapters.batch.BatchWriter.decide>`); then
it hands the encoded batch to this process, the only one writing, which commits it with
its chain links and state rows in one transaction and answers whether it went through.
Deciding and encoding (most of the CPU) run side by side; the store sees one writer, so
SQLite never waits on its lock and PostgreSQL's table lock is never fought over.

A batch refused because another writer touched one of its accounts meanwhile is redone by
its deciding process account by account through :meth:`LedgerCore.write`, as in one
process. Each range writes its refused rows to a file of its own; they are merged into
the job's rejects file, in line order, at the end. The summaries are added up.
"""

from __future__ import annotations

import csv
import functools
import inspect
import multiprocessing
import queue
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger.adapters.batch import BatchWriter, Pending, Prepared
from ledger.core import LedgerCore
from ledger import gcpause
from ledger.jobs.shard import Shard
from ledger.jobs.summary import JobSummary

#: ``job(ledger, shard)``: the job as it runs in one process, on ``shard``
Job = Callable[[Any, Shard], JobSummary]
Progress = Callable[[float, JobSummary], None]
POLL_SECONDS = 1.0


@dataclass
class _Worker:
    """What a deciding process knows of its place: set in the forked child only."""

    index: int
    inbox: Any
    answers: Any


_current: _Worker | None = None


class HandingWriter(BatchWriter):
    """A deciding process's writer: batches go to the writing process, not the store.

    A batch is handed over without waiting (``depth`` 1): the process decides its next
    batch while the writing process commits this one, and reads the answer before it
    counts the batch (:func:`ledger.jobs.runner.run_batches`). Answers come back in the
    order the batches went; the next batch holds other accounts (key order), so deciding
    it before this one is stored sees the same state rows."""

    depth = 1

    def hand(self, pending: Pending) -> Pending:
        prepared, pending.prepared = pending.prepared, None
        if prepared is None or not prepared.events:
            pending.stored = True
            return pending
        assert _current is not None
        # the writer's store keeps ids as hex (SQLite): they cross as that hex
        prepared.hex_ids = getattr(self.app.recorder, "hex_ids", False)
        _current.inbox.put(("batch", _current.index, prepared))
        return pending

    def answer(self, pending: Pending) -> bool:
        if pending.stored is None:
            assert _current is not None
            pending.stored = bool(_current.answers.get())
        return pending.stored


def writer_for(ledger: LedgerCore) -> BatchWriter:
    """The batch writer of this process: the store's, or the writing process's."""
    return HandingWriter(ledger) if _current is not None else BatchWriter(ledger)


def part_path(path: Path) -> Path:
    """Where this process writes its refused rows (a file per deciding process)."""
    return path if _current is None else _part(path, _current.index)


def progress_for(progress: Progress | None) -> Progress | None:
    """This process's progress report: a deciding process tells the writing process."""
    if _current is None:
        return progress
    worker = _current
    return lambda done, summary: worker.inbox.put(("progress", worker.index, (done, summary)))


def _part(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.part{index}")


def run_in_workers(ledger: LedgerCore, shard: Shard, workers: int, job: Job,
                   rejects: Path, progress: Progress | None = None) -> JobSummary:
    """Run ``job`` on ``workers`` key ranges of ``shard`` in forked processes, committing
    their batches here; the summaries added up, the rejects merged into ``rejects``."""
    context = multiprocessing.get_context("fork")
    inbox = context.Queue(maxsize=2 * workers)
    answers = [context.Queue() for _ in range(workers)]
    parts = [Shard((shard.index - 1) * workers + i, shard.count * workers)
             for i in range(1, workers + 1)]
    processes = [context.Process(target=_decide, args=(
        ledger, job, part, i, inbox, answers[i - 1]), daemon=True)
        for i, part in enumerate(parts, 1)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    writer = BatchWriter(ledger)
    summaries: dict[int, JobSummary] = {}
    latest: dict[int, tuple[float, JobSummary]] = {}
    with gcpause.paused():
        try:
            while len(summaries) < workers:
                try:
                    kind, index, payload = inbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    dead = [p for i, p in enumerate(processes, 1)
                            if not p.is_alive() and i not in summaries]
                    if dead:
                        raise RuntimeError(f"a deciding process ended without finishing "
                                           f"(exit code {dead[0].exitcode})") from None
                    continue
                if kind == "batch":
                    answers[index - 1].put(writer.submit(payload))
                    del payload  # freed now, not traversed by the collection below
                    gcpause.after_batch()
                elif kind == "progress":
                    latest[index] = payload
                    if progress is not None:
                        done = sum(d for d, _ in latest.values()) / workers
                        progress(done, added(str(shard), [s for _, s in latest.values()],
                                             time.perf_counter() - started))
                elif kind == "done":
                    summaries[index] = payload
                else:
                    raise RuntimeError(f"deciding process {index} failed: {payload}")
        finally:
            for process in processes:
                if process.is_alive() and len(summaries) < workers:
                    process.terminate()
                process.join()
    _merge_rejects(rejects, [_part(rejects, i) for i in range(1, workers + 1)])
    return added(str(shard), [summaries[i] for i in sorted(summaries)],
                 time.perf_counter() - started)


def with_workers(job: Callable[..., JobSummary]) -> Callable[..., JobSummary]:
    """Give a job function ``workers=N``: run on N key ranges of its ``shard`` in N
    deciding processes (its ``ledger``, ``shard``, ``rejects_path``, ``progress``
    arguments say where), committed by this process. ``workers=1`` is the job itself."""
    signature = inspect.signature(job)

    @functools.wraps(job)
    def run(*args: Any, workers: int = 1, **kwargs: Any) -> JobSummary:
        if workers <= 1:
            return job(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments

        def one(ledger: Any, part: Shard) -> JobSummary:
            return job(**{**given, "ledger": ledger, "shard": part, "progress": None})

        return run_in_workers(given["ledger"], given["shard"], workers, one,
                              given["rejects_path"], given["progress"])

    return run


def _decide(ledger: LedgerCore, job: Job, part: Shard, index: int, inbox: Any,
            answers: Any) -> None:
    """A deciding process: its own connections, the job on its key range."""
    global _current
    _current = _Worker(index, inbox, answers)
    try:
        mine = ledger.reopen()
        try:
            inbox.put(("done", index, job(mine, part)))
        finally:
            mine.close()
    except BaseException as error:  # noqa: BLE001 — reported to the writing process
        inbox.put(("failed", index, f"{type(error).__name__}: {error}\n"
                                    f"{traceback.format_exc()}"))


def added(shard: str, parts: list[JobSummary], seconds: float) -> JobSummary:
    """The summaries of a shard's key ranges as one."""
    if not parts:
        raise ValueError("no summaries to add")
    total = replace(parts[0], shard=shard, seconds=seconds)
    for part in parts[1:]:
        for name in ("considered", "written", "already", "credited", "debited",
                     "balances_before", "balances_after", "batches", "fallbacks"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        for name in ("skipped", "rejected", "events", "figures"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    # every range reads the whole file: a row of this shard is "other" to all ranges but one
    rows = parts[0].considered + parts[0].other_shards
    total.other_shards = rows - total.considered if any(p.other_shards for p in parts) else 0
    return total


def _merge_rejects(path: Path, parts: list[Path]) -> None:
    """The ranges' rejects files as one, in line order (or by person), then removed."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for part in parts:
        if not part.exists():
            continue
        with part.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, header)
            rows += list(reader)
        part.unlink()
    if header is None:
        return
    rows.sort(key=lambda r: (0, int(r[0]), "") if r[0].isdigit() else (1, 0, r[0]))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
