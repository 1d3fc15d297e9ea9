"""Facts about an insured person that the rules need, and the category in force on a day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from policies.calendar import Month, effective_from
from policies.model import Category


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What pricing and crediting read about a person; no balances, no history."""

    birth_date: dt.date
    scheme: str
    retired_on: dt.date | None = None
    standard_years: int | None = None
    total_years: int | None = None
    lump_sum_until: Month | None = None
    resettled: bool = False  # 异地安置: settled outside the region on the agency's record

    def category_on(self, day: dt.date) -> Category:
        """Retired from the month after retirement (次月), employed before."""
        if self.retired_on is not None and day >= effective_from(self.retired_on):
            return "retired"
        return "employed"

    def category_in(self, month: Month) -> Category:
        """A month counts as its last day (FORMAT.md)."""
        return self.category_on(month.last_day)

    def is_70_or_over_in(self, month: Month) -> bool:
        """The 70-and-over band starts the month after the 70th birthday (次月)."""
        birthday = _anniversary(self.birth_date, 70)
        return month.first_day >= effective_from(birthday)

    def in_lump_sum_period(self, month: Month) -> bool:
        return self.lump_sum_until is not None and month <= self.lump_sum_until


def _anniversary(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year: the birthday is 28 February
        return born.replace(year=born.year + years, day=28)
