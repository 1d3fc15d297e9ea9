"""Group commit (:mod:`ledger.grouping`): commands saved together are the same commands
saved one by one.

- A group of mixed commands (a family binding, visits own and family-paid, a spend, a
  reversal of a visit settled earlier in the same group, a retry of an id used earlier in
  the group, refusals) gives each command the answer, and the store the events in the
  order, that running them one by one in that order gives; on SQLite and PostgreSQL.
- A group whose save is refused runs every command again alone: the same answers, nothing
  stored twice. A command that changes a shared aggregate and then fails breaks its group
  the same way, and stores nothing of its own.
- Many threads in two processes' worth of ledgers on one store never overdraw an account.
- ``GONGJI_GROUP_COMMIT`` is checked: a bad value names the variable.
"""

from __future__ import annotations

import threading
import uuid
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from ledger import Ledger
from ledger import commands as c
from ledger import open_ledger
from ledger.deciders import settling
from ledger.grouping import GROUP_COMMIT_VARIABLE, GROUPED, Grouper, group_size
from ledger.ids import account_id
from ledger.prefetch import Needs
from ledger.settings import SettingsError
from policies.errors import ErrorCode, LedgerError
from conftest import PARAMETERS, POSTGRES_URL


def _open(url: str, size: int, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv(GROUP_COMMIT_VARIABLE, str(size))
    return open_ledger(url, PARAMETERS)


def _setup(ledger: Ledger) -> None:
    for person in ("A", "B", "K"):
        ledger.enroll(c.EnrollPerson(person=person, region="suizhou", birth_date="1970-01-01"))
    for person in ("A", "B"):
        ledger.credit_contribution(c.RecordContribution(person=person, month="2024-01",
                                                        base="5000.00"))


def _visit(person: str, id: str, in_scope: str, **more: Any) -> c.SettleVisit:
    return c.SettleVisit(person=person, id=id, date="2024-06-01", level=1,
                         in_scope=in_scope, **more)


#: One group's commands, in arrival order. Later ones depend on earlier ones: K's family
#: visit on the binding, the reversal and the retry on V1, the last spend on the balance.
SCRIPT: list[tuple[str, c.Command]] = [
    ("bind_family_member", c.BindFamilyMember(owner="A", member="K", relation="child",
                                              date="2024-05-01")),
    ("settle_visit", _visit("A", "V1", "80.00")),
    ("settle_visit", _visit("K", "V2", "30.00", pay={"family": "A"})),
    ("settle_visit", _visit("NOBODY", "V3", "10.00")),
    ("reverse", c.Reverse(id="V1", date="2024-06-02")),
    ("settle_visit", _visit("A", "V1", "80.00")),  # a retry: the first answer
    ("settle_visit", _visit("A", "V1", "99.00")),  # the id with other content: refused
    ("spend", c.Spend(payer="B", purpose="pharmacy", amount="60.00", id="S1",
                      date="2024-06-03")),
    ("spend", c.Spend(payer="B", purpose="pharmacy", amount="99999.00", id="S2",
                      date="2024-06-03")),
    ("settle_visit", _visit("B", "V4", "12.34")),
]


def _answer(ledger: Ledger, method: str, cmd: c.Command) -> Any:
    try:
        return getattr(ledger, method)(cmd)
    except LedgerError as error:
        return ("refused", error.code)


def _stored(ledger: Ledger) -> list[tuple[Any, ...]]:
    """Every stored event in log order, without its timestamp."""
    rows = ledger.recorder.select_notifications(0, 100_000, inclusive_of_start=False)
    out = []
    for row in rows:
        event = ledger.mapper.to_domain_event(row)
        fields = {k: v for k, v in vars(event).items() if k != "timestamp"}
        out.append((row.originator_id, row.originator_version, row.topic, repr(fields)))
    return out


def _state(account: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(account).items() if k not in ("_created_on", "_modified_on")}


def _in_one_group(ledger: Ledger, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` from one thread each, arriving in this order, as one group: while the
    test holds the lead, each thread queues its command; then the lead is let go."""
    grouper: Grouper = ledger._grouper
    answers: list[Any] = [None] * len(calls)
    with grouper._lock:
        grouper._leading = True  # as if another command were being saved
    threads = []
    for n, call in enumerate(calls):
        def run(n: int = n, call: Callable[[], Any] = call) -> None:
            answers[n] = call()
        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 10
        while len(grouper._waiting) < n + 1:
            assert time.monotonic() < deadline, "a command never reached the group"
            time.sleep(0.001)
    with grouper._lock:  # that command is saved: the oldest waiting leads next
        grouper._waiting[0].wake.set()
    for thread in threads:
        thread.join(30)
    return answers


@pytest.fixture
def pair(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
         request: pytest.FixtureRequest) -> Iterator[tuple[Ledger, Ledger]]:
    """A ledger saving one by one and one grouping, on two fresh stores of one kind."""
    other = (str(tmp_path / "grouped.db") if not database_url.startswith("postgresql")
             else _second_schema(request))
    alone = _open(database_url, 1, monkeypatch)
    grouped = _open(other, 16, monkeypatch)
    try:
        yield alone, grouped
    finally:
        alone.close()
        grouped.close()


def _second_schema(request: pytest.FixtureRequest) -> str:
    admin = request.getfixturevalue("postgres_admin")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    request.addfinalizer(lambda: admin.execute(f"DROP SCHEMA {schema} CASCADE"))
    return f"{POSTGRES_URL}?schema={schema}"


def test_a_group_answers_and_stores_what_one_by_one_does(pair) -> None:
    alone, grouped = pair
    assert alone._grouper is None and grouped._grouper is not None
    _setup(alone)
    _setup(grouped)
    expected = [_answer(alone, method, cmd) for method, cmd in SCRIPT]
    before = GROUPED.labels("grouped")._value.get()
    got = _in_one_group(grouped, [lambda m=m, cmd=cmd: _answer(grouped, m, cmd)
                                  for m, cmd in SCRIPT])
    assert GROUPED.labels("grouped")._value.get() - before == len(SCRIPT)
    assert got == expected
    # the script exercises what it means to: successes and each kind of refusal
    assert ("refused", ErrorCode.UNKNOWN_PERSON) in got
    assert ("refused", ErrorCode.DUPLICATE_CONFLICT) in got
    assert ("refused", ErrorCode.INSUFFICIENT_BALANCE) in got
    assert sum(not isinstance(a, tuple) for a in got) >= 6
    assert _stored(grouped) == _stored(alone)
    for person in ("A", "B", "K"):
        assert _state(grouped.account(person)) == _state(alone.account(person))
    assert list(grouped.state_differences()) == []


def test_a_refused_group_runs_each_command_again_alone(
        sqlite_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = _open(str(tmp_path / "alone.db"), 1, monkeypatch)
    grouped = _open(sqlite_url, 16, monkeypatch)
    try:
        _setup(alone)
        _setup(grouped)
        expected = [_answer(alone, method, cmd) for method, cmd in SCRIPT]
        real, refusals = grouped.save_events, []

        def refuse_groups(events: list[Any], aggregates: Any, **kwargs: Any) -> Any:
            if len({e.originator_id for e in events}) > 2 and not refusals:
                refusals.append(len(events))  # another writer got there first
                raise IntegrityError("refused for the test")
            return real(events, aggregates, **kwargs)

        monkeypatch.setattr(grouped, "save_events", refuse_groups)
        before = GROUPED.labels("redone")._value.get()
        got = _in_one_group(grouped, [lambda m=m, cmd=cmd: _answer(grouped, m, cmd)
                                      for m, cmd in SCRIPT])
        assert refusals, "the group's save was never tried"
        assert GROUPED.labels("redone")._value.get() - before == len(SCRIPT)
        assert got == expected
        assert _stored(grouped) == _stored(alone)
    finally:
        alone.close()
        grouped.close()


def test_a_command_that_breaks_shared_state_breaks_its_group_only(
        sqlite_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A faulty decider that credits A (an aggregate the group shares) and then raises:
    the group is redone alone, the faulty command gets its error and stores nothing."""
    grouped = _open(sqlite_url, 16, monkeypatch)
    try:
        _setup(grouped)
        balance = grouped.account("A").balance

        def faulty(got: Any) -> Any:
            account = got.account("A")
            visit = _visit("A", "VX", "1.00")
            settling.decide_visit(account, None, None, grouped.book, visit)  # changes A
            raise RuntimeError("the decider failed after changing A")

        calls = [
            lambda: grouped.settle_visit(_visit("A", "V1", "10.00")),
            lambda: _raised(lambda: grouped.decide_and_save(Needs(accounts=["A"]), faulty)),
            lambda: grouped.settle_visit(_visit("A", "V2", "20.00")),
        ]
        first, error, third = _in_one_group(grouped, calls)
        assert isinstance(error, RuntimeError)
        assert grouped.find_transaction("VX") is None
        assert grouped.find_transaction("V1") is not None
        assert grouped.find_transaction("V2") is not None
        spent = first.account_paid + third.account_paid
        assert spent > 0
        assert grouped.account("A").balance == balance - spent
        assert list(grouped.state_differences()) == []
    finally:
        grouped.close()


def test_a_command_that_hides_a_change_is_redone_alone(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decider that changes A but returns nothing as touched: alone, such a command
    stores nothing (the write loop saves what it is given); in a group it must not leak
    its change into the state row another command of the group writes for A."""
    grouped = _open(sqlite_url, 16, monkeypatch)
    try:
        _setup(grouped)
        balance = grouped.account("A").balance

        def hiding(got: Any) -> Any:
            settling.decide_visit(got.account("A"), None, None, grouped.book,
                                  _visit("A", "VX", "50.00"))  # changes A
            return "hidden", []

        before = GROUPED.labels("redone")._value.get()
        first, hidden, third = _in_one_group(grouped, [
            lambda: grouped.settle_visit(_visit("A", "V1", "10.00")),
            lambda: grouped.decide_and_save(Needs(accounts=["A"]), hiding),
            lambda: grouped.settle_visit(_visit("A", "V2", "20.00")),
        ])
        assert hidden == "hidden"
        assert GROUPED.labels("redone")._value.get() - before == 3
        assert grouped.find_transaction("VX") is None
        assert grouped.account("A").balance == balance - first.account_paid - third.account_paid
        assert list(grouped.state_differences()) == []
    finally:
        grouped.close()


def _raised(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:  # noqa: BLE001
        return error


def test_many_writers_on_one_store_never_overdraw(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ledgers (as two API processes would have) with 8 threads each spend from one
    account until it is empty: every spend is either paid or refused as insufficient, and
    the balance is what the paid ones leave."""
    first = _open(sqlite_url, 8, monkeypatch)
    second = open_ledger(sqlite_url, PARAMETERS)
    try:
        _setup(first)
        start = first.account("A").balance
        spends = [c.Spend(payer="A", purpose="pharmacy", amount="7.00", id=f"S{n}",
                          date="2024-06-03") for n in range(80)]

        def spend(n: int) -> Any:
            return _raised(lambda: (first if n % 2 else second).spend(spends[n]))

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(spend, range(len(spends))))
        paid = [a for a in answers if not isinstance(a, Exception)]
        refused = [a for a in answers if isinstance(a, Exception)]
        assert all(isinstance(e, LedgerError) and e.code is ErrorCode.INSUFFICIENT_BALANCE
                   for e in refused), refused[:3]
        assert paid and refused  # the account ran dry part way
        assert len(paid) == start // 700
        after = first.account("A").balance
        assert after == start - 700 * len(paid)
        assert second.account("A").balance == after
        assert list(first.state_differences()) == []
        assert first.rebuild(account_id("A")).balance == after
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("value", ["0", "1001", "x", "-3", "1.5"])
def test_a_bad_group_size_names_the_setting(value: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GROUP_COMMIT_VARIABLE, value)
    with pytest.raises(SettingsError, match=f"{GROUP_COMMIT_VARIABLE} '{value}'"):
        group_size()


def test_group_size_default_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GROUP_COMMIT_VARIABLE, raising=False)
    assert group_size() == 16
    monkeypatch.setenv(GROUP_COMMIT_VARIABLE, "1")
    assert group_size() == 1
