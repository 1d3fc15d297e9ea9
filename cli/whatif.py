"""``gongji what-if``: re-price a recorded year under draft policies (政策测算); writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.projections import err, progress_bar
from ledger import open_ledger
from ledger.adapters.store import store_env
from ledger.settings import SettingsError, load_settings
from policies.errors import LedgerError
from projections.whatif import load_draft, what_if
from projections.whatif.drafts import unique_names
from projections.whatif.present import (
    Sheet,
    breakdown,
    caps,
    credits,
    distribution,
    document,
    extremes,
    labelled,
    side_by_side,
    totals,
)
from projections.whatif.report import WhatIf

out = Console()

ZH_DRAFT = "草案政策文件或测算参数有误：按提示修正文件中的字段后重试（不会写入任何数据）"


def what_if_command(
    region: Annotated[str, typer.Option(help="the region (统筹地区) whose year is re-priced",
                                        show_default=False)],
    year: Annotated[int, typer.Option(min=1900, max=9999, help="the business year of the visits",
                                      show_default=False)],
    policy: Annotated[list[Path], typer.Option(
        "--policy", help="a draft policy file (TOML, the shape of policies/data/*.toml); "
                         "repeat to compare several drafts", show_default=False)],
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="also write CSV, XLSX and charts (PNG, SVG) to this directory")] = None,
    parameters: Annotated[Optional[Path], typer.Option(
        help="JSON file of deployment parameters for the drafts, region → values, as "
             "GONGJI_POLICY_PARAMETERS (default: the deployment's); a framework draft "
             "(jilin) takes its city figures from here")] = None,
    database: Annotated[Optional[str], typer.Option(
        help="the event store to read (default: GONGJI_DATABASE_URL)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Re-price REGION's YEAR under each draft policy, side by side with what was paid.

    Every settled, not reversed visit of the year is taken from the events and priced
    again in its original order, from zero accumulations, with the same people,
    categories, schemes, flags and levels — once under the policy in force (the
    self-check: it must reproduce every recorded figure to the fen) and once per draft.
    Nothing is written to the ledger. Exit status 1 when the self-check fails, 2 when
    a draft or an option is refused.
    """
    try:
        settings = load_settings(**({"database_url": database} if database else {}))
    except SettingsError as error:
        err.print(f"gongji: {error}")
        raise typer.Exit(2) from None
    _require_store(settings.database_url)
    draft_parameters = _parameters(parameters) if parameters else settings.parameters
    try:
        drafts = unique_names([load_draft(path, region, draft_parameters) for path in policy])
    except LedgerError as error:
        _refuse(error)
    ledger = open_ledger(settings.database_url, settings.parameters)
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"reading {region} {year}",
                                total=ledger.recorder.max_notification_id() or 0)
            result = what_if(ledger, region, year, drafts,
                             lambda position, head: bar.update(task, completed=position,
                                                               total=head))
    except LedgerError as error:
        _refuse(error)
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps(document(result), ensure_ascii=False, indent=2))
    else:
        show(result)
    if out_dir is not None:
        from projections.whatif.files import write_all

        written = write_all(result, out_dir)
        (err if as_json else out).print(f"wrote {len(written)} files to {out_dir}: "
                                        + ", ".join(p.name for p in written))
    if not result.check.ok:
        raise typer.Exit(1)


def _require_store(url: str) -> None:
    """A what-if reads; it must not create an empty SQLite store by opening a wrong path."""
    path = store_env(url).get("SQLITE_DBNAME")
    if path is not None and path != ":memory:" and not Path(path).is_file():
        err.print(f"gongji: invalid_input: no event store at {path!r} (GONGJI_DATABASE_URL "
                  f"or --database)\n事件库不存在：检查 GONGJI_DATABASE_URL 或 --database")
        raise typer.Exit(2)


def _parameters(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        err.print(f"gongji: invalid_input: --parameters {path}: {error}\n{ZH_DRAFT}")
        raise typer.Exit(2) from None
    if not isinstance(value, dict):
        err.print(f"gongji: invalid_input: --parameters {path}: expected a JSON object "
                  f"region → values\n{ZH_DRAFT}")
        raise typer.Exit(2)
    return value


def _refuse(error: LedgerError) -> None:
    err.print(f"gongji: {error}\n{ZH_DRAFT}")
    raise typer.Exit(2)


def rich_table(sheet: Sheet, title: str, columns: list[str] | None = None,
               headers: list[str] | None = None) -> Table:
    """``sheet`` (or some of its columns) as a rich table, figures right-aligned."""
    names = columns or sheet.columns
    spots = [sheet.columns.index(name) for name in names]
    table = Table(title=title)
    for name, header in zip(names, headers or names, strict=True):
        table.add_column(header, justify="left" if name in ("measure", "month", "category",
                                                          "statistic", "draft", "who",
                                                          "person", "kind") else "right",
                         overflow="fold", no_wrap=name != "person")
    for row in sheet.formatted():
        table.add_row(*("" if row[i] is None else str(row[i]) for i in spots))
    return table


def show(result: WhatIf) -> None:
    """The report in the terminal; the full breakdown (every measure) is in --out's files."""
    if not out.is_terminal:
        out.width = max(out.width, 150)
    style = "green" if result.check.ok else "bold red"
    out.print(f"[{style}]{result.check.line()}[/{style}]")
    record = result.record
    out.print(f"{result.region} {result.year}: {len(record.visits):,} settled visits "
              f"({len(record.reversed):,} reversed, left out), {result.people:,} people; "
              f"drafts: " + ", ".join(f"{d.name} ({d.source})" for d in result.drafts))
    out.print(rich_table(totals(result), "the year: actual | draft | change (yuan; "
                                         "change = draft − actual)"))
    detail = breakdown(result)
    for measure in ("fund_paid", "self_pay"):
        columns = ["month", "level", "category", "visits actual", *side_by_side(result, measure)]
        headers = ["month", "level", "category", "visits", *(
            name.removeprefix(f"{measure} ") for name in side_by_side(result, measure))]
        out.print(rich_table(detail, f"{labelled(measure)} by month × institution level × "
                                     "category (every measure: --out)", columns, headers))
    out.print(rich_table(caps(result), "people reaching the yearly cap (达到最高支付限额)"))
    if result.drafts and result.people:
        out.print(rich_table(distribution(result), "each person's yearly self-pay change, "
                                                   "draft − actual (deciles)"))
        out.print(rich_table(extremes(result), "the 10 people who gain most (pay less) and "
                                               "lose most (pay more)"))
    credit = credits(result)
    if credit.rows:
        out.print(rich_table(credit, "personal-account credits of the year under the draft"))
    for draft in result.drafts:
        if draft.credits is None:
            out.print(f"{draft.name}: the draft does not change personal-account credits")
