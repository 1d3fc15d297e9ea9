"""Commands that take money out of accounts: visits, spends, and their reversal.

A visit is priced by :func:`policies.pricing.price_visit` against the person's pooling
year as recorded so far; its self-pay is then taken from the person's own account, a bound
family member's (家庭共济), both (own first), or none, and the rest is cash. Everything a
settlement touches is saved in one atomic write with the transaction that remembers it.
"""

from __future__ import annotations

import datetime as dt

from ledger.account import ACTIVE, Account
from ledger.commands import FamilyPay, Reverse, SettleVisit, Spend
from ledger.core import LedgerCore
from ledger.results import Reversed, SpendResult, VisitResult
from ledger.transaction import Settlement, Spending, Transaction
from policies import family
from policies.errors import ErrorCode, LedgerError
from policies.model import Purpose, Relation, RegionPolicy
from policies.money import format_fen
from policies.pricing import Visit, YearUsage, price_visit


class SettlementCommands(LedgerCore):
    """Visits (门诊结算), spends (个人账户支付) and reversals (冲正)."""

    # -- visits -----------------------------------------------------------------------

    def settle_visit(self, cmd: SettleVisit) -> VisitResult:
        """Settle a visit once per id; a retry returns the first result."""

        def decide() -> VisitResult:
            result, touched = self._decide_visit(cmd)
            self.save(*touched)
            return result

        return self.write(decide)

    def preview_visit(self, cmd: SettleVisit) -> VisitResult:
        """Pre-settlement (预结算): the same figures a settlement would give now; writes nothing."""
        result, _ = self._decide_visit(cmd, preview=True)
        return result

    def _decide_visit(
        self, cmd: SettleVisit, preview: bool = False
    ) -> tuple[VisitResult, list[Account | Transaction]]:
        person = self.account(cmd.person)
        payer = self._family_payer(cmd.pay)
        policy = self.policy(person.region, cmd.date)
        payer_policy = self.policy(payer.region, cmd.date) if payer else None
        existing = self.find_transaction(cmd.id)
        request = {"op": "visit", **cmd.payload()}
        if existing is not None and not preview:
            self.same_request(existing.request, request, f"transaction {cmd.id!r}")
            return VisitResult(**existing.result), []
        self.require_not_paid_out(person, "visit")
        if person.death_date is not None and cmd.date > person.death_date:
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{cmd.person} died on {person.death_date}; no visit on {cmd.date}",
            )
        if payer is not None and payer_policy is not None:
            self._check_family(payer, payer_policy, cmd.person, Purpose.MEDICAL, cmd.date)

        year = cmd.date.year
        usage = person.usage(person.region, year)
        category = person.facts.category_on(cmd.date)
        visit = Visit(cmd.level, cmd.in_scope, cmd.out_of_scope,
                      tuple(str(f) for f in cmd.flags), cmd.prescribed_level)
        price = price_visit(policy, visit, category, person.scheme,
                            YearUsage(usage["in_scope"], usage["fund_paid"]))
        own_first = cmd.pay == "own" or (isinstance(cmd.pay, FamilyPay) and cmd.pay.own_first)
        own = min(self._spendable(person), price.self_pay) if own_first else 0
        from_family = min(payer.balance, price.self_pay - own) if payer else 0

        result = VisitResult(
            medical_total=cmd.in_scope + cmd.out_of_scope, out_of_scope=cmd.out_of_scope,
            in_scope=cmd.in_scope, eligible_in_scope=price.eligible_in_scope,
            deductible_applied=price.deductible_applied, fund_paid=price.fund_paid,
            over_cap=price.over_cap, self_pay=price.self_pay, own_paid=own,
            family_paid=from_family, cash_paid=price.self_pay - own - from_family,
            pooling_reason=price.pooling_reason, region=person.region, year=year,
            level=price.level, category=category, rate=str(price.rate), cap=price.cap,
            cap_left_after=price.cap_left - price.fund_paid,
            own_balance_after=person.balance - own if person.has_account else None,
            family_payer=payer.person if payer else None, articles=price.articles,
        )
        if preview:
            return result, []
        person.add_visit(cmd.id, person.region, year, price.eligible_in_scope,
                         price.deductible_applied, price.fund_paid, price.over_cap)
        debits = []
        for account, amount, role in ((person, own, "own"), (payer, from_family, "family")):
            if account is not None and amount:
                account.debit(cmd.id, cmd.date, amount, "visit", cmd.person, "medical",
                              policy.pooling.rates_article if role == "own"
                              else policy.family.article)
                debits.append({"person": account.person, "amount": amount, "role": role})
        txn = Settlement(
            client_id=cmd.id, person=cmd.person, request=request, result=result.record(),
            debits=debits, region=person.region, year=year,
            split={"fund_raw": price.fund_raw, "payable": price.payable,
                   "cap_left_before": price.cap_left},
            institution=cmd.institution, listing=cmd.listing,
        )
        return result, [person, payer, txn]

    # -- spends -----------------------------------------------------------------------

    def spend(self, cmd: Spend) -> SpendResult:
        """Pay a purpose from the payer's account, all or nothing; with ``shortfall_from``,
        the payer's own balance first and the rest from a bound family member's (共济)."""

        def decide() -> SpendResult:
            payer = self.account(cmd.payer)
            beneficiary = cmd.for_whom
            if beneficiary != cmd.payer:
                self.account(beneficiary)
            backer = self.account(cmd.shortfall_from) if cmd.shortfall_from else None
            policy = self.policy(payer.region, cmd.date)
            backer_policy = self.policy(backer.region, cmd.date) if backer else None
            request = {"op": "spend", **cmd.payload(), "beneficiary": beneficiary}
            existing = self.find_transaction(cmd.id)
            if existing is not None:
                self.same_request(existing.request, request, f"transaction {cmd.id!r}")
                return SpendResult(**existing.result)
            parts = self._spend_parts(cmd, payer, policy, backer, backer_policy)
            for account, amount, _, _ in parts:
                if account.balance < amount:
                    raise LedgerError(
                        ErrorCode.INSUFFICIENT_BALANCE,
                        f"{account.person}'s balance is {format_fen(account.balance)}, less "
                        f"than the {format_fen(amount)} asked; a spend is all or nothing",
                    )
            debits = []
            for account, amount, role, article in parts:
                if amount:
                    account.debit(cmd.id, cmd.date, amount, "spend", beneficiary,
                                  str(cmd.purpose), article)
                    debits.append({"person": account.person, "amount": amount, "role": role})
            family_part = next((d for d in debits if d["role"] == "family"), None)
            result = SpendResult(
                paid=cmd.amount,
                own_paid=sum(d["amount"] for d in debits if d["role"] == "own"),
                family_paid=family_part["amount"] if family_part else 0,
                family_payer=family_part["person"] if family_part else None,
            )
            txn = Spending(
                client_id=cmd.id, person=beneficiary, request=request, result=result.record(),
                debits=debits, purpose=str(cmd.purpose), beneficiary=beneficiary,
                institution=cmd.institution,
            )
            self.save(payer, backer, txn)
            return result

        return self.write(decide)

    def _spend_parts(
        self, cmd: Spend, payer: Account, policy: RegionPolicy,
        backer: Account | None, backer_policy: RegionPolicy | None,
    ) -> list[tuple[Account, int, str, str]]:
        """Who pays how much of a spend, after the account, binding and purpose checks."""
        if backer is None or backer_policy is None:
            self.require_open(payer, "spend")
            self.require_personal_account(payer)
            if cmd.for_whom == cmd.payer:
                article = family.check_purpose(policy, cmd.purpose, False, cmd.date)
                return [(payer, cmd.amount, "own", article)]
            article = self._check_family(payer, policy, cmd.for_whom, cmd.purpose, cmd.date)
            return [(payer, cmd.amount, "family", article)]
        self.require_open(payer, "spend")
        family_article = self._check_family(backer, backer_policy, cmd.payer, cmd.purpose,
                                            cmd.date)
        own_article = family.check_purpose(policy, cmd.purpose, False, cmd.date)
        own = min(self._spendable(payer), cmd.amount)
        return [(payer, own, "own", own_article),
                (backer, cmd.amount - own, "family", family_article)]

    # -- reversal ---------------------------------------------------------------------

    def reverse(self, cmd: Reverse) -> Reversed:
        """Reverse a settlement or spend once, whole; nothing is edited, new events restore."""

        def decide() -> Reversed:
            txn = self.find_transaction(cmd.id)
            if txn is None or not txn.reversible:
                raise LedgerError(
                    ErrorCode.UNKNOWN_TRANSACTION,
                    f"no visit or spend with id {cmd.id!r} to reverse", field="id",
                )
            request = {"op": "reverse", **cmd.payload()}
            if txn.reversal is not None:
                if txn.reversal["request"] == request:
                    return Reversed(**txn.reversal["result"])
                raise LedgerError(
                    ErrorCode.ALREADY_REVERSED,
                    f"transaction {cmd.id!r} was already reversed on "
                    f"{txn.reversal['request']['date']}",
                )
            accounts = {d["person"]: self.account(d["person"]) for d in txn.debits}
            if isinstance(txn, Settlement) and txn.person not in accounts:
                accounts[txn.person] = self.account(txn.person)
            for account in accounts.values():
                if account.person in {d["person"] for d in txn.debits}:
                    self.require_not_paid_out(account, "refund")
            if isinstance(txn, Settlement):
                r = txn.result
                accounts[txn.person].remove_visit(
                    cmd.id, txn.region, txn.year, r["eligible_in_scope"],
                    r["deductible_applied"], r["fund_paid"], r["over_cap"],
                )
            for debit in txn.debits:
                accounts[debit["person"]].restore(cmd.id, cmd.date, debit["amount"], cmd.reason)
            result = Reversed(sum(d["amount"] for d in txn.debits))
            txn.reverse(cmd.date, cmd.reason, request, result.record())
            self.save(txn, *accounts.values())
            return result

        return self.write(decide)

    # -- helpers ----------------------------------------------------------------------

    def _family_payer(self, pay: object) -> Account | None:
        return self.account(pay.family) if isinstance(pay, FamilyPay) else None

    @staticmethod
    def _spendable(account: Account) -> int:
        """What the account may pay now: nothing once closed or deceased."""
        return account.balance if account.has_account and account.status == ACTIVE else 0

    def _check_family(
        self, payer: Account, policy: RegionPolicy, member: str, purpose: Purpose,
        day: dt.date,
    ) -> str:
        """Checks in FORMAT.md order for paying a member: account, binding, relation, purpose."""
        self.require_open(payer, "spend")
        self.require_personal_account(payer)
        relation = payer.binding_on(member, day)
        if relation is None:
            raise LedgerError(
                ErrorCode.NOT_BOUND,
                f"{member} is not bound to {payer.person}'s account on {day}",
            )
        family.check_relation(policy, Relation(relation))
        return family.check_purpose(policy, purpose, True, day)

