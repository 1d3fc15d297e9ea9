"""How each account event moves the balance (余额变动): the one definition.

For every event kind of :class:`~ledger.account.Account`, :data:`KINDS` says

- its **sign** on the personal-account balance: +1 credits ``amount``, −1 debits it, 0
  leaves the balance alone;
- its **value date** (起息日), the day the movement counts from for interest and for
  "the balance as of D": the event's ``date``, the first day of its ``month`` (a monthly
  credit), or 1 January after its ``year`` (interest credited at the year end);
- the **counterparty** field, where the money goes to or comes from someone or somewhere
  else: the person a family payment was for, the other region of a transfer, the heirs;
- for the interest spans (DOMAIN.md 9): the field naming the **region** the account is open
  in from the event on, and whether the account **closes** after the event's day.

Year end (interest, :mod:`ledger.year_end`), the read models
(:mod:`projections.projection`) and the audit (:mod:`projections.audit`) all read it here;
a new event kind is one line of :data:`KINDS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from policies.calendar import Month
from policies.interest import Span

ValueDate = Literal["date", "month", "year"]
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Kind:
    """What one kind of account event does to the balance and to the interest spans."""

    sign: Literal[-1, 0, 1] = 0
    value_date: ValueDate = "date"
    counterparty: str | None = None
    region: str | None = None  # the field naming the region the account is open in from now
    closes: bool = False  # open through the event's day, not after (death, emigration)

    def day(self, event: Any) -> dt.date:
        """The value date of a domain event of this kind."""
        if self.value_date == "month":
            return Month.parse(event.month).first_day
        if self.value_date == "year":
            return dt.date(event.year + 1, 1, 1)
        return event.date

    def stored_day(self, data: dict[str, Any]) -> str:
        """The value date, ISO, of this kind's event as stored (its decoded JSON body, where
        a date is ``{"_type_": "date_iso", "_data_": ISO}``, :class:`ledger.core.DateAsISO`)."""
        if self.value_date == "month":
            return data["month"] + "-01"
        if self.value_date == "year":
            return f"{data['year'] + 1}-01-01"
        return data["date"]["_data_"]


CREDIT, DEBIT, NONE = Kind(+1), Kind(-1), Kind()

KINDS: dict[str, Kind] = {
    "Enrolled": Kind(region="region"),
    "ContributionCredited": Kind(+1, "month"),
    "AllotmentCredited": Kind(+1, "month"),
    "LumpSumCredited": CREDIT,
    "InterestCredited": Kind(+1, "year"),
    "Retired": NONE,
    "Debited": Kind(-1, counterparty="beneficiary"),
    "DebitRestored": CREDIT,
    "VisitPooled": NONE,
    "VisitUnpooled": NONE,
    "YearClosed": NONE,
    "FamilyMemberBound": NONE,
    "FamilyMemberUnbound": NONE,
    "TransferredOut": Kind(-1, counterparty="to_region"),
    "TransferredIn": Kind(+1, counterparty="from_region", region="region"),
    "EmigrationPaidOut": Kind(-1, closes=True),
    "Died": Kind(closes=True),
    "InheritancePaidOut": Kind(-1, counterparty="payouts"),
}

#: The kinds that move the balance.
MOVING: dict[str, Kind] = {name: kind for name, kind in KINDS.items() if kind.sign}


def movement(event: Any) -> tuple[dt.date, int] | None:
    """An account event's balance change with its value date, or None if it moves nothing."""
    kind = MOVING.get(type(event).__name__)
    if kind is None:
        return None
    return kind.day(event), kind.sign * event.amount


def region_on(entered: Iterable[tuple[str, str]], day: str) -> str | None:
    """The region an account is in at the end of ``day`` (ISO), from the days it entered
    each region, ``(since, region)``: ``""`` at enrolment (from the start), else the day of
    the transfer, which belongs to the destination, as in :func:`region_spans`. None before
    it is enrolled. (The SQL view store's ``region_balances`` asks the same in one query.)"""
    found = None
    for since, region in sorted(entered):
        if since > day:
            break
        found = region
    return found


def region_spans(events: Iterable[Any], year: int) -> dict[str, list[Span]]:
    """The days of ``year`` the account was open in each region, from its events alone.

    A transfer on d moves the balance that day, so d belongs to the destination; the
    account stays open through the day of death or emigration, not after (DOMAIN.md 9)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    spans: dict[str, list[Span]] = {}
    region, since, end = None, dt.date.min, dt.date.max

    def close(until: dt.date) -> None:
        start, stop = max(since, first), min(until, last)
        if region is not None and start <= stop:
            spans.setdefault(region, []).append((start, stop))

    for event in events:
        kind = KINDS.get(type(event).__name__, NONE)
        if kind.region is not None:
            if region is not None:  # enrolled: open from the start; moved: from the day
                close(event.date - _DAY)
                since = event.date
            region = getattr(event, kind.region)
        if kind.closes:
            end = min(end, event.date)
    close(end)
    return spans
