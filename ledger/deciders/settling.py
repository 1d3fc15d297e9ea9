"""Money out of accounts: visits, spends, and their reversal (DOMAIN.md 3, 5 and 9).

A visit is priced by :func:`policies.pricing.price_visit` against the person's pooling
year as recorded so far; its self-pay is then taken from the person's own account, a bound
family member's (家庭共济), both (own first), or none, and the rest is cash. Everything a
settlement touches is returned to be saved in one atomic write with the transaction that
remembers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ledger.account import Account
from ledger.commands import FamilyPay, Reverse, SettleVisit, Spend
from ledger.deciders import Decision
from ledger.deciders.checks import check_family, same_request
from ledger.results import Reversed, SpendResult, VisitResult
from ledger.transaction import Settlement, Spending, Transaction
from policies import family
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.model import Purpose, RegionPolicy
from policies.pricing import Visit, VisitPrice, YearUsage, price_visit

# -- visits ---------------------------------------------------------------------------


def family_payer(cmd: SettleVisit) -> str | None:
    """The family member whose account pays for the visit (``pay: {"family": …}``), if any."""
    return cmd.pay.family if isinstance(cmd.pay, FamilyPay) else None


class _Quote(NamedTuple):
    result: VisitResult
    price: VisitPrice
    policy: RegionPolicy


def decide_visit(
    person: Account, payer: Account | None, existing: Transaction | None, book: PolicyBook,
    cmd: SettleVisit,
) -> Decision[VisitResult]:
    """Settle a visit once per id (门诊结算); a retry with the same content gets the first
    result. ``payer``: the family member's account when ``cmd.pay`` names one."""
    policies = _policies(person, payer, book, cmd)
    if existing is not None:
        same_request(existing.request, _request(cmd), f"transaction {cmd.id!r}")
        return VisitResult(**existing.result), []
    quote = _quote(person, payer, *policies, cmd)
    result, price, policy = quote
    person.add_visit(cmd.id, person.region, result.year, price.eligible_in_scope,
                     price.deductible_applied, price.fund_paid, price.over_cap)
    debits = []
    for account, amount, role in ((person, result.own_paid, "own"),
                                  (payer, result.family_paid, "family")):
        if account is not None and amount:
            account.debit(cmd.id, cmd.date, amount, "visit", cmd.person, "medical",
                          policy.pooling.rates_article if role == "own"
                          else policy.family.article)
            debits.append({"person": account.person, "amount": amount, "role": role})
    txn = Settlement(
        client_id=cmd.id, person=cmd.person, request=_request(cmd), result=result.record(),
        debits=debits, region=person.region, year=result.year,
        split={"fund_raw": price.fund_raw, "payable": price.payable,
               "cap_left_before": price.cap_left},
        institution=cmd.institution, listing=cmd.listing,
    )
    return result, [person, payer, txn]


def preview_visit(
    person: Account, payer: Account | None, book: PolicyBook, cmd: SettleVisit
) -> VisitResult:
    """Pre-settlement (预结算): the figures a settlement would give now, whatever the id."""
    return _quote(person, payer, *_policies(person, payer, book, cmd), cmd).result


def _request(cmd: SettleVisit) -> dict[str, object]:
    return {"op": "visit", **cmd.payload()}


def _policies(
    person: Account, payer: Account | None, book: PolicyBook, cmd: SettleVisit
) -> tuple[RegionPolicy, RegionPolicy | None]:
    """The person's policy in force on the visit's date, and the family payer's."""
    policy = book.in_force(person.region, cmd.date)
    return policy, book.in_force(payer.region, cmd.date) if payer else None


def _quote(
    person: Account, payer: Account | None, policy: RegionPolicy,
    payer_policy: RegionPolicy | None, cmd: SettleVisit,
) -> _Quote:
    """The account's state and the family binding checked, then the visit priced and split."""
    person.require_not_paid_out("visit")
    if person.death_date is not None and cmd.date > person.death_date:
        raise LedgerError(
            ErrorCode.ACCOUNT_CLOSED,
            f"{cmd.person} died on {person.death_date}; no visit on {cmd.date}",
        )
    if payer is not None and payer_policy is not None:
        check_family(payer, payer_policy, cmd.person, Purpose.MEDICAL, cmd.date)

    year = cmd.date.year
    usage = person.usage(person.region, year)
    category = person.facts.category_on(cmd.date)
    visit = Visit(cmd.level, cmd.in_scope, cmd.out_of_scope,
                  tuple(str(f) for f in cmd.flags), cmd.prescribed_level)
    price = price_visit(policy, visit, category, person.scheme,
                        YearUsage(usage["in_scope"], usage["fund_paid"]))
    own_first = cmd.pay == "own" or (isinstance(cmd.pay, FamilyPay) and cmd.pay.own_first)
    own = min(person.spendable, price.self_pay) if own_first else 0
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
    return _Quote(result, price, policy)


# -- spends ---------------------------------------------------------------------------


def decide_spend(
    payer: Account, beneficiary: Account | None, backer: Account | None,
    existing: Transaction | None, book: PolicyBook, cmd: Spend,
) -> Decision[SpendResult]:
    """Pay a purpose from ``payer``'s account, all or nothing (个人账户支付); with
    ``cmd.shortfall_from``, the payer's own balance first and the rest from ``backer``, a
    bound family member's (共济). ``beneficiary``: the member paid for, enrolled (None when
    the payer pays for themself)."""
    policy = book.in_force(payer.region, cmd.date)
    backer_policy = book.in_force(backer.region, cmd.date) if backer else None
    request = {"op": "spend", **cmd.payload(), "beneficiary": cmd.for_whom}
    if existing is not None:
        same_request(existing.request, request, f"transaction {cmd.id!r}")
        return SpendResult(**existing.result), []
    parts = _spend_parts(cmd, payer, policy, backer, backer_policy)
    for account, amount, _, _ in parts:
        account.require_funds(amount)
    debits = []
    for account, amount, role, article in parts:
        if amount:
            account.debit(cmd.id, cmd.date, amount, "spend", cmd.for_whom, str(cmd.purpose),
                          article)
            debits.append({"person": account.person, "amount": amount, "role": role})
    family_part = next((d for d in debits if d["role"] == "family"), None)
    result = SpendResult(
        paid=cmd.amount,
        own_paid=sum(d["amount"] for d in debits if d["role"] == "own"),
        family_paid=family_part["amount"] if family_part else 0,
        family_payer=family_part["person"] if family_part else None,
    )
    txn = Spending(
        client_id=cmd.id, person=cmd.for_whom, request=request, result=result.record(),
        debits=debits, purpose=str(cmd.purpose), beneficiary=cmd.for_whom,
        institution=cmd.institution,
    )
    return result, [payer, backer, txn]


def _spend_parts(
    cmd: Spend, payer: Account, policy: RegionPolicy,
    backer: Account | None, backer_policy: RegionPolicy | None,
) -> list[tuple[Account, int, str, str]]:
    """Who pays how much of a spend, after the account, binding and purpose checks."""
    if backer is None or backer_policy is None:
        payer.require_open("spend")
        payer.require_personal_account()
        if cmd.for_whom == cmd.payer:
            article = family.check_purpose(policy, cmd.purpose, False, cmd.date)
            return [(payer, cmd.amount, "own", article)]
        article = check_family(payer, policy, cmd.for_whom, cmd.purpose, cmd.date)
        return [(payer, cmd.amount, "family", article)]
    payer.require_open("spend")
    family_article = check_family(backer, backer_policy, cmd.payer, cmd.purpose, cmd.date)
    own_article = family.check_purpose(policy, cmd.purpose, False, cmd.date)
    own = min(payer.spendable, cmd.amount)
    return [(payer, own, "own", own_article),
            (backer, cmd.amount - own, "family", family_article)]


# -- reversal -------------------------------------------------------------------------


def reversal_parties(txn: Transaction | None) -> list[str]:
    """The people whose accounts reversing ``txn`` touches: those it debited, then the
    visit's person (whose pooling year gives back the visit's figures)."""
    if txn is None:
        return []
    people = [d["person"] for d in txn.debits]
    if isinstance(txn, Settlement):
        people.append(txn.person)
    return list(dict.fromkeys(people))


def decide_reversal(
    txn: Transaction | None, accounts: Mapping[str, Account], cmd: Reverse
) -> Decision[Reversed]:
    """Reverse a settlement or spend once, whole (冲正); nothing is edited, new events
    restore. ``accounts``: at least those of :func:`reversal_parties`, by person."""
    if txn is None or not txn.reversible:
        raise LedgerError(
            ErrorCode.UNKNOWN_TRANSACTION,
            f"no visit or spend with id {cmd.id!r} to reverse", field="id",
        )
    request = {"op": "reverse", **cmd.payload()}
    if txn.reversal is not None and txn.reversal["request"] == request:
        return Reversed(**txn.reversal["result"]), []
    txn.require_not_reversed()
    parties = [accounts[person] for person in reversal_parties(txn)]
    debtors = {d["person"] for d in txn.debits}
    for account in parties:
        if account.person in debtors:
            account.require_not_paid_out("refund")
    if isinstance(txn, Settlement):
        r = txn.result
        accounts[txn.person].remove_visit(
            cmd.id, txn.region, txn.year, r["eligible_in_scope"], r["deductible_applied"],
            r["fund_paid"], r["over_cap"],
        )
    for debit in txn.debits:
        accounts[debit["person"]].restore(cmd.id, cmd.date, debit["amount"], cmd.reason)
    result = Reversed(sum(d["amount"] for d in txn.debits))
    txn.reverse(cmd.date, cmd.reason, request, result.record())
    return result, [txn, *parties]
