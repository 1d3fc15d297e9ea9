"""The per-account state row (issue 9): written with the events, read by commands, repaired
from the events when it falls behind, filled in for an old store, checked by audit verify."""

from __future__ import annotations

import base64
import os

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from conftest import PARAMETERS
from ledger import Ledger, open_ledger
from ledger.adapters.chain import verify_chain
from ledger.adapters.state import StateCodec
from ledger.commands import (
    EnrollPerson, RecordContribution, RecordDeath, RecordRetirement, Transfer,
)
from ledger.ids import account_id
from projections.audit import verify
from test_chain import execute
from test_projections_views import scenario


def sql_tables(ledger: Ledger) -> tuple[str, str, str]:
    """The state table, the months table and how an account id is written in SQL."""
    if ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        return "stored_events_accounts", "stored_events_months", "'{}'"
    schema = ledger.env["POSTGRES_SCHEMA"]
    return f"{schema}.ledger_events_accounts", f"{schema}.ledger_events_months", "'{}'::uuid"


def key(ledger: Ledger, person: str) -> str:
    aid = account_id(person)
    return sql_tables(ledger)[2].format(aid.hex if "uuid" not in sql_tables(ledger)[2]
                                        else str(aid))


def rows_equal_events(ledger: Ledger, *people: str) -> None:
    for person in people:
        row = ledger.account(person)
        truth = ledger.rebuild(account_id(person))
        assert row.version == truth.version
        assert {k: v for k, v in vars(row).items()} == vars(truth)


def test_every_write_keeps_the_row_equal_to_the_events(ledger: Ledger) -> None:
    scenario(ledger)
    rows_equal_events(ledger, "A", "B")
    assert ledger.account("A").balance == 25000
    assert list(ledger.state_differences()) == []
    assert verify(ledger).ok


def test_commands_read_the_row(ledger: Ledger) -> None:
    """What a command loads is the row: a row changed behind the ledger's back shows."""
    scenario(ledger, close=False)
    states, _, _ = sql_tables(ledger)
    other = StateCodec(ledger.mapper).row(ledger.account("B"))
    if ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        import sqlite3

        with sqlite3.connect(ledger.env["SQLITE_DBNAME"]) as db:
            db.execute(f"UPDATE {states} SET state = ? WHERE id = ?",
                       (other.state, account_id("A").hex))
    else:
        import psycopg

        env = ledger.env
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             user=env["POSTGRES_USER"], autocommit=True) as db:
            db.execute(f"UPDATE {states} SET state = %s WHERE id = %s",
                       (other.state, account_id("A")))
    assert ledger.account("A").person == "B"  # the row, tampered: audit verify names it
    found = dict(ledger.state_differences())
    assert set(found) == {account_id("A")}
    assert "state row differs from its events in" in found[account_id("A")]
    assert "person (row 'B', events 'A')" in found[account_id("A")]
    report = verify(ledger)
    states_found = [d for d in report.differences if d.check == "states"]
    assert [(d.kind, d.originator) for d in states_found] == [
        ("mismatch", account_id("A").hex)]


def _sql(ledger: Ledger, statement: str, *params: object) -> None:
    """Run ``statement`` on the ledger's store behind its back (``?`` for a parameter)."""
    if ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        import sqlite3

        with sqlite3.connect(ledger.env["SQLITE_DBNAME"]) as db:
            db.execute(statement, params)
        return
    import psycopg

    env = ledger.env
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         user=env["POSTGRES_USER"], autocommit=True) as db:
        db.execute(statement.replace("?", "%s"), params)


def test_an_import_finds_an_account_stored_without_its_row(ledger: Ledger, tmp_path) -> None:
    """The people import looks for its accounts in the state rows alone. An account
    stored without one (written around the ledger) is taken for new: its ``Enrolled``
    clashes with the stored one on the events' key, and the batch is redone account by
    account from the events. The person is then a repeat (or a conflict), never enrolled
    twice, and the new person of the same batch is enrolled once."""
    from jobs_support import PEOPLE_HEADER, write
    from ledger.jobs import import_people

    rows = "A,suizhou,1985-01-01,,,,\nB,suizhou,1986-01-01,,,,\n"
    assert import_people(ledger, write(tmp_path / "p.csv", PEOPLE_HEADER + rows),
                         tmp_path / "r.csv").written == 2
    states, _, _ = sql_tables(ledger)
    hidden = account_id("B")
    _sql(ledger, f"DELETE FROM {states} WHERE id = ?",
         hidden.hex if "uuid" not in sql_tables(ledger)[2] else hidden)
    assert ledger.recorder.select_state(hidden) is None
    again = import_people(ledger, write(tmp_path / "q.csv", PEOPLE_HEADER + rows
                                        + "C,suizhou,1987-01-01,,,,\n"), tmp_path / "r.csv")
    assert (again.written, again.already, again.fallbacks) == (1, 2, 1)
    conflict = import_people(ledger, write(tmp_path / "x.csv", PEOPLE_HEADER
                                           + "B,suizhou,1990-01-01,,,,\n"), tmp_path / "r.csv")
    assert dict(conflict.rejected) == {"duplicate_conflict": 1}
    assert [e.originator_version for e in ledger.events.get(hidden)] == [1]
    assert str(ledger.account("B").birth_date) == "1986-01-01"
    assert ledger.account("C").version == 1 and ledger.recorder.select_state(
        account_id("C")) is not None


def test_a_stale_row_is_repaired_and_the_command_goes_through(ledger: Ledger) -> None:
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    old = StateCodec(ledger.mapper).row(ledger.account("A"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-01", base="5000.00"))
    # the row goes back to version 1, as if the credit had been written around the ledger
    ledger.recorder.put_states([old], [], [account_id("A")])
    assert ledger.account("A").version == 1
    assert [i for i, _ in ledger.state_differences()] == [account_id("A")]
    ledger.credit_contribution(RecordContribution(person="A", month="2024-02", base="5000.00"))
    rows_equal_events(ledger, "A")
    assert ledger.account("A").balance == 2 * 10000  # 2% of 5000.00, twice
    assert list(ledger.state_differences()) == []


def test_the_database_refuses_a_second_credit_of_a_person_month(ledger: Ledger) -> None:
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-01", base="5000.00"))
    # a writer that did not see the credit (the account as of version 1) credits the month
    # again as version 3: the events' key is free, the month line is not
    stale = ledger.rebuild(account_id("A"), version=1)
    stale.credit_contribution(month="2024-01", base=500000, amount=10000, article="x")
    again = ledger.mapper.to_stored_event(stale.collect_events()[0])
    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events(
            [StoredEvent(again.originator_id, 3, again.topic, again.state)],
            states=[], months=[(account_id("A"), "2024-01")])
    assert ledger.account("A").balance == 10000
    assert ledger.recorder.event_versions([account_id("A")]) == {account_id("A"): 2}
    # the refused transaction was rolled back: the next writes go in on the same pool,
    # the event key refused too (version 2 again), and the chain still verifies
    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events(
            [StoredEvent(again.originator_id, 2, again.topic, again.state)],
            states=[], months=[])
    ledger.credit_contribution(RecordContribution(person="A", month="2024-02", base="5000.00"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-03", base="5000.00"))
    assert ledger.account("A").balance == 3 * 10000
    assert ledger.recorder.event_versions([account_id("A")]) == {account_id("A"): 4}
    assert verify_chain(ledger.recorder).ok


def test_a_store_from_before_the_rows_is_filled_in_when_opened(database_url: str) -> None:
    ledger = open_ledger(database_url, PARAMETERS)
    scenario(ledger)
    states, months, _ = sql_tables(ledger)
    execute(ledger, f"DELETE FROM {states}")
    execute(ledger, f"DELETE FROM {months}")
    assert ledger.recorder.count_states() == 0
    ledger.close()
    ledger = open_ledger(database_url, PARAMETERS)
    try:
        assert ledger.recorder.count_states() == 2
        rows_equal_events(ledger, "A", "B")
        assert list(ledger.state_differences()) == []
    finally:
        ledger.close()


def test_a_missing_row_is_named_by_verify_and_read_from_the_events(ledger: Ledger) -> None:
    scenario(ledger, close=False)
    states, _, _ = sql_tables(ledger)
    execute(ledger, f"DELETE FROM {states} WHERE id = {key(ledger, 'B')}")
    assert ledger.account("B").person == "B"  # read from the events
    found = dict(ledger.state_differences())
    assert found[account_id("B")] == "has events but no state row"


def test_the_row_is_encrypted_with_the_events(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GONGJI_CIPHER_KEY", base64.b64encode(os.urandom(32)).decode())
    ledger = open_ledger(str(tmp_path / "secret.db"), PARAMETERS)
    try:
        ledger.enroll(EnrollPerson(person="Zhang-San-110101", region="suizhou",
                                   birth_date="1980-01-01"))
        row = ledger.recorder.select_state(account_id("Zhang-San-110101"))
        assert isinstance(row, StoredEvent) and row.originator_version == 1
        assert b"Zhang-San" not in row.state and b"1980" not in row.state
        assert ledger.account("Zhang-San-110101").birth_date.year == 1980
    finally:
        ledger.close()


def _json_of(ledger: Ledger, person: str) -> bytes:
    row = ledger.recorder.select_state(account_id(person))
    assert row is not None
    return StateCodec(ledger.mapper).codec.open(row.state)


def test_the_row_keeps_the_growing_attributes_apart_as_plain_json(ledger: Ledger) -> None:
    """Format 2 (to 4): credited months, pooling and closed years sit in ``c`` as plain
    JSON (read with nothing to decode); dates and times in ``t``: the named ones as ISO
    text (format 4), the others (a binding's dates) tagged; the account comes back equal
    to its events, with every type as it was."""
    scenario(ledger)
    data = _json_of(ledger, "A")
    assert data.startswith(b'{"class_version":"row format 4","c":{"credited":{')
    plain, tagged = data.split(b',"t":', 1)
    assert b"_type_" not in plain and b'"closed_years":[' in plain
    assert b'"birth_date":"1980-01-01"' in tagged
    assert b'"bindings":{"B":[["spouse",{"_type_":"date_iso","_data_":"2024-01-01"}' in tagged
    assert b',"p":' not in data
    rows_equal_events(ledger, "A", "B")
    account = ledger.account("A")
    assert type(account.birth_date).__name__ == "date"
    assert all(type(v) is list for v in account.credited.values())


def test_a_row_of_the_first_format_is_read_and_rewritten(ledger: Ledger) -> None:
    """A row written before format 2 (the transcoder's JSON of the whole state, as
    ``StateCodec.event`` writes it) still loads; the next save writes format 4."""
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-01", base="5000.00"))
    codec = StateCodec(ledger.mapper)
    account = ledger.account("A")
    state = {k: v for k, v in vars(account).items()
             if k not in ("_id", "_version", "_pending_events")}
    first = codec.event(account.id, account.version, "ledger.account:Account", state)
    assert not codec.codec.open(first.state).startswith(b'{"class_version":"row format 2"')
    ledger.recorder.put_states([first], [(account.id, "2024-01")], [account.id])
    assert vars(ledger.account("A")) == vars(ledger.rebuild(account_id("A")))
    assert list(ledger.state_differences()) == []
    ledger.credit_contribution(RecordContribution(person="A", month="2024-02", base="5000.00"))
    assert _json_of(ledger, "A").startswith(b'{"class_version":"row format 4",')
    rows_equal_events(ledger, "A")


def test_the_row_holds_the_enrolment_facts_once(ledger: Ledger) -> None:
    """Format 3 (and 4): an attribute that still equals its enrolment value
    (``enrolled_as``) is left out of the row and put back when read; one that changed
    since is kept."""
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1960-01-01"))
    ledger.enroll(EnrollPerson(person="B", region="suizhou", birth_date="1980-01-01"))
    for data in (_json_of(ledger, "A"), _json_of(ledger, "B")):
        assert data.startswith(b'{"class_version":"row format 4",')
        assert data.count(b'"region"') == 1 and data.count(b'"birth_date"') == 1
        assert data.count(b'"has_account"') == 1 and data.count(b'"retired_on"') == 1
    ledger.retire(RecordRetirement(person="A", date="2024-03-15"))
    ledger.transfer(Transfer(person="B", to_region="nanchang", date="2024-03-15"))
    retired, moved = _json_of(ledger, "A"), _json_of(ledger, "B")
    assert retired.count(b'"retired_on"') == 2 and retired.count(b'"region"') == 1
    assert moved.count(b'"region"') == 2 and moved.count(b'"retired_on"') == 1
    rows_equal_events(ledger, "A", "B")
    assert ledger.account("A").retired_on.isoformat() == "2024-03-15"
    assert ledger.account("A").enrolled_as["retired_on"] is None
    assert ledger.account("B").region == "nanchang"
    assert ledger.account("B").enrolled_as["region"] == "suizhou"
    assert list(ledger.state_differences()) == []


def test_only_an_equal_value_of_the_same_type_is_left_out(ledger: Ledger) -> None:
    """``True`` equals ``1`` in Python: a copy of another type is kept, so it comes back
    with its own type."""
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    codec = StateCodec(ledger.mapper)
    account = ledger.account("A")
    account.has_account = 1  # what a change of type would look like
    loaded = codec.load(codec.row(account))
    assert loaded is not None and type(loaded.has_account) is int
    assert type(loaded.enrolled_as["has_account"]) is bool


def _credited(ledger: Ledger) -> tuple[StateCodec, object]:
    """A codec, and account A enrolled and credited one month."""
    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-01", base="5000.00"))
    return StateCodec(ledger.mapper), ledger.account("A")


def test_a_row_of_format_2_is_read_and_rewritten(ledger: Ledger, monkeypatch) -> None:
    """A format-2 row (every attribute written out) still loads; the next save writes
    format 4. A row of format 3 or 4 read by a class that names no copies (a release
    without them) is not used: the account comes from its events."""
    from ledger.account import Account

    codec, account = _credited(ledger)
    with monkeypatch.context() as patched:
        patched.setattr(Account, "row_copies", None)
        second = codec.row(account)
        assert codec.codec.open(second.state).startswith(b'{"class_version":"row format 2",')
        assert codec.load(codec.row(account)) is not None
        assert codec.load(ledger.recorder.select_state(account.id)) is None  # format 4
    ledger.recorder.put_states([second], [(account.id, "2024-01")], [account.id])
    assert _json_of(ledger, "A").startswith(b'{"class_version":"row format 2",')
    assert vars(ledger.account("A")) == vars(ledger.rebuild(account_id("A")))
    assert list(ledger.state_differences()) == []
    ledger.credit_contribution(RecordContribution(person="A", month="2024-02", base="5000.00"))
    assert _json_of(ledger, "A").startswith(b'{"class_version":"row format 4",')
    rows_equal_events(ledger, "A")


FORMAT_3, FORMAT_4 = (b'{"class_version":"row format 3",', b'{"class_version":"row format 4",')


def test_the_named_dates_are_iso_text_and_come_back_as_their_types(ledger: Ledger) -> None:
    """Format 4: the dates and times the class names (``row_dates``) are ISO text in the
    row, and a fresh account's row holds no tagged object at all; read back, each is its
    type again and the account equals the one its events make. A date set later (a
    retirement, a death) is named too."""
    import datetime as dt

    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1960-01-01"))
    data = _json_of(ledger, "A")
    account = ledger.account("A")
    assert data.startswith(FORMAT_4) and b"_type_" not in data
    assert b',"p":{' in data and b',"t":' not in data  # nothing tagged: nothing to walk
    assert b'"birth_date":"1960-01-01"' in data
    assert b'"_created_on":"%s"' % account.created_on.isoformat().encode() in data
    ledger.retire(RecordRetirement(person="A", date="2024-03-15"))
    ledger.record_death(RecordDeath(person="A", date="2024-05-02"))
    data = _json_of(ledger, "A")
    assert data.startswith(FORMAT_4) and b"_type_" not in data
    assert b'"retired_on":"2024-03-15"' in data and b'"death_date":"2024-05-02"' in data
    rows_equal_events(ledger, "A")
    account = ledger.account("A")
    assert (type(account.retired_on), type(account.death_date)) == (dt.date, dt.date)
    assert type(account.enrolled_as["birth_date"]) is dt.date
    assert type(account.created_on) is dt.datetime and account.created_on.tzinfo is not None
    assert list(ledger.state_differences()) == []


def test_a_named_attribute_of_another_type_keeps_its_row_in_format_3(ledger: Ledger) -> None:
    """No text is ever taken for a date: a named attribute holding text, or a time where a
    date is named, makes the row format 3, and each value comes back with its own type.
    Writing the row changes nothing in the account itself."""
    import datetime as dt

    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    codec = StateCodec(ledger.mapper)
    account = ledger.account("A")
    for death in ("2024-05-01", dt.datetime(2024, 5, 1, 8, 30)):
        account.death_date = death
        data = codec.codec.open(codec.row(account).state)
        assert data.startswith(FORMAT_3)
        loaded = codec.load(codec.row(account))
        assert loaded is not None and loaded.death_date == death
        assert type(loaded.death_date) is type(death)
    account.death_date = None
    account.enrolled_as = {**account.enrolled_as, "birth_date": "1980-01-01"}
    assert codec.codec.open(codec.row(account).state).startswith(FORMAT_3)
    assert codec.load(codec.row(account)).enrolled_as["birth_date"] == "1980-01-01"
    fresh = ledger.account("A")
    before = {k: (v, type(v)) for k, v in fresh.enrolled_as.items()}
    assert codec.codec.open(codec.row(fresh).state).startswith(FORMAT_4)
    assert {k: (v, type(v)) for k, v in fresh.enrolled_as.items()} == before
    assert type(fresh.created_on) is dt.datetime


def test_text_that_looks_like_a_tag_is_read_as_text(ledger: Ledger) -> None:
    """A format-4 row is walked for tags when its other attributes show the tag's text,
    even as a string of their own: the string comes back as it was, and so does every
    date. (Inside a longer string the tag's quotes are escaped: no tag is seen.)"""
    import datetime as dt

    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    codec = StateCodec(ledger.mapper)
    account = ledger.account("A")
    account.status = "_type_"
    data = codec.codec.open(codec.row(account).state)
    assert data.startswith(FORMAT_4) and b',"t":' in data and b',"p":' not in data
    loaded = codec.load(codec.row(account))
    assert loaded.status == "_type_"
    assert vars(loaded) == vars(account) and type(loaded.created_on) is dt.datetime
    account.status = 'active "_type_" note'
    data = codec.codec.open(codec.row(account).state)
    assert b',"p":' in data
    assert codec.load(codec.row(account)).status == 'active "_type_" note'


def test_times_in_any_zone_come_back_equal(ledger: Ledger) -> None:
    """The ISO text format 4 writes is ``isoformat()``'s: a time in UTC, in another zone,
    without microseconds or without a zone comes back equal, in the same offset."""
    import datetime as dt

    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    codec = StateCodec(ledger.mapper)
    account = ledger.account("A")
    east = dt.timezone(dt.timedelta(hours=8))
    for created, modified in ((dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                               dt.datetime(2024, 1, 2, 11, 4, 5, 600, tzinfo=east)),
                              (dt.datetime(2024, 1, 2, 3, 4, 5),
                               dt.datetime(2024, 1, 2, 3, 4, 5, 999999))):
        vars(account).update(_created_on=created, _modified_on=modified)
        data = codec.codec.open(codec.row(account).state)
        assert data.startswith(FORMAT_4)
        assert b'"_created_on":"%s"' % created.isoformat().encode() in data
        loaded = codec.load(codec.row(account))
        assert (loaded.created_on, loaded.modified_on) == (created, modified)
        assert loaded.modified_on.utcoffset() == modified.utcoffset()


def test_a_row_of_format_4_needs_a_class_naming_its_dates(ledger: Ledger, monkeypatch) -> None:
    """A format-4 row read by a class that names no dates (a release of format 3) is not
    used: the account comes from its events; such a release writes format 3, which this
    one reads, and its next save writes format 4."""
    from ledger.account import Account

    codec, account = _credited(ledger)
    with monkeypatch.context() as patched:
        patched.setattr(Account, "row_dates", None)
        third = codec.row(account)
        assert codec.codec.open(third.state).startswith(FORMAT_3)
        assert codec.load(ledger.recorder.select_state(account.id)) is None  # format 4
    assert vars(codec.load(third)) == vars(account)
    ledger.recorder.put_states([third], [(account.id, "2024-01")], [account.id])
    assert vars(ledger.account("A")) == vars(ledger.rebuild(account_id("A")))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-02", base="5000.00"))
    assert _json_of(ledger, "A").startswith(FORMAT_4)
    rows_equal_events(ledger, "A")


def test_an_event_is_encoded_as_the_transcoder_encodes_it(ledger: Ledger) -> None:
    """``StateCodec.event`` writes the transcoder's very bytes, whatever shape a time has:
    in UTC with and without microseconds (orjson writes those), in another zone or none
    (``isoformat()``), the same time twice, a date beside them."""
    import datetime as dt

    codec = StateCodec(ledger.mapper)
    east = dt.timezone(dt.timedelta(hours=8))
    times = [dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc),
             dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
             dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc),
             dt.datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=east),
             dt.datetime(2024, 1, 2, 3, 4, 5),
             dt.datetime.now(dt.timezone.utc)]
    for when in times:
        state = {"timestamp": when, "month": "2024-01", "day": dt.date(2024, 1, 31),
                 "again": when, "nested": {"at": [when, dt.date(1980, 1, 1)]}}
        data = codec.codec.open(codec.event(account_id("A"), 1, "t", state).state)
        assert data == ledger.mapper.transcoder.encode(state)
        assert codec.decode(data) == state


def test_a_stored_event_made_fast_is_a_stored_event() -> None:
    """``stored_event`` makes what ``StoredEvent(…)`` makes: equal, hashed, printed and
    pickled alike, and as frozen."""
    import dataclasses
    import pickle
    from uuid import uuid4

    from ledger.adapters.state import stored_event

    args = (uuid4(), 3, "ledger.account:Account", b"{}")
    fast, slow = stored_event(*args), StoredEvent(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert type(fast) is StoredEvent and pickle.loads(pickle.dumps(fast)) == slow
    assert dataclasses.astuple(fast) == args
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.originator_version = 4  # type: ignore[misc]


def test_a_date_in_a_plain_attribute_fails_loudly(ledger: Ledger) -> None:
    """``plain_state`` promises JSON's own types: a date there would come back a string, so
    writing the row refuses it instead."""
    import datetime as dt

    ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    account = ledger.account("A")
    account.closed_years.append(dt.date(2024, 12, 31))
    with pytest.raises(TypeError, match="plain_state"):
        StateCodec(ledger.mapper).row(account)


def test_an_account_and_a_transaction_read_together_are_as_read_alone(ledger: Ledger) -> None:
    """What a command's fetch loads with the two read together (one statement on
    PostgreSQL) is what loading each alone gives: the account from its row, the
    transaction from its events, nothing for an id with neither."""
    from ledger.ids import transaction_id

    scenario(ledger, close=False)
    account, visit, unknown = account_id("B"), transaction_id("V1"), transaction_id("nope")
    got = ledger._fetch_ids({account, account_id("nobody")}, {visit, unknown})
    assert set(got) == {account, visit}
    assert vars(got[account]) == vars(ledger.load(account))
    assert vars(got[visit]) == vars(ledger.unsnapshotted(visit))
    assert got[visit].version == 2  # settled, then reversed


def test_a_reader_of_the_first_format_reads_the_events_instead(ledger: Ledger) -> None:
    """A ledger rolled back to a release that reads only format 1 decodes a format-2 row
    as the transcoder's JSON and compares its ``class_version`` with the class's: it
    differs, so that reader takes the account from its events rather than from a row it
    would misread."""
    from ledger.account import Account

    scenario(ledger, close=False)
    codec = StateCodec(ledger.mapper)
    state = codec.decode(_json_of(ledger, "A"))  # what a format-1 reader decodes
    assert state.pop("class_version", 1) != getattr(Account, "class_version", 1)
