"""``--shard i/N``: the shards of one N cover every account exactly once."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs_support import balances, contributions, enroll_many
from ledger import Ledger
from ledger.jobs import Shard, ShardError, close_year, credit_month


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=(1 << 128) - 1), st.integers(min_value=1, max_value=16))
def test_every_id_is_in_exactly_one_shard(value: int, count: int):
    account_id = UUID(int=value)
    owners = [i for i in range(1, count + 1) if account_id in Shard(i, count)]
    assert len(owners) == 1
    assert 0 <= Shard(owners[0], count).fraction(account_id) <= 1


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_refused_with_the_expected_shape(text: str):
    with pytest.raises(ShardError, match="i/N"):
        Shard.parse(text)


def test_shards_together_credit_and_close_everyone_exactly_once(ledger: Ledger, tmp_path: Path):
    names = enroll_many(ledger, tmp_path, 40)
    file = contributions(tmp_path, names, "2024-03")
    parts = [credit_month(ledger, file, tmp_path / f"r{i}.csv", Shard(i, 3), batch_size=4)
             for i in (1, 2, 3)]
    assert [p.written for p in parts] != [40, 0, 0]  # the work really was split
    assert sum(p.written for p in parts) == 40
    assert all(p.written + p.other_shards == 40 for p in parts)
    assert sum(p.credited for p in parts) == sum(balances(ledger, names).values())

    closes = [close_year(ledger, 2024, tmp_path / f"y{i}.csv", shard=Shard(i, 3), batch_size=4)
              for i in (1, 2, 3)]
    assert sum(c.written for c in closes) == 40 and all(c.ties_out for c in closes)
    assert all(2024 in ledger.account(n).closed_years for n in names)
