"""Benchmark: the batch jobs of this tree against another tree's, same machine, same run.

    git worktree add /tmp/base <rev>     # or: git archive <rev> | tar -x -C /tmp/base
    .venv/bin/python bench/jobs_ab.py --people 50000 --baseline /tmp/base --rounds 2

Each round runs, in fresh processes and a fresh SQLite store each, people import, one
month's credit-month and close-year with the baseline tree's code and then with this
tree's (alternating, so a change in the machine's load hits both), and prints per job
the wall seconds and the **CPU seconds** of the process: on a shared machine the CPU time
is the steadier figure. With ``--months K`` the accounts first get K-1 months of credits
(not timed), so the timed month and the year end load accounts with a history. Both trees
run with this tree's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

RUN = r"""
import json, sys, time
from pathlib import Path
from bench.common import write_contributions, write_people
from ledger import open_ledger
from ledger.jobs import close_year, credit_month, import_people
work, people, months = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
write_people(work / "people.csv", people)
for month in range(1, months + 1):
    write_contributions(work / f"credits-{month}.csv", people, f"2024-{month:02d}")
ledger = open_ledger(str(work / "bench.db"), {"nanchang": {"average_pension": "3100.00"}})
out = {}
history = lambda: [credit_month(ledger, work / f"credits-{m}.csv", work / "h.csv")
                   for m in range(1, months)][-1]
for name, job in (
        ("people import", lambda: import_people(ledger, work / "people.csv", work / "p.csv")),
        *((("earlier months (untimed)", history),) if months > 1 else ()),
        ("credit-month", lambda: credit_month(ledger, work / f"credits-{months}.csv",
                                              work / "c.csv")),
        ("close-year", lambda: close_year(ledger, 2024, work / "y.csv"))):
    wall, cpu = time.perf_counter(), time.process_time()
    summary = job()
    out[name] = (time.perf_counter() - wall, time.process_time() - cpu, summary.written,
                 summary.ties_out)
ledger.close()
print(json.dumps(out))
"""


def run(tree: Path, people: int, months: int) -> dict[str, list]:
    with tempfile.TemporaryDirectory(prefix="gongji-ab-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run([sys.executable, "-c", RUN, tmp, str(people), str(months)], env=env,
                              cwd=tree, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--baseline", type=Path, required=True, help="the other tree")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--months", type=int, default=1, choices=range(1, 13),
                        help="credit this many months; the last one is timed (the earlier "
                             "ones give every account a history to load)")
    args = parser.parse_args()
    for round_ in range(1, args.rounds + 1):
        for label, tree in (("baseline", args.baseline.resolve()), ("this tree", HERE)):
            load = os.getloadavg()[0]
            result = run(tree, args.people, args.months)
            print(f"round {round_}, {label} (load average {load:.1f}): " + "; ".join(
                f"{name} {wall:.1f} s wall, {cpu:.1f} s CPU, {written:,} written"
                f"{'' if ties else ' (does not tie out)'}"
                for name, (wall, cpu, written, ties) in result.items()
                if "untimed" not in name), flush=True)


if __name__ == "__main__":
    main()
