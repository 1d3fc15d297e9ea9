"""A person's pages (参保人): find, timeline, pooling year, family; and a settlement's
waterfall. Figures come from the audit queries and the API's schemas, as the JSON API's."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api import schemas as s
from api.console import charts
from api.console.web import PAGE, day_param, lang_of, page, refusal, router, signed_in, year_param
from api.console.words import word
from api.readers import Consistency
from ledger.results import VisitResult
from ledger.transaction import Settlement
from policies.errors import InputError, LedgerError
from policies.money import format_fen
from projections.audit import balance_as_of, explain, pooling_as_of
from projections.audit.reading import account_events


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
