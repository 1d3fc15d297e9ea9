"""Months and the 次月 rule: a change takes effect from the first day of the next month."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month such as 2024-03 (a contribution month, an allotment month)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: object) -> Month:
        if isinstance(text, Month):
            return text
        match = _MONTH.match(text) if isinstance(text, str) else None
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f'month must be "YYYY-MM", got {text!r}')
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_date(text: object) -> dt.date:
    """Strict ISO date: ``2023-02-30`` and ``2023-2-3`` are refused; a ``date`` passes."""
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        return text
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f'date must be "YYYY-MM-DD", got {text!r}')
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def effective_from(change: dt.date) -> dt.date:
    """First day of the month after ``change`` (次月: suizhou art. 12, nanchang art. 8)."""
    return Month.of(change).next().first_day
