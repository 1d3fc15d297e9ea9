"""Reading one person's stored events for an audit answer, without trusting them (审计读取).

An auditor's question must be answered even when a stored event was tampered with: an
event that cannot be decoded, or decodes but cannot be used (a field renamed, a text where
an amount belongs), is reported as :class:`Unreadable` with its position in the log and
the reason, and the answer goes on with the others. Nothing here raises on stored content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.ids import account_id
from policies.errors import ErrorCode, LedgerError
from projections.audit.verify import describe, reason
from projections.log import EventLog, LogRow

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored event an audit answer left out because it cannot be read (无法读取的事件):
    the answer is incomplete; ``gongji audit verify`` tells the whole story."""

    position: int
    originator: str
    version: int
    event: str
    reason: str
    message: str

    @classmethod
    def of(cls, row: LogRow, error: BaseException) -> Unreadable:
        position, originator, version, topic, _ = row
        why = reason(error)
        return cls(position, originator, version, topic.rsplit(":", 1)[-1], why,
                   f"{describe(position, originator, version, topic)} cannot be read: {why}; "
                   "the answer leaves it out (see `gongji audit verify`)")


@dataclass(frozen=True, slots=True)
class Read:
    """One stored event: its row, and the domain event (``None`` if it did not decode)."""

    row: LogRow
    event: Any
    error: BaseException | None = None


def account_events(ledger: Any, person: str) -> list[Read]:
    """Every stored event of ``person``'s account, by version (``unknown_person`` if none)."""
    reads = aggregate_events(ledger, account_id(person))
    if not reads:
        raise LedgerError(ErrorCode.UNKNOWN_PERSON, f"no person {person!r} is enrolled",
                          field="person")
    return reads


def aggregate_events(ledger: Any, aggregate: UUID) -> list[Read]:
    """Every stored event of one aggregate, each decoded on its own."""
    reads = []
    for row in EventLog(ledger.recorder).of(aggregate):
        try:
            event = ledger.mapper.to_domain_event(StoredEvent(aggregate, row[2], row[3],
                                                              bytes(row[4])))
        except Exception as error:  # stored content may be anything: report it
            reads.append(Read(row, None, error))
        else:
            reads.append(Read(row, event))
    return reads


def each(reads: list[Read], use: Callable[[Any], T],
         unreadable: list[Unreadable]) -> Iterator[tuple[Read, T]]:
    """``(read, use(event))`` for every event that decodes and can be used; the others are
    appended to ``unreadable``."""
    for read in reads:
        if read.error is not None:
            unreadable.append(Unreadable.of(read.row, read.error))
            continue
        try:
            result = use(read.event)
        except Exception as error:
            unreadable.append(Unreadable.of(read.row, error))
            continue
        yield read, result


def replayed(reads: list[Read], unreadable: list[Unreadable]) -> Any:
    """The aggregate from the events that can be applied (``None`` without its creation);
    the others are skipped, so one bad event does not lose the rest of the state, and
    added to ``unreadable`` unless already there."""
    aggregate, known = None, {bad.position for bad in unreadable}
    for read in reads:
        try:
            if read.error is not None:
                raise read.error
            if aggregate is None:
                if read.row[2] != 1:  # its creation could not be applied: nothing to add to
                    continue
                aggregate = read.event.mutate(None)
            else:
                read.event.apply(aggregate)
                aggregate.version = read.event.originator_version
        except Exception as error:
            if read.row[0] not in known:
                unreadable.append(Unreadable.of(read.row, error))
    unreadable.sort(key=lambda bad: bad.position)
    return aggregate
