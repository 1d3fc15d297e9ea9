"""The query side of the API, behind one small interface so that read models can take over.

Every read route asks a :class:`Reader` chosen by the request's ``consistency``:

- ``strong`` (default): the event-sourced aggregates themselves — the answer includes every
  write acknowledged before the request. This is what the HTTP conformance driver uses.
- ``eventual``: the projections' read models (faster, may lag the writes by the worker's
  delay). A deployment wires them with ``Readers(strong, eventual=view_reader)``; until it
  does, ``eventual`` requests are answered by the strong reader. Either way the
  ``Gongji-Consistency`` response header says which one answered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ledger import Ledger
from ledger.queries import AccountView, EventView
from ledger.transaction import Transaction


class Consistency(StrEnum):
    """读一致性: strong reads the aggregates, eventual the projections."""

    STRONG = "strong"
    EVENTUAL = "eventual"


class Reader(Protocol):
    def account(self, person: str, as_of: dt.date) -> AccountView:
        """Balance, status, region, pooling years; ``category`` as in force on ``as_of``."""

    def events(self, person: str, limit: int, before: int | None) -> list[EventView]:
        """A page of the person's account events, newest first."""

    def transaction(self, client_id: str) -> Transaction:
        """A settlement or spend by id, or ``unknown_transaction``."""


@dataclass(frozen=True)
class AggregateReader:
    """Strongly consistent reads from the ledger's aggregates."""

    ledger: Ledger

    def account(self, person: str, as_of: dt.date) -> AccountView:
        return self.ledger.account_view(person, as_of)

    def events(self, person: str, limit: int, before: int | None) -> list[EventView]:
        return self.ledger.account_events(person, limit, before)

    def transaction(self, client_id: str) -> Transaction:
        return self.ledger.transaction(client_id)


@dataclass(frozen=True)
class Readers:
    strong: Reader
    eventual: Reader | None = None

    def pick(self, consistency: Consistency) -> tuple[Reader, Consistency]:
        """The reader for ``consistency`` and the consistency it actually gives."""
        if consistency is Consistency.EVENTUAL and self.eventual is not None:
            return self.eventual, Consistency.EVENTUAL
        return self.strong, Consistency.STRONG
