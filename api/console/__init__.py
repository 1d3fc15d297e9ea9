"""The auditor's console (审计控制台), ``/console``: pages over the same queries as the API.

Server-rendered (Jinja2), charts as inline SVG, one stylesheet, no script needed: it works
offline and prints. A page reads what the JSON API reads — the audit queries
(:mod:`projections.audit`), :class:`~api.readers.Readers`, the ledger's transactions — and
formats it with the API's own schemas, so no figure is computed twice.

Signing in takes an auditor or agency key and keeps, for the browser session only (a
cookie without an expiry, HttpOnly, SameSite=Strict), a hash of it — never the key itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from uuid import UUID

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api import schemas as s
from api.console import charts
from api.console.words import KINDS, LANGUAGES, word
from api.params import MAX_POSITION
from api.problems import ZH
from api.readers import Consistency
from ledger.results import VisitResult
from ledger.transaction import Settlement
from policies.calendar import parse_date
from policies.errors import InputError, LedgerError
from policies.money import format_fen
from projections.audit import balance_as_of, explain, pooling_as_of, verify
from projections.audit.reading import account_events, aggregate_events
from projections.audit.verify import as_json
from projections.log import EventLog
from projections.projection import state_decoder

HERE = Path(__file__).parent
COOKIE, LANG = "gongji_console", "gongji_lang"
ROLES = ("auditor", "agency")
PAGE = 50  # timeline rows per page
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["fen"] = lambda v: "—" if v is None else format_fen(v)
router = APIRouter(prefix="/console", include_in_schema=False)
LAST: dict[str, Any] = {}  # the last verification in this process: time, report


class SignIn(Exception):
    """No console session: go to the sign-in page."""


def token(key: str) -> str:
    """What the session cookie holds: a hash of the key, not the key."""
    return hashlib.sha256(b"gongji-console\0" + key.encode()).hexdigest()


def signed_in(request: Request) -> tuple[Any, str]:
    """The services and the signed-in role, or :class:`SignIn`."""
    services = request.app.state.services
    held = request.cookies.get(COOKIE, "")
    for key, grant in services.keys.items():
        if held and token(key) == held and grant.role in ROLES:
            return services, grant.role
    raise SignIn


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(LANG, "zh")
    return chosen if chosen in LANGUAGES else "zh"


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    role = None
    try:
        role = signed_in(request)[1]
    except SignIn:
        pass
    return templates.TemplateResponse(request, name, {
        "lang": lang, "t": lambda key, **v: word(key, lang, **v), "role": role,
        "kinds": KINDS, "here": request.url.path + (f"?{request.url.query}"
                                                    if request.url.query else ""),
        **context}, status_code=status)


def refusal(request: Request, error: Exception, status: int = 422) -> HTMLResponse:
    """A refused look-up (unknown person, a malformed date) as a page, in both languages."""
    if isinstance(error, LedgerError):
        status = 404 if str(error.code).startswith("unknown_") else status
        english, chinese = error.message, error.message_zh or ZH.get(error.code, "")
    else:
        english, chinese = str(error), getattr(error, "zh", str(error))
    return page(request, "error.html", status, english=english, chinese=chinese)


def day_param(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


def year_param(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1900 <= int(text) <= 2199:
        raise InputError(f"year must be 1900–2199, got {text!r:.20}", "年度须为 1900–2199 的年份")
    return int(text)


def install(app: FastAPI) -> None:
    """Mount the console's pages and its stylesheet on ``app``."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)

    @app.exception_handler(SignIn)
    def _sign_in(request: Request, _: SignIn) -> Response:
        return RedirectResponse(f"/console/?next={quote(request.url.path)}", 303)


# -- signing in, language -----------------------------------------------------------


@router.get("/")
def sign_in_page(request: Request, next: str = "/console/people") -> Response:
    return page(request, "sign_in.html", next=next if next.startswith("/console/") else
                "/console/people")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    goal = (form.get("next") or ["/console/people"])[0]
    goal = goal if goal.startswith("/console/") else "/console/people"
    grant = request.app.state.services.keys.get(key)
    if grant is None or grant.role not in ROLES:
        lang = lang_of(request)
        error = word("unknown_key", lang) if grant is None else word(
            "wrong_role", lang, role=grant.role)
        return page(request, "sign_in.html", 401 if grant is None else 403, error=error,
                    next=goal)
    response = RedirectResponse(goal, 303)
    response.set_cookie(COOKIE, token(key), httponly=True, samesite="strict", path="/console")
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/console/", 303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/lang/{lang}")
def language(lang: str, next: str = "/console/") -> Response:
    response = RedirectResponse(next if next.startswith("/console/") else "/console/", 303)
    if lang in LANGUAGES:
        response.set_cookie(LANG, lang, samesite="strict", path="/console")
    return response


# -- find a person --------------------------------------------------------------------


@router.get("/people")
def people(request: Request, prefix: str = "", region: str = "", after: str = "") -> Response:
    services, _ = signed_in(request)
    regions = services.ledger.book.regions
    if region and region not in regions:
        return refusal(request, InputError(f"no region {region!r}", f"没有统筹地区 {region}"))
    found = services.readers.views.people(prefix[:64], region or None, after or None, PAGE + 1)
    more = len(found) > PAGE
    found = found[:PAGE]
    following = urlencode({"prefix": prefix, "region": region, "after": found[-1].person}) \
        if more else None
    return page(request, "people.html", people=found, prefix=prefix, region=region,
                regions=regions, following=following, tab="find")


# -- one person: timeline, pooling, family -------------------------------------------


def counterparty(row: s.AuditEvent, person: str, lang: str) -> list[tuple[str, str | None]]:
    """Who else the event names: (text, person to link to or None)."""
    d = row.detail
    if row.account != person:
        return [(word("paid_by", lang, who=row.account), row.account)]
    if row.event == "Debited" and d.get("beneficiary") not in (None, person):
        return [(word("paid_for", lang, who=d["beneficiary"]), d["beneficiary"])]
    if "member" in d:
        return [(word("member", lang, who=d["member"]), d["member"])]
    if d.get("to_region"):
        return [(word("to_region", lang, region=d["to_region"]), None)]
    if d.get("from_region"):
        return [(word("from_region", lang, region=d["from_region"]), None)]
    return [(word("heir", lang, who=heir, amount=amount), None)
            for heir, amount in (d.get("payouts") or {}).items()]


def versions(book: Any, row: s.AuditEvent) -> list[str]:
    """Each article with the policy version it comes from (the region's version in force
    on the event's date: the one that produced it)."""
    cited = []
    for article in row.articles:
        region = article.split(" ", 1)[0]
        if row.date is not None and region in book.regions:
            version = book.latest_on_or_before(region, row.date).version
            cited.append(f"{region}-{version} · {article.split(' ', 1)[1]}")
        else:
            cited.append(article)
    return cited


@router.get("/people/{person}")
def timeline(request: Request, person: str, as_of: str = "", page_no: int = 1) -> Response:
    services, _ = signed_in(request)
    lang = lang_of(request)
    try:
        day = day_param(as_of)
        rows = [s.AuditEvent.of(r) for r in explain(services.ledger, person)]
        if day is None:
            account = s.Account.of(services.readers.account(person, dt.date.today(),
                                                            Consistency.STRONG), dt.date.today())
            balance, pooling = account.balance, None
        else:
            balance = format_fen(balance_as_of(services.ledger, person, day).balance)
            pooling = [s.PoolingYear.of(v) for v in pooling_as_of(
                services.ledger, person, day).years]
            rows = [r for r in rows if r.date is None or r.date <= day]
    except (LedgerError, InputError) as error:
        return refusal(request, error)
    rows.reverse()  # newest first
    pages = max(1, -(-len(rows) // PAGE))
    number = min(max(page_no, 1), pages)
    visits = {r.transaction for r in rows if r.event in ("VisitPooled", "VisitUnpooled")
              or r.detail.get("kind") == "visit"}
    shown = [{"row": r, "parties": counterparty(r, person, lang),
              "cited": versions(services.ledger.book, r),
              "before": None if r.balance_after is None or r.amount is None else
              format_fen(int(r.balance_after.replace(".", "")) - int(r.amount.replace(".", ""))),
              "settlement": r.transaction if r.transaction in visits else None}
             for r in rows[(number - 1) * PAGE:number * PAGE]]
    return page(request, "timeline.html", person=person, as_of=day, balance=balance,
                pooling=pooling, rows=shown, total=len(rows), number=number, pages=pages,
                tab="timeline")


@router.get("/people/{person}/pooling")
def pooling(request: Request, person: str, year: str = "") -> Response:
    services, _ = signed_in(request)
    lang = lang_of(request)
    try:
        rows = explain(services.ledger, person, paid_by_family=False)
        pooled = [r for r in rows if r.event in ("VisitPooled", "VisitUnpooled")]
        years = sorted({int(r.detail["year"]) for r in pooled}, reverse=True)
        chosen = year_param(year) or (years[0] if years else dt.date.today().year)
        day = max(dt.date.today(), dt.date(chosen, 12, 31))
        figures = [s.PoolingYear.of(v) for v in pooling_as_of(
            services.ledger, person, day, year=chosen).years]
    except (LedgerError, InputError) as error:
        return refusal(request, error)
    panels = []
    for f in figures:
        visits, running = [], 0
        for r in sorted((r for r in pooled if int(r.detail["year"]) == chosen
                         and r.detail.get("region") == f.region),
                        key=lambda r: (r.date or dt.date.min, r.recorded_at)):
            running += r.detail["fund_paid"] * (1 if r.event == "VisitPooled" else -1)
            visits.append((r, running))
        cap = None if f.cap is None else int(f.cap.replace(".", ""))
        fund = int(f.fund_paid.replace(".", ""))
        panels.append({
            "year": f, "meter": charts.meter(fund, cap, word("fund_vs_cap", lang)),
            "line": charts.steps([(str(r.date), v) for r, v in visits], cap,
                                 word("cumulative", lang)),
            "visits": visits})
    return page(request, "pooling.html", person=person, years=years, chosen=chosen, day=day,
                panels=panels, tab="pooling")


@router.get("/people/{person}/family")
def family(request: Request, person: str) -> Response:
    services, _ = signed_in(request)
    try:
        rows = [s.AuditEvent.of(r) for r in explain(services.ledger, person)]
        views = s.Family.of(services.readers.family(person))
    except LedgerError as error:
        return refusal(request, error)
    history = [r for r in rows if r.event in ("FamilyMemberBound", "FamilyMemberUnbound")]
    received = [(r, bool(getattr(services.ledger.find_transaction(r.transaction),
                                 "reversal", None)))
                for r in rows if r.account != person and r.event == "Debited"]
    return page(request, "family.html", person=person, views=views, history=history,
                received=received,
                paid_total=format_fen(sum(int(x.paid.replace(".", "")) for x in views.spending)),
                received_total=format_fen(-sum(int(r.amount.replace(".", ""))
                                               for r, reversed in received
                                               if r.amount and not reversed)),
                tab="family")


# -- a settlement's waterfall -------------------------------------------------------------


def debit_events(ledger: Any, txn: Settlement) -> dict[str, dict[str, Any]]:
    """Per debited person, the article of the debit and what its reversal restored, from
    that account's own events."""
    found: dict[str, dict[str, Any]] = {}
    for debit in txn.debits:
        mine = found.setdefault(debit["person"], {"article": None, "restored": 0})
        for read in account_events(ledger, debit["person"]):
            e = read.event
            if getattr(e, "transaction_id", None) != txn.client_id:
                continue
            if type(e).__name__ == "Debited":
                mine["article"] = e.article
            elif type(e).__name__ == "DebitRestored":
                mine["restored"] += e.amount
    return found


@router.get("/settlements/{id}")
def settlement(request: Request, id: str) -> Response:
    services, _ = signed_in(request)
    lang = lang_of(request)
    txn = services.ledger.find_transaction(id)
    if not isinstance(txn, Settlement):
        return refusal(request, InputError(word("not_a_settlement", "en", id=id),
                                           word("not_a_settlement", "zh", id=id)), 404)
    body = s.Settlement.of(txn)
    nhsa = s.NhsaSetlInfo.of(id, VisitResult(**txn.result))
    split, art = body.split, body.split.articles
    debits = debit_events(services.ledger, txn)
    own = debits.get(body.person, {})
    payer = debits.get(split.family_payer or "", {})

    def fen(text: str) -> int:
        return int(text.replace(".", ""))

    ineligible = fen(split.in_scope) - fen(split.eligible_in_scope)
    co_pay = (fen(split.eligible_in_scope) - fen(split.deductible_applied)
              - fen(split.fund_paid) - fen(split.over_cap))
    total = fen(split.medical_total)
    # (word, fen, NHSA 2207 field, article, offset in the total or None for a subtotal)
    consumed = [("w_out_of_scope", fen(split.out_of_scope), "fulamt_ownpay_amt", None),
                ("w_ineligible", ineligible, None, art.get("pooling_reason")),
                ("w_deductible", fen(split.deductible_applied), "act_pay_dedc",
                 art.get("deductible")),
                ("w_fund", fen(split.fund_paid), "hifp_pay", art.get("rate")),
                ("w_co_pay", co_pay, None, art.get("rate")),
                ("w_over_cap", fen(split.over_cap), None, art.get("over_cap") or art.get("cap"))]
    steps = [("w_medical_total", total, "medfee_sumamt", None, 0)]
    offset = 0
    for name, value, field, article in consumed:
        if value or name not in ("w_ineligible", "w_co_pay"):
            steps.append((name, value, field, article, offset))
        offset += value
    steps.append(("w_self_pay", fen(split.self_pay), "psn_part_amt", None,
                  fen(split.fund_paid)))
    offset = 0
    for name, value, field, article in (
            ("w_own", fen(split.own_paid), "acct_pay", own.get("article")),
            ("w_family", fen(split.family_paid), "acct_mulaid_pay", payer.get("article")),
            ("w_cash", fen(split.cash_paid), "psn_cash_pay", None)):
        steps.append((name, value, field, article, fen(split.fund_paid) + offset))
        offset += value
    rows = [{"name": name, "amount": format_fen(value), "field": field,
             "nhsa": getattr(nhsa, field) if field else None, "article": article,
             "bar": charts.span(start, value, total),
             "reversed": format_fen(-value) if body.reversal and value else None}
            for name, value, field, article, start in steps]
    return page(request, "settlement.html", body=body, rows=rows, nhsa=nhsa,
                restored={k: format_fen(v["restored"]) for k, v in debits.items()},
                label=word("waterfall", lang))


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
                yield f'<li role="alert">{type(item).__name__}: {item}</li>'
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
    return page(request, "fund.html", region=region, year=chosen, rows=rows, levels=levels,
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

