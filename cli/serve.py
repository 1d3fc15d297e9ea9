"""``gongji serve``: the HTTP API under uvicorn, configured by GONGJI_* settings."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.crypto import check_database_key
from ledger.settings import SettingsError, load_settings
from policies.book import PolicyBook
from policies.parameters import ParameterError


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
    stops start-up with a message naming it (exit status 2).
    """
    import uvicorn

    try:
        settings = load_settings()
        book = PolicyBook.load(settings.parameters)
        check_database_key(settings.database_url, book)  # GONGJI_CIPHER_KEY opens the store
    except (SettingsError, ParameterError) as error:
        typer.echo(f"gongji serve: {error}", err=True)
        raise typer.Exit(2) from None
    if not settings.keys:
        typer.echo("gongji serve: warning: GONGJI_API_KEYS is empty; every request but "
                   "/v1/health will get 401", err=True)
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=access_log)
