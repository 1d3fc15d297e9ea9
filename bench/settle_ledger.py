"""Benchmark: settlements through the ledger alone (no HTTP, no API), one after the other.

Prints the CPU and wall time per settlement and the spread of single calls, with the
account read (a state row) of the same store as the baseline of one round trip:

    .venv/bin/python bench/settle_ledger.py                         # a temporary SQLite file
    .venv/bin/python bench/settle_ledger.py --database 'postgresql://postgres@127.0.0.1:5432/test?schema=s1'
    PSYCOPG_IMPL=python .venv/bin/python bench/settle_ledger.py --database …   # pure-Python psycopg

The PostgreSQL schema must exist and be empty.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ledger import commands as c
from ledger import open_ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--settlements", type=int, default=1500)
    args = parser.parse_args()
    url = args.database or str(Path(tempfile.mkdtemp(prefix="gongji-bench-")) / "g.db")
    ledger = open_ledger(url, {})
    for n in range(args.people):
        ledger.enroll(c.EnrollPerson(person=f"P{n}", region="suizhou",
                                     birth_date="1970-01-01"))
        for month in range(1, 7):
            ledger.credit_contribution(c.RecordContribution(
                person=f"P{n}", month=f"2024-{month:02d}", base="5000.00"))
    visits = [c.SettleVisit(person=f"P{i % args.people}", id=f"S{i}", date="2024-06-01",
                            level=1, in_scope="80.00", out_of_scope="5.00")
              for i in range(args.settlements)]
    for visit in visits[:50]:  # warm
        ledger.settle_visit(visit)
    calls = []
    cpu, wall = time.process_time(), time.perf_counter()
    for visit in visits[50:]:
        started = time.perf_counter()
        ledger.settle_visit(visit)
        calls.append((time.perf_counter() - started) * 1e3)
    count = len(calls)
    cpu, wall = (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count
    reads = time.process_time()
    for i in range(count):
        ledger.account(f"P{i % args.people}")
    reads = (time.process_time() - reads) / count * 1e6
    calls.sort()
    print(f"store: {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; psycopg "
          f"{os.environ.get('PSYCOPG_IMPL', 'default build')}; load average "
          f"{os.getloadavg()[0]:.1f} (2 cores, shared)")
    print(f"baseline: account read (state row)   {reads:7.0f} µs CPU")
    print(f"settlement, one after the other      {cpu:7.0f} µs CPU  {wall * 1e3:.2f} ms wall  "
          f"(p50 {calls[count // 2]:.2f}, p99 {calls[int(count * 0.99)]:.2f}, "
          f"max {calls[-1]:.2f} ms; {count} settlements)")
    ledger.close()


if __name__ == "__main__":
    main()
