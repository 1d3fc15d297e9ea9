"""``gongji serve``: the HTTP API under uvicorn, configured by GONGJI_* settings."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from cli.db import writing


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (each its own ledger "
                                                      "connection; idempotency is shared)")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="log every request")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI page at /docs) on the store of GONGJI_DATABASE_URL.

    Settings come from the environment: GONGJI_DATABASE_URL (SQLite path or
    postgresql://…), GONGJI_REDIS_URL (optional: idempotency keys in Redis),
    GONGJI_API_KEYS (JSON: key → role), GONGJI_POLICY_PARAMETERS (JSON). A bad setting
    or a store or Redis that does not answer stops start-up with a message naming it (exit
    status 2). A new store's tables are created first, once, under the store's lock.
    """
    import uvicorn

    settings = writing()  # checked, and the tables created once, under the store's lock
    if not settings.keys:
        typer.echo("gongji serve: warning: GONGJI_API_KEYS is empty; every request but "
                   "/v1/health will get 401", err=True)
    # a worker that takes longer than uvicorn's 5 s to import and open the store (a busy
    # machine) would be killed and restarted again and again: give it a minute
    patience = {"timeout_worker_healthcheck": 60} if "timeout_worker_healthcheck" in \
        inspect.signature(uvicorn.run).parameters else {}
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=access_log, **patience)
