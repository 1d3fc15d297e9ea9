"""Figures as they stood on a past date, from the events alone (时点余额).

``as of`` reads the events' **business dates** by default (``basis="business"``): a
balance as of D sums every movement whose value date is on or before D — a contribution
counts from the first day of its month, interest from 1 January after its year, anything
else from its own date — whenever it was recorded. This is what an auditor means by "the
balance on 30 June", and it is what interest (the daily-balance method) uses.
``basis="recorded"`` reads instead the ledger as it had been *recorded* by the end of D
(UTC): what a query on that day would have answered.

Pooling usage follows a visit by its visit date and a reversal by its reversal date; a
year's closing (cap, forfeited) counts from its recording, and never before 31 December.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from ledger.account import Account, pooling_key
from ledger.ids import account_id
from ledger.queries import PoolingView, current_cap
from ledger.year_end import movement
from policies.errors import ErrorCode, LedgerError

Basis = Literal["business", "recorded"]


@dataclass(frozen=True, slots=True)
class BalanceAsOf:
    person: str
    as_of: dt.date
    basis: Basis
    balance: int
    movements: int


def _events(ledger: Any, person: str) -> list[Any]:
    events = list(ledger.events.get(account_id(person)))
    if not events:
        raise LedgerError(ErrorCode.UNKNOWN_PERSON, f"no person {person!r} is enrolled",
                          field="person")
    return events


def _recorded_by(event: Any, day: dt.date) -> bool:
    return event.timestamp.astimezone(dt.timezone.utc).date() <= day


def balance_as_of(ledger: Any, person: str, day: dt.date,
                  basis: Basis = "business") -> BalanceAsOf:
    """The personal-account balance as it stood on ``day``."""
    balance = count = 0
    for event in _events(ledger, person):
        move = movement(event)
        if move is None:
            continue
        if move[0] <= day if basis == "business" else _recorded_by(event, day):
            balance += move[1]
            count += 1
    return BalanceAsOf(person, day, basis, balance, count)


def pooling_as_of(ledger: Any, person: str, day: dt.date, region: str | None = None,
                  year: int | None = None, basis: Basis = "business") -> list[PoolingView]:
    """Pooling usage per region of ``year`` (default: ``day``'s year) as it stood on ``day``."""
    year = year or day.year
    events = _events(ledger, person)
    usage: dict[str, dict[str, Any]] = {}
    for event in events:
        if getattr(event, "year", None) != year or not isinstance(
                event, (Account.VisitPooled, Account.VisitUnpooled, Account.YearClosed)):
            continue
        if not _counts(ledger, event, day, basis):
            continue
        if isinstance(event, Account.YearClosed):
            for closing in event.pooling:
                _usage(usage, closing["region"], year).update(
                    closed=True, cap=closing["cap"], forfeited=closing["forfeited"])
            continue
        sign = 1 if isinstance(event, Account.VisitPooled) else -1
        figures = _usage(usage, event.region, year)
        figures["in_scope"] += sign * event.eligible_in_scope
        for name in ("deductible_applied", "fund_paid", "over_cap"):
            figures[name] += sign * getattr(event, name)
        figures["visits"] += sign > 0
    account = ledger.repository.get(account_id(person))
    return [_view(ledger, account, key, figures, day) for key, figures in sorted(usage.items())
            if region in (None, figures["region"])]


def _counts(ledger: Any, event: Any, day: dt.date, basis: Basis) -> bool:
    if basis == "recorded":
        return _recorded_by(event, day)
    if isinstance(event, Account.YearClosed):
        return max(dt.date(event.year, 12, 31), event.timestamp.date()) <= day
    txn = ledger.find_transaction(event.transaction_id)
    request = txn.request if isinstance(event, Account.VisitPooled) else txn.reversal["request"]
    return dt.date.fromisoformat(request["date"]) <= day


def _usage(usage: dict[str, dict[str, Any]], region: str, year: int) -> dict[str, Any]:
    return usage.setdefault(pooling_key(region, year), {
        "region": region, "in_scope": 0, "deductible_applied": 0, "fund_paid": 0,
        "over_cap": 0, "visits": 0, "closed": False, "forfeited": 0, "cap": None})


def _view(ledger: Any, account: Account, key: str, figures: dict[str, Any],
          day: dt.date) -> PoolingView:
    region, year = figures["region"], int(key.split("/")[1])
    cap = figures["cap"]
    if cap is None:  # the cap in force on the day (or the year's last day, if earlier)
        cap = current_cap(ledger.book, account.facts, region, year, on=day)
    return PoolingView(
        region=region, year=year, in_scope=figures["in_scope"],
        deductible_applied=figures["deductible_applied"], fund_paid=figures["fund_paid"],
        over_cap=figures["over_cap"], visits=figures["visits"], closed=figures["closed"],
        forfeited=figures["forfeited"], cap=cap,
        cap_left=None if cap is None else max(0, cap - figures["fund_paid"]),
    )
