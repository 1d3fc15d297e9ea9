"""The projection worker: reads the notification log in batches and writes the views.

One step reads up to ``batch_size`` notifications after the views' tracking position,
turns them into one :class:`~projections.projection.ViewBatch` and writes it with the new
position in one transaction. Killed at any moment, the worker has either written a batch
and its position or neither; restarted, it carries on from the position.

An event the projection cannot apply (a decoding or handler error, a value the store
refuses) stops the worker: it applies the events before it one at a time, then raises
:class:`WorkerStopped` with a :class:`Failure` naming the position, the event and the
reason, and records that failure in the view store, where ``/v1/ready`` and ``gongji
projections status`` report it. It never sits at a position silently. A store that does
not answer is not a poison event: that error propagates as it is, and nothing is recorded.

Following new events, the worker waits for a PostgreSQL ``NOTIFY`` on the events channel
(the library sends one with every insert), with the poll interval as a timeout in case a
notification is lost; SQLite has no notifications, so there the worker polls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
import redis
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.persistence import OperationalError as StoreUnavailable
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from ledger import gcpause
from projections import pipeline
from projections.log import EventLog, LogRow
from projections.projection import Key, LedgerProjection, Row, state_decoder
from projections.stores.base import StalePosition, ViewStore

BATCH_SIZE = 10_000
#: A rebuild's batches: bigger, as nobody waits for its first views (the follow loop's
#: smaller batches keep its lag low).
REBUILD_BATCH_SIZE = 50_000
Progress = Callable[[int, int], None]  # (position, head)
#: Errors of a store that does not answer (or is busy): not the event's fault, not recorded.
UNAVAILABLE = (StoreUnavailable, psycopg.OperationalError, sqlite3.OperationalError,
               redis.ConnectionError, redis.TimeoutError)
REASON_LENGTH = 300


@dataclass(frozen=True)
class Failure:
    """Why the worker stopped: the event after ``position`` that it could not apply."""

    position: int  # the views' position: every event up to it is applied
    event: int  # the notification id of the event that failed
    topic: str
    aggregate: str  # the event's aggregate id (hex), not a person id
    version: int
    reason: str  # the exception's type and message
    at: str  # when it failed (UTC, ISO 8601)

    def message(self) -> str:
        return (f"the projection worker stopped at position {self.position}: event "
                f"{self.event} ({self.topic}, aggregate {self.aggregate} version "
                f"{self.version}) cannot be applied: {self.reason}")

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Failure | None:
        return None if stored is None else cls(**stored)


class WorkerStopped(Exception):
    """The worker met an event it cannot apply; ``failure`` says which and why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message())
        self.failure = failure


@dataclass(frozen=True)
class WorkerStatus:
    """How far the views are behind the log, in events and in seconds, and any failure."""

    store: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float  # age of the oldest event not applied yet (0 when caught up)
    failure: Failure | None

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["failure"] = None if self.failure is None else {
            **asdict(self.failure), "message": self.failure.message()}
        return body


class ViewWorker:
    """Applies the ledger's events to a view store, exactly once each."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[Any], views: ViewStore,
                 batch_size: int = BATCH_SIZE, opener: pipeline.Opener | None = None,
                 children: int = 1) -> None:
        """``opener`` opens the same stores anew (in a child process): with it, a rebuild
        projects in ``children`` child processes, each a part of the log, while this one
        writes (:mod:`projections.pipeline`)."""
        self.opener = opener
        self.children = children
        #: the events the last rebuild's children projected (all of them unless the
        #: pipeline stopped early and this process applied the rest)
        self.piped = 0
        self.recorder = recorder
        self.log = EventLog(recorder)
        self.views = views
        self.batch_size = batch_size
        self.projection = LedgerProjection(self._lookup, state_decoder(mapper))
        self._in_flight: Future[None] | None = None

    def head(self) -> int:
        return self.log.head()

    def status(self) -> WorkerStatus:
        return worker_status(self.log, self.projection.decode, self.views)

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
                gcpause.paused():
            pending = reader.submit(self.log.read, position, self.batch_size)
            try:
                while rows := pending.result():
                    pending = reader.submit(self.log.read, rows[-1][0], self.batch_size)
                    try:
                        batch = self.projection.apply(rows)
                        self._written()
                    except (StalePosition, *UNAVAILABLE):
                        raise
                    except Exception:  # noqa: BLE001 - an event of this batch is poison
                        self._settle()
                        self._stop_at_poison(rows)
                    self._in_flight = writer.submit(self.views.write, batch, position)
                    position, applied = rows[-1][0], applied + len(rows)
                    if progress is not None:
                        progress(position, max(head, position))
                try:
                    self._written()
                except (StalePosition, *UNAVAILABLE):
                    raise
                except Exception:  # noqa: BLE001 - the last batch held a poison event
                    self._stop_at_poison(self.log.read(self.views.position(), self.batch_size))
            except StalePosition:
                self._in_flight = None
                return 0  # another worker is applying; resume from the stored position
        if applied:
            self._clear_failure()
        return applied

    def _settle(self) -> None:
        """Let the write in flight finish, whatever its outcome (the store tells it)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            with contextlib.suppress(Exception):
                in_flight.result()

    def _stop_at_poison(self, rows: Sequence[LogRow]) -> None:
        """Apply ``rows`` one event at a time from the stored position up to the one that
        fails, record that failure and raise :class:`WorkerStopped` (or, when none fails,
        ``StalePosition``: the caller resumes from the stored position).

        The failing batch may have started after the stored position (an earlier batch
        still in flight failed); the events from the stored position are read again.
        """
        position = self.views.position()
        rows = list(rows) if rows and rows[0][0] == position + 1 \
            else self.log.read(position, self.batch_size)
        for row in rows:
            try:
                self.views.write(self.projection.apply([row]), position)
            except (StalePosition, *UNAVAILABLE):
                raise
            except Exception as error:  # noqa: BLE001 - this is the poison event
                failure = Failure(
                    position=position, event=row[0], topic=row[3], aggregate=row[1],
                    version=row[2], reason=f"{type(error).__name__}: {error}"[:REASON_LENGTH],
                    at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
                self.views.record_failure(asdict(failure))
                raise WorkerStopped(failure) from error
            position = row[0]
        # every event applied one at a time: the batch's error was passing; resume from here
        raise StalePosition(f"applied one at a time up to position {position}")

    def _clear_failure(self) -> None:
        """A recorded failure is cleared once the worker has applied past its event."""
        failure = Failure.of(self.views.failure())
        if failure is not None and self.views.position() >= failure.event:
            self.views.record_failure(None)

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
        """Empty the views and apply every event from position zero: projected in child
        processes when the worker has an ``opener``, then whatever is left (all of it
        without one; the rest after anything unusual) with :meth:`catch_up`."""
        self.views.reset()
        self.views.record_failure(None)
        self.piped = 0
        if self.opener is not None:
            self.piped = pipeline.run(self.views, self.opener, self.batch_size, self.head(),
                                      progress, self.children)
        return self.piped + self.catch_up(progress)

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


def worker_status(log: EventLog, decode: Callable[[bytes], dict[str, Any]],
                  views: ViewStore) -> WorkerStatus:
    """The views' lag behind ``log``: events not applied yet, and the age of the oldest."""
    position, head = views.position(), log.head()
    seconds = 0.0
    if head > position:
        rows = log.read(position, 1)
        if rows:
            seconds = max(0.0, (dt.datetime.now(dt.UTC) - _recorded(decode, rows[0][4]))
                          .total_seconds())
    return WorkerStatus(store=views.kind, position=position, head=head,
                        lag_events=max(0, head - position), lag_seconds=round(seconds, 3),
                        failure=Failure.of(views.failure()))


def _recorded(decode: Callable[[bytes], dict[str, Any]], state: bytes) -> dt.datetime:
    """When an event was recorded: its ``timestamp`` (eventsourcing's ``datetime_iso``)."""
    try:
        stamp = decode(state)["timestamp"]["_data_"]
        moment = dt.datetime.fromisoformat(stamp)
    except Exception:  # noqa: BLE001 - a poison event has no usable time: count it as now
        return dt.datetime.now(dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
