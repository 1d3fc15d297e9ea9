"""The ledger's rules through the application service (DOMAIN.md 3–9, FORMAT.md).

The tests that guard money against the store itself (idempotency, reversal, transfer,
inheritance, refusals writing nothing) use ``ledger`` and run on SQLite and PostgreSQL;
the rest use the SQLite ``memory_ledger``. Expected figures are computed by hand in the
comments from DOMAIN.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.steps import OPS
from ledger import Ledger, open_ledger
from ledger.commands import EnrollPerson, parse
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen, parse_fen
from conftest import JILIN

# -- helpers --------------------------------------------------------------------------------


def enroll(ledger: Ledger, name: str, region: str = "suizhou", **facts: Any) -> None:
    ledger.execute(EnrollPerson(person=name, region=region,
                                **{"birth_date": "1970-01-01", **facts}))


def call(ledger: Ledger, op: str, **fields: Any) -> Any:
    """Run a FORMAT.md step through the service; the ledger's own result object."""
    return ledger.execute(parse(OPS[op].command, fields, op))


def step(ledger: Ledger, op: str, **fields: Any) -> dict[str, Any]:
    """Run a step; its result fields as FORMAT.md writes them."""
    command = parse(OPS[op].command, fields, op)
    return OPS[op].result(command, ledger.execute(command))


def refuse(ledger: Ledger, op: str, **fields: Any) -> ErrorCode:
    """Run a step that must be refused; check that it wrote nothing; return the code."""
    before = ledger.recorder.max_notification_id()
    with pytest.raises(LedgerError) as refused:
        call(ledger, op, **fields)
    assert ledger.recorder.max_notification_id() == before, f"refused {op} wrote events"
    return refused.value.code


def balance(ledger: Ledger, name: str) -> int:
    return ledger.account_view(name).balance


def pooling(ledger: Ledger, name: str) -> dict[str, tuple[int, int, int, int]]:
    """Each region/year of a person: (in_scope, deductible_applied, fund_paid, over_cap)."""
    return {key: (p.in_scope, p.deductible_applied, p.fund_paid, p.over_cap)
            for key, p in ledger.account_view(name).pooling.items()}


def fund(ledger: Ledger, name: str, amount: str, month: str = "2024-01") -> None:
    """Credit an employed month so that 2% of the base is ``amount``."""
    base = format_fen(parse_fen(amount) * 50)  # 2% of the base is the amount
    assert step(ledger, "contribution", person=name, month=month, base=base) == {
        "credited": amount}


def visit(ledger: Ledger, name: str, id: str, date: str, in_scope: str, level: int = 1,
          **more: Any) -> dict[str, Any]:
    return step(ledger, "visit", person=name, id=id, date=date, level=level,
                in_scope=in_scope, **more)


# -- idempotency ------------------------------------------------------------------------------


def test_a_retried_visit_returns_the_identical_result_and_writes_nothing(ledger: Ledger) -> None:
    enroll(ledger, "A")
    fund(ledger, "A", "100.00")
    first = call(ledger, "visit", person="A", id="V1", date="2024-03-01", level=1,
                 in_scope="700.00", out_of_scope="10.00")
    events = ledger.recorder.max_notification_id()
    fund(ledger, "A", "50.00", month="2024-02")  # the ledger moves on ...
    events = ledger.recorder.max_notification_id()
    again = call(ledger, "visit", person="A", id="V1", date="2024-03-01", level=1,
                 in_scope="700.00", out_of_scope="10.00")
    assert again == first  # ... the retry still gets the first answer
    assert ledger.recorder.max_notification_id() == events
    assert balance(ledger, "A") == 5000  # 100.00 paid once, then 50.00 credited
    assert pooling(ledger, "A") == {"suizhou/2024": (70000, 50000, 16000, 0)}


def test_a_reused_id_with_other_content_is_duplicate_conflict(ledger: Ledger) -> None:
    enroll(ledger, "A")
    enroll(ledger, "N", "nanchang")
    fund(ledger, "A", "100.00")
    visit(ledger, "A", "V1", "2024-03-01", "10.00")
    assert refuse(ledger, "visit", person="A", id="V1", date="2024-03-01", level=1,
                  in_scope="10.01") is ErrorCode.DUPLICATE_CONFLICT
    assert refuse(ledger, "visit", person="A", id="V1", date="2024-03-01", level=1,
                  in_scope="10.00", pay="none") is ErrorCode.DUPLICATE_CONFLICT
    # visits, spends and lump sums share one id namespace
    assert refuse(ledger, "spend", payer="A", purpose="pharmacy", amount="1.00", id="V1",
                  date="2024-03-01") is ErrorCode.DUPLICATE_CONFLICT
    assert refuse(ledger, "lump_sum", person="N", id="V1", date="2024-03-01",
                  base="1000.00") is ErrorCode.DUPLICATE_CONFLICT
    step(ledger, "spend", payer="A", purpose="pharmacy", amount="1.00", id="S1",
         date="2024-03-02")
    assert refuse(ledger, "visit", person="A", id="S1", date="2024-03-01", level=1,
                  in_scope="10.00") is ErrorCode.DUPLICATE_CONFLICT
    assert step(ledger, "lump_sum", person="N", id="L1", date="2024-03-01",
                base="1000.00") == {"credited": "20.00"}
    assert refuse(ledger, "spend", payer="A", purpose="pharmacy", amount="1.00", id="L1",
                  date="2024-03-01") is ErrorCode.DUPLICATE_CONFLICT
    assert balance(ledger, "A") == 10000 - 1000 - 100


def test_retried_spend_and_lump_sum_are_harmless(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "N", "nanchang")
    credited = step(memory_ledger, "lump_sum", person="N", id="L1", date="2024-03-01",
                    base="36000.00")
    spent = step(memory_ledger, "spend", payer="N", purpose="pharmacy", amount="20.00",
                 id="S1", date="2024-03-02")
    events = memory_ledger.recorder.max_notification_id()
    assert step(memory_ledger, "lump_sum", person="N", id="L1", date="2024-03-01",
                base="36000.00") == credited == {"credited": "720.00"}
    assert step(memory_ledger, "spend", payer="N", purpose="pharmacy", amount="20.00",
                id="S1", date="2024-03-02") == spent == {"paid": "20.00"}
    assert memory_ledger.recorder.max_notification_id() == events
    assert balance(memory_ledger, "N") == 70000


def test_repeated_bind_retire_and_death_write_nothing(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P")
    enroll(memory_ledger, "C", birth_date="2000-01-01")
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-01-01")
    step(memory_ledger, "retire", person="P", date="2024-05-10")
    step(memory_ledger, "death", person="C", date="2024-06-01")
    events = memory_ledger.recorder.max_notification_id()
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-01-01")
    step(memory_ledger, "retire", person="P", date="2024-05-10")
    step(memory_ledger, "death", person="C", date="2024-06-01")
    assert memory_ledger.recorder.max_notification_id() == events


# -- the pooling year -------------------------------------------------------------------------


def test_mid_year_retirement_keeps_accumulations_and_switches_the_rules(
    memory_ledger: Ledger,
) -> None:
    enroll(memory_ledger, "A")
    # employed: 300.00 of the 500.00 deductible
    assert visit(memory_ledger, "A", "V1", "2023-03-01", "300.00")["deductible_applied"] == (
        "300.00")
    step(memory_ledger, "retire", person="A", date="2023-06-15")
    # still employed until 1 July (次月): 200.00 left of 500.00; 250.00 − 200.00 = 50.00 × 80%
    assert visit(memory_ledger, "A", "V2", "2023-06-30", "250.00") == {
        "deductible_applied": "200.00", "fund_paid": "40.00", "over_cap": "0.00",
        "self_pay": "210.00", "account_paid": "0.00", "cash_paid": "210.00",
        "pooling_reason": None}
    # retired from 1 July: the retired deductible (400.00) is already met by 550.00;
    # rate 85% at level 1; cap 1600.00 − 40.00 already paid = 1560.00 left
    # 2000.00 × 85% = 1700.00 → 1560.00 paid, 140.00 over the cap
    assert visit(memory_ledger, "A", "V3", "2023-07-01", "2000.00") == {
        "deductible_applied": "0.00", "fund_paid": "1560.00", "over_cap": "140.00",
        "self_pay": "440.00", "account_paid": "0.00", "cash_paid": "440.00",
        "pooling_reason": None}
    assert pooling(memory_ledger, "A") == {"suizhou/2023": (255000, 50000, 160000, 14000)}
    view = memory_ledger.account_view("A", dt.date(2023, 7, 1))
    assert view.category == "retired"
    assert view.pooling["suizhou/2023"].cap_left == 0


def test_retired_deductible_applies_to_what_is_left_after_retirement(
    memory_ledger: Ledger,
) -> None:
    enroll(memory_ledger, "A")
    visit(memory_ledger, "A", "V1", "2023-03-01", "300.00")
    step(memory_ledger, "retire", person="A", date="2023-05-31")
    # from June: retired deductible 400.00 − 300.00 accumulated = 100.00;
    # 300.00 − 100.00 = 200.00 × 85% = 170.00 (employed would have been 200.00 left, 80.00)
    result = visit(memory_ledger, "A", "V2", "2023-06-01", "300.00")
    assert (result["deductible_applied"], result["fund_paid"]) == ("100.00", "170.00")


def test_the_year_is_the_visit_date_not_the_recording_date(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    # a January visit meets 2024's deductible: 600.00 − 500.00 = 100.00 × 80% = 80.00
    assert visit(memory_ledger, "A", "J", "2024-01-02", "600.00")["fund_paid"] == "80.00"
    # a 31 December visit settled afterwards uses 2023's (empty) year
    dec31 = visit(memory_ledger, "A", "D", "2023-12-31", "600.00")
    assert (dec31["deductible_applied"], dec31["fund_paid"]) == ("500.00", "80.00")
    # an earlier-dated 2024 visit recorded later sees what was recorded before it
    jan01 = visit(memory_ledger, "A", "E", "2024-01-01", "100.00")
    assert (jan01["deductible_applied"], jan01["fund_paid"]) == ("0.00", "80.00")
    assert pooling(memory_ledger, "A") == {
        "suizhou/2023": (60000, 50000, 8000, 0),
        "suizhou/2024": (70000, 50000, 16000, 0),
    }


def test_caps_never_carry_over_even_without_closing(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    enroll(memory_ledger, "B")
    # A uses the whole 2023 cap; 2024 starts afresh
    visit(memory_ledger, "A", "A1", "2023-05-01", "3000.00")  # 2500.00 × 80% = 2000 → 1300
    again = visit(memory_ledger, "A", "A2", "2024-05-01", "3000.00")
    assert (again["fund_paid"], again["over_cap"]) == ("1300.00", "700.00")
    # B used nothing in 2023; 2024's cap is still 1300.00, not 2600.00
    visit(memory_ledger, "B", "B1", "2023-05-01", "10.00")
    result = visit(memory_ledger, "B", "B2", "2024-05-01", "5000.00")
    assert (result["fund_paid"], result["over_cap"]) == ("1300.00", "2300.00")


@pytest.mark.parametrize(
    ("region", "refused", "accepted"),
    [("suizhou", "2022-12-30", "2022-12-31"), ("suizhou", "2025-01-01", "2024-12-31"),
     ("yunnan", "2024-10-31", "2024-11-01"), ("chongqing", "2023-12-31", "2024-01-01"),
     ("nanchang", "2022-12-31", "2023-01-01"), ("jilin", "2021-12-23", "2021-12-24")],
)
def test_policy_validity_dates(
    memory_ledger: Ledger, region: str, refused: str, accepted: str
) -> None:
    enroll(memory_ledger, "A", region)
    assert refuse(memory_ledger, "visit", person="A", id="X", date=refused, level=1,
                  in_scope="100.00") is ErrorCode.NO_POLICY_IN_FORCE
    assert refuse(memory_ledger, "spend", payer="A", purpose="pharmacy", amount="1.00",
                  id="S", date=refused) is ErrorCode.NO_POLICY_IN_FORCE
    assert visit(memory_ledger, "A", "X", accepted, "100.00")["pooling_reason"] is None


@pytest.mark.parametrize(("region", "month"), [("suizhou", "2025-01"), ("yunnan", "2024-10"),
                                               ("chongqing", "2023-12")])
def test_a_month_outside_the_policy_is_not_credited(
    memory_ledger: Ledger, region: str, month: str
) -> None:
    """A month counts as its last day: yunnan's October 2024 ends before 1 November."""
    enroll(memory_ledger, "A", region)
    assert refuse(memory_ledger, "contribution", person="A", month=month,
                  base="100.00") is ErrorCode.NO_POLICY_IN_FORCE


def test_ineligible_visit_is_still_paid_by_the_own_account(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    fund(memory_ledger, "A", "30.00")
    result = visit(memory_ledger, "A", "V", "2024-02-01", "100.00",
                   flags=["not_designated"], out_of_scope="5.00")
    assert result == {"deductible_applied": "0.00", "fund_paid": "0.00", "over_cap": "0.00",
                      "self_pay": "105.00", "account_paid": "30.00", "cash_paid": "75.00",
                      "pooling_reason": "not_designated"}
    # the year is listed, with nothing accumulated
    assert pooling(memory_ledger, "A") == {"suizhou/2024": (0, 0, 0, 0)}


def test_pay_none_and_no_account_pay_cash(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    enroll(memory_ledger, "T", "chongqing", scheme="individual_tier1")
    fund(memory_ledger, "A", "30.00")
    assert visit(memory_ledger, "A", "V", "2024-02-01", "10.00", pay="none")["cash_paid"] == (
        "10.00")
    assert balance(memory_ledger, "A") == 3000
    result = visit(memory_ledger, "T", "W", "2024-02-01", "300.00")
    # tier 1: 300.00 − 200.00 = 100.00 × 60% = 60.00, cash 240.00
    assert (result["fund_paid"], result["account_paid"], result["cash_paid"]) == (
        "60.00", "0.00", "240.00")


# -- family mutual aid ------------------------------------------------------------------------


def test_bindings_are_dated(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P")
    enroll(memory_ledger, "C", birth_date="2000-01-01")
    fund(memory_ledger, "P", "100.00")
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-03-10")
    spend = {"payer": "P", "beneficiary": "C", "purpose": "pharmacy", "amount": "1.00"}
    assert refuse(memory_ledger, "spend", id="S0", date="2024-03-09", **spend) is (
        ErrorCode.NOT_BOUND)
    step(memory_ledger, "spend", id="S1", date="2024-03-10", **spend)
    step(memory_ledger, "unbind", owner="P", member="C", date="2024-06-01")
    # the unbind ends the binding from its date; a spend dated before still goes through
    assert refuse(memory_ledger, "spend", id="S2", date="2024-06-01", **spend) is (
        ErrorCode.NOT_BOUND)
    step(memory_ledger, "spend", id="S3", date="2024-05-31", **spend)
    assert refuse(memory_ledger, "visit", person="C", id="V", date="2024-06-02", level=1,
                  in_scope="1.00", pay={"family": "P"}) is ErrorCode.NOT_BOUND
    assert refuse(memory_ledger, "unbind", owner="P", member="C", date="2024-07-01") is (
        ErrorCode.NOT_BOUND)
    # binding again opens a new period
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-08-01")
    step(memory_ledger, "spend", id="S4", date="2024-08-01", **spend)
    assert balance(memory_ledger, "P") == 10000 - 300


def test_binding_the_same_pair_again_updates_the_relation(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P", "yunnan")
    enroll(memory_ledger, "S", "yunnan")
    step(memory_ledger, "bind", owner="P", member="S", relation="sibling", date="2025-01-01")
    step(memory_ledger, "bind", owner="P", member="S", relation="spouse", date="2025-02-01")
    account = memory_ledger.account("P")
    assert account.binding_on("S", dt.date(2025, 1, 15)) == "sibling"
    assert account.binding_on("S", dt.date(2025, 2, 1)) == "spouse"
    events = memory_ledger.recorder.max_notification_id()
    step(memory_ledger, "bind", owner="P", member="S", relation="spouse", date="2025-03-01")
    assert memory_ledger.recorder.max_notification_id() == events


@pytest.mark.parametrize("region", ["suizhou", "nanchang", "jilin", "chongqing"])
@pytest.mark.parametrize("relation", ["sibling", "grandparent", "grandchild"])
def test_close_relatives_only_in_yunnan(memory_ledger: Ledger, region: str, relation: str) -> None:
    enroll(memory_ledger, "P", region)
    enroll(memory_ledger, "Q", region)
    enroll(memory_ledger, "Y", "yunnan")
    enroll(memory_ledger, "Z", "yunnan")
    assert refuse(memory_ledger, "bind", owner="P", member="Q", relation=relation,
                  date="2024-06-01") is ErrorCode.RELATION_NOT_ALLOWED
    step(memory_ledger, "bind", owner="Y", member="Z", relation=relation, date="2024-12-01")


def test_the_payers_region_decides_the_relation(memory_ledger: Ledger) -> None:
    """A yunnan sibling binding does not let a payer who moved to suizhou pay (DOMAIN.md 9)."""
    enroll(memory_ledger, "P", "yunnan")
    enroll(memory_ledger, "S", "yunnan")
    step(memory_ledger, "contribution", person="P", month="2024-11", base="5000.00")
    step(memory_ledger, "bind", owner="P", member="S", relation="sibling", date="2024-11-01")
    step(memory_ledger, "spend", payer="P", beneficiary="S", purpose="pharmacy", amount="1.00",
         id="S1", date="2024-11-02")
    step(memory_ledger, "transfer", person="P", to_region="suizhou", date="2024-11-10")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="S", purpose="pharmacy",
                  amount="1.00", id="S2", date="2024-11-11") is ErrorCode.RELATION_NOT_ALLOWED


def test_nanchang_family_medical_only_from_2024(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P", "nanchang")
    enroll(memory_ledger, "C", "nanchang", birth_date="2000-01-01")
    step(memory_ledger, "lump_sum", person="P", id="L", date="2023-01-05", base="50000.00")
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2023-06-01")
    for purpose in ("medical", "pharmacy"):
        assert refuse(memory_ledger, "spend", payer="P", beneficiary="C", purpose=purpose,
                      amount="1.00", id=f"{purpose}-2023", date="2023-12-31") is (
            ErrorCode.PURPOSE_NOT_ALLOWED)
        step(memory_ledger, "spend", payer="P", beneficiary="C", purpose=purpose,
             amount="1.00", id=f"{purpose}-2024", date="2024-01-01")
    assert refuse(memory_ledger, "visit", person="C", id="V0", date="2023-12-31", level=1,
                  in_scope="10.00", pay={"family": "P"}) is ErrorCode.PURPOSE_NOT_ALLOWED
    assert visit(memory_ledger, "C", "V1", "2024-01-01", "10.00",
                 pay={"family": "P"})["account_paid"] == "10.00"
    # the owner's own medical spending was never restricted
    step(memory_ledger, "spend", payer="P", purpose="medical", amount="1.00", id="own",
         date="2023-03-01")
    # commercial insurance: self and family; catastrophic insurance: self only
    step(memory_ledger, "spend", payer="P", beneficiary="C", purpose="commercial_insurance",
         amount="1.00", id="ci", date="2024-02-01")
    step(memory_ledger, "spend", payer="P", purpose="catastrophic_insurance", amount="1.00",
         id="cat-self", date="2024-02-01")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C",
                  purpose="catastrophic_insurance", amount="1.00", id="cat-family",
                  date="2024-02-01") is ErrorCode.PURPOSE_NOT_ALLOWED
    assert balance(memory_ledger, "P") == 100000 - 5 * 100 - 1000  # five spends, one visit


@pytest.mark.parametrize("region", ["yunnan", "chongqing"])
def test_resident_insurance_is_for_family_only(memory_ledger: Ledger, region: str) -> None:
    enroll(memory_ledger, "P", region)
    enroll(memory_ledger, "C", region, birth_date="2010-01-01")
    step(memory_ledger, "contribution", person="P", month="2024-12", base="5000.00")
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-12-01")
    assert refuse(memory_ledger, "spend", payer="P", purpose="resident_insurance",
                  amount="50.00", id="self", date="2024-12-02") is ErrorCode.PURPOSE_NOT_ALLOWED
    assert step(memory_ledger, "spend", payer="P", beneficiary="C", purpose="resident_insurance",
                amount="50.00", id="fam", date="2024-12-02") == {"paid": "50.00"}


@pytest.mark.parametrize("region", ["suizhou", "nanchang", "jilin"])
def test_resident_insurance_is_off_where_the_seed_only_explores_it(
    memory_ledger: Ledger, region: str
) -> None:
    enroll(memory_ledger, "P", region)
    enroll(memory_ledger, "C", region, birth_date="2010-01-01")
    fund(memory_ledger, "P", "100.00")
    step(memory_ledger, "bind", owner="P", member="C", relation="child", date="2024-01-01")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C",
                  purpose="resident_insurance", amount="1.00", id="R",
                  date="2024-02-01") is ErrorCode.PURPOSE_NOT_ALLOWED


@pytest.mark.parametrize("purpose", ["public_health", "fitness", "wellness", "health_check",
                                     "work_injury", "third_party", "overseas"])
def test_never_purposes_are_refused(memory_ledger: Ledger, purpose: str) -> None:
    enroll(memory_ledger, "P", "chongqing")
    step(memory_ledger, "contribution", person="P", month="2024-01", base="5000.00")
    assert refuse(memory_ledger, "spend", payer="P", purpose=purpose, amount="1.00", id="X",
                  date="2024-02-01") is ErrorCode.PURPOSE_NOT_ALLOWED
    assert refuse(memory_ledger, "spend", payer="P", purpose="cash_withdrawal", amount="1.00",
                  id="X", date="2024-02-01") is ErrorCode.INVALID_INPUT


def chongqing_family(ledger: Ledger, child_balance: str) -> None:
    """P (100.00) has bound child C (``child_balance``), both in chongqing."""
    enroll(ledger, "P", "chongqing")
    enroll(ledger, "C", "chongqing", birth_date="2000-01-01")
    fund(ledger, "C", child_balance)
    fund(ledger, "P", "100.00")
    step(ledger, "bind", owner="P", member="C", relation="child", date="2024-01-01")


def test_a_visit_paid_by_family(ledger: Ledger) -> None:
    chongqing_family(ledger, "20.00")
    # 150.00 at level 1: deductible 150.00 (of 200.00); self-pay 150.00, P pays 100.00
    result = call(ledger, "visit", person="C", id="V1", date="2024-02-01", level=1,
                  in_scope="150.00", pay={"family": "P"})
    assert (result.self_pay, result.own_paid, result.family_paid, result.cash_paid) == (
        15000, 0, 10000, 5000)
    assert result.family_payer == "P"
    assert (balance(ledger, "P"), balance(ledger, "C")) == (0, 2000)
    assert pooling(ledger, "C") == {"chongqing/2024": (15000, 15000, 0, 0)}
    assert pooling(ledger, "P") == {}


def test_a_visit_paid_own_first_then_family(ledger: Ledger) -> None:
    chongqing_family(ledger, "30.00")
    # 300.00 at level 1: 200.00 deductible, 100.00 × 60% = 60.00; self-pay 240.00 + 5.00
    result = call(ledger, "visit", person="C", id="V1", date="2024-02-01", level=1,
                  in_scope="300.00", out_of_scope="5.00",
                  pay={"family": "P", "own_first": True})
    assert (result.fund_paid, result.self_pay, result.own_paid, result.family_paid,
            result.cash_paid) == (6000, 24500, 3000, 10000, 11500)
    assert (balance(ledger, "P"), balance(ledger, "C")) == (0, 0)


def test_a_family_payment_needs_an_account_and_a_binding(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P", "chongqing", scheme="individual_tier1")
    enroll(memory_ledger, "C", "chongqing")
    assert refuse(memory_ledger, "bind", owner="P", member="C", relation="child",
                  date="2024-01-01") is ErrorCode.NO_PERSONAL_ACCOUNT
    assert refuse(memory_ledger, "visit", person="C", id="V", date="2024-02-01", level=1,
                  in_scope="10.00", pay={"family": "P"}) is ErrorCode.NO_PERSONAL_ACCOUNT
    assert refuse(memory_ledger, "visit", person="C", id="V", date="2024-02-01", level=1,
                  in_scope="10.00", pay={"family": "C"}) is ErrorCode.INVALID_INPUT
    assert refuse(memory_ledger, "visit", person="C", id="V", date="2024-02-01", level=1,
                  in_scope="10.00", pay={"family": "nobody"}) is ErrorCode.UNKNOWN_PERSON


# -- reversal ---------------------------------------------------------------------------------


def test_a_reversal_restores_exactly(ledger: Ledger) -> None:
    enroll(ledger, "P")
    enroll(ledger, "C", birth_date="2000-01-01")
    fund(ledger, "P", "400.00")
    fund(ledger, "C", "50.00")
    step(ledger, "bind", owner="P", member="C", relation="child", date="2024-01-01")
    visit(ledger, "C", "V0", "2024-01-20", "200.00", pay="none")
    before = (balance(ledger, "P"), balance(ledger, "C"), pooling(ledger, "C"))
    # 800.00 at level 2: 300.00 deductible left, 500.00 × 70% = 350.00; self-pay 450.00:
    # C's own 50.00 first, P's 400.00
    result = visit(ledger, "C", "V1", "2024-02-01", "800.00", level=2,
                   pay={"family": "P", "own_first": True})
    assert (result["fund_paid"], result["account_paid"], result["cash_paid"]) == (
        "350.00", "450.00", "0.00")
    assert (balance(ledger, "P"), balance(ledger, "C")) == (0, 0)

    restored = step(ledger, "reverse", id="V1", date="2024-02-03",
                    reason="converted_to_inpatient")
    assert restored == {"restored": "450.00"}
    assert (balance(ledger, "P"), balance(ledger, "C"), pooling(ledger, "C")) == before
    events = ledger.recorder.max_notification_id()
    assert step(ledger, "reverse", id="V1", date="2024-02-03",
                reason="converted_to_inpatient") == restored
    assert ledger.recorder.max_notification_id() == events
    assert refuse(ledger, "reverse", id="V1", date="2024-02-04") is ErrorCode.ALREADY_REVERSED
    assert refuse(ledger, "reverse", id="nope", date="2024-02-04") is (
        ErrorCode.UNKNOWN_TRANSACTION)
    # the id stays taken
    assert refuse(ledger, "visit", person="C", id="V1", date="2024-02-01", level=1,
                  in_scope="1.00") is ErrorCode.DUPLICATE_CONFLICT


def test_a_reversal_does_not_reprice_later_visits(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    first = visit(memory_ledger, "A", "V1", "2024-02-01", "600.00")   # 500 ded, 80.00
    second = visit(memory_ledger, "A", "V2", "2024-03-01", "100.00")  # 0 ded, 80.00
    assert (first["fund_paid"], second["deductible_applied"]) == ("80.00", "0.00")
    step(memory_ledger, "reverse", id="V1", date="2024-03-05")
    # V2 stays as settled; the accumulations are V2's alone
    assert pooling(memory_ledger, "A") == {"suizhou/2024": (10000, 0, 8000, 0)}
    # the next visit meets a deductible of 500.00 − 100.00 = 400.00
    third = visit(memory_ledger, "A", "V3", "2024-04-01", "500.00")
    assert (third["deductible_applied"], third["fund_paid"]) == ("400.00", "80.00")


def test_a_spend_reversal_restores_the_payer(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P")
    enroll(memory_ledger, "C")
    fund(memory_ledger, "P", "40.00")
    step(memory_ledger, "bind", owner="P", member="C", relation="spouse", date="2024-01-01")
    step(memory_ledger, "spend", payer="P", beneficiary="C", purpose="pharmacy",
         amount="40.00", id="S1", date="2024-02-01")
    assert balance(memory_ledger, "P") == 0
    assert step(memory_ledger, "reverse", id="S1", date="2024-02-02") == {"restored": "40.00"}
    assert balance(memory_ledger, "P") == 4000
    assert refuse(memory_ledger, "reverse", id="S1", date="2024-02-02",
                  reason="other") is ErrorCode.ALREADY_REVERSED


def test_a_lump_sum_is_not_reversible(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "N", "nanchang")
    step(memory_ledger, "lump_sum", person="N", id="L", date="2024-01-01", base="1000.00")
    assert refuse(memory_ledger, "reverse", id="L", date="2024-01-02") is (
        ErrorCode.UNKNOWN_TRANSACTION)


def test_spend_is_all_or_nothing(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    fund(memory_ledger, "A", "10.00")
    assert refuse(memory_ledger, "spend", payer="A", purpose="pharmacy", amount="10.01",
                  id="S", date="2024-02-01") is ErrorCode.INSUFFICIENT_BALANCE
    assert step(memory_ledger, "spend", payer="A", purpose="pharmacy", amount="10.00",
                id="S", date="2024-02-01") == {"paid": "10.00"}
    assert balance(memory_ledger, "A") == 0


# -- leaving ----------------------------------------------------------------------------------


def test_transfer_moves_balance_and_region(ledger: Ledger) -> None:
    enroll(ledger, "A", "suizhou")
    fund(ledger, "A", "100.00")
    visit(ledger, "A", "V1", "2024-02-01", "600.00", pay="none")  # 2024 deductible met
    assert step(ledger, "transfer", person="A", to_region="nanchang", date="2024-03-15") == {
        "amount": "100.00"}
    view = ledger.account_view("A")
    assert (view.region, view.balance, view.status) == ("nanchang", 10000, "active")
    # pooling starts at zero in the new region: nanchang's 600.00 deductible again
    result = visit(ledger, "A", "V2", "2024-04-01", "700.00")
    # 100.00 × 60% = 60.00; self-pay 640.00, 100.00 from the account
    assert (result["deductible_applied"], result["fund_paid"], result["account_paid"]) == (
        "600.00", "60.00", "100.00")
    assert pooling(ledger, "A") == {
        "nanchang/2024": (70000, 60000, 6000, 0),
        "suizhou/2024": (60000, 50000, 8000, 0),
    }
    # new steps use the destination's policy
    assert step(ledger, "lump_sum", person="A", id="L", date="2024-04-02",
                base="1000.00") == {"credited": "20.00"}
    assert refuse(ledger, "transfer", person="A", to_region="nanchang", date="2024-05-01") is (
        ErrorCode.INVALID_INPUT)
    assert refuse(ledger, "transfer", person="A", to_region="atlantis", date="2024-05-01") is (
        ErrorCode.INVALID_INPUT)


def test_transfer_keeps_the_footing_without_an_account(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "T", "chongqing", scheme="individual_tier1")
    assert step(memory_ledger, "transfer", person="T", to_region="suizhou",
                date="2024-03-01") == {"amount": "0.00"}
    view = memory_ledger.account_view("T")
    assert (view.region, view.has_account) == ("suizhou", False)
    assert refuse(memory_ledger, "contribution", person="T", month="2024-03",
                  base="1000.00") is ErrorCode.NO_PERSONAL_ACCOUNT


def test_emigration_pays_out_and_closes(ledger: Ledger) -> None:
    enroll(ledger, "A", "yunnan")
    step(ledger, "contribution", person="A", month="2024-11", base="6543.21")  # 130.8642
    assert step(ledger, "emigrate", person="A", date="2024-12-01") == {"paid_out": "130.86"}
    view = ledger.account_view("A")
    assert (view.status, view.balance) == ("emigrated", 0)
    for op, fields in [
        ("contribution", {"person": "A", "month": "2024-12", "base": "1.00"}),
        ("spend", {"payer": "A", "purpose": "pharmacy", "amount": "0.01", "id": "S",
                   "date": "2024-12-02"}),
        ("visit", {"person": "A", "id": "V", "date": "2024-12-02", "level": 1,
                   "in_scope": "1.00"}),
        ("transfer", {"person": "A", "to_region": "chongqing", "date": "2024-12-02"}),
        ("emigrate", {"person": "A", "date": "2024-12-03"}),
        ("death", {"person": "A", "date": "2024-12-03"}),
    ]:
        assert refuse(ledger, op, **fields) is ErrorCode.ACCOUNT_CLOSED, op


def test_inheritance_splits_by_largest_remainders(ledger: Ledger) -> None:
    enroll(ledger, "D", retired_on="2010-01-01")
    enroll(ledger, "E", retired_on="2010-01-01")
    for month in ("2024-01", "2024-02", "2024-03"):
        step(ledger, "allotment", person="D", month=month)
    step(ledger, "spend", payer="D", purpose="pharmacy", amount="209.00", id="S",
         date="2024-03-02")  # 210.00 − 209.00 = 1.00 left
    step(ledger, "death", person="D", date="2024-03-20")
    heirs = [{"name": "H1", "share": "1/6"}, {"name": "H2", "share": "0.5"},
             {"name": "H3", "share": "1/3"}]
    # 100 fen: 16.67 / 50 / 33.33 → floors 16 + 50 + 33 = 99; the 1 fen left goes to H1 (.67)
    assert step(ledger, "inheritance", person="D", date="2024-04-01", heirs=heirs) == {
        "payouts": {"H1": "0.17", "H2": "0.50", "H3": "0.33"}}
    view = ledger.account_view("D")
    assert (view.status, view.balance) == ("settled", 0)
    events = ledger.recorder.max_notification_id()
    assert step(ledger, "inheritance", person="D", date="2024-04-01", heirs=heirs)[
        "payouts"] == {"H1": "0.17", "H2": "0.50", "H3": "0.33"}
    assert ledger.recorder.max_notification_id() == events
    assert refuse(ledger, "inheritance", person="D", date="2024-04-01",
                  heirs=list(reversed(heirs))) is ErrorCode.DUPLICATE_CONFLICT
    # ties go to the heirs in the order listed: 2 fen in three equal shares
    step(ledger, "allotment", person="E", month="2024-01")
    step(ledger, "spend", payer="E", purpose="pharmacy", amount="69.98", id="S2",
         date="2024-01-05")
    step(ledger, "death", person="E", date="2024-02-01")
    thirds = [{"name": n, "share": "1/3"} for n in ("Z", "Y", "X")]
    assert step(ledger, "inheritance", person="E", date="2024-02-02", heirs=thirds) == {
        "payouts": {"Z": "0.01", "Y": "0.01", "X": "0.00"}}


@pytest.mark.parametrize(
    "heirs",
    [[{"name": "H1", "share": "1/2"}, {"name": "H2", "share": "1/3"}],
     [{"name": "H1", "share": "1/2"}, {"name": "H1", "share": "1/2"}],
     [{"name": "H1", "share": "0"}, {"name": "H2", "share": "1"}],
     [{"name": "H1", "share": "-1/2"}, {"name": "H2", "share": "3/2"}],
     [{"name": "H1", "share": 1}], []],
)
def test_inheritance_shares_must_be_valid(memory_ledger: Ledger, heirs: list) -> None:
    enroll(memory_ledger, "D", retired_on="2010-01-01")
    step(memory_ledger, "death", person="D", date="2024-02-01")
    assert refuse(memory_ledger, "inheritance", person="D", date="2024-02-02", heirs=heirs) is (
        ErrorCode.INVALID_INPUT)


# -- the year end -----------------------------------------------------------------------------


def test_close_year_forfeits_the_unused_cap_by_the_category_on_31_december(
    ledger: Ledger,
) -> None:
    enroll(ledger, "E")                               # employed all year: cap 1300.00
    enroll(ledger, "R")                               # retired from 1 Dec: cap 1600.00
    enroll(ledger, "L")                               # retires 10 Dec, from 1 Jan: 1300.00
    enroll(ledger, "N")                               # no visit: nothing to close
    for name in ("E", "R", "L"):
        visit(ledger, name, f"{name}1", "2023-06-01", "800.00")  # 300.00 × 80% = 240.00
    step(ledger, "retire", person="R", date="2023-11-15")
    step(ledger, "retire", person="L", date="2023-12-10")
    assert step(ledger, "close_year", year=2023) == {"closed": 3}
    forfeited = {name: ledger.account_view(name).pooling["suizhou/2023"]
                 for name in ("E", "R", "L")}
    assert {name: (p.closed, p.forfeited) for name, p in forfeited.items()} == {
        "E": (True, 106000), "R": (True, 136000), "L": (True, 106000)}
    assert ledger.account_view("N").pooling == {}
    events = ledger.recorder.max_notification_id()
    assert step(ledger, "close_year", year=2023) == {"closed": 0}
    assert ledger.recorder.max_notification_id() == events


def test_close_year_counts_every_region_year_and_never_negative(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    visit(memory_ledger, "A", "V1", "2024-02-01", "3000.00")  # fund 1300.00 = the whole cap
    step(memory_ledger, "transfer", person="A", to_region="nanchang", date="2024-03-01")
    visit(memory_ledger, "A", "V2", "2024-04-01", "100.00")
    assert step(memory_ledger, "close_year", year=2024) == {"closed": 2}
    view = memory_ledger.account_view("A")
    assert (view.pooling["suizhou/2024"].forfeited, view.pooling["nanchang/2024"].forfeited) == (
        0, 180000)


def test_close_year_credits_interest_on_daily_balances_once(tmp_path: Path) -> None:
    """nanchang art. 27 with a configured rate: Σ daily balances × rate ÷ 360, half up."""
    app = open_ledger(str(tmp_path / "interest.db"),
                      {"nanchang": {"average_pension": "3100.00", "interest_rate": "0.015"}})
    try:
        enroll(app, "N", "nanchang")
        enroll(app, "S")  # suizhou sets no rate
        step(app, "lump_sum", person="N", id="L", date="2024-07-01", base="10000.00")
        fund(app, "S", "200.00")
        # 200.00 on each of the 184 days 1 July – 31 December 2024:
        # 20000 fen × 184 = 3 680 000 fen·days × 1.5% ÷ 360 = 153.33… → 153 fen
        assert call(app, "close_year", year=2024).interest == 153
        assert (balance(app, "N"), balance(app, "S")) == (20153, 20000)
        events = app.recorder.max_notification_id()
        assert call(app, "close_year", year=2024).interest == 0
        assert app.recorder.max_notification_id() == events
    finally:
        app.close()


def test_a_reversal_after_closing_does_not_reopen_forfeited(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    visit(memory_ledger, "A", "V1", "2023-06-01", "800.00")  # fund 240.00
    step(memory_ledger, "close_year", year=2023)
    step(memory_ledger, "reverse", id="V1", date="2024-01-10")
    year = memory_ledger.account_view("A").pooling["suizhou/2023"]
    assert (year.fund_paid, year.closed, year.forfeited) == (0, True, 106000)


# -- a refusal changes nothing, and the order of the checks -----------------------------------


@pytest.fixture
def bad_jilin(tmp_path: Path):
    """A ledger whose jilin parameters break the framework (a rate under 0.50)."""
    app = open_ledger(str(tmp_path / "bad-jilin.db"),
                      {"jilin": {**JILIN, "rates_employed": ["0.60", "0.55", "0.40"]}})
    yield app
    app.close()


def test_invalid_input_comes_before_unknown_person(memory_ledger: Ledger) -> None:
    assert refuse(memory_ledger, "visit", person="nobody", id="V", date="2024-01-01", level=1,
                  in_scope="1.005") is ErrorCode.INVALID_INPUT
    assert refuse(memory_ledger, "visit", person="nobody", id="V", date="2024-01-01", level=1,
                  in_scope="1.00") is ErrorCode.UNKNOWN_PERSON


def test_unknown_person_then_policy_invalid_then_no_policy_in_force(bad_jilin: Ledger) -> None:
    enroll(bad_jilin, "J", "jilin")
    assert refuse(bad_jilin, "spend", payer="J", beneficiary="nobody", purpose="fitness",
                  amount="1.00", id="S", date="2020-01-01") is ErrorCode.UNKNOWN_PERSON
    assert refuse(bad_jilin, "visit", person="J", id="V", date="2020-01-01", level=1,
                  in_scope="1.00") is ErrorCode.POLICY_INVALID


def test_no_policy_in_force_comes_before_duplicate_conflict(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    visit(memory_ledger, "A", "V1", "2024-05-01", "1.00")
    assert refuse(memory_ledger, "visit", person="A", id="V1", date="2025-02-01", level=1,
                  in_scope="1.00") is ErrorCode.NO_POLICY_IN_FORCE


def test_duplicate_conflict_comes_before_account_state(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "A")
    fund(memory_ledger, "A", "5.00")
    first = visit(memory_ledger, "A", "V1", "2024-05-01", "1.00")
    step(memory_ledger, "spend", payer="A", purpose="pharmacy", amount="1.00", id="S1",
         date="2024-05-02")
    step(memory_ledger, "emigrate", person="A", date="2024-06-01")
    assert refuse(memory_ledger, "visit", person="A", id="V1", date="2024-05-01", level=1,
                  in_scope="2.00") is ErrorCode.DUPLICATE_CONFLICT
    assert refuse(memory_ledger, "spend", payer="A", purpose="pharmacy", amount="2.00",
                  id="S1", date="2024-05-02") is ErrorCode.DUPLICATE_CONFLICT
    # an identical retry still gets its first answer from a closed account
    assert visit(memory_ledger, "A", "V1", "2024-05-01", "1.00") == first


def test_account_state_comes_before_binding_and_purpose(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P")
    enroll(memory_ledger, "C")
    enroll(memory_ledger, "T", scheme="pooling_only")
    step(memory_ledger, "death", person="P", date="2024-02-01")
    step(memory_ledger, "death", person="T", date="2024-01-15")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C", purpose="fitness",
                  amount="1.00", id="S", date="2024-02-02") is ErrorCode.ACCOUNT_CLOSED
    # account_closed before no_personal_account
    assert refuse(memory_ledger, "contribution", person="T", month="2024-02",
                  base="100.00") is ErrorCode.ACCOUNT_CLOSED
    assert refuse(memory_ledger, "contribution", person="T", month="2024-01",
                  base="100.00") is ErrorCode.NO_PERSONAL_ACCOUNT


def test_binding_comes_before_purpose_before_balance(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "P")
    enroll(memory_ledger, "C")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C", purpose="fitness",
                  amount="99.00", id="S", date="2024-02-02") is ErrorCode.NOT_BOUND
    step(memory_ledger, "bind", owner="P", member="C", relation="spouse", date="2024-01-01")
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C", purpose="fitness",
                  amount="99.00", id="S", date="2024-02-02") is ErrorCode.PURPOSE_NOT_ALLOWED
    assert refuse(memory_ledger, "spend", payer="P", purpose="wellness", amount="99.00",
                  id="S", date="2024-02-02") is ErrorCode.PURPOSE_NOT_ALLOWED
    assert refuse(memory_ledger, "spend", payer="P", beneficiary="C", purpose="pharmacy",
                  amount="99.00", id="S", date="2024-02-02") is ErrorCode.INSUFFICIENT_BALANCE


def test_not_dead_before_death_is_recorded(memory_ledger: Ledger) -> None:
    enroll(memory_ledger, "D", retired_on="2010-01-01")
    assert refuse(memory_ledger, "inheritance", person="D", date="2024-01-01",
                  heirs=[{"name": "H", "share": "1"}]) is ErrorCode.NOT_DEAD


REFUSALS: list[tuple[str, dict[str, Any], ErrorCode]] = [
    ("contribution", {"person": "R", "month": "2024-02", "base": "100.00"},
     ErrorCode.NOT_EMPLOYED),
    ("allotment", {"person": "A", "month": "2024-02"}, ErrorCode.NOT_RETIRED),
    ("visit", {"person": "A", "id": "V", "date": "2025-01-01", "level": 1,
               "in_scope": "1.00"}, ErrorCode.NO_POLICY_IN_FORCE),
    ("spend", {"payer": "A", "purpose": "pharmacy", "amount": "500.00", "id": "S",
               "date": "2024-02-01"}, ErrorCode.INSUFFICIENT_BALANCE),
    ("reverse", {"id": "V0", "date": "2024-02-02", "reason": "again"},
     ErrorCode.ALREADY_REVERSED),
    ("inheritance", {"person": "A", "date": "2024-02-01",
                     "heirs": [{"name": "H", "share": "1"}]}, ErrorCode.NOT_DEAD),
    ("transfer", {"person": "A", "to_region": "suizhou", "date": "2024-02-01"},
     ErrorCode.INVALID_INPUT),
    ("bind", {"owner": "A", "member": "R", "relation": "sibling", "date": "2024-02-01"},
     ErrorCode.RELATION_NOT_ALLOWED),
]


@pytest.mark.parametrize(("op", "fields", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_step_changes_nothing(
    ledger: Ledger, op: str, fields: dict[str, Any], code: ErrorCode
) -> None:
    enroll(ledger, "A")
    enroll(ledger, "R", retired_on="2010-01-01")
    fund(ledger, "A", "100.00")
    visit(ledger, "A", "V0", "2024-01-10", "600.00")
    step(ledger, "reverse", id="V0", date="2024-01-11")
    views: Callable[[], Any] = lambda: [ledger.account_view(n, dt.date(2024, 12, 31))
                                        for n in ("A", "R")]
    before = views()
    assert refuse(ledger, op, **fields) is code
    assert views() == before
