"""``gongji audit``: explain, point-in-time figures and verification, from the events alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Optional

import typer
from cli.projections import deployment, err, progress_bar
from cli.tables import Format, FormatOption, emit
from ledger.queries import PoolingView
from policies.calendar import parse_date
from policies.errors import LedgerError
from policies.money import format_fen
from projections.audit import balance_as_of, explain, pooling_as_of, verify
from projections.audit.as_of import Basis
from projections.audit.explain import UNREADABLE
from projections.audit.verify import as_json as verification
from projections.audit.plain import plain

app = typer.Typer(help="Audit (审计): explain figures, figures as of a date, verify the ledger.",
                  no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON (the same as --format json)")]
AsOf = Annotated[str, typer.Option("--as-of", help="the date, YYYY-MM-DD", show_default=False)]
BasisOption = Annotated[str, typer.Option(
    help="business: by the events' business dates (value dates); recorded: as recorded "
         "by the end of that day (UTC)")]


def _day(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _basis(text: str) -> Basis:
    if text not in ("business", "recorded"):
        raise typer.BadParameter("--basis is business or recorded")
    return text  # type: ignore[return-value]


def _fail(error: LedgerError) -> None:
    err.print(f"gongji: {error}")
    raise typer.Exit(1)


def _incomplete(messages: list[str]) -> None:
    """Tampered events were left out of the answer: say which, and exit 1."""
    if messages:
        for message in messages:
            err.print(f"gongji: INCOMPLETE: {message}", markup=False, highlight=False)
        raise typer.Exit(1)


@app.command("explain")
def explain_command(
    person: Annotated[str, typer.Argument(help="the insured person", show_default=False)],
    year: Annotated[Optional[int], typer.Option(help="only events of this business year")] = None,
    as_json: Json = False, fmt: FormatOption = Format.TABLE,
) -> None:
    """Every event touching PERSON: amount, balance after, the policy articles behind it."""
    with deployment() as (ledger, _):
        try:
            rows = explain(ledger, person, year)
        except LedgerError as error:
            _fail(error)
    lines = []
    for r in rows:
        detail = ", ".join(f"{k}={v}" for k, v in plain(r.detail).items() if k != "pooling")
        lines.append((r.version, r.date, r.event, r.account,
                      None if r.amount is None else format_fen(r.amount),
                      None if r.balance_after is None else format_fen(r.balance_after),
                      "; ".join(r.articles), (f"[{r.transaction}] " if r.transaction else "")
                      + detail))
    emit(f"{person}: events" + (f" of {year}" if year else ""),
         ("v", "date", "event", "account", "amount", "balance after", "articles", "detail"),
         lines, Format.JSON if as_json else fmt, right=("amount", "balance after"),
         records=plain(rows))
    _incomplete([r.detail["message"] for r in rows if r.event == UNREADABLE])


@app.command("balance")
def balance_command(
    person: Annotated[str, typer.Argument(help="the insured person", show_default=False)],
    as_of: AsOf, basis: BasisOption = "business", as_json: Json = False,
) -> None:
    """PERSON's personal-account balance as it stood on --as-of, from the events alone."""
    with deployment() as (ledger, _):
        try:
            figure = balance_as_of(ledger, person, _day(as_of), _basis(basis))
        except LedgerError as error:
            _fail(error)
    if as_json:
        typer.echo(json.dumps(plain(figure), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{person} balance as of {figure.as_of} ({basis} dates): "
                   f"{format_fen(figure.balance)} from {figure.movements} movements")
    _incomplete([bad.message for bad in figure.unreadable])


@app.command("pooling")
def pooling_command(
    person: Annotated[str, typer.Argument(help="the insured person", show_default=False)],
    as_of: AsOf,
    region: Annotated[Optional[str], typer.Option(help="only this region")] = None,
    year: Annotated[Optional[int], typer.Option(
        help="pooling year (default: the year of --as-of)")] = None,
    basis: BasisOption = "business", as_json: Json = False, fmt: FormatOption = Format.TABLE,
) -> None:
    """PERSON's yearly pooling usage (普通门诊统筹) as it stood on --as-of."""
    with deployment() as (ledger, _):
        try:
            answer = pooling_as_of(ledger, person, _day(as_of), region, year, _basis(basis))
        except LedgerError as error:
            _fail(error)
    names = [f.name for f in dataclasses.fields(PoolingView)]
    if as_json or fmt is Format.JSON:  # the whole answer: years and what could not be read
        typer.echo(json.dumps(plain(answer), ensure_ascii=False, indent=2))
    else:
        emit(f"{person}: pooling as of {as_of} ({basis} dates)", names,
             [[plain(view)[name] for name in names] for view in answer.years],
             fmt, records=plain(answer.years))
    _incomplete([bad.message for bad in answer.unreadable])


@app.command("verify")
def verify_command(
    as_json: Json = False,
    first: Annotated[bool, typer.Option(
        "--first", help="stop at the first difference (the hash chain's first break, if "
                        "any): a quick yes/no; by default every difference is reported")] = False,
) -> None:
    """Check the hash chain, re-price every settlement, recompute and compare every view.

    The chain is checked first, on the stored bytes alone: every edited, deleted, inserted
    or reordered event is named. Then every event is decoded and applied: one that cannot be
    is a difference naming its position and the reason, and the checks go on. Views behind
    the log are a difference too.

    Exit status 0 when everything agrees, 1 when anything differs. The chain's head link is
    printed: keep it elsewhere to detect a later truncation.
    """
    with deployment() as (ledger, views), progress_bar() as bar:
        task = bar.add_task("verifying", total=ledger.recorder.max_notification_id() or 0)
        report = verify(ledger, views,
                        lambda position, head: bar.update(task, completed=position, total=head),
                        first_only=first)
    assert report.chain is not None
    if as_json:
        typer.echo(json.dumps(verification(report), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"events: {report.events}; settlements re-priced: {report.settlements}; "
                   f"view rows compared: {report.view_rows} (at position {report.position})")
        typer.echo(f"chain head: {report.chain.head} over {report.chain.events} events")
        for difference in report.differences:
            typer.echo(f"DIFFERENCE [{difference.check}] {difference.text}")
        if report.stopped:
            typer.echo("stopped at the first difference (--first): the rest was not checked")
        if report.ok:
            typer.echo("ok: the events, the chain, the prices and the views agree")
    if not report.ok:
        raise typer.Exit(1)
