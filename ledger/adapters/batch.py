"""Writing the decisions about many accounts in one transaction, with a safe fallback.

A batch job loads a few thousand accounts at once (:mod:`ledger.adapters.bulk`), lets each one
decide with the same aggregate methods and policy rules as the single commands, and then
stores every pending event of the batch, with the accounts' state rows
(:mod:`ledger.adapters.state`), with **one** ``recorder.insert_events`` call: one
atomic transaction, rows sorted by ``(originator_id, originator_version)`` so the index
is walked in order. It is the same write ``Application.save(*accounts)`` makes, minus
that method's per-object protocol checks, which cost more than the insert itself at
this scale; snapshots are taken at the application's intervals just as ``save`` does.

If any account of the batch was written by someone else meanwhile, the store refuses
the whole batch (``IntegrityError`` on the version key) and nothing of it is stored; the
batch is then redone account by account through :meth:`LedgerCore.write`, which reloads
and retries each one, so a concurrent writer costs speed, never correctness.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.account import Account
from ledger.adapters.bulk import BulkReader
from ledger.adapters.direct import DirectEvents, aggregate_of
from ledger.adapters.state import state_rows, stored_event
from ledger.core import LedgerCore
from ledger.ids import as_uuid, hex_of, uuid_of

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

#: ``append(account, event class, attributes) -> account``: record a new event of
#: ``account`` and apply it at once (so the account's next item is decided on the state
#: after it); ``append(None, created event class, attributes)`` creates the account
#: (``Enrolled``: as ``Account(**attributes)`` does) and returns it.
Append = Callable[[Account | None, type, dict[str, Any]], Account]
#: ``plan(account or None, items, append) -> one outcome per item``: decides on the
#: account with the deciders' plan functions and hands each event to ``append``; like
#: :data:`Decide`, it reads but never writes, and is re-run on a reloaded copy on a clash.
Plan = Callable[[Account | None, Sequence[Item], Append], list[Outcome]]

#: ``decide(account or None, items) -> (one outcome per item, account to store or None)``.
#: It may trigger events on the account (or create it) and read, but never write: it is
#: re-run on a freshly loaded copy when the batch clashes with another writer.
Decide = Callable[[Account | None, Sequence[Item]], tuple[list[Outcome], Account | None]]


@dataclass
class BatchResult(Generic[Outcome]):
    """Outcomes per account, the committed accounts' balances before and after, and the
    events stored, counted by event name (``ContributionCredited``, …)."""

    outcomes: dict[UUID, list[Outcome]]
    balances_before: int = 0
    balances_after: int = 0
    events: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0


@dataclass
class Prepared:
    """A decided batch as the store will hold it: the stored events (in key order), the
    accounts' state rows and credited months, the snapshots due; plain bytes and ids, so a
    deciding process can hand it to the one writing process (:mod:`ledger.jobs.workers`).

    With ``hex_ids`` (when the store keeps ids as 32-digit hex, as SQLite does: ``hex_ids``
    of :class:`~ledger.adapters.chain.ChainedSQLiteRecorder`) the events, state rows and
    months carry their ids as that hex (the direct path makes them so), and cross to the
    writing process so: the writer then makes no ``UUID`` and no hex of one per row."""

    events: list[StoredEvent] = field(default_factory=list)
    states: list[StoredEvent] = field(default_factory=list)
    months: list[tuple[UUID | str, str]] = field(default_factory=list)
    snapshots: list[StoredEvent] = field(default_factory=list)
    older_snapshots: list[tuple[UUID, int]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    hex_ids: bool = False

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as tuples of ints (or hex), strings and bytes: pickling a
        ``StoredEvent`` and its ``UUID`` object by object cost a deciding process ~8 µs a
        credit (~2 here)."""
        key: Callable[[Any], Any] = hex_of if self.hex_ids else _int
        return _unpickled, (
            _rows(self.events, key), _rows(self.states, key),
            [(key(i), m) for i, m in self.months], _rows(self.snapshots, _int),
            [(i.int, v) for i, v in self.older_snapshots], dict(self.counts), self.hex_ids)


def _int(originator_id: UUID) -> int:
    return originator_id.int


def _rows(events: list[StoredEvent], key: Callable[[UUID], Any]) -> list[tuple]:
    return [(key(e.originator_id), e.originator_version, e.topic, e.state) for e in events]


def _unpickled(events: list, states: list, months: list, snapshots: list, older: list,
               counts: dict[str, int], hex_ids: bool = False) -> Prepared:
    def stored(rows: list, hex_ids: bool = hex_ids) -> list[StoredEvent]:
        if hex_ids:  # the ids as the store keeps them: no UUID made
            return [stored_event(i, v, t, s) for i, v, t, s in rows]
        return [stored_event(uuid_of(i), v, t, s) for i, v, t, s in rows]

    return Prepared(stored(events), stored(states),
                    months if hex_ids else [(uuid_of(i), m) for i, m in months],
                    stored(snapshots, False), [(uuid_of(i), v) for i, v in older],
                    Counter(counts), hex_ids)


@dataclass
class Pending:
    """A decided batch handed to the store, its answer not yet read."""

    work: Mapping[UUID, Sequence[Any]]
    decide: Decide
    result: BatchResult
    prepared: Prepared | None
    stored: bool | None = None


class BatchWriter:
    """Decide for many accounts and store all their new events in one transaction."""

    def __init__(self, app: LedgerCore) -> None:
        self.app = app
        self.reader = BulkReader(app)

    #: how many begun batches may wait for their answer while the next one is decided
    #: (0: :meth:`begin` commits before it returns)
    depth = 0

    def run(self, work: Mapping[UUID, Sequence[Item]], decide: Decide) -> BatchResult:
        """Apply ``decide`` to each account of ``work`` and commit the batch atomically."""
        return self.finish(self.begin(work, decide))

    def begin(self, work: Mapping[UUID, Sequence[Item]], decide: Decide) -> Pending:
        """Decide ``work`` and hand it to the store; :meth:`finish` gives its result.

        A ``decide`` made by :func:`planned` takes the direct path first
        (:mod:`ledger.adapters.direct`: events encoded straight from their attributes);
        when that path cannot take the batch, the usual one does."""
        plan = getattr(decide, "plan", None)
        if plan is not None and DirectEvents.enabled(self.app):
            direct = self.decide_direct(work, plan, getattr(decide, "creates", False))
            if direct is not None:
                return self.hand(Pending(work, decide, *direct))
        return self.hand(Pending(work, decide, *self.decide(work, decide)))

    def hand(self, pending: Pending) -> Pending:
        """Commit a decided batch (here at once; a deciding process of ``--workers``
        hands it to the writing process and learns the answer in :meth:`answer`)."""
        pending.stored = self.submit(pending.prepared)
        pending.prepared = None
        return pending

    def answer(self, pending: Pending) -> bool:
        """Whether a handed batch was stored."""
        return bool(pending.stored)

    def finish(self, pending: Pending) -> BatchResult:
        """The begun batch's result once stored; redone account by account if another
        writer touched one of its accounts meanwhile (nothing of it was stored)."""
        if self.answer(pending):
            return pending.result
        return self._one_by_one(pending.work, pending.decide)

    def decide(self, work: Mapping[UUID, Sequence[Item]],
               decide: Decide) -> tuple[BatchResult, Prepared]:
        """Load the batch's accounts (state rows, one query), decide, encode."""
        loaded = self.reader.aggregates(work)
        before = after = 0
        outcomes: dict[UUID, list[Outcome]] = {}
        touched: list[Account] = []
        for aid, items in work.items():
            account = _account(loaded.get(aid))
            before += account.balance if account else 0
            outcomes[aid], account = decide(account, items)
            after += account.balance if account else 0
            if account is not None and account.pending_events:
                touched.append(account)
        prepared = self.prepare(touched)
        return BatchResult(outcomes, before, after, prepared.counts), prepared

    def decide_direct(self, work: Mapping[UUID, Sequence[Item]], plan: Plan,
                      creates: bool = False) -> tuple[BatchResult, Prepared] | None:
        """Load the batch's accounts (state rows, one query), ``plan`` on them and encode
        the new events and state rows directly; None if a snapshot falls due in the batch
        (the usual path takes it). ``creates``: a plan that creates the accounts it does
        not find (:func:`planned`) finds them by their state rows alone."""
        loaded = self.reader.aggregates(work, rows_only=creates)
        direct = DirectEvents(self.app)
        before = after = 0
        outcomes: dict[UUID, list[Outcome]] = {}
        for aid, items in work.items():
            account = _account(loaded.get(aid))
            before += account.balance if account else 0
            outcomes[aid] = plan(account, items, direct.append)
            after += account.balance if account else 0
        if direct.snapshot_due:
            return None
        rows = direct.prepared()
        prepared = Prepared(rows.events, rows.states, rows.months, counts=rows.counts,
                            hex_ids=rows.hex_ids)
        return BatchResult(outcomes, before, after, prepared.counts), prepared

    def submit(self, prepared: Prepared) -> bool:
        """Commit ``prepared``; False if another writer got there first (nothing stored)."""
        try:
            self.commit(prepared)
        except IntegrityError:
            return False
        return True

    def prepare(self, aggregates: Sequence[Aggregate]) -> Prepared:
        """Every pending event of ``aggregates`` encoded for the store, with state rows."""
        aggregates = sorted(aggregates, key=lambda a: a.id.hex)
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if not events:
            return Prepared()
        mapper = self.app.mapper
        accounts = [a for a in aggregates if isinstance(a, Account)]
        rows = state_rows(mapper, accounts, events) if hasattr(
            self.app.recorder, "put_states") else {}
        prepared = Prepared([mapper.to_stored_event(e) for e in events],
                            counts=Counter(type(e).__name__ for e in events), **rows)
        self._snapshot(aggregates, events, prepared)
        return prepared

    def commit(self, prepared: Prepared) -> None:
        """Store a prepared batch in one transaction (``IntegrityError`` if stale)."""
        if not prepared.events:
            return
        app = self.app
        try:
            app.recorder.insert_events(prepared.events, states=prepared.states,
                                       months=prepared.months)
        except IntegrityError:  # a stale state row is repaired before anyone retries
            app.repair_states(sorted({as_uuid(s.originator_id) for s in prepared.states}))
            raise
        if app.snapshots is not None:
            if prepared.snapshots:
                app.snapshots.recorder.insert_events(prepared.snapshots)
            for aid, version in prepared.older_snapshots:
                app.take_snapshot(aid, version=version,
                                  projector_func=app.snapshotting_projectors[Account])

    def write(self, aggregates: Sequence[Aggregate]) -> Counter[str]:
        """Store every pending event of ``aggregates`` atomically; the events by name."""
        prepared = self.prepare(aggregates)
        self.commit(prepared)
        return prepared.counts

    def _snapshot(self, aggregates: Sequence[Aggregate], events: Sequence[object],
                  prepared: Prepared) -> None:
        """The snapshots ``Application.save`` would take (version % interval == 0)."""
        app = self.app
        if app.snapshots is None:
            return
        by_id = {a.id: a for a in aggregates}
        for event in events:
            aggregate = by_id[event.originator_id]  # type: ignore[attr-defined]
            interval = app.snapshotting_intervals.get(type(aggregate))
            version = event.originator_version  # type: ignore[attr-defined]
            if interval is None or version % interval:
                continue
            if version == aggregate.version:
                prepared.snapshots.append(
                    app.mapper.to_stored_event(type(aggregate).Snapshot.take(aggregate)))
            else:  # an older version of this batch: rebuilt from the events once stored
                prepared.older_snapshots.append((aggregate.id, version))

    def _one_by_one(self, work: Mapping[UUID, Sequence[Item]], decide: Decide) -> BatchResult:
        """The fallback: each account reloaded, decided and saved with the usual retries."""
        result: BatchResult = BatchResult({}, fallbacks=1)
        for aid, items in work.items():

            def attempt(aid: UUID = aid, items: Sequence[Item] = items) -> tuple:
                try:
                    account: Account | None = _account(self.app.load(aid))
                except AggregateNotFoundError:
                    account = None
                before = account.balance if account else 0
                outcomes, account = decide(account, items)
                written = self.write([account]) if account is not None else Counter()
                return outcomes, before, account.balance if account else 0, written

            outcomes, before, after, written = self.app.write(attempt)
            result.outcomes[aid] = outcomes
            result.balances_before += before
            result.balances_after += after
            result.events += written
        return result


def planned(plan: Plan, creates: bool = False) -> Decide:
    """``plan`` as a :data:`Decide` for :meth:`BatchWriter.run`: the direct path uses the
    plan itself; the usual path (and the fallback) triggers the same events through
    eventsourcing (``trigger_event``, which is what an ``@event`` method does).

    ``creates``: the plan creates each account it is not given (the people import). The
    direct path then looks for the batch's accounts in the state rows only, not in the
    events too (4–5% of an import): an account stored without a row (written around the
    ledger, or by a release before the rows) is taken for new, its ``Enrolled`` clashes
    with the stored one on the events' key, and the batch is redone account by account,
    each loaded from its events (``tests/test_state_rows.py``)."""

    def decide(account: Account | None, items: Sequence[Item]) -> tuple[list, Account | None]:
        made: list[Account] = []

        def trigger(account: Account | None, event_class: type,
                    attributes: dict[str, Any]) -> Account:
            if account is None:  # a created event: ``Account(**attributes)``
                account = aggregate_of(event_class)(**attributes)
                if type(account.pending_events[0]) is not event_class:
                    raise TypeError(f"{event_class.__name__} is not the event that "
                                    f"creates a {type(account).__name__}")
                made.append(account)
            else:
                account.trigger_event(event_class, **attributes)
            return account

        outcomes = plan(account, items, trigger)
        return outcomes, made[0] if made else account

    decide.plan = plan  # type: ignore[attr-defined]
    decide.creates = creates  # type: ignore[attr-defined]
    return decide


def _account(aggregate: Aggregate | None) -> Account | None:
    """Only accounts are decided on: an id that names another aggregate is no account."""
    return aggregate if isinstance(aggregate, Account) else None
