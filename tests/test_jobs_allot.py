"""``allot-month``: who gets an allotment, how much, and only once."""

from __future__ import annotations

from pathlib import Path

from jobs_support import PEOPLE_HEADER, rejects, write
from ledger import Ledger
from ledger.commands import RecordDeath, Transfer, parse
from ledger.jobs import allot_month, import_people
from policies.calendar import Month


def test_retired_people_get_their_band_once_and_others_are_accounted_for(
        memory_ledger: Ledger, tmp_path: Path):
    ledger = memory_ledger
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + (
        "Y69,yunnan,1956-01-15,,2016-01-31,,\n"     # 70th birthday in Jan 2026: still under 70
        "Y70,yunnan,1955-06-15,,2015-06-30,,\n"     # 70 and over from July 2025
        "EMP,yunnan,1985-01-01,,,,\n"               # employed: not a candidate
        "NEW,yunnan,1965-01-01,,2026-01-10,,\n"     # retired in January: allotment from February
        "DEAD,yunnan,1950-01-01,,2010-01-31,,\n"    # died in December
        "MOVED,suizhou,1950-01-01,,2010-01-31,,\n"))  # transferred to yunnan
    assert import_people(ledger, people, tmp_path / "p.csv").written == 6
    ledger.record_death(parse(RecordDeath, {"person": "DEAD", "date": "2025-12-20"}))
    ledger.transfer(parse(Transfer, {"person": "MOVED", "to_region": "yunnan",
                                     "date": "2024-12-15"}))

    summary = allot_month(ledger, Month(2026, 1), tmp_path / "a.csv", batch_size=2)
    assert summary.ties_out and summary.written == 3
    assert dict(summary.skipped) == {"not_retired": 2}
    assert [(r[0], r[1]) for r in rejects(tmp_path / "a.csv")] == [("DEAD", "account_closed")]
    amounts = {p: ledger.account_view(p).balance for p in ("Y69", "Y70", "MOVED", "NEW")}
    assert amounts == {"Y69": 10600, "Y70": 14200, "MOVED": 14200, "NEW": 0}  # yunnan art. 9

    again = allot_month(ledger, Month(2026, 1), tmp_path / "a.csv")
    assert (again.written, again.already) == (0, 3)
    only = allot_month(ledger, Month(2026, 2), tmp_path / "b.csv", region="suizhou")
    assert only.written == 0 and only.skipped["other_region"] == 6
