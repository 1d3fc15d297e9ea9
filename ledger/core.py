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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.adapters.bulk import BulkReader
from ledger.adapters.state import StateCodec, months_of, state_rows
from ledger.adapters.store import init_lock, store_env
from ledger.crypto import check_store, cipher_env
from ledger.deciders import Decision
from ledger.deciders.checks import same_request, unknown_person
from ledger.grouping import Grouper, group_size
from ledger.ids import account_id, transaction_id
from ledger.prefetch import Fetched, Needs
from ledger.settings import DEFAULT_DATABASE
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


_BROKEN = object()  # an account whose events cannot be replayed (audit's events check says why)


def _rebuilt(reader: BulkReader, ids: list[UUID]) -> dict[UUID, Any]:
    """The accounts ``ids`` from their events; one whose events fail is ``_BROKEN``."""
    try:
        return reader.aggregates(ids, states=False)
    except Exception:  # noqa: BLE001 — stored events may be garbage: find which
        rebuilt: dict[UUID, Any] = {}
        for one in ids:
            try:
                rebuilt.update(reader.aggregates([one], states=False))
            except Exception:  # noqa: BLE001
                rebuilt[one] = _BROKEN
        return rebuilt


def _state_difference(app: Application[UUID], stored: Any, months: list[str],
                      truth: Any) -> Iterator[tuple[UUID, str]]:
    aid = stored.originator_id
    if truth is _BROKEN:
        return
    if truth is None:
        yield aid, "has a state row but no events"
        return
    try:
        row = StateCodec(app.mapper).load(stored)
    except Exception as error:  # noqa: BLE001 — a stored row may be garbage: report it
        yield aid, f"state row cannot be read ({type(error).__name__}: {error})"
        return
    if row is None:
        yield aid, ("state row is of another format or class version (its account is read "
                    "from its events until its next write rewrites the row)")
        return
    if row.version != truth.version:
        yield aid, f"state row is at version {row.version}, its events at {truth.version}"
        return
    mine, real = vars(row), vars(truth)
    differing = sorted(k for k in mine.keys() | real.keys()
                       if k != "_pending_events" and mine.get(k) != real.get(k))
    if differing:
        yield aid, ("state row differs from its events in " + ", ".join(
            f"{k.lstrip('_')} (row {mine.get(k)!r}, events {real.get(k)!r})"
            for k in differing))
    if months != months_of(truth):
        yield aid, (f"credited-month lines {months} differ from the months its events "
                    f"credit {months_of(truth)}")


class LedgerCore(Application[UUID]):
    """Shared machinery of the ledger's commands and queries."""

    name = "Ledger"
    snapshotting_intervals = {Account: 100}
    snapshotting_projectors = {Account: replay}

    def __init__(self, book: PolicyBook, database_url: str = DEFAULT_DATABASE,
                 env: dict[str, str] | None = None) -> None:
        self.book = book
        self.database_url = database_url
        size = group_size()
        self._grouper = Grouper(self, size) if size > 1 else None
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
            if self.env.get("CREATE_TABLE", "y").lower() not in ("n", "no", "f", "false",
                                                                   "off", "0"):
                with init_lock(database_url):
                    self.fill_states()
        except Exception:
            self.close()
            raise

    def reopen(self) -> LedgerCore:
        """The same ledger with connections of its own (for a forked process)."""
        return type(self)(self.book, self.database_url, env=dict(self.env))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- loading ----------------------------------------------------------------------

    def load(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """An aggregate (``AggregateNotFoundError`` if none): an account's current state
        from its state row (:mod:`ledger.adapters.state`), one read; anything else, or an
        older version, from its snapshot and events."""
        if version is None:
            row = self._select_state(aggregate_id)
            account = StateCodec(self.mapper).load(row) if row is not None else None
            if account is not None:
                return account
        return self.rebuild(aggregate_id, version)

    def rebuild(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """An aggregate from its snapshot and events, the truth, ignoring any state row."""
        return self.repository.get(aggregate_id, version=version, projector_func=replay)

    def account(self, person: str) -> Account:
        """The person's account aggregate, or ``unknown_person``."""
        try:
            return self.load(account_id(person))
        except AggregateNotFoundError:
            raise unknown_person(person) from None

    def find_transaction(self, client_id: str) -> Transaction | None:
        return self.unsnapshotted(transaction_id(client_id))

    def unsnapshotted(self, aggregate_id: UUID) -> Any:
        """An aggregate that is never snapshotted (a transaction: one to three events)
        replayed from its events, or None: one query, where :meth:`rebuild` also asks the
        snapshot store and deep-copies the cached aggregate (a settlement did both twice)."""
        return replay(None, self.events.get(aggregate_id))

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

    # -- state rows ---------------------------------------------------------------------

    def _select_state(self, aggregate_id: UUID) -> Any:
        select = getattr(self.recorder, "select_state", None)
        return select(aggregate_id) if select is not None else None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """``Application.save`` of the aggregates ``objs`` (see :meth:`save_events`)."""
        aggregates = [o for o in objs if o is not None]
        events = [e for a in aggregates for e in a.collect_events()]
        return self.save_events(events, aggregates, **kwargs)

    def save_events(self, events: list[Any], aggregates: Iterable[Any], **kwargs: Any) -> Any:
        """Store ``events`` in this order in one transaction, with the state rows (and
        credited months) of the accounts among ``aggregates`` (each already holding the
        state after them). Snapshots are taken as ``Application.save`` takes them. A
        refused save (``IntegrityError``) first repairs any of those rows that is behind
        its events, so that the caller's retry loads the account as its events say.

        This is ``Application.save`` of eventsourcing 9.5 (record, snapshots, notify) with
        the events given in order rather than collected aggregate by aggregate, which is
        what lets a group (:mod:`ledger.grouping`) store its commands' events as one by
        one would; it calls the library's ``_record``, ``_take_snapshots`` and
        ``_notify``, so a library upgrade must check them."""
        by_id = {a.id: a for a in aggregates}
        moved = {e.originator_id for e in events}
        accounts = [a for i, a in by_id.items() if isinstance(a, Account) and i in moved]
        if accounts and hasattr(self.recorder, "put_states"):
            kwargs = {**state_rows(self.mapper, accounts, events), **kwargs}
        processing = ProcessingEvent[UUID]()
        processing.events.extend(events)
        processing.aggregates.update(by_id)
        processing.saved_kwargs.update(kwargs)
        try:
            recordings = self._record(processing)
        except IntegrityError:
            if accounts:
                self.repair_states([a.id for a in accounts])
            raise
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def repair_states(self, ids: list[UUID]) -> list[UUID]:
        """Rewrite from the events the state rows of ``ids`` whose version is not their
        last event's; the ids repaired."""
        recorder = self.recorder
        if not hasattr(recorder, "put_states"):
            return []
        rows = {s.originator_id: s.originator_version for s in recorder.select_states(ids)}
        last = recorder.event_versions(ids)
        stale = [i for i in ids if i in last and rows.get(i) != last[i]]
        if stale:
            self._put_states([self.rebuild(i) for i in stale], stale)
        return stale

    def _put_states(self, accounts: list[Account], stale: list[UUID] | None = None) -> None:
        states = state_rows(self.mapper, accounts, ())["states"]
        months = [(a.id, m) for a in accounts for m in months_of(a)]
        self.recorder.put_states(states, months, stale or [])

    def fill_states(self, batch: int = 2000) -> None:
        """A store from before the state rows: write every account's row from its events."""
        recorder = self.recorder
        if not hasattr(recorder, "put_states") or recorder.has_states():
            return
        if not recorder.select_notifications(0, 1, inclusive_of_start=False):
            return
        reader = BulkReader(self)
        for ids in reader.ids_by_topic(get_topic(Account.Enrolled), UUID(int=0), None, batch):
            accounts = [a for a in reader.aggregates(ids).values() if isinstance(a, Account)]
            self._put_states(accounts, [a.id for a in accounts])

    def state_differences(self, batch: int = 2000) -> Iterator[tuple[UUID, str]]:
        """Every account whose state row is not the account rebuilt from its events (or
        is missing), with what differs: for ``audit verify``."""
        recorder = self.recorder
        if not hasattr(recorder, "scan_states"):
            return
        reader, missing = BulkReader(self), set()
        for rows in recorder.scan_states(batch):
            truth = _rebuilt(reader, [s.originator_id for s, _ in rows])
            for stored, months in rows:
                yield from _state_difference(self, stored, months,
                                             truth.get(stored.originator_id))
        for ids in reader.ids_by_topic(get_topic(Account.Enrolled), UUID(int=0), None, batch):
            have = {s.originator_id for s in recorder.select_states(ids)}
            for one in ids:
                if one not in have:
                    missing.add(one)
                    yield one, "has events but no state row"
        for stray in recorder.stray_months():
            if stray not in missing:
                yield stray, "has credited-month lines but no state row or events"

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
        start again from the prefetch. Commands that arrive together from several threads
        are saved together (:mod:`ledger.grouping`, ``GONGJI_GROUP_COMMIT``)."""
        grouper = self._grouper
        if grouper is None:
            return self.decide_alone(needs, decide)
        return grouper.run(needs, decide)

    def decide_alone(
        self, needs: Needs | Callable[[Fetched], Needs], decide: Callable[[Fetched], Decision[T]]
    ) -> T:
        """:meth:`decide_and_save` for one command in a transaction of its own."""

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

    def fetch(self, needs: Needs | Callable[[Fetched], Needs],
              overlay: Mapping[UUID, Any] | None = None) -> Fetched:
        """Load what ``needs`` names; given as a function of what is loaded so far, load
        again until it asks for nothing new (a reversal: its transaction, then the
        accounts that transaction debited). An aggregate in ``overlay`` (decided on by an
        earlier command of the same group, :mod:`ledger.grouping`) is taken from there,
        its history with its unsaved events."""
        overlay = overlay or {}
        fetched, asked, histories = Fetched(), set[UUID](), set[UUID]()
        while True:
            wanted = needs(fetched) if callable(needs) else needs
            ids = wanted.aggregate_ids() - asked
            more = set(wanted.histories) - histories
            if not ids and not more:
                return fetched
            held = ids & overlay.keys()
            fetched.aggregates.update((i, overlay[i]) for i in held)
            transactions = (wanted.transaction_ids() & ids) - held
            fetched.aggregates.update(self._fetch_ids(ids - transactions - held, transactions))
            fetched.histories.update(
                {h: self.history(h) + list(getattr(overlay.get(h), "pending_events", ()))
                 for h in more})
            asked |= ids
            histories |= more

    def _fetch_ids(self, ids: set[UUID], transactions: set[UUID]) -> dict[UUID, Any]:
        """The aggregates ``ids`` (:meth:`prefetch`) and the never-snapshotted
        ``transactions`` (:meth:`unsnapshotted`) that exist; on a store that can, the
        state rows and the transactions' events are read in one statement."""
        select = getattr(self.recorder, "select_states_and_events", None)
        if select is None or not (ids and transactions):
            found = self.prefetch(ids)
            found.update((t, txn) for t in transactions
                         if (txn := self.unsnapshotted(t)) is not None)
            return found
        rows, stored = select(sorted(ids), sorted(transactions))
        codec, found = StateCodec(self.mapper), {}
        for row in rows:
            if (account := codec.load(row)) is not None:
                found[row.originator_id] = account
        found.update(self.prefetch(ids - found.keys()))  # no row (or an old one): as load
        events: dict[UUID, list[Any]] = {}
        for event in stored:
            events.setdefault(event.originator_id, []).append(
                self.mapper.to_domain_event(event))
        found.update((t, replay(None, history)) for t, history in events.items())
        return found

    def prefetch(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The aggregates of ``ids`` that exist, each loaded as :meth:`load` does: an
        account from its state row (one query), anything else from its events."""
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
