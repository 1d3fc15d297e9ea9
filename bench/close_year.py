"""Benchmark: ``gongji jobs close-year`` over N accounts, in 1 or more shard processes.

    .venv/bin/python bench/close_year.py --people 1000000                   # SQLite
    .venv/bin/python bench/close_year.py --people 100000 --interest-rate 0.015
    .venv/bin/python bench/close_year.py --people 1000000 --shards 2 \\
        --database postgresql://postgres@127.0.0.1:5432/test               # PostgreSQL

Builds the population first (people import, then a month of contributions, so the
accounts have balances), then runs the year end as separate ``gongji jobs close-year
--shard i/N`` processes started together, and reports the wall time of the slowest, each
process's CPU seconds and peak resident memory (from ``wait4``; the CPU seconds are the
steadier figure on a loaded machine), then runs it once more to show a second run writes
nothing.

The shipped policies set no interest rate, so the year end reads no account history;
``--interest-rate R`` sets nanchang's (a deployment parameter, nanchang art. 27) and every
account's history is then read for its interest. The baseline, measured in the same run:
the rows the job stored (its ``YearClosed`` and ``InterestCredited`` events, bytes as
stored) copied in key order into an empty events table of a fresh store, ``--batch-size``
rows a transaction (executemany on SQLite, COPY on PostgreSQL: ``bench/credit_month.py``'s
bare insert), with no reading, deciding, encoding, chain or state rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.utils import get_topic  # noqa: E402

from bench.common import fresh_store, write_contributions, write_people  # noqa: E402
from bench.credit_month import bare_insert, job_rows  # noqa: E402
from ledger import open_ledger  # noqa: E402
from ledger.account import Account  # noqa: E402
from ledger.jobs import credit_month, import_people  # noqa: E402

GONGJI = str(Path(sys.executable).with_name("gongji"))


def close_year(url: str, shards: int, year: int, workdir: Path, workers: int = 1,
               parameters: dict | None = None, batch_size: int = 5000,
               ) -> tuple[float, list[float], list[float], list[str]]:
    """Wall seconds, CPU seconds and peak MiB per process, the summary line of each."""
    env = {**os.environ, "GONGJI_DATABASE_URL": url, "COLUMNS": "120",
           "GONGJI_POLICY_PARAMETERS": json.dumps(parameters or {})}
    started = time.perf_counter()
    processes = []
    for i in range(1, shards + 1):
        log = (workdir / f"close-{i}.log").open("w")
        processes.append((subprocess.Popen(
            [GONGJI, "jobs", "close-year", "--year", str(year), "--shard", f"{i}/{shards}",
             "--rejects", str(workdir / f"close-{i}.rejects.csv"), "--workers", str(workers),
             "--batch-size", str(batch_size)],
            env=env, stdout=log, stderr=subprocess.DEVNULL), log))
    peaks, cpu = [], []
    for process, log in processes:
        _, status, usage = os.wait4(process.pid, 0)
        log.close()
        if status != 0:
            raise SystemExit(f"close-year exited with {status}: see {log.name}")
        peaks.append(usage.ru_maxrss / 1024)
        cpu.append(usage.ru_utime + usage.ru_stime)
    wall = time.perf_counter() - started
    tails = [(workdir / f"close-{i}.log").read_text().strip().splitlines()
             for i in range(1, shards + 1)]
    summaries = [next((line for line in t if "written" in line and "│" in line), "")
                 for t in tails]
    return wall, cpu, peaks, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1,
                        help="deciding processes per job process (one writer each)")
    parser.add_argument("--interest-rate", default=None,
                        help="nanchang's interest rate (e.g. 0.015): histories are then read")
    parser.add_argument("--batch-size", type=int, default=5000,
                        help="accounts a transaction (the job's and the baseline's)")
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgresql:// URL")
    args = parser.parse_args()
    parameters = {"nanchang": {"average_pension": "3100.00"}}
    if args.interest_rate is not None:
        parameters["nanchang"]["interest_rate"] = args.interest_rate
    with tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        work = Path(tmp)
        write_people(work / "people.csv", args.people)
        write_contributions(work / "credits.csv", args.people, "2024-03")
        with fresh_store(args.database, work) as url:
            ledger = open_ledger(url, parameters)
            started = time.perf_counter()
            import_people(ledger, work / "people.csv", work / "p.rejects.csv",
                          workers=args.workers)
            credit_month(ledger, work / "credits.csv", work / "c.rejects.csv",
                         workers=args.workers)
            ledger.close()
            print(f"population of {args.people:,} built in {time.perf_counter() - started:.0f} s")
            load = os.getloadavg()
            wall, cpu, peaks, lines = close_year(url, args.shards, 2024, work, args.workers,
                                                 parameters, args.batch_size)
            after = os.getloadavg()
            store = "PostgreSQL" if args.database.startswith("postgresql") else "SQLite"
            print(f"store: {store}; accounts: {args.people:,}; shards: {args.shards}; "
                  f"workers: {args.workers}; interest rate: {args.interest_rate or 'none'}; "
                  f"load average {load[0]:.1f} {load[1]:.1f} before, "
                  f"{after[0]:.1f} {after[1]:.1f} after")
            print(f"close-year: wall {wall:.1f} s = {args.people / wall:,.0f} accounts/s; "
                  f"CPU {', '.join(f'{c:.1f} s' for c in cpu)} "
                  f"(= {sum(cpu) / args.people * 1e6:.0f} µs an account); "
                  f"peak memory per process: {', '.join(f'{p:,.0f} MiB' for p in peaks)}")
            for line in lines:
                print("  " + " ".join(line.replace("│", " ").split()))
            rows = [row for event in (Account.InterestCredited, Account.YearClosed)
                    for row in job_rows(url, get_topic(event))]
            rows.sort(key=lambda row: (row[0], row[1]))
            bare = bare_insert(url, rows, args.batch_size, work)
            print(f"baseline, bare insert of the job's {len(rows):,} rows: {bare:.1f} s = "
                  f"{len(rows) / bare:,.0f} rows/s; the job took {wall / bare:.1f}× as long")
            wall2, cpu2, _, lines2 = close_year(url, args.shards, 2024, work, args.workers,
                                                parameters, args.batch_size)
            print(f"second run: wall {wall2:.1f} s, CPU {sum(cpu2):.1f} s; "
                  + "; ".join(" ".join(l.replace("│", " ").split()) for l in lines2))


if __name__ == "__main__":
    main()
