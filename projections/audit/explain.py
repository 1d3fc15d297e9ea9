"""Explaining a person's figures event by event (明细): amount, balance after, articles.

Rows come from the person's own account in recording order (the order that produced the
balance), plus the payments other accounts made for the person (家庭共济), which move the
payer's balance, not the person's. Visits bring the articles their pricing recorded.

A stored event that cannot be read or used is a row of its own, ``event="Unreadable"``,
at its place, with its position in the log and the reason in ``detail``; the balances
after it are unknown (``None``), since it may have moved the balance.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.ids import account_id
from ledger.movement import KINDS
from projections.audit.as_of import checked_movement
from projections.audit.reading import Unreadable, account_events
from projections.log import EventLog, LogRow


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
           "eligible_in_scope", "deductible_applied", "fund_paid", "over_cap", "payouts")


UNREADABLE = "Unreadable"
FOR_WHOM = KINDS["Debited"].counterparty or ""  # the person an account payment was for
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def explain(ledger: Any, person: str, year: int | None = None,
            paid_by_family: bool = True) -> list[ExplainedEvent]:
    """Every event touching ``person`` (optionally those of business ``year``), in order;
    without ``paid_by_family``, the person's own account's alone (no search of the log)."""
    rows: list[ExplainedEvent] = []
    balance: int | None = 0
    for read in account_events(ledger, person):
        try:
            if read.error is not None:
                raise read.error
            move = checked_movement(read.event)
            after = None if balance is None else balance + (move[1] if move else 0)
            row = _row(ledger, person, read.event, move, after)
        except Exception as error:  # a tampered event: a row saying so, at its place
            rows.append(unreadable_row(Unreadable.of(read.row, error), person,
                                       rows[-1].recorded_at if rows else _EPOCH))
            balance = None
            continue
        balance = after
        rows.append(row)
    if paid_by_family:
        rows += _paid_by_family(ledger, person)
    rows.sort(key=lambda r: r.recorded_at)
    if year is None:
        return rows
    return [r for r in rows if r.event == UNREADABLE or _year(r) == year]


def unreadable_row(bad: Unreadable, account: str, recorded_at: dt.datetime) -> ExplainedEvent:
    """The row of an event that could not be read (placed after the one before it)."""
    return ExplainedEvent(
        version=bad.version, recorded_at=recorded_at, date=None, event=UNREADABLE,
        account=account, amount=None, balance_after=None,
        detail={"position": bad.position, "stored_event": bad.event, "reason": bad.reason,
                "message": bad.message})


def _row(ledger: Any, person: str, event: Any, move: tuple[dt.date, int] | None,
         balance: int | None) -> ExplainedEvent:
    if not isinstance(event.timestamp, dt.datetime):
        raise TypeError(f"timestamp {event.timestamp!r} is not a date and time")
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
    if "year" in detail:
        detail["year"] = int(detail["year"])
    return ExplainedEvent(
        version=event.originator_version, recorded_at=event.timestamp, date=day, event=name,
        account=person, amount=move[1] if move else None,
        balance_after=balance if move else None,
        transaction=getattr(event, "transaction_id", None), articles=tuple(articles),
        detail=detail,
    )


def _paid_by_family(ledger: Any, person: str) -> list[ExplainedEvent]:
    """Debits of other accounts for ``person`` (their counterparty, :mod:`ledger.movement`),
    found in the log (events alone): on a plain store the database picks the debits naming
    the person; encrypted, every debit is read."""
    plain = ledger.mapper.cipher is None and ledger.mapper.compressor is None
    needle = (json.dumps(FOR_WHOM) + ":" + json.dumps(person, ensure_ascii=False)).encode()
    topic, rows, payers = get_topic(Account.Debited), [], {}
    for row in _debits(ledger, topic, needle if plain else None):
        if row[1] == account_id(person).hex:
            continue
        try:
            found = _paid_for(ledger, person, row, payers)
        except Exception as error:  # may have been a payment for the person: say so
            rows.append(unreadable_row(Unreadable.of(row, error), payers.get(row[1], "?"),
                                       _EPOCH))
            continue
        if found is not None:
            rows.append(found)
    return rows


def _debits(ledger: Any, topic: str, needle: bytes | None) -> Iterator[LogRow]:
    log = EventLog(ledger.recorder)
    found = log.containing(topic, needle) if needle is not None else None
    if found is not None:
        yield from found
        return
    start = 0
    while True:
        batch = ledger.recorder.select_notifications(start, 10_000, topics=[topic],
                                                      inclusive_of_start=False)
        for n in batch:
            if needle is None or needle in n.state:
                yield (n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
        if len(batch) < 10_000:
            return
        start = batch[-1].id


def _paid_for(ledger: Any, person: str, row: LogRow,
              payers: dict[str, str]) -> ExplainedEvent | None:
    _, originator, version, topic, state = row
    event = ledger.mapper.to_domain_event(StoredEvent(UUID(originator), version, topic,
                                                      bytes(state)))
    if getattr(event, FOR_WHOM) != person:
        return None
    if originator not in payers:
        payers[originator] = next(iter(ledger.events.get(UUID(originator), limit=1))).person
    amount = event.amount
    if type(amount) is not int or not isinstance(event.timestamp, dt.datetime):
        raise TypeError(f"amount {amount!r} is not fen")
    return ExplainedEvent(
        version=event.originator_version, recorded_at=event.timestamp,
        date=event.date, event="Debited", account=payers[originator],
        amount=-amount, balance_after=None, transaction=event.transaction_id,
        articles=(event.article,),
        detail={"kind": event.kind, "purpose": event.purpose, "paid_for": person},
    )


def _year(row: ExplainedEvent) -> int | None:
    if "year" in row.detail:
        return int(row.detail["year"])
    return row.date.year if row.date else None
