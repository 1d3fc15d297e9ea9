"""``gongji db``: check the deployment's settings and store, initialise the store.

Also the two steps every other command starts with: :func:`reading` (a store that must
already hold a ledger) and :func:`writing` (a store that is initialised first, under the
store's lock, if it is new). A bad setting ends the command with exit status 2 and one
paragraph naming the setting and what to do.
"""

from __future__ import annotations

from typing import Annotated, NoReturn, Optional

import typer

from api.keys import load_keys
from ledger import open_ledger
from ledger.grouping import group_size
from ledger.settings import Settings, SettingsError, load_settings
from ledger.adapters.store import Target, check_database, check_redis, init_lock, tables
from policies.book import PolicyBook
from policies.parameters import ParameterError

app = typer.Typer(help="The event store (事件库): check the settings, initialise the tables.",
                  no_args_is_help=True)

DatabaseOption = Annotated[Optional[str], typer.Option(
    "--database", help="SQLite path, sqlite:///PATH or postgresql:// URL "
                       "(default: GONGJI_DATABASE_URL, else ./gongji.db)")]


def refuse(error: Exception, database: str | None = None) -> NoReturn:
    """Print the paragraph of a bad setting on stderr and exit 2 (naming ``--database``
    rather than GONGJI_DATABASE_URL when the option gave the store)."""
    message = str(error)
    if database:
        message = message.replace("GONGJI_DATABASE_URL", "--database")
    typer.echo(f"gongji: {message}", err=True)
    raise typer.Exit(2)


def settings_for(database: str | None = None) -> Settings:
    """The settings (``database`` overrides GONGJI_DATABASE_URL), every one checked (the
    API keys too), or exit 2."""
    try:
        settings = load_settings(**({"database_url": database} if database else {}))
        PolicyBook.load(settings.parameters)
        load_keys(settings.api_keys)
        group_size()
    except (SettingsError, ParameterError) as error:
        refuse(error, database)
    return settings


def reading(database: str | None = None) -> Settings:
    """Settings for a command that only reads: the store must exist and hold a ledger."""
    settings = settings_for(database)
    try:
        check_database(settings.database_url, existing=True)
        check_redis(settings.redis_url)
    except SettingsError as error:
        refuse(error)
    return settings


def writing(database: str | None = None) -> Settings:
    """Settings for a command that writes: reachable services, the store initialised."""
    settings = settings_for(database)
    try:
        check_database(settings.database_url)
        check_redis(settings.redis_url)
        initialise(settings)  # also opens the events: GONGJI_CIPHER_KEY must open them
    except SettingsError as error:
        refuse(error, database)
    return settings


def initialise(settings: Settings) -> list[str]:
    """Create whatever tables are missing (events, chain, views, idempotency) under the
    store's lock; the names of those created, sorted."""
    from api.idempotency import SqlStore
    from projections.stores.sql import open_sql_views

    url = settings.database_url
    with init_lock(url):
        before = tables(url)
        open_ledger(url, settings.parameters).close()
        open_sql_views(url).close()
        SqlStore(url).close()
        return sorted(tables(url) - before)


@app.command("init")
def init_command(database: DatabaseOption = None) -> None:
    """Create the store's tables (events, hash chain, views, idempotency keys) if missing.

    Idempotent: on a store that has them, it changes nothing. On PostgreSQL it holds an
    advisory lock meanwhile, so starting several processes at once is safe. Run it once
    before the API and the projection worker (docker-compose.yml does).
    """
    settings = settings_for(database)
    try:
        check_database(settings.database_url)
        created = initialise(settings)
    except SettingsError as error:
        refuse(error, database)
    where = Target.of(settings.database_url)
    place = (f"SQLite file {where.sqlite_path}" if where.kind == "sqlite"
             else f"PostgreSQL {where.shown}, schema {where.schema}")
    if created:
        typer.echo(f"gongji db init: {place}: created {', '.join(created)}")
    else:
        typer.echo(f"gongji db init: {place}: already initialised, nothing changed")


@app.command("check")
def check_command() -> None:
    """Check every setting and that the store and Redis answer; change nothing.

    Exit status 0 when the deployment can start, 2 with the reason otherwise (also when
    the store holds no ledger yet: run `gongji db init`).
    """
    settings = reading()
    where = Target.of(settings.database_url)
    typer.echo(f"ok: {where.kind} store {where.shown} holds a ledger"
               + ("; Redis answers" if settings.redis_url else ""))
