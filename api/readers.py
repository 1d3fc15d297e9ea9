"""The query side of the API: the projections' views by default, the aggregates on request.

A person's account and pooling are read with the request's ``consistency``:

- ``eventual`` (default): the read models (视图) kept by ``gongji projections run`` — fast,
  and behind the writes by the worker's delay. The answer carries the views' position (the
  last event notification applied, read just before the row, so a lower bound).
- ``strong``: the event-sourced aggregates themselves — every write acknowledged before the
  request is included. The HTTP conformance driver asks for this.

When the views do not know the person yet (enrolled, but the worker has not caught up), the
aggregate answers rather than a 404 for someone who exists: the answer then says
``source: aggregate`` and ``Gongji-Consistency: strong``. A person unknown to the aggregate
too is a 404 either way. History and settlements have no read model: the aggregates answer.
The fund report and family spending exist only as read models: the views answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from ledger import Ledger
from ledger.queries import AccountView
from projections import ViewReader, read_account
from projections.reader import FamilyView, FundTotals, Sourced


class Consistency(StrEnum):
    """读一致性: eventual reads the projections' views, strong the aggregates."""

    STRONG = "strong"
    EVENTUAL = "eventual"


@dataclass(frozen=True)
class Readers:
    """The two sources of the account queries, wired once per worker process."""

    ledger: Ledger
    views: ViewReader

    def account(self, person: str, as_of: dt.date,
                consistency: Consistency) -> Sourced[AccountView]:
        """The account from the source ``consistency`` asks for (see the module's doc)."""
        if consistency is Consistency.EVENTUAL:
            found = self.viewed(person, as_of)
            if found is not None:
                return found
        return read_account(self.ledger, None, person, "strong", as_of)

    def viewed(self, person: str, as_of: dt.date) -> Sourced[AccountView] | None:
        """The account from the views in one statement (or one Redis round trip): short
        enough to run on the event loop. None when the views do not know the person."""
        return self.views.sourced(person, as_of)

    def family(self, payer: str) -> Sourced[FamilyView]:
        """Whom ``payer`` bound and what their account paid for them, from the views.

        Views with nothing for ``payer`` ask the aggregate whether the person exists, so
        that an unknown person is a 404 and a known one an empty answer.
        """
        position = self.views.position()
        family = self.views.family(payer)
        if not family.bindings and not family.spending:
            self.ledger.account(payer)  # unknown_person if nobody is enrolled as payer
        return Sourced(family, "views", position)

    def fund_totals(self, region: str | None, year: int | None, month: int | None,
                    level: int | None) -> Sourced[list[FundTotals]]:
        """The fund report's rows from the views (no aggregate holds them)."""
        position = self.views.position()
        return Sourced(self.views.fund_totals(region, year, month, level), "views", position)
