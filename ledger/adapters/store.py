"""Is the deployment's store usable? Fast checks before a command opens it, and the lock
under which a store is initialised.

Every check answers within a few seconds (connection attempts time out after
:data:`PROBE_SECONDS`) and fails with :class:`~ledger.settings.SettingsError`: one paragraph
naming the setting and what to do, never a password. ``existing=True`` is for commands
that only read (``gongji audit …``, ``gongji projections …``): they refuse a store that
does not exist or holds no ledger instead of creating an empty one.

Initialising a store (``gongji db init``, and every command that writes, before it opens
the store) runs under :func:`init_lock`: on PostgreSQL a session advisory lock
(``pg_advisory_lock``) keyed by the schema, so two processes starting at once (two ``serve``
workers, N job shards) create the tables one after the other instead of racing on
``CREATE TABLE``; SQLite serialises schema changes by itself. Opening the ledger or the
SQL views takes the same lock, because eventsourcing's ``CREATE OR REPLACE FUNCTION`` runs
at every opening and two at once fail with "tuple concurrently updated".
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from ledger.settings import SettingsError, redacted, redis_target

PROBE_SECONDS = 3
SQLITE_HEADER = b"SQLite format 3\x00"
# the events table of the ledger, as eventsourcing names it on each store
EVENTS_TABLE = {"sqlite": "stored_events", "postgres": "ledger_events"}
URL_FORMS = ("a SQLite path, sqlite:///PATH or "
             "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME]")


def store_env(database_url: str) -> dict[str, str]:
    """eventsourcing's persistence settings for a database URL."""
    url = database_url.strip()
    shown = redacted(url) if "://" in url else url
    if not url:
        raise SettingsError("GONGJI_DATABASE_URL is empty: give a SQLite path, "
                            "sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    if url.startswith(("postgresql://", "postgres://")):
        try:
            parts = urlparse(url)
            parts.port  # noqa: B018 — raises on a port that is not a number
        except ValueError as error:
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: {error}; expected "
                "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME]"
            ) from None
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: expected "
                "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME]"
            )
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.strip("/"),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            # the chain and the state rows are written in the events' insert transaction
            "APPLICATION_RECORDER_TOPIC": "ledger.adapters.state:StatePostgresRecorder",
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")  # the path exactly as written after it
        if path == url or not path:
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: write sqlite:/// followed by the file's path "
                "(sqlite:///gongji.db is ./gongji.db; sqlite:////var/lib/gongji.db, four "
                "slashes, is absolute), or just the path"
            )
    elif "://" in url:
        raise SettingsError(
            f"GONGJI_DATABASE_URL {shown!r}: use a SQLite path, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        )
    else:
        path = url
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "ledger.adapters.state:StateSQLiteRecorder",
    }


@dataclass(frozen=True, slots=True)
class Target:
    """Where a database URL points: the kind of store and how to reach it."""

    kind: str  # "sqlite" | "postgres"
    shown: str  # the URL without its password
    sqlite_path: str = ""
    conninfo: str = ""
    host: str = ""
    port: str = ""
    user: str = ""
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def of(cls, database_url: str) -> Target:
        env = store_env(database_url)
        shown = redacted(database_url) if "://" in database_url else database_url.strip()
        if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            return cls("sqlite", shown, sqlite_path=env["SQLITE_DBNAME"])
        conninfo = " ".join(f"{k}={v!r}" for k, v in (
            ("dbname", env["POSTGRES_DBNAME"]), ("host", env["POSTGRES_HOST"]),
            ("port", env["POSTGRES_PORT"]), ("user", env["POSTGRES_USER"]),
            ("password", env["POSTGRES_PASSWORD"]), ("connect_timeout", PROBE_SECONDS)))
        return cls("postgres", shown, conninfo=conninfo, host=env["POSTGRES_HOST"],
                   port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                   dbname=env["POSTGRES_DBNAME"],
                   schema=env.get("POSTGRES_SCHEMA", "").strip() or "public")


def check_database(database_url: str, *, existing: bool = False) -> None:
    """Refuse (:class:`SettingsError`) a store that cannot be reached or used; with
    ``existing``, also one that does not exist or holds no ledger."""
    target = Target.of(database_url)
    if target.kind == "sqlite":
        _check_sqlite(target, existing)
    else:
        _check_postgres(target, existing)


def check_redis(redis_url: str | None) -> None:
    """Refuse a Redis URL that is malformed or whose server does not answer a PING."""
    if not redis_url:
        return
    import redis

    arguments = redis_target(redis_url)
    where = (f"{arguments.get('host', 'localhost')}:{arguments.get('port', 6379)}"
             if "path" not in arguments else arguments["path"])
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=PROBE_SECONDS,
                                  socket_timeout=PROBE_SECONDS)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError:
        raise SettingsError(
            f"GONGJI_REDIS_URL: Redis at {where} refused the password or user. Correct them "
            "in GONGJI_REDIS_URL (redis://:PASSWORD@HOST:PORT/DB)."
        ) from None
    except redis.exceptions.ResponseError as error:
        raise SettingsError(
            f"GONGJI_REDIS_URL: Redis at {where} refused the connection ({error}). Check the "
            "database number after the last slash (0–15 on a default server)."
        ) from None
    except (redis.exceptions.RedisError, OSError) as error:
        raise SettingsError(
            f"GONGJI_REDIS_URL: cannot reach Redis at {where} ({_reason(error)}). Start Redis, "
            "correct the host and port in GONGJI_REDIS_URL, or unset it to keep the views and "
            "idempotency keys in the database."
        ) from None
    finally:
        client.close()


def holds_ledger(database_url: str) -> bool:
    """Whether the store exists and has the ledger's events table (without creating it)."""
    try:
        check_database(database_url, existing=True)
    except SettingsError:
        return False
    return True


def tables(database_url: str) -> set[str]:
    """The tables the store holds now (none if the SQLite file does not exist yet)."""
    target = Target.of(database_url)
    if target.kind == "sqlite":
        return _sqlite_tables(Path(target.sqlite_path))
    import psycopg

    with psycopg.connect(target.conninfo, autocommit=True) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                  (target.schema,)).fetchall()
    return {name for name, in rows}


_held = threading.local()  # the lock keys this thread holds: the lock is re-entrant


@contextmanager
def init_lock(database_url: str) -> Iterator[None]:
    """Hold the store's schema lock while creating tables (PostgreSQL advisory lock, one
    per schema; nothing on SQLite). Re-entrant within a thread."""
    target = Target.of(database_url)
    if target.kind == "sqlite":
        yield
        return
    import psycopg

    key = int.from_bytes(hashlib.sha256(f"gongji init {target.dbname} {target.schema}"
                                        .encode()).digest()[:8], "big", signed=True)
    held: set[int] = _held.__dict__.setdefault("keys", set())
    if key in held:
        yield
        return
    with psycopg.connect(target.conninfo, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (key,))
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            connection.execute("SELECT pg_advisory_unlock(%s)", (key,))


# -- SQLite ------------------------------------------------------------------------------


def _check_sqlite(target: Target, existing: bool) -> None:
    path = Path(target.sqlite_path)
    where = f"GONGJI_DATABASE_URL {target.shown!r} (the SQLite file {path.absolute()})"
    if target.sqlite_path == ":memory:" or target.sqlite_path.startswith("file:"):
        raise SettingsError(f"{where}: give the path of a file; {URL_FORMS}.")
    directory = path.absolute().parent
    if not directory.is_dir():
        raise SettingsError(
            f"{where}: the directory {directory} does not exist. Create it, or correct the path "
            f"in GONGJI_DATABASE_URL ({URL_FORMS})."
        )
    if path.is_dir():
        raise SettingsError(f"{where}: that is a directory; name a file inside it, "
                            "e.g. …/gongji.db.")
    if not path.exists():
        if existing:
            raise SettingsError(
                f"{where}: no such file, so there is no ledger to read. Point "
                "GONGJI_DATABASE_URL at the ledger's file, or create a new store with "
                "`gongji db init`."
            )
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise SettingsError(f"{where}: cannot be read ({error.strerror}). Check its "
                            "permissions.") from None
    if header and header != SQLITE_HEADER:
        raise SettingsError(f"{where}: the file is not a SQLite database. Correct the path "
                            "in GONGJI_DATABASE_URL.")
    if existing and EVENTS_TABLE["sqlite"] not in _sqlite_tables(path):
        raise SettingsError(
            f"{where}: the file holds no ledger. Point GONGJI_DATABASE_URL at the ledger's "
            "file, or initialise this one with `gongji db init`."
        )


def _sqlite_tables(path: Path) -> set[str]:
    if not path.exists():
        return set()
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                                 timeout=PROBE_SECONDS)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for name, in rows.fetchall()}
    finally:
        connection.close()


# -- PostgreSQL --------------------------------------------------------------------------


def _check_postgres(target: Target, existing: bool) -> None:
    import psycopg

    where = f"GONGJI_DATABASE_URL {target.shown!r}"
    server = f"PostgreSQL at {target.host}:{target.port}"
    try:
        connection = psycopg.connect(target.conninfo, autocommit=True)
    except psycopg.Error as error:
        reason = _reason(error)
        if f'database "{target.dbname}" does not exist' in reason:
            raise SettingsError(
                f"{where}: {server} has no database {target.dbname!r}. Create it "
                f"(createdb -h {target.host} -p {target.port} -U {target.user} "
                f"{target.dbname}) or correct the database name in GONGJI_DATABASE_URL."
            ) from None
        if "authentication failed" in reason or "role" in reason and "does not exist" in reason:
            raise SettingsError(
                f"{where}: {server} refused user {target.user!r} ({reason}). Correct the user "
                "and password in GONGJI_DATABASE_URL."
            ) from None
        raise SettingsError(
            f"{where}: cannot reach {server} ({reason}). Start the server, or correct the "
            f"host and port in GONGJI_DATABASE_URL ({URL_FORMS})."
        ) from None
    with connection:
        schema = connection.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,)).fetchone()
        if schema is None:
            raise SettingsError(
                f"{where}: database {target.dbname!r} has no schema {target.schema!r}. Create "
                f"it (CREATE SCHEMA {target.schema}) or correct ?schema= in "
                "GONGJI_DATABASE_URL."
            )
        if existing:
            table = connection.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                (target.schema, EVENTS_TABLE["postgres"])).fetchone()
            if table is None:
                raise SettingsError(
                    f"{where}: schema {target.schema!r} of database {target.dbname!r} holds "
                    "no ledger. Point GONGJI_DATABASE_URL at the ledger's database and "
                    "schema, or initialise this one with `gongji db init`."
                )


def _reason(error: BaseException) -> str:
    """The last line of a driver's message, without the text before the server's words."""
    text = " ".join(str(error).split())
    for marker in ("FATAL: ", "failed: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return text.removeprefix("connection failed: ").strip() or type(error).__name__
