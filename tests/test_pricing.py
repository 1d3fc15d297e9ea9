"""Pricing an outpatient visit (DOMAIN.md 3), as a pure function of the policy in force.

Every expected figure below is written from DOMAIN.md's table 3.1 and computation 3.2, in
fen, not read back from the code.
"""

from __future__ import annotations

import datetime as dt

import pytest

from policies.book import PolicyBook
from policies.model import IneligibleReason
from policies.pricing import Visit, YearUsage, price_visit
from conftest import PARAMETERS

BOOK = PolicyBook.load(PARAMETERS)

# region: (a day in force, scheme, deductible employed/retired (None = per visit),
#          per-visit deductibles L1-L3, rates employed L1-L3 %, rates retired L1-L3 %,
#          caps employed/retired) — DOMAIN.md 3.1, jilin from the test deployment's parameters
TABLE = {
    "suizhou": (dt.date(2023, 6, 1), "standard", (50000, 40000), None,
                (80, 70, 60), (85, 75, 65), (130000, 160000)),
    "nanchang": (dt.date(2023, 6, 1), "standard", (60000, 60000), None,
                 (60, 55, 50), (65, 60, 55), (180000, 200000)),
    "jilin": (dt.date(2023, 6, 1), "standard", (80000, 80000), None,
              (60, 55, 50), (65, 60, 55), (150000, 180000)),
    "yunnan": (dt.date(2025, 1, 1), "standard", None, (2000, 4000, 6000),
               (60, 55, 50), (70, 65, 60), (600000, 600000)),
    "chongqing": (dt.date(2024, 6, 1), "employer", (20000, 10000), None,
                  (60, 60, 50), (70, 70, 60), (300000, 400000)),
}
CASES = [(region, category, level) for region in TABLE for category in ("employed", "retired")
         for level in (1, 2, 3)]


def policy(region: str):
    return BOOK.in_force(region, TABLE[region][0])


@pytest.mark.parametrize(("region", "category", "level"), CASES)
def test_first_visit_of_the_year_pays_deductible_then_rate(
    region: str, category: str, level: int
) -> None:
    _, scheme, deductible, per_visit, employed, retired, caps = TABLE[region]
    index = 0 if category == "employed" else 1
    d = per_visit[level - 1] if per_visit else deductible[index]
    rate = (employed if category == "employed" else retired)[level - 1]

    price = price_visit(policy(region), Visit(level, 100000, out_of_scope=1234),
                        category, scheme, YearUsage())

    assert price.deductible_applied == d
    assert price.payable == 100000 - d
    assert (100000 - d) * rate % 100 == 0  # the expected value below is exact
    assert price.fund_raw == price.fund_paid == (100000 - d) * rate // 100
    assert price.cap == caps[index]
    assert price.over_cap == 0
    assert price.self_pay == 100000 + 1234 - price.fund_paid
    assert price.pooling_reason is None


@pytest.mark.parametrize(("region", "category", "level"), CASES)
def test_yearly_cap_limits_the_fund(region: str, category: str, level: int) -> None:
    _, scheme, deductible, per_visit, employed, retired, caps = TABLE[region]
    index = 0 if category == "employed" else 1
    cap = caps[index]
    accumulated = 0 if per_visit else deductible[index]
    d = per_visit[level - 1] if per_visit else 0
    rate = (employed if category == "employed" else retired)[level - 1]

    price = price_visit(policy(region), Visit(level, 100000), category, scheme,
                        YearUsage(in_scope=accumulated, fund_paid=cap - 150))

    raw = (100000 - d) * rate // 100
    assert price.fund_raw == raw
    assert price.cap_left == 150
    assert price.fund_paid == 150
    assert price.over_cap == raw - 150
    assert price.self_pay == 100000 - 150


def test_a_visit_that_crosses_the_accumulated_deductible() -> None:
    # suizhou employed, 300.00 already accumulated; 400.00 at level 2:
    # 200.00 deductible left, 200.00 payable × 70% = 140.00
    price = price_visit(policy("suizhou"), Visit(2, 40000), "employed", "standard",
                        YearUsage(in_scope=30000))
    assert (price.deductible_applied, price.payable, price.fund_paid) == (20000, 20000, 14000)
    assert price.self_pay == 26000


def test_a_visit_below_the_deductible_pays_no_fund() -> None:
    price = price_visit(policy("nanchang"), Visit(1, 25000), "employed", "standard",
                        YearUsage(in_scope=30000))
    assert (price.eligible_in_scope, price.deductible_applied, price.fund_paid) == (25000, 25000, 0)


def test_a_visit_that_crosses_the_cap() -> None:
    # suizhou employed, deductible met, 1100.00 fund paid; 500.00 at level 1:
    # 400.00 raw, 200.00 left under the 1300.00 cap, 200.00 over the cap
    price = price_visit(policy("suizhou"), Visit(1, 50000), "employed", "standard",
                        YearUsage(in_scope=50000, fund_paid=110000))
    assert (price.fund_raw, price.cap_left, price.fund_paid, price.over_cap) == (
        40000, 20000, 20000, 20000)
    assert price.self_pay == 30000


def test_a_visit_after_the_cap_is_used_up_pays_no_fund() -> None:
    price = price_visit(policy("chongqing"), Visit(3, 10000), "retired", "employer",
                        YearUsage(in_scope=90000, fund_paid=400000))
    assert (price.fund_raw, price.fund_paid, price.over_cap) == (6000, 0, 6000)
    assert price.cap_left == 0


def test_a_cap_overrun_by_more_than_the_cap_never_goes_negative() -> None:
    price = price_visit(policy("suizhou"), Visit(1, 10000), "employed", "standard",
                        YearUsage(in_scope=50000, fund_paid=999999))
    assert price.cap_left == 0 and price.fund_paid == 0


def test_yunnan_deductible_is_per_visit_whatever_was_accumulated() -> None:
    price = price_visit(policy("yunnan"), Visit(2, 14000), "retired", "standard",
                        YearUsage(in_scope=5_000_000, fund_paid=10000))
    # 140.00 − 40.00 = 100.00 × 65% = 65.00
    assert (price.deductible_applied, price.fund_paid) == (4000, 6500)


def test_yunnan_visit_below_its_per_visit_deductible() -> None:
    price = price_visit(policy("yunnan"), Visit(3, 5000), "employed", "standard", YearUsage())
    assert (price.deductible_applied, price.payable, price.fund_paid) == (5000, 0, 0)


@pytest.mark.parametrize(
    ("scheme", "category", "cap"),
    [("employer", "employed", 300000), ("individual_tier2", "retired", 400000),
     ("lump_sum", "employed", 300000), ("individual_tier1", "employed", 80000),
     ("individual_tier1", "retired", 120000)],
)
def test_chongqing_caps_follow_the_scheme_tier(scheme: str, category: str, cap: int) -> None:
    price = price_visit(policy("chongqing"), Visit(1, 10000), category, scheme, YearUsage())
    assert price.cap == cap


@pytest.mark.parametrize("reason", [r.value for r in IneligibleReason])
def test_every_reason_denies_pooling_in_suizhou(reason: str) -> None:
    price = price_visit(policy("suizhou"), Visit(1, 80000, 500, (reason,)), "employed",
                        "standard", YearUsage(in_scope=10000))
    assert price.pooling_reason == reason
    assert (price.eligible_in_scope, price.deductible_applied, price.fund_paid,
            price.over_cap) == (0, 0, 0, 0)
    assert price.self_pay == 80500
    assert "pooling_reason" in price.articles


@pytest.mark.parametrize("region", ["nanchang", "jilin", "yunnan", "chongqing"])
@pytest.mark.parametrize("reason", [r.value for r in IneligibleReason
                                    if r is not IneligibleReason.REMOTE_NOT_NETWORKED])
def test_the_other_reasons_deny_pooling_everywhere(region: str, reason: str) -> None:
    scheme = TABLE[region][1]
    price = price_visit(policy(region), Visit(1, 80000, 0, (reason,)), "employed", scheme,
                        YearUsage())
    assert price.pooling_reason == reason
    assert price.fund_paid == price.deductible_applied == price.eligible_in_scope == 0


@pytest.mark.parametrize("region", ["nanchang", "jilin", "yunnan", "chongqing"])
def test_remote_not_networked_denies_only_in_suizhou(region: str) -> None:
    scheme = TABLE[region][1]
    flagged = price_visit(policy(region), Visit(1, 100000, 0, ("remote_not_networked",)),
                          "employed", scheme, YearUsage())
    plain = price_visit(policy(region), Visit(1, 100000), "employed", scheme, YearUsage())
    assert flagged.pooling_reason is None
    assert flagged.fund_paid == plain.fund_paid > 0


def test_the_first_flag_that_applies_is_the_reason() -> None:
    flags = ("remote_not_networked", "inpatient_stay", "not_designated")
    assert price_visit(policy("nanchang"), Visit(1, 100, 0, flags), "employed", "standard",
                       YearUsage()).pooling_reason == "inpatient_stay"
    assert price_visit(policy("suizhou"), Visit(1, 100, 0, flags), "employed", "standard",
                       YearUsage()).pooling_reason == "remote_not_networked"


def test_outside_prescription_is_priced_at_the_prescribing_level() -> None:
    # filled at a level-1 pharmacy, prescribed at level 3: suizhou employed 60%, not 80%
    price = price_visit(policy("suizhou"), Visit(1, 10000, prescribed_level=3), "employed",
                        "standard", YearUsage(in_scope=50000))
    assert (price.level, price.fund_paid) == (3, 6000)
    assert price.articles["level"] == "suizhou art. 11"


def test_outside_prescription_uses_the_prescribers_per_visit_deductible_in_yunnan() -> None:
    price = price_visit(policy("yunnan"), Visit(1, 16000, prescribed_level=3), "employed",
                        "standard", YearUsage())
    # 160.00 − 60.00 (level 3) = 100.00 × 50% = 50.00
    assert (price.deductible_applied, price.fund_paid) == (6000, 5000)


@pytest.mark.parametrize(
    ("region", "category", "level", "in_scope", "usage_in_scope", "fund"),
    [
        # payable 0.05 × 70% = 3.5 fen → 4 fen (suizhou employed L2, deductible met)
        ("suizhou", "employed", 2, 5, 50000, 4),
        # payable 0.10 × 65% = 6.5 fen → 7 fen (suizhou retired L3)
        ("suizhou", "retired", 3, 10, 40000, 7),
        # yunnan retired L1: 20.05 − 20.00 = 0.05 × 70% = 3.5 fen → 4 fen
        ("yunnan", "retired", 1, 2005, 0, 4),
        # nanchang employed L2: 0.30 × 55% = 16.5 fen → 17 fen
        ("nanchang", "employed", 2, 30, 60000, 17),
        # just under a half: 0.07 × 70% = 4.9 fen → 5; 0.01 × 70% = 0.7 → 1; 0.03 × 55% = 1.65 → 2
        ("suizhou", "employed", 2, 7, 50000, 5),
        ("suizhou", "employed", 2, 1, 50000, 1),
        ("nanchang", "employed", 2, 3, 60000, 2),
    ],
)
def test_fund_is_rounded_half_up_to_the_fen(
    region: str, category: str, level: int, in_scope: int, usage_in_scope: int, fund: int
) -> None:
    scheme = TABLE[region][1]
    price = price_visit(policy(region), Visit(level, in_scope), category, scheme,
                        YearUsage(in_scope=usage_in_scope))
    assert price.fund_paid == fund
    assert price.self_pay == in_scope - fund


def test_pricing_reports_the_articles_it_used() -> None:
    price = price_visit(policy("yunnan"), Visit(1, 10**8), "employed", "standard",
                        YearUsage(fund_paid=599900))
    assert price.articles["deductible"] == "yunnan art. 6"
    assert price.articles["cap"] == "yunnan art. 8"
    assert price.articles["over_cap"] == "yunnan art. 8"  # the overrun moves to inpatient
