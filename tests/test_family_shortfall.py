"""Own account first, then family (先个人后共济) for spends, and its reversal."""

from __future__ import annotations

import pytest

from ledger import Ledger
from ledger.commands import (
    BindFamilyMember,
    EnrollPerson,
    RecordContribution,
    Reverse,
    Spend,
)
from policies.errors import ErrorCode, LedgerError


@pytest.fixture
def family(ledger: Ledger) -> Ledger:
    """P (160.00) has bound C (20.00) as a child in chongqing."""
    for person, base in (("P", "8000.00"), ("C", "1000.00")):
        ledger.enroll(EnrollPerson(person=person, region="chongqing", birth_date="1980-01-01"))
        ledger.credit_contribution(RecordContribution(person=person, month="2024-01", base=base))
    ledger.bind_family_member(
        BindFamilyMember(owner="P", member="C", relation="child", date="2024-01-01"))
    return ledger


def spend(ledger: Ledger, amount: str, id: str = "S1", **extra: str):
    return ledger.spend(Spend(payer="C", purpose="pharmacy", amount=amount, id=id,
                              date="2024-02-01", shortfall_from="P", **extra))


def test_own_balance_first_then_the_family_member(family: Ledger) -> None:
    result = spend(family, "50.00")
    assert (result.own_paid, result.family_paid, result.family_payer) == (2000, 3000, "P")
    assert (family.account("C").balance, family.account("P").balance) == (0, 13000)


def test_own_balance_enough_takes_nothing_from_family(family: Ledger) -> None:
    result = spend(family, "15.00")
    assert (result.own_paid, result.family_paid, result.family_payer) == (1500, 0, None)
    assert family.account("P").balance == 16000


def test_reversal_puts_each_part_back(family: Ledger) -> None:
    spend(family, "50.00")
    assert family.reverse(Reverse(id="S1", date="2024-02-02")).restored == 5000
    assert (family.account("C").balance, family.account("P").balance) == (2000, 16000)


def test_all_or_nothing_across_both_accounts(family: Ledger) -> None:
    events = family.recorder.max_notification_id()
    with pytest.raises(LedgerError) as refused:
        spend(family, "180.01")
    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert family.recorder.max_notification_id() == events


def test_the_family_member_must_have_bound_the_payer(family: Ledger) -> None:
    family.enroll(EnrollPerson(person="X", region="chongqing", birth_date="1990-01-01"))
    with pytest.raises(LedgerError) as refused:
        family.spend(Spend(payer="X", purpose="pharmacy", amount="1.00", id="S9",
                           date="2024-02-01", shortfall_from="P"))
    assert refused.value.code is ErrorCode.NOT_BOUND
