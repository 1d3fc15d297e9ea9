"""``gongji demo``: a synthetic year of one region on the embedded store, with a tie-out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cli.db import refuse
from cli.simulation import DEMO_PARAMETERS, DEMO_YEAR, Simulation
from cli.tables import figures
from ledger import open_ledger
from ledger.grouping import group_size
from ledger.settings import SettingsError
from ledger.adapters.store import check_database
from policies.money import format_fen

console = Console()


def demo(
    region: Annotated[str, typer.Option(help=f"one of {', '.join(DEMO_YEAR)}")] = "yunnan",
    people: Annotated[int, typer.Option(min=1, help="size of the synthetic population")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same year")] = 1,
    database: Annotated[Path, typer.Option(
        help="SQLite file to write (created fresh; an existing file is replaced)")] = Path("gongji-demo.db"),
) -> None:
    """Enroll PEOPLE in REGION, run a year through the ledger and print a summary that ties out.

    Monthly contributions and allotments, visits with pooling, family bindings and
    pharmacy spends, reversals, mid-year retirements, a few deaths with inheritance and
    transfers out, and the year-end close — each one command of the application service.
    """
    if region not in DEMO_YEAR:
        raise typer.BadParameter(f"choose one of {', '.join(DEMO_YEAR)}", param_hint="--region")
    try:
        check_database(str(database))
        group_size()
    except SettingsError as error:
        refuse(error, str(database))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    ledger = open_ledger(str(database), DEMO_PARAMETERS)
    simulation = Simulation(ledger, region, people, seed)
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"{region} {DEMO_YEAR[region]}", rate="",
                                 total=simulation.estimated_commands())
        for number, step in enumerate(simulation.steps(), start=1):
            step()
            if number % 200 == 0:
                elapsed = time.perf_counter() - started
                progress.update(task, completed=number, rate=f"{number / elapsed:,.0f} cmd/s")
        progress.update(task, total=simulation.totals.commands, completed=simulation.totals.commands)
    elapsed = time.perf_counter() - started
    events = ledger.recorder.max_notification_id() or 0
    balances = simulation.balances()
    ledger.close()
    _summary(simulation, events, elapsed, balances, database)


def _summary(simulation: Simulation, events: int, elapsed: float, balances: int,
             database: Path) -> None:
    t = simulation.totals
    rows = [
        ("people", f"{t.people:,}"),
        ("commands (refused)", f"{t.commands:,} ({sum(t.refused.values()):,})"),
        ("events written", f"{events:,}"),
        ("wall time", f"{elapsed:.1f} s"),
        ("events/s (SQLite, one command per save)", f"{events / elapsed:,.0f}"),
        ("visits", f"{t.visits:,}"),
        ("total credited", format_fen(t.credited)),
        ("fund paid", format_fen(t.fund_paid)),
        ("account paid (own + family)", format_fen(t.account_paid)),
        ("cash paid", format_fen(t.cash_paid)),
        ("pharmacy spends", format_fen(t.spent)),
        ("restored by reversals", format_fen(t.restored)),
        ("paid out to heirs", format_fen(t.paid_out)),
        ("pooling years closed", f"{t.pooling_years_closed:,}"),
        ("Σ balances", format_fen(balances)),
    ]
    console.print(figures(f"gongji demo: {simulation.region} {simulation.year}", rows))
    expected = t.credited + t.restored - t.debited
    verdict = "ties out" if expected == balances else "DOES NOT TIE OUT"
    console.print(
        f"credited {format_fen(t.credited)} + restored {format_fen(t.restored)} − debited "
        f"{format_fen(t.debited)} = {format_fen(expected)}; Σ balances {format_fen(balances)}: "
        f"[bold]{verdict}[/bold]"
    )
    if t.refused:
        console.print("refused by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(t.refused.items())))
    console.print(f"events are in {database}")
    if expected != balances:
        raise typer.Exit(1)
