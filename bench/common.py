"""Helpers shared by the benchmark scripts: fresh stores, synthetic CSV files, memory."""

from __future__ import annotations

import os
import resource
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REGIONS = ("suizhou", "nanchang", "chongqing")


@contextmanager
def fresh_store(target: str, workdir: Path) -> Iterator[str]:
    """A database URL on an empty store: a new SQLite file, or a new PostgreSQL schema."""
    if target.startswith("postgresql://"):
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(target, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{target}?schema={schema}"
        finally:
            if not os.environ.get("BENCH_KEEP"):
                with psycopg.connect(target, autocommit=True) as admin:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")
        return
    path = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    yield str(path)


def write_people(path: Path, people: int) -> None:
    """``people`` employed persons spread over three regions (every 10th retired)."""
    with path.open("w") as out:
        out.write("person,region,birth_date,scheme,retired_on,standard_years,total_years\n")
        for i in range(people):
            retired = "2015-06-30" if i % 10 == 0 else ""
            born = "1950-03-15" if retired else "1985-07-01"
            out.write(f"P{i:08d},{REGIONS[i % len(REGIONS)]},{born},,{retired},,\n")


def write_contributions(path: Path, people: int, month: str) -> None:
    """One contribution row per employed person of :func:`write_people`."""
    with path.open("w") as out:
        out.write("person,month,base\n")
        for i in range(people):
            if i % 10:
                out.write(f"P{i:08d},{month},{4000 + i % 5000}.{i % 100:02d}\n")


def peak_mib(children: bool = False) -> float:
    """Peak resident memory (ru_maxrss, KiB on Linux) of this process or its children."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024
