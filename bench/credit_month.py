"""Benchmark: ``credit-month`` for N people next to a raw bulk insert of N event rows.

    .venv/bin/python bench/credit_month.py --people 1000000                # SQLite
    .venv/bin/python bench/credit_month.py --people 1000000 \\
        --database postgresql://postgres@127.0.0.1:5432/test              # PostgreSQL
    .venv/bin/python bench/credit_month.py --people 1000000 --shards 2    # 2 processes

Enrolls N people (``gongji people import``, timed too), credits one month to the
employed ones through the job, then inserts as many raw event rows (the bytes of a real
``ContributionCredited`` event, fresh uuid5 ids, sorted per transaction of the same
size) through the same recorder into the same store: the rate a store can take with
no reading and no deciding at all. Prints events/s of both and their ratio. With ``--shards N`` the crediting runs as N
``gongji jobs credit-month --shard i/N`` processes started together (wall time of all).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import NAMESPACE_OID, uuid5

from eventsourcing.persistence import StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_store, peak_mib, write_contributions, write_people  # noqa: E402
from ledger import open_ledger  # noqa: E402
from ledger.jobs import credit_month, import_people  # noqa: E402

PARAMETERS = {"nanchang": {"average_pension": "3100.00"}}


def raw_insert(ledger, rows: int, batch: int, template: StoredEvent) -> float:
    """Seconds to insert ``rows`` event rows through the recorder, ``batch`` per transaction."""
    started = time.perf_counter()
    for start in range(0, rows, batch):
        events = sorted(
            (StoredEvent(uuid5(NAMESPACE_OID, f"raw/{i}"), 1, template.topic, template.state)
             for i in range(start, min(rows, start + batch))),
            key=lambda e: e.originator_id.hex)
        ledger.recorder.insert_events(events)
    return time.perf_counter() - started


def sharded_credit(url: str, credits: Path, shards: int, work: Path) -> tuple[float, bool]:
    """Wall seconds of N ``credit-month --shard i/N`` processes run side by side, and
    whether every shard's summary tied out."""
    env = {**os.environ, "GONGJI_DATABASE_URL": url,
           "GONGJI_POLICY_PARAMETERS": '{"nanchang": {"average_pension": "3100.00"}}'}
    gongji = str(Path(sys.executable).with_name("gongji"))
    started = time.perf_counter()
    logs = [work / f"shard-{i}.log" for i in range(1, shards + 1)]
    processes = [subprocess.Popen(
        [gongji, "jobs", "credit-month", str(credits), "--shard", f"{i}/{shards}",
         "--rejects", str(work / f"r{i}.csv")], env=env,
        stdout=log.open("w"), stderr=subprocess.DEVNULL) for i, log in enumerate(logs, 1)]
    failed = [p.wait() for p in processes]
    seconds = time.perf_counter() - started
    return seconds, not any(failed) and all("✗" not in log.read_text() for log in logs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgresql:// URL")
    parser.add_argument("--shards", type=int, default=1, help="credit in N processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gongji-bench-") as tmp:
        work = Path(tmp)
        people, credits = work / "people.csv", work / "credits.csv"
        write_people(people, args.people)
        write_contributions(credits, args.people, "2024-03")
        with fresh_store(args.database, work) as url:
            ledger = open_ledger(url, PARAMETERS)
            enrolled = import_people(ledger, people, work / "people.rejects.csv",
                                     batch_size=args.batch_size)
            if args.shards == 1:
                job = credit_month(ledger, credits, work / "credits.rejects.csv",
                                   batch_size=args.batch_size)
                written, seconds, ties = job.events["ContributionCredited"], job.seconds, job.ties_out
            else:
                seconds, ties = sharded_credit(url, credits, args.shards, work)
                written = args.people - (args.people + 9) // 10  # every 10th is retired
            template = ledger.mapper.to_stored_event(
                next(e for e in ledger.events.get(uuid5_account("P00000001"))
                     if type(e).__name__ == "ContributionCredited"))
            raw_seconds = raw_insert(ledger, written, args.batch_size, template)
            ledger.close()
        store = "PostgreSQL" if args.database.startswith("postgresql") else "SQLite"
        job_rate, raw_rate = written / seconds, written / raw_seconds
        print(f"store: {store}; people: {args.people:,}; batch size: {args.batch_size:,}; "
              f"crediting processes: {args.shards}")
        print(f"people import: {enrolled.written:,} enrolled in {enrolled.seconds:.1f} s "
              f"= {enrolled.written / enrolled.seconds:,.0f} events/s")
        print(f"credit-month job: {written:,} credits in {seconds:.1f} s "
              f"= {job_rate:,.0f} events/s (ties out: {ties})")
        print(f"raw insert: {written:,} rows in {raw_seconds:.1f} s = {raw_rate:,.0f} events/s")
        print(f"ratio job/raw: {job_rate / raw_rate:.0%}; peak memory {peak_mib():,.0f} MiB")


def uuid5_account(person: str):
    from ledger.ids import account_id

    return account_id(person)


if __name__ == "__main__":
    main()
