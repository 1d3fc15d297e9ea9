"""Interest over the days an account was open in a rated region (DOMAIN.md 9), the pure
rule: figures worked out by hand, fen·days and one rounding for the whole year."""

from __future__ import annotations

import datetime as dt

from policies.interest import balance_days, daily_balance_interest, interest_over_periods
from policies.money import Rate

d = dt.date
HELD = [(d(2024, 1, 1), 20000)]  # 200.00 all year (2024 has 366 days)


def test_only_the_days_inside_the_spans_count() -> None:
    assert balance_days(HELD, 2024) == 20000 * 366
    assert balance_days(HELD, 2024, [(d(2024, 7, 1), d(2024, 12, 31))]) == 20000 * 184
    assert balance_days(HELD, 2024, [(d(2024, 1, 1), d(2024, 1, 31)),
                                     (d(2024, 3, 1), d(2024, 3, 2))]) == 20000 * 33
    assert balance_days(HELD, 2024, []) == 0


def test_spans_are_clipped_to_the_year() -> None:
    assert balance_days(HELD, 2024, [(d(2023, 6, 1), d(2024, 1, 10))]) == 20000 * 10
    assert balance_days(HELD, 2024, [(d(2024, 12, 30), d(2025, 3, 1))]) == 20000 * 2
    assert balance_days(HELD, 2024, [(d(2023, 1, 1), d(2023, 12, 31))]) == 0


def test_a_movement_inside_a_span_splits_it() -> None:
    moves = [(d(2024, 1, 1), 100), (d(2024, 1, 5), 50)]
    # 01-03, 01-04 at 100; 01-05, 01-06 at 150 (a movement counts in its own day)
    assert balance_days(moves, 2024, [(d(2024, 1, 3), d(2024, 1, 6))]) == 200 + 300
    # the last day of a span is included, the day after is not
    assert balance_days(moves, 2024, [(d(2024, 1, 4), d(2024, 1, 4))]) == 100
    assert balance_days(moves, 2024, [(d(2024, 1, 5), d(2024, 1, 5))]) == 150


def test_two_rates_are_summed_exactly_then_rounded_once() -> None:
    held = [(d(2023, 1, 1), 10000)]
    a = [(d(2024, 1, 1), d(2024, 4, 9))]     # 100 days at 1.5%: 41.666… fen
    b = [(d(2024, 4, 10), d(2024, 5, 29))]   # 50 days at 3%:    41.666… fen
    assert balance_days(held, 2024, a) == 10000 * 100
    assert balance_days(held, 2024, b) == 10000 * 50
    periods = [(Rate.parse("0.015"), a), (Rate.parse("0.03"), b)]
    assert interest_over_periods(held, 2024, periods) == 83   # not 42 + 42
    assert interest_over_periods(held, 2024, [(Rate.parse("0"), a)]) == 0


def test_the_whole_year_is_the_default() -> None:
    rate = Rate.parse("0.015")
    # 20000 × 366 × 0.015 / 360 = 305.0 fen
    assert daily_balance_interest(HELD, 2024, rate) == 305
    assert daily_balance_interest(HELD, 2024, rate, [(d(2024, 1, 1), d(2024, 3, 31))]) == 76
