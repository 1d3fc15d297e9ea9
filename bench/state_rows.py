"""Benchmark: writing and reading an account's state row, by years of history.

    .venv/bin/python bench/state_rows.py                 # 1, 12, 60, 120 credited months
    .venv/bin/python bench/state_rows.py --months 1 240 --rounds 7

An account is enrolled, then credited month after month (in memory: the row is what is
measured, not the store); at each size asked for, its
state row is written and read ``--number`` times in the row's format 2 (``StateCodec.row``
and ``.load``: the growing attributes as plain JSON, nothing of them decoded) and, as the
same-run baseline, in format 1 (the transcoder's JSON of the whole state, every object and
list walked on the way back: ``StateCodec.event``, and ``.load``, which still reads such a
row). The two formats take turns, ``--rounds`` times; the best round of
each is printed, in µs per row, with the row's size. Every row read back is checked equal
to the account. Run it on a quiet machine: it is single-threaded CPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger import open_ledger  # noqa: E402
from ledger.adapters.state import StateCodec  # noqa: E402
from ledger.commands import EnrollPerson  # noqa: E402

_BASE = ("_id", "_version", "_pending_events")


def first_format(codec: StateCodec, account: Any) -> Any:
    """The row as format 1 wrote it: the transcoder's JSON of the whole state."""
    state = {k: v for k, v in vars(account).items() if k not in _BASE}
    return codec.event(account.id, account.version, "ledger.account:Account", state)


def timed(action: Any, number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        action()
    return (time.perf_counter() - started) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, nargs="+", default=[1, 12, 60, 120],
                        help="credited months of history to measure at")
    parser.add_argument("--number", type=int, default=2000, help="rows written/read a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        ledger = open_ledger(str(Path(tmp) / "rows.db"), {})
        try:
            ledger.enroll(EnrollPerson(person="P1", region="suizhou", birth_date="1980-01-01"))
            codec = StateCodec(ledger.mapper)
            print(f"{'months':>6} | {'format 1 write':>14} {'read':>8} {'bytes':>6} | "
                  f"{'format 2 write':>14} {'read':>8} {'bytes':>6} | read 1/2")
            account, done = ledger.account("P1"), 0
            for months in sorted(args.months):
                while done < months:  # on the account itself: the shipped policies span
                    year, month = divmod(done, 12)  # only a few years
                    account.credit_contribution(f"{2001 + year}-{month + 1:02d}", 500000,
                                                10000, "suizhou art. 14(一)")
                    done += 1
                expected = {k: v for k, v in vars(account).items() if k not in _BASE}
                one, two = first_format(codec, account), codec.row(account)
                for row in (one, two):
                    loaded = codec.load(row)
                    assert loaded is not None and loaded.version == account.version
                    assert {k: v for k, v in vars(loaded).items() if k not in _BASE} == expected
                best: dict[str, list[float]] = {"1w": [], "1r": [], "2w": [], "2r": []}
                for _ in range(args.rounds):
                    best["1w"].append(timed(lambda: first_format(codec, account), args.number))
                    best["1r"].append(timed(lambda: codec.load(one), args.number))
                    best["2w"].append(timed(lambda: codec.row(account), args.number))
                    best["2r"].append(timed(lambda: codec.load(two), args.number))
                w1, r1, w2, r2 = (min(best[k]) for k in ("1w", "1r", "2w", "2r"))
                print(f"{months:>6} | {w1:>11.1f} µs {r1:>5.1f} µs {len(one.state):>6} | "
                      f"{w2:>11.1f} µs {r2:>5.1f} µs {len(two.state):>6} | {r1 / r2:.2f}×")
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
