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
from ledger.movement import movement, region_spans
from ledger.prefetch import Fetched, Needs
from ledger.results import YearClosed


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
