"""The pure deciders and the account's own invariants, on in-memory aggregates.

No ledger, no store: each test builds ``Account`` objects with the enrollment decider,
runs a decider on them and looks at the result, the aggregates it hands back to save and
the events pending on them. A refusal must raise its code and leave every aggregate as it
was (no new pending event, the same balance). Figures are worked by hand from DOMAIN.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.account import DECEASED, EMIGRATED, SETTLED, Account
from ledger.commands import (
    BindFamilyMember, CloseYear, CreditAllotment, CreditLumpSum, EnrollPerson, Emigrate,
    ImportPerson,
    PayInheritance, RecordContribution, RecordDeath, RecordRetirement, Reverse, SettleVisit,
    Spend, Transfer, UnbindFamilyMember,
)
from ledger.core import replay
from ledger.deciders import crediting, family, leaving, settling, year_end
from ledger.transaction import LumpSum, Settlement, Spending
from ledger.year_end import year_history
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError

BOOK = PolicyBook.load({"nanchang": {"average_pension": "3100.00", "interest_rate": "0.015"}})
D = dt.date
SUIZHOU = BOOK.in_force("suizhou", D(2024, 3, 10))


# -- helpers --------------------------------------------------------------------------


def person(name: str, region: str = "suizhou", **facts: Any) -> Account:
    """A freshly enrolled account (its ``Enrolled`` event pending, nothing stored)."""
    result, touched = crediting.decide_enroll(None, BOOK, EnrollPerson(
        person=name, region=region, **{"birth_date": "1970-01-01", **facts}))
    [account] = touched
    return account


def funded(name: str, region: str = "suizhou", base: str = "5000.00", **facts: Any) -> Account:
    """An account credited January 2024's contribution: 2% of ``base``."""
    account = person(name, region, **facts)
    crediting.decide_contribution(account, BOOK, RecordContribution(
        person=name, month="2024-01", base=base))
    return account


def names(account: Account) -> list[str]:
    """The names of the events pending on ``account`` (Enrolled first)."""
    return [type(e).__name__ for e in account.pending_events]


def fields(aggregate: Any, last: int) -> list[tuple[str, dict[str, Any]]]:
    """The last ``last`` pending events: name and attributes (ids and timestamps left out)."""
    return [(type(e).__name__, {k: v for k, v in e.__dict__.items()
                                if k not in ("originator_id", "originator_version", "timestamp")})
            for e in aggregate.pending_events[-last:]]


def refused(code: ErrorCode, *aggregates: Any) -> Any:
    """``with refused(CODE, a, b): ...``: the block raises CODE and changes no aggregate."""
    return _Refused(code, aggregates)


class _Refused:
    def __init__(self, code: ErrorCode, aggregates: tuple[Any, ...]) -> None:
        self.code, self.aggregates = code, aggregates

    def __enter__(self) -> _Refused:
        self.before = [(a.version, len(a.pending_events), getattr(a, "balance", None))
                       for a in self.aggregates]
        self.raised = pytest.raises(LedgerError)
        self.info = self.raised.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool:
        suppressed = self.raised.__exit__(*exc)
        assert self.info.value.code == self.code, self.info.value
        after = [(a.version, len(a.pending_events), getattr(a, "balance", None))
                 for a in self.aggregates]
        assert after == self.before, "a refused decision changed an aggregate"
        self.message = self.info.value.message
        return suppressed


def visit(**fields: Any) -> SettleVisit:
    return SettleVisit(**{"person": "A", "id": "v1", "date": "2024-03-10", "level": 1,
                          "in_scope": "1000.00", **fields})


# -- credits --------------------------------------------------------------------------


def test_a_contribution_credits_two_percent_once_and_a_retry_writes_nothing() -> None:
    account = person("A")
    cmd = RecordContribution(person="A", month="2024-01", base="5000.00")
    credited, touched = crediting.decide_contribution(account, BOOK, cmd)
    assert (credited.credited, account.balance) == (10000, 10000)  # 5000.00 × 2%
    assert touched == [account] and names(account) == ["Enrolled", "ContributionCredited"]
    assert fields(account, 1)[0][1] == {"month": "2024-01", "base": 500000, "amount": 10000,
                                        "article": SUIZHOU.credits.employed_article}
    again, touched = crediting.decide_contribution(account, BOOK, cmd)
    assert (again, touched, account.balance) == (credited, [], 10000)
    with refused(ErrorCode.DUPLICATE_CONFLICT, account):
        crediting.decide_contribution(account, BOOK, RecordContribution(
            person="A", month="2024-01", base="6000.00"))


def test_a_retired_month_gets_its_allotment_once() -> None:
    account = person("R", retired_on="2020-06-30")
    cmd = CreditAllotment(person="R", month="2024-01")
    credited, touched = crediting.decide_allotment(account, BOOK, cmd)
    assert (credited.credited, touched, account.balance) == (7000, [account], 7000)  # 70.00
    assert fields(account, 1) == [("AllotmentCredited", {
        "month": "2024-01", "amount": 7000, "basis": "fixed", "article": credited.article})]
    assert credited.article == SUIZHOU.credits.retired.article
    assert crediting.decide_allotment(account, BOOK, cmd) == (credited, [])
    with refused(ErrorCode.NOT_RETIRED, employed := person("A")):
        crediting.decide_allotment(employed, BOOK, CreditAllotment(person="A", month="2024-01"))
    unset = PolicyBook.load({})  # nanchang's allotment needs the deployment's average pension
    retired = person("N", "nanchang", retired_on="2020-06-30")
    with refused(ErrorCode.POLICY_INVALID, retired):
        crediting.decide_allotment(retired, unset, CreditAllotment(person="N", month="2024-01"))


def test_an_allotment_for_a_month_a_contribution_credited_is_a_duplicate() -> None:
    account = funded("A")
    crediting.decide_retirement(account, BOOK, RecordRetirement(person="A", date="2023-11-20"))
    with refused(ErrorCode.DUPLICATE_CONFLICT, account) as refusal:
        crediting.decide_allotment(account, BOOK, CreditAllotment(person="A", month="2024-01"))
    assert refusal.message == ("A's 2024-01 is already credited by a contribution; "
                               "one credit per person and month")


def test_a_contribution_for_a_retired_month_is_not_employed() -> None:
    account = person("A", retired_on="2023-06-30")
    with refused(ErrorCode.NOT_EMPLOYED, account):
        crediting.decide_contribution(account, BOOK, RecordContribution(
            person="A", month="2024-01", base="5000.00"))


def test_no_credit_for_a_month_after_the_month_of_death() -> None:
    account = person("A")
    leaving.decide_death(account, BOOK, RecordDeath(person="A", date="2024-03-10"))
    crediting.decide_contribution(account, BOOK, RecordContribution(
        person="A", month="2024-03", base="5000.00"))  # up to the month of death
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        crediting.decide_contribution(account, BOOK, RecordContribution(
            person="A", month="2024-04", base="5000.00"))


def test_pooling_only_has_no_personal_account_to_credit() -> None:
    account = person("A", scheme="pooling_only")
    with refused(ErrorCode.NO_PERSONAL_ACCOUNT, account):
        crediting.decide_contribution(account, BOOK, RecordContribution(
            person="A", month="2024-01", base="5000.00"))


def test_a_lump_sum_is_nanchang_only_and_idempotent_by_its_id() -> None:
    with refused(ErrorCode.INVALID_INPUT, (account := person("A"))):
        crediting.decide_lump_sum(account, None, BOOK, CreditLumpSum(
            person="A", id="L1", date="2024-02-01", base="10000.00"))
    account = person("N", "nanchang")
    cmd = CreditLumpSum(person="N", id="L1", date="2024-02-01", base="10000.00")
    credited, [_, txn] = crediting.decide_lump_sum(account, None, BOOK, cmd)
    assert (credited.credited, account.balance) == (20000, 20000)  # 10000.00 × 2%
    assert isinstance(txn, LumpSum) and txn.result == {"credited": 20000,
                                                       "article": credited.article}
    assert (txn.client_id, txn.person, txn.request) == (
        "L1", "N", {"op": "lump_sum", **cmd.payload()})
    assert fields(account, 1) == [("LumpSumCredited", {
        "transaction_id": "L1", "date": D(2024, 2, 1), "base": 1000000, "amount": 20000,
        "article": credited.article})]
    assert crediting.decide_lump_sum(account, txn, BOOK, cmd) == (credited, [])
    with refused(ErrorCode.DUPLICATE_CONFLICT, account, txn):
        crediting.decide_lump_sum(account, txn, BOOK, CreditLumpSum(
            person="N", id="L1", date="2024-02-01", base="9000.00"))


def test_retiring_again_with_the_same_date_is_a_retry_another_date_not_employed() -> None:
    account = person("A")
    cmd = RecordRetirement(person="A", date="2024-05-31")
    assert crediting.decide_retirement(account, BOOK, cmd)[1] == [account]
    assert crediting.decide_retirement(account, BOOK, cmd)[1] == []
    with refused(ErrorCode.NOT_EMPLOYED, account):
        crediting.decide_retirement(account, BOOK, RecordRetirement(person="A", date="2024-06-30"))


def test_enrollment_records_the_facts_with_the_regions_default_scheme() -> None:
    facts = crediting.enrollment_facts(BOOK, EnrollPerson(
        person="Q", region="chongqing", birth_date="1960-02-03", scheme="lump_sum",
        lump_sum_until="2025-06", standard_years=10, total_years=20))
    assert facts == {"person": "Q", "region": "chongqing", "birth_date": D(1960, 2, 3),
                     "scheme": "lump_sum", "has_account": True, "retired_on": None,
                     "standard_years": 10, "total_years": 20, "lump_sum_until": "2025-06"}
    assert crediting.enrollment_facts(BOOK, ImportPerson(
        person="S", region="nanchang", birth_date="1970-01-01", resettled=True))["resettled"]
    account = person("P", scheme="pooling_only", retired_on="2021-05-31")
    assert (account.scheme, account.has_account, account.retired_on) == (
        "pooling_only", False, D(2021, 5, 31))
    assert person("E", "chongqing").scheme == "employer"
    with pytest.raises(LedgerError) as error:
        crediting.enrollment_facts(BOOK, EnrollPerson(
            person="X", region="suizhou", birth_date="1970-01-01", scheme="employer"))
    assert (error.value.code, error.value.field) == (ErrorCode.INVALID_INPUT, "scheme")


def test_enrolling_again_with_other_facts_is_a_duplicate() -> None:
    account = person("A")
    assert crediting.decide_enroll(account, BOOK, EnrollPerson(
        person="A", region="suizhou", birth_date="1970-01-01"))[1] == []
    with refused(ErrorCode.DUPLICATE_CONFLICT, account):
        crediting.decide_enroll(account, BOOK, EnrollPerson(
            person="A", region="suizhou", birth_date="1971-01-01"))
    with pytest.raises(LedgerError) as error:
        crediting.decide_enroll(None, BOOK, EnrollPerson(
            person="B", region="atlantis", birth_date="1970-01-01"))
    assert error.value.code == ErrorCode.INVALID_INPUT


# -- visits ---------------------------------------------------------------------------


def test_a_visit_is_priced_and_its_self_pay_taken_from_the_own_account() -> None:
    account = funded("A")  # 100.00
    cmd = visit(out_of_scope="50.00", institution="H1")
    result, [who, payer, txn] = settling.decide_visit(account, None, None, BOOK, cmd)
    # suizhou employed, level 1: deductible 500.00 of the 1000.00 in scope; fund 80% of the
    # 500.00 left = 400.00 (cap 1300.00); self-pay 1050.00 − 400.00 = 650.00, of which the
    # account pays its 100.00 and 550.00 is cash
    assert result.record() == {
        "medical_total": 105000, "out_of_scope": 5000, "in_scope": 100000,
        "eligible_in_scope": 100000, "deductible_applied": 50000, "fund_paid": 40000,
        "over_cap": 0, "self_pay": 65000, "own_paid": 10000, "family_paid": 0,
        "cash_paid": 55000, "pooling_reason": None, "region": "suizhou", "year": 2024,
        "level": 1, "category": "employed", "rate": "0.8", "cap": 130000,
        "cap_left_after": 90000, "own_balance_after": 0, "family_payer": None,
        "articles": {"deductible": "suizhou art. 8", "rate": "suizhou art. 8",
                     "cap": "suizhou art. 8, art. 9", "category": "suizhou art. 12"},
    }
    assert who is account and payer is None and account.balance == 0
    assert fields(account, 2) == [
        ("VisitPooled", {"transaction_id": "v1", "region": "suizhou", "year": 2024,
                         "eligible_in_scope": 100000, "deductible_applied": 50000,
                         "fund_paid": 40000, "over_cap": 0}),
        ("Debited", {"transaction_id": "v1", "date": D(2024, 3, 10), "amount": 10000,
                     "kind": "visit", "beneficiary": "A", "purpose": "medical",
                     "article": SUIZHOU.pooling.rates_article}),
    ]
    assert isinstance(txn, Settlement)
    assert (txn.client_id, txn.person, txn.region, txn.year, txn.institution) == (
        "v1", "A", "suizhou", 2024, "H1")
    assert txn.request == {"op": "visit", **cmd.payload()} and "institution" not in txn.request
    assert txn.result == result.record()
    assert txn.debits == [{"person": "A", "amount": 10000, "role": "own"}]
    assert txn.split == {"fund_raw": 40000, "payable": 50000, "cap_left_before": 130000}


def test_a_later_visit_starts_from_the_year_so_far_at_the_prescribing_level() -> None:
    account = person("A")
    settling.decide_visit(account, None, None, BOOK, visit(in_scope="300.00"))
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(
        id="v2", in_scope="1000.00", prescribed_level=3))
    # 300.00 of the 500.00 deductible used: 200.00 left; level 3 employed: 60% of 800.00
    assert (result.deductible_applied, result.fund_paid, result.level) == (20000, 48000, 3)
    assert account.usage("suizhou", 2024)["in_scope"] == 130000
    assert (result.own_paid, result.cash_paid) == (0, result.self_pay)  # no account money


def test_a_retired_persons_visit_uses_the_retired_deductible_and_rate() -> None:
    account = person("R", retired_on="2020-06-30")
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(person="R"))
    # suizhou retired: deductible 400.00, level 1 at 85% of the 600.00 left = 510.00
    assert (result.category, result.deductible_applied, result.fund_paid) == (
        "retired", 40000, 51000)


def test_an_ineligible_visit_pays_no_fund_and_the_account_still_pays() -> None:
    account = funded("A")
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(
        flags=["not_designated"]))
    assert (result.pooling_reason, result.eligible_in_scope, result.deductible_applied,
            result.fund_paid) == ("not_designated", 0, 0, 0)
    assert (result.own_paid, result.cash_paid) == (10000, 90000)


def test_a_visit_asking_no_account_payment_is_all_cash() -> None:
    account = funded("A")
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(pay="none"))
    assert (result.own_paid, result.cash_paid, account.balance) == (0, 60000, 10000)
    assert names(account)[-1] == "VisitPooled"


def test_a_visit_retry_gets_the_first_result_and_other_content_is_a_duplicate() -> None:
    account = funded("A")
    result, [_, _, txn] = settling.decide_visit(account, None, None, BOOK, visit())
    assert settling.decide_visit(account, None, txn, BOOK, visit()) == (result, [])
    with refused(ErrorCode.DUPLICATE_CONFLICT, account, txn):
        settling.decide_visit(account, None, txn, BOOK, visit(in_scope="999.00"))


def test_a_preview_prices_the_visit_and_triggers_nothing() -> None:
    account = funded("A")
    preview = settling.preview_visit(account, None, BOOK, visit())
    assert (preview.fund_paid, preview.own_paid, account.balance) == (40000, 10000, 10000)
    assert names(account) == ["Enrolled", "ContributionCredited"]


def test_a_visit_after_the_death_is_refused() -> None:
    account = funded("A")
    leaving.decide_death(account, BOOK, RecordDeath(person="A", date="2024-03-10"))
    with refused(ErrorCode.ACCOUNT_CLOSED, account) as refusal:
        settling.decide_visit(account, None, None, BOOK, visit(date="2024-03-11"))
    assert refusal.message == "A died on 2024-03-10; no visit on 2024-03-11"
    result, _ = settling.decide_visit(account, None, None, BOOK, visit())  # the day itself
    assert (result.fund_paid, result.own_paid) == (40000, 0)  # a deceased account pays nothing


def test_a_family_payer_pays_only_for_a_bound_member() -> None:
    member, payer = person("A"), funded("B", base="10000.00")  # B has 200.00
    cmd = visit(pay={"family": "B"})
    with refused(ErrorCode.NOT_BOUND, member, payer):
        settling.decide_visit(member, payer, None, BOOK, cmd)
    family.decide_binding(payer, member, BOOK, BindFamilyMember(
        owner="B", member="A", relation="spouse", date="2024-01-01"))
    result, [_, who_paid, txn] = settling.decide_visit(member, payer, None, BOOK, cmd)
    assert (result.own_paid, result.family_paid, result.cash_paid) == (0, 20000, 40000)
    assert (member.balance, payer.balance, result.family_payer) == (0, 0, "B")
    assert who_paid is payer and txn.debits == [{"person": "B", "amount": 20000, "role": "family"}]
    assert fields(payer, 1) == [("Debited", {
        "transaction_id": "v1", "date": D(2024, 3, 10), "amount": 20000, "kind": "visit",
        "beneficiary": "A", "purpose": "medical", "article": SUIZHOU.family.article})]


def test_own_first_takes_the_persons_balance_then_the_family_payers() -> None:
    member, payer = funded("A"), funded("B", base="50000.00")  # 100.00 and 1000.00
    family.decide_binding(payer, member, BOOK, BindFamilyMember(
        owner="B", member="A", relation="spouse", date="2024-01-01"))
    result, [_, _, txn] = settling.decide_visit(member, payer, None, BOOK, visit(
        pay={"family": "B", "own_first": True}))
    # self-pay 600.00: the person's 100.00 first, the other 500.00 from B, no cash
    assert (result.own_paid, result.family_paid, result.cash_paid) == (10000, 50000, 0)
    assert txn.debits == [{"person": "A", "amount": 10000, "role": "own"},
                          {"person": "B", "amount": 50000, "role": "family"}]
    restored, touched = settling.decide_reversal(txn, {"A": member, "B": payer},
                                                 Reverse(id="v1", date="2024-03-11"))
    assert settling.reversal_parties(txn) == ["A", "B"] and touched == [txn, member, payer]
    assert (restored.restored, member.balance, payer.balance) == (60000, 10000, 100000)


def test_a_person_without_an_account_pays_cash() -> None:
    account = person("P", scheme="pooling_only")
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(person="P"))
    assert (result.own_paid, result.cash_paid, result.own_balance_after) == (0, 60000, None)


# -- spends ---------------------------------------------------------------------------


def spend(**fields: Any) -> Spend:
    return Spend(**{"payer": "A", "purpose": "pharmacy", "amount": "60.00", "id": "s1",
                    "date": "2024-03-10", **fields})


def test_a_spend_is_all_or_nothing_no_overdraft() -> None:
    account = funded("A")  # 100.00
    with refused(ErrorCode.INSUFFICIENT_BALANCE, account) as refusal:
        settling.decide_spend(account, None, None, None, BOOK, spend(amount="100.01"))
    assert refusal.message == ("A's balance is 100.00, less than the 100.01 asked; "
                               "a spend is all or nothing")
    cmd = spend(institution="P1")
    result, [payer, backer, txn] = settling.decide_spend(account, None, None, None, BOOK, cmd)
    assert result.record() == {"paid": 6000, "own_paid": 6000, "family_paid": 0,
                               "family_payer": None}
    assert payer is account and backer is None and account.balance == 4000
    assert fields(account, 1) == [("Debited", {
        "transaction_id": "s1", "date": D(2024, 3, 10), "amount": 6000, "kind": "spend",
        "beneficiary": "A", "purpose": "pharmacy",
        "article": SUIZHOU.family.purposes["pharmacy"].article})]
    assert isinstance(txn, Spending)
    assert (txn.client_id, txn.person, txn.purpose, txn.beneficiary, txn.institution) == (
        "s1", "A", "pharmacy", "A", "P1")
    assert txn.request == {"op": "spend", **cmd.payload(), "beneficiary": "A"}
    assert (txn.result, txn.debits) == (result.record(), [
        {"person": "A", "amount": 6000, "role": "own"}])
    assert settling.decide_spend(account, None, None, txn, BOOK, cmd) == (result, [])
    with refused(ErrorCode.DUPLICATE_CONFLICT, account, txn):
        settling.decide_spend(account, None, None, txn, BOOK, spend(amount="60.01"))


def test_a_purpose_the_policy_never_pays_is_refused() -> None:
    account = funded("A")
    with refused(ErrorCode.PURPOSE_NOT_ALLOWED, account):
        settling.decide_spend(account, None, None, None, BOOK, spend(purpose="fitness"))


def test_a_spend_for_a_member_needs_the_binding() -> None:
    payer, member = funded("A"), person("B")
    with refused(ErrorCode.NOT_BOUND, payer, member):
        settling.decide_spend(payer, member, None, None, BOOK, spend(beneficiary="B"))
    family.decide_binding(payer, member, BOOK, BindFamilyMember(
        owner="A", member="B", relation="child", date="2024-01-01"))
    result, [_, _, txn] = settling.decide_spend(payer, member, None, None, BOOK,
                                                spend(beneficiary="B"))
    assert (result.own_paid, result.family_paid, result.family_payer) == (0, 6000, "A")
    assert (txn.person, txn.debits) == ("B", [{"person": "A", "amount": 6000, "role": "family"}])
    assert fields(payer, 1)[0][1]["beneficiary"] == "B" and member.balance == 0


def test_a_shortfall_comes_from_the_backer_only_when_all_of_it_can_be_paid() -> None:
    payer, backer = funded("A"), funded("B")  # 100.00 each
    family.decide_binding(backer, payer, BOOK, BindFamilyMember(
        owner="B", member="A", relation="child", date="2024-01-01"))
    with refused(ErrorCode.INSUFFICIENT_BALANCE, payer, backer):
        settling.decide_spend(payer, None, backer, None, BOOK,
                              spend(amount="200.01", shortfall_from="B"))
    result, [who, backs, txn] = settling.decide_spend(payer, None, backer, None, BOOK,
                                                      spend(amount="150.00", shortfall_from="B"))
    assert (result.own_paid, result.family_paid, result.family_payer) == (10000, 5000, "B")
    assert (payer.balance, backer.balance, who, backs) == (0, 5000, payer, backer)
    assert txn.debits == [{"person": "A", "amount": 10000, "role": "own"},
                          {"person": "B", "amount": 5000, "role": "family"}]
    assert fields(backer, 1)[0][1]["article"] == SUIZHOU.family.purposes["pharmacy"].article


# -- reversal -------------------------------------------------------------------------


def test_a_reversal_puts_back_what_the_visit_took_once() -> None:
    account = funded("A")
    _, [_, _, txn] = settling.decide_visit(account, None, None, BOOK, visit())
    cmd = Reverse(id="v1", date="2024-03-11")
    assert settling.reversal_parties(txn) == ["A"]
    restored, touched = settling.decide_reversal(txn, {"A": account}, cmd)
    assert (restored.restored, account.balance, touched) == (10000, 10000, [txn, account])
    assert account.usage("suizhou", 2024)["fund_paid"] == 0
    assert fields(account, 2) == [
        ("VisitUnpooled", {"transaction_id": "v1", "region": "suizhou", "year": 2024,
                           "eligible_in_scope": 100000, "deductible_applied": 50000,
                           "fund_paid": 40000, "over_cap": 0}),
        ("DebitRestored", {"transaction_id": "v1", "date": D(2024, 3, 11), "amount": 10000,
                           "reason": "refund"}),
    ]
    assert txn.reversal == {"request": {"op": "reverse", **cmd.payload()},
                            "result": {"restored": 10000}}
    assert settling.decide_reversal(txn, {"A": account}, cmd) == (restored, [])
    with refused(ErrorCode.ALREADY_REVERSED, txn, account):
        settling.decide_reversal(txn, {"A": account}, Reverse(id="v1", date="2024-03-12"))


def test_only_a_known_visit_or_spend_can_be_reversed() -> None:
    with pytest.raises(LedgerError) as error:
        settling.decide_reversal(None, {}, Reverse(id="nope", date="2024-03-11"))
    assert error.value.code == ErrorCode.UNKNOWN_TRANSACTION
    account = person("N", "nanchang")
    _, [_, lump] = crediting.decide_lump_sum(account, None, BOOK, CreditLumpSum(
        person="N", id="L1", date="2024-02-01", base="10000.00"))
    with refused(ErrorCode.UNKNOWN_TRANSACTION, lump, account):
        settling.decide_reversal(lump, {"N": account}, Reverse(id="L1", date="2024-03-11"))


def test_no_refund_into_an_account_paid_out() -> None:
    account = funded("A")
    _, [_, _, txn] = settling.decide_spend(account, None, None, None, BOOK, spend())
    leaving.decide_emigration(account, BOOK, Emigrate(person="A", date="2024-04-01"))
    with refused(ErrorCode.ACCOUNT_CLOSED, txn, account):
        settling.decide_reversal(txn, {"A": account}, Reverse(id="s1", date="2024-04-02"))


# -- family ---------------------------------------------------------------------------


def test_binding_checks_the_owner_and_the_relation_and_rebinding_is_a_retry() -> None:
    with refused(ErrorCode.NO_PERSONAL_ACCOUNT, owner := person("A", scheme="pooling_only")):
        family.decide_binding(owner, person("B"), BOOK, BindFamilyMember(
            owner="A", member="B", relation="spouse", date="2024-01-01"))
    owner, member = person("A"), person("B")
    with refused(ErrorCode.RELATION_NOT_ALLOWED, owner):  # suizhou: spouse, parent, child
        family.decide_binding(owner, member, BOOK, BindFamilyMember(
            owner="A", member="B", relation="sibling", date="2024-01-01"))
    cmd = BindFamilyMember(owner="A", member="B", relation="spouse", date="2024-01-01")
    assert family.decide_binding(owner, member, BOOK, cmd)[1] == [owner]
    assert family.decide_binding(owner, member, BOOK, cmd)[1] == []
    assert owner.binding_on("B", D(2024, 2, 1)) == "spouse"


def test_an_unbind_needs_a_binding_active_on_its_date() -> None:
    owner, member = person("A"), person("B")
    with refused(ErrorCode.NOT_BOUND, owner):
        family.decide_unbinding(owner, member, BOOK, UnbindFamilyMember(
            owner="A", member="B", date="2024-02-01"))
    family.decide_binding(owner, member, BOOK, BindFamilyMember(
        owner="A", member="B", relation="spouse", date="2024-03-01"))
    with refused(ErrorCode.NOT_BOUND, owner) as refusal:
        family.decide_unbinding(owner, member, BOOK, UnbindFamilyMember(
            owner="A", member="B", date="2024-02-01"))
    assert refusal.message == "B is not bound to A's account on 2024-02-01 (bound from 2024-03-01)"
    family.decide_unbinding(owner, member, BOOK, UnbindFamilyMember(
        owner="A", member="B", date="2024-04-01"))
    assert owner.binding_on("B", D(2024, 4, 1)) is None


# -- leaving --------------------------------------------------------------------------


def test_a_transfer_moves_the_whole_balance_and_the_region() -> None:
    account = funded("A")
    with refused(ErrorCode.INVALID_INPUT, account):
        leaving.decide_transfer(account, BOOK, Transfer(
            person="A", to_region="suizhou", date="2024-06-01"))
    with refused(ErrorCode.NO_POLICY_IN_FORCE, account):  # yunnan's starts 2024-11-01
        leaving.decide_transfer(account, BOOK, Transfer(
            person="A", to_region="yunnan", date="2024-06-01"))
    moved, _ = leaving.decide_transfer(account, BOOK, Transfer(
        person="A", to_region="chongqing", date="2024-06-01"))
    assert (moved.amount, account.balance, account.region) == (10000, 10000, "chongqing")
    chongqing = BOOK.in_force("chongqing", D(2024, 6, 1))
    assert fields(account, 2) == [
        ("TransferredOut", {"to_region": "chongqing", "date": D(2024, 6, 1), "amount": 10000,
                            "article": SUIZHOU.articles["transfer"]}),
        ("TransferredIn", {"from_region": "suizhou", "region": "chongqing",
                           "scheme": "standard", "date": D(2024, 6, 1), "amount": 10000,
                           "article": chongqing.articles["transfer"]}),
    ]
    with refused(ErrorCode.INVALID_INPUT, account):
        leaving.decide_transfer(account, BOOK, Transfer(
            person="A", to_region="atlantis", date="2024-07-01"))


def test_a_transfer_keeps_the_footing_with_or_without_an_account() -> None:
    chongqing = BOOK.in_force("chongqing", D(2024, 6, 1))
    assert leaving.equivalent_scheme(chongqing, SUIZHOU, "individual_tier1") == "pooling_only"
    assert leaving.equivalent_scheme(chongqing, SUIZHOU, "employer") == "standard"
    assert leaving.equivalent_scheme(SUIZHOU, chongqing, "pooling_only") == "pooling_only"
    account = person("T", "chongqing", scheme="individual_tier1")
    leaving.decide_transfer(account, BOOK, Transfer(person="T", to_region="suizhou",
                                                    date="2024-06-01"))
    assert (account.region, account.scheme, account.balance) == ("suizhou", "pooling_only", 0)


def test_emigration_pays_the_balance_out_once() -> None:
    account = funded("A")
    paid, _ = leaving.decide_emigration(account, BOOK, Emigrate(person="A", date="2024-04-01"))
    assert (paid.paid_out, account.balance, account.status) == (10000, 0, EMIGRATED)
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        leaving.decide_emigration(account, BOOK, Emigrate(person="A", date="2024-04-02"))


def test_an_inheritance_needs_the_death_and_is_paid_once_to_the_fen() -> None:
    account = funded("A")
    heirs = [{"name": "X", "share": "1/3"}, {"name": "Y", "share": "2/3"}]
    cmd = PayInheritance(person="A", date="2024-05-01", heirs=heirs)
    with refused(ErrorCode.NOT_DEAD, account):
        leaving.decide_inheritance(account, BOOK, cmd)
    leaving.decide_death(account, BOOK, RecordDeath(person="A", date="2024-04-01"))
    assert leaving.decide_death(account, BOOK, RecordDeath(person="A", date="2024-04-01"))[1] == []
    paid, _ = leaving.decide_inheritance(account, BOOK, cmd)
    # 100.00: X floor(33.333…) = 33.33, Y floor(66.666…) = 66.66, the last fen to Y
    assert paid.payouts == {"X": 3333, "Y": 6667}
    assert (account.balance, account.status) == (0, SETTLED)
    assert leaving.decide_inheritance(account, BOOK, cmd) == (paid, [])
    with refused(ErrorCode.DUPLICATE_CONFLICT, account):
        leaving.decide_inheritance(account, BOOK, PayInheritance(
            person="A", date="2024-05-01", heirs=[{"name": "X", "share": "1"}]))


# -- year end -------------------------------------------------------------------------


def test_the_year_end_closes_the_pooling_year_once_forfeiting_the_unused_cap() -> None:
    account = funded("A")
    settling.decide_visit(account, None, None, BOOK, visit())
    cmd = CloseYear(year=2024)
    assert year_end.wants_history(account, BOOK, cmd)
    history = year_history(list(account.pending_events), 2024)
    closed, touched = year_end.decide_year_close(account, BOOK, cmd, history)
    assert (closed, touched) == ((1, 0), [account])  # suizhou sets no interest rate
    usage = account.usage("suizhou", 2024)
    assert (usage["closed"], usage["cap"], usage["forfeited"]) == (True, 130000, 90000)
    assert fields(account, 1) == [("YearClosed", {
        "year": 2024, "balance": 0, "carried_over": True,
        "pooling": [{"region": "suizhou", "category": "employed", "cap": 130000,
                     "fund_paid": 40000, "forfeited": 90000,
                     "article": SUIZHOU.articles["year_end"]}]})]
    assert not year_end.wants_history(account, BOOK, cmd)
    assert year_end.decide_year_close(account, BOOK, cmd) == (None, [])


def test_interest_for_the_days_open_in_the_region_that_sets_a_rate() -> None:
    account = funded("N", "nanchang", base="10000.00")  # 200.00 from 2024-01-01
    leaving.decide_death(account, BOOK, RecordDeath(person="N", date="2024-03-31"))
    history = year_history(list(account.pending_events), 2024)
    assert history is not None and history.spans == {"nanchang": [(D(2024, 1, 1), D(2024, 3, 31))]}
    closed, _ = year_end.decide_year_close(account, BOOK, CloseYear(year=2024), history)
    # 01-01..03-31 is 91 days: 20000 × 91 × 0.015 / 360 = 75.83 → 76
    assert closed == (0, 76) and account.balance == 20076 and account.status == DECEASED
    nanchang = BOOK.in_force("nanchang", D(2024, 3, 31))
    assert fields(account, 2)[0] == ("InterestCredited", {
        "year": 2024, "amount": 76, "rate": "0.015", "article": nanchang.interest.article})
    assert fields(account, 1)[0][1]["balance"] == 20076


def test_the_cap_limits_the_fund_and_a_late_visit_is_closed_by_the_next_run() -> None:
    account = person("A")
    settling.decide_visit(account, None, None, BOOK, visit(in_scope="2000.00"))
    result, _ = settling.decide_visit(account, None, None, BOOK, visit(
        id="v2", in_scope="500.00"))
    # the first visit: 80% of 1500.00 = 1200.00 of the 1300.00 cap; the second's 400.00
    # gets the 100.00 left, 300.00 over the cap
    assert (result.fund_paid, result.over_cap, result.cap_left_after) == (10000, 30000, 0)
    cmd = CloseYear(year=2024)
    history = year_history(list(account.pending_events), 2024)
    assert year_end.decide_year_close(account, BOOK, cmd, history)[0] == (1, 0)
    assert account.usage("suizhou", 2024)["forfeited"] == 0
    late = funded("L")  # no visit in 2024 when the year is closed: carried over only
    history = year_history(list(late.pending_events), 2024)
    assert year_end.decide_year_close(late, BOOK, cmd, history)[0] == (0, 0)
    settling.decide_visit(late, None, None, BOOK, visit(person="L", date="2024-12-30"))
    closed, _ = year_end.decide_year_close(late, BOOK, cmd)  # no history: no carry again
    assert closed == (1, 0) and fields(late, 1)[0][1]["carried_over"] is False


def test_a_regions_year_end_leaves_other_regions_alone() -> None:
    account = funded("A")
    settling.decide_visit(account, None, None, BOOK, visit())
    other = CloseYear(year=2024, region="nanchang")
    assert not year_end.wants_history(account, BOOK, other)
    assert year_end.decide_year_close(account, BOOK, other) == (None, [])
    assert year_end.decide_year_close(account, BOOK, CloseYear(year=2023), year_history(
        list(account.pending_events), 2023)) == ((0, 0), [account])  # carried, no pooling


# -- the account's own invariants -----------------------------------------------------


def test_the_account_refuses_an_overdraft_itself() -> None:
    account = funded("A")
    with refused(ErrorCode.INSUFFICIENT_BALANCE, account):
        account.debit("t", D(2024, 3, 1), 10001, "spend", "A", "pharmacy", "art")
    account.debit("t", D(2024, 3, 1), 10000, "spend", "A", "pharmacy", "art")
    assert account.balance == 0


def test_the_account_credits_a_month_once_and_nothing_once_paid_out() -> None:
    account = funded("A")
    with refused(ErrorCode.DUPLICATE_CONFLICT, account):
        account.credit_allotment("2024-01", 7000, "70.00", "art")
    account.pay_emigration(D(2024, 4, 1), "art")
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        account.credit_contribution("2024-02", 500000, 10000, "art")
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        account.restore("t", D(2024, 4, 2), 100, "refund")


def test_the_account_pays_out_once_and_only_after_a_death() -> None:
    account = funded("A")
    with refused(ErrorCode.NOT_DEAD, account):
        account.pay_inheritance(D(2024, 5, 1), {}, {"X": 10000}, "art")
    account.die(D(2024, 4, 1), "art")
    with pytest.raises(ValueError):  # the payouts must add up to the whole balance
        account.pay_inheritance(D(2024, 5, 1), {}, {"X": 9999}, "art")
    account.pay_inheritance(D(2024, 5, 1), {}, {"X": 10000}, "art")
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        account.pay_inheritance(D(2024, 5, 2), {}, {"X": 0}, "art")
    with refused(ErrorCode.ACCOUNT_CLOSED, account):
        account.die(D(2024, 5, 3), "art")


def test_a_transaction_is_reversed_once() -> None:
    account = funded("A")
    _, [_, _, txn] = settling.decide_spend(account, None, None, None, BOOK, spend())
    txn.reverse(D(2024, 3, 11), "refund", {"date": "2024-03-11"}, {"restored": 6000})
    with refused(ErrorCode.ALREADY_REVERSED, txn) as refusal:
        txn.reverse(D(2024, 3, 12), "refund", {"date": "2024-03-12"}, {"restored": 6000})
    assert refusal.message == "transaction 's1' was already reversed on 2024-03-11"


def test_replaying_the_events_rebuilds_the_account_without_checking_again() -> None:
    account = funded("A")
    settling.decide_visit(account, None, None, BOOK, visit())
    leaving.decide_death(account, BOOK, RecordDeath(person="A", date="2024-04-01"))
    leaving.decide_inheritance(account, BOOK, PayInheritance(
        person="A", date="2024-05-01", heirs=[{"name": "X", "share": "1"}]))
    # the account is settled now: its own checks would refuse every one of these events
    rebuilt = replay(None, list(account.pending_events))
    assert rebuilt.__dict__ == {**account.__dict__, "_pending_events": []}
    assert (rebuilt.status, rebuilt.balance) == (SETTLED, 0)
