"""Enrollment and the money that comes in: contributions, allotments, lump sums; retirement.

DOMAIN.md 4 and 9. Each decider: the policy, a repeat of the same credit (a retry, or
``duplicate_conflict`` with other content), the account's state, then the credit rule.
"""

from __future__ import annotations

from collections.abc import Callable
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
from ledger.deciders import Decision
from ledger.deciders.checks import same_request
from ledger.results import Credited, Done
from ledger.transaction import LumpSum, Transaction
from policies import credits
from policies.book import PolicyBook
from policies.calendar import Month
from policies.errors import ErrorCode, LedgerError


def enrollment_facts(book: PolicyBook, cmd: EnrollPerson) -> dict[str, Any]:
    """The ``Enrolled`` event's facts for ``cmd``, or ``invalid_input`` (region, scheme)."""
    if cmd.region not in book.versions:
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"region: unknown region {cmd.region!r}; one of {book.regions}",
            field="region",
        )
    current = book.versions[cmd.region][-1]
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


def decide_enroll(existing: Account | None, book: PolicyBook, cmd: EnrollPerson) -> Decision[Done]:
    """A new account; enrolling again with the same facts is a harmless retry."""
    facts = enrollment_facts(book, cmd)
    if existing is None:
        return Done(), [Account(**facts)]
    same_request(existing.enrolled_as, facts, f"person {cmd.person!r}")
    return Done(), []


def plan_contribution(
    account: Account, book: PolicyBook, cmd: RecordContribution
) -> tuple[Credited, dict[str, Any] | None]:
    """The checks and the credit rule of a contribution, in FORMAT.md's order, without
    changing the account: the result, and the ``ContributionCredited`` event's attributes
    to record (None: the month is credited already with the same base, a retry).

    The same month's contribution again is a retry (or, with another base,
    ``duplicate_conflict``); then the account's state; then the credit rule; then a month
    already credited by an *allotment* is ``duplicate_conflict`` (one credit per
    person-month). :func:`decide_contribution` and the batch job's direct path
    (:mod:`ledger.jobs.credit_month`) both decide with this function."""
    policy = book.in_force(account.region, cmd.month.last_day)
    month = str(cmd.month)
    prior = account.credited.get(month)
    if prior is not None and prior[0] == "contribution":
        _, base, amount, article = prior
        same_request({"base": base}, {"base": cmd.base}, f"{cmd.person}'s contribution for {month}")
        return Credited(amount, article), None
    account.require_creditable(cmd.month)
    credit = credits.contribution_credit(policy, account.facts, cmd.month, cmd.base)
    account.require_uncredited(month)
    return Credited(credit.amount, credit.article), {
        "month": month, "base": cmd.base, "amount": credit.amount, "article": credit.article}


def decide_contribution(
    account: Account, book: PolicyBook, cmd: RecordContribution
) -> Decision[Credited]:
    """Credit ``cmd.month`` unless it is credited already (:func:`plan_contribution`)."""
    return _carried_out(account, *plan_contribution(account, book, cmd),
                        account.credit_contribution)


def plan_allotment(
    account: Account, book: PolicyBook, cmd: CreditAllotment
) -> tuple[Credited, dict[str, Any] | None]:
    """The checks and the rule of an allotment, without changing the account: the result
    and the ``AllotmentCredited`` event's attributes (None: credited already).

    The order of :func:`plan_contribution`; a policy whose allotment lacks its deployment
    figure (nanchang's average pension) is ``policy_invalid`` first."""
    policy = book.in_force(account.region, cmd.month.last_day)
    credits.require_allotment_figures(policy)
    month = str(cmd.month)
    prior = account.credited.get(month)
    if prior is not None and prior[0] == "allotment":
        return Credited(prior[2], prior[3]), None
    account.require_creditable(cmd.month)
    credit = credits.retired_allotment(policy, account.facts, cmd.month)
    account.require_uncredited(month)
    return Credited(credit.amount, credit.article), {
        "month": month, "amount": credit.amount, "basis": credit.basis,
        "article": credit.article}


def decide_allotment(
    account: Account, book: PolicyBook, cmd: CreditAllotment
) -> Decision[Credited]:
    """Credit the allotment for ``cmd.month`` unless it is credited already
    (:func:`plan_allotment`)."""
    return _carried_out(account, *plan_allotment(account, book, cmd), account.credit_allotment)


def _carried_out(account: Account, result: Credited, credit: dict[str, Any] | None,
                 command: Callable[..., None]) -> Decision[Credited]:
    """A plan carried out by the account's own command method (None: nothing to do)."""
    if credit is None:
        return result, []
    command(**credit)
    return result, [account]


def decide_lump_sum(
    account: Account, existing: Transaction | None, book: PolicyBook, cmd: CreditLumpSum
) -> Decision[Credited]:
    """A one-off prepay/back-pay credit (nanchang art. 21), idempotent by its id."""
    credits.require_lump_sum_region(book.versions[account.region])
    policy = book.in_force(account.region, cmd.date)
    credits.require_lump_sum(policy)
    request = {"op": "lump_sum", **cmd.payload()}
    if existing is not None:
        same_request(existing.request, request, f"transaction {cmd.id!r}")
        return Credited(**existing.result), []
    account.require_creditable(Month.of(cmd.date))
    credit = credits.lump_sum_credit(policy, account.facts, cmd.base)
    account.credit_lump_sum(cmd.id, cmd.date, cmd.base, credit.amount, credit.article)
    txn = LumpSum(client_id=cmd.id, person=cmd.person, request=request,
                  result={"credited": credit.amount, "article": credit.article})
    return Credited(credit.amount, credit.article), [account, txn]


def decide_retirement(
    account: Account, book: PolicyBook, cmd: RecordRetirement
) -> Decision[Done]:
    """在职转退休; the same date again is a harmless retry, another date ``not_employed``."""
    book.check_region(account.region)
    policy = book.latest_on_or_before(account.region, cmd.date)
    if account.retired_on == cmd.date:
        return Done(), []
    account.retire(cmd.date, policy.pooling.category_article)
    return Done(), [account]
