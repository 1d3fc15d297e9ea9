"""``gongji export``: the agency's report files (CSV or XLSX) from the read models.

- ``export balances --as-of DATE``: every account with a movement on or before DATE, its
  balance at the end of DATE by value date (the same figure as ``audit balance``), with
  its current region and status.
- ``export fund-totals --year Y``: the pooling fund's and the accounts' payments per
  region, month and institution level, net of reversals (as ``/v1/reports/fund-totals``).

Both read the views kept by ``gongji projections run``; a warning names how far they are
behind the log. The format follows ``--output``'s suffix (``.csv``, ``.xlsx``); without
``--output`` CSV goes to standard output. CSV files are UTF-8 with a byte-order mark, so
that Excel on Chinese Windows opens them as they are; amounts are ``D.DD`` text in CSV and
exact decimal numbers (format ``0.00``) in XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.projections import deployment, err
from policies.calendar import parse_date
from policies.money import format_fen
from projections import ViewReader
from projections.monitoring.files import Money, xlsx_bytes

app = typer.Typer(help="Report files for the agency (报表导出): CSV or XLSX.",
                  no_args_is_help=True)

Output = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="write to this .csv or .xlsx file (default: CSV on stdout)",
    dir_okay=False, show_default=False)]
Region = Annotated[Optional[str], typer.Option(help="only this region")]


BALANCE_COLUMNS = ("person", "region", "status", "as_of", "balance")
FUND_COLUMNS = ("region", "year", "month", "level", "fund_paid", "account_paid",
                "family_paid", "cash_paid", "visits", "reversed")


@app.command()
def balances(
    as_of: Annotated[str, typer.Option("--as-of", help="the day, YYYY-MM-DD",
                                       show_default=False)],
    region: Region = None, output: Output = None,
) -> None:
    """Personal-account balances at the end of --as-of (个人账户余额), one row a person."""
    day = _day(as_of)
    with deployment() as (ledger, views):
        reader = ViewReader(views, ledger.book)
        _check_region(region, ledger.book.regions)
        _warn_if_behind(views.position(), ledger.recorder.max_notification_id() or 0)
        rows = [(b.person, b.region, b.status, day.isoformat(), Money(b.balance))
                for b in reader.balances_on(day, region)]
    _write(output, f"balances {day}", BALANCE_COLUMNS, rows)
    err.print(f"{len(rows)} accounts; Σ balances {format_fen(sum(r[4] for r in rows))}",
              soft_wrap=True)


@app.command("fund-totals")
def fund_totals(
    year: Annotated[int, typer.Option(min=1900, max=2199, help="the pooling year",
                                      show_default=False)],
    region: Region = None, output: Output = None,
) -> None:
    """Fund and account payments per region, month and level (基金支出统计), net of
    reversals, by the visits' dates."""
    with deployment() as (ledger, views):
        _check_region(region, ledger.book.regions)
        _warn_if_behind(views.position(), ledger.recorder.max_notification_id() or 0)
        totals = ViewReader(views, ledger.book).fund_totals(region, year)
    rows = [(t.region, t.year, t.month, t.level, Money(t.fund_paid), Money(t.account_paid),
             Money(t.family_paid), Money(t.cash_paid), t.visits, t.reversed) for t in totals]
    _write(output, f"fund totals {year}", FUND_COLUMNS, rows)
    err.print(f"{len(rows)} rows; fund paid {format_fen(sum(r[4] for r in rows))}",
              soft_wrap=True)


def _day(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--as-of") from None


def _check_region(region: str | None, regions: Sequence[str]) -> None:
    if region is not None and region not in regions:
        raise typer.BadParameter(f"no region {region!r}; the regions are {', '.join(regions)}",
                                 param_hint="--region")


def _warn_if_behind(position: int, head: int) -> None:
    if head > position:
        err.print(f"warning: the views are {head - position} events behind the log (position "
                  f"{position}, head {head}); run `gongji projections run --once` for "
                  "figures up to now", soft_wrap=True)


def _write(output: Path | None, title: str, columns: Sequence[str],
           rows: Sequence[Sequence[Any]]) -> None:
    if output is not None and output.suffix.lower() == ".xlsx":
        _xlsx(output, title, columns, rows)
    elif output is None or output.suffix.lower() == ".csv":
        text = [[format_fen(v) if isinstance(v, Money) else v for v in row] for row in rows]
        if output is None:
            _csv(sys.stdout, columns, text)
        else:
            with output.open("w", encoding="utf-8-sig", newline="") as file:
                _csv(file, columns, text)
    else:
        raise typer.BadParameter(f"{output.name}: name a .csv or .xlsx file",
                                 param_hint="--output")


def _csv(file: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(file, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)


def _xlsx(path: Path, title: str, columns: Sequence[str],
          rows: Sequence[Sequence[Any]]) -> None:
    path.write_bytes(xlsx_bytes(title, columns, rows))
