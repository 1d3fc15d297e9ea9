"""The account aggregate: one insured person's personal account and yearly pooling usage.

Each method decorated with ``@event`` *is* an immutable event: calling it records the
event and its body is how the event changes the state, on the first call and on every
replay. Invariants (no overdraft, one credit a month, one payout) are checked by the
application service *before* calling these methods, never inside them.

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

    # -- credits ----------------------------------------------------------------------

    @event("ContributionCredited")
    def credit_contribution(self, month: str, base: int, amount: int, article: str) -> None:
        """在职个人账户计入: a month's contribution credits 2% of its base."""
        self.credited[month] = ["contribution", base, amount, article]
        self.balance += amount

    @event("AllotmentCredited")
    def credit_allotment(self, month: str, amount: int, basis: str, article: str) -> None:
        """退休人员划入: a retired month's allotment."""
        self.credited[month] = ["allotment", None, amount, article]
        self.balance += amount

    @event("LumpSumCredited")
    def credit_lump_sum(
        self, transaction_id: str, date: dt.date, base: int, amount: int, article: str
    ) -> None:
        """一次性预缴/补缴: 2% of the lump-sum base at once (nanchang art. 21)."""
        self.balance += amount

    @event("InterestCredited")
    def credit_interest(self, year: int, amount: int, rate: str, article: str) -> None:
        """个人账户计息 for a year, on the daily-balance method (DOMAIN.md 7)."""
        self.balance += amount

    @event("Retired")
    def retire(self, date: dt.date, article: str) -> None:
        """在职转退休: the retired category applies from the month after ``date``."""
        self.retired_on = date

    # -- money out and back -----------------------------------------------------------

    @event("Debited")
    def debit(
        self, transaction_id: str, date: dt.date, amount: int, kind: str,
        beneficiary: str, purpose: str, article: str,
    ) -> None:
        """An account payment: a visit's self-pay or a spend, own or for family (共济)."""
        self.balance -= amount

    @event("DebitRestored")
    def restore(self, transaction_id: str, date: dt.date, amount: int, reason: str) -> None:
        """A reversal puts back exactly what the transaction took (冲正)."""
        self.balance += amount

    # -- pooling ----------------------------------------------------------------------

    @event("VisitPooled")
    def add_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        """A settled visit's pooling figures join the person's region/year accumulations."""
        usage = self.pooling.setdefault(pooling_key(region, year), empty_usage())
        usage["in_scope"] += eligible_in_scope
        usage["deductible_applied"] += deductible_applied
        usage["fund_paid"] += fund_paid
        usage["over_cap"] += over_cap
        usage["visits"] += 1

    @event("VisitUnpooled")
    def remove_visit(
        self, transaction_id: str, region: str, year: int, eligible_in_scope: int,
        deductible_applied: int, fund_paid: int, over_cap: int,
    ) -> None:
        """A reversed visit's figures leave the accumulations (forfeited stays as closed)."""
        usage = self.pooling[pooling_key(region, year)]
        usage["in_scope"] -= eligible_in_scope
        usage["deductible_applied"] -= deductible_applied
        usage["fund_paid"] -= fund_paid
        usage["over_cap"] -= over_cap

    @event("YearClosed")
    def close_year(
        self, year: int, pooling: list[dict[str, Any]], balance: int, carried_over: bool
    ) -> None:
        """年度结转: pooling years closed (unused cap forfeited) and the balance carried over."""
        for closing in pooling:
            usage = self.pooling[pooling_key(closing["region"], year)]
            usage["closed"] = True
            usage["cap"] = closing["cap"]
            usage["forfeited"] = closing["forfeited"]
        if carried_over:
            self.closed_years.append(year)

    # -- family -----------------------------------------------------------------------

    @event("FamilyMemberBound")
    def bind(self, member: str, relation: str, date: dt.date, article: str) -> None:
        """家庭共济绑定: ``member`` may be paid for from ``date``; rebinding updates the relation."""
        periods = self.bindings.setdefault(member, [])
        if periods and periods[-1][2] is None:
            periods[-1][2] = date
        periods.append([relation, date, None])

    @event("FamilyMemberUnbound")
    def unbind(self, member: str, date: dt.date) -> None:
        """解绑: the binding ends from ``date``."""
        self.bindings[member][-1][2] = date

    # -- leaving ----------------------------------------------------------------------

    @event("TransferredOut")
    def transfer_out(self, to_region: str, date: dt.date, amount: int, article: str) -> None:
        """转出: the whole balance leaves the source region's account."""
        self.balance -= amount

    @event("TransferredIn")
    def transfer_in(
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

    @event("EmigrationPaidOut")
    def pay_emigration(self, date: dt.date, amount: int, article: str) -> None:
        """出国出境定居: the balance is paid to the person and the account closes."""
        self.balance -= amount
        self.status = EMIGRATED

    @event("Died")
    def die(self, date: dt.date, article: str) -> None:
        """死亡: no spend from now on, no credit for a month after the month of death."""
        self.death_date = date
        self.status = DECEASED

    @event("InheritancePaidOut")
    def pay_inheritance(
        self, date: dt.date, request: dict[str, Any], payouts: dict[str, int], amount: int,
        article: str,
    ) -> None:
        """继承: the balance is paid once to the heirs; the account is settled."""
        self.balance -= amount
        self.status = SETTLED
        self.inheritance = {"request": request, "payouts": payouts}
