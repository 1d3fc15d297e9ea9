"""Reading the notification log in bulk, as plain tuples.

``select_notifications`` builds a frozen ``Notification`` and a ``UUID`` per row, which
caps a reader near 150,000 events a second; a projection needs neither (it keys accounts
by their hex id). :class:`EventLog` runs the same ordered, ``id > after`` query on the
recorder's own connection pool and returns ``(id, originator hex, version, topic, state)``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

LogRow = tuple[int, str, int, str, bytes]
HEX = "0123456789abcdef"


def part_of(originator: str, parts: int) -> int:
    """The part of the log an aggregate's events fall in, of ``parts`` (at most 16): the
    ids cut into ``parts`` ranges by their first hex digit, ``digit × parts // 16`` (each
    store's query below takes the same range, :func:`part_bounds`)."""
    return HEX.index(originator[0]) * parts // 16


def part_bounds(part: int, parts: int) -> tuple[str, str | None]:
    """The range of 32-digit hex ids in ``part`` of ``parts``: ``low <= id < high``, high
    None for the last part. A range compares two strings a row; the last digit's value
    modulo ``parts`` (the cut before) made SQLite call three functions a row, on the
    rows of every part."""
    if not 1 <= parts <= 16 or not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}: 1 to 16 parts")
    digits = [digit for digit in HEX if part_of(digit, parts) == part]  # part_of's cut
    after = HEX.index(digits[-1]) + 1
    return digits[0] + "0" * 31, None if after == 16 else HEX[after] + "0" * 31


class EventLog:
    """The stored events after a position, in notification order, in batches."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder
        table = getattr(recorder, "events_table_name", "")
        if isinstance(recorder, SQLiteApplicationRecorder):
            self._query: Any = (
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?")
            self._part: Any = (
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {table} WHERE rowid > ? AND rowid <= ? "
                "AND originator_id >= ? AND (originator_id < ? OR ?) ORDER BY rowid")
            self._of: Any = ("SELECT rowid, originator_id, originator_version, topic, state "
                             f"FROM {table} WHERE originator_id = ? "
                             "ORDER BY originator_version")
        elif isinstance(recorder, PostgresApplicationRecorder):
            self._query = SQL(
                "SELECT notification_id, replace(originator_id::text, '-', ''), "
                "originator_version, topic, state FROM {0}.{1} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(Identifier(recorder.datastore.schema), Identifier(table))
            self._part = SQL(
                "SELECT notification_id, replace(originator_id::text, '-', ''), "
                "originator_version, topic, state FROM {0}.{1} "
                "WHERE notification_id > %s AND notification_id <= %s "
                "AND originator_id >= %s AND (originator_id < %s OR %s) "
                "ORDER BY notification_id"
            ).format(Identifier(recorder.datastore.schema), Identifier(table))
            self._of = SQL(
                "SELECT notification_id, replace(originator_id::text, '-', ''), "
                "originator_version, topic, state FROM {0}.{1} "
                "WHERE originator_id = %s ORDER BY originator_version"
            ).format(Identifier(recorder.datastore.schema), Identifier(table))
        else:
            self._query = None

    def read(self, after: int, limit: int) -> list[LogRow]:
        """Up to ``limit`` events with notification id greater than ``after``."""
        recorder = self.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as wrapped:
                c = _plain(wrapped)
                c.execute(self._query, (after, limit))
                return c.fetchall()
        if isinstance(recorder, PostgresApplicationRecorder):
            with recorder.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row, binary=True) as c:
                c.execute(self._query, (after, limit))
                return c.fetchall()
        return [(n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
                for n in recorder.select_notifications(after, limit, inclusive_of_start=False)]

    def read_part(self, after: int, until: int, part: int, parts: int) -> list[LogRow]:
        """The events with ``after < id <= until`` of the aggregates in ``part`` of
        ``parts`` (:func:`part_of`): every event of an aggregate falls in one part, so the
        parts can be projected side by side (:mod:`projections.pipeline`)."""
        recorder = self.recorder
        low, high = part_bounds(part, parts)
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as wrapped:
                c = _plain(wrapped)
                c.execute(self._part, (after, until, low, high or low, high is None))
                return c.fetchall()
        if isinstance(recorder, PostgresApplicationRecorder):
            with recorder.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row, binary=True) as c:
                c.execute(self._part, (after, until, UUID(low), UUID(high or low),
                                       high is None))
                return c.fetchall()
        return [row for row in self.read(after, until - after)
                if row[0] <= until and part_of(row[1], parts) == part]

    def of(self, originator: UUID) -> list[LogRow]:
        """Every event of one aggregate, by version, each with its position in the log."""
        recorder = self.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as wrapped:
                c = _plain(wrapped)
                c.execute(self._of, (originator.hex,))
                return c.fetchall()
        if isinstance(recorder, PostgresApplicationRecorder):
            with recorder.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row, binary=True) as c:
                c.execute(self._of, (originator,))
                return c.fetchall()
        return [(0, originator.hex, e.originator_version, e.topic, e.state)
                for e in recorder.select_events(originator)]

    def containing(self, topic: str, needle: bytes) -> list[LogRow] | None:
        """Every event of ``topic`` whose stored state contains ``needle``, in log order,
        filtered by the database (None where this store cannot: the caller scans)."""
        recorder, table = self.recorder, getattr(self.recorder, "events_table_name", "")
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as wrapped:
                c = _plain(wrapped)
                c.execute("SELECT rowid, originator_id, originator_version, topic, state "
                          f"FROM {table} WHERE topic = ? AND instr(state, ?) > 0 "
                          "ORDER BY rowid", (topic, needle))
                return c.fetchall()
        if isinstance(recorder, PostgresApplicationRecorder):
            query = SQL(
                "SELECT notification_id, replace(originator_id::text, '-', ''), "
                "originator_version, topic, state FROM {0}.{1} "
                "WHERE topic = %s AND position(%s::bytea in state) > 0 ORDER BY notification_id"
            ).format(Identifier(recorder.datastore.schema), Identifier(table))
            with recorder.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row, binary=True) as c:
                c.execute(query, (topic, needle))
                return c.fetchall()
        return None

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0


def _plain(cursor: Any) -> Any:
    """The SQLite cursor under eventsourcing's wrapper, set to return plain tuples (not
    ``sqlite3.Row``: cheaper to make, and picklable)."""
    raw = getattr(cursor, "sqlite_cursor", cursor)
    raw.row_factory = None
    return raw
