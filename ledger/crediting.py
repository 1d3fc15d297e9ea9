"""Commands that enroll people and put money into accounts (DOMAIN.md 4).

Each handler follows FORMAT.md's order of checks: the person, the policy in force, a
reused id, the account's state, then the rule itself.
"""

from __future__ import annotations

from typing import Any

from ledger.account import Account
from ledger.commands import (
    CreditAllotment,
    CreditLumpSum,
    EnrollPerson,
    ImportPerson,
    RecordContribution,
    RecordRetirement,
)
from ledger.core import LedgerCore
from ledger.results import Credited, Done
from ledger.transaction import LumpSum
from policies import credits
from policies.calendar import Month
from policies.errors import ErrorCode, LedgerError


class CreditCommands(LedgerCore):
    """Enrollment, contributions, allotments, lump sums, retirement."""

    def enroll(self, cmd: EnrollPerson) -> Done:
        """Enroll a person; enrolling again with the same facts is a harmless retry."""
        facts = self.enrollment_facts(cmd)

        def decide() -> Done:
            try:
                existing = self.account(cmd.person)
            except LedgerError:
                self.save(Account(**facts))
                return Done()
            self.same_request(existing.enrolled_as, facts, f"person {cmd.person!r}")
            return Done()

        return self.write(decide)

    def enrollment_facts(self, cmd: EnrollPerson) -> dict[str, Any]:
        """The ``Enrolled`` event's facts for ``cmd``, or ``invalid_input`` (region, scheme)."""
        if cmd.region not in self.book.versions:
            raise LedgerError(
                ErrorCode.INVALID_INPUT,
                f"region: unknown region {cmd.region!r}; one of {self.book.regions}",
                field="region",
            )
        current = self.book.versions[cmd.region][-1]
        scheme = cmd.scheme or current.default_scheme
        if scheme not in current.schemes:
            raise LedgerError(
                ErrorCode.INVALID_INPUT,
                f"scheme: {scheme!r} is not a scheme of {cmd.region}; one of {sorted(current.schemes)}",
                field="scheme",
            )
        return dict(
            person=cmd.person, region=cmd.region, birth_date=cmd.birth_date, scheme=scheme,
            has_account=current.scheme(scheme).account, retired_on=cmd.retired_on,
            standard_years=cmd.standard_years, total_years=cmd.total_years,
            lump_sum_until=str(cmd.lump_sum_until) if cmd.lump_sum_until else None,
            **({"resettled": True} if isinstance(cmd, ImportPerson) and cmd.resettled else {}),
        )

    def credit_contribution(self, cmd: RecordContribution) -> Credited:
        """An employed month's credit, once per person and month."""

        def decide() -> Credited:
            account = self.account(cmd.person)
            result = self.decide_contribution(account, cmd)
            if account.pending_events:
                self.save(account)
            return result

        return self.write(decide)

    def decide_contribution(self, account: Account, cmd: RecordContribution) -> Credited:
        """Credit ``cmd.month`` on the loaded ``account`` unless it is credited already.

        FORMAT.md's order: the same month's contribution again is a retry (or, with another
        base, ``duplicate_conflict``); then the account's state; then a month already
        credited by an *allotment* is ``duplicate_conflict`` (one credit per person-month)."""
        policy = self.policy(account.region, cmd.month.last_day)
        month = str(cmd.month)
        prior = account.credited.get(month)
        if prior is not None and prior[0] == "contribution":
            _, base, amount, article = prior
            self.same_request({"base": base}, {"base": cmd.base},
                              f"{cmd.person}'s contribution for {month}")
            return Credited(amount, article)
        self._require_creditable(account, cmd.month)
        credit = credits.contribution_credit(policy, account.facts, cmd.month, cmd.base)
        if prior is not None:
            _already_credited(cmd.person, month, prior[0])
        account.credit_contribution(month, cmd.base, credit.amount, credit.article)
        return Credited(credit.amount, credit.article)

    def credit_allotment(self, cmd: CreditAllotment) -> Credited:
        """A retired month's allotment, once per person and month."""

        def decide() -> Credited:
            account = self.account(cmd.person)
            result = self.decide_allotment(account, cmd)
            if account.pending_events:
                self.save(account)
            return result

        return self.write(decide)

    def decide_allotment(self, account: Account, cmd: CreditAllotment) -> Credited:
        """Credit the allotment for ``cmd.month`` on the loaded ``account`` unless credited.

        The same order as :meth:`decide_contribution`; a policy whose allotment lacks its
        deployment figure (nanchang's average pension) is ``policy_invalid`` first."""
        policy = self.policy(account.region, cmd.month.last_day)
        credits.require_allotment_figures(policy)
        month = str(cmd.month)
        prior = account.credited.get(month)
        if prior is not None and prior[0] == "allotment":
            return Credited(prior[2], prior[3])
        self._require_creditable(account, cmd.month)
        credit = credits.retired_allotment(policy, account.facts, cmd.month)
        if prior is not None:
            _already_credited(cmd.person, month, prior[0])
        account.credit_allotment(month, credit.amount, credit.basis, credit.article)
        return Credited(credit.amount, credit.article)

    def credit_lump_sum(self, cmd: CreditLumpSum) -> Credited:
        """A one-off prepay/back-pay credit (nanchang art. 21), idempotent by its id."""

        def decide() -> Credited:
            account = self.account(cmd.person)
            credits.require_lump_sum_region(self.book.versions[account.region])
            policy = self.policy(account.region, cmd.date)
            credits.require_lump_sum(policy)
            existing = self.find_transaction(cmd.id)
            if existing is not None:
                self.same_request(existing.request, {"op": "lump_sum", **cmd.payload()},
                                  f"transaction {cmd.id!r}")
                return Credited(**existing.result)
            self._require_creditable(account, Month.of(cmd.date))
            credit = credits.lump_sum_credit(policy, account.facts, cmd.base)
            account.credit_lump_sum(cmd.id, cmd.date, cmd.base, credit.amount, credit.article)
            result = Credited(credit.amount, credit.article)
            txn = LumpSum(client_id=cmd.id, person=cmd.person,
                          request={"op": "lump_sum", **cmd.payload()},
                          result={"credited": credit.amount, "article": credit.article})
            self.save(account, txn)
            return result

        return self.write(decide)

    def retire(self, cmd: RecordRetirement) -> Done:
        """在职转退休; repeating the same date is harmless, another date is refused."""

        def decide() -> Done:
            account = self.account(cmd.person)
            self.book.check_region(account.region)
            policy = self.book.latest_on_or_before(account.region, cmd.date)
            if account.retired_on == cmd.date:
                return Done()  # the same retirement again: a harmless retry
            self.require_open(account, "retirement")
            if account.retired_on is not None:
                raise LedgerError(
                    ErrorCode.NOT_EMPLOYED,
                    f"{cmd.person} already retired on {account.retired_on}",
                )
            account.retire(cmd.date, policy.pooling.category_article)
            self.save(account)
            return Done()

        return self.write(decide)

    def _require_creditable(self, account: Account, month: Month) -> None:
        """No credit to a closed account, nor for a month after the month of death."""
        self.require_not_paid_out(account, "credit")
        if account.death_date is not None and month > Month.of(account.death_date):
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{account.person} died on {account.death_date}: no credit for {month}",
            )


def _already_credited(person: str, month: str, kind: str) -> None:
    """One credit per person-month: the other kind already credited it (FORMAT.md)."""
    raise LedgerError(
        ErrorCode.DUPLICATE_CONFLICT,
        f"{person}'s {month} is already credited by a {kind}; one credit per person and month",
        message_zh=f"{person} 的 {month} 已由{'缴费计入' if kind == 'contribution' else '退休划入'}"
                   "记账：每人每月只计入一次",
    )
