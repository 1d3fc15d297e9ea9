"""``gongji projections``: keep the read models (views) up to date, or rebuild them.

Settings come from the environment: ``GONGJI_DATABASE_URL`` (the event store; the SQL
views live beside the events) and ``GONGJI_REDIS_URL`` (when set, the views live in Redis).
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger import Ledger, open_ledger
from cli.db import reading
from ledger.settings import SettingsError, load_settings
from projections import ViewStore, ViewWorker, open_views, pipeline
from projections.worker import BATCH_SIZE, REBUILD_BATCH_SIZE, WorkerStopped

app = typer.Typer(help="Read models (视图): follow the event log, rebuild, show status.",
                  no_args_is_help=True)
err = Console(stderr=True)

BatchSize = Annotated[int, typer.Option(min=1, help="events applied per view transaction")]


@contextmanager
def deployment() -> Iterator[tuple[Ledger, ViewStore]]:
    """The deployment's ledger and view store (from the environment), closed afterwards."""
    settings = reading()  # a store that holds a ledger, or exit 2
    try:
        ledger = open_ledger(settings.database_url, settings.parameters)  # checks the key
    except SettingsError as error:
        err.print(f"gongji: {error}")
        raise typer.Exit(2) from None
    views = open_views(settings.database_url, settings.redis_url)
    try:
        yield ledger, views
    finally:
        views.close()
        ledger.close()


@contextmanager
def worker(batch_size: int = BATCH_SIZE, processes: int = 1) -> Iterator[ViewWorker]:
    """The deployment's worker; with ``processes`` > 1 its rebuild projects in
    ``processes - 1`` child processes (a part of the log each) that open the same stores
    anew (:mod:`projections.pipeline`)."""
    with deployment() as (ledger, views):
        yield ViewWorker(ledger.recorder, ledger.mapper, views, batch_size,
                         opener=reopen if processes > 1 else None,
                         children=max(1, processes - 1))


def reopen() -> tuple[Ledger, ViewStore]:
    """In the rebuild's child process: the deployment's ledger and views (the views'
    tables are not created: they exist, and the parent is writing them)."""
    settings = load_settings()
    return (open_ledger(settings.database_url, settings.parameters),
            open_views(settings.database_url, settings.redis_url, create=False))


def progress_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("events"), TimeRemainingColumn(), console=err)


@app.command()
def run(
    batch_size: BatchSize = BATCH_SIZE,
    poll: Annotated[float, typer.Option(
        min=0.05, help="seconds between polls (SQLite), or the NOTIFY wait's timeout "
                       "(PostgreSQL)")] = 1.0,
    once: Annotated[bool, typer.Option(
        "--once", help="catch up to the log's head, then exit (cron, scripts, tests)")] = False,
) -> None:
    """Apply new events to the views continuously, until SIGINT or SIGTERM.

    Resumes from the views' tracking position; each event is applied exactly once. On
    PostgreSQL the worker wakes on the event store's NOTIFY; on SQLite it polls. An event
    it cannot apply stops it (exit 1) with the position, the event and the reason, which
    `gongji projections status` and the API's /v1/ready then report too.
    """
    with worker(batch_size) as w, stopped_on_poison():
        if once:
            applied = w.catch_up()
            err.print(f"gongji projections: applied {applied} events; {w.views.kind} views at "
                      f"position {w.views.position()}, log head {w.head()}")
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        err.print(f"gongji projections: {w.views.kind} views at position "
                  f"{w.views.position()}, log head {w.head()}; following")
        w.follow(stop, poll, applied=lambda n: err.print(
            f"applied {n} events; position {w.views.position()}"))
    err.print("gongji projections: stopped")


@contextmanager
def stopped_on_poison() -> Iterator[None]:
    """An event the worker cannot apply: say which and why, exit 1 (no traceback)."""
    try:
        yield
    except WorkerStopped as stop:
        err.print(f"gongji projections: {stop.failure.message()}", markup=False,
                  soft_wrap=True)
        err.print("Fix the cause (or the code), then run the worker again: it resumes at "
                  "that event.", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def rebuild(
    batch_size: BatchSize = REBUILD_BATCH_SIZE,
    processes: Annotated[int, typer.Option(
        min=1, max=5, help="N > 1: N - 1 child processes decode and project a part of the "
                           "log each while this one writes the views (default: one child "
                           "per core, plus the writer); 1: all in one process")
    ] = 1 + pipeline.children(),
) -> None:
    """Drop the views and rebuild them from position zero, with a progress bar."""
    with worker(batch_size, processes) as w, stopped_on_poison(), progress_bar() as bar:
        task = bar.add_task("rebuilding views", total=w.head())

        def advance(position: int, head: int) -> None:
            bar.update(task, completed=position, total=head)

        applied = w.rebuild(advance)
    piped = f" ({w.piped} of them projected in {w.children} child processes)" \
        if w.opener is not None else ""
    err.print(f"rebuilt {w.views.kind} views from {applied} events{piped}")


@app.command()
def status(
    check: Annotated[bool, typer.Option(
        "--check", help="exit 1 when the worker stopped on an event, or the views are more "
                        "than --max-lag seconds behind (a container healthcheck)")] = False,
    max_lag: Annotated[float, typer.Option(
        min=0, help="seconds the views may trail the log under --check")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The views' position, the log's head, how far behind the views are (events and
    seconds), and the event that stopped the worker, if one did."""
    with worker() as w:
        state = w.status()
    if as_json:
        typer.echo(json.dumps(state.as_dict(), ensure_ascii=False))
    else:
        typer.echo(f"store: {state.store}\nposition: {state.position}\nhead: {state.head}\n"
                   f"behind: {state.lag_events}\nbehind_seconds: {state.lag_seconds:g}\n"
                   f"stopped: {state.failure.message() if state.failure else 'no'}")
    if check and (state.failure is not None or state.lag_seconds > max_lag):
        raise typer.Exit(1)

