"""Bad settings and missing stores end a command with exit 2 and one paragraph, never a
traceback or a secret; ``gongji db init`` creates the store's tables once, under a lock.

Run through the ``gongji`` command line as an operator would (typer's runner, and the
installed script for the start-up of ``serve`` and a job).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from cli.db import initialise
from cli.main import app
from conftest import POSTGRES_URL, REDIS_URL
from ledger import open_ledger
from ledger.adapters.store import store_env, tables
from ledger.settings import SettingsError, load_settings

GONGJI = str(Path(sys.executable).with_name("gongji"))
SQLITE_TABLES = {
    "stored_events", "stored_events_chain", "stored_events_accounts", "stored_events_months",
    "stored_snapshots", "tracking", "gongji_idempotency", *(f"gongji_view_{name}" for name in (
        "accounts", "bindings", "daily", "family", "funds", "people", "pooling",
        "transactions", "status", "statement", "institutions", "reviews", "regions")),
}
POSTGRES_TABLES = {
    "ledger_events", "ledger_events_chain", "ledger_events_accounts", "ledger_events_months",
    "ledger_snapshots", "gongjiviews_tracking",
    *(SQLITE_TABLES - {"stored_events", "stored_events_chain", "stored_events_accounts",
                       "stored_events_months", "stored_snapshots", "tracking"}),
}


def gongji(*args: str, **env: str):
    """Run ``gongji ARGS`` in process with these settings (the others unset)."""
    base = {"GONGJI_DATABASE_URL": None, "GONGJI_REDIS_URL": None, "GONGJI_API_KEYS": None,
            "GONGJI_POLICY_PARAMETERS": None}
    return CliRunner().invoke(app, list(args), env={**base, **env})


def refused(result, *words: str) -> str:
    """Exit 2, no traceback, one paragraph on stderr naming ``words``; the paragraph."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    message = result.stderr.strip()
    assert "Traceback" not in message and "\n\n" not in message
    for word in words:
        assert word in message, message
    return message


def other_database(name: str) -> str:
    parts = urlparse(POSTGRES_URL)
    return parts._replace(path=f"/{name}").geturl()


# -- read-only commands refuse a store that is not there --------------------------------


def test_audit_verify_on_a_mistyped_sqlite_path_refuses_and_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    message = refused(gongji("audit", "verify", GONGJI_DATABASE_URL="typo.db"),
                      "GONGJI_DATABASE_URL", "typo.db", "gongji db init")
    assert "no such file" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["projections", "status"], ["audit", "verify"],
                                     ["audit", "explain", "A"]])
def test_read_only_commands_refuse_a_file_without_a_ledger(tmp_path: Path, command):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    refused(gongji(*command, GONGJI_DATABASE_URL=str(empty)), "holds no ledger",
            "gongji db init")
    assert empty.read_bytes() == b""


@pytest.mark.postgres
def test_read_only_commands_refuse_a_postgres_schema_without_a_ledger(postgres_url: str):
    refused(gongji("audit", "verify", GONGJI_DATABASE_URL=postgres_url),
            "GONGJI_DATABASE_URL", "holds no ledger", "gongji db init")


# -- bad settings: exit 2, the setting named, what to do --------------------------------


def test_a_sqlite_file_in_a_missing_directory(tmp_path: Path):
    refused(gongji("db", "init", GONGJI_DATABASE_URL=str(tmp_path / "no" / "such.db")),
            "GONGJI_DATABASE_URL", f"the directory {tmp_path / 'no'} does not exist")


@pytest.mark.parametrize("command", [["demo", "--people", "5"],
                                     ["jobs", "close-year", "--year", "2024"]])
def test_a_store_given_by_option_is_named_by_the_option(tmp_path: Path, command):
    missing = tmp_path / "no" / "such.db"
    message = refused(gongji(*command, "--database", str(missing)), "--database",
                      "does not exist")
    assert "GONGJI_DATABASE_URL" not in message


def test_a_file_that_is_not_sqlite(tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    refused(gongji("projections", "status", GONGJI_DATABASE_URL=str(text)),
            "GONGJI_DATABASE_URL", "not a SQLite database")


def test_postgres_that_does_not_answer_is_named_without_its_password():
    message = refused(gongji("db", "init", GONGJI_DATABASE_URL=(
        "postgresql://gongji:hunter2-secret@127.0.0.1:1/gongji")),
        "GONGJI_DATABASE_URL", "cannot reach PostgreSQL at 127.0.0.1:1",
        "Start the server")
    assert "hunter2" not in message and "gongji:***@127.0.0.1:1" in message


@pytest.mark.postgres
def test_postgres_database_that_does_not_exist(postgres_admin):
    url = other_database("gongji_no_such_database")
    refused(gongji("db", "init", GONGJI_DATABASE_URL=url), "GONGJI_DATABASE_URL",
            "has no database 'gongji_no_such_database'", "createdb")


@pytest.mark.postgres
def test_postgres_schema_that_does_not_exist(postgres_admin):
    refused(gongji("db", "init", GONGJI_DATABASE_URL=POSTGRES_URL + "?schema=gongji_nowhere"),
            "GONGJI_DATABASE_URL", "has no schema 'gongji_nowhere'",
            "CREATE SCHEMA gongji_nowhere")


def test_malformed_redis_url(tmp_path: Path):
    refused(gongji("db", "check", GONGJI_DATABASE_URL=str(tmp_path / "x.db"),
                   GONGJI_REDIS_URL="http://cache:6379"), "GONGJI_REDIS_URL",
            "is not a Redis URL", "redis://")
    refused(gongji("db", "check", GONGJI_REDIS_URL="redis://cache:6379/views"),
            "GONGJI_REDIS_URL", "must be a number")


def test_redis_that_does_not_answer(tmp_path: Path):
    url = str(tmp_path / "g.db")
    assert gongji("db", "init", GONGJI_DATABASE_URL=url).exit_code == 0
    message = refused(gongji("projections", "status", GONGJI_DATABASE_URL=url,
                             GONGJI_REDIS_URL="redis://:s3cret-pass@127.0.0.1:1/0"),
                      "GONGJI_REDIS_URL", "cannot reach Redis at 127.0.0.1:1")
    assert "s3cret" not in message


@pytest.mark.redis
def test_redis_database_out_of_range(tmp_path: Path, redis_url: str):
    url = str(tmp_path / "g.db")
    assert gongji("db", "init", GONGJI_DATABASE_URL=url).exit_code == 0
    parts = urlparse(REDIS_URL)
    refused(gongji("projections", "status", GONGJI_DATABASE_URL=url,
                   GONGJI_REDIS_URL=parts._replace(path="/999").geturl()),
            "GONGJI_REDIS_URL", "DB index is out of range")


def test_a_bad_api_key_entry_is_named_by_position_never_by_the_key(tmp_path: Path):
    keys = ('{"agency-key-abcdefghijk": {"role": "agency"}, '
            '"sk-live-VERY-SECRET-0001": {"role": "nobody", "name": "his"}}')
    message = refused(gongji("db", "check", GONGJI_DATABASE_URL=str(tmp_path / "x.db"),
                             GONGJI_API_KEYS=keys), "GONGJI_API_KEYS", "key #2 (his).role")
    assert "VERY-SECRET" not in message and "agency-key" not in message


# -- the sqlite:/// form means what the README says --------------------------------------


def test_sqlite_url_with_three_slashes_is_relative_and_with_four_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert gongji("db", "init", GONGJI_DATABASE_URL="sqlite:///rel.db").exit_code == 0
    assert (tmp_path / "rel.db").is_file()
    absolute = tmp_path / "abs" / "ledger.db"
    absolute.parent.mkdir()
    assert store_env(f"sqlite:///{absolute}")["SQLITE_DBNAME"] == str(absolute)
    assert gongji("db", "init", GONGJI_DATABASE_URL=f"sqlite:///{absolute}").exit_code == 0
    assert absolute.is_file() and not (tmp_path / str(absolute).lstrip("/")).exists()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://gongji.db",
                                 "sqlite:gongji.db"])
def test_other_sqlite_urls_are_refused_rather_than_guessed(url: str):
    with pytest.raises(SettingsError, match="GONGJI_DATABASE_URL.*sqlite:///"):
        load_settings(database_url=url)


# -- gongji db init ----------------------------------------------------------------------


def test_db_init_creates_every_table_once_then_changes_nothing(database_url: str):
    first = gongji("db", "init", GONGJI_DATABASE_URL=database_url)
    assert first.exit_code == 0, first.output
    expected = SQLITE_TABLES if "://" not in database_url else POSTGRES_TABLES
    assert tables(database_url) == expected
    assert f"created {', '.join(sorted(expected))}" in first.stdout
    again = gongji("db", "init", GONGJI_DATABASE_URL=database_url)
    assert again.exit_code == 0 and "already initialised, nothing changed" in again.stdout
    verify = gongji("audit", "verify", GONGJI_DATABASE_URL=database_url)
    assert verify.exit_code == 0 and "over 0 events" in verify.stdout
    assert gongji("db", "check", GONGJI_DATABASE_URL=database_url).exit_code == 0


@pytest.mark.postgres
def test_processes_starting_together_on_a_new_postgres_store_do_not_race(postgres_url: str):
    """What ``serve --workers N`` and N job shards do at first boot: each initialises
    under the advisory lock, then opens the ledger. Without the lock, CREATE TABLE races
    and some fail with a duplicate key of pg_type."""
    settings = load_settings(database_url=postgres_url)
    start = threading.Barrier(6)

    def boot(_: int) -> int:
        start.wait()
        initialise(settings)
        ledger = open_ledger(postgres_url)
        ledger.close()
        return 1

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(boot, range(6))) == 6
    assert tables(postgres_url) == POSTGRES_TABLES


# -- the installed script: start-up fails cleanly -----------------------------------------


@pytest.mark.parametrize("args, env, words", [
    (["serve", "--port", "1"], {"GONGJI_REDIS_URL": "redis://127.0.0.1:1/0"},
     ["GONGJI_REDIS_URL", "cannot reach Redis"]),
    (["jobs", "close-year", "--year", "2024"],
     {"GONGJI_DATABASE_URL": "postgresql://u:pw-never-shown@127.0.0.1:1/db"},
     ["GONGJI_DATABASE_URL", "cannot reach PostgreSQL"]),
])
def test_the_installed_command_exits_2_with_one_paragraph(tmp_path: Path, args, env, words):
    environment = {"PATH": "/usr/bin:/bin", "GONGJI_DATABASE_URL": str(tmp_path / "g.db"),
                   **env}
    done = subprocess.run([GONGJI, *args], capture_output=True, text=True, env=environment,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "pw-never-shown" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in done.stderr


@pytest.mark.parametrize("url, shown", [
    ("postgresql://gongji:p@ss/word@db:5432/gongji", "postgresql://gongji:***@db:5432/gongji"),
    ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("postgresql://gongji@db/gongji", "postgresql://gongji@db/gongji"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str):
    from ledger.settings import redacted

    assert redacted(url) == shown
