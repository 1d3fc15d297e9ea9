"""The pure rules pinned figure by figure: each case kills mutants that the broader tests
let live (tests/MUTATION.md). Every figure is worked out by hand in the comment beside it,
in fen; every article is the text of the bundled policy file, not read back from the code.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from conftest import PARAMETERS
from policies.book import PolicyBook
from policies.calendar import Month
from policies.credits import (
    Credit,
    contribution_credit,
    lump_sum_credit,
    require_lump_sum,
    retired_allotment,
)
from policies.errors import ErrorCode, LedgerError
from policies.inheritance import parse_share, split_balance
from policies.interest import balance_days, daily_balance_interest
from policies.money import MoneyFormatError, Rate, format_fen, parse_fen, round_half_up
from policies.people import PersonFacts
from policies.pricing import Visit, YearUsage, price_visit

D = dt.date


# -- interest: the daily-balance method (积数计息, DOMAIN.md 7) ------------------------------


def test_a_balance_brought_into_the_year_counts_every_day_of_a_leap_year() -> None:
    # 100.00 from 2023: 10000 fen × 366 days (2024 is a leap year) = 3,660,000 fen·days
    assert balance_days([(D(2023, 12, 15), 10000)], 2024) == 3_660_000


def test_movements_before_the_year_add_up_into_the_opening_balance() -> None:
    # opening 100.00 + 50.00 − 30.00 = 120.00, all year 2023 (365 days): 12000 × 365
    movements = [(D(2022, 3, 1), 10000), (D(2022, 7, 1), 5000), (D(2022, 12, 31), -3000)]
    assert balance_days(movements, 2023) == 4_380_000


def test_a_movement_on_31_december_counts_for_one_day() -> None:
    # 10000 × 365 days (1 Jan–30 Dec 2024) + 10500 × 1 day (31 Dec) = 3,650,000 + 10,500
    movements = [(D(2023, 6, 1), 10000), (D(2024, 12, 31), 500)]
    assert balance_days(movements, 2024) == 3_660_500


def test_a_movement_after_the_year_does_not_count() -> None:
    movements = [(D(2023, 6, 1), 10000), (D(2025, 1, 1), 99999)]
    assert balance_days(movements, 2024) == 3_660_000


def test_two_movements_on_one_day_net_into_that_days_closing_balance() -> None:
    # 0 for 1 Jan–29 Feb (60 days), then 30.00 − 10.00 = 20.00 for 1 Mar–31 Dec (306 days)
    movements = [(D(2024, 3, 1), 3000), (D(2024, 3, 1), -1000)]
    assert balance_days(movements, 2024) == 2000 * 306


def test_the_year_starts_on_1_january() -> None:
    # a credit on 1 Jan counts that day's closing balance: 1.00 × 366 days
    assert balance_days([(D(2024, 1, 1), 100)], 2024) == 36_600
    # a credit on 2 Jan misses one day: 1.00 × 365 days
    assert balance_days([(D(2024, 1, 2), 100)], 2024) == 36_500


def test_movements_within_the_year_change_the_balance_from_their_day() -> None:
    # 1 Jan–31 Jan: 0 (31 d); 1 Feb–14 Feb: 200.00 (14 d); 15 Feb–31 Dec: 150.00 (321 d)
    movements = [(D(2024, 2, 15), -5000), (D(2024, 2, 1), 20000)]  # order does not matter
    assert balance_days(movements, 2024) == 20000 * 14 + 15000 * 321


def test_each_stretch_between_movements_adds_to_the_sum() -> None:
    # 100.00 brought in; +50.00 on 1 Apr; −20.00 on 1 Jul (2024):
    # 10000 × 91 (Jan–Mar) + 15000 × 91 (Apr–Jun) + 13000 × 184 (Jul–Dec)
    movements = [(D(2023, 1, 1), 10000), (D(2024, 4, 1), 5000), (D(2024, 7, 1), -2000)]
    assert balance_days(movements, 2024) == 910_000 + 1_365_000 + 2_392_000


def test_interest_divides_by_360_and_rounds_half_up_once() -> None:
    # 3,660,000 fen·days × 1.5% ÷ 360 = 152.5 fen → 153 (÷ 365 would give 150.4 → 150)
    rate = Rate.parse("0.015")
    assert daily_balance_interest([(D(2023, 12, 15), 10000)], 2024, rate) == 153
    # 36,000 fen·days (100 fen × 360 days) × 1% ÷ 360 = 1 fen exactly: 2024 from 7 Jan
    assert daily_balance_interest([(D(2024, 1, 7), 100)], 2024, Rate.parse("0.01")) == 1
    # 1 fen·day × 100% ÷ 360 → 0.003 fen → 0
    assert daily_balance_interest([(D(2024, 12, 31), 1)], 2024, Rate.parse("1")) == 0
    # 180 fen·days × 100% ÷ 360 = 0.5 fen → 1 (half up): 1 fen on 5 Jul 2024 (180 days left)
    assert daily_balance_interest([(D(2024, 7, 5), 1)], 2024, Rate.parse("1")) == 1


def test_no_rate_no_interest() -> None:
    assert daily_balance_interest([(D(2023, 1, 1), 10**9)], 2024, Rate.parse("0")) == 0


# -- inheritance: floor shares, leftover fen by largest remainder (DOMAIN.md 6) --------------


def test_the_leftover_fen_goes_to_the_largest_remainder_even_when_listed_last() -> None:
    # 10 fen × (1/3, 1/6, 1/2) = 3.33…, 1.66…, 5 → floors 3, 1, 5 (9 fen); the one fen left
    # goes to the second heir (remainder 0.66… beats 0.33…)
    assert split_balance(10, [Fraction(1, 3), Fraction(1, 6), Fraction(1, 2)]) == [3, 2, 5]


def test_equal_remainders_go_to_the_heir_listed_first() -> None:
    # 1 fen × (1/6, 5/12, 5/12) → remainders 1/6, 5/12, 5/12: the second heir, not the third
    assert split_balance(1, [Fraction(1, 6), Fraction(5, 12), Fraction(5, 12)]) == [0, 1, 0]
    # 100 fen in thirds: 33.33… each, one fen left, to the first listed
    assert split_balance(100, [Fraction(1, 3)] * 3) == [34, 33, 33]


def test_two_fen_left_go_to_the_two_largest_remainders() -> None:
    # 7 fen × (1/2, 1/4, 1/4) = 3.5, 1.75, 1.75 → floors 3, 1, 1; 2 fen left to heirs 2 and 3
    assert split_balance(7, [Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)]) == [3, 2, 2]
    # 5 fen × (3/10, 3/10, 2/5) = 1.5, 1.5, 2 → 1, 1, 2; 1 fen left to the first of the ties
    assert split_balance(5, [Fraction(3, 10), Fraction(3, 10), Fraction(2, 5)]) == [2, 1, 2]


def test_one_heir_takes_everything_and_nothing_splits_to_nothing() -> None:
    assert split_balance(12345, [Fraction(1)]) == [12345]
    assert split_balance(0, [Fraction(1, 2), Fraction(1, 2)]) == [0, 0]


@pytest.mark.parametrize("shares", [[Fraction(1, 2)], [Fraction(1, 2), Fraction(2, 3)], []])
def test_shares_must_sum_to_exactly_one(shares: list[Fraction]) -> None:
    with pytest.raises(ValueError, match="^shares must sum to exactly 1$"):
        split_balance(100, shares)


@pytest.mark.parametrize(
    ("text", "share"),
    [("1/3", Fraction(1, 3)), (" 2 / 4 ", Fraction(1, 2)), ("1/1", Fraction(1)),
     ("7/7", Fraction(1)), ("0.5", Fraction(1, 2)), ("1", Fraction(1)), (" 0.25 ", Fraction(1, 4)),
     ("10/20", Fraction(1, 2))],
)
def test_parse_share_reads_fractions_and_decimals_exactly(text: str, share: Fraction) -> None:
    assert parse_share(text) == share


@pytest.mark.parametrize(
    ("text", "message"),
    [("1/0", "share '1/0' divides by zero"),
     ("0/0", "share '0/0' divides by zero"),
     ("0", "share must be greater than 0 and at most 1, got '0'"),
     ("0/5", "share must be greater than 0 and at most 1, got '0/5'"),
     ("3/2", "share must be greater than 0 and at most 1, got '3/2'"),
     ("1.5", "share must be greater than 0 and at most 1, got '1.5'"),
     ("abc", 'share must be a fraction such as "1/3" or a decimal such as "0.5", got \'abc\''),
     ("-1/2", 'share must be a fraction such as "1/3" or a decimal such as "0.5", got \'-1/2\''),
     ("1/2/3", 'share must be a fraction such as "1/3" or a decimal such as "0.5", got \'1/2/3\''),
     (".5", 'share must be a fraction such as "1/3" or a decimal such as "0.5", got \'.5\''),
     (1, 'share must be a fraction such as "1/3" or a decimal such as "0.5", got 1')],
)
def test_parse_share_refuses_with_a_message_naming_the_share(text: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_share(text)
    assert str(error.value) == message


# -- money: Rate.apply's negative branch, round_half_up, parse_fen's contract ----------------


@pytest.mark.parametrize(
    ("rate", "fen", "expected"),
    [("0.02", -25, -1),          # −0.25 × 2% = −0.005 → −0.01 (half away from zero)
     ("0.02", -24, 0),           # −0.0048 → 0.00
     ("0.02", -123456, -2469),   # −24.6912 → −24.69
     ("0.70", -5, -4),           # −3.5 fen → −4 fen
     ("0.70", -1, -1),           # −0.7 fen → −1 fen
     ("0.65", -3, -2),           # −1.95 fen → −2 fen
     ("1", -999, -999)],
)
def test_rate_apply_rounds_negative_amounts_half_away_from_zero(
    rate: str, fen: int, expected: int
) -> None:
    assert Rate.parse(rate).apply(fen) == expected
    assert Rate.parse(rate).apply(-fen) == -expected  # symmetric with the positive branch


@pytest.mark.parametrize(
    ("value", "fen"),
    [(Fraction(0), 0), (Fraction(1, 3), 0), (Fraction(2, 3), 1), (Fraction(-1, 3), 0),
     (Fraction(-2, 3), -1), (Fraction(-5, 2), -3), (Fraction(10**15 + 1, 2), 10**15 // 2 + 1)],
)
def test_round_half_up_more_points(value: Fraction, fen: int) -> None:
    assert round_half_up(value) == fen


@pytest.mark.parametrize(
    ("text", "shown"),
    [("0.60", "0.6"), ("1", "1"), ("0.015", "0.015"), ("100", "100"), ("0.000001", "0.000001"),
     ("12.500000", "12.5"), (" 0.85 ", "0.85")],
)
def test_rate_reads_and_shows_exactly(text: str, shown: str) -> None:
    assert str(Rate.parse(text)) == shown


@pytest.mark.parametrize("bad", ["1000", "0.1234567", "", ".5", "1.", "0,5", "½"])
def test_rate_parse_refuses_with_the_rate_message(bad: str) -> None:
    with pytest.raises(MoneyFormatError) as error:
        Rate.parse(bad)
    assert str(error.value) == f'rate must be a decimal such as "0.60", got {bad!r}'


@pytest.mark.parametrize("bad", [0.6, 1, None, True])
def test_rate_parse_refuses_what_is_not_a_string(bad: object) -> None:
    with pytest.raises(MoneyFormatError) as error:
        Rate.parse(bad)
    assert str(error.value) == f'rate must be a string such as "0.60", not {bad!r}'


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.00", 0), ("0.01", 1), ("0.10", 10), ("12.30", 1230), ("100.05", 10005),
     ("9999999999999.99", 999999999999999)],  # 13 integer digits: the largest amount
)
def test_parse_fen_reads_two_decimal_strings(text: str, fen: int) -> None:
    assert parse_fen(text) == fen


@pytest.mark.parametrize(
    "bad", ["10000000000000.00", "12.345", "1.0.0", "1 2.00", "+1.00", "0x10"])
def test_parse_fen_refuses_more_than_13_digits_or_two_decimals(bad: str) -> None:
    with pytest.raises(MoneyFormatError, match="two decimals"):
        parse_fen(bad)


@pytest.mark.parametrize("bad", ["-1.00", "-0.01", "-12.30"])
def test_parse_fen_refuses_negative_amounts_saying_so(bad: str) -> None:
    with pytest.raises(MoneyFormatError, match="must not be negative"):
        parse_fen(bad)


@pytest.mark.parametrize("bad", [1.5, 0.0, False, None, b"1.00", ["1.00"]])
def test_parse_fen_refuses_what_is_not_a_string(bad: object) -> None:
    with pytest.raises(MoneyFormatError, match='must be a string such as "12.30"'):
        parse_fen(bad)


def _strict() -> bool:
    """Issue 8 makes parse_fen accept only "D.DD"; this branch may predate it."""
    try:
        parse_fen("12")
    except MoneyFormatError:
        return True
    return False


@pytest.mark.skipif(not _strict(), reason="strict parse_fen (issue 8) not merged yet")
@pytest.mark.parametrize("bad", [0, 12, "12", "12.3", "0", "1.5", "١٢.٣٠"])
def test_strict_parse_fen_refuses_ints_fewer_decimals_and_non_ascii_digits(bad: object) -> None:
    with pytest.raises(MoneyFormatError):
        parse_fen(bad)


@pytest.mark.parametrize(
    ("fen", "text"), [(999999999999999, "9999999999999.99"), (-100, "-1.00"), (5, "0.05")])
def test_format_fen_more_points(fen: int, text: str) -> None:
    assert format_fen(fen) == text


# -- credits: amounts, articles and bases (DOMAIN.md 4) -------------------------------------

BOOK = PolicyBook.load(PARAMETERS)
M = Month.parse


def rules(region: str, month: str = "2024-12"):
    return BOOK.in_force(region, M(month).last_day)


def facts(scheme: str = "standard", retired_on: str | None = None, born: str = "1970-01-01",
          **more: object) -> PersonFacts:
    return PersonFacts(birth_date=D.fromisoformat(born), scheme=scheme,
                       retired_on=D.fromisoformat(retired_on) if retired_on else None, **more)


def refusal(call, *args) -> tuple[ErrorCode, str]:
    with pytest.raises(LedgerError) as error:
        call(*args)
    return error.value.code, error.value.message


@pytest.mark.parametrize(
    ("region", "scheme", "article"),
    [("suizhou", "standard", "suizhou art. 14(一)"), ("nanchang", "standard", "nanchang art. 18"),
     ("jilin", "standard", "jilin (七)"), ("yunnan", "standard", "yunnan art. 9"),
     ("chongqing", "employer", "chongqing art. 9")],
)
def test_a_contribution_credit_names_its_article_and_basis(
    region: str, scheme: str, article: str
) -> None:
    # 5000.00 × 2% = 100.00
    assert contribution_credit(rules(region), facts(scheme), M("2024-12"), 500000) == Credit(
        10000, article, "5000.00 × 0.02")


def test_a_lump_sum_payer_contributes_under_the_lump_sum_article_until_the_period_ends() -> None:
    payer = facts("lump_sum", lump_sum_until=M("2024-06"))
    article = ("chongqing art. 9 (趸缴期间按趸缴基数2%计入，期满后按照退休人员标准计入)")
    # 3000.00 × 2% = 60.00
    assert contribution_credit(rules("chongqing"), payer, M("2024-06"), 300000) == Credit(
        6000, article, "3000.00 × 0.02")
    assert refusal(contribution_credit, rules("chongqing"), payer, M("2024-07"), 300000) == (
        ErrorCode.NOT_EMPLOYED,
        f"2024-07 is after the lump-sum period ending 2024-06; the retired allotment applies "
        f"({article})")
    assert refusal(retired_allotment, rules("chongqing"), payer, M("2024-06")) == (
        ErrorCode.NOT_RETIRED,
        "2024-06 is inside the lump-sum period ending 2024-06: record a contribution instead")
    # after the period: the under-70 allotment, 105.00 (born 1970)
    assert retired_allotment(rules("chongqing"), payer, M("2024-07")) == Credit(
        10500, "chongqing art. 9", "under 70")


def test_a_lump_sum_period_where_the_policy_names_no_article_uses_the_employed_one() -> None:
    # suizhou has no lump_sum_scheme_article: the employed article applies in the period
    payer = facts(lump_sum_until=M("2024-06"))
    assert contribution_credit(rules("suizhou"), payer, M("2024-05"), 100000) == Credit(
        2000, "suizhou art. 14(一)", "1000.00 × 0.02")


def test_the_wrong_category_is_refused_with_a_message_naming_the_month() -> None:
    assert refusal(contribution_credit, rules("suizhou"), facts(retired_on="2010-01-01"),
                   M("2024-01"), 500000) == (
        ErrorCode.NOT_EMPLOYED,
        "the person is retired in 2024-01: record an allotment instead of a contribution")
    assert refusal(retired_allotment, rules("suizhou"), facts(), M("2024-01")) == (
        ErrorCode.NOT_RETIRED,
        "the person is not retired in 2024-01 (allotments start the month after retirement)")


@pytest.mark.parametrize(
    ("region", "scheme", "message"),
    [("suizhou", "pooling_only",
      "scheme 'pooling_only' has no personal account in suizhou (suizhou art. 13, art. 14(四))"),
     ("yunnan", "pooling_only",  # yunnan's file gives no article: the rulebook's
      "scheme 'pooling_only' has no personal account in yunnan (DOMAIN.md 1)")],
)
def test_no_personal_account_names_the_scheme_and_article(
    region: str, scheme: str, message: str
) -> None:
    expected = (ErrorCode.NO_PERSONAL_ACCOUNT, message)
    assert refusal(contribution_credit, rules(region), facts(scheme), M("2024-12"), 1) == (
        expected)
    assert refusal(retired_allotment, rules(region), facts(scheme, "2010-01-01"),
                   M("2024-12")) == expected


def test_a_resettled_person_gets_no_credit_where_the_policy_says_so() -> None:
    moved = facts(resettled=True)
    message = ("the person is resettled outside the region (异地安置): the account takes no "
               "more credits (nanchang art. 28)")
    assert refusal(contribution_credit, rules("nanchang"), moved, M("2024-12"), 500000) == (
        ErrorCode.ACCOUNT_CLOSED, message)
    assert refusal(retired_allotment, rules("nanchang"),
                   facts(retired_on="2010-01-01", resettled=True), M("2024-12")) == (
        ErrorCode.ACCOUNT_CLOSED, message)
    assert refusal(lump_sum_credit, rules("nanchang"), moved, 100000) == (
        ErrorCode.ACCOUNT_CLOSED, message)
    # suizhou's seed is silent on resettlement: credited as before
    assert contribution_credit(rules("suizhou"), moved, M("2024-12"), 500000).amount == 10000
    assert retired_allotment(rules("suizhou"), facts(retired_on="2010-01-01", resettled=True),
                             M("2024-12")).amount == 7000


@pytest.mark.parametrize(
    ("region", "scheme", "born", "credit"),
    [("suizhou", "standard", "1950-01-01", Credit(7000, "suizhou art. 14(二)", "fixed")),
     # 3100.00 × 2.5% = 77.50
     ("nanchang", "standard", "1950-01-01",
      Credit(7750, "nanchang art. 19, art. 20", "0.025 × average pension")),
     # 3000.00 × 2% = 60.00
     ("jilin", "standard", "1950-01-01", Credit(6000, "jilin (七)", "0.02 × average pension")),
     ("yunnan", "standard", "1960-01-01", Credit(10600, "yunnan art. 9", "under 70")),
     ("yunnan", "standard", "1950-01-01", Credit(14200, "yunnan art. 9", "70 and over")),
     ("chongqing", "employer", "1960-01-01", Credit(10500, "chongqing art. 9", "under 70")),
     ("chongqing", "employer", "1950-01-01", Credit(11500, "chongqing art. 9", "70 and over"))],
)
def test_an_allotment_names_its_article_and_basis(
    region: str, scheme: str, born: str, credit: Credit
) -> None:
    retiree = facts(scheme, retired_on="2012-01-01", born=born)
    assert retired_allotment(rules(region), retiree, M("2024-12")) == credit


@pytest.mark.parametrize(
    ("standard", "total", "credit"),
    [(10, 30, Credit(2333, "suizhou art. 14(二), suizhou art. 14(三)",
                     "fixed × 10/30 standard years")),       # 70 × 10/30 = 23.333… → 23.33
     (None, 30, Credit(7000, "suizhou art. 14(二), suizhou art. 14(三)",
                       "fixed × 30/30 standard years")),     # no standard years known: all are
     (0, 0, Credit(7000, "suizhou art. 14(二)", "fixed")),     # no total: no proration
     (5, None, Credit(7000, "suizhou art. 14(二)", "fixed"))],
)
def test_suizhou_mixed_history_article_and_basis(
    standard: int | None, total: int | None, credit: Credit
) -> None:
    retiree = facts(retired_on="2015-01-01", standard_years=standard, total_years=total)
    assert retired_allotment(rules("suizhou", "2023-05"), retiree, M("2023-05")) == credit


def test_the_one_off_lump_sum_credit_names_nanchang_art_21_and_its_basis() -> None:
    # 36000.05 × 2% = 720.001 → 720.00
    assert lump_sum_credit(rules("nanchang"), facts(), 3600005) == Credit(
        72000, "nanchang art. 21", "36000.05 × 0.02")
    assert refusal(lump_sum_credit, rules("nanchang"), facts("pooling_only"), 100000)[0] is (
        ErrorCode.NO_PERSONAL_ACCOUNT)
    assert refusal(require_lump_sum, rules("suizhou")) == (
        ErrorCode.NO_POLICY_IN_FORCE,
        "suizhou has no one-off lump-sum credit (only nanchang art. 21 provides one)")


# -- pricing: every article attached only when it applies (DOMAIN.md 3.2) -------------------


def test_a_prescribed_visit_carries_the_level_article_and_its_figures() -> None:
    # suizhou retired, level 3 visit on a level-2 prescription: deductible 400.00,
    # (1000.00 − 400.00) × 75% = 450.00; cap 1600.00; self pay 1000.00 + 10.00 − 450.00
    price = price_visit(rules("suizhou", "2024-06"), Visit(3, 100000, 1000, prescribed_level=2),
                        "retired", "standard", YearUsage())
    assert (price.category, price.level, price.rate, price.eligible_in_scope) == (
        "retired", 2, Rate.parse("0.75"), 100000)
    assert (price.deductible_applied, price.payable, price.fund_raw, price.fund_paid) == (
        40000, 60000, 45000, 45000)
    assert (price.cap, price.cap_left, price.over_cap, price.self_pay) == (160000, 160000, 0, 56000)
    assert price.pooling_reason is None
    assert price.articles == {"deductible": "suizhou art. 8", "rate": "suizhou art. 8",
                              "cap": "suizhou art. 8, art. 9", "category": "suizhou art. 12",
                              "level": "suizhou art. 11"}


@pytest.mark.parametrize(("used", "over"), [(0, 0), (282000, 0), (282001, 1)])
def test_the_over_cap_article_only_when_the_cap_cuts_the_fund(used: int, over: int) -> None:
    # chongqing employed L1: (500.00 − 200.00) × 60% = 180.00; cap 3000.00, of which `used`
    # is paid already: 282000 leaves exactly 18000 (not over), 282001 leaves 17999 (1 over)
    price = price_visit(rules("chongqing"), Visit(1, 50000), "employed", "employer",
                        YearUsage(in_scope=0, fund_paid=used))
    assert (price.fund_raw, price.fund_paid, price.over_cap) == (18000, 18000 - over, over)
    expected = {"deductible": "chongqing art. 4", "rate": "chongqing art. 5",
                "cap": "chongqing art. 6", "category": "DOMAIN.md 3.2 (次月)"}
    if over:
        expected["over_cap"] = "chongqing art. 8"
    assert price.articles == expected


def test_a_denied_visit_names_the_reason_and_its_article() -> None:
    price = price_visit(rules("yunnan"), Visit(2, 30000, 500, flags=("not_designated",)),
                        "employed", "standard", YearUsage())
    assert (price.pooling_reason, price.eligible_in_scope, price.fund_paid, price.self_pay) == (
        "not_designated", 0, 0, 30500)
    assert price.articles == {"deductible": "yunnan art. 6", "rate": "yunnan art. 7",
                              "cap": "yunnan art. 8", "category": "DOMAIN.md 3.2 (次月)",
                              "pooling_reason": "yunnan art. 5"}


def test_a_lump_sum_rate_without_its_article_is_refused_at_load(tmp_path) -> None:
    """Every credit names its article: a one-off credit with none would be untraceable."""
    from policies.book import DATA_DIR, PolicyFileError, load_file

    text = (DATA_DIR / "nanchang-2023.toml").read_text(encoding="utf-8")
    assert 'lump_sum_article = "nanchang art. 21"\n' in text
    path = tmp_path / "nanchang-2099.toml"
    path.write_text(text.replace('lump_sum_article = "nanchang art. 21"\n', ""), encoding="utf-8")
    with pytest.raises(PolicyFileError, match=r"^nanchang-2099\.toml: .*credits.*"
                                              r"lump_sum_rate needs lump_sum_article"):
        load_file(path)


@pytest.mark.parametrize(("bad", "zh"), [
    ("one half", '继承份额须为分数（如 "1/3"）或小数（如 "0.5"）'),
    (None, '继承份额须为分数（如 "1/3"）或小数（如 "0.5"）'),
    ("1/0", "继承份额的分母不能为 0"),
    ("3/2", "继承份额须大于 0 且不超过 1"),
    ("0", "继承份额须大于 0 且不超过 1"),
])
def test_a_bad_share_says_what_to_fix_in_chinese_too(bad: object, zh: str) -> None:
    from policies.errors import InputError

    with pytest.raises(InputError) as refused:
        parse_share(bad)
    assert refused.value.zh == zh


def test_shares_not_summing_to_one_say_so_in_chinese_too() -> None:
    from policies.errors import InputError

    with pytest.raises(InputError) as refused:
        split_balance(100, [Fraction(1, 2), Fraction(1, 3)])
    assert refused.value.zh == "继承份额之和须恰好为 1"
