"""Splitting the population between N processes: ``--shard i/N`` (i = 1..N).

Account ids are uuid5 values, spread evenly over the 128-bit key space, so shard i of N
takes the i-th of N equal key ranges. Ranges, not ``id % N``: a shard's reads walk one
contiguous stretch of the event store's primary key, its writes land in that stretch
only (processes on PostgreSQL do not fight over index pages), and how far a shard has
got is simply where its last id sits in its range, which gives a progress bar for free.
Every id falls in exactly one range, so the shards of one N cover everyone exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

_SPACE = 1 << 128
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A ``--shard`` value that is not ``i/N`` with 1 ≤ i ≤ N."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: the ids in ``[low, high)``."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ShardError(f"shard must be i/N with 1 ≤ i ≤ N, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD.match(text)
        if match is None:
            raise ShardError(f'shard must look like "1/4" (i/N, 1 ≤ i ≤ N), got {text!r}')
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def low(self) -> UUID:
        return UUID(int=(self.index - 1) * _SPACE // self.count)

    @property
    def high(self) -> UUID | None:
        """The first id of the next shard; None for the last shard (no upper bound)."""
        return None if self.index == self.count else UUID(int=self.index * _SPACE // self.count)

    def __contains__(self, account_id: UUID) -> bool:
        """Is ``account_id`` in this shard's range (asked once per input row: integers)."""
        number = account_id.int
        return (self.index - 1) * _SPACE // self.count <= number and (
            self.index == self.count or number < self.index * _SPACE // self.count)

    def fraction(self, account_id: UUID) -> float:
        """How far through this shard's key range ``account_id`` is (0 to 1)."""
        start = self.low.int
        end = self.high.int if self.high is not None else _SPACE
        return min(1.0, max(0.0, (account_id.int - start) / (end - start)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
