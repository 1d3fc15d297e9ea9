"""Benchmark: ``gongji jobs close-year`` over N accounts, in 1 or more shard processes.

    .venv/bin/python bench/close_year.py --people 1000000                   # SQLite
    .venv/bin/python bench/close_year.py --people 1000000 --shards 2 \\
        --database postgresql://postgres@127.0.0.1:5432/test               # PostgreSQL

Builds the population first (people import, then a month of contributions, so the
accounts have balances), then runs the year end as separate ``gongji jobs close-year
--shard i/N`` processes started together, and reports the wall time of the slowest and
each process's peak resident memory (from ``wait4``), then runs it once more to show a
second run writes nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_store, write_contributions, write_people  # noqa: E402
from ledger import open_ledger  # noqa: E402
from ledger.jobs import credit_month, import_people  # noqa: E402

GONGJI = str(Path(sys.executable).with_name("gongji"))


def close_year(url: str, shards: int, year: int, workdir: Path,
               workers: int = 1) -> tuple[float, list[float], list[str]]:
    """Wall seconds, peak MiB per process, and the last summary line of each."""
    env = {**os.environ, "GONGJI_DATABASE_URL": url, "COLUMNS": "120"}
    started = time.perf_counter()
    processes = []
    for i in range(1, shards + 1):
        log = (workdir / f"close-{i}.log").open("w")
        processes.append((subprocess.Popen(
            [GONGJI, "jobs", "close-year", "--year", str(year), "--shard", f"{i}/{shards}",
             "--rejects", str(workdir / f"close-{i}.rejects.csv"), "--workers", str(workers)],
            env=env, stdout=log, stderr=subprocess.DEVNULL), log))
    peaks = []
    for process, log in processes:
        _, status, usage = os.wait4(process.pid, 0)
        log.close()
        if status != 0:
            raise SystemExit(f"close-year exited with {status}: see {log.name}")
        peaks.append(usage.ru_maxrss / 1024)
    wall = time.perf_counter() - started
    tails = [(workdir / f"close-{i}.log").read_text().strip().splitlines()
             for i in range(1, shards + 1)]
    return wall, peaks, [next((l for l in t if "written" in l and "│" in l), "") for t in tails]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1,
                        help="deciding processes per job process (one writer each)")
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgresql:// URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        work = Path(tmp)
        write_people(work / "people.csv", args.people)
        write_contributions(work / "credits.csv", args.people, "2024-03")
        with fresh_store(args.database, work) as url:
            ledger = open_ledger(url, {"nanchang": {"average_pension": "3100.00"}})
            started = time.perf_counter()
            import_people(ledger, work / "people.csv", work / "p.rejects.csv",
                          workers=args.workers)
            credit_month(ledger, work / "credits.csv", work / "c.rejects.csv",
                         workers=args.workers)
            ledger.close()
            print(f"population of {args.people:,} built in {time.perf_counter() - started:.0f} s")
            load = os.getloadavg()[0]
            wall, peaks, lines = close_year(url, args.shards, 2024, work, args.workers)
            store = "PostgreSQL" if args.database.startswith("postgresql") else "SQLite"
            print(f"store: {store}; accounts: {args.people:,}; shards: {args.shards}; "
                  f"workers: {args.workers}; load average {load:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after")
            print(f"close-year: wall {wall:.1f} s = {args.people / wall:,.0f} accounts/s; "
                  f"peak memory per process: {', '.join(f'{p:,.0f} MiB' for p in peaks)}")
            for line in lines:
                print("  " + " ".join(line.replace("│", " ").split()))
            wall2, _, lines2 = close_year(url, args.shards, 2024, work, args.workers)
            print(f"second run: wall {wall2:.1f} s; "
                  + "; ".join(" ".join(l.replace("│", " ").split()) for l in lines2))


if __name__ == "__main__":
    main()
