"""The year end (年度结转, DOMAIN.md 7): close pooling years, credit interest, carry over.

The command is the write loop around the pure decider in :mod:`ledger.deciders.year_end`
(the rules are there), one account at a time. This module also reads what interest needs
from an account's events: its balance moves with their value dates, its days per region;
for the batch job, a key range of histories at a time (:class:`Histories`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.adapters.bulk import BulkReader
from ledger.adapters.state import StateCodec
from ledger.commands import CloseYear
from ledger.core import LedgerCore
from ledger.deciders import year_end
from ledger.deciders.year_end import Append, Closed, YearHistory
from ledger.movement import KINDS, movement, region_spans
from ledger.prefetch import Fetched, Needs
from ledger.results import YearClosed


class YearEndCommands(LedgerCore):
    """年度结转 for one year, over every account or one region's."""

    def close_year(self, cmd: CloseYear, ids: Iterable[UUID] | None = None) -> YearClosed:
        """Close ``cmd.year`` for every account (or those given); idempotent."""
        closed = accounts = interest = 0
        for account_id in ids if ids is not None else self.account_ids():
            outcome = self.close_account_year(account_id, cmd)
            if outcome is not None:
                closed += outcome[0]
                interest += outcome[1]
                accounts += 1
        return YearClosed(closed=closed, accounts=accounts, interest=interest)

    def close_account_year(self, account_id: UUID, cmd: CloseYear) -> tuple[int, int] | None:
        """Close one account's year; ``(pooling years closed, interest)`` or None if done."""

        def needs(got: Fetched) -> Needs:  # the account, then its history if interest needs it
            account = got.aggregate(account_id)
            wants = account is not None and year_end.wants_history(account, self.book, cmd)
            return Needs(ids=[account_id], histories=[account_id] if wants else [])

        return self.decide_and_save(needs, lambda got: year_end.decide_year_close(
            got.aggregate(account_id), self.book, cmd,
            year_history(got.history(account_id), cmd.year)))

    def plan_year_close(self, account: Account, cmd: CloseYear, append: Append,
                        histories: Histories | None = None) -> Closed | None:
        """Record the year's close on the loaded ``account`` through ``append`` (the batch
        job's entry, :func:`year_end.plan_year_close`); None if there is nothing to do.
        Reads the account's history (from ``histories`` if given) when interest needs it."""
        events = None
        if year_end.wants_history(account, self.book, cmd):
            events = histories.of(account) if histories is not None else self.history(account.id)
        return year_end.plan_year_close(account, self.book, cmd,
                                        year_history(events, cmd.year), append)

    def movements(self, account_id: UUID) -> list[tuple[dt.date, int]]:
        """Every balance change of an account with its value date, from the events alone."""
        return [move for event in self.events.get(account_id)
                if (move := movement(event)) is not None]


def year_history(events: list[Any] | None, year: int) -> YearHistory | None:
    """What the interest of ``year`` needs from an account's ``events`` (None: not read)."""
    if events is None:
        return None
    return YearHistory(region_spans(events, year),
                       [move for event in events if (move := movement(event)) is not None])


#: events read per query by :class:`Histories` (about 2 MiB of rows at 100 bytes each)
READ_AHEAD = 20_000


class Histories:
    """Accounts' histories read ahead in key order, :data:`READ_AHEAD` events a query, for
    a job that visits the accounts in key order (the year end): one range read serves the
    next few thousand accounts instead of a query each.

    An account's read-ahead events are used only if they are all of its events up to its
    loaded version (versions run 1, 2, …, so the count says it); otherwise (the end of a
    read, or events stored since) the events are read again from this account on."""

    def __init__(self, ledger: LedgerCore) -> None:
        self.ledger = ledger
        self.reader = BulkReader(ledger)
        mapper = ledger.mapper  # eventsourcing's own mapping, its JSON parsed by orjson
        self.mapper = Mapper(_OrjsonDecoding(mapper), mapper.compressor, mapper.cipher)
        self._ahead: dict[UUID, list[StoredEvent]] = {}

    def of(self, account: Account) -> list[Any]:
        """The stored events of ``account`` (at its loaded version) that interest reads, in
        order."""
        stored = self._ahead.get(account.id)
        if stored is None or len(stored) != account.version:
            self._ahead = {}
            for row in self.reader.events_from(account.id, READ_AHEAD):
                self._ahead.setdefault(row.originator_id, []).append(row)
            stored = self._ahead.get(account.id)
            if stored is None or len(stored) != account.version:  # longer than a read
                return self.ledger.history(account.id)
        to_domain_event = self.mapper.to_domain_event
        return [to_domain_event(row) for row in stored if row.topic in _COUNTED]


class _OrjsonDecoding:
    """The application's transcoder, decoding as it does but through orjson
    (:meth:`StateCodec.decode <ledger.adapters.state.StateCodec.decode>`)."""

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.encode = mapper.transcoder.encode
        self.decode = StateCodec(mapper).decode


#: the topics of the account events interest reads (:func:`year_history`: balance moves,
#: regions entered, closings); the others (visits, closes, bindings) are not decoded
_COUNTED = frozenset(get_topic(getattr(Account, name)) for name, kind in KINDS.items()
                     if kind.sign or kind.region or kind.closes)
