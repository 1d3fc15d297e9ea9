"""Shared fixtures: a fresh ledger on each store, and the services' availability.

Tests that need PostgreSQL or Redis skip with a reason when the server does not answer,
unless ``GONGJI_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing service fails.
Each PostgreSQL test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, open_ledger

POSTGRES_URL = os.environ.get("GONGJI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GONGJI_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("GONGJI_REQUIRE_SERVICES") == "1"
SHARED = Path(__file__).resolve().parents[2] / "shared"
JILIN = {"deductible": "800.00", "rates_employed": ["0.60", "0.55", "0.50"],
         "retired_extra": "0.05", "cap_employed": "1500.00", "cap_retired": "1800.00",
         "average_pension": "3000.00"}
PARAMETERS = {"jilin": JILIN, "nanchang": {"average_pension": "3100.00"}}


def _unavailable(service: str, error: Exception) -> None:
    message = f"{service} is not answering ({error.__class__.__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and GONGJI_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin():
    """An autocommit connection to the test database, or a skip."""
    import psycopg

    try:
        connection = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        _unavailable("PostgreSQL at " + POSTGRES_URL, error)
    yield connection
    connection.close()


@pytest.fixture
def postgres_url(postgres_admin) -> Iterator[str]:
    """A database URL whose schema is new and empty."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    postgres_admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES_URL}?schema={schema}"
    postgres_admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "gongji.db")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "gongji.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """A fresh ledger on each store, with jilin's and nanchang's deployment parameters."""
    app = open_ledger(database_url, PARAMETERS)
    yield app
    app.close()


@pytest.fixture
def memory_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger on an embedded SQLite file, for fast rule tests."""
    app = open_ledger(str(tmp_path / "rules.db"), PARAMETERS)
    yield app
    app.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database (15), flushed before and after, or a skip."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        _unavailable("Redis at " + REDIS_URL, error)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()
