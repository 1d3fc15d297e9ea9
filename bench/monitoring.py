"""Benchmark: fund monitoring on a 100k-person year, against the projection rebuild.

Generates the monitoring tests' demo year (``tests/monitoring_support.py``: Yunnan 2025,
planted anomalies) for ``--people`` persons by running real commands on an in-memory store,
stores ``--copies`` renamed copies of its events (institutions are shared by the copies),
then, in the same run:

- baseline: ``ViewWorker.rebuild`` — every view (balances, pooling, transactions, family,
  funds, daily, and the monitoring views) from position zero, events/s;
- the indicators' full rebuild from the log alone (``indicators.replay``), events/s over
  the same events;
- a month's fund statement from the projection (``statements``), and separately its
  tie-out against Σ balances (summed in the view store: one SQL query), seconds, beside
  the former path (every daily balance read in Python, ``ViewReader.balances_on``);
- a month's institution indicators and flags from the projection, seconds.

Usage: ``python bench/monitoring.py [--people 1000] [--copies 100] [--visits 1]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from monitoring_support import REGION, YEAR, plant_year  # noqa: E402 (the tests' demo year)

from ledger import open_ledger  # noqa: E402
from ledger.account import Account  # noqa: E402
from ledger.ids import account_id, transaction_id  # noqa: E402
from ledger.transaction import LumpSum, Settlement, Spending  # noqa: E402
from projections import ViewReader, ViewWorker, open_views  # noqa: E402
from projections.log import EventLog  # noqa: E402
from projections.monitoring import indicators as ind  # noqa: E402
from projections.monitoring.settings import load_thresholds  # noqa: E402
from projections.monitoring.statement import statements, tie_out  # noqa: E402
from projections.projection import state_decoder  # noqa: E402


def generate(people: int, visits: int) -> tuple[list[StoredEvent], dict[UUID, tuple[str, str]]]:
    """The events of the demo year for ``people``, names carrying the token ``xx``; and
    each aggregate's kind and name, to rename the copies."""
    ledger = open_ledger(":memory:")
    plant_year(ledger, people=people, token="xx", visits=visits)
    names: dict[UUID, tuple[str, str]] = {}
    enrolled = get_topic(Account.Enrolled)
    created = {get_topic(Settlement.Settled), get_topic(Spending.Recorded),
               get_topic(LumpSum.Credited)}
    events = []
    decode = state_decoder(ledger.mapper)
    for n in ledger.recorder.select_notifications(None, 10**9):
        if n.topic == enrolled:
            names[n.originator_id] = ("account", decode(n.state)["person"])
        elif n.topic in created:
            names[n.originator_id] = ("transaction", decode(n.state)["client_id"])
        events.append(StoredEvent(n.originator_id, n.originator_version, n.topic, n.state))
    ledger.close()
    return events, names


def replicate(events: list[StoredEvent], names: dict[UUID, tuple[str, str]],
              copy: int) -> list[StoredEvent]:
    token = "%02d" % copy
    renamed = {key: (account_id if kind == "account" else transaction_id)(
        name.replace("xx", token)) for key, (kind, name) in names.items()}
    return [StoredEvent(renamed[e.originator_id], e.originator_version, e.topic,
                        e.state.replace(b"xx", token.encode())) for e in events]


def timed(action):  # noqa: ANN001, ANN201
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000, help="people made by commands")
    parser.add_argument("--copies", type=int, default=100, help="copies of them (≤ 100)")
    parser.add_argument("--visits", type=int, default=1, help="visits a month per person")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--month", type=int, default=6)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or str(Path(tmp) / "bench.db")
        (events, names), seconds = timed(lambda: generate(args.people, args.visits))
        print(f"made {len(events):,} events for {args.people:,} people by commands in "
              f"{seconds:.0f} s")
        ledger = open_ledger(url)
        _, seconds = timed(lambda: [ledger.recorder.insert_events(replicate(events, names, c))
                                    for c in range(args.copies)])
        log = EventLog(ledger.recorder)
        total = log.head()
        print(f"stored {args.copies} copies: {total:,} events, "
              f"{args.people * args.copies:,} people, in {seconds:.0f} s")
        views = open_views(url)
        worker = ViewWorker(ledger.recorder, ledger.mapper, views)
        applied, rebuild = timed(worker.rebuild)
        assert applied == total
        (regions, read), replay = timed(lambda: ind.replay(log, state_decoder(ledger.mapper)))
        assert read == total
        assert regions[REGION] == ind.months_of(views, REGION), "replay differs from the views"
        print(f"baseline: projection rebuild (every view)  {total / rebuild:>10,.0f} events/s "
              f"({rebuild:.1f} s)")
        print(f"indicators: full rebuild from the log      {total / replay:>10,.0f} events/s "
              f"({replay:.1f} s); ratio to the baseline {rebuild / replay:.2f}")
        found, seconds = timed(lambda: statements(views, REGION, YEAR, args.month))
        print(f"a month's statement from the projection: {seconds:.3f} s "
              f"(closing {found[0].closing / 100:,.2f})")
        reader = ViewReader(views, ledger.book)
        check, seconds = timed(lambda: tie_out(reader, found[0]))
        print(f"its tie-out against Σ balances ({check.accounts:,} accounts, "
              f"{'ties out' if check.ties_out else 'DOES NOT TIE OUT'}): {seconds:.3f} s")
        before, python = timed(lambda: reader.balances_on(found[0].last_day, REGION))
        print(f"  the former path, every daily balance read in Python "
              f"(ViewReader.balances_on, {len(before):,} accounts): {python:.2f} s; "
              f"{python / seconds:,.0f} × the tie-out's time")
        rules = load_thresholds("").institutions

        def month_flags():  # noqa: ANN202
            rows = ind.indicators(ind.months_of(views, REGION), REGION, YEAR, args.month)
            return rows, ind.flags(rows, rules)

        (rows, flags), seconds = timed(month_flags)
        print(f"a month's institution indicators and flags from the projection: "
              f"{seconds:.3f} s ({len(rows)} institutions, {len(flags)} flags: "
              + ", ".join(sorted({f"{f.institution}/{f.indicator}" for f in flags})) + ")")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        views.close()
        ledger.close()


if __name__ == "__main__":
    main()
