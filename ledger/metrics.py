"""The ledger's own Prometheus metrics: events written by kind, batch jobs' progress.

They are counted where the work happens, in whatever process does it (an API worker, a
batch job), with the official client library. ``/metrics`` of the API exposes them; see
``api/metrics.py`` for how processes are aggregated (prometheus_client's multiprocess mode
when ``PROMETHEUS_MULTIPROC_DIR`` is set). No label holds a person id or an amount.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from prometheus_client import Counter, Gauge

#: prometheus_client's multiprocess mode: each process writes its metrics under this directory
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
EVENTS_WRITTEN = Counter(
    "gongji_events_written", "Events stored, by kind (the event's class, e.g. "
    "Account.ContributionCredited)", ["kind"])
JOB_ROWS = Counter(
    "gongji_job_rows", "Rows or accounts a batch job has finished, by job and outcome "
    "(written, already, skipped, rejected)", ["job", "outcome"])
JOB_PROGRESS = Gauge(
    "gongji_job_progress_ratio", "How far through its input a batch job is (0 to 1)",
    ["job"], multiprocess_mode="mostrecent")


def kind(topic: str) -> str:
    """``ledger.account:Account.Debited`` → ``Account.Debited``."""
    return topic.rpartition(":")[2]


class CountedInserts:
    """A recorder mixin: count the events of every committed insert by kind."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        ids = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        counts = collections.Counter(event.topic for event in stored_events)  # by topic: a few
        for topic, count in counts.items():
            EVENTS_WRITTEN.labels(kind(topic)).inc(count)
        return ids


def job_batch(job: str, outcomes: dict[str, int], done: float) -> None:
    """A job committed a batch: ``outcomes`` counts its rows by bucket; ``done`` is 0..1."""
    for outcome, count in outcomes.items():
        if count:
            JOB_ROWS.labels(job, outcome).inc(count)
    JOB_PROGRESS.labels(job).set(done)
