"""The account aggregate: one insured person's personal account and yearly pooling usage.

The account guards its own invariants in eventsourcing's "non-trivial command method"
style: each public command method (``debit``, ``credit_contribution``, ``pay_inheritance``,
…) checks what must hold — an open account, no overdraft, one credit a month, one payout —
and raises a :class:`LedgerError` that changes nothing, then calls a private method
decorated with ``@event``, which *is* the immutable event: its body only mutates, on the
first call and on every replay. The event names are given explicitly (``"Debited"``), so
the stored topics (``ledger.account:Account.Debited``) and the events' attributes (the
private method's parameters) are those of the events already stored.

The deciders (:mod:`ledger.deciders`) call the same checks earlier where FORMAT.md's order
of checks puts them before a policy rule; the checks are written once, here.

State is kept in JSON-friendly shapes (dicts with string keys, lists) so that a snapshot
of the aggregate round-trips exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import account_id
from policies.calendar import Month
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen
from policies.people import PersonFacts

ACTIVE, EMIGRATED, DECEASED, SETTLED = "active", "emigrated", "deceased", "settled"


def pooling_key(region: str, year: int) -> str:
    """Pooling accumulations are per person, region and year (DOMAIN.md 9)."""
    return f"{region}/{year}"


def empty_usage() -> dict[str, Any]:
    return {"in_scope": 0, "deductible_applied": 0, "fund_paid": 0, "over_cap": 0,
            "visits": 0, "closed": False, "forfeited": 0, "cap": None}


class Account(Aggregate):
    """个人账户: a person's balance, credits, family bindings and pooling years."""

    #: attributes holding only JSON's own types (strings, numbers, lists, dicts): the state
    #: row stores them as they are, with nothing to decode (:class:`ledger.adapters.state.
    #: StateCodec`); they are the ones that grow with the years
    plain_state = ("credited", "pooling", "closed_years")
    #: attributes that begin as copies of ``enrolled_as``: the state row leaves out each
    #: one that still equals its enrolment value, and reading the row puts it back
    #: (:class:`ledger.adapters.state.StateCodec`, row format 3): 28% of a new row
    row_copies = ("enrolled_as", ("person", "region", "birth_date", "scheme", "has_account",
                                  "retired_on", "standard_years", "total_years",
                                  "lump_sum_until"))
    #: the attributes holding a date or time (or None), and in ``enrolled_as`` the keys:
    #: the state row writes them as ISO text and reads them back as their type (row
    #: format 4), instead of the transcoder's tagged objects (124 of a new row's 577 bytes)
    row_dates = {"_created_on": dt.datetime, "_modified_on": dt.datetime,
                 "birth_date": dt.date, "retired_on": dt.date, "death_date": dt.date,
                 "enrolled_as": {"birth_date": dt.date, "retired_on": dt.date}}

    @staticmethod
    def create_id(person: str, **_: Any) -> UUID:
        return account_id(person)

    @event("Enrolled")
    def __init__(
        self,
        person: str,
        region: str,
        birth_date: dt.date,
        scheme: str,
        has_account: bool,
        retired_on: dt.date | None = None,
        standard_years: int | None = None,
        total_years: int | None = None,
        lump_sum_until: str | None = None,
        resettled: bool = False,
    ) -> None:
        self.enrolled_as = {
            "person": person, "region": region, "birth_date": birth_date, "scheme": scheme,
            "has_account": has_account, "retired_on": retired_on,
            "standard_years": standard_years, "total_years": total_years,
            "lump_sum_until": lump_sum_until,
            # only when set, so that accounts enrolled before the field compare unchanged
            **({"resettled": True} if resettled else {}),
        }
        self.person = person
        self.region = region
        self.birth_date = birth_date
        self.scheme = scheme
        self.has_account = has_account
        self.retired_on = retired_on
        self.standard_years = standard_years
        self.total_years = total_years
        self.lump_sum_until = lump_sum_until
        self.balance = 0
        self.status = ACTIVE
        self.death_date: dt.date | None = None
        self.credited: dict[str, list[Any]] = {}  # month -> [kind, base, amount, article]
        self.bindings: dict[str, list[list[Any]]] = {}  # member -> [[relation, from, until]]
        self.pooling: dict[str, dict[str, Any]] = {}  # "region/year" -> usage
        self.closed_years: list[int] = []
        self.inheritance: dict[str, Any] | None = None

    # -- facts ------------------------------------------------------------------------

    @property
    def facts(self) -> PersonFacts:
        return PersonFacts(
            birth_date=self.birth_date,
            scheme=self.scheme,
            retired_on=self.retired_on,
            standard_years=self.standard_years,
            total_years=self.total_years,
            lump_sum_until=Month.parse(self.lump_sum_until) if self.lump_sum_until else None,
            resettled=self.enrolled_as.get("resettled", False),
        )

    def usage(self, region: str, year: int) -> dict[str, Any]:
        return self.pooling.get(pooling_key(region, year)) or empty_usage()

    def binding_on(self, member: str, day: dt.date) -> str | None:
        """The relation of ``member`` bound on ``day``, or None (active from, ended by unbind)."""
        for relation, start, until in self.bindings.get(member, []):
            if start <= day and (until is None or day < until):
                return relation
        return None

    def open_binding(self, member: str) -> list[Any] | None:
        periods = self.bindings.get(member, [])
        return periods[-1] if periods and periods[-1][2] is None else None

    # -- invariants (each raises a LedgerError and changes nothing) --------------------

    def require_open(self, what: str) -> None:
        """Refuse anything but an active account (``account_closed``)."""
        if self.status != ACTIVE:
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{self.person}'s account is {self.status}: it takes no {what}",
            )

    def require_personal_account(self) -> None:
        """Refuse a person without a personal account (``no_personal_account``)."""
        if not self.has_account:
            raise LedgerError(
                ErrorCode.NO_PERSONAL_ACCOUNT,
                f"{self.person} ({self.scheme}) has no personal account",
            )

    def require_not_paid_out(self, what: str) -> None:
        """Refuse an emigrated or settled account: its balance was paid out."""
        if self.status in (EMIGRATED, SETTLED):
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{self.person}'s account is {self.status} (paid out): it takes no {what}",
            )

    def require_creditable(self, month: Month) -> None:
        """No credit to a closed account, nor for a month after the month of death."""
        self.require_not_paid_out("credit")
        if self.death_date is not None and month > Month.of(self.death_date):
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{self.person} died on {self.death_date}: no credit for {month}",
            )

    def require_uncredited(self, month: str) -> None:
        """One credit per person-month: a month credited already is ``duplicate_conflict``."""
        prior = self.credited.get(month)
        if prior is not None:
            kind = prior[0]
            raise LedgerError(
                ErrorCode.DUPLICATE_CONFLICT,
                f"{self.person}'s {month} is already credited by a {kind}; "
                "one credit per person and month",
                message_zh=f"{self.person} 的 {month} 已由"
                           f"{'缴费计入' if kind == 'contribution' else '退休划入'}"
                           "记账：每人每月只计入一次",
            )

    def require_funds(self, amount: int) -> None:
        """No overdraft: a balance never goes below zero (``insufficient_balance``)."""
        if self.balance < amount:
            raise LedgerError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"{self.person}'s balance is {format_fen(self.balance)}, less "
                f"than the {format_fen(amount)} asked; a spend is all or nothing",
            )

    def require_dead(self) -> None:
        """An inheritance needs the death recorded first (``not_dead``)."""
        if self.death_date is None:
            raise LedgerError(ErrorCode.NOT_DEAD, f"{self.person}'s death has not been recorded")

    @property
    def spendable(self) -> int:
        """What the account may pay now: nothing without an account, once closed or deceased."""
        return self.balance if self.has_account and self.status == ACTIVE else 0

    # -- credits ----------------------------------------------------------------------

    def credit_contribution(self, month: str, base: int, amount: int, article: str) -> None:
        """在职个人账户计入: a month's contribution credits 2% of its base."""
        self.require_creditable(Month.parse(month))
        self.require_uncredited(month)
        self._credit_contribution(month, base, amount, article)

    @event("ContributionCredited")
    def _credit_contribution(self, month: str, base: int, amount: int, article: str) -> None:
        self.credited[month] = ["contribution", base, amount, article]
        self.balance += amount

    def credit_allotment(self, month: str, amount: int, basis: str, article: str) -> None:
        """退休人员划入: a retired month's allotment."""
        self.require_creditable(Month.parse(month))
        self.require_uncredited(month)
        self._credit_allotment(month, amount, basis, article)

    @event("AllotmentCredited")
    def _credit_allotment(self, month: str, amount: int, basis: str, article: str) -> None:
        self.credited[month] = ["allotment", None, amount, article]
        self.balance += amount

    def credit_lump_sum(
        self, transaction_id: str, date: dt.date, base: int, amount: int, article: str
    ) -> None:
        """一次性预缴/补缴: 2% of the lump-sum base at once (nanchang art. 21)."""
        self.require_creditable(Month.of(date))
        self._credit_lump_sum(transaction_id, date, base, amount, article)

    @event("LumpSumCredited")
    def _credit_lump_sum(
        self, transaction_id: str, date: dt.date, base: int, amount: int, article: str
    ) -> None:
        self.balance += amount

    def credit_interest(self, year: int, amount: int, rate: str, article: str) -> None:
        """个人账户计息 for a year, on the daily-balance method (DOMAIN.md 7)."""
        self.require_not_paid_out("interest")
        self._credit_interest(year, amount, rate, article)

    @event("InterestCredited")
    def _credit_interest(self, year: int, amount: int, rate: str, article: str) -> None:
        self.balance += amount

    def retire(self, date: dt.date, article: str) -> None:
        """在职转退休: the retired category applies from the month after ``date``."""
        self.require_open("retirement")
        if self.retired_on is not None:
            raise LedgerError(
                ErrorCode.NOT_EMPLOYED, f"{self.person} already retired on {self.retired_on}"
            )
        self._retire(date, article)

    @event("Retired")
    def _retire(self, date: dt.date, article: str) -> None:
        self.retired_on = date

    # -- money out and back -----------------------------------------------------------

    def debit(
        self, transaction_id: str, date: dt.date, amount: int, kind: str,
        beneficiary: str, purpose: str, article: str,
    ) -> None:
        """An account payment: a visit's self-pay or a spend, own or for family (共济)."""
        self.require_open("spend")
        self.require_personal_account()
        self.require_funds(amount)
        self._debit(transaction_id, date, amount, kind, beneficiary, purpose, article)

    @event("Debited")
    def _debit(
        self, transaction_id: str, date: dt.date, amount: int, kind: str,
        beneficiary: str, purpose: str, article: str,
    ) -> None:
        self.balance -= amount

    def restore(self, transaction_id: str, date: dt.date, amount: int, reason: str) -> None:
        """A reversal puts back exactly what the transaction took (冲正)."""
        self.require_not_paid_out("refund")
        self._restore(transaction_id, date, amount, reason)

    @event("DebitRestored")
    def _restore(self, transaction_id: str, date: dt.date, amount: int, reason: str) -> None:
        self.balance += amount

    # -- pooling ----------------------------------------------------------------------

    def add_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        """A settled visit's pooling figures join the person's region/year accumulations."""
        self.require_not_paid_out("visit")
        self._add_visit(transaction_id, region, year, eligible_in_scope, deductible_applied,
                        fund_paid, over_cap)

    @event("VisitPooled")
    def _add_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        usage = self.pooling.setdefault(pooling_key(region, year), empty_usage())
        usage["in_scope"] += eligible_in_scope
        usage["deductible_applied"] += deductible_applied
        usage["fund_paid"] += fund_paid
        usage["over_cap"] += over_cap
        usage["visits"] += 1

    def remove_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        """A reversed visit's figures leave the accumulations (forfeited stays as closed)."""
        if pooling_key(region, year) not in self.pooling:
            raise ValueError(f"{self.person} has no {region}/{year} pooling year to unpool")
        self._remove_visit(transaction_id, region, year, eligible_in_scope,
                           deductible_applied, fund_paid, over_cap)

    @event("VisitUnpooled")
    def _remove_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        usage = self.pooling[pooling_key(region, year)]
        usage["in_scope"] -= eligible_in_scope
        usage["deductible_applied"] -= deductible_applied
        usage["fund_paid"] -= fund_paid
        usage["over_cap"] -= over_cap

    def close_year(
        self, year: int, pooling: list[dict[str, Any]], balance: int, carried_over: bool
    ) -> None:
        """年度结转: pooling years closed (unused cap forfeited) and the balance carried over;
        each pooling year and each year's balance is closed once."""
        for closing in pooling:
            if self.pooling[pooling_key(closing["region"], year)]["closed"]:
                raise ValueError(f"{self.person}'s {closing['region']}/{year} is closed already")
        if carried_over and year in self.closed_years:
            raise ValueError(f"{self.person}'s {year} is carried over already")
        self._close_year(year, pooling, balance, carried_over)

    @event("YearClosed")
    def _close_year(
        self, year: int, pooling: list[dict[str, Any]], balance: int, carried_over: bool
    ) -> None:
        for closing in pooling:
            usage = self.pooling[pooling_key(closing["region"], year)]
            usage["closed"] = True
            usage["cap"] = closing["cap"]
            usage["forfeited"] = closing["forfeited"]
        if carried_over:
            self.closed_years.append(year)

    # -- family -----------------------------------------------------------------------

    def bind(self, member: str, relation: str, date: dt.date, article: str) -> None:
        """家庭共济绑定: ``member`` may be paid for from ``date``; rebinding updates the relation."""
        self.require_open("binding")
        self.require_personal_account()
        self._bind(member, relation, date, article)

    @event("FamilyMemberBound")
    def _bind(self, member: str, relation: str, date: dt.date, article: str) -> None:
        periods = self.bindings.setdefault(member, [])
        if periods and periods[-1][2] is None:
            periods[-1][2] = date
        periods.append([relation, date, None])

    def unbind(self, member: str, date: dt.date) -> None:
        """解绑: the binding ends from ``date``; it must be active on ``date`` (DOMAIN.md 9)."""
        current = self.open_binding(member)
        if current is None or date < current[1]:
            since = f" on {date} (bound from {current[1]})" if current else ""
            raise LedgerError(
                ErrorCode.NOT_BOUND, f"{member} is not bound to {self.person}'s account{since}"
            )
        self._unbind(member, date)

    @event("FamilyMemberUnbound")
    def _unbind(self, member: str, date: dt.date) -> None:
        self.bindings[member][-1][2] = date

    # -- leaving ----------------------------------------------------------------------

    def transfer(
        self, to_region: str, scheme: str, date: dt.date, article_out: str, article_in: str
    ) -> int:
        """转移接续: the whole balance leaves this region and arrives in ``to_region`` (two
        events, one account); ``scheme`` is the destination's. Returns the amount moved."""
        self.require_open("transfer")
        amount = self.balance
        self._transfer_out(to_region, date, amount, article_out)
        self._transfer_in(self.region, to_region, scheme, date, amount, article_in)
        return amount

    @event("TransferredOut")
    def _transfer_out(self, to_region: str, date: dt.date, amount: int, article: str) -> None:
        """转出: the whole balance leaves the source region's account."""
        self.balance -= amount

    @event("TransferredIn")
    def _transfer_in(
        self, from_region: str, region: str, scheme: str, date: dt.date, amount: int,
        article: str,
    ) -> None:
        """转入: the balance arrives in the destination region, whose policy applies now.

        A chongqing lump-sum (趸缴) period ends here: from now on the destination's credit
        rules apply (DOMAIN.md 9)."""
        self.region = region
        self.scheme = scheme
        self.lump_sum_until = None
        self.balance += amount

    def pay_emigration(self, date: dt.date, article: str) -> int:
        """出国出境定居: the whole balance is paid to the person and the account closes.
        Returns the amount paid."""
        self.require_open("emigration payout")
        self.require_personal_account()
        amount = self.balance
        self._pay_emigration(date, amount, article)
        return amount

    @event("EmigrationPaidOut")
    def _pay_emigration(self, date: dt.date, amount: int, article: str) -> None:
        self.balance -= amount
        self.status = EMIGRATED

    def die(self, date: dt.date, article: str) -> None:
        """死亡: no spend from now on, no credit for a month after the month of death."""
        self.require_open("death record")
        self._die(date, article)

    @event("Died")
    def _die(self, date: dt.date, article: str) -> None:
        self.death_date = date
        self.status = DECEASED

    def pay_inheritance(
        self, date: dt.date, request: dict[str, Any], payouts: dict[str, int], article: str
    ) -> None:
        """继承: the whole balance is paid once to the heirs (``payouts`` add up to it); the
        account is settled."""
        self.require_not_paid_out("inheritance payout")
        self.require_personal_account()
        self.require_dead()
        if sum(payouts.values()) != self.balance:
            raise ValueError(f"payouts {payouts} do not add up to {self.person}'s balance "
                             f"{self.balance}")
        self._pay_inheritance(date, request, payouts, self.balance, article)

    @event("InheritancePaidOut")
    def _pay_inheritance(
        self, date: dt.date, request: dict[str, Any], payouts: dict[str, int], amount: int,
        article: str,
    ) -> None:
        self.balance -= amount
        self.status = SETTLED
        self.inheritance = {"request": request, "payouts": payouts}
