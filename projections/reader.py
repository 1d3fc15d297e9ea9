"""Reading the views: the fast, eventually consistent answers the API serves by default.

:class:`ViewReader` answers in the same shapes as the aggregate queries
(:class:`~ledger.queries.AccountView`, :class:`~ledger.queries.PoolingView`), so a caller
can switch between ``consistency=strong`` (the aggregate) and the views without mapping.
:func:`read_account` does that switch and says which source answered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ledger.crypto import ViewFields
from ledger.queries import AccountView, PoolingView, current_cap
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.people import PersonFacts
from projections.projection import Row
from projections.stores.base import ViewStore
from projections.tables import ACCOUNTS, BINDINGS, DAILY, FAMILY, FUNDS, TRANSACTIONS

T = TypeVar("T")
Source = Literal["views", "aggregate"]


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """An answer and where it came from: the views (as of ``position``) or the aggregate."""

    value: T
    source: Source
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    member: str
    relation: str
    bound_from: str
    unbound_on: str | None


@dataclass(frozen=True, slots=True)
class FamilySpending:
    """What ``payer``'s account paid for ``beneficiary`` for ``purpose`` (家庭共济), net of reversals."""

    payer: str
    beneficiary: str
    purpose: str
    paid: int
    payments: int
    reversed: int


@dataclass(frozen=True, slots=True)
class FamilyView:
    payer: str
    bindings: list[Binding] = field(default_factory=list)
    spending: list[FamilySpending] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FundTotals:
    """The agency's reporting row: visits of one region, year, month and institution level.

    Net of reversals: a reversed visit leaves every sum and ``visits`` and counts in
    ``reversed``. Figures are by the visit's date.
    """

    region: str
    year: int
    month: int
    level: int
    fund_paid: int
    account_paid: int
    family_paid: int
    cash_paid: int
    visits: int
    reversed: int


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """One line of the people look-up: who, where, and the account's state (no balance)."""

    person: str
    region: str
    scheme: str
    has_account: bool
    status: str


@dataclass(frozen=True, slots=True)
class PersonBalance:
    """A line of the balances report: a person's balance on a day; region and status now."""

    person: str
    region: str
    status: str
    balance: int


@dataclass(frozen=True, slots=True)
class DailyBalance:
    """A day's closing balance, for each day the balance moved (by value date)."""

    day: dt.date
    change: int
    closing: int


class ViewReader:
    """Queries answered from a view store."""

    def __init__(self, views: ViewStore, book: PolicyBook,
                 fields: ViewFields | None = None) -> None:
        self.views = views
        self.book = book
        self.fields = fields or ViewFields.from_env()  # sealed dates (ledger.crypto)

    def position(self) -> int:
        """The last notification id the views include."""
        return self.views.position()

    # -- accounts and pooling ---------------------------------------------------------

    def account(self, person: str, as_of: dt.date | None = None) -> AccountView:
        """The person's account as the views hold it; ``unknown_person`` if not there."""
        found = self.sourced(person, as_of)
        if found is None:
            raise _not_in_views(person)
        return found.value

    def sourced(self, person: str, as_of: dt.date | None = None) -> Sourced[AccountView] | None:
        """The account and the views' position, read in one statement (or one Redis round
        trip); None when the views do not know the person."""
        position, row, pooling_rows = self.views.account_rows(person)
        if row is None:
            return None
        facts = _facts(row, self.fields)
        pooling = {f"{p.region}/{p.year}": p for p in self._pooling(pooling_rows, facts)}
        return Sourced(AccountView(
            person=person, region=row["region"], scheme=row["scheme"],
            has_account=bool(row["has_account"]),
            category=facts.category_on(as_of or dt.date.today()), status=row["status"],
            balance=row["balance"], version=row["version"],
            pooling=dict(sorted(pooling.items())),
        ), "views", position)

    def pooling(self, person: str, region: str | None = None,
                year: int | None = None) -> list[PoolingView]:
        """The person's yearly pooling usage (普通门诊统筹年度累计), filtered."""
        _, row, pooling_rows = self.views.account_rows(person)
        if row is None:
            return []
        return [p for p in self._pooling(pooling_rows, _facts(row, self.fields))
                if region in (None, p.region) and year in (None, p.year)]

    def _pooling(self, rows: list[Row], facts: PersonFacts) -> list[PoolingView]:
        views = []
        for row in rows:
            cap = row["cap"]
            if cap is None:
                cap = current_cap(self.book, facts, row["region"], row["year"])
            views.append(PoolingView(
                region=row["region"], year=row["year"], in_scope=row["in_scope"],
                deductible_applied=row["deductible_applied"], fund_paid=row["fund_paid"],
                over_cap=row["over_cap"], visits=row["visits"], closed=bool(row["closed"]),
                forfeited=row["forfeited"] or 0, cap=cap,
                cap_left=None if cap is None else max(0, cap - row["fund_paid"]),
            ))
        return sorted(views, key=lambda p: (p.region, p.year))

    def people(self, prefix: str = "", region: str | None = None, after: str | None = None,
               limit: int = 50) -> list[PersonEntry]:
        """People whose id starts with ``prefix`` (in ``region``), in id order, after
        ``after``: the look-up of a counter or an auditor who lacks the exact id."""
        return [PersonEntry(person=r["person"], region=r["region"], scheme=r["scheme"],
                            has_account=bool(r["has_account"]), status=r["status"])
                for r in self.views.people(prefix, region, after, limit)]

    # -- family, funds, transactions --------------------------------------------------

    def family(self, payer: str) -> FamilyView:
        """Who ``payer`` bound and how much their account paid for whom, by purpose."""
        bindings = [Binding(r["member"], r["relation"], r["bound_from"], r["unbound_on"] or None)
                    for r in self.views.rows(BINDINGS.name, payer)]
        spending = [FamilySpending(**{k: r[k] for k in FAMILY.columns})
                    for r in self.views.rows(FAMILY.name, payer)]
        return FamilyView(payer, sorted(bindings, key=lambda b: b.member),
                          sorted(spending, key=lambda s: (s.beneficiary, s.purpose)))

    def fund_totals(self, region: str | None = None, year: int | None = None,
                    month: int | None = None, level: int | None = None) -> list[FundTotals]:
        """统筹基金支付 totals per region, year, month and level, filtered."""
        rows = [FundTotals(**{k: r[k] for k in FUNDS.columns})
                for r in self.views.rows(FUNDS.name, region)]
        return sorted((t for t in rows if year in (None, t.year) and month in (None, t.month)
                       and level in (None, t.level)),
                      key=lambda t: (t.region, t.year, t.month, t.level))

    def transaction(self, transaction_key: str) -> dict[str, Any] | None:
        """The indexed transaction (by its aggregate id, hex), or None."""
        return self.views.get(TRANSACTIONS.name, (transaction_key,))

    # -- daily balances ---------------------------------------------------------------

    def daily_balances(self, person: str, start: dt.date | None = None,
                       end: dt.date | None = None) -> list[DailyBalance]:
        """Closing balances of the days the balance moved, by value date, within [start, end]."""
        closing, days = 0, []
        for row in sorted(self.views.rows(DAILY.name, person), key=lambda r: r["day"]):
            day = dt.date.fromisoformat(row["day"])
            if end is not None and day > end:
                break
            closing += row["change"]
            if start is None or day >= start:
                days.append(DailyBalance(day, row["change"], closing))
        return days

    def balances_on(self, day: dt.date, region: str | None = None) -> list[PersonBalance]:
        """Every account with a movement on or before ``day`` (by value date), its closing
        balance of ``day``, and its current region and status; in person-id order."""
        iso, totals = day.isoformat(), {}
        for row in self.views.rows(DAILY.name):
            if row["day"] <= iso:
                totals[row["person"]] = totals.get(row["person"], 0) + row["change"]
        accounts = self.views.lookup(ACCOUNTS.name, [(person,) for person in totals])
        return [PersonBalance(person, row["region"], row["status"], totals[person])
                for (person,), row in sorted(accounts.items())
                if region in (None, row["region"])]

    def balance_on(self, person: str, day: dt.date) -> int:
        """The closing balance of ``day`` by value date (0 before the first movement)."""
        iso = day.isoformat()
        return sum(r["change"] for r in self.views.rows(DAILY.name, person) if r["day"] <= iso)


def _not_in_views(person: str) -> LedgerError:
    return LedgerError(ErrorCode.UNKNOWN_PERSON,
                       f"no person {person!r} is enrolled (in the views)", field="person")


def _facts(row: dict[str, Any], fields: ViewFields) -> PersonFacts:
    retired = fields.open(row["retired_on"] or "")
    return PersonFacts(
        birth_date=dt.date.fromisoformat(fields.open(row["birth_date"])), scheme=row["scheme"],
        retired_on=dt.date.fromisoformat(retired) if retired else None,
    )


def read_account(ledger: Any, reader: ViewReader | None, person: str,
                 consistency: Literal["eventual", "strong"] = "eventual",
                 as_of: dt.date | None = None) -> Sourced[AccountView]:
    """The account from the views, or from the aggregate when asked (or without views)."""
    if consistency == "strong" or reader is None:
        return Sourced(ledger.account_view(person, as_of), "aggregate")
    found = reader.sourced(person, as_of)
    if found is None:
        raise _not_in_views(person)
    return found
