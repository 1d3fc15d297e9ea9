"""The application's foundation: the event store, loading, policy lookup, the retry loop.

Every command of the ledger is written as *decide* (load aggregates, check, trigger
events) and *save* (one atomic ``Application.save`` of everything it touched). If another
writer saved one of those aggregates in between, the store refuses the whole save with an
``IntegrityError`` on the ``(originator_id, version)`` key; the command then reloads and
decides again. That is what keeps concurrent writers from overdrawing an account or
double-counting a cap, without locks of our own.
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

from ledger.account import ACTIVE, EMIGRATED, SETTLED, Account
from ledger.adapters.store import init_lock, store_env
from ledger.crypto import check_store, cipher_env
from ledger.ids import account_id, transaction_id
from ledger.settings import DEFAULT_DATABASE
from ledger.transaction import Transaction
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.model import RegionPolicy

T = TypeVar("T")
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
            raise LedgerError(
                ErrorCode.UNKNOWN_PERSON, f"no person {person!r} is enrolled", field="person"
            ) from None

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

    # -- policy -----------------------------------------------------------------------

    def policy(self, region: str, day: dt.date) -> RegionPolicy:
        return self.book.in_force(region, day)

    # -- checks shared by commands ----------------------------------------------------

    @staticmethod
    def require_open(account: Account, what: str) -> None:
        """Refuse anything but an active account (``account_closed``)."""
        if account.status != ACTIVE:
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{account.person}'s account is {account.status}: it takes no {what}",
            )

    @staticmethod
    def require_personal_account(account: Account) -> None:
        if not account.has_account:
            raise LedgerError(
                ErrorCode.NO_PERSONAL_ACCOUNT,
                f"{account.person} ({account.scheme}) has no personal account",
            )

    @staticmethod
    def require_not_paid_out(account: Account, what: str) -> None:
        if account.status in (EMIGRATED, SETTLED):
            raise LedgerError(
                ErrorCode.ACCOUNT_CLOSED,
                f"{account.person}'s account is {account.status} (paid out): it takes no {what}",
            )

    @staticmethod
    def same_request(existing: dict[str, Any], request: dict[str, Any], what: str) -> None:
        """A reused id with other content is ``duplicate_conflict``."""
        if existing != request:
            raise LedgerError(
                ErrorCode.DUPLICATE_CONFLICT,
                f"{what} was already recorded with other content; use a new id "
                f"(recorded: {existing})",
            )

    # -- writing ----------------------------------------------------------------------

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
