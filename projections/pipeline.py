"""The rebuild's pipeline: child processes read, decode and project; the worker's own
process writes.

Decoding and projecting is Python work that holds the GIL (about three quarters of a
rebuild's time); writing is mostly the database's. In one process, threads cannot run the
two side by side; in several processes they do. The log is cut two ways:

- into *ranges* of ``batch_size`` notification ids, written one at a time, in order, each
  with its compare-and-set on the position, exactly as
  :meth:`~projections.worker.ViewWorker.catch_up` writes its batches;
- into *parts* by aggregate (:func:`projections.log.part_of`: ranges of the originator
  ids), one per child. Every event of an aggregate is in one part, and no view
  row takes a *value* from two aggregates (an account's rows from its own events, a
  transaction's from its own; rows that several aggregates feed — the fund, statement,
  institution and family sums — are only *added* to), so the children's changes of one
  range add up to the one-process batch of that range, whatever their order.

Each child opens its own connections (through the ``opener`` it is given: nothing opened
by the parent crosses the fork), reads its part of each range, projects it into a
:class:`~projections.projection.ViewBatch`, prepares it for the store (the CPU part of a
write: :meth:`~projections.stores.base.ViewStore.prepare`, compact tuples that pickle
fast) and sends it; the parent writes the parts of a range together
(:meth:`~projections.stores.base.ViewStore.write_parts`) and acknowledges the range to
every child.

The projection's rare lookups of rows written by earlier ranges (a person enrolled before
the rebuild's start, a reversed transaction older than its recent-transactions memory)
wait for the parent's acknowledgement of every range the child sent so far, then read the
views through the child's own connection: they see what the one-process worker would see
of that aggregate (only its own part writes its rows).

Anything unusual — an event the projection cannot apply, a store that fails in a child,
another worker moving the position — ends the pipeline where the views stand, and the
caller finishes with the one-process ``catch_up``, which handles each case as it always
has (a poison event recorded and reported, a racing worker left alone).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue as queues
from collections.abc import Callable, Sequence
from typing import Any

from ledger import gcpause
from projections.log import EventLog
from projections.projection import Key, LedgerProjection, Row, state_decoder
from projections.stores.base import ViewStore

#: Opens, in the child, what it reads from: the ledger (its recorder and mapper; kept
#: open while the child runs) and the views, without creating their tables
#: (``open_views(…, create=False)``): a child writes nothing, and on SQLite the creation's
#: write fails at once beside the parent's (or another child's) writes.
Opener = Callable[[], tuple[Any, ViewStore]]
Progress = Callable[[int, int], None]
AHEAD = 3  # ranges projected but not yet written, per child, at most (bounds the memory)
#: Seconds a living child may go without sending its next range before the pipeline gives
#: up on it (a range of the largest batch takes a few seconds): a child that is stuck — a
#: lock held by another thread of the parent at the fork, a store that never answers — is
#: then treated as stopped, and the one-process ``catch_up`` finishes the rebuild.
STALL = 300.0


def children() -> int:
    """How many children project by default: one per core, so that they and the writer
    share every core (measured on 2 cores: BENCHMARKS.md, "Rebuild of the views (h9r)")."""
    return max(1, min(4, os.cpu_count() or 1))


def project(opener: Opener, after: int, head: int, batch_size: int, part: int, parts: int,
            batches: Any, acks: Any) -> None:
    """A child: project its ``part`` of every range after ``after`` up to ``head`` and send
    each; then ``None``."""
    gc.disable()  # a batch makes many small containers and no cycles
    ledger, views = opener()
    log = EventLog(ledger.recorder)
    sent = [after, after]  # last position sent, last acknowledged

    def lookup(table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        while sent[1] < sent[0]:
            sent[1] = acks.get()
        return views.lookup(table, keys)

    projection = LedgerProjection(lookup, state_decoder(ledger.mapper))
    try:
        position = after
        while position < head:
            last = min(position + batch_size, head)
            rows = log.read_part(position, last, part, parts)
            try:
                batch = projection.apply(rows)
            except Exception:  # noqa: BLE001 - the parent's catch_up finds and records it
                break
            batches.put((last, len(rows), views.prepare(batch)))
            sent[0] = position = last
    finally:
        batches.put(None)
        views.close()


def run(views: ViewStore, opener: Opener, batch_size: int, head: int,
        progress: Progress | None = None, parts: int = 1) -> int:
    """Write what ``parts`` children project, from the views' position up to ``head``;
    the events applied."""
    context = multiprocessing.get_context("fork")
    position = views.position()
    channels = [(context.Queue(AHEAD), context.SimpleQueue()) for _ in range(parts)]
    workers = [context.Process(target=project, name=f"gongji-project-{part}", daemon=True,
                               args=(opener, position, head, batch_size, part, parts,
                                     batches, acks))
               for part, (batches, acks) in enumerate(channels)]
    for worker in workers:
        worker.start()
    applied = 0
    try:
        with gcpause.paused():
            while position < head:
                received = [_receive(batches, worker)
                            for (batches, _), worker in zip(channels, workers)]
                if any(item is None for item in received) \
                        or len({last for last, _, _ in received}) != 1:
                    break  # a child stopped (a poison event, its store): catch_up takes over
                last = received[0][0]
                try:
                    views.write_parts([prepared for _, _, prepared in received], last,
                                      position)
                except Exception:  # noqa: BLE001 - a racing worker, a refused value:
                    break  # catch_up meets it again from the stored position, as ever
                for _, acks in channels:
                    acks.put(last)
                position, applied = last, applied + sum(count for _, count, _ in received)
                if progress is not None:
                    progress(position, max(head, position))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        for batches, _ in channels:
            batches.close()
    return applied


def _receive(batches: Any, worker: Any) -> Any:
    """The child's next range, or None when it ended, died (its store failed) or sent
    nothing for :data:`STALL` seconds."""
    waited = 0.0
    while True:
        wait = min(5.0, max(STALL - waited, 0.01))
        try:
            return batches.get(timeout=wait)
        except queues.Empty:
            waited += wait
            if not worker.is_alive() or waited >= STALL:
                return None
