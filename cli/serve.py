"""``gongji serve``: the HTTP API under uvicorn, configured by GONGJI_* settings."""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from api.keys import load_keys
from cli.db import writing
from ledger.crypto import check_database_key
from ledger.metrics import MULTIPROC_VARIABLE
from ledger.settings import SettingsError
from projections.monitoring.settings import load_thresholds
from policies.book import PolicyBook
from policies.parameters import ParameterError


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (each its own ledger "
                                                      "connection; idempotency is shared)")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="log every request (method, route "
                                                  "template, status, duration, request id)")]
    = True,
) -> None:
    """Serve the HTTP API (OpenAPI page at /docs) on the store of GONGJI_DATABASE_URL.

    Settings come from the environment: GONGJI_DATABASE_URL (SQLite path or
    postgresql://…), GONGJI_REDIS_URL (optional: idempotency keys in Redis),
    GONGJI_API_KEYS (JSON: key → role), GONGJI_POLICY_PARAMETERS (JSON),
    GONGJI_LOG_FORMAT (text or json), GONGJI_READY_MAX_LAG (seconds),
    GONGJI_WRITE_THREADS (threads for writes, 1–64), GONGJI_GROUP_COMMIT (the most
    write commands saved in one transaction, 1–1000; 1 is off). A bad setting
    or a store or Redis that does not answer stops start-up with a message naming it (exit
    status 2). A new store's tables are created first, once, under the store's lock.
    With several workers, /metrics sums them only when PROMETHEUS_MULTIPROC_DIR is set.
    """
    import uvicorn

    from api.logs import log_config, log_format
    from api.probes import max_lag
    from api.writes import write_threads
    from ledger.grouping import group_size

    settings = writing()  # checked, and the tables created once, under the store's lock
    try:
        book = PolicyBook.load(settings.parameters)
        check_database_key(settings.database_url, book)  # GONGJI_CIPHER_KEY opens the store
        logging = log_config(log_format(), log_level, access_log)
        max_lag()
        group_size()
        write_threads()
        load_thresholds()  # GONGJI_MONITORING: the fund monitoring thresholds
    except (SettingsError, ParameterError) as error:
        typer.echo(f"gongji serve: {error}", err=True)
        raise typer.Exit(2) from None
    if not load_keys(settings.api_keys):  # checked already by writing()
        typer.echo("gongji serve: warning: GONGJI_API_KEYS is empty; every request but "
                   "/v1/health will get 401", err=True)
    # a worker that takes longer than uvicorn's 5 s to import and open the store (a busy
    # machine) would be killed and restarted again and again: give it a minute
    patience = {"timeout_worker_healthcheck": 60} if "timeout_worker_healthcheck" in \
        inspect.signature(uvicorn.run).parameters else {}
    with metrics_directory(workers):
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level, access_log=False,
                    log_config=logging, **patience)


#: Off: with it, spawned uvicorn workers died at start in the tests (cause not found yet).
AUTO_MULTIPROCESS = False


@contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """Several workers share their metrics through files (prometheus_client multiprocess
    mode): a fresh directory of our own unless PROMETHEUS_MULTIPROC_DIR names one."""
    if workers == 1 or os.environ.get(MULTIPROC_VARIABLE) or not AUTO_MULTIPROCESS:
        yield
        return
    directory = tempfile.mkdtemp(prefix="gongji-metrics-")
    os.environ[MULTIPROC_VARIABLE] = directory  # the workers are spawned with it
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
