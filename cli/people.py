"""``gongji people import``: bulk enrollment (参保登记) from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.db import DatabaseOption
from cli.jobs import (
    BatchOption,
    EncodingOption,
    RejectsOption,
    ShardOption,
    WorkersOption,
    checked_input,
    default_rejects,
    run_job,
)
from ledger.jobs import import_people
from ledger.jobs.people import open_source

app = typer.Typer(help="Insured persons (参保人员).", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, show_default=False,
        help="CSV or .xlsx with header person,region,birth_date,scheme,retired_on,"
             "standard_years,"
             "total_years (the last four may be empty); optional columns lump_sum_until "
             "(YYYY-MM) and resettled (true/false, 异地安置)")],
    shard: ShardOption = "1/1", batch_size: BatchOption = 5000,
    rejects: RejectsOption = None, database: DatabaseOption = None,
    encoding: EncodingOption = None, workers: WorkersOption = 1,
) -> None:
    """Enroll every person of FILE, as the enroll command does (FORMAT.md meanings).

    A person already enrolled with the same facts is left alone, so a rerun is harmless;
    other facts for the same person are rejected (duplicate_conflict). Refused rows go to
    the rejects CSV with their code and message.
    """
    found = checked_input(lambda: open_source(file, encoding))
    where = rejects or default_rejects(file, shard)
    run_job("people import", database, shard, lambda ledger, part, report: import_people(
        ledger, file, where, part, batch_size, report, found, workers=workers), where)
