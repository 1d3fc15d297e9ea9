"""Account interest on the daily-balance method (积数计息, DOMAIN.md 7).

``interest = round_half_up(Σ daily closing balances × annual rate ÷ 360)``, rounded once.
A movement dated on a day counts in that day's closing balance. Interest accrues only on
the days the account was open in a region that sets a rate (DOMAIN.md 9): the caller says
which days those are, as inclusive spans, each with its region's rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from fractions import Fraction

from policies.money import Rate, round_half_up

Span = tuple[dt.date, dt.date]  # first and last day, both included


def balance_days(
    movements: Iterable[tuple[dt.date, int]], year: int, spans: Sequence[Span] | None = None
) -> int:
    """Σ of the closing balance of every day of ``year`` (fen·days), or of the days of
    ``year`` inside ``spans`` only."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    opening = 0
    by_day: dict[dt.date, int] = {}
    for day, delta in movements:
        if day < first:
            opening += delta
        elif day <= last:
            by_day[day] = by_day.get(day, 0) + delta
    counted = [(max(a, first), min(b, last)) for a, b in (spans if spans is not None
                                                          else [(first, last)])]
    total, balance, day = 0, opening, first
    for change_day in [*sorted(by_day), last + dt.timedelta(days=1)]:
        # ``balance`` is the closing balance of every day from ``day`` to change_day - 1
        if balance:
            total += balance * sum(max(0, (min(b, change_day - dt.timedelta(days=1))
                                           - max(a, day)).days + 1) for a, b in counted)
        balance += by_day.get(change_day, 0)
        day = change_day
    return total


def daily_balance_interest(
    movements: Iterable[tuple[dt.date, int]], year: int, rate: Rate,
    spans: Sequence[Span] | None = None,
) -> int:
    """The year's interest in fen at one ``rate``, over ``spans`` (default: the whole year)."""
    return interest_over_periods(list(movements), year, [(rate, spans)])


def interest_over_periods(
    movements: Sequence[tuple[dt.date, int]], year: int,
    periods: Iterable[tuple[Rate, Sequence[Span] | None]],
) -> int:
    """The year's interest in fen when each period of days has its own rate (a person who
    moved between regions): the exact sum over the periods, rounded half up once."""
    exact = sum((Fraction(balance_days(movements, year, spans)) * rate.value
                 for rate, spans in periods if rate.value != 0), Fraction(0))
    return round_half_up(exact / 360)
