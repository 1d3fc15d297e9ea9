"""Benchmark: writing and reading an account's state row, by years of history.

    .venv/bin/python bench/state_rows.py                 # 1, 12, 60, 120 credited months
    .venv/bin/python bench/state_rows.py --months 1 240 --rounds 7

An account is enrolled, then credited month after month (in memory: the row is what is
measured, not the store); at each size asked for, its
state row is written and read ``--number`` times in the row's format 4 (``StateCodec.row``
and ``.load``: the growing attributes as plain JSON, nothing of them decoded, the
attributes that still equal their enrolment facts left out, and the dates and times
``Account.row_dates`` names as ISO text) and, as the same-run baselines, in format 3
(the same with the dates tagged: ``Account.row_dates`` unset while it is written),
format 2 (with every attribute written: ``Account.row_copies`` unset instead) and format 1 (the transcoder's JSON of the whole state, every
object and list walked on the way back: ``StateCodec.event``; ``.load`` still reads both).
The formats take turns, ``--rounds`` times; the best round of
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
from ledger.account import Account  # noqa: E402
from ledger.adapters.state import StateCodec  # noqa: E402
from ledger.commands import EnrollPerson  # noqa: E402

_BASE = ("_id", "_version", "_pending_events")


def first_format(codec: StateCodec, account: Any) -> Any:
    """The row as format 1 wrote it: the transcoder's JSON of the whole state."""
    state = {k: v for k, v in vars(account).items() if k not in _BASE}
    return codec.event(account.id, account.version, "ledger.account:Account", state)


def earlier_format(codec: StateCodec, account: Any, unset: str) -> Any:
    """The row as an earlier format wrote it: ``Account.<unset>`` None while it is written
    (``row_copies``: format 2, every attribute, the enrolment facts twice; ``row_dates``:
    format 3, the dates and times tagged)."""
    kept = getattr(Account, unset)
    setattr(Account, unset, None)
    try:
        return codec.row(account)
    finally:
        setattr(Account, unset, kept)


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
            print(f"{'months':>6} | " + " | ".join(
                f"{f'format {n} write':>14} {'read':>8} {'bytes':>6}" for n in (1, 2, 3, 4))
                + " | read 1/4, 2/4, 3/4")
            account, done = ledger.account("P1"), 0
            for months in sorted(args.months):
                while done < months:  # on the account itself: the shipped policies span
                    year, month = divmod(done, 12)  # only a few years
                    account.credit_contribution(f"{2001 + year}-{month + 1:02d}", 500000,
                                                10000, "suizhou art. 14(一)")
                    done += 1
                expected = {k: v for k, v in vars(account).items() if k not in _BASE}
                writers = {1: lambda: first_format(codec, account),
                           2: lambda: earlier_format(codec, account, "row_copies"),
                           3: lambda: earlier_format(codec, account, "row_dates"),
                           4: lambda: codec.row(account)}
                rows = {n: write() for n, write in writers.items()}
                for row in rows.values():
                    loaded = codec.load(row)
                    assert loaded is not None and loaded.version == account.version
                    assert {k: v for k, v in vars(loaded).items() if k not in _BASE} == expected
                best: dict[tuple[int, str], list[float]] = {}
                for _ in range(args.rounds):
                    for n, write in writers.items():
                        best.setdefault((n, "w"), []).append(timed(write, args.number))
                        best.setdefault((n, "r"), []).append(
                            timed(lambda row=rows[n]: codec.load(row), args.number))
                low = {key: min(times) for key, times in best.items()}
                print(f"{months:>6} | " + " | ".join(
                    f"{low[n, 'w']:>11.1f} µs {low[n, 'r']:>5.1f} µs {len(rows[n].state):>6}"
                    for n in (1, 2, 3, 4))
                    + f" | {low[1, 'r'] / low[4, 'r']:.2f}×, {low[2, 'r'] / low[4, 'r']:.2f}×, "
                    f"{low[3, 'r'] / low[4, 'r']:.2f}×")
        finally:
            ledger.close()


if __name__ == "__main__":
    main()
