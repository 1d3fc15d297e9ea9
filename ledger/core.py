"""The application's foundation: the event store, loading, the write loop.

Every command of the ledger runs through one loop, :meth:`LedgerCore.decide_and_save`:
*prefetch* the aggregates it names, *decide* with its pure decider (:mod:`ledger.deciders`:
checks, then events triggered on the aggregates), *save* everything it touched in one
atomic ``Application.save``. If another writer saved one of those aggregates in between,
the store refuses the whole save with an ``IntegrityError`` on the ``(originator_id,
version)`` key; the command then prefetches and decides again. That is what keeps
concurrent writers from overdrawing an account or double-counting a cap, without locks
of our own.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.crypto import check_store, cipher_env
from ledger.deciders import Decision
from ledger.deciders.checks import same_request, unknown_person
from ledger.ids import account_id, transaction_id
from ledger.prefetch import Fetched, Needs
from ledger.settings import DEFAULT_DATABASE, store_env
from ledger.store import init_lock
from ledger.transaction import Transaction
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError

T = TypeVar("T")
C = TypeVar("C")
MAX_ATTEMPTS = 50


class DateAsISO(Transcoding):
    """eventsourcing registers datetime but not date; events carry business dates."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events in order; eventsourcing's default projector spends most of a load in
    ``isinstance`` checks against a runtime Protocol, which this skips."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class LedgerCore(Application[UUID]):
    """Shared machinery of the ledger's commands and queries."""

    name = "Ledger"
    snapshotting_intervals = {Account: 100}
    snapshotting_projectors = {Account: replay}

    def __init__(self, book: PolicyBook, database_url: str = DEFAULT_DATABASE,
                 env: dict[str, str] | None = None) -> None:
        self.book = book
        # Cached aggregates are fast-forwarded from the store on every load, so several
        # processes stay consistent; the cache only saves replaying whole histories.
        defaults = {"AGGREGATE_CACHE_MAXSIZE": os.environ.get("AGGREGATE_CACHE_MAXSIZE", "5000")}
        # GONGJI_CIPHER_KEY encrypts events and snapshots (ledger.crypto); a key that does
        # not open the stored events stops here with a CipherKeyError (a SettingsError).
        with init_lock(database_url):  # its tables are created one process at a time
            super().__init__(env={**defaults, **store_env(database_url), **cipher_env(),
                                  **(env or {})})
        try:
            check_store(self)
        except Exception:
            self.close()
            raise

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- loading ----------------------------------------------------------------------

    def load(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """An aggregate from its snapshot and events (``AggregateNotFoundError`` if none)."""
        return self.repository.get(aggregate_id, version=version, projector_func=replay)

    def account(self, person: str) -> Account:
        """The person's account aggregate, or ``unknown_person``."""
        try:
            return self.load(account_id(person))
        except AggregateNotFoundError:
            raise unknown_person(person) from None

    def find_transaction(self, client_id: str) -> Transaction | None:
        try:
            return self.load(transaction_id(client_id))
        except AggregateNotFoundError:
            return None

    def account_ids(self) -> Iterator[UUID]:
        """Every enrolled account, in enrollment order, read from the notification log."""
        topic = get_topic(Account.Enrolled)
        start, batch = 0, 1000
        while True:
            rows = self.recorder.select_notifications(
                start, batch, topics=[topic], inclusive_of_start=False
            )
            for row in rows:
                yield row.originator_id
            if len(rows) < batch:
                return
            start = rows[-1].id

    # -- checks shared by commands ----------------------------------------------------

    @staticmethod
    def same_request(existing: dict[str, Any], request: dict[str, Any], what: str) -> None:
        """A reused id with other content is ``duplicate_conflict``."""
        same_request(existing, request, what)

    # -- writing ----------------------------------------------------------------------

    def decide_and_save(
        self, needs: Needs | Callable[[Fetched], Needs], decide: Callable[[Fetched], Decision[T]]
    ) -> T:
        """The write loop of every command: prefetch what it ``needs``, ``decide`` purely
        on it (a decider of :mod:`ledger.deciders`), save every aggregate with new events
        in one atomic ``save`` — and, if another writer saved one of them in between,
        start again from the prefetch."""

        def attempt() -> T:
            result, touched = decide(self.fetch(needs))
            pending = [a for a in touched if a is not None and a.pending_events]
            if pending:
                self.save(*pending)
            return result

        return self.write(attempt)

    def decide_on_account(
        self, person: str, decider: Callable[[Account, PolicyBook, C], Decision[T]], cmd: C
    ) -> T:
        """The write loop for a command that names one person's account and nothing else."""
        return self.decide_and_save(
            Needs(accounts=[person]), lambda got: decider(got.account(person), self.book, cmd))

    def fetch(self, needs: Needs | Callable[[Fetched], Needs]) -> Fetched:
        """Load what ``needs`` names; given as a function of what is loaded so far, load
        again until it asks for nothing new (a reversal: its transaction, then the
        accounts that transaction debited)."""
        fetched, asked, histories = Fetched(), set[UUID](), set[UUID]()
        while True:
            wanted = needs(fetched) if callable(needs) else needs
            ids = wanted.aggregate_ids() - asked
            more = set(wanted.histories) - histories
            if not ids and not more:
                return fetched
            fetched.aggregates.update(self.prefetch(ids))
            fetched.histories.update({h: self.history(h) for h in more})
            asked |= ids
            histories |= more

    def prefetch(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The aggregates of ``ids`` that exist, each loaded as :meth:`load` does: from the
        aggregate cache, fast-forwarded by one query. (One :class:`~ledger.bulk.BulkReader`
        read of them all was slower for one command: it replays past the cache.)"""
        found = {}
        for aggregate_id in ids:
            try:
                found[aggregate_id] = self.load(aggregate_id)
            except AggregateNotFoundError:
                continue
        return found

    def history(self, aggregate_id: UUID) -> list[Any]:
        """Every stored event of an aggregate, in order."""
        return list(self.events.get(aggregate_id))

    def write(self, decide: Callable[[], T]) -> T:
        """Run ``decide`` (which loads, checks and saves) until its save is not stale."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return decide()
            except IntegrityError:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise LedgerError(
            ErrorCode.CONCURRENCY_CONFLICT,
            f"gave up after {MAX_ATTEMPTS} concurrent-write conflicts; send the request again",
        )
