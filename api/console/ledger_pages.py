"""The ledger's pages: integrity (the chain head, "verify now" streamed, every difference
linked to its stored event) and the fund report (chart, tables, CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import queue
import threading
from collections.abc import Iterator
from html import escape
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from api import schemas as s
from api.console import charts
from api.console.web import lang_of, page, refusal, router, signed_in, templates, year_param
from api.console.words import word
from api.params import MAX_POSITION
from policies.errors import InputError
from policies.money import format_fen
from projections.audit import verify
from projections.audit.reading import aggregate_events
from projections.audit.verify import as_json
from projections.log import EventLog
from projections.monitoring.statement import statements
from projections.projection import state_decoder

LAST: dict[str, Any] = {}  # the last verification in this process: time, report


# -- integrity ---------------------------------------------------------------------------


def stored_head(ledger: Any) -> str | None:
    """The newest link of the hash chain as stored (verify recomputes it)."""
    head = ledger.recorder.max_notification_id() or 0
    links = ledger.recorder.select_links(max(head - 1, 0), 1) if head else []
    return links[-1].link.hex() if links else None


@router.get("/integrity")
def integrity(request: Request) -> Response:
    services, _ = signed_in(request)
    return page(request, "integrity.html", head=stored_head(services.ledger), last=LAST,
                tab="integrity")


@router.post("/integrity/verify")
def verify_now(request: Request) -> Response:
    """Verify the whole ledger, streaming the page as the batches are checked."""
    services, _ = signed_in(request)
    lang = lang_of(request)
    news: queue.Queue[tuple[int, int] | dict[str, Any] | BaseException] = queue.Queue()

    def run() -> None:
        try:
            news.put(as_json(verify(services.ledger, services.views,
                                    progress=lambda done, total: news.put((done, total)))))
        except BaseException as error:  # the page says so instead of hanging
            news.put(error)

    def chunks() -> Iterator[str]:
        head, _, tail = page(request, "verify.html", result=None).body.decode().partition(
            "<!--progress-->")
        yield head
        threading.Thread(target=run, daemon=True).start()
        while True:
            item = news.get()
            if isinstance(item, tuple):
                yield (f'<li><progress value="{item[0]}" max="{max(item[1], 1)}"></progress> '
                       f'{word("events_checked", lang, done=item[0], total=item[1])}</li>\n')
                continue
            if isinstance(item, BaseException):
                yield f'<li role="alert">{escape(f"{type(item).__name__}: {item}")}</li>'
                yield tail
                return
            LAST.update(time=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                        report=item)
            yield "</ol>" + templates.get_template("verdict.html").render(
                t=lambda key, **v: word(key, lang, **v), last=LAST) + "<ol hidden>"
            yield tail
            return

    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


@router.get("/events/{position}")
def stored_event(request: Request, position: int) -> Response:
    """One stored event by its position in the log, as stored, and whose it is."""
    services, _ = signed_in(request)
    ledger = services.ledger
    rows = EventLog(ledger.recorder).read(position - 1, 1) if 0 < position <= MAX_POSITION \
        else []
    row = rows[0] if rows and rows[0][0] == position else None
    state, person = None, None
    if row is not None:
        try:
            state = json.dumps(state_decoder(ledger.mapper)(row[4]), ensure_ascii=False,
                               indent=1, default=str)
        except Exception as error:  # tampered bytes: show them, say why
            state = f"{type(error).__name__}: {error}\n{bytes(row[4])[:2000]!r}"
        for read in aggregate_events(ledger, UUID(row[1])):
            person = person or getattr(read.event, "person", None)
    return page(request, "event.html", position=position, row=row, state=state,
                person=person)


# -- the fund report ------------------------------------------------------------------


def fund_rows(request: Request, region: str, year: str) -> tuple[str, int | None, list[Any]]:
    services, _ = signed_in(request)
    chosen = year_param(year)
    if region and region not in services.ledger.book.regions:
        raise InputError(f"no region {region!r}", f"没有统筹地区 {region}")
    if not region or chosen is None:  # the latest region and year with settlements
        every = services.readers.fund_totals(region or None, chosen, None, None).value
        latest = max(every, key=lambda r: (r.year, r.region), default=None)
        region = region or (latest.region if latest else services.ledger.book.regions[0])
        chosen = chosen or (latest.year if latest else dt.date.today().year)
    rows = [s.FundTotals.of(r) for r in services.readers.fund_totals(region, chosen, None,
                                                                     None).value]
    return region, chosen, rows


@router.get("/reports/fund")
def fund_report(request: Request, region: str = "", year: str = "") -> Response:
    services, _ = signed_in(request)
    lang = lang_of(request)
    try:
        region, chosen, rows = fund_rows(request, region, year)
    except InputError as error:
        return refusal(request, error)

    def total(selected: list[s.FundTotals], name: str) -> int:
        return sum(int(getattr(r, name).replace(".", "")) for r in selected)

    months = [(f"{m:02d}", total([r for r in rows if r.month == m], "fund_paid"))
              for m in range(1, 13)]
    levels = [{"level": lv, **{n: format_fen(total([r for r in rows if r.level == lv], n))
                               for n in ("fund_paid", "account_paid", "family_paid",
                                         "cash_paid")},
               "visits": sum(r.visits for r in rows if r.level == lv)}
              for lv in sorted({r.level for r in rows})]
    found = statements(services.readers.views.views, region, chosen) if chosen else []
    categories = [{"level": line.code.split(".")[1], "category": line.code.split(".")[2],
                   "visits": line.ytd_count, "fund_paid": format_fen(line.ytd_amount)}
                  for line in (found[-1].pooling if found else [])]
    return page(request, "fund.html", region=region, year=chosen, rows=rows, levels=levels,
                categories=categories,
                regions=services.ledger.book.regions, tab="fund",
                chart=charts.columns(months, word("by_month", lang)),
                sums={n: format_fen(total(rows, n)) for n in
                      ("fund_paid", "account_paid", "family_paid", "cash_paid")},
                query=urlencode({"region": region, "year": chosen}))


@router.get("/reports/fund.csv")
def fund_csv(request: Request, region: str = "", year: str = "") -> Response:
    try:
        region, chosen, rows = fund_rows(request, region, year)
    except InputError as error:
        return refusal(request, error)
    out = io.StringIO()
    writer = csv.writer(out)
    names = list(s.FundTotals.model_fields)
    writer.writerow(names)
    writer.writerows([getattr(r, n) for n in names] for r in rows)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="fund-{region}-{chosen}.csv"'})
