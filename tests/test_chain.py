"""The tamper-evident hash chain: kept with every write, broken by any edit of stored rows.

Rows are edited directly in the database, as an intruder with SQL access would: SQLite's
``stored_events`` (notification id = rowid) and PostgreSQL's ``ledger_events`` in the
test's schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from conftest import PARAMETERS
from ledger import Ledger, open_ledger
from ledger.adapters.chain import LISTED, verify_chain
from ledger.commands import EnrollPerson, RecordContribution
from test_projections_views import scenario


def execute(ledger: Ledger, statement: str) -> None:
    """Run SQL on the ledger's database behind its back; ``{events}`` is the events table."""
    env = ledger.env
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        with sqlite3.connect(env["SQLITE_DBNAME"]) as db:
            db.execute(statement.format(events="stored_events", id="rowid"))
        return
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         user=env["POSTGRES_USER"], autocommit=True) as db:
        db.execute(statement.format(events=f'{env["POSTGRES_SCHEMA"]}.ledger_events',
                                    id="notification_id"))


def state_replace(ledger: Ledger, position: int, old: str, new: str) -> None:
    sqlite = ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
    if sqlite:
        expression = f"CAST(replace(CAST(state AS TEXT), '{old}', '{new}') AS BLOB)"
    else:
        expression = (f"convert_to(replace(convert_from(state, 'UTF8'), '{old}', '{new}'), "
                      "'UTF8')")
    execute(ledger, f"UPDATE {{events}} SET state = {expression} WHERE {{id}} = {position}")


def test_every_write_is_chained(ledger: Ledger) -> None:
    scenario(ledger)
    report = verify_chain(ledger.recorder)
    assert report.ok
    assert report.events == ledger.recorder.max_notification_id() == 20
    assert len(report.head) == 64


def test_events_written_straight_through_the_recorder_are_chained(ledger: Ledger) -> None:
    """Batch jobs that call ``recorder.insert_events`` are covered like ``save``."""
    scenario(ledger, close=False)
    other = open_ledger(":memory:", PARAMETERS)
    other.enroll(EnrollPerson(person="C", region="suizhou", birth_date="1990-01-01"))
    other.credit_contribution(RecordContribution(person="C", month="2024-01", base="4000.00"))
    ledger.recorder.insert_events(list(other.recorder.select_notifications(None, 100)))
    other.close()
    report = verify_chain(ledger.recorder)
    assert report.ok and report.events == ledger.recorder.max_notification_id()
    assert ledger.account_view("C").balance == 8000


Tamper = Callable[[Ledger], Any]


@pytest.mark.parametrize(("tamper", "position", "kind"), [
    (lambda l: state_replace(l, 4, '"amount":10000', '"amount":90000'), 4, "edited"),
    (lambda l: state_replace(l, 9, '"in_scope":"300.00"', '"in_scope":"3.00"'), 9, "edited"),
    (lambda l: execute(l, "DELETE FROM {events} WHERE {id} = 7"), 7, "deleted"),
    (lambda l: execute(l, "UPDATE {events} SET topic = topic || 'X' WHERE {id} = 12"), 12,
     "edited"),
], ids=["amount", "visit-request", "delete", "topic"])
def test_verify_names_the_first_tampered_event(ledger: Ledger, tamper: Tamper, position: int,
                                               kind: str) -> None:
    scenario(ledger)
    tamper(ledger)
    broken = verify_chain(ledger.recorder).first_break
    assert broken is not None
    assert (broken.position, broken.kind) == (position, kind)
    assert f"#{position}" in broken.message


def test_swapped_rows_are_reported_as_reordered(ledger: Ledger) -> None:
    scenario(ledger)
    for statement in ("UPDATE {events} SET {id} = 100000 WHERE {id} = 6",
                      "UPDATE {events} SET {id} = 6 WHERE {id} = 8",
                      "UPDATE {events} SET {id} = 8 WHERE {id} = 100000"):
        execute(ledger, statement)
    broken = verify_chain(ledger.recorder).first_break
    assert broken is not None and (broken.position, broken.kind) == (6, "reordered")


def test_an_event_inserted_around_the_recorder_is_unchained(ledger: Ledger) -> None:
    scenario(ledger)
    last = ledger.recorder.max_notification_id()
    sqlite = ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
    copy_id = "'00000000000000000000000000000001'" if sqlite \
        else "'00000000-0000-0000-0000-000000000001'::uuid"
    execute(ledger, f"INSERT INTO {{events}} (originator_id, originator_version, topic, state) "
                    f"SELECT {copy_id}, 1, topic, state FROM {{events}} WHERE {{id}} = 1")
    broken = verify_chain(ledger.recorder).first_break
    assert broken is not None and (broken.position, broken.kind) == (last + 1, "unchained")


def test_a_store_from_before_the_chain_is_chained_when_opened(tmp_path) -> None:
    path = str(tmp_path / "old.db")
    old = open_ledger(path, PARAMETERS, env={"APPLICATION_RECORDER_TOPIC": ""})
    scenario(old)
    old.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = "
                          "'stored_events_chain'").fetchone() is None
    ledger = open_ledger(path, PARAMETERS)
    report = verify_chain(ledger.recorder)
    assert report.ok and report.events == ledger.recorder.max_notification_id()
    ledger.close()


@pytest.mark.parametrize("count", [1, LISTED, LISTED + 1, 3 * LISTED])
def test_an_insert_of_any_size_keeps_its_rows_in_order(ledger: Ledger, count: int) -> None:
    """On PostgreSQL up to ``LISTED`` rows go as a ``VALUES`` list, more as arrays (on
    SQLite, ``executemany``): either way the events get consecutive notification ids in
    the order given, their links chain on, and their state rows and months are stored."""
    scenario(ledger, close=False)
    ids = [uuid4() for _ in range(count)]
    events = [StoredEvent(i, 1, "tests:Row", f'{{"n":{n}}}'.encode())
              for n, i in enumerate(ids)]
    states = [StoredEvent(i, 1, "tests:Row", f'{{"s":{n}}}'.encode())
              for n, i in enumerate(ids)]
    head = ledger.recorder.max_notification_id()
    given = ledger.recorder.insert_events(events, states=states,
                                          months=[(i, "2024-01") for i in ids])
    assert list(given) == list(range(head + 1, head + count + 1))
    stored = ledger.recorder.select_notifications(head + 1, count)
    assert [(n.id, n.originator_id, n.state) for n in stored] == \
        [(head + k + 1, e.originator_id, e.state) for k, e in enumerate(events)]
    report = verify_chain(ledger.recorder)
    assert report.ok and report.events == head + count
    assert [ledger.recorder.select_state(i).state for i in ids] == [s.state for s in states]
    months = {aid: found for batch in ledger.recorder.scan_states() for row, found in batch
              if (aid := row.originator_id) in set(ids)}
    assert months == {i: ["2024-01"] for i in ids}
