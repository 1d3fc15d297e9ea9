"""The external sort of a job's input (ledger.jobs.keysort): key order, file order within a
key, the same result whether the rows fit in memory or are spilled to disk."""

from __future__ import annotations

import random
from uuid import UUID

from ledger.ids import account_id
from ledger.jobs.keysort import ExternalSort, key_ordered


def test_spilled_runs_merge_into_key_then_line_order() -> None:
    rng = random.Random(9)
    items = [(account_id(f"P{rng.randrange(50)}"), line, f"row {line}") for line in range(2000)]
    rng.shuffle(items)
    expected = [(key, payload) for key, line, payload in
                sorted(items, key=lambda item: (item[0].int, item[1]))]
    assert list(key_ordered(items, run=10_000)) == expected  # in memory
    assert list(key_ordered(items, run=37)) == expected  # 55 runs on disk, merged
    # one person's rows keep their file order
    first = expected[0][0]
    lines = [int(p.split()[1]) for k, p in expected if k == first]
    assert lines == sorted(lines) and len(lines) > 1


def test_pushed_items_are_read_back_once_in_order() -> None:
    sorter = ExternalSort(run=3)
    for line in (5, 1, 4, 2, 3, 0, 6):
        sorter.add(UUID(int=0), line, line)
    assert [payload for _, payload in sorter] == [0, 1, 2, 3, 4, 5, 6]
    assert list(sorter) == []
