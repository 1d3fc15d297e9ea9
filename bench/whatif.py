"""Benchmark: re-pricing a year for ``gongji what-if`` (visits/s), next to a bare loop.

    .venv/bin/python bench/whatif.py --visits 1000000
    .venv/bin/python bench/whatif.py --visits 1000000 --database gongji-demo.db --region nanchang --year 2024

Builds N synthetic settled visits of nanchang 2024 in memory (N/8 people, a quarter
retired, levels 1/1/2/3, amounts 10–900 yuan, 2 % not designated, 1 % reversed right
after the next visit), then times in the same run:

- **baseline**: the bare pricing loop — ``price_visit`` per visit with a per-person usage
  dict and nothing kept, what settling does to price a visit without any store;
- **re-price**: :func:`projections.whatif.engine.reprice` under the example draft
  (the what-if's pure re-pricing, keeping every figure in columns);
- **what-if**: :func:`projections.whatif.report.compare` with one draft: the in-force
  re-pricing (self-check), the draft's, the breakdown, people and deciles.

With ``--database`` it also times reading a stored year from the events
(:func:`projections.whatif.source.read_year`), in events and visits per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import peak_mib  # noqa: E402
from policies.book import PolicyBook  # noqa: E402
from policies.pricing import Visit, YearUsage, price_visit  # noqa: E402
from projections.whatif import load_draft  # noqa: E402
from projections.whatif.engine import reprice  # noqa: E402
from projections.whatif.report import compare  # noqa: E402
from projections.whatif.source import REVERSE, SETTLE, RecordedVisit, RecordedYear  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = {"nanchang": {"average_pension": "3100.00"}}


def synthetic_year(visits: int, seed: int = 1) -> RecordedYear:
    rng = random.Random(seed)
    record = RecordedYear("nanchang", 2024)
    people = [f"P{i:08d}" for i in range(max(1, visits // 8))]
    retired = {p for p in people if rng.random() < 0.25}
    days = [dt.date(2024, 1, 1) + dt.timedelta(d) for d in range(366)]
    day_of = sorted(rng.randrange(366) for _ in range(visits))
    pending = None
    for i in range(visits):
        person = rng.choice(people)
        record.visits.append(RecordedVisit(
            id=f"V{i}", person=person, date=days[day_of[i]],
            category="retired" if person in retired else "employed", scheme="standard",
            visit=Visit(rng.choice((1, 1, 2, 3)), rng.randint(1_000, 90_000),
                        rng.choice((0, 0, rng.randint(100, 5_000))),
                        ("not_designated",) if rng.random() < 0.02 else ()),
            eligible_in_scope=0, deductible_applied=0, fund_paid=0, over_cap=0, self_pay=0))
        record.steps.extend((SETTLE, i))
        if pending is not None:
            record.steps.extend((REVERSE, pending))
            record.reversed.add(pending)
            pending = None
        if rng.random() < 0.01:
            pending = i
    return record


def bare_loop(record: RecordedYear, policy) -> int:
    usage: dict[str, list[int]] = {}
    paid = 0
    for visit in record.visits:
        so_far = usage.setdefault(visit.person, [0, 0])
        price = price_visit(policy, visit.visit, visit.category, visit.scheme,
                            YearUsage(so_far[0], so_far[1]))
        so_far[0] += price.eligible_in_scope
        so_far[1] += price.fund_paid
        paid += price.fund_paid
    return paid


def timed(label: str, visits: int, run) -> float:
    """Wall and CPU seconds of ``run()`` (CPU: this process alone, which is what a shared
    machine does not distort); returns the CPU seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<40} wall {seconds:7.2f} s {visits / seconds:>9,.0f} visits/s | "
          f"cpu {cpu:7.2f} s {visits / cpu:>9,.0f} visits/s")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--database", help="also time reading a stored year from the events")
    parser.add_argument("--region", default="nanchang")
    parser.add_argument("--year", type=int, default=2024)
    args = parser.parse_args()

    book = PolicyBook.load(PARAMETERS)
    in_force = book.in_force("nanchang", dt.date(2024, 6, 1))
    draft = load_draft(ROOT / "examples/what-if/nanchang-final.toml", "nanchang", PARAMETERS)
    started = time.perf_counter()
    record = synthetic_year(args.visits)
    print(f"{args.visits:,} synthetic visits built in {time.perf_counter() - started:.1f} s "
          f"({len(record.reversed):,} reversed)")
    baseline = timed("baseline: bare price_visit loop (in force)", args.visits,
                     lambda: bare_loop(record, in_force))
    repriced = timed("re-price under the draft (engine)", args.visits,
                     lambda: reprice(record.visits, record.steps, lambda _: draft.policy))
    whole = timed("what-if: in force + draft + report", args.visits,
                  lambda: compare(book, record, [draft]))
    print(f"CPU re-price / baseline: {repriced / baseline:.2f}×; what-if (two re-pricings "
          f"and the report) / baseline: {whole / baseline:.2f}×; peak {peak_mib():,.0f} MiB")
    if args.database:
        from ledger import open_ledger
        from projections.whatif.source import read_year

        ledger = open_ledger(args.database, PARAMETERS)
        started, cpu = time.perf_counter(), time.process_time()
        stored = read_year(ledger, args.region, args.year)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        ledger.close()
        print(f"reading {args.region} {args.year} from the events: wall {seconds:.2f} s "
              f"(cpu {cpu:.2f} s), "
              f"{stored.events_read / seconds:,.0f} events/s of the selected topics, "
              f"{len(stored.visits) / seconds:,.0f} visits/s ({len(stored.visits):,} visits)")


if __name__ == "__main__":
    main()
