"""The year end (年度结转, DOMAIN.md 7): close pooling years, credit interest, carry over.

The command is the write loop around the pure decider in :mod:`ledger.deciders.year_end`
(the rules are there), one account at a time. This module also reads what interest needs
from an account's events: its balance moves with their value dates, its days per region.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ledger.account import Account
from ledger.commands import CloseYear
from ledger.core import LedgerCore
from ledger.deciders import year_end
from ledger.deciders.year_end import YearHistory
from ledger.prefetch import Fetched, Needs
from ledger.results import YearClosed
from policies.calendar import Month
from policies.interest import Span

_VALUE_DATE = {
    "ContributionCredited": lambda e: Month.parse(e.month).first_day,
    "AllotmentCredited": lambda e: Month.parse(e.month).first_day,
    "InterestCredited": lambda e: dt.date(e.year + 1, 1, 1),
}
_SIGN = {
    "ContributionCredited": 1, "AllotmentCredited": 1, "LumpSumCredited": 1,
    "InterestCredited": 1, "DebitRestored": 1, "TransferredIn": 1,
    "Debited": -1, "TransferredOut": -1, "EmigrationPaidOut": -1, "InheritancePaidOut": -1,
}


class YearEndCommands(LedgerCore):
    """年度结转 for one year, over every account or one region's."""

    def close_year(self, cmd: CloseYear, ids: Iterable[UUID] | None = None) -> YearClosed:
        """Close ``cmd.year`` for every account (or those given); idempotent."""
        closed = accounts = interest = 0
        for account_id in ids if ids is not None else self.account_ids():
            outcome = self.close_account_year(account_id, cmd)
            if outcome is not None:
                closed += outcome[0]
                interest += outcome[1]
                accounts += 1
        return YearClosed(closed=closed, accounts=accounts, interest=interest)

    def close_account_year(self, account_id: UUID, cmd: CloseYear) -> tuple[int, int] | None:
        """Close one account's year; ``(pooling years closed, interest)`` or None if done."""

        def needs(got: Fetched) -> Needs:  # the account, then its history if interest needs it
            account = got.aggregate(account_id)
            wants = account is not None and year_end.wants_history(account, cmd)
            return Needs(ids=[account_id], histories=[account_id] if wants else [])

        return self.decide_and_save(needs, lambda got: year_end.decide_year_close(
            got.aggregate(account_id), self.book, cmd,
            year_history(got.history(account_id), cmd.year)))

    def decide_year_close(self, account: Account, cmd: CloseYear) -> tuple[int, int] | None:
        """Record the year's close on the loaded ``account`` (the batch job's entry); None if
        there is nothing to do. Reads the account's history when the interest needs it."""
        events = self.history(account.id) if year_end.wants_history(account, cmd) else None
        return year_end.decide_year_close(account, self.book, cmd,
                                          year_history(events, cmd.year))[0]

    def movements(self, account_id: UUID) -> list[tuple[dt.date, int]]:
        """Every balance change of an account with its value date, from the events alone."""
        return [move for event in self.events.get(account_id)
                if (move := movement(event)) is not None]


def year_history(events: list[Any] | None, year: int) -> YearHistory | None:
    """What the interest of ``year`` needs from an account's ``events`` (None: not read)."""
    if events is None:
        return None
    return YearHistory(region_spans(events, year),
                       [move for event in events if (move := movement(event)) is not None])


def movement(event: object) -> tuple[dt.date, int] | None:
    """An account event's balance change with its value date, or None if it moves nothing."""
    name = type(event).__name__
    sign = _SIGN.get(name)
    if sign is None:
        return None
    return _VALUE_DATE.get(name, lambda e: e.date)(event), sign * event.amount  # type: ignore[attr-defined]


def region_spans(events: Iterable[Any], year: int) -> dict[str, list[Span]]:
    """The days of ``year`` the account was open in each region, from its events alone.

    A transfer on d moves the balance that day, so d belongs to the destination; the
    account stays open through the day of death or emigration, not after (DOMAIN.md 9)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    spans: dict[str, list[Span]] = {}
    region, since = None, dt.date.min
    end = dt.date.max

    def close(until: dt.date) -> None:
        start, stop = max(since, first), min(until, last)
        if region is not None and start <= stop:
            spans.setdefault(region, []).append((start, stop))

    for event in events:
        name = type(event).__name__
        if name == "Enrolled":
            region = event.region
        elif name == "TransferredIn":
            close(event.date - dt.timedelta(days=1))
            region, since = event.region, event.date
        elif name in ("Died", "EmigrationPaidOut"):
            end = min(end, event.date)
    close(end)
    return spans
