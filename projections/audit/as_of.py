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

A stored event that cannot be read or used is left out and listed in ``unreadable`` with
its position (:mod:`projections.audit.reading`): the figure is then incomplete, and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from ledger.account import Account, pooling_key
from ledger.queries import PoolingView, current_cap
from ledger.movement import movement
from projections.audit.reading import Unreadable, account_events, each, replayed

Basis = Literal["business", "recorded"]


@dataclass(frozen=True, slots=True)
class BalanceAsOf:
    person: str
    as_of: dt.date
    basis: Basis
    balance: int
    movements: int
    unreadable: tuple[Unreadable, ...] = ()  # events left out: the figure is incomplete


@dataclass(frozen=True, slots=True)
class PoolingAsOf:
    years: list[PoolingView]
    unreadable: tuple[Unreadable, ...] = ()


def _recorded_by(event: Any, day: dt.date) -> bool:
    return event.timestamp.astimezone(dt.timezone.utc).date() <= day


def checked_movement(event: Any) -> tuple[dt.date, int] | None:
    """:func:`ledger.movement.movement`, once its date is a date and its amount fen."""
    move = movement(event)
    if move is not None and (type(move[1]) is not int or not isinstance(move[0], dt.date)):
        raise TypeError(f"amount {move[1]!r} on {move[0]!r} is not fen on a date")
    return move


def balance_as_of(ledger: Any, person: str, day: dt.date,
                  basis: Basis = "business") -> BalanceAsOf:
    """The personal-account balance as it stood on ``day``."""
    def counted(event: Any) -> int | None:
        move = checked_movement(event)
        if move is None:
            return None
        return move[1] if (move[0] <= day if basis == "business"
                           else _recorded_by(event, day)) else None

    balance = count = 0
    unreadable: list[Unreadable] = []
    for _, amount in each(account_events(ledger, person), counted, unreadable):
        if amount is not None:
            balance += amount
            count += 1
    return BalanceAsOf(person, day, basis, balance, count, tuple(unreadable))


def pooling_as_of(ledger: Any, person: str, day: dt.date, region: str | None = None,
                  year: int | None = None, basis: Basis = "business") -> PoolingAsOf:
    """Pooling usage per region of ``year`` (default: ``day``'s year) as it stood on ``day``."""
    year = year or day.year

    def change(event: Any) -> tuple[str, dict[str, Any]] | None:
        if getattr(event, "year", None) != year or not isinstance(
                event, (Account.VisitPooled, Account.VisitUnpooled, Account.YearClosed)):
            return None
        if not _counts(ledger, event, day, basis):
            return None
        if isinstance(event, Account.YearClosed):
            closings = {c["region"]: (c["cap"], c["forfeited"]) for c in event.pooling}
            if any(type(cap) not in (int, type(None)) or type(forfeited) is not int
                   for cap, forfeited in closings.values()):
                raise TypeError(f"year-end figures {closings} are not fen")
            return "closed", closings
        sign = 1 if isinstance(event, Account.VisitPooled) else -1
        amounts = {name: getattr(event, name) for name in (
            "eligible_in_scope", "deductible_applied", "fund_paid", "over_cap")}
        if any(type(amount) is not int for amount in amounts.values()):
            raise TypeError(f"pooled amounts {amounts} are not fen")
        return str(event.region), {name: sign * amount for name, amount in amounts.items()} | {
            "visits": int(sign > 0)}

    usage: dict[str, dict[str, Any]] = {}
    unreadable: list[Unreadable] = []
    reads = account_events(ledger, person)
    for _, found in each(reads, change, unreadable):
        if found is None:
            continue
        if found[0] == "closed":
            for closed_region, (cap, forfeited) in found[1].items():
                _usage(usage, closed_region, year).update(closed=True, cap=cap,
                                                          forfeited=forfeited)
            continue
        figures = _usage(usage, found[0], year)
        deltas = found[1]
        figures["in_scope"] += deltas["eligible_in_scope"]
        for name in ("deductible_applied", "fund_paid", "over_cap", "visits"):
            figures[name] += deltas[name]
    account = replayed(reads, unreadable)  # the facts, for the cap of a year not closed
    years = [_view(ledger, account, key, figures, day) for key, figures in sorted(usage.items())
             if region in (None, figures["region"])]
    return PoolingAsOf(years, tuple(unreadable))


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


def _view(ledger: Any, account: Account | None, key: str, figures: dict[str, Any],
          day: dt.date) -> PoolingView:
    region, year = figures["region"], int(key.split("/")[1])
    cap = figures["cap"]
    if cap is None and account is not None:  # the cap in force on the day (or 31 Dec)
        try:
            cap = current_cap(ledger.book, account.facts, region, year, on=day)
        except Exception:  # the facts came from tampered events: the usage stands, no cap
            cap = None
    return PoolingView(
        region=region, year=year, in_scope=figures["in_scope"],
        deductible_applied=figures["deductible_applied"], fund_paid=figures["fund_paid"],
        over_cap=figures["over_cap"], visits=figures["visits"], closed=figures["closed"],
        forfeited=figures["forfeited"], cap=cap,
        cap_left=None if cap is None else max(0, cap - figures["fund_paid"]),
    )
