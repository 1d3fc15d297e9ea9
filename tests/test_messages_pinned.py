"""The exact words of the pure rules' refusals (issue 8's strict input, issue 14's
mutation testing): what a clerk reads must not drift unnoticed, in English or Chinese."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.book import PolicyBook
from policies.credits import require_lump_sum_region
from policies.errors import ErrorCode, LedgerError
from policies.interest import interest_over_periods
from policies.money import MoneyFormatError, Rate, parse_fen

HOW = 'send ASCII digits with exactly two decimals, at most 13 before the point, e.g. "12.30"'


@pytest.mark.parametrize(("bad", "message"), [
    (12, 'amount must be a string such as "12.30", not the int 12'),
    (None, 'amount must be a string such as "12.30", not the NoneType None'),
    ("-1.00", f"amount must not be negative: {HOW}; got '-1.00'"),
    ("10000000000000.00", f"amount has more than 13 integer digits: {HOW}; "
                          "got '10000000000000.00'"),
    ("1234567890123.5", f"amount is malformed: {HOW}; got '1234567890123.5'"),
    ("abcdefghijklmnopq.00", f"amount is malformed: {HOW}; got 'abcdefghijklmnopq.00'"),
    ("１２３４５６７８９０１２３４.00", f"amount is malformed: {HOW}; "
                                   "got '１２３４５６７８９０１２３４.00'"),
    ("x" * 40, f"amount is malformed: {HOW}; got '{'x' * 40}'"),
    ("x" * 41, f"amount is malformed: {HOW}; got '{'x' * 40}…'"),
])
def test_parse_fen_says_exactly_what_is_wrong(bad: object, message: str) -> None:
    with pytest.raises(MoneyFormatError) as refused:
        parse_fen(bad)
    assert str(refused.value) == message
    assert refused.value.zh == ('金额须为字符串，ASCII 数字，恰好两位小数，整数部分不超过 13 位，'
                                '例如 "12.30"')


@pytest.mark.parametrize(("bad", "zh"), [
    (0.6, '比例须为字符串，例如 "0.60"'), ("60%", '比例须为小数，例如 "0.60"')])
def test_a_bad_rate_says_so_in_chinese(bad: object, zh: str) -> None:
    with pytest.raises(MoneyFormatError) as refused:
        Rate.parse(bad)
    assert refused.value.zh == zh


def test_rates_round_half_up_on_both_sides_of_zero() -> None:
    rate = Rate.parse("0.5")
    assert rate.apply(1) == 1 and rate.apply(-1) == -1 and rate.apply(0) == 0
    assert rate.apply(3) == 2 and rate.apply(-3) == -2
    assert str(Rate.parse("0.000001")) == "0.000001" and str(Rate.parse("0.60")) == "0.6"


def test_lump_sum_outside_nanchang_is_refused_with_its_article() -> None:
    book = PolicyBook.load({"jilin": {}, "nanchang": {}})
    require_lump_sum_region(book.versions["nanchang"])
    with pytest.raises(LedgerError) as refused:
        require_lump_sum_region(book.versions["suizhou"])
    error = refused.value
    assert error.code == ErrorCode.INVALID_INPUT and error.field == "lump_sum"
    assert error.message == ("lump_sum: suizhou has no one-off lump-sum credit (only "
                             "nanchang art. 21 provides one)")
    assert error.message_zh == "一次性预缴/补缴计入仅南昌市有此规定（第二十一条），该统筹地区不能办理"


def test_interest_is_rounded_once_without_a_bias() -> None:
    # 1.79 held 100 days at 1%: 179 × 100 × 0.01 / 360 = 0.497… fen → 0 (not 1)
    held = [(dt.date(2023, 1, 1), 179)]
    span = [(dt.date(2024, 1, 1), dt.date(2024, 4, 9))]
    assert interest_over_periods(held, 2024, [(Rate.parse("0.01"), span)]) == 0
    assert interest_over_periods(held, 2024, []) == 0
