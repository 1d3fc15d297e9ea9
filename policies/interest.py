"""Account interest on the daily-balance method (积数计息, DOMAIN.md 7).

``interest = round_half_up(Σ daily closing balances over the year × annual rate ÷ 360)``.
A movement dated on a day counts in that day's closing balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fractions import Fraction

from policies.money import Rate, round_half_up


def balance_days(movements: Iterable[tuple[dt.date, int]], year: int) -> int:
    """Σ of the closing balance of every day of ``year`` (fen·days)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    opening = 0
    by_day: dict[dt.date, int] = {}
    for day, delta in movements:
        if day < first:
            opening += delta
        elif day <= last:
            by_day[day] = by_day.get(day, 0) + delta
    total, balance, day = 0, opening, first
    for change_day in sorted(by_day):
        total += balance * (change_day - day).days
        balance += by_day[change_day]
        day = change_day
    return total + balance * ((last - day).days + 1)


def daily_balance_interest(
    movements: Iterable[tuple[dt.date, int]], year: int, rate: Rate
) -> int:
    """The year's interest in fen, rounded half up once."""
    if rate.value == 0:
        return 0
    return round_half_up(Fraction(balance_days(movements, year)) * rate.value / 360)
