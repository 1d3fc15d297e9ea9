"""``gongji jobs …``: city-scale batch jobs with a progress bar and a summary that ties out.

Every job takes ``--shard i/N`` so that N processes split the population without
overlap (run them side by side, against PostgreSQL for more than one machine), and
``--batch-size``: accounts decided and committed per transaction. Running a job again
— after a crash, a kill -9 or by mistake — writes only what the first run did not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cli.db import DatabaseOption, writing
from cli.tables import figures
from ledger import Ledger, open_ledger
from ledger.jobs import JobSummary, Shard, ShardError, allot_month, close_year, credit_month
from ledger.jobs.credit_month import open_source as open_contributions
from ledger.jobs.csvfile import CsvSource
from policies.book import PolicyBook
from policies.calendar import Month
from policies.errors import LedgerError
from policies.money import format_fen

console = Console(stderr=True)
app = typer.Typer(help="City-scale batch jobs: monthly crediting, allotments, year end "
                       "(批量计入、划入、年度结转).", no_args_is_help=True)

ShardOption = Annotated[str, typer.Option(
    "--shard", help="i/N: this process takes shard i of N (1 ≤ i ≤ N) of the population; "
                    "start N processes with 1/N … N/N to cover everyone exactly once")]
BatchOption = Annotated[int, typer.Option(
    "--batch-size", min=1, max=100_000,
    help="accounts decided and committed per transaction")]
WorkersOption = Annotated[int, typer.Option(
    "--workers", min=1, max=64,
    help="decide in N processes, each on a key range of the shard, with this process "
         "writing every batch (one writer: 2 suits a 2-core machine)")]
RegionOption = Annotated[Optional[str], typer.Option(
    "--region", help="only accounts insured in this region (统筹地区)")]
EncodingOption = Annotated[Optional[str], typer.Option(
    "--encoding", help="the CSV file's encoding, e.g. utf-8, gb18030, gbk (default: UTF-8 "
                       "if the whole file is UTF-8, else GB18030 as Excel writes it on "
                       "Chinese Windows); not used for .xlsx")]
RejectsOption = Annotated[Optional[Path], typer.Option(
    "--rejects", help="CSV of refused rows with code and message "
                      "(default: beside the input, or in the current directory)")]


@app.command("credit-month")
def credit_month_command(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, show_default=False,
        help="CSV or .xlsx with header person,month,base (base in yuan, e.g. 5000.00)")],
    shard: ShardOption = "1/1", batch_size: BatchOption = 5000,
    rejects: RejectsOption = None, database: DatabaseOption = None,
    encoding: EncodingOption = None, workers: WorkersOption = 1,
) -> None:
    """Credit a month's contributions (个人账户计入: 2% of the base) from FILE.

    Idempotent per person and month: a row already credited writes nothing. Refused rows
    (unknown person, no account, bad base, closed account, …) go to the rejects CSV and do
    not stop the job.
    """
    found = checked_input(lambda: open_contributions(file, encoding))
    where = rejects or default_rejects(file, shard)
    run_job("credit-month", database, shard, lambda ledger, part, report: credit_month(
        ledger, file, where, part, batch_size, report, found, workers=workers), where)


@app.command("allot-month")
def allot_month_command(
    month: Annotated[str, typer.Option(help="YYYY-MM", show_default=False)],
    region: RegionOption = None, shard: ShardOption = "1/1", batch_size: BatchOption = 5000,
    rejects: RejectsOption = None, database: DatabaseOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Credit MONTH's allotment (退休人员划入) to every retired person.

    Age band, mixed history and the region the person is insured in now, as the
    allotment command does; nothing after the month of death or to a closed account.
    Idempotent: a month already credited writes nothing.
    """
    try:
        parsed = Month.parse(month)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--month") from None
    checked_region(region)
    where = rejects or default_rejects(Path(f"allot-{parsed}"), shard)
    run_job("allot-month", database, shard, lambda ledger, part, report: allot_month(
        ledger, parsed, where, region, part, batch_size, report, workers=workers), where)


@app.command("close-year")
def close_year_command(
    year: Annotated[int, typer.Option(min=1990, max=2200, help="the year to close",
                                      show_default=False)],
    region: RegionOption = None, shard: ShardOption = "1/1", batch_size: BatchOption = 5000,
    rejects: RejectsOption = None, database: DatabaseOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Close YEAR for every account (年度结转): forfeit the unused cap, credit interest, carry over.

    Idempotent (a second run writes nothing) and resumable: after a crash or kill -9,
    run it again to finish the rest.
    """
    checked_region(region)
    where = rejects or default_rejects(Path(f"close-{year}"), shard)
    run_job("close-year", database, shard, lambda ledger, part, report: close_year(
        ledger, year, where, region, part, batch_size, report, workers=workers), where)


# -- shared by the job commands (and ``gongji people import``) ------------------------------

Job = Callable[[Ledger, Shard, Callable[[float, JobSummary], None]], JobSummary]


def checked_input(open_source: Callable[[], CsvSource]) -> str | None:
    """Check an input file (encoding, header) before anything is written; its encoding.

    A file that cannot be read ends the command: one message, exit status 2.
    """
    try:
        return open_source().encoding or None
    except LedgerError as error:
        console.print(f"[red]gongji: {error.code}: {error.message}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


def checked_region(region: str | None) -> None:
    """Refuse (exit 2) a --region that no policy file covers, listing those that exist."""
    if region is None:
        return
    regions = PolicyBook.load().regions
    if region not in regions:
        raise typer.BadParameter(f"no region {region!r}; the regions are "
                                 f"{', '.join(regions)}", param_hint="--region")


def default_rejects(input_path: Path, shard: str) -> Path:
    """``FILE.rejects.csv`` beside the input; one file per shard so shards never collide."""
    suffix = "" if shard.strip() == "1/1" else ".shard-" + shard.strip().replace("/", "-of-")
    return input_path.with_name(f"{input_path.stem}{suffix}.rejects.csv")


def run_job(title: str, database: str | None, shard_text: str, job: Job, rejects: Path) -> None:
    """Open the ledger, run ``job`` under a progress bar, print the summary; exit 1 if it
    does not tie out, 2 on unusable input."""
    try:
        shard = Shard.parse(shard_text)
    except ShardError as error:
        raise typer.BadParameter(str(error), param_hint="--shard") from None
    settings = writing(database)
    ledger = open_ledger(settings.database_url, settings.parameters)
    try:
        with progress_bar(f"{title} {shard}") as report:
            summary = job(ledger, shard, report)
    except LedgerError as error:
        console.print(f"[red]gongji: {error.code}: {error.message}[/red]")
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    print_summary(summary, rejects)
    if not summary.ties_out:
        raise typer.Exit(1)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[float, JobSummary], None]]:
    """A rich progress bar fed with (fraction done, summary so far): rows/s and ETA."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rows]:>12,} rows"),
               TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(description, total=1000, rows=0, rate=0.0)

        def report(done: float, summary: JobSummary) -> None:
            rows = summary.considered + summary.other_shards
            progress.update(task, completed=round(done * 1000), rows=rows, rate=summary.rate)

        yield report


def print_summary(summary: JobSummary, rejects: Path) -> None:
    """The counts, the money and the tie-out checks, on stdout."""
    out = Console()
    rows = [
        ("considered in this shard", f"{summary.considered:,}"),
        ("in other shards (not touched)", f"{summary.other_shards:,}"),
        ("written", f"{summary.written:,}"),
        ("already done (nothing written)", f"{summary.already:,}"),
        *((f"skipped: {code}", f"{n:,}") for code, n in sorted(summary.skipped.items())),
        *((f"rejected: {code}", f"{n:,}") for code, n in sorted(summary.rejected.items())),
        ("credited", format_fen(summary.credited)),
        *((name, format_fen(n) if name == "cap forfeited" else f"{n:,}")
          for name, n in sorted(summary.figures.items())),
        *((f"events stored: {name}", f"{n:,}") for name, n in sorted(summary.events.items())),
        ("Σ balances before (accounts touched)", format_fen(summary.balances_before)),
        ("Σ balances after", format_fen(summary.balances_after)),
        ("batches (redone one by one)", f"{summary.batches:,} ({summary.fallbacks:,})"),
        ("wall time", f"{summary.seconds:,.1f} s"),
        ("rows/s", f"{summary.rate:,.0f}"),
    ]
    out.print(figures(f"gongji {summary.job}, shard {summary.shard}", rows))
    for what, holds, detail in summary.checks():
        out.print(f"{'[green]✓' if holds else '[red]✗'} {what}[/]: {detail}")
    if summary.rejected:
        out.print(f"rejects: {rejects}")
