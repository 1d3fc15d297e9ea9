"""Views held in a dict: the full recompute of ``audit verify`` and of the tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.projection import Key, Row, ViewBatch
from projections.stores.base import StalePosition, ViewStore, merge
from projections.tables import BY_NAME, TABLES


class MemoryViews(ViewStore):
    kind = "memory"

    def __init__(self) -> None:
        self._position = 0
        self._failure: dict[str, Any] | None = None
        self._tables: dict[str, dict[Key, Row]] = {t.name: {} for t in TABLES}

    def position(self) -> int:
        return self._position

    def write(self, batch: ViewBatch, expected: int) -> None:
        if self._position != expected:
            raise StalePosition(f"position is {self._position}, not {expected}")
        for name, changes in batch.rows.items():
            table, keys = self._tables[name], BY_NAME[name].key_names
            for key, change in changes.items():
                row = merge(name, table.get(key), change)
                row.update(zip(keys, key))
                table[key] = row
        self._position = batch.last

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def failure(self) -> dict[str, Any] | None:
        return self._failure

    def record_failure(self, failure: dict[str, Any] | None) -> None:
        self._failure = failure

    def lookup(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        rows = self._tables[table]
        return {key: rows[key] for key in keys if key in rows}

    def rows(self, table: str, first: Any = None) -> list[Row]:
        return [dict(row) for key, row in self._tables[table].items()
                if first is None or key[0] == first]
