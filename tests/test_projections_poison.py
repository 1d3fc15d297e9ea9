"""An event the projection cannot apply stops the worker loudly, never silently.

The worker applies the events before it, stops with the position, the event and the
reason, records that failure in the view store, and ``gongji projections status``,
``projections run`` and ``/v1/ready`` report it. On today's main the worker raised a bare
``KeyError`` from inside its pipeline (or, on PostgreSQL, sat at the batch before a
person id with a NUL byte), and nothing but the worker's own stderr said so.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import orjson
import pytest
from api_support import settings
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from cli.main import app as cli
from conftest import PARAMETERS
from ledger import Ledger, open_ledger
from ledger.account import Account
from ledger.commands import EnrollPerson, RecordContribution
from ledger.ids import account_id
from projections import ViewWorker, open_views
from projections.projection import state_decoder
from projections.tables import ACCOUNTS
from projections.worker import WorkerStopped

CREDITED = get_topic(Account.ContributionCredited)
ENROLLED = get_topic(Account.Enrolled)


def _encode(ledger: Ledger, state: dict) -> bytes:
    """The inverse of the projection's decoding, under the store's settings."""
    data = orjson.dumps(state)
    if ledger.mapper.compressor is not None:
        data = ledger.mapper.compressor.compress(data)
    if ledger.mapper.cipher is not None:
        data = ledger.mapper.cipher.encrypt(data)
    return data


def _stored(ledger: Ledger, person: str, topic: str) -> tuple[StoredEvent, dict]:
    events = ledger.recorder.select_events(account_id(person))
    event = next(e for e in events if e.topic == topic)
    return event, state_decoder(ledger.mapper)(event.state)


def _store_with_poison(ledger: Ledger) -> int:
    """Events 1–2: P1 enrolled and credited; 3: a credit without an amount (poison);
    4: P2 enrolled. Returns the poison's notification id."""
    ledger.enroll(EnrollPerson(person="P1", region="suizhou", birth_date="1980-01-01"))
    ledger.credit_contribution(RecordContribution(person="P1", month="2024-01",
                                                  base="5000.00"))
    good, state = _stored(ledger, "P1", CREDITED)
    del state["amount"]
    ledger.recorder.insert_events([StoredEvent(good.originator_id, good.originator_version + 1,
                                               CREDITED, _encode(ledger, state))])
    poison = ledger.recorder.max_notification_id()
    ledger.enroll(EnrollPerson(person="P2", region="suizhou", birth_date="1980-01-01"))
    return poison


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_the_worker_stops_at_the_poison_event_naming_it(tmp_path: Path, batch_size: int):
    url = str(tmp_path / "g.db")
    ledger = open_ledger(url, PARAMETERS)
    poison = _store_with_poison(ledger)
    assert poison == 3
    views = open_views(url)
    worker = ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=batch_size)
    with pytest.raises(WorkerStopped) as stopped:
        worker.catch_up()
    failure = stopped.value.failure
    assert (failure.position, failure.event, failure.topic) == (2, 3, CREDITED)
    assert failure.reason == "KeyError: 'amount'"
    assert str(stopped.value).startswith(
        "the projection worker stopped at position 2: event 3 "
        "(ledger.account:Account.ContributionCredited, aggregate ")
    # everything before the poison is applied, nothing after it
    assert views.position() == 2
    assert views.get(ACCOUNTS.name, ("P1",))["balance"] == 10000  # 2% of 5000.00 = 100.00
    assert views.get(ACCOUNTS.name, ("P2",)) is None
    assert views.failure()["event"] == 3
    # run again: it stops again, it does not sit at the position saying nothing; the
    # failure is the same but for its time (a second later when a second boundary passed)
    with pytest.raises(WorkerStopped) as again:
        ViewWorker(ledger.recorder, ledger.mapper, views, batch_size).catch_up()
    assert again.value.failure == dataclasses.replace(failure, at=again.value.failure.at)
    assert worker.status().failure == again.value.failure
    views.close()
    ledger.close()


def test_status_run_and_ready_report_the_stop(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    url = str(tmp_path / "g.db")
    ledger = open_ledger(url, PARAMETERS)
    _store_with_poison(ledger)
    ledger.close()
    monkeypatch.setenv("GONGJI_DATABASE_URL", url)
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", orjson.dumps(PARAMETERS).decode())
    runner = CliRunner()

    run = runner.invoke(cli, ["projections", "run", "--once"])
    assert run.exit_code == 1
    assert "stopped at position 2: event 3" in run.output
    assert "KeyError: 'amount'" in run.output and "Traceback" not in run.output

    status = runner.invoke(cli, ["projections", "status", "--check"])
    assert status.exit_code == 1
    assert "position: 2\nhead: 4\nbehind: 2\n" in status.output
    assert "stopped: the projection worker stopped at position 2: event 3" in status.output

    with TestClient(create_app(settings(url, PARAMETERS))) as client:
        ready = client.get("/v1/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["event_store"]["ok"]
        assert body["projections"]["failure"]["event"] == 3
        assert body["projections"]["detail"].startswith(
            "the projection worker stopped at position 2: event 3")
        assert client.get("/v1/health").status_code == 200  # alive, though not ready
        metrics = client.get("/metrics").text
        assert "gongji_projection_stopped 1.0" in metrics
        assert "gongji_projection_lag_events 2.0" in metrics


def test_a_fixed_store_clears_the_failure(tmp_path: Path):
    """Once the worker applies past the event that stopped it, the failure is gone."""
    url = str(tmp_path / "g.db")
    ledger = open_ledger(url, PARAMETERS)
    views = open_views(url)
    ledger.enroll(EnrollPerson(person="P1", region="suizhou", birth_date="1980-01-01"))
    views.record_failure({"position": 0, "event": 1, "topic": ENROLLED, "aggregate": "x",
                          "version": 1, "reason": "a bug since fixed", "at": "2026-01-01"})
    worker = ViewWorker(ledger.recorder, ledger.mapper, views)
    assert worker.status().failure is not None
    assert worker.catch_up() == 1
    assert views.failure() is None and worker.status().failure is None
    views.close()
    ledger.close()


@pytest.mark.postgres
def test_a_nul_in_a_person_id_stops_the_postgres_worker_loudly(postgres_url: str):
    """PostgreSQL text cannot hold NUL: the worker used to stay before that batch forever."""
    ledger = open_ledger(postgres_url, PARAMETERS)
    ledger.enroll(EnrollPerson(person="P1", region="suizhou", birth_date="1980-01-01"))
    good, state = _stored(ledger, "P1", ENROLLED)
    state["person"] = "P\x00"
    ledger.recorder.insert_events([StoredEvent(uuid.uuid4(), 1, ENROLLED,
                                               _encode(ledger, state))])
    ledger.enroll(EnrollPerson(person="P3", region="suizhou", birth_date="1980-01-01"))
    views = open_views(postgres_url)
    with pytest.raises(WorkerStopped) as stopped:
        ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    failure = stopped.value.failure
    assert (failure.position, failure.event, failure.topic) == (1, 2, ENROLLED)
    assert "NUL" in failure.reason
    assert views.position() == 1 and views.failure()["event"] == 2
    views.close()
    ledger.close()
