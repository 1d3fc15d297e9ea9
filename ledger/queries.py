"""Reading an account straight from its aggregate (the strongly consistent read).

The projections serve the same shapes faster; these are what they must agree with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ledger.account import Account
from ledger.core import LedgerCore
from ledger.ids import account_id
from ledger.transaction import Transaction
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.people import PersonFacts
from policies.pricing import cap_for


@dataclass(frozen=True, slots=True)
class PoolingView:
    """A person's pooling usage in one region and year (普通门诊统筹年度累计)."""

    region: str
    year: int
    in_scope: int
    deductible_applied: int
    fund_paid: int
    over_cap: int
    visits: int
    closed: bool
    forfeited: int
    cap: int | None
    cap_left: int | None


@dataclass(frozen=True, slots=True)
class AccountView:
    """A person's account as it stands: balance, status, category, region."""

    person: str
    region: str
    scheme: str
    has_account: bool
    category: str
    status: str
    balance: int
    version: int
    pooling: dict[str, PoolingView]


@dataclass(frozen=True, slots=True)
class EventView:
    """One recorded event of an account: what happened, when, and its facts (in fen)."""

    version: int
    type: str
    recorded_at: dt.datetime
    data: dict[str, Any]


class AccountQueries(LedgerCore):
    """Queries answered from the event-sourced aggregates themselves."""

    def account_view(self, person: str, as_of: dt.date | None = None) -> AccountView:
        """The account now; ``category`` as in force on ``as_of`` (default: today)."""
        account = self.account(person)
        day = as_of or dt.date.today()
        return AccountView(
            person=account.person, region=account.region, scheme=account.scheme,
            has_account=account.has_account, category=account.facts.category_on(day),
            status=account.status, balance=account.balance, version=account.version,
            pooling={key: self._pooling_view(account, key) for key in sorted(account.pooling)},
        )

    def _pooling_view(self, account: Account, key: str) -> PoolingView:
        region, year = key.split("/")
        usage = account.pooling[key]
        cap = usage["cap"]
        if cap is None:
            cap = self._current_cap(account, region, int(year))
        return PoolingView(
            region=region, year=int(year), in_scope=usage["in_scope"],
            deductible_applied=usage["deductible_applied"], fund_paid=usage["fund_paid"],
            over_cap=usage["over_cap"], visits=usage["visits"], closed=usage["closed"],
            forfeited=usage["forfeited"], cap=cap,
            cap_left=None if cap is None else max(0, cap - usage["fund_paid"]),
        )

    def _current_cap(self, account: Account, region: str, year: int) -> int | None:
        return current_cap(self.book, account.facts, region, year)

    # -- the record behind the figures ----------------------------------------------

    def account_events(
        self, person: str, limit: int = 50, before: int | None = None
    ) -> list[EventView]:
        """Up to ``limit`` events of the person's account, newest first, older than ``before``."""
        events = list(self.events.get(
            account_id(person), desc=True, limit=limit,
            lte=None if before is None else before - 1,
        ))
        if not events and before is None:
            self.account(person)  # unknown_person rather than an empty page
        return [
            EventView(
                version=e.originator_version, type=type(e).__name__, recorded_at=e.timestamp,
                data={k: v for k, v in e.__dict__.items() if k not in _EVENT_ENVELOPE},
            )
            for e in events
        ]

    def transaction(self, client_id: str) -> Transaction:
        """A settlement, spend or lump sum by its client id, or ``unknown_transaction``."""
        txn = self.find_transaction(client_id)
        if txn is None:
            raise LedgerError(
                ErrorCode.UNKNOWN_TRANSACTION, f"no transaction with id {client_id!r}",
                field="id",
            )
        return txn


_EVENT_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def current_cap(book: PolicyBook, facts: PersonFacts, region: str, year: int,
                on: dt.date | None = None) -> int | None:
    """The cap of a year not yet closed: in force on its last day, or ``on`` (default
    today) while it runs."""
    day = min(dt.date(year, 12, 31), max(dt.date(year, 1, 1), on or dt.date.today()))
    try:
        policy = book.latest_on_or_before(region, day)
    except LedgerError:
        return None
    scheme = facts.scheme if facts.scheme in policy.schemes else policy.default_scheme
    return cap_for(policy, facts.category_on(day), scheme)
