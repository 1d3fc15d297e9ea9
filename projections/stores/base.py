"""What every view store does: apply a batch with its tracking position, atomically.

Exactly-once is a compare-and-set on the tracking position: a batch of events after
position ``p`` is written only if the store still says ``p``, in the same transaction (or
Lua step) as the rows. A worker killed before the commit left nothing; a worker killed
after it resumes from the new position; two workers racing cannot both apply a batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from projections.projection import Key, Row, ViewBatch
from ledger.movement import region_on
from projections.tables import ACCOUNTS, BY_NAME, DAILY, POOLING, REGIONS, TABLES, Table

TRACKING_NAME = "Ledger/views"


class StalePosition(Exception):
    """Another worker moved the tracking position; the batch was not applied."""


def complete(table: Table, row: dict[str, Any]) -> Row:
    """A row with every column: sums default to 0, unset values to None."""
    full = dict(table.blank)
    full.update((name, value) for name, value in row.items() if name in full)
    return full


class ViewStore(ABC):
    """The read models and their tracking position in one store."""

    kind = "views"

    @abstractmethod
    def position(self) -> int:
        """The last notification id applied (0 before any)."""

    @abstractmethod
    def write(self, batch: ViewBatch, expected: int) -> None:
        """Apply ``batch`` and move the position from ``expected`` to ``batch.last``."""

    def prepare(self, batch: ViewBatch) -> Any:
        """``batch`` in the form :meth:`write_prepared` writes: the CPU part of a write,
        compact and picklable, which the rebuild's child process does for the writer
        (:mod:`projections.pipeline`). This default is the batch itself."""
        return batch

    def write_prepared(self, prepared: Any, last: int, expected: int) -> None:
        """:meth:`write` of a prepared batch that reaches position ``last``."""
        self.write_parts([prepared], last, expected)

    def write_parts(self, parts: Sequence[Any], last: int, expected: int) -> None:
        """Write the prepared batches of the parts of one range of the log (their changes
        add up: :mod:`projections.pipeline`) and move the position from ``expected`` to
        ``last``, in one step. This default merges the batches into one."""
        if len(parts) == 1:
            self.write(parts[0], expected)
            return
        merged = ViewBatch()
        for part in parts:
            merged.merge(part)
        merged.last = last
        self.write(merged, expected)

    @abstractmethod
    def reset(self) -> None:
        """Empty every view and set the position to 0, atomically."""

    @abstractmethod
    def lookup(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        """The stored rows of ``keys`` that exist."""

    @abstractmethod
    def rows(self, table: str, first: Any = None) -> list[Row]:
        """Every row of ``table``, or those whose first key column is ``first``."""

    def people(self, prefix: str, region: str | None, after: str | None,
               limit: int) -> list[Row]:
        """Up to ``limit`` account rows whose person id starts with ``prefix`` (and who are
        in ``region``, when given), in person-id order (code-point order), after ``after``.

        This reads every account row; the SQL store overrides it with an indexed range.
        """
        rows = sorted((row for row in self.rows(ACCOUNTS.name)
                       if row["person"].startswith(prefix)
                       and (after is None or row["person"] > after)
                       and region in (None, row["region"])),
                      key=lambda row: row["person"])
        return rows[:limit]

    def region_balances(self, region: str, day: str) -> tuple[int, int]:
        """Σ closing balances of ``day`` (ISO, by value date) of the accounts in ``region``
        at the end of that day (:func:`ledger.movement.region_on`), and how many accounts
        with a movement by then that is: the fund statement's tie-out.

        This reads every daily change; the SQL store overrides it with one aggregate query.
        """
        entered: dict[str, list[tuple[str, str]]] = {}
        for row in self.rows(REGIONS.name):
            entered.setdefault(row["person"], []).append((row["since"], row["region"]))
        totals: dict[str, int] = {}
        for row in self.rows(DAILY.name):
            if row["day"] <= day:
                totals[row["person"]] = totals.get(row["person"], 0) + row["change"]
        inside = [total for person, total in totals.items()
                  if region_on(entered.get(person, ()), day) == region]
        return sum(inside), len(inside)

    def get(self, table: str, key: Key) -> Row | None:
        return self.lookup(table, [key]).get(key)

    def account_rows(self, person: str) -> tuple[int, Row | None, list[Row]]:
        """The balance read (余额查询): the position, ``person``'s account row (None if the
        views do not know them) and their pooling rows, all as of one moment.

        The API's hot path: the SQL and Redis stores answer it with one statement or one
        round trip; this generic version (the memory store's) reads three times.
        """
        position = self.position()
        return position, self.get(ACCOUNTS.name, (person,)), self.rows(POOLING.name, person)

    def dump(self) -> dict[str, list[Row]]:
        """Every row of every view, sorted by key: what ``audit verify`` compares."""
        return {
            table.name: sorted(self.rows(table.name),
                               key=lambda row, t=table: tuple(row[k] for k in t.key_names))
            for table in TABLES
        }

    @abstractmethod
    def failure(self) -> dict[str, Any] | None:
        """What stopped the worker (see :class:`projections.worker.Failure`), or None."""

    @abstractmethod
    def record_failure(self, failure: dict[str, Any] | None) -> None:
        """Keep what stopped the worker where readers see it; None clears it."""

    def close(self) -> None:
        """Release connections."""


def merge(table_name: str, stored: Row | None, change: list[Row]) -> Row:
    """``stored`` after one batch's ``[added, set]`` change (for stores without upsert)."""
    table = BY_NAME[table_name]
    row = dict(stored) if stored else complete(table, {})
    added, values = change
    for name, delta in added.items():
        row[name] = (row[name] or 0) + delta
    row.update(values)
    return row
