"""The rebuild's two-process pipeline: a child process reads, decodes and projects; the
worker's own process writes.

Decoding and projecting is Python work that holds the GIL (about two thirds of a
rebuild's time); writing is mostly the database's. In one process, threads cannot run the
two side by side; in two processes they do. The child opens its own connections (through
the ``opener`` it is given: nothing opened by the parent crosses the fork), reads the log
after the views' position in batches, projects each into a
:class:`~projections.projection.ViewBatch`, prepares it for the store (the CPU part of a
write: :meth:`~projections.stores.base.ViewStore.prepare`, compact tuples that pickle
fast) and sends it; the parent writes the batches in order, each with its compare-and-set on the position, exactly as
:meth:`~projections.worker.ViewWorker.catch_up` does, and acknowledges each.

The projection's rare lookups of rows written by earlier batches (a person enrolled before
the rebuild's start, a reversed transaction older than its recent-transactions memory) wait
for the parent's acknowledgement of every batch sent so far, then read the views through
the child's own connection: they see exactly what the one-process worker would see.

Anything unusual — an event the projection cannot apply, a store that fails in the child,
another worker moving the position — ends the pipeline where the views stand, and the
caller finishes with the one-process ``catch_up``, which handles each case as it always
has (a poison event recorded and reported, a racing worker left alone).
"""

from __future__ import annotations

import gc
import multiprocessing
import queue as queues
from collections.abc import Callable, Sequence
from typing import Any

from projections.log import EventLog
from projections.projection import Key, LedgerProjection, Row, state_decoder
from projections.stores.base import ViewStore

#: Opens, in the child, what it reads from: the ledger (its recorder and mapper; kept
#: open while the child runs) and the views.
Opener = Callable[[], tuple[Any, ViewStore]]
Progress = Callable[[int, int], None]
AHEAD = 3  # batches projected but not yet written, at most (bounds the memory)


def project(opener: Opener, after: int, batch_size: int, batches: Any, acks: Any) -> None:
    """The child: project every batch after ``after`` and send it; then ``None``."""
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
        while rows := log.read(position, batch_size):
            try:
                batch = projection.apply(rows)
            except Exception:  # noqa: BLE001 - the parent's catch_up finds and records it
                break
            batches.put((rows[-1][0], len(rows), views.prepare(batch)))
            sent[0] = position = rows[-1][0]
    finally:
        batches.put(None)
        views.close()


def run(views: ViewStore, opener: Opener, batch_size: int, head: int,
        progress: Progress | None = None) -> int:
    """Write what the child projects, from the views' position; the events applied."""
    context = multiprocessing.get_context("fork")
    batches = context.Queue(AHEAD)
    acks = context.SimpleQueue()
    position = views.position()
    child = context.Process(target=project, name="gongji-project", daemon=True,
                            args=(opener, position, batch_size, batches, acks))
    child.start()
    applied = 0
    try:
        while True:
            try:
                item = batches.get(timeout=5)
            except queues.Empty:
                if child.is_alive():
                    continue
                break  # the child died (its store failed): catch_up takes over
            if item is None:
                break
            last, count, prepared = item
            try:
                views.write_prepared(prepared, last, position)
            except Exception:  # noqa: BLE001 - a racing worker, a refused value: catch_up
                break  # meets it again from the stored position and handles it as ever
            acks.put(last)
            position, applied = last, applied + count
            if progress is not None:
                progress(position, max(head, position))
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        batches.close()
    return applied
