"""The year end for one account (年度结转, DOMAIN.md 7 and 9).

Closing is recorded, never required: caps never carry over because a visit's pooling
year is the calendar year of its date. Closing again writes nothing new; a pooling year
opened late (a visit dated in the closed year, recorded after) is closed by the next run.
Interest needs the account's history of the year (its days in each region, its balance
moves): the caller reads it when :func:`wants_history` says so and passes it in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.account import ACTIVE, DECEASED, Account
from ledger.commands import CloseYear
from ledger.deciders import Decision
from policies.book import PolicyBook
from policies.errors import LedgerError
from policies.interest import Span, interest_over_periods
from policies.model import RegionPolicy
from policies.pricing import cap_for


@dataclass(frozen=True)
class YearHistory:
    """What interest needs from an account's events: the days of the year it was open in
    each region, and every balance change with its value date."""

    spans: Mapping[str, list[Span]]
    moves: Sequence[tuple[dt.date, int]]


def carries_over(account: Account, cmd: CloseYear) -> bool:
    """Whether this close carries the account's balance into the next year."""
    return (account.has_account and cmd.year not in account.closed_years
            and cmd.region in (None, account.region))


def wants_history(account: Account, cmd: CloseYear) -> bool:
    """Whether :func:`decide_year_close` needs the account's :class:`YearHistory`."""
    return carries_over(account, cmd) and account.status in (ACTIVE, DECEASED)


def decide_year_close(
    account: Account, book: PolicyBook, cmd: CloseYear, history: YearHistory | None = None
) -> Decision[tuple[int, int] | None]:
    """Record ``cmd.year``'s close: ``(pooling years closed, interest)``, or None when there
    is nothing to do. ``history`` is needed when :func:`wants_history` is true."""
    pooling = _closings(account, book, cmd.year, cmd.region)
    carry = carries_over(account, cmd)
    if not pooling and not carry:
        return None, []
    interest, rated = _interest(account, book, cmd.year, history) if carry else (0, [])
    if interest:
        rate = (str(rated[0].interest.rate) if len(rated) == 1 else
                ", ".join(f"{p.region} {p.interest.rate}" for p in rated))
        account.credit_interest(cmd.year, interest, rate,
                                "; ".join(p.interest.article for p in rated))
    account.close_year(cmd.year, pooling, account.balance, carry)
    return (len(pooling), interest), [account]


def _closings(
    account: Account, book: PolicyBook, year: int, region: str | None
) -> list[dict[str, Any]]:
    """Each open pooling year of ``year`` (of ``region``, if given), with its cap forfeited."""
    dec31 = dt.date(year, 12, 31)
    category = account.facts.category_on(dec31)
    closings = []
    for key, usage in account.pooling.items():
        pooling_region, pooling_year = key.split("/")
        if int(pooling_year) != year or usage["closed"] or region not in (None, pooling_region):
            continue
        try:
            policy = book.latest_on_or_before(pooling_region, dec31)
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


def _interest(
    account: Account, book: PolicyBook, year: int, history: YearHistory | None
) -> tuple[int, list[RegionPolicy]]:
    """Interest for the days of ``year`` the account was open in a region that sets a
    rate, each region's days at its rate (DOMAIN.md 9); none for a paid-out account."""
    if account.status not in (ACTIVE, DECEASED):
        return 0, []
    if history is None:
        raise ValueError(f"the year end of {account.person} needs the account's history")
    rated: list[tuple[RegionPolicy, list[Span]]] = []
    for region, spans in history.spans.items():
        try:
            policy = book.latest_on_or_before(region, spans[-1][1])
        except LedgerError:
            continue  # a region disabled by invalid parameters credits nothing
        if policy.interest.rate.value:
            rated.append((policy, spans))
    if not rated:
        return 0, []
    interest = interest_over_periods(
        list(history.moves), year, [(policy.interest.rate, spans) for policy, spans in rated])
    return interest, [policy for policy, _ in rated]
