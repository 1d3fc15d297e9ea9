"""Client CPU of one PostgreSQL insert of n rows: a ``VALUES`` list of plain binary
parameters against one array a column (``unnest``), as the recorders send them
(``ledger.adapters.chain.ChainedPostgresRecorder._insert_rows``, ``LISTED``).

    .venv/bin/python bench/pg_insert_forms.py [--database postgresql://…] [--passes 3]

Rows of (uuid, bigint, text, 400-byte bytea) into a temporary table, 500 inserts per form
and size, each pass alternating the two forms; CPU seconds of this process only (the
server's work is not counted: that is what the forms differ in).
"""

from __future__ import annotations

import argparse
import time
import uuid

import psycopg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--inserts", type=int, default=500)
    args = parser.parse_args()
    conn = psycopg.connect(args.database, autocommit=True)
    conn.execute("CREATE TEMP TABLE t (a uuid, b bigint, c text, d bytea)")
    casts = ("uuid", "bigint", "text", "bytea")
    for n in (2, 8, 16, 32):
        rows = [(uuid.uuid4(), i, "ledger.account:Account.VisitSettled", b"x" * 400)
                for i in range(n)]
        row = "(" + ", ".join(f"%b::{c}" for c in casts) + ")"
        forms = {
            "values": ("INSERT INTO t VALUES " + ", ".join([row] * n),
                       [v for r in rows for v in r]),
            "unnest": ("INSERT INTO t SELECT * FROM unnest("
                       + ", ".join(f"%b::{c}[]" for c in casts) + ")",
                       [list(c) for c in zip(*rows)]),
        }
        found: dict[str, list[float]] = {name: [] for name in forms}
        for _ in range(args.passes):
            for name, (query, params) in forms.items():
                with conn.transaction():
                    started = time.process_time()
                    for _ in range(args.inserts):
                        conn.execute(query, params)
                    found[name].append((time.process_time() - started) / args.inserts * 1e6)
                    conn.execute("TRUNCATE t")
        print(f"{n:3} rows: " + "; ".join(
            f"{name} {min(v):.0f}–{max(v):.0f} µs" for name, v in found.items()))


if __name__ == "__main__":
    main()
