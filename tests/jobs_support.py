"""Small CSV populations and readers shared by the batch-job tests."""

from __future__ import annotations

from pathlib import Path

from ledger import Ledger
from ledger.jobs import import_people

PEOPLE_HEADER = "person,region,birth_date,scheme,retired_on,standard_years,total_years\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def enroll_many(ledger: Ledger, tmp_path: Path, count: int, region: str = "suizhou",
                retired_on: str = "") -> list[str]:
    """``count`` people enrolled through the import job; their names."""
    names = [f"P{i:05d}" for i in range(count)]
    born = "1950-03-15" if retired_on else "1985-07-01"
    rows = "".join(f"{n},{region},{born},,{retired_on},,\n" for n in names)
    summary = import_people(ledger, write(tmp_path / "people.csv", PEOPLE_HEADER + rows),
                            tmp_path / "people.rejects.csv")
    assert summary.written == count and summary.ties_out
    return names


def contributions(tmp_path: Path, names: list[str], month: str, name: str = "c.csv") -> Path:
    """One contribution row per person; bases differ so that totals catch mistakes."""
    rows = "".join(f"{n},{month},{3000 + i}.{i % 100:02d}\n" for i, n in enumerate(names))
    return write(tmp_path / name, "person,month,base\n" + rows)


def balances(ledger: Ledger, names: list[str]) -> dict[str, int]:
    return {n: ledger.account_view(n).balance for n in names}


def rejects(path: Path) -> list[list[str]]:
    import csv

    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]
