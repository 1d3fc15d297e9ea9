"""Idempotency-Key (幂等键): a retried write gets its original response, once and for all.

The key is reserved *before* the command runs, so two workers receiving the same retry at
once cannot both run it; the second sees the reservation and is told to retry (409
``concurrency_conflict``). When the command answers, the response (status and body) is
stored under the key; a refusal releases the key instead, because a refused request
changed nothing and may be corrected and sent again. A reservation whose worker died is
taken over after :data:`STALE_SECONDS`.

Keys are scoped by caller (two clients may pick the same key) and live in the same
database as the events (table ``gongji_idempotency``, created if missing) or, when
``GONGJI_REDIS_URL`` is set, in Redis; either survives a restart and is shared by every
worker. Completed SQL entries are kept until an operator prunes them by ``created_at``;
Redis entries expire after :data:`REDIS_RETENTION_SECONDS`.

Stored responses name people and amounts, so when ``GONGJI_CIPHER_KEY`` is set they are
kept AES-GCM encrypted with the events' key (``aes:`` + base64, see :class:`Bodies`); the
key columns hold only the caller's id (a hash of its API key), the client's key and a
hash of the request. Responses stored before the key was set stay readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import Cipher

from ledger.crypto import field_cipher
from ledger.adapters.store import store_env
from policies.errors import ErrorCode, LedgerError

STALE_SECONDS = 60.0
REDIS_RETENTION_SECONDS = 30 * 24 * 3600
TABLE = "gongji_idempotency"


@dataclass(frozen=True, slots=True)
class Stored:
    """What a key holds: the request's fingerprint and, once answered, the response."""

    fingerprint: str
    status: int | None = None
    body: Any = None


class Bodies:
    """Response bodies to stored text and back (JSON, AES-GCM encrypted under a key), and
    the client's key as stored."""

    PREFIX = "aes:"

    def __init__(self, cipher: Cipher | None) -> None:
        self.cipher = cipher
        secret = getattr(cipher, "key", None)
        self._mac = None if secret is None else \
            hashlib.sha256(b"gongji idempotency\0" + secret).digest()

    def key(self, key: str) -> str:
        """The client's key as stored: keyed-hashed when encrypting (a client may put a
        person's id in its Idempotency-Key), as sent otherwise."""
        if self._mac is None:
            return key
        return "h:" + hmac.new(self._mac, key.encode(), "sha256").hexdigest()[:40]

    def dump(self, body: Any) -> str:
        text = json.dumps(body, ensure_ascii=False)
        if self.cipher is None:
            return text
        return self.PREFIX + base64.b64encode(self.cipher.encrypt(text.encode())).decode()

    def load(self, text: Any, key: str) -> Any:
        """The body stored as ``text``; one sealed under another key (the key was rotated
        or unset since) is refused as ``duplicate_conflict``, never a 500."""
        if not isinstance(text, str):  # a Redis entry from before bodies were text
            return text
        if text.startswith(self.PREFIX):
            try:
                if self.cipher is None:
                    raise ValueError("no key")
                text = self.cipher.decrypt(base64.b64decode(text[len(self.PREFIX):])).decode()
            except ValueError:
                raise LedgerError(
                    ErrorCode.DUPLICATE_CONFLICT,
                    f"Idempotency-Key {key!r} was used before, but its stored response is "
                    "encrypted under another key than GONGJI_CIPHER_KEY and cannot be "
                    "replayed; check whether that request took effect, then use a new key",
                ) from None
        return json.loads(text)


class Store(Protocol):
    def reserve(self, scope: str, key: str, fingerprint: str) -> Stored | None:
        """Reserve the key (None) or return what it already holds."""

    def complete(self, scope: str, key: str, fingerprint: str, status: int,
                 body: Any) -> None: ...

    def release(self, scope: str, key: str) -> None: ...

    def close(self) -> None: ...


def once(store: Store, scope: str, key: str, fingerprint: str,
         run: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
    """``(status, body, replayed)``: run the request once per key, replay it afterwards."""
    held = store.reserve(scope, key, fingerprint)
    if held is None:
        try:
            status, body = run()
        except BaseException:
            store.release(scope, key)
            raise
        store.complete(scope, key, fingerprint, status, body)
        return status, body, False
    if held.fingerprint != fingerprint:
        raise LedgerError(
            ErrorCode.DUPLICATE_CONFLICT,
            f"Idempotency-Key {key!r} was used for another request; use a new key",
        )
    if held.status is None:
        raise LedgerError(
            ErrorCode.CONCURRENCY_CONFLICT,
            f"a request with Idempotency-Key {key!r} is still in progress; retry shortly",
        )
    return held.status, held.body, True


class SqlStore:
    """Keys in a table of the event store's own SQLite or PostgreSQL database."""

    def __init__(self, database_url: str, cipher: Cipher | None = None) -> None:
        self._bodies = Bodies(cipher)
        env = store_env(database_url)
        self._postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        if self._postgres:
            from psycopg_pool import ConnectionPool

            schema = env.get("POSTGRES_SCHEMA")
            self._table = f'"{schema}".{TABLE}' if schema else TABLE
            self._mark = "%s"
            self._pool = ConnectionPool(
                " ".join(f"{k}={v!r}" for k, v in (
                    ("dbname", env["POSTGRES_DBNAME"]), ("host", env["POSTGRES_HOST"]),
                    ("port", env["POSTGRES_PORT"]), ("user", env["POSTGRES_USER"]),
                    ("password", env["POSTGRES_PASSWORD"]))),
                min_size=1, max_size=10, kwargs={"autocommit": True}, open=True,
            )
        else:
            self._table, self._mark = TABLE, "?"
            self._path = env["SQLITE_DBNAME"]
            self._local = threading.local()
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} (scope TEXT NOT NULL, key TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, status INTEGER, body TEXT,"
            " created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (scope, key))"
        )

    def _execute(self, sql: str, *args: Any) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one autocommitted statement: (rows changed, rows returned)."""
        sql = sql.replace("?", self._mark)
        if self._postgres:
            with self._pool.connection() as connection:
                cursor = connection.execute(sql, args)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.rowcount, rows
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            self._local.connection = connection
        cursor = connection.execute(sql, args)
        return cursor.rowcount, cursor.fetchall()

    def reserve(self, scope: str, key: str, fingerprint: str) -> Stored | None:
        now, sent, key = time.time(), key, self._bodies.key(key)
        inserted, _ = self._execute(
            f"INSERT INTO {self._table} (scope, key, fingerprint, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", scope, key, fingerprint, now,
        )
        if inserted == 1:
            return None
        taken, _ = self._execute(
            f"UPDATE {self._table} SET fingerprint = ?, created_at = ?"
            " WHERE scope = ? AND key = ? AND status IS NULL AND created_at < ?",
            fingerprint, now, scope, key, now - STALE_SECONDS,
        )
        if taken == 1:
            return None
        _, rows = self._execute(
            f"SELECT fingerprint, status, body FROM {self._table} WHERE scope = ? AND key = ?",
            scope, key,
        )
        if not rows:  # released between our insert and select: try again
            return self.reserve(scope, sent, fingerprint)
        fingerprint_held, status, body = rows[0]
        return Stored(fingerprint_held, status,
                      None if body is None else self._bodies.load(body, sent))

    def complete(self, scope: str, key: str, fingerprint: str, status: int,
                 body: Any) -> None:
        self._execute(
            f"UPDATE {self._table} SET status = ?, body = ? WHERE scope = ? AND key = ?",
            status, self._bodies.dump(body), scope, self._bodies.key(key),
        )

    def release(self, scope: str, key: str) -> None:
        self._execute(
            f"DELETE FROM {self._table} WHERE scope = ? AND key = ? AND status IS NULL",
            scope, self._bodies.key(key),
        )

    def close(self) -> None:
        if self._postgres:
            self._pool.close()


class RedisStore:
    """Keys in Redis: a reservation expires by itself if its worker dies."""

    def __init__(self, url: str, cipher: Cipher | None = None) -> None:
        import redis

        self._bodies = Bodies(cipher)
        self._redis = redis.Redis.from_url(url)

    def _name(self, scope: str, key: str) -> str:
        return f"gongji:idempotency:{scope}:{self._bodies.key(key)}"

    def reserve(self, scope: str, key: str, fingerprint: str) -> Stored | None:
        name = self._name(scope, key)
        if self._redis.set(name, json.dumps({"fingerprint": fingerprint}), nx=True,
                           ex=int(STALE_SECONDS)):
            return None
        raw = self._redis.get(name)
        if raw is None:  # expired or released meanwhile
            return self.reserve(scope, key, fingerprint)
        held = json.loads(raw)
        if "body" in held:
            held["body"] = self._bodies.load(held["body"], key)
        return Stored(**held)

    def complete(self, scope: str, key: str, fingerprint: str, status: int,
                 body: Any) -> None:
        self._redis.set(
            self._name(scope, key),
            json.dumps({"fingerprint": fingerprint, "status": status,
                        "body": self._bodies.dump(body)}),
            ex=REDIS_RETENTION_SECONDS,
        )

    def release(self, scope: str, key: str) -> None:
        self._redis.delete(self._name(scope, key))

    def close(self) -> None:
        self._redis.close()


def open_store(database_url: str, redis_url: str | None, cipher_key: str | None = None) -> Store:
    """Redis when the deployment has it, else the event store's database; bodies encrypted
    under ``cipher_key`` (default ``GONGJI_CIPHER_KEY``) when there is one."""
    cipher = field_cipher(cipher_key)
    return RedisStore(redis_url, cipher) if redis_url else SqlStore(database_url, cipher)
