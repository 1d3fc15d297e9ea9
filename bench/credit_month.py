"""Benchmark: ``credit-month`` for N people next to a bare insert of the same rows.

    .venv/bin/python bench/credit_month.py --people 1000000                # SQLite
    .venv/bin/python bench/credit_month.py --people 1000000 --workers 2    # 2 deciding processes
    .venv/bin/python bench/credit_month.py --people 200000 \\
        --database postgresql://postgres@127.0.0.1:5432/test              # PostgreSQL

Enrolls N people (``gongji people import``, timed too), credits one month to the
employed ones through the job (in one process, or ``--workers N`` deciding processes
feeding one writer, or ``--shards N`` separate job processes), then copies **the very
rows the job stored** (the ``ContributionCredited`` events, their bytes as stored) into
an empty copy of the events table (same columns, same unique key) of a fresh store, in
key order, ``--batch-size`` rows a transaction: with one ``executemany`` each on SQLite,
with ``COPY`` on PostgreSQL. That is the baseline: the rate the store takes those rows
with no reading, deciding, encoding, chain or state rows at all. Prints both rates and
their ratio, and the load average before and after.

On SQLite a second baseline, the **floor**: every row the job wrote — the events, their
chain links, the credited accounts' state rows (upserted) and month lines — written
again with one ``executemany`` per table and batch into a copy of the store taken just
before the job. It is the job's own SQL with no Python in between: what any job that
stores what this one stores costs at least, and why ``job/bare`` cannot reach 1. On
PostgreSQL the floor is the same rows by ``COPY`` (the state rows copied into a temporary
table, then upserted from it in one statement) into copies of the four tables as the job
found them. The
job's CPU seconds in this process are printed too (steadier than wall time on a
loaded machine; with ``--workers`` they are the writing process's only).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventsourcing.utils import get_topic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_store, peak_mib, write_contributions, write_people  # noqa: E402
from ledger import open_ledger  # noqa: E402
from ledger.account import Account  # noqa: E402
from ledger.jobs import credit_month, import_people  # noqa: E402

PARAMETERS = {"nanchang": {"average_pension": "3100.00"}}


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the deciding processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def job_rows(url: str, topic: str) -> list[tuple]:
    """The stored rows of ``topic`` as the job wrote them, in key order."""
    if url.startswith("postgresql"):
        import psycopg

        base, _, query = url.partition("?schema=")
        with psycopg.connect(base) as db:
            return db.execute(
                "SELECT originator_id, originator_version, topic, state FROM "
                f"{query}.ledger_events WHERE topic = %s "
                "ORDER BY originator_id, originator_version", (topic,)).fetchall()
    with sqlite3.connect(url) as db:
        return db.execute("SELECT originator_id, originator_version, topic, state FROM "
                          "stored_events WHERE topic = ? ORDER BY originator_id, "
                          "originator_version", (topic,)).fetchall()


def bare_insert(url: str, rows: list[tuple], batch: int, work: Path) -> float:
    """Seconds to insert ``rows`` into an empty copy of the events table of a fresh store,
    ``batch`` rows a transaction: executemany (SQLite, WAL, synchronous FULL as the ledger
    runs) or COPY (PostgreSQL)."""
    if url.startswith("postgresql"):
        import psycopg

        base = url.partition("?schema=")[0]
        with psycopg.connect(base, autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS bench_bare CASCADE")
            db.execute("CREATE SCHEMA bench_bare")
            db.execute("CREATE TABLE bench_bare.events (originator_id uuid NOT NULL, "
                       "originator_version bigint NOT NULL, topic text, state bytea, "
                       "notification_id bigserial, "
                       "PRIMARY KEY (originator_id, originator_version))")
            started = time.perf_counter()
            for start in range(0, len(rows), batch):
                with db.transaction(), db.cursor().copy(
                        "COPY bench_bare.events (originator_id, originator_version, topic, "
                        "state) FROM STDIN") as copy:
                    for row in rows[start:start + batch]:
                        copy.write_row(row)
            seconds = time.perf_counter() - started
            db.execute("DROP SCHEMA bench_bare CASCADE")
        return seconds
    path = work / "bare.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
               "state BLOB, PRIMARY KEY (originator_id, originator_version))")
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?,?,?,?)", rows[start:start + batch])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def job_side_rows(url: str, credited: list[tuple]) -> dict[str, list[tuple]]:
    """What the job stored beside its events (SQLite): their chain links, the credited
    accounts' state rows and their month lines, in the order the job writes them."""
    ids = sorted({row[0] for row in credited})
    with sqlite3.connect(url) as db:
        links = db.execute(
            "SELECT c.* FROM stored_events_chain c JOIN stored_events e "
            "ON e.rowid = c.notification_id WHERE e.topic = ? ORDER BY c.notification_id",
            (credited[0][2],)).fetchall() if credited else []
        db.execute("CREATE TEMP TABLE credited (id TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO credited VALUES (?)", [(i,) for i in ids])
        states = db.execute("SELECT s.* FROM stored_events_accounts s JOIN credited c "
                            "ON c.id = s.id ORDER BY s.id").fetchall()
        months = db.execute("SELECT m.* FROM stored_events_months m JOIN credited c "
                            "ON c.id = m.id ORDER BY m.id, m.month").fetchall()
    return {"links": links, "states": states, "months": months}


def floor_insert(before: Path, events: list[tuple], side: dict[str, list[tuple]],
                 batch: int) -> float:
    """Seconds to write every row the job wrote — events, chain links, state rows
    (upserted), month lines — with one ``executemany`` per table and batch, into a copy of
    the store as it was before the job (SQLite, WAL, synchronous FULL): the job's own SQL
    with no Python in between, the floor of any job that stores what this one stores."""
    db = sqlite3.connect(before, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    links, states, months = side["links"], side["states"], side["months"]
    state_at = {row[0]: n for n, row in enumerate(states)}
    months_of: dict[str, list[tuple]] = {}
    for row in months:
        months_of.setdefault(row[0], []).append(row)
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        chunk = events[start:start + batch]
        ids = sorted({row[0] for row in chunk})
        mine = [states[state_at[i]] for i in ids]
        db.execute("BEGIN")
        db.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", chunk)
        db.executemany("INSERT INTO stored_events_chain VALUES (?,?,?,?)",
                       links[start:start + batch])
        db.executemany(
            "INSERT INTO stored_events_accounts VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE "
            "SET version = excluded.version, topic = excluded.topic, state = excluded.state "
            "WHERE stored_events_accounts.version < excluded.version", mine)
        db.executemany("INSERT INTO stored_events_months VALUES (?,?)",
                       [m for i in ids for m in months_of.get(i, ())])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


PG_TABLES = ("ledger_events", "ledger_events_chain", "ledger_events_accounts",
             "ledger_events_months")


def pg_snapshot(url: str, into: str) -> None:
    """Copies of the ledger's four tables as they are now (their rows, keys and indexes),
    in the schema ``into``: the PostgreSQL store as a job finds it."""
    import psycopg

    base, _, schema = url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {into} CASCADE")
        db.execute(f"CREATE SCHEMA {into}")
        for table in PG_TABLES:
            db.execute(f"CREATE TABLE {into}.{table} (LIKE {schema}.{table} INCLUDING ALL)")
            db.execute(f"INSERT INTO {into}.{table} SELECT * FROM {schema}.{table}")
        db.execute("ANALYZE")


def pg_job_rows(url: str, topic: str, months: bool = True) -> dict[str, list[tuple]]:
    """Every row a job stored (PostgreSQL), in the order the job writes them: its events
    (of ``topic``) and their chain links by notification id, their accounts' state rows
    and (``months``: a crediting job's) their month lines by id."""
    import psycopg

    base, _, schema = url.partition("?schema=")
    with psycopg.connect(base) as db:
        events = db.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {schema}.ledger_events "
            "WHERE topic = %s ORDER BY notification_id", (topic,)).fetchall()
        links = db.execute(
            f"SELECT c.* FROM {schema}.ledger_events_chain c JOIN {schema}.ledger_events e "
            "ON e.notification_id = c.notification_id WHERE e.topic = %s "
            "ORDER BY c.notification_id", (topic,)).fetchall()
        credited = (f"(SELECT originator_id FROM {schema}.ledger_events "
                    "WHERE topic = %s)")
        states = db.execute(
            f"SELECT s.* FROM {schema}.ledger_events_accounts s WHERE s.id IN {credited} "
            "ORDER BY s.id", (topic,)).fetchall()
        lines = db.execute(
            f"SELECT m.* FROM {schema}.ledger_events_months m WHERE m.id IN {credited} "
            "ORDER BY m.id, m.month", (topic,)).fetchall() if months else []
    assert len(links) == len(events) == len(states), "a link and a state row an event"
    assert not months or len(lines) == len(events), "a month line a credit"
    return {"events": events, "links": links, "states": states, "months": lines}


def pg_floor_insert(url: str, job: dict[str, list[tuple]], batch: int, into: str) -> float:
    """Seconds to write every row of ``job`` by ``COPY`` into the copies of
    :func:`pg_snapshot` in schema ``into``, ``batch`` events a transaction (their links, and the state rows and
    month lines of the accounts they credit, in the same one; the state rows upserted from
    a temporary table as the job upserts them): the job's rows with no Python in between."""
    import psycopg

    base = url.partition("?schema=")[0]
    events, links = job["events"], job["links"]
    states = {row[0]: row for row in job["states"]}
    months_of: dict[object, list[tuple]] = {}
    for row in job["months"]:
        months_of.setdefault(row[0], []).append(row)
    parts = dict.fromkeys(("events", "links", "states", "months"), 0.0)

    def timed(part: str, began: float) -> float:
        now = time.perf_counter()
        parts[part] += now - began
        return now

    with psycopg.connect(base, autocommit=True) as db:
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            chunk = events[start:start + batch]
            ids = sorted({row[0] for row in chunk})
            with db.transaction():
                cursor, began = db.cursor(), time.perf_counter()
                with cursor.copy(f"COPY {into}.ledger_events (originator_id, "
                                 "originator_version, topic, state) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                began = timed("events", began)
                with cursor.copy(f"COPY {into}.ledger_events_chain FROM STDIN") as copy:
                    for row in links[start:start + batch]:
                        copy.write_row(row)
                began = timed("links", began)
                cursor.execute("CREATE TEMP TABLE floor_states (id uuid, version bigint, "
                               "topic text, state bytea) ON COMMIT DROP")
                with cursor.copy("COPY floor_states FROM STDIN") as copy:
                    for i in ids:
                        copy.write_row(states[i])
                cursor.execute(
                    f"INSERT INTO {into}.ledger_events_accounts AS s SELECT * FROM "
                    "floor_states ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                    "topic = excluded.topic, state = excluded.state "
                    "WHERE s.version < excluded.version")
                began = timed("states", began)
                with cursor.copy(f"COPY {into}.ledger_events_months FROM STDIN") as copy:
                    for i in ids:
                        for row in months_of.get(i, ()):
                            copy.write_row(row)
                timed("months", began)
        seconds = time.perf_counter() - started
        print(f"  ({into}: " + ", ".join(f"{name} {spent:.1f} s" for name, spent in parts.items())
              + f", commits and the rest {seconds - sum(parts.values()):.1f} s)")
        db.execute(f"DROP SCHEMA {into} CASCADE")
    return seconds


def empty_copy(store: Path, path: Path) -> Path:
    """A new SQLite file with ``store``'s tables and indexes and no rows."""
    with sqlite3.connect(store) as source:
        schema = [sql for sql, in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    with sqlite3.connect(path) as copy:
        for sql in schema:
            copy.execute(sql)
    return path


def sharded_credit(url: str, credits: Path, shards: int, work: Path) -> tuple[float, bool]:
    """Wall seconds of N ``credit-month --shard i/N`` processes run side by side, and
    whether every shard's summary tied out."""
    env = {**os.environ, "GONGJI_DATABASE_URL": url,
           "GONGJI_POLICY_PARAMETERS": '{"nanchang": {"average_pension": "3100.00"}}'}
    gongji = str(Path(sys.executable).with_name("gongji"))
    started = time.perf_counter()
    logs = [work / f"shard-{i}.log" for i in range(1, shards + 1)]
    processes = [subprocess.Popen(
        [gongji, "jobs", "credit-month", str(credits), "--shard", f"{i}/{shards}",
         "--rejects", str(work / f"r{i}.csv")], env=env,
        stdout=log.open("w"), stderr=subprocess.DEVNULL) for i, log in enumerate(logs, 1)]
    failed = [p.wait() for p in processes]
    seconds = time.perf_counter() - started
    return seconds, not any(failed) and all("✗" not in log.read_text() for log in logs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgresql:// URL")
    parser.add_argument("--shards", type=int, default=1, help="credit in N job processes")
    parser.add_argument("--workers", type=int, default=1,
                        help="credit with N deciding processes and one writer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        work = Path(tmp)
        people, credits = work / "people.csv", work / "credits.csv"
        write_people(people, args.people)
        write_contributions(credits, args.people, "2024-03")
        load_before = os.getloadavg()
        store = "PostgreSQL" if args.database.startswith("postgresql") else "SQLite"
        with fresh_store(args.database, work) as url:
            ledger = open_ledger(url, PARAMETERS)
            pg_floors = store == "PostgreSQL" and args.shards == 1
            if pg_floors:  # the empty store the import finds, for its floor
                pg_snapshot(url, "bench_floor_import")
            enrolled = import_people(ledger, people, work / "people.rejects.csv",
                                     batch_size=args.batch_size, workers=args.workers)
            before = work / "before.db"
            if store == "SQLite":  # the store as the job finds it, for the floor
                with sqlite3.connect(url) as source, sqlite3.connect(before) as copy:
                    source.backup(copy)
            elif pg_floors:
                pg_snapshot(url, "bench_floor")
            cpu, children = time.process_time(), _children_cpu()
            if args.shards == 1:
                job = credit_month(ledger, credits, work / "credits.rejects.csv",
                                   batch_size=args.batch_size, workers=args.workers)
                written, seconds = job.events["ContributionCredited"], job.seconds
                ties = job.ties_out
            else:
                seconds, ties = sharded_credit(url, credits, args.shards, work)
                written = args.people - (args.people + 9) // 10  # every 10th is retired
            cpu, children = time.process_time() - cpu, _children_cpu() - children
            peak, peak_children = peak_mib(), peak_mib(children=True)  # before the baselines
            topic = get_topic(Account.ContributionCredited)
            ledger.close()
            rows = job_rows(url, topic)
            assert len(rows) == written
            bare_seconds = bare_insert(url, rows, args.batch_size, work)
            floor_seconds = import_floor = None
            if store == "SQLite":
                enrolled_rows = job_rows(str(before), get_topic(Account.Enrolled))
                import_floor = floor_insert(
                    empty_copy(before, work / "empty.db"), enrolled_rows,
                    job_side_rows(str(before), enrolled_rows), args.batch_size)
                floor_seconds = floor_insert(before, rows, job_side_rows(url, rows),
                                             args.batch_size)
            elif pg_floors:
                import_floor = pg_floor_insert(
                    url, pg_job_rows(url, get_topic(Account.Enrolled), months=False),
                    args.batch_size, "bench_floor_import")
                floor_seconds = pg_floor_insert(url, pg_job_rows(url, topic), args.batch_size,
                                                "bench_floor")
        job_rate, bare_rate = written / seconds, written / bare_seconds
        print(f"store: {store}; people: {args.people:,}; batch size: {args.batch_size:,}; "
              f"job processes: {args.shards}; deciding processes: {args.workers}")
        print(f"people import: {enrolled.written:,} enrolled in {enrolled.seconds:.1f} s "
              f"= {enrolled.written / enrolled.seconds:,.0f} events/s")
        if import_floor is not None:
            print(f"  its floor: the same events, chain links and state rows, "
                  f"{'COPY' if store == 'PostgreSQL' else 'executemany'} into an empty "
                  f"store: {import_floor:.1f} s = "
                  f"{enrolled.written / import_floor:,.0f} events/s")
        print(f"credit-month job: {written:,} credits in {seconds:.1f} s "
              f"= {job_rate:,.0f} events/s (ties out: {ties}; {cpu:.1f} CPU s in this "
              f"process, {cpu / written * 1e6:.0f} µs a credit"
              + (f"; {children:.1f} CPU s in the deciding processes, "
                 f"{(cpu + children) / written * 1e6:.0f} µs a credit in all)"
                 if args.workers > 1 else ")"))
        print(f"bare {'COPY' if store == 'PostgreSQL' else 'executemany'} of the same rows in "
              f"key order: {bare_seconds:.1f} s = {bare_rate:,.0f} events/s")
        if floor_seconds is not None:
            floor_rate = written / floor_seconds
            print(f"floor: the same events with their chain links, state rows and month "
                  f"lines, {'COPY' if store == 'PostgreSQL' else 'executemany'} into the "
                  f"store as it was: {floor_seconds:.1f} s = "
                  f"{floor_rate:,.0f} credits/s ({floor_rate / bare_rate:.0%} of bare; "
                  f"job/floor {job_rate / floor_rate:.0%})")
        print(f"ratio job/bare: {job_rate / bare_rate:.0%}; peak memory {peak:,.0f} MiB "
              f"(children {peak_children:,.0f} MiB); load average "
              f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
