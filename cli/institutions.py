"""``gongji institutions``: the institution directory (定点医药机构目录)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.db import DatabaseOption, reading, settings_for
from cli.jobs import (
    EncodingOption,
    RejectsOption,
    checked_input,
    default_rejects,
    run_job,
)
from ledger import open_ledger
from ledger.directory import institution
from ledger.jobs.institutions import COLUMNS, import_institutions, open_source
from policies.errors import LedgerError

app = typer.Typer(help="The institution directory (定点医药机构目录): who may settle, at which "
                       "level, from when to when.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, show_default=False,
        help=f"CSV or .xlsx with header {','.join(COLUMNS)}: region a region code "
             "(医保区划, e.g. 421300; more with GONGJI_ADMDVS) or a region name (suizhou); "
             "level 1, 2 or 3 (医疗机构等级); designated and networked true/false "
             "(定点, 联网结算); valid_from and valid_to YYYY-MM-DD, valid_to may be empty")],
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, max=10_000, help="rows stored per transaction")] = 500,
    rejects: RejectsOption = None, database: DatabaseOption = None,
    encoding: EncodingOption = None,
) -> None:
    """List every entry of FILE in the directory (定点医药机构目录导入).

    An entry is an institution from its valid_from date. The same file again writes
    nothing; a changed row is recorded as a new version of its entry (never an edit), so an
    auditor sees which entry gave a visit its level. The entry in force on a day is the
    one with the latest valid_from on or before it, unless its valid_to has passed.
    Refused rows go to the rejects CSV with their code and message.
    """
    found = checked_input(lambda: open_source(file, encoding))
    table = settings_for(database).regions_by_code
    where = rejects or default_rejects(file, "1/1")
    run_job("institutions import", database, "1/1", lambda ledger, _, report: (
        import_institutions(ledger, file, where, table, batch_size, report, found)), where)


@app.command("show")
def show_command(
    code: Annotated[str, typer.Argument(help="the institution's code (定点医药机构编号)",
                                        show_default=False)],
    on: Annotated[Optional[str], typer.Option(
        "--on", help="YYYY-MM-DD: the day whose entry in force to show (default today)")] = None,
    database: DatabaseOption = None,
) -> None:
    """Print an institution's directory entries as JSON, and the one in force --on a day."""
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        raise typer.BadParameter("write the day as YYYY-MM-DD", param_hint="--on") from None
    settings = reading(database)
    ledger = open_ledger(settings.database_url, settings.parameters)
    try:
        found = institution(ledger, code)
        current = found.entry_on(day)
        typer.echo(json.dumps({
            "code": code, "on": day.isoformat(),
            "in_force": current.content() | {"version": current.version} if current else None,
            "entries": [found.entries[start] for start in sorted(found.entries)],
        }, ensure_ascii=False, indent=2))
    except LedgerError as error:
        typer.echo(f"gongji: {error.code}: {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
