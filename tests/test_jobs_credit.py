"""``credit-month`` and ``people import``: rejects, idempotent reruns, the tie-out."""

from __future__ import annotations

from pathlib import Path

from jobs_support import PEOPLE_HEADER, balances, contributions, enroll_many, rejects, write
from ledger import Ledger
from ledger.jobs import credit_month, import_people
from policies.money import Rate, parse_fen


def test_credits_every_row_once_and_a_rerun_writes_nothing(ledger: Ledger, tmp_path: Path):
    names = enroll_many(ledger, tmp_path, 30)
    file = contributions(tmp_path, names, "2024-03")
    expected = {n: Rate.parse("0.02").apply(parse_fen(f"{3000 + i}.{i % 100:02d}"))
                for i, n in enumerate(names)}
    # by hand: 3000.00 × 2% = 60.00; 3025.25 × 2% = 60.505 → 60.51 (half up)
    assert (expected[names[0]], expected[names[25]]) == (6000, 6051)

    first = credit_month(ledger, file, tmp_path / "r.csv", batch_size=7)
    assert first.written == 30 and first.credited == sum(expected.values())
    assert first.events["ContributionCredited"] == 30 and first.ties_out
    assert balances(ledger, names) == expected

    again = credit_month(ledger, file, tmp_path / "r.csv", batch_size=7)
    assert (again.written, again.already, sum(again.events.values())) == (0, 30, 0)
    assert again.ties_out and balances(ledger, names) == expected


def test_refused_rows_go_to_the_rejects_file_and_do_not_stop_the_job(
        memory_ledger: Ledger, tmp_path: Path):
    ledger = memory_ledger
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + (
        "A,suizhou,1985-01-01,,,,\n"
        "R,suizhou,1950-01-01,,2010-01-31,,\n"
        "N,suizhou,1985-01-01,pooling_only,,,\n"
        "D,suizhou,1985-01-01,,,,\n"))
    assert import_people(ledger, people, tmp_path / "p.rejects.csv").written == 4
    from ledger.commands import RecordDeath, parse

    ledger.record_death(parse(RecordDeath, {"person": "D", "date": "2024-02-10"}))
    file = write(tmp_path / "c.csv", "person,month,base\n"
                 "A,2024-03,5000.00\n"      # credited
                 "Z,2024-03,5000.00\n"      # unknown person
                 "N,2024-03,5000.00\n"      # pooling only: no account
                 "A,2024-04,50.001\n"       # bad base
                 "D,2024-03,5000.00\n"      # died in February
                 "R,2024-03,5000.00\n"      # retired
                 "A,2024-03,6000.00\n"      # same month, other base
                 "A,2024-05\n"              # short row
                 "A,2024-06,6000.00\n")     # credited
    summary = credit_month(ledger, file, tmp_path / "c.rejects.csv", batch_size=3)
    assert summary.written == 2 and summary.credited == 10000 + 12000 and summary.ties_out
    assert [(r[0], r[1], r[4]) for r in rejects(tmp_path / "c.rejects.csv")] == [
        ("3", "Z", "unknown_person"), ("4", "N", "no_personal_account"),
        ("5", "A", "invalid_input"), ("6", "D", "account_closed"), ("7", "R", "not_employed"),
        ("8", "A", "duplicate_conflict"), ("9", "A", "invalid_input")]
    assert ledger.account_view("A").balance == 22000


def test_people_import_is_idempotent_and_refuses_conflicting_facts(
        memory_ledger: Ledger, tmp_path: Path):
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + (
        "A,suizhou,1985-01-01,,,,\n"
        "B,suizhou,1950-01-01,,2010-01-31,20,30\n"
        "C,mars,1985-01-01,,,,\n"))
    first = import_people(memory_ledger, people, tmp_path / "r.csv")
    assert (first.written, dict(first.rejected)) == (2, {"invalid_input": 1})
    again = import_people(memory_ledger, people, tmp_path / "r.csv")
    assert (again.written, again.already) == (0, 2)
    changed = write(tmp_path / "changed.csv", PEOPLE_HEADER + "A,suizhou,1986-01-01,,,,\n")
    conflict = import_people(memory_ledger, changed, tmp_path / "r2.csv")
    assert dict(conflict.rejected) == {"duplicate_conflict": 1}
    assert memory_ledger.account_view("B").category == "retired"


def test_a_resettled_person_gets_no_credit_where_the_policy_says_so(
        memory_ledger: Ledger, tmp_path: Path):
    people = write(tmp_path / "people.csv", PEOPLE_HEADER.rstrip("\n") + ",resettled\n"
                   "NC,nanchang,1985-01-01,,,,,true\n"
                   "SZ,suizhou,1985-01-01,,,,,true\n"
                   "HOME,nanchang,1985-01-01,,,,,\n")
    assert import_people(memory_ledger, people, tmp_path / "p.csv").written == 3
    file = write(tmp_path / "c.csv", "person,month,base\n"
                 "NC,2024-03,5000.00\nSZ,2024-03,5000.00\nHOME,2024-03,5000.00\n")
    summary = credit_month(memory_ledger, file, tmp_path / "r.csv")
    assert summary.written == 2  # suizhou's seed is silent on resettlement: credited as before
    [(line, person, *_, code, message)] = rejects(tmp_path / "r.csv")
    assert (person, code) == ("NC", "account_closed") and "nanchang art. 28" in message
    again = import_people(memory_ledger, people, tmp_path / "p.csv")
    assert again.already == 3
