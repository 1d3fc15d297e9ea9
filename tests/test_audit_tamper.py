"""``audit verify`` reports tampering and never crashes on it (issue 16).

Every byte of one stored event is changed in turn, one at a time, and the ledger verified:
each run must say "tampered" (not ok, exit 1), name that event, and raise nothing. The
event is restored after each run, so every run starts from the same untouched ledger.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from api_support import AUDITOR, auth, settings
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from cli.main import app
from conftest import JILIN, PARAMETERS
from ledger import Ledger
from projections import ViewWorker, open_views
from projections.audit import balance_as_of, explain, pooling_as_of, verify
from projections.audit.explain import UNREADABLE
from projections.audit.verify import as_json
from projections.stores.memory import MemoryViews
from test_chain import execute, state_replace
from test_projections_views import database_of, scenario

ROOT = Path(__file__).resolve().parents[1]
ENROLLED_B = 2  # B's enrolment: its birth date and scheme price B's two visits
SETTLED_V2 = 12  # the settlement of V2: re-priced, and projected into three views


class StoredState:
    """Reads and overwrites one event's stored ``state`` behind the ledger's back."""

    def __init__(self, ledger: Ledger) -> None:
        env = ledger.env
        if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
            self.db: object = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
            self.sql = "UPDATE stored_events SET state = ? WHERE rowid = ?"
            self.read = "SELECT state FROM stored_events WHERE rowid = ?"
        else:
            self.db = psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                                      user=env["POSTGRES_USER"], autocommit=True)
            table = f'{env["POSTGRES_SCHEMA"]}.ledger_events'
            self.sql = f"UPDATE {table} SET state = %s WHERE notification_id = %s"
            self.read = f"SELECT state FROM {table} WHERE notification_id = %s"

    def get(self, position: int) -> bytes:
        return bytes(self.db.execute(self.read, (position,)).fetchone()[0])  # type: ignore[attr-defined]

    def put(self, position: int, state: bytes) -> None:
        self.db.execute(self.sql, (state, position))  # type: ignore[attr-defined]

    def flips(self, position: int, step: int = 1) -> Iterator[int]:
        """The event with one bit of byte ``index`` flipped, for every ``step``-th index in
        turn (bit ``index % 8``); the original is put back after each and at the end."""
        original = self.get(position)
        try:
            for index in range(0, len(original), step):
                changed = bytearray(original)
                changed[index] ^= 1 << (index % 8)
                self.put(position, bytes(changed))
                yield index
        finally:
            self.put(position, original)

    def close(self) -> None:
        self.db.close()  # type: ignore[attr-defined]


@pytest.fixture
def tampered(ledger: Ledger) -> Iterator[tuple[Ledger, StoredState]]:
    scenario(ledger)
    views = open_views(database_of(ledger))
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    views.close()
    store = StoredState(ledger)
    yield ledger, store
    store.close()


def assert_named(report, position: int, what: str) -> None:
    assert not report.ok, what
    chain = report.differences[0]
    assert (chain.check, chain.kind, chain.position) == ("chain", "edited", position), what
    assert chain.message.startswith(f"event #{position} ("), what
    json.dumps(as_json(report))  # the --json document can always be written


@pytest.mark.parametrize("position, step", [(ENROLLED_B, 1), (SETTLED_V2, 8)],
                         ids=["enrolment-every-byte", "settlement-every-8th-byte"])
def test_every_changed_byte_is_reported_and_nothing_crashes(
        tampered: tuple[Ledger, StoredState], position: int, step: int) -> None:
    """Each byte's bit ``index % 8`` flipped: case, digits, quotes, braces, UTF-8 lead bytes.

    The stored views are compared as a copy in memory (the same rows the worker wrote),
    which keeps a run to a few milliseconds; the CLI tests below read the SQL views.
    """
    ledger, store = tampered
    views = MemoryViews()
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    runs = 0
    for index in store.flips(position, step):
        assert_named(verify(ledger, views), position, f"byte {index}")
        runs += 1
    assert runs == len(range(0, len(store.get(position)), step))
    assert verify(ledger, views).ok  # the original is back: every run began untouched


def test_a_renamed_field_is_a_difference_naming_the_event(
        tampered: tuple[Ledger, StoredState]) -> None:
    """The issue's case: one bit turns "birth_date" into "birth_eate" in an enrolment."""
    ledger, store = tampered
    original = store.get(ENROLLED_B)
    store.put(ENROLLED_B, original.replace(b'"birth_date"', b'"birth_eate"'))
    views = open_views(database_of(ledger))
    report = verify(ledger, views)
    views.close()
    account = report.differences[0].originator
    assert [(d.check, d.kind, d.position) for d in report.differences[:3]] == [
        ("chain", "edited", 2), ("pricing", "inapplicable", 2), ("views", "inapplicable", 2)]
    assert report.differences[1].text == (
        f"event #2 ({account} v1, Account.Enrolled) cannot be re-priced: KeyError: "
        "'birth_date' (and 2 later events that follow from it could not be checked either)")
    assert report.differences[2].message == (
        f"event #2 ({account} v1, Account.Enrolled) cannot be applied to the views: "
        "KeyError: 'birth_date'")
    # B's two settlements cannot be re-priced without B's facts: counted on the enrolment
    assert not any(d.position in (9, 12) for d in report.differences)
    # the stored views were made from the event as it was: B's row differs from the recompute
    assert any(d.check == "views" and d.kind == "mismatch" and "('B',)" in d.message
               for d in report.differences)
    assert report.settlements == 2 and report.events == 20


def test_undecodable_rows_are_each_named_and_the_rest_still_checked(
        tampered: tuple[Ledger, StoredState]) -> None:
    """Two broken rows: both named (one does not hide the other), the other checks go on."""
    ledger, store = tampered
    store.put(5, b"\x00not json")
    store.put(13, store.get(13).replace(b'"amount":10000', b'"amount":"100.00"'))
    report = verify(ledger)
    found = [(d.check, d.kind, d.position) for d in report.differences]
    assert found == [("chain", "edited", 5), ("chain", "edited", 13),
                     ("events", "unreadable", 5)]
    assert report.differences[2].message.endswith("ContributionCredited) cannot be decoded: "
                                                  "JSONDecodeError: unexpected character, "
                                                  "expected a JSON value: line 1 column 1 "
                                                  "(char 0)")
    assert report.settlements == 2  # the settlements after the bad rows were re-priced


def test_a_text_amount_is_named_by_the_views_check(tampered: tuple[Ledger, StoredState]) -> None:
    ledger, store = tampered
    store.put(13, store.get(13).replace(b'"amount":10000', b'"amount":"100.00"'))
    views = open_views(database_of(ledger))
    report = verify(ledger, views)
    views.close()
    assert [(d.check, d.kind, d.position) for d in report.differences[:2]] == [
        ("chain", "edited", 13), ("views", "inapplicable", 13)]
    assert report.differences[1].message.endswith(
        "cannot be applied to the views: TypeError: balance is '100.00', not an integer")
    # without the event, A's recomputed balance is 250.00 - 100.00; the stored views say 250.00
    assert any("view accounts row ('A',): balance is 25000, the events give 15000" in d.message
               for d in report.differences)


def test_the_chain_names_every_break_or_only_the_first(ledger: Ledger) -> None:
    scenario(ledger)
    state_replace(ledger, 3, '"amount":10000', '"amount":10001')
    execute(ledger, "DELETE FROM {events} WHERE {id} = 7")
    state_replace(ledger, 17, '"reason":"refund"', '"reason":"refunD"')
    report = verify(ledger)
    assert [(d.check, d.kind, d.position) for d in report.differences if d.check == "chain"] \
        == [("chain", "edited", 3), ("chain", "deleted", 7), ("chain", "edited", 17)]
    assert report.chain is not None and report.chain.events == 20 - 3
    first = verify(ledger, first_only=True)
    assert [(d.check, d.kind, d.position) for d in first.differences] == [("chain", "edited", 3)]
    assert first.stopped and first.events == 0  # nothing decoded: it stopped at the chain


def test_an_edited_link_is_told_from_an_edited_event(ledger: Ledger) -> None:
    scenario(ledger)
    sqlite = ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
    chain = "stored_events_chain" if sqlite else f'{ledger.env["POSTGRES_SCHEMA"]}.ledger_events_chain'
    execute(ledger, f"UPDATE {chain} SET link = '{'0' * 64}' WHERE notification_id = 4")
    [broken] = verify(ledger).differences
    assert (broken.check, broken.kind, broken.position) == ("chain", "link_edited", 4)
    assert "the chain's link of event #4" in broken.message


@pytest.fixture
def cli(tampered: tuple[Ledger, StoredState], monkeypatch) -> tuple[Ledger, StoredState]:
    ledger, _ = tampered
    monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_of(ledger))
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", json.dumps({"jilin": JILIN, **PARAMETERS}))
    return tampered


def test_the_cli_exits_1_naming_the_event_for_a_sample_of_bytes(cli) -> None:
    ledger, store = cli
    runner = CliRunner()
    sample = range(0, len(store.get(ENROLLED_B)), 40)
    checked = 0
    for index in store.flips(ENROLLED_B, sample.step):
        result = runner.invoke(app, ["audit", "verify", "--json"])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), \
            (index, result.output, result.exception)
        document = json.loads(result.stdout)
        assert document["ok"] is False
        assert document["first_difference"]["position"] == ENROLLED_B
        assert document["first_difference"]["message"].startswith(f"event #{ENROLLED_B} (")
        checked += 1
    assert checked == len(sample)


def test_the_cli_in_a_process_of_its_own_prints_no_traceback(cli) -> None:
    ledger, store = cli
    store.put(ENROLLED_B, store.get(ENROLLED_B).replace(b'"birth_date"', b'"birth_eate"'))
    done = subprocess.run([sys.executable, "-m", "cli.main", "audit", "verify"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith("DIFFERENCE")]
    assert lines[0].startswith(f"DIFFERENCE [chain] event #{ENROLLED_B} (")
    assert lines[1].endswith("Account.Enrolled) cannot be re-priced: KeyError: 'birth_date' "
                             "(and 2 later events that follow from it could not be checked "
                             "either)")
    assert "ok:" not in done.stdout


def test_first_stops_at_the_chain(cli) -> None:
    ledger, store = cli
    store.put(ENROLLED_B, store.get(ENROLLED_B).replace(b'"birth_date"', b'"birth_eate"'))
    result = CliRunner().invoke(app, ["audit", "verify", "--first"])
    assert result.exit_code == 1
    assert [line.split(" ")[1] for line in result.stdout.splitlines()
            if line.startswith("DIFFERENCE")] == ["[chain]"]
    assert "stopped at the first difference (--first)" in result.stdout


def test_the_api_returns_the_document_the_cli_prints(cli) -> None:
    ledger, store = cli
    store.put(ENROLLED_B, store.get(ENROLLED_B).replace(b'"birth_date"', b'"birth_eate"'))
    printed = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert printed.exit_code == 1
    document = json.loads(printed.stdout)
    with TestClient(create_app(settings(database_of(ledger),
                                        {"jilin": JILIN, **PARAMETERS}))) as client:
        answer = client.post("/v1/audit/verify", headers=auth(AUDITOR))
    assert answer.status_code == 200
    assert answer.json() == document
    assert document["counts"] == {"chain": 1, "events": 0, "pricing": 1, "states": 0,
                                  "views": document["counts"]["views"]}
    assert document["first_difference"] == document["differences"][0]
    assert document["differences"][1] == {
        "check": "pricing", "kind": "inapplicable", "position": 2,
        "originator": document["differences"][0]["originator"], "version": 1,
        "message": f"event #2 ({document['differences'][0]['originator']} v1, Account.Enrolled) "
                   "cannot be re-priced: KeyError: 'birth_date' (and 2 later events that "
                   "follow from it could not be checked either)"}


# -- explain and figures as of a date: a corrupt event is reported with its position -----

def test_a_figure_leaves_out_an_unusable_event_and_names_it(
        tampered: tuple[Ledger, StoredState]) -> None:
    ledger, store = tampered
    store.put(13, store.get(13).replace(b'"amount":10000', b'"amount":"100.00"'))
    figure = balance_as_of(ledger, "A", dt.date(2024, 3, 31))
    # A's movements: +100 +100 -200 (+100 unusable) -50 +200 = 150.00 from 5 movements
    assert (figure.balance, figure.movements) == (15000, 5)
    [bad] = figure.unreadable
    assert (bad.position, bad.version, bad.event) == (13, 6, "Account.ContributionCredited")
    assert bad.reason == "TypeError: amount '100.00' on datetime.date(2024, 3, 1) is not fen " \
                         "on a date"
    assert bad.message.startswith(f"event #13 ({bad.originator} v6, Account.ContributionCredited) "
                                  "cannot be read: TypeError")

    rows = explain(ledger, "A")
    own = [(r.event, r.amount, r.balance_after) for r in rows if r.account == "A"
           and (r.amount is not None or r.event == UNREADABLE)]
    assert own == [  # after the unreadable row the balance is unknown
        ("ContributionCredited", 10000, 10000), ("ContributionCredited", 10000, 20000),
        ("Debited", -20000, 0), (UNREADABLE, None, None), ("Debited", -5000, None),
        ("DebitRestored", 20000, None)]
    [unreadable] = [r for r in rows if r.event == UNREADABLE]
    assert unreadable.detail["position"] == 13 and unreadable.version == 6
    assert [r.event for r in explain(ledger, "A", year=2024)].count(UNREADABLE) == 1


def test_pooling_names_an_enrolment_it_cannot_replay(tampered: tuple[Ledger, StoredState]) -> None:
    ledger, store = tampered
    store.put(ENROLLED_B, store.get(ENROLLED_B).replace(b'"birth_date"', b'"birth_eate"'))
    answer = pooling_as_of(ledger, "B", dt.date(2024, 3, 10))
    [usage] = answer.years  # the visits still count; the cap needs B's facts, which are gone
    assert (usage.in_scope, usage.fund_paid, usage.cap) == (70000, 16000, None)
    assert [(bad.position, bad.event) for bad in answer.unreadable] == [(2, "Account.Enrolled")]


@pytest.mark.parametrize("position, person", [(ENROLLED_B, "B"), (5, "B")],
                         ids=["enrolment", "contribution"])
def test_every_changed_byte_leaves_explain_and_as_of_standing(
        tampered: tuple[Ledger, StoredState], position: int, person: str) -> None:
    """No byte of a person's event makes an audit answer raise; what it cannot use it names."""
    ledger, store = tampered
    day = dt.date(2024, 3, 31)
    for index in store.flips(position, 2):
        rows = explain(ledger, person)
        figure = balance_as_of(ledger, person, day)
        pooling = pooling_as_of(ledger, person, day)
        named = {r.detail["position"] for r in rows if r.event == UNREADABLE} | {
            bad.position for bad in figure.unreadable + pooling.unreadable}
        assert named <= {position}, index
    assert balance_as_of(ledger, person, day).balance == 0  # B: +60.00 then V2 paid 60.00


def test_the_cli_says_a_figure_is_incomplete(cli) -> None:
    ledger, store = cli
    store.put(13, store.get(13).replace(b'"amount":10000', b'"amount":"100.00"'))
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "balance", "A", "--as-of", "2024-03-31", "--json"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    document = json.loads(result.stdout)
    assert document["balance"] == "150.00" and document["unreadable"][0]["position"] == 13
    assert "INCOMPLETE: event #13 (" in result.stderr
    result = runner.invoke(app, ["audit", "explain", "A"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "INCOMPLETE: event #13 (" in result.stderr
    with TestClient(create_app(settings(database_of(ledger),
                                        {"jilin": JILIN, **PARAMETERS}))) as client:
        answer = client.get("/v1/audit/people/A/balance", params={"as_of": "2024-03-31"},
                            headers=auth(AUDITOR)).json()
        assert answer["unreadable"] == document["unreadable"]
        rows = client.get("/v1/audit/people/A/explain", headers=auth(AUDITOR)).json()["events"]
        assert [r["detail"]["position"] for r in rows if r["event"] == UNREADABLE] == [13]
