"""A tamper-evident hash chain over the ledger's stored events (防篡改哈希链).

The chain lives in the event store itself, in a table beside the events, and is appended
in the *same transaction* that inserts the events, by the application recorder: whatever
writes through the recorder (``Application.save``, a batch job's ``insert_events``) is
chained, and a crash can never leave an event without its link or a link without its event.

Each link is ``sha256(previous link + stored bytes of the event)``, where the stored bytes
are the row as the store holds it: originator id (hex), originator version, topic and
state, in an unambiguous framing (:func:`event_bytes`). The first link's predecessor is 32
zero bytes. :func:`verify_chain` walks the events and the chain together in notification
order and names the first event whose stored row was edited, deleted, inserted around the
recorder, or moved (reordered).

What the chain cannot show on its own: deleting the *newest* events together with their
links, or rewriting the whole chain. Publish or copy the head link (``gongji audit verify``
prints it) somewhere the database's writers cannot reach to anchor it.

The recorders are selected by ``APPLICATION_RECORDER_TOPIC`` (see ``ledger.settings``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import retry
import psycopg
from psycopg import Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from ledger.ids import hex_of
from ledger.metrics import CountedInserts

GENESIS = bytes(32)
BATCH = 10_000


def event_bytes(originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    """The stored row of an event as hashed: ``id-hex \\n version \\n topic \\n state``."""
    return f"{hex_of(originator_id)}\n{version}\n{topic}\n".encode() + bytes(state)


def next_link(previous: bytes, event: StoredEvent) -> bytes:
    data = event_bytes(event.originator_id, event.originator_version, event.topic, event.state)
    return hashlib.sha256(previous + data).digest()


#: rows up to which an insert lists its values (:meth:`ChainedPostgresRecorder._insert_rows`)
LISTED = 8


def _columns(rows: Iterable[tuple]) -> list[list[Any]]:
    """Rows as columns: the arrays of an ``INSERT … SELECT FROM unnest(…)``."""
    return [list(column) for column in zip(*rows)]


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One stored link: which event it covers, at which position, and the link itself."""

    position: int
    originator_id: str
    originator_version: int
    link: bytes


def _links(previous: bytes, ids: Sequence[int], events: Sequence[StoredEvent]) -> list[tuple]:
    rows = []
    for position, event in zip(ids, events, strict=True):
        previous = next_link(previous, event)
        rows.append((position, hex_of(event.originator_id), event.originator_version,
                     previous.hex()))
    return rows


class ChainedSQLiteRecorder(CountedInserts, SQLiteApplicationRecorder):
    """SQLite application recorder that appends the chain in the insert transaction.

    SQLite serialises writers, and the events are inserted (taking the write lock) before
    the last link is read, so two writers can never chain from the same link.
    """

    #: events, state rows and months may carry their ids as the 32-digit hex this store
    #: keeps (a batch from a deciding process: :class:`ledger.adapters.batch.Prepared`)
    hex_ids = True

    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        self.chain_table_name = f"{events_table_name}_chain"  # before the create statements
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), (
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "notification_id INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, link TEXT NOT NULL)"
        )]

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.chain_table_name}")
            if c.fetchone()[0] == 0:  # a store from before the chain: chain what is there
                self._backfill(c)

    def _backfill(self, c: SQLiteCursor) -> None:
        c.execute(f"SELECT rowid, * FROM {self.events_table_name} ORDER BY rowid")
        rows = c.fetchall()
        events = [StoredEvent(r["originator_id"], r["originator_version"], r["topic"],
                              r["state"]) for r in rows]
        self._append(c, [r["rowid"] for r in rows], events)

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        """The events in one ``executemany`` (eventsourcing's recorder inserts them one
        ``execute`` at a time to read each ``lastrowid``), their notification ids derived.

        The events table is a rowid table without ``AUTOINCREMENT``: SQLite gives each new
        row the largest rowid + 1, and this transaction holds the write lock from its first
        insert, so the n rows get the n consecutive ids ending at ``last_insert_rowid()``,
        exactly as n single inserts would. That the last one is also the table's largest
        rowid proves it (only a table at the end of the rowid range makes SQLite pick
        rowids at random; the ids are then read back from the rows)."""
        if not stored_events:
            return []
        c.executemany(self.insert_events_statement, [
            (hex_of(s.originator_id), s.originator_version, s.topic, s.state)
            for s in stored_events])
        c.execute(f"SELECT last_insert_rowid(), MAX(rowid) FROM {self.events_table_name}")
        last, largest = c.fetchone()
        ids: list[int] = list(range(last - len(stored_events) + 1, last + 1))
        if last != largest:  # pragma: no cover — rowids at the end of the range
            ids = [self._rowid(c, s) for s in stored_events]
        self._append(c, ids, stored_events)
        return ids

    def _rowid(self, c: SQLiteCursor, event: StoredEvent) -> int:
        c.execute(f"SELECT rowid FROM {self.events_table_name} WHERE originator_id = ? "
                  "AND originator_version = ?",
                  (hex_of(event.originator_id), event.originator_version))
        return c.fetchone()[0]

    def _append(self, c: SQLiteCursor, ids: Sequence[int],
                events: Sequence[StoredEvent]) -> None:
        if not ids:
            return
        c.execute(f"SELECT link FROM {self.chain_table_name} "
                  "ORDER BY notification_id DESC LIMIT 1")
        last = c.fetchone()
        previous = bytes.fromhex(last[0]) if last else GENESIS
        c.executemany(f"INSERT INTO {self.chain_table_name} VALUES (?,?,?,?)",
                      _links(previous, ids, events))

    def select_links(self, after: int, limit: int) -> list[ChainLink]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.chain_table_name} WHERE notification_id > ? "
                      "ORDER BY notification_id LIMIT ?", (after, limit))
            return [ChainLink(r[0], r[1], r[2], bytes.fromhex(r[3])) for r in c.fetchall()]


class _PlainInsert(PostgresApplicationRecorder):
    """The events' insert of :class:`ChainedPostgresRecorder` (a base of its own, so that
    :class:`CountedInserts` wraps it): the library's ``insert_events`` in four statements
    and no pipeline, for events whose ids are UUIDs (every event of this ledger).

    The library opens the transaction, takes the lock and inserts in psycopg's pipeline
    mode, whose sending, syncing and fetching are Python. Here the same work goes as four
    plain statements on the connection:

    1. ``BEGIN`` and the library's lock statements, as one simple query;
    2. the events with the chain's head (:meth:`_insert_uuid_events`);
    3. the links with the side rows (:meth:`_fetch_ids_after_insert_events`);
    4. ``COMMIT``.

    A refused statement raises where it runs. The transaction is then rolled back before
    the connection goes back to the pool, and the library's ``get_connection`` turns
    psycopg's error into its own, as before."""

    _begin_and_lock: bytes | None = None
    _lock_bytes: list[bytes] | None = None

    def _lock_statements(self) -> list[bytes]:
        """The library's lock statements (``SET LOCAL lock_timeout``, ``LOCK TABLE … IN
        EXCLUSIVE MODE``), rendered to bytes once: passed as composed SQL objects, psycopg
        renders and quotes them again on every write."""
        if self._lock_bytes is None:
            self._lock_bytes = [s.as_bytes(None) if isinstance(s, Composable) else s
                                for s in self.lock_table_statements]
        return self._lock_bytes

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if self.datastore.enable_db_functions or not stored_events \
                or self.datastore.originator_id_type != "uuid" \
                or not all(isinstance(s.originator_id, UUID) for s in stored_events):
            return super().insert_events(stored_events, **kwargs)
        if self._begin_and_lock is None:
            self._begin_and_lock = b"; ".join([b"BEGIN", *self._lock_statements()])
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(self._begin_and_lock)
                self._insert_events(curs, stored_events, **kwargs)  # the library's hook
                self._insert_uuid_events(curs, stored_events)
                ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
                curs.execute(b"COMMIT")
            finally:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with suppress(psycopg.Error):  # a broken connection: the pool drops it
                        conn.execute(b"ROLLBACK")
        return ids


class ChainedPostgresRecorder(CountedInserts, _PlainInsert):
    """PostgreSQL application recorder that appends the chain in the insert transaction.

    The library takes ``LOCK TABLE … IN EXCLUSIVE MODE`` on the events table before the
    insert, so links are appended by one writer at a time, in notification-id order.
    """

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_table_name = f"{events_table_name}_chain"
        self._chain = Identifier(self.datastore.schema), Identifier(self.chain_table_name)
        self._table = Identifier(self.datastore.schema), Identifier(events_table_name)
        self._channel = (Identifier(self.channel_name),)
        self._rendered: dict[tuple[str, str], bytes] = {}
        self._together: dict[tuple[bytes, ...], bytes] = {}
        self._events_and_chain = (*self._table, *self._chain)
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0}.{1} (notification_id bigint PRIMARY KEY, "
            "originator_id text NOT NULL, originator_version bigint NOT NULL, "
            "link text NOT NULL)"
        ).format(*self._chain))

    def _q(self, template: str, names: str) -> bytes:
        """``SQL(template).format(*getattr(self, names))``, composed and quoted once and
        kept: composing a statement on every call was about a tenth of a PostgreSQL
        settlement's CPU (psycopg escapes each identifier, then converts the query)."""
        key = (template, names)
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = \
                SQL(template).format(*getattr(self, names)).as_bytes(None)
        return found

    def _insert_rows(self, curs: Cursor[Any], head: str, names: str, casts: Sequence[str],
                     rows: Sequence[tuple], tail: str = "") -> None:
        """``head`` + the ``rows`` + ``tail`` in one statement (:meth:`_rows_statement`)."""
        curs.execute(*self._rows_statement(head, names, casts, rows, tail))

    def _rows_statement(self, head: str, names: str, casts: Sequence[str],
                        rows: Sequence[tuple], tail: str = "") -> tuple[bytes, list[Any]]:
        """``head`` + the ``rows`` + ``tail`` as one statement, the values in binary.

        Up to :data:`LISTED` rows go as a ``VALUES`` list of plain parameters; more as one
        array a column (``SELECT * FROM unnest(…)``). psycopg writes a parameter array in
        Python, ~15–20 µs each here, where a plain value is written in C: a settlement
        saved alone (two events, their two links, a state row) passed twelve arrays,
        about a tenth of its client CPU; from ~16 rows up the arrays are the cheaper form
        (BENCHMARKS.md, eighth round). Either form keeps the rows' order (the events'
        ids come back in it)."""
        if len(rows) <= LISTED:
            row = "(" + ", ".join(f"%b::{cast}" for cast in casts) + ")"
            return (self._q(f"{head} VALUES {', '.join([row] * len(rows))}{tail}", names),
                    [value for values in rows for value in values])
        arrays = ", ".join(f"%b::{cast}[]" for cast in casts)
        return self._q(f"{head} SELECT * FROM unnest({arrays}){tail}", names), _columns(rows)

    def _execute_together(self, curs: Cursor[Any],
                          statements: Sequence[tuple[bytes, list[Any]]]) -> None:
        """Several inserts as one statement: all but the last as data-modifying ``WITH``
        queries of the last (one round of psycopg's work and one message, not one each)."""
        if not statements:
            return
        key = tuple(sql for sql, _ in statements)
        query = self._together.get(key)
        if query is None:
            *first, last = key
            query = self._together[key] = (b"WITH " + b", ".join(
                b"w%d AS (%s)" % (n, sql) for n, sql in enumerate(first)) + b" " + last
                if first else last)
        curs.execute(query, [value for _, params in statements for value in params])

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        """The library's lock statements, each on its own (:meth:`_lock_statements`)."""
        for statement in self._lock_statements():
            curs.execute(statement, prepare=True)

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._q("NOTIFY {0}", "_channel"))

    @contextmanager
    def _read(self) -> Iterator[Cursor[DictRow]]:
        """A cursor for one reading statement, on the pool's autocommit connection: no
        BEGIN and ROLLBACK around it, and its prepared statement kept (psycopg forgets
        every prepared statement of a connection when a transaction rolls back, which
        ``datastore.transaction(commit=False)`` always does)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            yield curs

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT COUNT(*) AS n FROM {0}.{1}").format(*self._chain))
            if curs.fetchone()["n"] == 0:
                self._lock_table(curs)
                curs.execute(SQL("SELECT * FROM {0}.{1} ORDER BY notification_id").format(
                    Identifier(self.datastore.schema), Identifier(self.events_table_name)))
                rows = curs.fetchall()
                events = [StoredEvent(r["originator_id"], r["originator_version"], r["topic"],
                                      bytes(r["state"])) for r in rows]
                self._append(curs, [r["notification_id"] for r in rows], events)

    def _insert_uuid_events(self, curs: Cursor[DictRow],
                            stored_events: Sequence[StoredEvent]) -> None:
        """The library's insert (``NOTIFY``, one ``INSERT … SELECT FROM unnest …
        RETURNING notification_id``) for events with UUID ids, under the table lock that
        :meth:`insert_events` took with its ``BEGIN``. The rows go as binary values or
        arrays (:meth:`_rows_statement`) instead of one array of a composite type in
        text, which psycopg writes byte by byte in Python (every state escaped, then
        searched for quotes): at a few thousand events a batch that was a third of a
        PostgreSQL credit-month. Other ids take the library's own insert."""
        # one statement does three things: the chain's last link comes back with the ids
        # (read under the table's lock) and the listeners are notified
        # (``pg_notify``, what the library's ``NOTIFY`` statement does), instead of a
        # statement and a round trip each
        query, params = self._rows_statement(
            "WITH head AS (SELECT link FROM {2}.{3} ORDER BY notification_id DESC LIMIT 1), "
            "notified AS (SELECT pg_notify(%b::text, '')) "
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state)",
            "_events_and_chain", ("uuid", "bigint", "text", "bytea"),
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
            " RETURNING notification_id, (SELECT link FROM head) AS head, "
            "(SELECT 1 FROM notified) AS notified")
        curs.execute(query, [self.channel_name, *params])

    def _fetch_ids_after_insert_events(self, curs: Cursor[DictRow],
                                       stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        """The events' ids, then their links and whatever else this recorder writes with
        them (:meth:`_side_rows`: a subclass's state rows) in one more statement."""
        assert curs.statusmessage and curs.statusmessage.startswith("INSERT"), \
            curs.statusmessage
        rows = curs.fetchall()
        ids = [row["notification_id"] for row in rows]
        if len(ids) != len(stored_events):
            raise ProgrammingError(f"Couldn't get all notification IDs (got {len(ids)}, "
                                   f"expected {len(stored_events)})")
        with curs.connection.cursor() as more:
            if rows and "head" in rows[0]:
                head = rows[0]["head"]
            else:  # the library's own insert (ids that are not UUIDs): read it now
                more.execute(self._q("SELECT link FROM {0}.{1} ORDER BY notification_id "
                                     "DESC LIMIT 1", "_chain"))
                last = more.fetchone()
                head = last["link"] if last else None
            previous = bytes.fromhex(head) if head else GENESIS
            self._execute_together(more, [
                self._links_statement(previous, ids, stored_events),
                *self._side_rows(**kwargs)])
        return ids

    def _side_rows(self, **kwargs: Any) -> list[tuple[bytes, list[Any]]]:
        """Statements written in the same statement as the links (none here)."""
        return []

    def _links_statement(self, previous: bytes, ids: Sequence[int],
                         events: Sequence[StoredEvent]) -> tuple[bytes, list[Any]]:
        return self._rows_statement("INSERT INTO {0}.{1}", "_chain",
                                    ("bigint", "text", "bigint", "text"),
                                    _links(previous, ids, events))

    def _append(self, curs: Cursor[DictRow], ids: Sequence[int],
                events: Sequence[StoredEvent]) -> None:
        """Chain ``events`` (a store from before the chain), after the last link."""
        if not ids:
            return
        curs.execute(self._q("SELECT link FROM {0}.{1} ORDER BY notification_id DESC LIMIT 1",
                             "_chain"))
        last = curs.fetchone()
        previous = bytes.fromhex(last["link"]) if last else GENESIS
        curs.execute(*self._links_statement(previous, ids, events))

    def select_links(self, after: int, limit: int) -> list[ChainLink]:
        with self._read() as curs:
            curs.execute(SQL("SELECT * FROM {0}.{1} WHERE notification_id > %s "
                             "ORDER BY notification_id LIMIT %s").format(*self._chain),
                         (after, limit))
            return [ChainLink(r["notification_id"], r["originator_id"],
                              r["originator_version"], bytes.fromhex(r["link"]))
                    for r in curs.fetchall()]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """A place where the stored events and the chain disagree."""

    position: int
    originator_id: str
    originator_version: int
    kind: str  # "edited" | "link_edited" | "deleted" | "unchained" | "reordered"
    message: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """``events``: events whose link checked out; ``head``: the last link (as stored, once
    the walk has passed a break); ``breaks``: every disagreement, in notification order."""

    events: int
    head: str
    breaks: tuple[ChainBreak, ...] = ()

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None

    @property
    def ok(self) -> bool:
        return not self.breaks


def _stream(fetch: Any) -> Iterator[Any]:
    after = 0
    while True:
        batch = fetch(after)
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].position if isinstance(batch[-1], ChainLink) else batch[-1].id


def _name(event: StoredEvent) -> str:
    return f"{event.originator_id.hex} v{event.originator_version}"


def verify_chain(recorder: ApplicationRecorder, first_only: bool = True) -> ChainReport:
    """Recompute every link from the stored rows and report where they disagree.

    Only stored bytes are read, so no content can make this fail. ``first_only`` stops at
    the first break; otherwise the walk resumes from the stored link after each break, so
    every edited, deleted, reordered or unchained event is named, each once.
    """
    if not hasattr(recorder, "select_links"):
        raise TypeError(f"{type(recorder).__name__} keeps no hash chain; "
                        "open the ledger through ledger.settings.store_env")
    events = _stream(lambda after: recorder.select_notifications(
        after, BATCH, inclusive_of_start=False))
    links = _stream(lambda after: recorder.select_links(after, BATCH))
    event, link = next(events, None), next(links, None)
    # ``previous``: the links the next event may follow (the recomputed and, after an
    # edited event, the stored one: an edited *link* then shows as such, not as two edits)
    previous, count, breaks = [GENESIS], 0, []
    while event is not None or link is not None:
        if link is None or (event is not None and event.id < link.position):
            assert event is not None
            breaks.append(ChainBreak(
                event.id, event.originator_id.hex, event.originator_version, "unchained",
                f"event #{event.id} ({_name(event)}) is not in the chain: inserted around "
                "the ledger's recorder"))
            event = next(events, None)
        elif event is None or link.position < event.id:
            breaks.append(ChainBreak(
                link.position, link.originator_id, link.originator_version, "deleted",
                f"event #{link.position} ({link.originator_id} v{link.originator_version}) "
                "recorded in the chain is missing from the store: deleted or moved"))
            previous, link = [link.link], next(links, None)
        else:
            if (event.originator_id.hex, event.originator_version) != (
                    link.originator_id, link.originator_version):
                breaks.append(ChainBreak(
                    event.id, event.originator_id.hex, event.originator_version, "reordered",
                    f"position #{event.id} holds {_name(event)} but the chain recorded "
                    f"{link.originator_id} v{link.originator_version} there: rows were "
                    "reordered"))
                previous = [link.link]
            else:
                computed = [next_link(p, event) for p in previous]
                if link.link in computed:
                    if computed.index(link.link) == 1:  # followed the recomputed link
                        edited = breaks[-1]
                        breaks[-1] = ChainBreak(
                            edited.position, edited.originator_id, edited.originator_version,
                            "link_edited", f"the chain's link of event #{edited.position} "
                            f"({edited.originator_id} v{edited.originator_version}) was "
                            "edited: the event itself still leads to the next link")
                    count += 1
                    previous = [link.link]
                else:
                    breaks.append(ChainBreak(
                        event.id, event.originator_id.hex, event.originator_version, "edited",
                        f"event #{event.id} ({_name(event)}, "
                        f"{event.topic.rsplit(':', 1)[-1]}) was edited after it was "
                        "recorded: its stored bytes no longer match its link"))
                    previous = [link.link, computed[0]]
            event, link = next(events, None), next(links, None)
        if breaks and first_only:
            break
    return ChainReport(count, previous[0].hex(), tuple(breaks))
