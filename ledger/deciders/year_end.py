"""The year end for one account (年度结转, DOMAIN.md 7 and 9).

Closing is recorded, never required: caps never carry over because a visit's pooling
year is the calendar year of its date. Closing again writes nothing new; a pooling year
opened late (a visit dated in the closed year, recorded after) is closed by the next run.
Interest needs the account's history of the year (its days in each region, its balance
moves): the caller reads it when :func:`wants_history` says so and passes it in. No
history is read while no region of the book sets a rate (:func:`pays_interest`).

:func:`plan_year_close` is the rule; it hands each event to an ``append`` callback, so the
one-command path (:func:`decide_year_close`: the account's guarded command methods) and
the batch job's direct path (:mod:`ledger.adapters.direct`: events stored straight from
their attributes) record the same events from the same decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
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


def pays_interest(book: PolicyBook) -> bool:
    """Whether any version of any region sets an interest rate: if none does, no account
    earns interest, whatever its history. (Asked twice per account: kept per book.)"""
    known = _PAYS.get(id(book))
    if known is None or known[0] is not book:
        known = book, any(policy.interest.rate.value
                          for versions in book.versions.values() for policy in versions)
        _PAYS[id(book)] = known
    return known[1]


_PAYS: dict[int, tuple[PolicyBook, bool]] = {}


def wants_history(account: Account, book: PolicyBook, cmd: CloseYear) -> bool:
    """Whether :func:`decide_year_close` needs the account's :class:`YearHistory`."""
    return (carries_over(account, cmd) and account.status in (ACTIVE, DECEASED)
            and pays_interest(book))


#: ``append(account, event class, attributes)``: record the event on the account and apply
#: it at once (:data:`ledger.adapters.batch.Append`).
Append = Callable[[Account, type, dict[str, Any]], None]
#: What a close recorded: the pooling years closed (the ``YearClosed`` event's ``pooling``)
#: and the interest credited, in fen.
Closed = tuple[list[dict[str, Any]], int]


def plan_year_close(
    account: Account, book: PolicyBook, cmd: CloseYear, history: YearHistory | None,
    append: Append,
) -> Closed | None:
    """Close ``cmd.year`` on ``account`` through ``append``: interest (where a rate is
    set), then ``YearClosed`` with the balance after it. None when there is nothing to do.
    ``history`` is needed when :func:`wants_history` is true."""
    pooling = _closings(account, book, cmd.year, cmd.region)
    carry = carries_over(account, cmd)
    if not pooling and not carry:
        return None
    interest, rated = _interest(account, book, cmd.year, history) if carry else (0, [])
    if interest:
        rate = (str(rated[0].interest.rate) if len(rated) == 1 else
                ", ".join(f"{p.region} {p.interest.rate}" for p in rated))
        append(account, Account.InterestCredited, {
            "year": cmd.year, "amount": interest, "rate": rate,
            "article": "; ".join(p.interest.article for p in rated)})
    append(account, Account.YearClosed, {
        "year": cmd.year, "pooling": pooling, "balance": account.balance,
        "carried_over": carry})
    return pooling, interest


def decide_year_close(
    account: Account, book: PolicyBook, cmd: CloseYear, history: YearHistory | None = None
) -> Decision[tuple[int, int] | None]:
    """Record ``cmd.year``'s close (:func:`plan_year_close`) with the account's own command
    methods: ``(pooling years closed, interest)``, or None when there is nothing to do."""
    closed = plan_year_close(account, book, cmd, history, _by_command)
    if closed is None:
        return None, []
    return (len(closed[0]), closed[1]), [account]


def _by_command(account: Account, event_class: type, attributes: dict[str, Any]) -> None:
    """An event recorded through the account's command method, which checks its invariant."""
    command = {Account.InterestCredited: account.credit_interest,
               Account.YearClosed: account.close_year}[event_class]
    command(**attributes)


def _closings(
    account: Account, book: PolicyBook, year: int, region: str | None
) -> list[dict[str, Any]]:
    """Each open pooling year of ``year`` (of ``region``, if given), with its cap forfeited."""
    closings: list[dict[str, Any]] = []
    if not account.pooling:
        return closings
    dec31 = dt.date(year, 12, 31)
    category = account.facts.category_on(dec31)
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
    if account.status not in (ACTIVE, DECEASED) or not pays_interest(book):
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
