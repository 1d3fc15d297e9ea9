"""A worker killed with SIGKILL at random moments — during a rebuild and while following
new events — leaves views that, once a worker resumes, equal the recompute: nothing lost,
nothing applied twice (every view column is a sum, so a batch applied twice would show)."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import PARAMETERS
from ledger import open_ledger
from ledger.commands import EnrollPerson, RecordContribution, SettleVisit
from projections import ViewReader, ViewWorker, open_views
from test_projections_views import recompute

KILLS = 20
BATCH = 5
fork = multiprocessing.get_context("fork")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of ~700 events, made once."""
    path = tmp_path_factory.mktemp("crash") / "template.db"
    ledger = open_ledger(str(path), PARAMETERS)
    for i in range(40):
        ledger.enroll(EnrollPerson(person=f"P{i}", region="nanchang", birth_date="1980-01-01"))
        for month in range(1, 13):
            ledger.credit_contribution(RecordContribution(
                person=f"P{i}", month=f"2024-{month:02d}", base="5000.00"))
        ledger.settle_visit(SettleVisit(person=f"P{i}", id=f"V{i}", date="2024-06-01",
                                        level=1, in_scope="900.00"))
    ledger.close()
    return path


def _worker(url: str, redis_url: str | None, mode: str) -> None:
    """The child: a worker that rebuilds, or follows, until it is killed."""
    ledger = open_ledger(url, PARAMETERS)
    views = open_views(url, redis_url)
    worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=BATCH)
    if mode == "rebuild":
        worker.rebuild()
    else:
        worker.follow(threading.Event(), poll=0.01)
    os._exit(0)


def _kill_at_random(url: str, redis_url: str | None, mode: str, rng: random.Random,
                    meanwhile=None) -> bool:
    """Start a worker, kill it after a random delay; True if it was killed while working."""
    child = fork.Process(target=_worker, args=(url, redis_url, mode), daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + rng.uniform(0.01, 0.15)
        while time.monotonic() < deadline:
            if meanwhile is not None:
                meanwhile()
            time.sleep(0.005)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    return child.exitcode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sql", pytest.param("redis", marks=pytest.mark.redis)])
@pytest.mark.parametrize("mode", ["rebuild", "follow"])
def test_sigkilled_workers_leave_views_equal_to_the_recompute(
        store: str, mode: str, template: Path, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    redis_url = request.getfixturevalue("redis_url") if store == "redis" else None
    url = str(tmp_path / "crash.db")
    shutil.copy(template, url)
    ledger = open_ledger(url, PARAMETERS)
    views = open_views(url, redis_url)
    views.reset()
    rng = random.Random(f"{store}-{mode}")
    month = iter(range(10**6))

    def write_more() -> None:  # new events while the worker follows, a few at a time
        for n in (next(month) for _ in range(3)):
            ledger.credit_contribution(RecordContribution(
                person=f"P{n % 40}", month=f"{2025 + n // 480}-{n // 40 % 12 + 1:02d}",
                base="3000.00"))

    kills, interrupted = 0, 0
    for _ in range(8 * KILLS):  # a fast worker is often idle when killed: try until enough hit it busy
        kills += _kill_at_random(url, redis_url, mode, rng,
                                 write_more if mode == "follow" else None)
        interrupted += 0 < views.position() < ledger.recorder.max_notification_id()
        if kills >= KILLS and interrupted >= KILLS // 2:
            break
    assert kills >= KILLS
    assert interrupted >= KILLS // 2  # most kills hit a worker in the middle of its work
    ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=BATCH).catch_up()
    assert views.position() == ledger.recorder.max_notification_id()
    assert views.dump() == recompute(ledger)
    # by hand (nanchang employed, level 1): 900.00 in scope, deductible 600.00,
    # fund (900.00 − 600.00) × 60% = 180.00 — the same for each of the 40 people
    pooling = ViewReader(views, ledger.book).account("P7").pooling["nanchang/2024"]
    assert (pooling.in_scope, pooling.deductible_applied, pooling.fund_paid) == (
        90000, 60000, 18000)
    views.close()
    ledger.close()
