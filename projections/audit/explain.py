"""Explaining a person's figures event by event (明细): amount, balance after, articles.

Rows come from the person's own account in recording order (the order that produced the
balance), plus the payments other accounts made for the person (家庭共济), which move the
payer's balance, not the person's. Visits bring the articles their pricing recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.ids import account_id
from ledger.year_end import movement
from policies.errors import ErrorCode, LedgerError


@dataclass(frozen=True, slots=True)
class ExplainedEvent:
    """One event as an auditor reads it; amounts in fen, signed as they move ``account``."""

    version: int
    recorded_at: dt.datetime
    date: dt.date | None
    event: str
    account: str
    amount: int | None
    balance_after: int | None
    transaction: str | None = None
    articles: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


_DETAIL = ("month", "base", "year", "kind", "beneficiary", "purpose", "reason", "member",
           "relation", "region", "to_region", "from_region", "scheme", "rate",
           "eligible_in_scope", "deductible_applied", "fund_paid", "over_cap")


def explain(ledger: Any, person: str, year: int | None = None) -> list[ExplainedEvent]:
    """Every event touching ``person`` (optionally those of business ``year``), in order."""
    events = list(ledger.events.get(account_id(person)))
    if not events:
        raise LedgerError(ErrorCode.UNKNOWN_PERSON, f"no person {person!r} is enrolled",
                          field="person")
    rows, balance = [], 0
    for event in events:
        move = movement(event)
        if move is not None:
            balance += move[1]
        rows.append(_row(ledger, person, event, move, balance))
    rows += _paid_by_family(ledger, person)
    rows.sort(key=lambda r: r.recorded_at)
    if year is None:
        return rows
    return [r for r in rows if _year(r) == year]


def _row(ledger: Any, person: str, event: Any, move: tuple[dt.date, int] | None,
         balance: int) -> ExplainedEvent:
    name = type(event).__name__
    articles = [event.article] if getattr(event, "article", None) else []
    day = move[0] if move else getattr(event, "date", None)
    detail = {k: getattr(event, k) for k in _DETAIL if hasattr(event, k)}
    if name in ("VisitPooled", "VisitUnpooled"):
        txn = ledger.find_transaction(event.transaction_id)
        if txn is not None:
            articles += sorted(set(txn.result.get("articles", {}).values()))
            request = txn.reversal["request"] if name == "VisitUnpooled" and txn.reversal \
                else txn.request
            day = dt.date.fromisoformat(request["date"])
    elif name == "YearClosed":
        articles += sorted({c["article"] for c in event.pooling})
        detail["pooling"] = event.pooling
        day = dt.date(event.year, 12, 31)
    return ExplainedEvent(
        version=event.originator_version, recorded_at=event.timestamp, date=day, event=name,
        account=person, amount=move[1] if move else None,
        balance_after=balance if move else None,
        transaction=getattr(event, "transaction_id", None), articles=tuple(articles),
        detail=detail,
    )


def _paid_by_family(ledger: Any, person: str) -> list[ExplainedEvent]:
    """Debits of other accounts for ``person``, found by scanning the log (events alone)."""
    own = account_id(person)
    plain = ledger.mapper.cipher is None and ledger.mapper.compressor is None
    needle = ('"beneficiary":' + json.dumps(person, ensure_ascii=False)).encode()
    topic, rows, start, payers = get_topic(Account.Debited), [], 0, {}
    while True:
        batch = ledger.recorder.select_notifications(start, 10_000, topics=[topic],
                                                      inclusive_of_start=False)
        for n in batch:
            if n.originator_id == own or (plain and needle not in n.state):
                continue
            event = ledger.mapper.to_domain_event(n)
            if event.beneficiary != person:
                continue
            if n.originator_id not in payers:
                payers[n.originator_id] = next(iter(ledger.events.get(n.originator_id,
                                                                      limit=1))).person
            rows.append(ExplainedEvent(
                version=event.originator_version, recorded_at=event.timestamp,
                date=event.date, event="Debited", account=payers[n.originator_id],
                amount=-event.amount, balance_after=None, transaction=event.transaction_id,
                articles=(event.article,),
                detail={"kind": event.kind, "purpose": event.purpose, "paid_for": person},
            ))
        if len(batch) < 10_000:
            return rows
        start = batch[-1].id


def _year(row: ExplainedEvent) -> int | None:
    if "year" in row.detail:
        return int(row.detail["year"])
    return row.date.year if row.date else None
