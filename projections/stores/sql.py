"""Views in the event store's own database (SQLite file or PostgreSQL schema).

The view stores are eventsourcing ``TrackingRecorder`` subclasses: the library's tracking
table holds the position (row ``Ledger/views``), and :meth:`SQLViews.write` upserts a
batch's rows and compare-and-sets that position in one transaction. Their tables are named
``gongji_view_*``: SQLite tables of eventsourcing are not prefixed per application, so ours
are named so that they cannot collide.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder
from eventsourcing.utils import Environment

from ledger.adapters.store import init_lock, store_env
from projections.projection import Key, Row, ViewBatch
from projections.stores.base import TRACKING_NAME, StalePosition, ViewStore
from projections.tables import (
    ACCOUNTS, BY_NAME, DAILY, INT, POOLING, REGIONS, TABLES, TEXT, Table,
)

LOOKUP_CHUNK = 500
#: The worker's status beside the views (not a view: a rebuild keeps it): ``failure`` → JSON.
STATUS = Table("status", (("name", TEXT),), set=(("value", TEXT),))


class SQLViews(ViewStore):
    """The SQL of the views, shared by both databases; subclasses give the dialect."""

    kind = "sql"
    mark = "?"
    int_type = "INTEGER"
    table_options = ""

    # -- dialect ------------------------------------------------------------------------

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=commit)  # type: ignore[attr-defined]

    def _reading(self) -> AbstractContextManager[Any]:
        """A cursor for one read-only statement (the balance read's)."""
        return self._transaction(commit=False)

    def table_name(self, table: Table) -> str:
        return f"gongji_view_{table.name}"

    def tracking_name(self) -> str:
        return "tracking"

    # -- statements ---------------------------------------------------------------------

    def _view_ddl(self, table: Table) -> str:
        types = table.types()
        columns = ", ".join(
            f"{name} {self.int_type if types[name] == INT else 'TEXT'}"
            + (" NOT NULL DEFAULT 0" if name in table.added else "")
            for name in table.columns
        )
        return (f"CREATE TABLE IF NOT EXISTS {self.table_name(table)} "
                f"({columns}, PRIMARY KEY ({', '.join(table.key_names)})){self.table_options}")

    def _upsert(self, table: Table, rows: int = 1) -> str:
        columns = table.columns
        updates = [f"{a} = v.{a} + excluded.{a}" for a in table.added]
        updates += [f"{s} = COALESCE(excluded.{s}, v.{s})" for s, _ in table.set]
        row = f"({', '.join([self.mark] * len(columns))})"
        return (f"INSERT INTO {self.table_name(table)} AS v ({', '.join(columns)}) "
                f"VALUES {', '.join([row] * rows)} "
                f"ON CONFLICT ({', '.join(table.key_names)}) DO UPDATE SET {', '.join(updates)}")

    def _account_read(self) -> str:
        """The balance read in one statement: the tracking position, the account row and
        its pooling rows (one result row per pooling row; one with NULLs when none)."""
        columns = ["t.notification_id AS at_position",
                   *(f"a.{c} AS a_{c}" for c in ACCOUNTS.columns),
                   *(f"p.{c} AS p_{c}" for c in POOLING.columns)]
        return (f"SELECT {', '.join(columns)} FROM {self.tracking_name()} t "
                f"LEFT JOIN {self.table_name(ACCOUNTS)} a ON a.person = {self.mark} "
                f"LEFT JOIN {self.table_name(POOLING)} p ON p.person = a.person "
                f"WHERE t.application_name = {self.mark}")

    def _create_views(self, c: Any) -> None:
        for table in (*TABLES, STATUS):
            c.execute(self._view_ddl(table))
        c.execute(f"INSERT INTO {self.tracking_name()} VALUES ({self.mark}, 0) "
                  "ON CONFLICT DO NOTHING", (TRACKING_NAME,))

    # -- the store ----------------------------------------------------------------------

    def position(self) -> int:
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT notification_id FROM {self.tracking_name()} "
                      f"WHERE application_name = {self.mark}", (TRACKING_NAME,))
            row = c.fetchone()
        return row["notification_id"] if row else 0

    def write(self, batch: ViewBatch, expected: int) -> None:
        if batch.last > expected:
            self.write_prepared(self.prepare(batch), batch.last, expected)

    def prepare(self, batch: ViewBatch) -> dict[str, list[tuple[Any, ...]]]:
        """Each table's upsert parameters: key, then sums (0 when not added), then values
        (None when not set)."""
        prepared = {}
        for name, changes in batch.rows.items():
            if not changes:
                continue
            table = BY_NAME[name]
            added, zeros = table.added, (0,) * len(table.added)
            values = tuple(s for s, _ in table.set)
            if not values and len(added) == 1:  # the daily changes: most rows of a rebuild
                column = added[0]
                rows = [(*key, sums.get(column, 0)) for key, (sums, _) in changes.items()]
            elif not values:
                rows = [key + tuple(map(sums.get, added, zeros))
                        for key, (sums, _) in changes.items()]
            elif not added:
                rows = [key + tuple(map(sets.get, values)) for key, (_, sets) in changes.items()]
            else:
                rows = [key + tuple(map(sums.get, added, zeros)) + tuple(map(sets.get, values))
                        for key, (sums, sets) in changes.items()]
            prepared[name] = rows
        return prepared

    def write_parts(self, parts: Sequence[dict[str, list[tuple[Any, ...]]]], last: int,
                    expected: int) -> None:
        """One transaction; each part's rows by their own statements (a PostgreSQL upsert
        may not meet one key twice, and the parts share the rows they add to)."""
        with self._transaction(commit=True) as c:
            c.execute(f"UPDATE {self.tracking_name()} SET notification_id = {self.mark} "
                      f"WHERE application_name = {self.mark} AND notification_id = {self.mark} "
                      "RETURNING notification_id", (last, TRACKING_NAME, expected))
            if c.fetchone() is None:
                raise StalePosition(f"the views are no longer at position {expected}")
            for prepared in parts:
                for name, rows in prepared.items():
                    self._write_rows(c, BY_NAME[name], rows)

    def _write_rows(self, c: Any, table: Table, rows: list[tuple[Any, ...]]) -> None:
        c.executemany(self._upsert(table), rows)

    #: how person ids compare, so that the range of a prefix is exact (code-point order)
    binary = ""

    def people(self, prefix: str, region: str | None, after: str | None,
               limit: int) -> list[Row]:
        """A range of the accounts' primary key: ``prefix ≤ person < prefix + U+10FFFF``."""
        person, m = f"person{self.binary}", self.mark
        where, params = [f"{person} >= {m}", f"{person} < {m}"], [prefix, prefix + "\U0010ffff"]
        if after is not None:
            where.append(f"{person} > {m}")
            params.append(after)
        if region is not None:
            where.append(f"region = {m}")
            params.append(region)
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.table_name(ACCOUNTS)} WHERE {' AND '.join(where)} "
                      f"ORDER BY {person} LIMIT {m}", (*params, limit))
            return [dict(row) for row in c.fetchall()]

    def account_rows(self, person: str) -> tuple[int, Row | None, list[Row]]:
        """One statement (see :meth:`ViewStore.account_rows`)."""
        statement = self.__dict__.get("_account_statement")
        if statement is None:
            statement = self.__dict__["_account_statement"] = self._account_read()
        with self._reading() as c:
            c.execute(statement, (person, TRACKING_NAME))
            found = c.fetchall()
        if not found:
            return 0, None, []
        first = found[0]
        if first["a_person"] is None:
            return first["at_position"], None, []
        account = {c: first[f"a_{c}"] for c in ACCOUNTS.columns}
        pooling = [{c: row[f"p_{c}"] for c in POOLING.columns}
                   for row in found if row["p_person"] is not None]
        return first["at_position"], account, pooling

    def failure(self) -> dict[str, Any] | None:
        with self._transaction(commit=False) as c:
            c.execute(f"SELECT value FROM {self.table_name(STATUS)} WHERE name = {self.mark}",
                      ("failure",))
            row = c.fetchone()
        return json.loads(row["value"]) if row else None

    def record_failure(self, failure: dict[str, Any] | None) -> None:
        with self._transaction(commit=True) as c:
            c.execute(f"DELETE FROM {self.table_name(STATUS)} WHERE name = {self.mark}",
                      ("failure",))
            if failure is not None:
                c.execute(f"INSERT INTO {self.table_name(STATUS)} (name, value) "
                          f"VALUES ({self.mark}, {self.mark})",
                          ("failure", json.dumps(failure, ensure_ascii=False)))

    def close(self) -> None:
        self.datastore.close()  # type: ignore[attr-defined]

    def reset(self) -> None:
        with self._transaction(commit=True) as c:
            for table in TABLES:
                c.execute(f"DROP TABLE IF EXISTS {self.table_name(table)}")
            self._create_views(c)
            c.execute(f"UPDATE {self.tracking_name()} SET notification_id = 0 "
                      f"WHERE application_name = {self.mark}", (TRACKING_NAME,))

    def lookup(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        spec = BY_NAME[table]
        found: dict[Key, Row] = {}
        with self._transaction(commit=False) as c:
            for statement, params in self._lookup_statements(spec, keys):
                c.execute(statement, params)
                for row in c.fetchall():
                    row = dict(row)
                    found[tuple(row[k] for k in spec.key_names)] = row
        return found

    def _lookup_statements(self, table: Table, keys: Sequence[Key]) -> Iterator[tuple[str, Any]]:
        select = f"SELECT * FROM {self.table_name(table)} WHERE "
        if len(table.keys) == 1:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = [key[0] for key in keys[start:start + LOOKUP_CHUNK]]
                marks = ", ".join([self.mark] * len(chunk))
                yield f"{select}{table.key_names[0]} IN ({marks})", chunk
        else:
            where = " AND ".join(f"{k} = {self.mark}" for k in table.key_names)
            for key in keys:
                yield select + where, key

    def region_balances(self, region: str, day: str) -> tuple[int, int]:
        """One aggregate query: each account's region at the end of ``day`` is that of its
        latest ``regions`` row with ``since`` on or before it (``region_on``'s rule)."""
        daily, regions, m = self.table_name(DAILY), self.table_name(REGIONS), self.mark
        statement = (
            f"SELECT COALESCE(SUM(d.change), 0) AS total, COUNT(DISTINCT d.person) AS accounts "
            f"FROM {regions} r JOIN {daily} d ON d.person = r.person AND d.day <= {m} "
            f"WHERE r.region = {m} AND r.since <= {m} AND NOT EXISTS ("
            f"SELECT 1 FROM {regions} n WHERE n.person = r.person "
            f"AND n.since > r.since AND n.since <= {m})")
        with self._transaction(commit=False) as c:
            c.execute(statement, (day, region, day, day))
            row = c.fetchone()
        return int(row["total"]), int(row["accounts"])

    def rows(self, table: str, first: Any = None) -> list[Row]:
        spec = BY_NAME[table]
        statement = f"SELECT * FROM {self.table_name(spec)}"
        params: tuple[Any, ...] = ()
        if first is not None:
            statement += f" WHERE {spec.key_names[0]} = {self.mark}"
            params = (first,)
        with self._transaction(commit=False) as c:
            c.execute(statement, params)
            return [dict(row) for row in c.fetchall()]


#: KiB of pages the views' writing connection keeps in memory (SQLite's default: 2,000)
WRITER_CACHE_KIB = 65_536


class SQLiteViews(SQLViews, SQLiteTrackingRecorder):
    """Views in the SQLite file of the events."""

    table_options = " WITHOUT ROWID"  # one b-tree per table: rows live in the key's index

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[Any]:
        """The library's transaction, on a connection whose commits do not wait for the
        disk (``synchronous=NORMAL``; in WAL mode the file stays consistent). The views can
        lose only their last commits, and only to a power failure: rows and position
        together, so the worker applies those events again. The events' own connections
        keep the library's setting. Measured: a rebuild's writer waited on ``fsync``
        about half its time (BENCHMARKS.md, "Rebuild of the views (h9r)").

        The writing connection also keeps :data:`WRITER_CACHE_KIB` of pages instead of
        SQLite's 2 MiB: a batch's upserts land on pages all over the views (transactions
        and people by random ids), and with the small cache each spilled page was read
        again from the file (the rebuild's writer: 3.5–4.0 → 2.75–3.4 µs an event,
        BENCHMARKS.md, "Issue 9, thirteenth round")."""
        datastore = self.datastore  # type: ignore[attr-defined]
        with datastore.get_connection(commit=commit) as connection:
            if commit and not getattr(connection, "gongji_views", False):
                raw = connection._sqlite_conn
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
                connection.gongji_views = True
            with connection.transaction(commit=commit) as cursor:
                yield cursor

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A file's one-statement reads skip the pool and ``BEGIN``/``ROLLBACK``: each
        thread keeps its own autocommit connection, where one ``SELECT`` is its own
        consistent snapshot (WAL). Half the cost of the balance read. An in-memory
        database goes through the pool (its readers and writers must take turns)."""
        pool = self.datastore.pool  # type: ignore[attr-defined]
        if pool.is_sqlite_memory_mode:
            with self._transaction(commit=False) as c:
                yield c
            return
        local = self.__dict__.setdefault("_readers", threading.local())
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = sqlite3.connect(
                pool.db_name, uri=True, check_same_thread=False, isolation_level=None)
            connection.row_factory = sqlite3.Row
            self.__dict__.setdefault("_reader_connections", []).append(connection)
        yield connection.cursor()

    def close(self) -> None:
        for connection in self.__dict__.pop("_reader_connections", []):
            connection.close()
        super().close()

    def create_table(self) -> None:
        super().create_table()
        with self._immediate() as c:
            self._create_views(c)

    @contextmanager
    def _immediate(self) -> Iterator[Any]:
        """A write transaction that takes the file's write lock before its first statement
        (``BEGIN IMMEDIATE``). The views' creation reads (``CREATE TABLE IF NOT EXISTS``
        of tables that exist) and then writes (the tracking row): begun the library's way
        (``BEGIN``), SQLite refuses that write at once, "database is locked", when another
        connection wrote in between — two API workers starting together, or the ledger
        writing — where this one waits its turn (the busy timeout)."""
        with self.datastore.get_connection(commit=True) as connection:  # type: ignore[attr-defined]
            raw = connection._sqlite_conn
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteCursor(raw.cursor())
            except BaseException:
                raw.rollback()
                raise
            raw.commit()


class PostgresViews(SQLViews, PostgresTrackingRecorder):
    """Views in the PostgreSQL schema of the events."""

    mark = "%s"
    int_type = "BIGINT"
    binary = ' COLLATE "C"'

    def table_name(self, table: Table) -> str:
        return f'"{self.datastore.schema}".gongji_view_{table.name}'

    def tracking_name(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            self._create_views(c)

    def _write_rows(self, c: Any, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Multi-row ``VALUES`` upserts: one round trip per chunk, not per row."""
        width = len(table.columns)
        chunk = min(1000, 65535 // width)  # PostgreSQL takes at most 65535 parameters
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            c.execute(self._upsert(table, len(part)),
                      [value for row in part for value in row])


def open_sql_views(database_url: str, *, create: bool = True) -> SQLViews:
    """The SQL view store in the database of ``database_url``: tables created if missing,
    unless ``create`` is false.

    Creating writes (the tracking row's ``INSERT … ON CONFLICT DO NOTHING``) after it has
    read (``CREATE TABLE IF NOT EXISTS``); on SQLite it takes the write lock first
    (:meth:`SQLiteViews._immediate`) so that it waits for another writer instead of
    failing. The rebuild's children (:mod:`projections.pipeline`) open without creating
    anything: the tables exist, made by whoever opened first, and a child writes nothing.
    """
    env = store_env(database_url)
    if not create:
        env["CREATE_TABLE"] = "n"  # eventsourcing's factory then leaves the tables alone
    factory = InfrastructureFactory.construct(Environment("GongjiViews", env))
    view_class = PostgresViews if env["PERSISTENCE_MODULE"].endswith("postgres") \
        else SQLiteViews
    # the tables are created one process at a time
    with init_lock(database_url) if create else nullcontext():
        return factory.tracking_recorder(view_class)  # type: ignore[type-var]
