"""The pipelined rebuild (projections.pipeline) gives the views of the one-process one.

A random history of several people (credits, visits paid own or by family, spends,
reversals late in the log, a year end) is rebuilt both ways with tiny batches, so that
reversals and bindings cross batch boundaries; the views are compared row for row, with
each other and with a recompute in memory, with one child projecting all of the log and
with the log in two and three parts (by aggregate), one child each. With the
recent-transactions memory shrunk to one, every reversal of an earlier batch's
transaction goes through the child's lookup, which must wait for the parent to have
written that batch.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import projections as cli_projections
from conftest import PARAMETERS
from ledger import Ledger, open_ledger
from ledger.commands import (
    BindFamilyMember,
    CloseYear,
    EnrollPerson,
    FamilyPay,
    RecordContribution,
    Reverse,
    SettleVisit,
    Spend,
)
from ledger.ids import account_id
from projections import ViewWorker, open_views, pipeline
from projections import projection as projection_module
from projections.log import EventLog, part_of
from projections.stores.base import ViewStore
from projections.stores.sql import open_sql_views
from test_projections_views import database_of, recompute, views  # noqa: F401 - fixture


def history(ledger: Ledger, seed: int = 3, people: int = 8) -> None:
    rng = random.Random(seed)
    visits: list[str] = []
    for i in range(people):
        ledger.enroll(EnrollPerson(person=f"P{i}", region=rng.choice(["suizhou", "nanchang"]),
                                   birth_date="1975-05-01"))
        for month in range(1, 4):
            ledger.credit_contribution(RecordContribution(
                person=f"P{i}", month=f"2024-{month:02d}", base=f"{rng.randint(3, 9)}000.00"))
        ledger.spend(Spend(payer=f"P{i}", purpose="pharmacy", amount="5.00", id=f"S{i}",
                           date="2024-03-20"))
        if i % 2:
            ledger.bind_family_member(BindFamilyMember(
                owner=f"P{i - 1}", member=f"P{i}", relation="spouse", date="2024-01-01"))
        for v in range(2):
            visit = f"V{i}-{v}"
            pay = FamilyPay(family=f"P{i - 1}") if i % 2 and v == 0 else "own"
            ledger.settle_visit(SettleVisit(person=f"P{i}", id=visit, date=f"2024-0{v + 4}-02",
                                            level=rng.randint(1, 3),
                                            in_scope=f"{rng.randint(100, 900)}.00", pay=pay))
            visits.append(visit)
    for visit in visits[::3]:  # reversed long after they were recorded
        ledger.reverse(Reverse(id=visit, date="2024-11-20"))
    ledger.reverse(Reverse(id="S1", date="2024-11-21"))
    ledger.close_year(CloseYear(year=2024))


@pytest.mark.parametrize("recent", [projection_module.RECENT, 1])
def test_children_rebuild_the_views_of_one_process(ledger: Ledger, views: ViewStore,
                                                   recent: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection_module, "RECENT", recent)
    history(ledger)
    head = ledger.recorder.max_notification_id()
    url = database_of(ledger)
    redis_url = _redis_url(views) if views.kind == "redis" else None

    def reopen():  # noqa: ANN202 - runs in the child process
        return open_ledger(url, PARAMETERS), open_views(url, redis_url, create=False)

    one = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=7)
    assert one.rebuild() == head
    by_one = views.dump()
    assert by_one == recompute(ledger)

    for children in (1, 2, 3):
        views.reset()
        assert pipeline.run(views, reopen, 7, head, parts=children) == head  # all of it
        assert views.position() == head
        assert views.dump() == by_one, f"{children} children"

    two = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=11, opener=reopen,
                     children=2)
    assert two.rebuild() == head
    assert views.dump() == by_one


def test_the_parts_of_the_log_split_it_by_aggregate(ledger: Ledger) -> None:
    """Every event falls in exactly one part, each aggregate's in one part (the same
    one on every store: the range its id falls in, by its first hex digit)."""
    history(ledger, people=4)
    log = EventLog(ledger.recorder)
    head = log.head()
    every = log.read(0, head)
    assert len({row[1][0] for row in every}) > 4  # ids spread over the ranges
    for parts in (1, 2, 3, 16):
        split = [log.read_part(0, head, part, parts) for part in range(parts)]
        assert sorted(row for rows in split for row in rows) == every
        for part, rows in enumerate(split):
            assert {part_of(row[1], parts) for row in rows} <= {part}
    assert log.read_part(3, 5, 0, 1) == every[3:5]


def test_the_parts_are_ranges_of_the_ids() -> None:
    """``part_bounds`` cuts the 32-digit hex ids into ``parts`` ranges by their first digit,
    the ranges ``part_of`` names: contiguous, covering every id, none twice."""
    from projections.log import HEX, part_bounds

    for parts in range(1, 17):
        bounds = [part_bounds(part, parts) for part in range(parts)]
        assert bounds[0][0] == "0" * 32 and bounds[-1][1] is None
        assert all(high == low for (_, high), (low, _) in zip(bounds, bounds[1:]))
        for digit in HEX:
            for tail in ("0" * 31, "f" * 31):
                part = part_of(digit + tail, parts)
                low, high = bounds[part]
                assert low <= digit + tail and (high is None or digit + tail < high)
    with pytest.raises(ValueError):
        part_bounds(0, 17)


def _redis_url(views: ViewStore) -> str:
    kwargs = views.client.connection_pool.connection_kwargs  # type: ignore[attr-defined]
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_children_project_beside_another_writer_of_the_sqlite_file(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``gongji projections rebuild --processes 3`` into a fresh SQLite views database
    while another connection keeps writing the file (the ledger recording events): every
    event is projected by the children, none left to the one-process fallback, and the
    views are those of a one-process rebuild.

    A child that created the views' tables wrote (the tracking row's insert) in a
    transaction that had read first: beside another writer SQLite refused it at once
    ("database is locked"), the child died and the pipeline fell back to one process.
    """
    ledger = open_ledger(sqlite_url, PARAMETERS)
    history(ledger)
    head = ledger.recorder.max_notification_id()
    monkeypatch.setenv("GONGJI_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", json.dumps(PARAMETERS))
    monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)
    with cli_projections.worker(batch_size=7, processes=3) as piped, \
            _writing_process(sqlite_url):
        assert piped.rebuild() == head
        assert (piped.children, piped.piped) == (2, head)  # no fallback to one process
        by_children = piped.views.dump()
        one = ViewWorker(ledger.recorder, ledger.mapper, piped.views, batch_size=7)
        assert one.rebuild() == head
        assert piped.views.dump() == by_children == recompute(ledger)
    ledger.close()


#: Another writer of the file: it holds the write lock most of the time, and commits.
_WRITER = """
import os, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
connection = sqlite3.connect(path, isolation_level=None, timeout=30)
connection.execute("CREATE TABLE IF NOT EXISTS test_noise (n INTEGER)")
started = False
while not os.path.exists(stop):
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO test_noise VALUES (1)")
    time.sleep(0.02)
    connection.execute("COMMIT")
    if not started:
        print("writing", flush=True)
        started = True
    time.sleep(0.002)
connection.close()
"""


@contextlib.contextmanager
def _writing_process(path: str) -> Iterator[None]:
    """The other writer in a process of its own, as the ledger is beside a rebuild: a
    thread of the test's process writing SQLite while the pipeline forks could leave a
    child holding a copy of a lock that thread held (the child then waits for ever)."""
    stop = Path(path).with_suffix(".stop")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, path, str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        yield
    finally:
        stop.touch()
        try:
            writer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        stop.unlink()
    assert writer.returncode == 0


def test_a_stuck_child_ends_the_pipeline(ledger: Ledger, views: ViewStore,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that never sends (stuck opening its store) is given up after
    ``pipeline.STALL`` seconds: the pipeline returns what it wrote (nothing), its children
    are gone, and the one-process catch-up then builds the views."""
    history(ledger, people=2)
    head = ledger.recorder.max_notification_id()
    monkeypatch.setattr(pipeline, "STALL", 1.0)

    def stuck():  # noqa: ANN202 - runs in the child process
        time.sleep(3600)

    started = time.monotonic()
    assert pipeline.run(views, stuck, 7, head, parts=2) == 0
    assert time.monotonic() - started < 60
    assert views.position() == 0
    assert not [child for child in multiprocessing.active_children()
                if child.name.startswith("gongji-project-")]
    two = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=7, opener=stuck,
                     children=2)
    assert two.rebuild() == head
    assert (two.piped, views.dump()) == (0, recompute(ledger))


def test_views_open_and_create_beside_another_writer_of_the_sqlite_file(
        sqlite_url: str) -> None:
    """Three threads each open (and create) the SQL views of one SQLite file ten times
    while another process keeps writing it, as API workers starting together beside
    the ledger do: every opening succeeds (its write waits for the lock; begun the
    library's way it failed at once, "database is locked")."""
    open_sql_views(sqlite_url).close()  # the tables exist, as after `serve` created them
    failures: list[str] = []

    def open_ten() -> None:
        for _ in range(10):
            try:
                open_sql_views(sqlite_url).close()
            except Exception as error:  # noqa: BLE001 — counted, and shown if any
                failures.append(repr(error))

    openers = [threading.Thread(target=open_ten) for _ in range(3)]
    with _writing_process(sqlite_url):
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(120)
    assert failures == []


def test_a_batch_looks_up_only_the_people_enrolled_before_it(ledger: Ledger) -> None:
    """An account enrolled in the batch names its person in its ``Enrolled``: nothing is
    looked up for it (a rebuild's child waits for the writer before every lookup). An
    account enrolled in an earlier batch, and not remembered, is looked up."""
    history(ledger, people=4)
    rows = EventLog(ledger.recorder).read(0, 10**6)
    asked: list[tuple[str, list]] = []

    def lookup(table, keys):  # noqa: ANN001, ANN202
        asked.append((table, list(keys)))
        return {}

    projection_module.LedgerProjection(lookup).apply(rows)
    assert asked == []  # the whole history in one batch: every person enrolled in it

    p0 = account_id("P0").hex
    later = [row for row in rows if row[1] == p0 and row[2] > 1]
    assert later  # P0's credits, spends, visits and year end after its enrolment
    asked.clear()
    region = ledger.account("P0").region

    def knows(table, keys):  # noqa: ANN001, ANN202
        asked.append((table, sorted(keys)))
        if table == "people":
            return {(p0,): {"person": "P0"}}
        return {("P0",): {"region": region}} if table == "accounts" else {}

    projection_module.LedgerProjection(knows).apply(later)
    assert asked[0] == ("people", [(p0,)])
