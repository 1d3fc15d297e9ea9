"""Reading many aggregates at once: one query for a batch instead of two per aggregate.

``repository.get`` costs two round trips per aggregate (latest snapshot, then the events
after it). A batch job that decides for thousands of accounts at a time asks the store
once for the batch's latest snapshots and once for the events after them, then projects
each aggregate with eventsourcing's own mapper and mutators, so the aggregates are the
same objects ``repository.get`` would give (same upcasting, cipher, compression).

The store is read through the recorders' own connections and table names; nothing here
writes. Key order: every query returns rows ordered by originator id, which is also the
order in which a batch should be written back (see :mod:`ledger.adapters.batch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder

from ledger.adapters.state import StateCodec
from ledger.ids import as_uuid

_COLUMNS = "originator_id, originator_version, topic, state"


class BulkReader:
    """Batched reads of aggregates and of aggregate ids in key order, SQLite or PostgreSQL."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.events = app.recorder
        self.snapshots = app.snapshots.recorder if app.snapshots is not None else None
        self.postgres = isinstance(self.events, PostgresAggregateRecorder)

    # -- aggregates ---------------------------------------------------------------------

    def aggregates(self, ids: Iterable[UUID], states: bool = True,
                   rows_only: bool = False) -> dict[UUID, Aggregate]:
        """The current state of each id that exists (missing ids are simply absent): from
        the state rows (:mod:`ledger.adapters.state`) in one query, and for ids without
        one (or with ``states=False``) from snapshots and events.

        ``rows_only``: the state rows alone, an id without one taken for no aggregate. For
        a batch that *creates* what is missing (the people import): were one there after
        all (its events stored without a row), its version 1 is taken and the events' key
        refuses the batch, which is then redone account by account from the events."""
        ids = sorted(dict.fromkeys(ids))  # a batch comes in key order: kept, sorted in O(n)
        if not ids:
            return {}
        state: dict[UUID, Any] = {}
        select = getattr(self.events, "select_states", None)
        if states and select is not None:
            codec = StateCodec(self.app.mapper)
            for row in select(ids):
                account = codec.load(row)
                if account is not None:
                    state[row.originator_id] = account
            ids = [i for i in ids if i not in state]
            if not ids or rows_only:
                return state
        after: dict[UUID, int] = dict.fromkeys(ids, 0)
        if self.snapshots is not None:
            for stored in self._latest_snapshots(ids):
                snapshot = self.app.mapper.to_domain_event(stored)
                state[snapshot.originator_id] = snapshot.mutate(None)
                after[snapshot.originator_id] = snapshot.originator_version
        for stored in self._events_after(after):
            event = self.app.mapper.to_domain_event(stored)
            state[event.originator_id] = event.mutate(state.get(event.originator_id))
        return state

    def _latest_snapshots(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        recorder = self.snapshots
        assert recorder is not None
        if self.postgres:
            sql = (f"SELECT DISTINCT ON (originator_id) {_COLUMNS} "
                   f"FROM {self._table(recorder)} WHERE originator_id = ANY(%s) "
                   "ORDER BY originator_id, originator_version DESC")
            return self._select(recorder, sql, [list(ids)])
        # SQLite returns the bare columns of the row that holds the MAX().
        sql = (f"SELECT originator_id, MAX(originator_version) AS originator_version, topic, "
               f"state FROM {recorder.events_table_name} "
               f"WHERE originator_id IN ({','.join('?' * len(ids))}) GROUP BY originator_id")
        return self._select(recorder, sql, [i.hex for i in ids])

    def _events_after(self, after: dict[UUID, int]) -> list[StoredEvent]:
        recorder = self.events
        if self.postgres:
            sql = (f"SELECT {', '.join('e.' + c for c in _COLUMNS.split(', '))} "
                   "FROM unnest(%s::uuid[], %s::bigint[]) AS b(id, v) "
                   f"JOIN {self._table(recorder)} e ON e.originator_id = b.id "
                   "AND e.originator_version > b.v "
                   "ORDER BY e.originator_id, e.originator_version")
            return self._select(recorder, sql, [list(after), list(after.values())])
        values = ",".join("(?,?)" for _ in after)
        sql = (f"WITH b(id, v) AS (VALUES {values}) SELECT {_COLUMNS} "
               f"FROM b JOIN {recorder.events_table_name} e "
               "ON e.originator_id = b.id AND e.originator_version > b.v "
               "ORDER BY e.originator_id, e.originator_version")
        params: list[Any] = []
        for originator_id, version in after.items():
            params += (originator_id.hex, version)
        return self._select(recorder, sql, params)

    def events_from(self, low: UUID, limit: int) -> list[StoredEvent]:
        """The first ``limit`` stored events of the aggregates ``>= low``, in key order (the
        last aggregate's may be cut short): a job that visits accounts in key order reads
        their histories a range at a time (:class:`ledger.year_end.Histories`)."""
        recorder = self.events
        if self.postgres:
            sql = (f"SELECT {_COLUMNS} FROM {self._table(recorder)} WHERE originator_id >= %s "
                   "ORDER BY originator_id, originator_version LIMIT %s")
            return self._select(recorder, sql, [low, limit])
        sql = (f"SELECT {_COLUMNS} FROM {recorder.events_table_name} WHERE originator_id >= ? "
               "ORDER BY originator_id, originator_version LIMIT ?")
        return self._select(recorder, sql, [low.hex, limit])

    # -- ids in key order ---------------------------------------------------------------

    def ids_by_topic(
        self, topic: str, low: UUID, high: UUID | None, batch: int
    ) -> Iterator[list[UUID]]:
        """Ids of aggregates whose version 1 has ``topic``, ``low <= id < high``, ascending.

        Walks the ``(originator_id, originator_version)`` key, so the ids come in the
        order their rows sit in the index: writing batches in this order touches the
        index almost sequentially even though the ids themselves look random.
        """
        recorder = self.events
        cursor: UUID | None = None
        while True:
            # one lower bound: from ``low`` on, then past the last id read. With two (``>=
            # low AND > cursor``) SQLite seeks to ``low`` and steps over every key before
            # the cursor on every page: a walk of n accounts cost O(n²)
            bound, since = (">", cursor) if cursor else (">=", low)
            if self.postgres:
                sql = (f"SELECT originator_id FROM {self._table(recorder)} "
                       f"WHERE originator_version = 1 AND topic = %s AND originator_id {bound} %s "
                       f"{'AND originator_id < %s ' if high else ''}"
                       "ORDER BY originator_id LIMIT %s")
                params: list[Any] = [topic, since, *([high] if high else []), batch]
            else:
                sql = (f"SELECT originator_id FROM {recorder.events_table_name} "
                       f"WHERE originator_id {bound} ? "
                       f"{'AND originator_id < ? ' if high else ''}"
                       "AND originator_version = 1 AND topic = ? "
                       "ORDER BY originator_id LIMIT ?")
                params = [since.hex, *([high.hex] if high else []), topic, batch]
            rows = self._fetch(recorder, sql, params)
            ids = [as_uuid(r[0]) for r in rows]  # SQLite: its 32-digit hex
            if ids:
                yield ids
            if len(ids) < batch:
                return
            cursor = ids[-1]

    # -- every snapshot (for a copy of the store) ---------------------------------------

    def snapshot_rows(self, batch: int) -> Iterator[list[StoredEvent]]:
        """Every stored snapshot as stored, in key order, ``batch`` rows at a time."""
        recorder = self.snapshots
        if recorder is None:
            return
        mark = "%s" if self.postgres else "?"
        table = self._table(recorder) if self.postgres else recorder.events_table_name
        last: tuple[Any, int] | None = None
        while True:
            where = (f"WHERE (originator_id, originator_version) > ({mark}, {mark}) "
                     if last else "")
            sql = (f"SELECT {_COLUMNS} FROM {table} {where}"
                   f"ORDER BY originator_id, originator_version LIMIT {int(batch)}")
            rows = self._select(recorder, sql, list(last) if last else [])
            if rows:
                yield rows
            if len(rows) < batch:
                return
            tail = rows[-1]
            last = (tail.originator_id if self.postgres else tail.originator_id.hex,
                    tail.originator_version)

    # -- plumbing -----------------------------------------------------------------------

    def _table(self, recorder: Any) -> str:
        return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'

    def _fetch(self, recorder: Any, sql: str, params: list[Any]) -> list[Any]:
        if self.postgres:
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(sql, params)
                return [tuple(row.values()) for row in curs.fetchall()]
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(sql, params)
            return [tuple(row) for row in curs.fetchall()]

    def _select(self, recorder: Any, sql: str, params: list[Any]) -> list[StoredEvent]:
        return [
            StoredEvent(
                originator_id=as_uuid(oid),
                originator_version=version, topic=topic, state=bytes(state),
            )
            for oid, version, topic, state in self._fetch(recorder, sql, params)
        ]
