"""The bulk path and the one-command path are the same ledger (issue 9).

A seeded random stream of enrolments, contributions (repeats, conflicts, unknown people,
bad bases, retired people), a month's allotments and a year end goes once through the
batch jobs (sorted input, batches, one transaction each, two deciding processes for one
stream) and once command by command. Every account must hold the same events, byte for
byte apart from their timestamps; both chains must verify; every state row must equal the
account rebuilt from its events.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from uuid import UUID

import pytest

from conftest import PARAMETERS
from jobs_support import PEOPLE_HEADER, rejects, write
from ledger import Ledger, open_ledger
from ledger.adapters.chain import verify_chain
from ledger.adapters.direct import DirectEvents
from ledger.commands import (
    CloseYear, CreditAllotment, Emigrate, EnrollPerson, RecordContribution, RecordDeath,
    SettleVisit, Transfer, parse,
)
from ledger.crypto import Codec, new_key
from ledger import year_end
from ledger.jobs import allot_month, close_year, credit_month, import_people
from policies.calendar import Month
from policies.errors import LedgerError

REGIONS = ("suizhou", "nanchang", "chongqing")
MONTHS = ("2024-01", "2024-02", "2024-03")
TIMESTAMP = re.compile(rb'"timestamp":\{"_type_":"datetime_iso","_data_":"[^"]*"\}')


def stream(seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """People rows and contribution rows (as CSV fields), with every kind of trouble."""
    rng = random.Random(seed)
    names = [f"P{i:03d}" for i in range(rng.randint(20, 40))]
    people = []
    for name in names:
        retired = rng.random() < 0.25
        row = {"person": name, "region": rng.choice(REGIONS),
               "birth_date": "1950-03-15" if retired else f"198{rng.randint(0, 9)}-07-01",
               "scheme": "", "retired_on": "2015-06-30" if retired else "",
               "standard_years": "", "total_years": ""}
        people.append(row)
        if rng.random() < 0.15:  # the same person again: the same facts, or others
            people.append(dict(row) if rng.random() < 0.5 else {**row, "region": "suizhou",
                                                                 "birth_date": "1970-01-01"})
    people.append({"person": "BAD", "region": "nowhere", "birth_date": "1985-07-01",
                   "scheme": "", "retired_on": "", "standard_years": "", "total_years": ""})
    rng.shuffle(people)
    credits = []
    for _ in range(rng.randint(40, 90)):
        person = rng.choice([*names, "NOBODY"])
        base = rng.choice(["3000.00", "4500.50", "12000.00", "0.00", "-1", "x"])
        credits.append({"person": person, "month": rng.choice(MONTHS), "base": base})
    return people, credits


def csv_text(header: str, rows: list[dict[str, str]]) -> str:
    columns = header.strip().split(",")
    return header + "".join(",".join(row[c] for c in columns) + "\n" for row in rows)


def bulk(ledger: Ledger, tmp: Path, people: list[dict[str, str]],
         credits: list[dict[str, str]], workers: int) -> None:
    import_people(ledger, write(tmp / "people.csv", csv_text(PEOPLE_HEADER, people)),
                  tmp / "p.rejects.csv", batch_size=4, workers=workers)
    credit_month(ledger, write(tmp / "credits.csv", csv_text("person,month,base\n", credits)),
                 tmp / "c.rejects.csv", batch_size=5, workers=workers)
    allot_month(ledger, Month.parse("2024-03"), tmp / "a.rejects.csv", batch_size=3,
                workers=workers)
    close_year(ledger, 2024, tmp / "y.rejects.csv", batch_size=6, workers=workers)


def one_by_one(ledger: Ledger, people: list[dict[str, str]],
               credits: list[dict[str, str]]) -> None:
    def attempt(run, command, row):
        try:
            run(parse(command, {k: v for k, v in row.items() if v != ""}))
        except LedgerError:
            pass

    for row in people:
        attempt(ledger.enroll, EnrollPerson, row)
    for row in credits:
        attempt(ledger.credit_contribution, RecordContribution, row)
    for row in people:
        attempt(ledger.credit_allotment, CreditAllotment,
                {"person": row["person"], "month": "2024-03"})
    ledger.close_year(CloseYear(year=2024))


def stored(ledger: Ledger) -> dict[UUID, list[tuple[int, str, bytes]]]:
    """Every aggregate's events as stored (opened, under a cipher key), timestamps blanked."""
    events: dict[UUID, list[tuple[int, str, bytes]]] = {}
    codec = Codec.of(ledger.mapper)
    for row in ledger.recorder.select_notifications(0, 1_000_000, inclusive_of_start=False):
        events.setdefault(row.originator_id, []).append(
            (row.originator_version, row.topic, TIMESTAMP.sub(b"T", codec.open(row.state))))
    return events


@pytest.mark.parametrize("seed, workers, store", [
    (1, 1, "sqlite"), (2, 1, "sqlite"), (3, 2, "sqlite"),
    pytest.param(4, 1, "postgres", marks=pytest.mark.postgres),
    pytest.param(5, 2, "postgres", marks=pytest.mark.postgres)])
def test_the_bulk_path_stores_what_the_commands_store(
        tmp_path: Path, seed: int, workers: int, store: str,
        request: pytest.FixtureRequest) -> None:
    """The jobs (SQLite, or PostgreSQL with its array inserts) store byte for byte the
    events the one-command path stores on SQLite, with a valid chain and state rows."""
    people, credits = stream(seed)
    (tmp_path / "bulk").mkdir()
    url = (str(tmp_path / "bulk" / "gongji.db") if store == "sqlite"
           else request.getfixturevalue("postgres_url"))
    batch = open_ledger(url, PARAMETERS)
    single = open_ledger(str(tmp_path / "single.db"), PARAMETERS)
    try:
        bulk(batch, tmp_path / "bulk", people, credits, workers)
        one_by_one(single, people, credits)
        expected = stored(single)
        assert len(expected) > 20
        assert sum(len(e) for e in expected.values()) > 60
        assert stored(batch) == expected
        for ledger in (batch, single):
            assert verify_chain(ledger.recorder).ok
            assert list(ledger.state_differences()) == []
            assert ledger.recorder.count_states() == len(expected)
    finally:
        batch.close()
        single.close()


EDGE_PEOPLE = [  # person, region, birth date, scheme, retired on
    ("E1", "suizhou", "1985-07-01", "", ""),
    ("E2", "chongqing", "1982-01-01", "", ""),
    ("R1", "suizhou", "1950-03-15", "", "2015-06-30"),
    ("D1", "suizhou", "1980-05-05", "", ""),
    ("X1", "suizhou", "1981-05-05", "", ""),
    ("N1", "nanchang", "1984-01-01", "pooling_only", ""),
]
EDGE_ROWS = [  # person, month, base: the direct path's every kind of row
    ("E1", "2024-01", "3000.00"),   # credited before with the same base: already
    ("E1", "2024-01", "3100.00"),   # … with another base: duplicate_conflict
    ("E1", "2024-02", "3000.00"),   # new
    ("E2", "2024-03", "4500.50"),   # new, then the same row again in the same batch
    ("E2", "2024-03", "4500.50"),
    ("E2", "2024-03", "4600.00"),   # the same month again with another base
    ("R1", "2024-03", "3000.00"),   # an allotment month (credited by one): not_employed
    ("D1", "2024-02", "3000.00"),   # the month of death: credited
    ("D1", "2024-03", "3000.00"),   # after the month of death: account_closed
    ("X1", "2024-03", "3000.00"),   # emigrated: account_closed
    ("N1", "2024-03", "3000.00"),   # no personal account
    ("NOBODY", "2024-03", "3000.00"),  # unknown_person
    ("E1", "2024-13", "3000.00"),   # invalid_input
    ("E1", "2024-03", "-1"),
]


def edge_ledger(path: Path) -> Ledger:
    """A ledger in which the edge rows meet every state they can meet."""
    ledger = open_ledger(str(path), PARAMETERS)
    for person, region, born, scheme, retired in EDGE_PEOPLE:
        ledger.enroll(parse(EnrollPerson, {k: v for k, v in {
            "person": person, "region": region, "birth_date": born, "scheme": scheme,
            "retired_on": retired}.items() if v}))
    ledger.credit_contribution(parse(RecordContribution, {
        "person": "E1", "month": "2024-01", "base": "3000.00"}))
    ledger.credit_allotment(parse(CreditAllotment, {"person": "R1", "month": "2024-03"}))
    ledger.record_death(parse(RecordDeath, {"person": "D1", "date": "2024-02-10"}))
    ledger.emigrate(parse(Emigrate, {"person": "X1", "date": "2024-02-01"}))
    return ledger


@pytest.mark.parametrize("workers, cipher", [(1, False), (2, False), (1, True)])
def test_the_direct_path_meets_every_edge_row_as_the_commands_do(
        tmp_path: Path, workers: int, cipher: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if cipher:  # the direct path seals its events with the mapper's cipher too
        monkeypatch.setenv("GONGJI_CIPHER_KEY", new_key())
    appended = []
    real = DirectEvents.append
    monkeypatch.setattr(DirectEvents, "append", lambda self, *a: (
        appended.append(a[1].__name__), real(self, *a)))
    rows = [dict(zip(("person", "month", "base"), row, strict=True)) for row in EDGE_ROWS]
    batch, single = edge_ledger(tmp_path / "bulk.db"), edge_ledger(tmp_path / "single.db")
    try:
        summary = credit_month(batch, write(tmp_path / "c.csv", csv_text(
            "person,month,base\n", rows)), tmp_path / "c.rejects.csv", batch_size=4,
            workers=workers)
        codes = []
        for row in rows:
            try:
                single.credit_contribution(parse(RecordContribution, row))
            except LedgerError as error:
                codes.append(str(error.code))
        if workers == 1:  # the deciding processes' calls are not seen here
            assert appended == ["ContributionCredited"] * 3
        assert summary.events["ContributionCredited"] == 3
        assert sorted(r[-2] for r in rejects(tmp_path / "c.rejects.csv")) == sorted(codes)
        assert sorted(codes) == sorted([
            "duplicate_conflict", "duplicate_conflict", "not_employed", "account_closed",
            "account_closed", "no_personal_account", "unknown_person", "invalid_input",
            "invalid_input"])
        assert stored(batch) == stored(single)
        raw = [r.state for r in batch.recorder.select_notifications(
            0, 1000, inclusive_of_start=False)]
        assert any(b'"month":"2024-02"' in state for state in raw) is not cipher
        for ledger in (batch, single):
            assert verify_chain(ledger.recorder).ok
            assert list(ledger.state_differences()) == []
    finally:
        batch.close()
        single.close()


RATED = {**PARAMETERS, "nanchang": {"average_pension": "3100.00", "interest_rate": "0.015"}}


def year_end_ledger(url: str, seed: int, parameters: dict) -> Ledger:
    """Accounts in every state a year end meets: visits (open pooling years, some over the
    cap, one in another year), transfers, deaths, emigration, closed regions' years."""
    rng = random.Random(seed)
    ledger = open_ledger(url, parameters)
    names = [f"Y{i:03d}" for i in range(rng.randint(25, 40))]
    for name in names:
        ledger.enroll(parse(EnrollPerson, {
            "person": name, "region": rng.choice(REGIONS), "birth_date": "1985-07-01"}))
    for name in names:
        for month in rng.sample(MONTHS, rng.randint(0, 3)):
            ledger.credit_contribution(parse(RecordContribution, {
                "person": name, "month": month, "base": f"{rng.randint(3000, 20000)}.00"}))
        for v in range(rng.randint(0, 3)):
            try:
                ledger.settle_visit(parse(SettleVisit, {
                    "person": name, "id": f"{name}-v{v}", "level": 1,
                    "date": rng.choice(["2023-11-02", "2024-02-10", "2024-06-30"]),
                    "in_scope": rng.choice(["300.00", "2000.00", "90000.00"])}))
            except LedgerError:
                pass
        fate = rng.random()
        command = (RecordDeath if fate < 0.1 else Emigrate if fate < 0.2 else
                   Transfer if fate < 0.4 else None)
        if command is not None:
            fields = {"person": name, "date": f"2024-0{rng.randint(4, 9)}-15"}
            if command is Transfer:
                fields["to_region"] = rng.choice(REGIONS)
            try:
                {RecordDeath: ledger.record_death, Emigrate: ledger.emigrate,
                 Transfer: ledger.transfer}[command](parse(command, fields))
            except LedgerError:
                pass
    return ledger


@pytest.mark.parametrize("seed, workers, rated, read_ahead, store", [
    (4, 1, False, 20_000, "sqlite"), (5, 1, True, 7, "sqlite"), (6, 2, True, 3, "sqlite"),
    (7, 1, True, 20_000, "sqlite"),
    pytest.param(8, 1, True, 5, "postgres", marks=pytest.mark.postgres)])
def test_the_year_end_job_stores_what_the_command_stores(
        tmp_path: Path, seed: int, workers: int, rated: bool, read_ahead: int, store: str,
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """close-year's direct path (state rows, histories read ahead a key range at a time,
    cut short at every few events here) against ``Ledger.close_year`` on SQLite, with and
    without an interest rate; then a second close over both writes nothing."""
    monkeypatch.setattr(year_end, "READ_AHEAD", read_ahead)
    appended: list[str] = []
    real = DirectEvents.append
    monkeypatch.setattr(DirectEvents, "append", lambda self, *a: (
        appended.append(a[1].__name__), real(self, *a)))
    parameters = RATED if rated else PARAMETERS
    batch = year_end_ledger(str(tmp_path / "bulk.db") if store == "sqlite"
                            else request.getfixturevalue("postgres_url"), seed, parameters)
    single = year_end_ledger(str(tmp_path / "single.db"), seed, parameters)
    try:
        summary = close_year(batch, 2024, tmp_path / "y.rejects.csv", batch_size=4,
                             workers=workers)
        single.close_year(CloseYear(year=2024))
        expected = stored(single)
        kinds = b"".join(e[2] for events in expected.values() for e in events)
        assert kinds.count(b'"carried_over"') >= 20  # every open account's YearClosed
        assert (b'"forfeited"' in kinds, b'"rate":"0.015"' in kinds) == (True, rated)
        if workers == 1:  # the deciding processes' calls are not seen here
            assert appended.count("YearClosed") == summary.events["YearClosed"] > 0
        assert stored(batch) == expected
        for ledger in (batch, single):
            assert verify_chain(ledger.recorder).ok
            assert list(ledger.state_differences()) == []
        again = close_year(batch, 2024, tmp_path / "y.rejects.csv", workers=workers)
        assert again.written == 0 and stored(batch) == expected
    finally:
        batch.close()
        single.close()
