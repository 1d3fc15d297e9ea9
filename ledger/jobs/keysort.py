"""Rows of an input file in account-key order, whatever the file's size (外部排序).

A batch job writes fastest when its accounts come in the order their rows sit in the
event store's ``(originator_id, version)`` index: each transaction then touches a few
neighbouring index pages instead of one page per row. A credit file comes in any order,
so its rows are sorted by account id first: in runs of :data:`RUN` rows sorted in memory
and spilled to temporary files, then merged (``heapq.merge``). Memory stays at one run
(≈ 100 MiB at 200,000 rows) for a file of any size; a file smaller than one run is
sorted in memory without touching the disk. Rows of one account keep their file order.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import IO, Any
from uuid import UUID

from ledger.ids import uuid_of

RUN = 200_000  # rows sorted in memory at a time
_CHUNK = 2_000  # rows pickled together in a spilled run


class ExternalSort:
    """Items ``(key, line, payload)`` added in any order, read back by key then line,
    holding at most ``run`` of them in memory."""

    def __init__(self, run: int = RUN) -> None:
        self.run = run
        self._runs: list[IO[bytes]] = []
        self._buffer: list[tuple[int, int, Any]] = []

    def add(self, key: UUID, line: int, payload: Any) -> None:
        self._buffer.append((key.int, line, payload))
        if len(self._buffer) >= self.run:
            self._runs.append(_spill(sorted(self._buffer, key=_order)))
            self._buffer = []

    def __iter__(self) -> Iterator[tuple[UUID, Any]]:
        """Every item, in order (once: the runs are consumed)."""
        try:
            self._buffer.sort(key=_order)
            if not self._runs:
                merged: Iterable[tuple[int, int, Any]] = self._buffer
            else:
                self._runs.append(_spill(self._buffer))
                merged = heapq.merge(*(_read(f) for f in self._runs), key=_order)
            self._buffer = []
            for key, _, payload in merged:
                yield uuid_of(key), payload
        finally:
            self.close()

    def close(self) -> None:
        for f in self._runs:
            f.close()
        self._runs = []


def key_ordered(items: Iterable[tuple[UUID, int, Any]],
                run: int = RUN) -> Iterator[tuple[UUID, Any]]:
    """``(key, payload)`` of ``(key, line, payload)`` items, by key then line."""
    sorter = ExternalSort(run)
    for key, line, payload in items:
        sorter.add(key, line, payload)
    return iter(sorter)


#: by key (a UUID's integer sorts as its bytes and its hex do), then line
_order = itemgetter(0, 1)


def _spill(rows: list[tuple[int, int, Any]]) -> IO[bytes]:
    f = tempfile.TemporaryFile(prefix="gongji-sort-")
    for start in range(0, len(rows), _CHUNK):
        pickle.dump(rows[start:start + _CHUNK], f, protocol=pickle.HIGHEST_PROTOCOL)
    f.seek(0)
    return f


def _read(f: IO[bytes]) -> Iterator[tuple[int, int, Any]]:
    while True:
        try:
            chunk = pickle.load(f)
        except EOFError:
            return
        yield from chunk
