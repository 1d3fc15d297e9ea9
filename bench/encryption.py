"""Benchmark: what encryption at rest costs, with the plain store as the same-run baseline.

For each of *plain* and *encrypted* (``GONGJI_CIPHER_KEY`` set), on a fresh store: the
people import and one credit-month job (bulk writes through the recorder), a full
projection catch-up into memory (read, decrypt, decode, project), and ``audit verify``'s
hash-chain walk. Then the key rotation itself: ``rekey`` of the encrypted store into a
fresh one under a new key (verify the chain, copy, read back and compare, verify the copy).

Usage: ``python bench/encryption.py [--people N] [--database postgresql://…]``
(default: 20,000 people on temporary SQLite files).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import fresh_store, write_contributions, write_people
from ledger import open_ledger
from ledger.adapters.chain import verify_chain
from ledger.crypto import new_key
from ledger.jobs import credit_month, import_people
from ledger.rekey import open_target, rekey
from projections import ViewWorker
from projections.stores.memory import MemoryViews


def timed(what: str, events: int, run) -> float:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"  {what:<28} {events:>9,} events {seconds:8.2f} s {events / seconds:>10,.0f} events/s")
    return events / seconds


def one(label: str, key: str | None, people: Path, credits: Path, url: str,
        work: Path) -> dict[str, float]:
    if key:
        os.environ["GONGJI_CIPHER_KEY"] = key
    else:
        os.environ.pop("GONGJI_CIPHER_KEY", None)
    print(label)
    ledger = open_ledger(url)
    rates: dict[str, float] = {}
    try:
        n = sum(1 for _ in people.open()) - 1
        rates["import"] = timed("people import", n, lambda: import_people(
            ledger, people, work / "p.rejects.csv"))
        m = sum(1 for _ in credits.open()) - 1
        rates["credit"] = timed("credit-month", m, lambda: credit_month(
            ledger, credits, work / "c.rejects.csv"))
        total = ledger.recorder.max_notification_id() or 0
        rates["project"] = timed("projection catch-up", total, lambda: ViewWorker(
            ledger.recorder, ledger.mapper, MemoryViews()).catch_up())
        rates["chain"] = timed("hash-chain verify", total,
                               lambda: verify_chain(ledger.recorder))
    finally:
        ledger.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--database", default="", help="postgresql://… (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        people, credits = work / "people.csv", work / "credits.csv"
        write_people(people, args.people)
        write_contributions(credits, args.people, "2024-03")
        key = new_key()
        with fresh_store(args.database, work / "plain") as url:
            (work / "plain").mkdir(exist_ok=True)
            plain = one("plain (baseline)", None, people, credits, url, work)
        (work / "enc").mkdir()
        with fresh_store(args.database, work / "enc") as url:
            encrypted = one("encrypted (AES-256-GCM)", key, people, credits, url, work)
            print("key rotation")
            source = open_ledger(url)
            (work / "new").mkdir()
            with fresh_store(args.database, work / "new") as target_url:
                target = open_target(source, target_url, new_key())
                total = source.recorder.max_notification_id() or 0
                try:
                    timed("rekey (copy + checks)", total, lambda: rekey(source, target))
                finally:
                    target.close()
                    source.close()
        print("encrypted / plain, same run:")
        for name, rate in encrypted.items():
            print(f"  {name:<10} {rate / plain[name]:6.0%}")


if __name__ == "__main__":
    main()
