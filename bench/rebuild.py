"""Benchmark: rebuild throughput of the views next to the raw read rate of the same events.

Generates a realistic ledger by running real commands (enrolments, monthly contributions,
family bindings, visits paid own/family/cash, spends, reversals, a year end) on an
in-memory store, copies the stored events into the target store through its recorder (so
the hash chain is written too), then in the same run measures:

- raw: reading every event with ``select_notifications`` in batches, and with the
  worker's own query (nothing else) — the baselines;
- rebuild, one process: ``ViewWorker.rebuild`` without an opener (threads: read | decode
  and project | write), at the follow loop's batch size — the previous rebuild;
- rebuild in processes: the same with an opener (:mod:`projections.pipeline`: children
  read, decode and project a part of the log each; this process writes), at
  ``--batch-size``, with each number of children in ``--children``.

Every rebuild must leave views equal, row for row, to a recompute in memory.

Usage: ``python bench/rebuild.py [--people N] [--copies K] [--database URL] [--redis URL]``
(default: a temporary SQLite file, 50 copies of 200 people ≈ 210,000 events).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger import open_ledger
from ledger.commands import (
    BindFamilyMember,
    CloseYear,
    EnrollPerson,
    FamilyPay,
    RecordContribution,
    Reverse,
    SettleVisit,
    Spend,
)
from ledger.ids import account_id, transaction_id
from projections import ViewWorker, open_views
from projections.log import EventLog
from projections.stores.memory import MemoryViews
from projections.worker import BATCH_SIZE, REBUILD_BATCH_SIZE

PARAMETERS = {"nanchang": {"average_pension": "3100.00"}}


def generate(people: int, seed: int = 7) -> tuple[list[StoredEvent], dict[str, str]]:
    """Stored events of ``people`` persons' year 2024, from real commands on a memory store.

    Names carry the token ``xx`` (``Pxx00012``, ``Vxx00012-0``) so that :func:`replicate`
    can make copies of the population; returns the events and each name's aggregate id.
    """
    rng = random.Random(seed)
    ledger = open_ledger(":memory:", PARAMETERS)
    ids: dict[str, str] = {}
    for i in range(people):
        person, region = f"Pxx{i:05d}", rng.choice(["suizhou", "nanchang"])
        ids[person] = account_id(person).hex
        ledger.enroll(EnrollPerson(person=person, region=region, birth_date="1980-05-01"))
        for month in range(1, 13):
            base = f"{rng.randint(3000, 12000)}.00"
            ledger.credit_contribution(RecordContribution(person=person,
                                                          month=f"2024-{month:02d}", base=base))
        if i % 2:
            ledger.bind_family_member(BindFamilyMember(
                owner=f"Pxx{i - 1:05d}", member=person, relation="spouse", date="2024-01-01"))
        for v in range(rng.randint(1, 3)):
            pay = FamilyPay(family=f"Pxx{i - 1:05d}") if i % 2 and v == 0 else "own"
            client = f"Vxx{i:05d}-{v}"
            ids[client] = transaction_id(client).hex
            ledger.settle_visit(SettleVisit(
                person=person, id=client, date=f"2024-{rng.randint(2, 12):02d}-10",
                level=rng.randint(1, 3), in_scope=f"{rng.randint(50, 900)}.00", pay=pay))
        if i % 10 == 0:
            ledger.reverse(Reverse(id=f"Vxx{i:05d}-0", date="2024-12-20"))
        if i % 3 == 0:
            ids[f"Sxx{i:05d}"] = transaction_id(f"Sxx{i:05d}").hex
            ledger.spend(Spend(payer=person, purpose="pharmacy", amount="10.00",
                               id=f"Sxx{i:05d}", date="2024-12-01"))
    ledger.close_year(CloseYear(year=2024))
    events = [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
              for n in ledger.recorder.select_notifications(None, 10**9)]
    ledger.close()
    return events, ids


def replicate(events: list[StoredEvent], ids: dict[str, str], copy: int) -> list[StoredEvent]:
    """The events of population copy number ``copy`` (0–99): names and ids renamed."""
    token = b"%02d" % copy
    renamed = {
        UUID(hex_id): (account_id if name.startswith("P") else transaction_id)(
            name.replace("xx", token.decode()))
        for name, hex_id in ids.items()
    }
    return [StoredEvent(renamed[e.originator_id], e.originator_version, e.topic,
                        e.state.replace(b"xx", token)) for e in events]


def read_library(recorder, batch: int) -> int:
    """Just reading: the library's ``select_notifications`` (a ``Notification`` per row)."""
    count, start = 0, 0
    while rows := recorder.select_notifications(start, batch, inclusive_of_start=False):
        count += len(rows)
        start = rows[-1].id
    return count


def read_lean(log: EventLog, batch: int) -> int:
    """Just reading: the same query as the worker's (plain tuples)."""
    count, start = 0, 0
    while rows := log.read(start, batch):
        count += len(rows)
        start = rows[-1][0]
    return count


def rate(action) -> float:
    started = time.perf_counter()
    count = action()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="people made by commands")
    parser.add_argument("--copies", type=int, default=50, help="copies of them (≤ 100)")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis", default=None, help="rebuild Redis views instead of SQL")
    parser.add_argument("--batch-size", type=int, default=REBUILD_BATCH_SIZE,
                        help="the pipeline's batch size (notification ids per range)")
    parser.add_argument("--children", type=int, nargs="+", default=[1, 2],
                        help="projecting children of the pipelined rebuilds to time")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or str(Path(tmp) / "bench.db")
        started = time.perf_counter()
        events, ids = generate(args.people)
        ledger = open_ledger(url, PARAMETERS)
        for copy in range(args.copies):
            ledger.recorder.insert_events(replicate(events, ids, copy))
        # the copies went in around the ledger, without state rows: write them now, or the
        # first child to open the ledger would (inside the first timed rebuild)
        ledger.fill_states()
        print(f"stored {args.copies} copies of {len(events)} events made by commands for "
              f"{args.people} people, in {time.perf_counter() - started:.1f}s")
        views = open_views(url, args.redis)

        def reopen():  # noqa: ANN202 - in the child process
            return open_ledger(url, PARAMETERS), open_views(url, args.redis, create=False)

        one = ViewWorker(ledger.recorder, ledger.mapper, views, BATCH_SIZE)
        piped = {n: ViewWorker(ledger.recorder, ledger.mapper, views, args.batch_size,
                               opener=reopen, children=n) for n in args.children}
        log = EventLog(ledger.recorder)
        read_lean(log, args.batch_size)  # warm the page cache
        recompute = MemoryViews()
        ViewWorker(ledger.recorder, ledger.mapper, recompute).catch_up()
        expected = recompute.dump()
        library, lean, single = [], [], []
        multi: dict[int, list[float]] = {n: [] for n in args.children}
        for _ in range(args.rounds):
            library.append(rate(lambda: read_library(ledger.recorder, args.batch_size)))
            lean.append(rate(lambda: read_lean(log, args.batch_size)))
            single.append(rate(one.rebuild))
            assert views.dump() == expected, "one-process rebuild differs from the recompute"
            for n, worker in piped.items():
                multi[n].append(rate(worker.rebuild))
                assert views.dump() == expected, f"rebuild with {n} children differs"
        print(f"store: {url if args.database else 'temporary SQLite file'}; views: "
              f"{views.kind}; {log.head()} events; best of {args.rounds} rounds; "
              f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores, shared)")
        for name, rates in (("raw read, select_notifications", library),
                            ("raw read, worker's query", lean),
                            (f"rebuild, 1 process, batch {BATCH_SIZE}", single),
                            *((f"rebuild, {n} children + writer, batch {args.batch_size}",
                               multi[n]) for n in args.children)):
            print(f"{name:<46} {max(rates):>10,.0f} events/s   (rounds: "
                  + ", ".join(f"{r:,.0f}" for r in rates) + ")")
        for n in args.children:
            print(f"ratio {n} children / 1 process: {max(multi[n]) / max(single):.2f}; "
                  f"/ raw read (worker's query): {max(multi[n]) / max(lean):.2f}")
        views.close()
        ledger.close()


if __name__ == "__main__":
    main()
