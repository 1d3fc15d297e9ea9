"""Group commit: commands that arrive together are decided one after another and saved in
one transaction.

The store takes one writer at a time, and a commit is the dearest part of a settlement
(a transaction's begin and commit, the state rows' upsert, the fsync). When several
threads of one process write at once (the API's writer threads), the first to arrive
*leads*: it takes up to ``size`` waiting commands, in arrival order, and for each one
prefetches what it needs, its decider deciding on the aggregates as the earlier commands
of the group left them (:meth:`ledger.core.LedgerCore.fetch`'s ``overlay``), then stores
all their events, in that order, in one :meth:`~ledger.core.LedgerCore.save_events`. The
others wait for their answer. The events stored, and each command's answer, are those of
running the same commands one by one in that order.

Where the group cannot be kept, every one of its commands runs again alone, in order,
through the ordinary write loop (:meth:`~ledger.core.LedgerCore.decide_alone`), exactly
as without grouping:

- the group's save is refused (another process saved one of its aggregates first: an
  ``IntegrityError``) or fails in any other way;
- a command's decider raised after it had changed an aggregate the group shares, or
  changed an aggregate it did not return as touched (the deciders check before they
  change anything and return what they change, so either would be a bug; it is handled
  anyway: alone, such a command stores what it returned, as it always did).

A command that is refused (a :class:`~policies.errors.LedgerError`, e.g. a balance too
small) gets its error and changes nothing; the others of its group go on. A lone command
(nothing else waiting) runs alone at once: grouping costs a single writer nothing.

``GONGJI_GROUP_COMMIT`` sets the largest group (1 turns grouping off).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prometheus_client import Counter

from ledger.settings import SettingsError

if TYPE_CHECKING:
    from ledger.core import LedgerCore
    from ledger.prefetch import Fetched, Needs

GROUP_COMMIT_VARIABLE = "GONGJI_GROUP_COMMIT"
DEFAULT_GROUP = 16
LARGEST_GROUP = 1000

GROUPED = Counter(
    "gongji_group_commit_commands", "Write commands by how they were saved: grouped (with "
    "others, in one transaction), alone (nothing else was waiting), redone (their group "
    "could not be kept, so they ran again alone)", ["how"])


def group_size() -> int:
    """``GONGJI_GROUP_COMMIT`` (default 16), or :class:`SettingsError` naming it."""
    raw = os.environ.get(GROUP_COMMIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_GROUP
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LARGEST_GROUP:
        raise SettingsError(
            f"{GROUP_COMMIT_VARIABLE} {raw!r}: give the largest number of commands saved "
            f"together, a whole number from 1 (no grouping) to {LARGEST_GROUP} "
            f"(组提交的最大命令数: 1–{LARGEST_GROUP} 的整数)")
    return int(raw)


@dataclass(eq=False)
class Job:
    """One command waiting in a group: what it needs, its decider, and then its answer.
    ``wake`` is set when it is answered, or when its thread is to lead the next group."""

    needs: Needs | Callable[[Fetched], Needs]
    decide: Callable[[Fetched], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


class _Broken(Exception):
    """A command changed shared aggregates and then failed, or changed an aggregate it did
    not return as touched: the group cannot be kept."""


class Grouper:
    """Leads and follows groups of commands for one ledger (one per process and ledger).

    At most one thread leads at a time. A thread whose command arrives while none leads,
    leads: it takes the waiting commands (its own first) as one group, answers them, and
    hands the lead to the oldest command still waiting, if any. Every other thread sleeps
    until its command is answered or it is handed the lead; no thread is woken for
    nothing."""

    def __init__(self, core: LedgerCore, size: int) -> None:
        self.core, self.size = core, size
        self._lock = threading.Lock()
        self._waiting: deque[Job] = deque()
        self._leading = False

    def run(self, needs: Needs | Callable[[Fetched], Needs],
            decide: Callable[[Fetched], Any]) -> Any:
        """The command's answer (or its error), once it is saved with its group."""
        job = Job(needs, decide)
        with self._lock:
            self._waiting.append(job)
            follow, self._leading = self._leading, True
        if follow:
            job.wake.wait()
            if job.done:
                return job.answer()
        try:  # this thread leads: its command is the oldest waiting
            with self._lock:
                group = [self._waiting.popleft()
                         for _ in range(min(self.size, len(self._waiting)))]
            try:
                self.commit(group)
            finally:
                for waiting in group:  # never leave a follower waiting forever
                    if not waiting.done:
                        waiting.settle(error=RuntimeError("its group was abandoned"))
                    if waiting is not job:
                        waiting.wake.set()
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].wake.set()  # the oldest waiting leads next
                else:
                    self._leading = False
        return job.answer()

    def commit(self, group: list[Job]) -> None:
        """Decide ``group`` in order and save it in one transaction; failing that, run
        each of its commands alone."""
        if len(group) == 1:
            GROUPED.labels("alone").inc()
            self.alone(group)
            return
        try:
            events, aggregates = self.decide(group)
            if events:
                self.core.save_events(events, aggregates)
        except Exception:  # noqa: BLE001 — refused or failed: the commands run alone
            GROUPED.labels("redone").inc(len(group))
            self.alone(group)
            return
        GROUPED.labels("grouped").inc(len(group))
        for job in group:
            job.done = True

    def decide(self, group: list[Job]) -> tuple[list[Any], list[Any]]:
        """Each command decided on what the ones before it left: every new event in
        order, and every aggregate touched. Answers and errors are kept on the jobs,
        not yet marked done (the save may still fail)."""
        overlay: dict[UUID, Any] = {}
        events: list[Any] = []
        for job in group:
            marks = {i: len(a.pending_events) for i, a in overlay.items()}
            fetched = None
            try:
                fetched = self.core.fetch(job.needs, overlay)
                job.result, touched = job.decide(fetched)
            except Exception as error:  # noqa: BLE001 — this command's answer is its error
                if fetched is not None and any(
                        len(a.pending_events) != marks.get(i, 0)
                        for i, a in fetched.aggregates.items() if i in marks):
                    raise _Broken from error
                job.error = error
                continue
            job.error = None
            for aggregate in touched:
                if aggregate is None:
                    continue
                events.extend(aggregate.pending_events[marks.get(aggregate.id, 0):])
                marks[aggregate.id] = len(aggregate.pending_events)
            if any(len(a.pending_events) != marks.get(i, 0)
                   for i, a in fetched.aggregates.items() if a is not None):
                raise _Broken  # it changed an aggregate it did not name as touched
            overlay.update((i, a) for i, a in fetched.aggregates.items() if a is not None)
            overlay.update((a.id, a) for a in touched if a is not None)
        aggregates = list(overlay.values())
        for aggregate in aggregates:
            aggregate.collect_events()  # stored from ``events``, in the commands' order
        return events, aggregates

    def alone(self, group: list[Job]) -> None:
        for job in group:
            try:
                job.settle(self.core.decide_alone(job.needs, job.decide))
            except Exception as error:  # noqa: BLE001 — the command's answer is its error
                job.settle(error=error)
