"""``gongji cipher …``: encryption at rest (静态加密): make a key, rotate it by a copy."""

from __future__ import annotations

import os
import sqlite3
from typing import Annotated

import psycopg
import typer
from eventsourcing.persistence import PersistenceError

from cli.projections import err, progress_bar
from cli.tables import figures
from ledger import open_ledger
from ledger.crypto import NEW_KEY_VARIABLE, check_key, new_key
from ledger.rekey import describe, open_target, rekey
from ledger.settings import SettingsError, load_settings
from policies.parameters import ParameterError

app = typer.Typer(help="Encryption at rest (静态加密): AES keys and key rotation.",
                  no_args_is_help=True)


@app.command("new-key")
def new_key_command(
    size: Annotated[int, typer.Option(help="key size in bytes: 16, 24 or 32")] = 32,
) -> None:
    """Print a new random AES key (base64) for GONGJI_CIPHER_KEY.

    Keep it in a secret store, never beside the database: without it the
    events cannot be read, and with it anyone holding a copy can read them.
    """
    if size not in (16, 24, 32):
        raise typer.BadParameter("16, 24 or 32", param_hint="--size")
    typer.echo(new_key(size))


@app.command("rekey")
def rekey_command(
    target: Annotated[str, typer.Argument(
        show_default=False,
        help="the new, empty store: a SQLite path or a postgresql://…?schema=… URL")],
    decrypt: Annotated[bool, typer.Option(
        "--decrypt", help=f"write the copy unencrypted (when {NEW_KEY_VARIABLE} is unset)")]
    = False,
) -> None:
    """Rotate the key (密钥轮换): copy the store into TARGET under a new key.

    Reads GONGJI_DATABASE_URL with GONGJI_CIPHER_KEY and writes every event
    and snapshot, re-encrypted with GONGJI_NEW_CIPHER_KEY, into TARGET: an
    append-only store is never rewritten in place. Without GONGJI_CIPHER_KEY
    it encrypts a plain store.

    Stop the API, the jobs and the projection worker first. The source's
    hash chain is verified before the copy; the copy is read back and
    checked after it. Then set GONGJI_DATABASE_URL to TARGET and
    GONGJI_CIPHER_KEY to the new key, run `gongji projections rebuild`,
    anchor the new chain head (printed on stdout), and keep the old store
    and key only as long as your retention rules require.

    Exit status 2 if the copy is refused; drop a TARGET that failed its
    check (a partly written TARGET is refused by the next rekey).
    """
    new = os.environ.get(NEW_KEY_VARIABLE, "").strip() or None
    try:
        settings = load_settings()
        if new is None and not decrypt:
            raise SettingsError(f"{NEW_KEY_VARIABLE} is not set: set it to the new key "
                                "(`gongji cipher new-key`), or pass --decrypt to write the "
                                "copy unencrypted")
        if new is not None:
            check_key(new, NEW_KEY_VARIABLE)
        source = open_ledger(settings.database_url, settings.parameters)
    except (SettingsError, ParameterError) as error:
        err.print(f"gongji: {error}")
        raise typer.Exit(2) from None
    try:
        copy = open_target(source, target, new)
        try:
            with progress_bar() as bar:
                task = bar.add_task("re-encrypting",
                                    total=source.recorder.max_notification_id() or 0)
                report = rekey(source, copy, lambda position, head: bar.update(
                    task, completed=position, total=head))
        finally:
            copy.close()
    except SettingsError as error:
        err.print(f"gongji: {error}")
        raise typer.Exit(2) from None
    except (OSError, PersistenceError, sqlite3.Error, psycopg.Error) as error:
        err.print(f"gongji: the target store {target!r} cannot be used: "
                  f"{type(error).__name__}: {str(error).strip()}")
        raise typer.Exit(2) from None
    finally:
        source.close()
    err.print(figures("rekey (密钥轮换)", [(k, str(v)) for k, v in describe(report)]))
    err.print(f"source chain head: {report.source_head}\n"
              f"new chain head (anchor it; also on stdout): {report.target_head}",
              soft_wrap=True)
    typer.echo(report.target_head)
