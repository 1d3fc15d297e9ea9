"""The projection worker: reads the notification log in batches and writes the views.

One step reads up to ``batch_size`` notifications after the views' tracking position,
turns them into one :class:`~projections.projection.ViewBatch` and writes it with the new
position in one transaction. Killed at any moment, the worker has either written a batch
and its position or neither; restarted, it carries on from the position.

Following new events, the worker waits for a PostgreSQL ``NOTIFY`` on the events channel
(the library sends one with every insert), with the poll interval as a timeout in case a
notification is lost; SQLite has no notifications, so there the worker polls.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from projections.log import EventLog
from projections.projection import Key, LedgerProjection, Row, state_decoder
from projections.stores.base import StalePosition, ViewStore

BATCH_SIZE = 10_000
Progress = Callable[[int, int], None]  # (position, head)


class ViewWorker:
    """Applies the ledger's events to a view store, exactly once each."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[Any], views: ViewStore,
                 batch_size: int = BATCH_SIZE) -> None:
        self.recorder = recorder
        self.log = EventLog(recorder)
        self.views = views
        self.batch_size = batch_size
        self.projection = LedgerProjection(self._lookup, state_decoder(mapper))
        self._in_flight: Future[None] | None = None

    def head(self) -> int:
        return self.log.head()

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply everything recorded so far; the number of events applied.

        A three-stage pipeline: one thread reads batch N+1 while the main thread decodes and
        projects batch N and another thread writes batch N−1 — the database's own work runs
        outside the GIL, beside the decoding. Writes stay in order, one in flight at a time,
        each a compare-and-set on the position the previous one left.
        """
        position, head, applied = self.views.position(), self.head(), 0
        with ThreadPoolExecutor(1, thread_name_prefix="gongji-log") as reader, \
                ThreadPoolExecutor(1, thread_name_prefix="gongji-views") as writer, \
                _gc_paused():
            pending = reader.submit(self.log.read, position, self.batch_size)
            try:
                while rows := pending.result():
                    pending = reader.submit(self.log.read, rows[-1][0], self.batch_size)
                    batch = self.projection.apply(rows)
                    self._written()
                    self._in_flight = writer.submit(self.views.write, batch, position)
                    position, applied = rows[-1][0], applied + len(rows)
                    if progress is not None:
                        progress(position, max(head, position))
                self._written()
            except StalePosition:
                self._in_flight = None
                return 0  # another worker is applying; resume from the stored position
        return applied

    def _written(self) -> None:
        """Wait for the write in flight (it raises ``StalePosition`` if it lost a race)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def _lookup(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        """The projection's lookups see every batch applied so far: wait for the writer."""
        self._written()
        return self.views.lookup(table, keys)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empty the views and apply every event from position zero."""
        self.views.reset()
        return self.catch_up(progress)

    def follow(self, stop: threading.Event, poll: float = 1.0,
               applied: Callable[[int], None] | None = None) -> None:
        """Keep the views up to date until ``stop`` is set."""
        with _notifications(self.recorder) as wait:
            while not stop.is_set():
                count = self.catch_up()
                if count and applied is not None:
                    applied(count)
                if not count:
                    wait(stop, poll)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """A batch makes ~10 containers per event and no cycles: don't let the collector rescan."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _notifications(recorder: ApplicationRecorder) -> Iterator[Callable[[threading.Event, float], None]]:
    """A ``wait(stop, timeout)`` that returns early on a PostgreSQL NOTIFY of new events."""
    if not isinstance(recorder, PostgresApplicationRecorder):
        yield lambda stop, timeout: stop.wait(timeout)
        return
    with recorder.datastore.get_connection() as conn:
        conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))

        def wait(stop: threading.Event, timeout: float) -> None:
            slice_ = min(timeout, 0.25)  # stays responsive to stop
            waited = 0.0
            while waited < timeout and not stop.is_set():
                if any(True for _ in conn.notifies(timeout=slice_, stop_after=1)):
                    return
                waited += slice_

        try:
            yield wait
        finally:
            conn.execute(SQL("UNLISTEN {0}").format(Identifier(recorder.channel_name)))
