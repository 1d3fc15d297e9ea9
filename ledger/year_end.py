"""The year end (年度结转, DOMAIN.md 7): close pooling years, credit interest, carry over.

Closing is recorded, never required: caps never carry over because a visit's pooling
year is the calendar year of its date. Running the close again writes nothing new; a
pooling year opened late (a visit dated in the closed year, recorded after) is closed by
the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ledger.account import ACTIVE, DECEASED, Account
from ledger.commands import CloseYear
from ledger.core import LedgerCore
from ledger.movement import movement, region_spans
from ledger.results import YearClosed
from policies.errors import LedgerError
from policies.interest import Span, interest_over_periods
from policies.model import RegionPolicy
from policies.pricing import cap_for


class YearEndCommands(LedgerCore):
    """年度结转 for one year, over every account or one region's."""

    def close_year(self, cmd: CloseYear, ids: Iterable[UUID] | None = None) -> YearClosed:
        """Close ``cmd.year`` for every account (or those given); idempotent."""
        closed = accounts = interest = 0
        for account_id in ids if ids is not None else self.account_ids():
            outcome = self.write(lambda: self.close_account_year(account_id, cmd))
            if outcome is not None:
                closed += outcome[0]
                interest += outcome[1]
                accounts += 1
        return YearClosed(closed=closed, accounts=accounts, interest=interest)

    def close_account_year(self, account_id: UUID, cmd: CloseYear) -> tuple[int, int] | None:
        """Close one account's year; ``(pooling years closed, interest)`` or None if done."""
        account: Account = self.load(account_id)
        outcome = self.decide_year_close(account, cmd)
        if outcome is not None:
            self.save(account)
        return outcome

    def decide_year_close(self, account: Account, cmd: CloseYear) -> tuple[int, int] | None:
        """Record the year's close on the loaded ``account``; None if there is nothing to do."""
        year, dec31 = cmd.year, dt.date(cmd.year, 12, 31)
        pooling = self._closings(account, year, cmd.region)
        carry = (account.has_account and year not in account.closed_years
                 and cmd.region in (None, account.region))
        if not pooling and not carry:
            return None
        interest, rated = self._interest(account, year) if carry else (0, [])
        if interest:
            rate = (str(rated[0].interest.rate) if len(rated) == 1 else
                    ", ".join(f"{p.region} {p.interest.rate}" for p in rated))
            account.credit_interest(year, interest, rate,
                                    "; ".join(p.interest.article for p in rated))
        account.close_year(year, pooling, account.balance, carry)
        return len(pooling), interest

    def _closings(self, account: Account, year: int, region: str | None) -> list[dict[str, Any]]:
        dec31 = dt.date(year, 12, 31)
        category = account.facts.category_on(dec31)
        closings = []
        for key, usage in account.pooling.items():
            pooling_region, pooling_year = key.split("/")
            if int(pooling_year) != year or usage["closed"] or region not in (None, pooling_region):
                continue
            try:
                policy = self.book.latest_on_or_before(pooling_region, dec31)
            except LedgerError:
                continue  # a region disabled by invalid parameters is closed once fixed
            scheme = account.scheme if account.scheme in policy.schemes else policy.default_scheme
            cap = cap_for(policy, category, scheme)
            closings.append({
                "region": pooling_region, "category": category, "cap": cap,
                "fund_paid": usage["fund_paid"], "forfeited": max(0, cap - usage["fund_paid"]),
                "article": policy.articles["year_end"],
            })
        return closings

    def _interest(self, account: Account, year: int) -> tuple[int, list[RegionPolicy]]:
        """Interest for the days of ``year`` the account was open in a region that sets a
        rate, each region's days at its rate (DOMAIN.md 9); none for a paid-out account."""
        if account.status not in (ACTIVE, DECEASED):
            return 0, []
        events = list(self.events.get(account.id))
        rated: list[tuple[RegionPolicy, list[Span]]] = []
        for region, spans in region_spans(events, year).items():
            try:
                policy = self.book.latest_on_or_before(region, spans[-1][1])
            except LedgerError:
                continue  # a region disabled by invalid parameters credits nothing
            if policy.interest.rate.value:
                rated.append((policy, spans))
        if not rated:
            return 0, []
        moves = [move for event in events if (move := movement(event)) is not None]
        interest = interest_over_periods(
            moves, year, [(policy.interest.rate, spans) for policy, spans in rated])
        return interest, [policy for policy, _ in rated]

    def movements(self, account_id: UUID) -> list[tuple[dt.date, int]]:
        """Every balance change of an account with its value date, from the events alone."""
        return [move for event in self.events.get(account_id)
                if (move := movement(event)) is not None]
