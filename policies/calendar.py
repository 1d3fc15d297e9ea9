"""Months and the 次月 rule: a change takes effect from the first day of the next month."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from policies.errors import InputError

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
FIRST_YEAR, LAST_YEAR = 1900, 2199  # FORMAT.md: years 1900–2199


def _year_in_range(year: int, text: object) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(f"year must be {FIRST_YEAR}–{LAST_YEAR}, got {text!r}",
                         f"年份须在 {FIRST_YEAR}–{LAST_YEAR} 之间")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month such as 2024-03 (a contribution month, an allotment month)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: object) -> Month:
        if isinstance(text, Month):
            return text
        known = _PARSED.get(text) if cls is Month and type(text) is str else None
        if known is not None:  # a month is immutable: the one parsed before is as good
            return known
        match = _MONTH.fullmatch(text) if isinstance(text, str) else None
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f'month must be "YYYY-MM", got {text!r:.40}',
                             '月份须为 "YYYY-MM" 格式，例如 "2024-03"')
        _year_in_range(int(match.group(1)), text)
        month = cls(int(match.group(1)), int(match.group(2)))
        if cls is Month and type(text) is str:
            if len(_PARSED) >= _KEPT:
                _PARSED.clear()
            _PARSED[text] = month
        return month

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return _last_day(self.year, self.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return _text(self.year, self.month)


#: months parsed from text, by the text (a batch job parses the same month for every row)
_PARSED: dict[str, Month] = {}
_KEPT = 4096


@lru_cache(maxsize=_KEPT)
def _last_day(year: int, month: int) -> dt.date:
    """A month's last day, worked out once (every credit's category asks for it)."""
    return Month(year, month).next().first_day - dt.timedelta(days=1)


@lru_cache(maxsize=_KEPT)
def _text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def parse_date(text: object) -> dt.date:
    """Strict ISO date: ``2023-02-30`` and ``2023-2-3`` are refused; a ``date`` passes."""
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        _year_in_range(text.year, text)
        return text
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise InputError(f'date must be "YYYY-MM-DD", got {text!r:.40}',
                         '日期须为 "YYYY-MM-DD" 格式，例如 "2024-03-15"')
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a calendar date", f"{text} 不是有效的日历日期") from None
    _year_in_range(day.year, text)
    return day


def effective_from(change: dt.date) -> dt.date:
    """First day of the month after ``change`` (次月: suizhou art. 12, nanchang art. 8)."""
    return Month.of(change).next().first_day
