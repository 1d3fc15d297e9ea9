"""``gongji reports``: fund monitoring and early warning (基金运行监测与预警), from the views.

- ``fund-statement``: the monthly fund statement of a region (门诊共济基金月度收支统计),
  tied out against Σ balances; a table, CSV or XLSX, and a chart (PNG or SVG).
- ``institutions``: each designated institution's indicators for a month, and the flags
  of those far above their peers (nanchang art. 42).
- ``alerts``: account-use alerts (suizhou art. 25, jilin (十一)) with their reviews.
- ``review-alert``: record a review of an alert (an event: who looked at what).

The reports read the views kept by ``gongji projections run`` and warn when those are
behind the log. Thresholds: ``projections/monitoring/thresholds.toml``, overridden by
``GONGJI_MONITORING``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from cli.export import _check_region, _warn_if_behind
from cli.projections import deployment, err, progress_bar
from cli.tables import console
from ledger.reviews import ReviewAlert
from ledger.settings import SettingsError
from policies.errors import LedgerError
from policies.money import format_fen
from projections import ViewReader
from projections.log import EventLog
from projections.projection import state_decoder
from projections.monitoring import alerts as alert_rules
from projections.monitoring import indicators as ind
from projections.monitoring.files import Money, csv_bytes, statement_chart, xlsx_bytes
from projections.monitoring.settings import load_thresholds
from projections.monitoring.statement import COLUMNS, statements, table_rows, tie_out

app = typer.Typer(help="Fund monitoring and early warning (基金运行监测与预警): the monthly "
                       "statement, institution indicators, account-use alerts.",
                  no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option(
    "--format", help="table (for reading), csv or xlsx (files; CSV to stdout without "
                     "--output), json")]
Output = Annotated[Optional[Path], typer.Option(
    "--output", "-o", dir_okay=False, show_default=False,
    help="write the csv/xlsx/json here (xlsx needs it)")]
RegionOption = Annotated[str, typer.Option("--region", help="the region (统筹地区)",
                                           show_default=False)]
YearOption = Annotated[int, typer.Option("--year", min=1900, max=2199, show_default=False,
                                         help="the year")]


def _thresholds():  # noqa: ANN202
    try:
        return load_thresholds()
    except SettingsError as error:
        err.print(f"gongji: {error}", markup=False)
        raise typer.Exit(2) from None


def _emit(fmt: Format, output: Path | None, title: str, columns: tuple[str, ...],
          rows: list[tuple], records: object) -> bool:
    """Write a file format; False for the table (the caller prints it)."""
    if fmt is Format.TABLE:
        return False
    if fmt is Format.XLSX:
        if output is None:
            raise typer.BadParameter("--format xlsx needs --output FILE.xlsx",
                                     param_hint="--output")
        output.write_bytes(xlsx_bytes(title, columns, rows))
    elif fmt is Format.CSV:
        data = csv_bytes(columns, rows)
        if output is None:
            typer.echo(data.decode("utf-8-sig"), nl=False)
        else:
            output.write_bytes(data)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=2)
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
    if output is not None:
        err.print(f"wrote {output}")
    return True


def _fen(value: int | None) -> str:
    return "" if value is None else format_fen(value)


@app.command("fund-statement")
def fund_statement(
    region: RegionOption, year: YearOption,
    month: Annotated[Optional[int], typer.Option(
        "--month", min=1, max=12, help="one month (default: every month of the year so far)")
    ] = None,
    fmt: FormatOption = Format.TABLE, output: Output = None,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", dir_okay=False, show_default=False,
        help="also draw the year month by month into this .png or .svg")] = None,
) -> None:
    """The monthly fund statement (基金月度收支统计): pooling fund paid by level and category;
    personal-account inflows and outflows by kind; over-cap amounts and people who reached
    the cap; year to date; opening + inflows − outflows = closing, tied out against Σ
    balances at the month's end (exit 1 if it does not tie out)."""
    if chart is not None and chart.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter(f"{chart.name}: name a .png or .svg file", param_hint="--chart")
    with deployment() as (ledger, views):
        _check_region(region, ledger.book.regions)
        _warn_if_behind(views.position(), ledger.recorder.max_notification_id() or 0)
        reader = ViewReader(views, ledger.book)
        found = statements(views, region, year, month)
        checks = [tie_out(reader, s) for s in found]
        year_so_far = found if month is None else statements(views, region, year)
    if not found:
        err.print(f"no movement in {region} up to {year}: nothing to state")
        raise typer.Exit(0)
    rows = [row for s, c in zip(found, checks) for row in table_rows(s, c)]
    records = [dict(zip(COLUMNS, [format_fen(v) if isinstance(v, Money) else v for v in r]))
               for r in rows]
    if not _emit(fmt, output, f"fund statement {region} {year}", COLUMNS, rows, records):
        for statement, check in zip(found, checks):
            _print_statement(statement, check)
    if chart is not None and year_so_far:
        statement_chart(year_so_far, chart)
        err.print(f"chart: {chart}")
    bad = [c for c in checks if not c.ties_out]
    for s, c in zip(found, checks):
        if not c.ties_out:
            err.print(f"{s.region} {s.year}-{s.month:02d}: closing {format_fen(c.closing)} ≠ "
                      f"Σ balances {format_fen(c.balances)}: does NOT tie out", markup=False)
    if bad:
        raise typer.Exit(1)


def _print_statement(s, check) -> None:  # noqa: ANN001
    table = Table(title=f"{s.region} {s.year}-{s.month:02d} fund statement 基金月度收支统计",
                  title_justify="left")
    for name, justify in (("line 项目", "left"), ("month 本月", "right"), ("count 笔数", "right"),
                          ("year to date 本年累计", "right"), ("count 笔数", "right")):
        table.add_column(name, justify=justify)

    def add(label: str, amount: int | None, count: int | None = None,
            ytd: int | None = None, ytd_count: int | None = None, style: str = "") -> None:
        table.add_row(label, _fen(amount), "" if count is None else f"{count:,}", _fen(ytd),
                      "" if ytd_count is None else f"{ytd_count:,}", style=style)

    add("opening Σ balances 期初余额", s.opening, style="bold")
    for line in s.inflows:
        add(f"  + {line.label}", line.amount, line.count, line.ytd_amount, line.ytd_count)
    add("total inflows 收入合计", s.total_in, style="bold")
    for line in s.outflows:
        add(f"  − {line.label}", line.amount, line.count, line.ytd_amount, line.ytd_count)
    add("total outflows 支出合计", s.total_out, style="bold")
    add("closing Σ balances 期末余额", s.closing, style="bold")
    mark = "ties out 平衡" if check.ties_out else "DOES NOT TIE OUT 不平衡"
    add(f"Σ balances at month end ({check.accounts:,} accounts): {mark}", check.balances,
        style="green" if check.ties_out else "bold red")
    table.add_section()
    for line in s.pooling:
        add(line.label, line.amount, line.count, line.ytd_amount, line.ytd_count)
    add("pooling fund paid 统筹基金支出合计", s.fund_paid,
        sum(line.count for line in s.pooling), s.fund_paid_ytd,
        sum(line.ytd_count for line in s.pooling), style="bold")
    for line in (s.over_cap, s.cash):
        add(line.label, line.amount, line.count, line.ytd_amount, line.ytd_count)
    table.add_row(s.capped.label, "", f"{s.capped.count:,}", "", f"{s.capped.ytd_count:,}")
    console().print(table)


INDICATOR_COLUMNS = ("region", "year", "month", "level", "institution", "visits",
                     "in_scope_per_visit", "total_per_visit", "growth_3m", "growth_yoy",
                     "self_pay_share", "out_of_scope_share", "flags")
FLAG_COLUMNS = ("region", "year", "month", "level", "institution", "indicator", "value",
                "peers_median", "limit", "score", "peers", "article")


@app.command("institutions")
def institutions(
    region: RegionOption, year: YearOption,
    month: Annotated[int, typer.Option("--month", min=1, max=12, show_default=False,
                                       help="the month")],
    flagged: Annotated[bool, typer.Option("--flagged", help="only the flags")] = False,
    from_events: Annotated[bool, typer.Option(
        "--from-events", help="rebuild the institution months from the event log instead "
                              "of reading the views (when the views are behind)")] = False,
    fmt: FormatOption = Format.TABLE, output: Output = None,
) -> None:
    """Institution indicators for a month (定点医药机构监测指标, nanchang art. 42), and the
    flags of those far above the peers of their region and level."""
    rules = _thresholds().institutions
    with deployment() as (ledger, views):
        _check_region(region, ledger.book.regions)
        if from_events:
            with progress_bar() as bar:
                task = bar.add_task("reading the log", total=ledger.recorder.max_notification_id())
                regions, _ = ind.replay(EventLog(ledger.recorder), state_decoder(ledger.mapper),
                                        progress=lambda done, head: bar.update(
                                            task, completed=done, total=head))
            months = regions.get(region, {})
        else:
            _warn_if_behind(views.position(), ledger.recorder.max_notification_id() or 0)
            months = ind.months_of(views, region)
    rows_of = ind.indicators(months, region, year, month)
    found = ind.flags(rows_of, rules)
    by_row: dict[tuple[int, str], list[str]] = {}
    for flag in found:
        by_row.setdefault((flag.level, flag.institution), []).append(flag.indicator)
    if flagged:
        records = [ind.as_dict(f) for f in found]
        rows = [tuple(r[c] for c in FLAG_COLUMNS) for r in records]
        columns = FLAG_COLUMNS
    else:
        rows = [(r.region, r.year, r.month, r.level, r.name, r.visits,
                 *(ind.shown(name, r.values[name]) for name in INDICATOR_COLUMNS[6:12]),
                 " ".join(by_row.get((r.level, r.institution), [])))
                for r in rows_of]
        columns = INDICATOR_COLUMNS
        records = [dict(zip(columns, row)) for row in rows]
    if _emit(fmt, output, f"institutions {region} {year}-{month:02d}", columns, rows, records):
        return
    table = Table(title=f"{region} {year}-{month:02d}: "
                        + ("flags 预警" if flagged else "institution indicators 机构监测指标")
                        + f" ({rules.article}; {rules.method}, see thresholds)",
                  title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column in ("institution", "indicator",
                                                               "article", "flags") else "right")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row),
                      style="bold red" if not flagged and row[-1] else "")
    console().print(table)
    err.print(f"{len(rows_of)} institution-months, {len(found)} flags")


ALERT_COLUMNS = ("id", "rule", "person", "region", "period", "count", "limit", "status",
                 "article", "detail")


@app.command("alerts")
def alerts(
    region: Annotated[Optional[str], typer.Option("--region", help="only this region")] = None,
    year: Annotated[Optional[int], typer.Option("--year", min=1900, max=2199,
                                                help="only this year")] = None,
    fmt: FormatOption = Format.TABLE, output: Output = None,
) -> None:
    """Account-use alerts (个人账户使用预警, suizhou art. 25, jilin (十一)) and their reviews.
    Alerts never block a payment."""
    rules = _thresholds().alerts
    with deployment() as (ledger, views):
        if region is not None:
            _check_region(region, ledger.book.regions)
        _warn_if_behind(views.position(), ledger.recorder.max_notification_id() or 0)
        found = alert_rules.alerts(views, rules, region, year)
    records = [alert_rules.as_dict(a) for a in found]
    rows = [tuple(r[c] for c in ALERT_COLUMNS) for r in records]
    if _emit(fmt, output, "alerts", ALERT_COLUMNS, rows, records):
        return
    table = Table(title="account-use alerts 个人账户使用预警", title_justify="left")
    for column in ALERT_COLUMNS:
        table.add_column(column, justify="right" if column in ("count", "limit") else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console().print(table)
    err.print(f"{len(found)} alerts, {sum(a.status == 'open' for a in found)} not reviewed")


@app.command("review-alert")
def review_alert(
    alert: Annotated[str, typer.Argument(help="the alert's id, as `reports alerts` lists it",
                                         show_default=False)],
    review: Annotated[str, typer.Option("--review", help="the review's own id (复核编号); "
                                        "sending it again is a harmless retry",
                                        show_default=False)],
    outcome: Annotated[str, typer.Option("--outcome", help="acknowledged (已知悉) or "
                                         "referred (移交核查)", show_default=False)],
    note: Annotated[str, typer.Option("--note", help="what was found (复核意见)",
                                      show_default=False)],
    reviewer: Annotated[str, typer.Option("--reviewer", help="who reviewed (复核人)",
                                          show_default=False)],
    date: Annotated[Optional[str], typer.Option("--date", help="YYYY-MM-DD (default today)")
                    ] = None,
) -> None:
    """Record a review of an alert: an event (AlertReviewed), so the audit trail shows who
    looked at what. The alert must be one the alerts report raises now."""
    rules = _thresholds().alerts
    try:
        cmd = ReviewAlert(review=review, alert=alert, outcome=outcome, note=note,
                          reviewer=reviewer, date=date or dt.date.today().isoformat(),
                          role="agency")
    except ValueError as error:
        err.print(f"gongji: invalid_input: {error}", markup=False)
        raise typer.Exit(1) from None
    with deployment() as (ledger, views):
        if alert not in {a.id for a in alert_rules.alerts(views, rules)}:
            err.print(f"gongji: invalid_input: no alert {alert!r} is raised now; list them "
                      "with `gongji reports alerts`", markup=False)
            raise typer.Exit(1)
        try:
            recorded = ledger.review_alert(cmd)
        except LedgerError as error:
            err.print(f"gongji: {error}", markup=False)
            raise typer.Exit(1) from None
    typer.echo(json.dumps(asdict(recorded), ensure_ascii=False))
