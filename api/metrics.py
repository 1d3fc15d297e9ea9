"""``/metrics`` in Prometheus' text format, with the official client (prometheus_client).

- ``gongji_http_requests_total{method, route, status}`` and
  ``gongji_http_request_duration_seconds{method, route}``: the route is the template
  (``/v1/people/{person}``), so no person id becomes a label;
- ``gongji_events_written_total{kind}`` and ``gongji_job_rows_total{job, outcome}``,
  ``gongji_job_progress_ratio{job}``: counted where the events are stored
  (:mod:`ledger.metrics`);
- ``gongji_projection_position``, ``…_head``, ``…_lag_events``, ``…_lag_seconds``,
  ``…_stopped``: the projection worker as the views show it, read at scrape time.

Several uvicorn workers: each is its own process. With ``PROMETHEUS_MULTIPROC_DIR`` set
(an empty directory at start), prometheus_client's multiprocess mode has every process
write its counters to files there and a scrape of any worker sums them all; batch jobs
started with the same directory on the same host are then counted in the API's
``/metrics`` too. Without it, each worker serves its own counts. With one worker and no such directory, the process's own registry is
served (and it includes the process' CPU and memory).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.logs import REQUEST_ID, accepted_id, request_id, request_line, route_template
from ledger.metrics import MULTIPROC_VARIABLE

REQUESTS = Counter("gongji_http_requests", "HTTP requests by method, route template and "
                   "status", ["method", "route", "status"])
LATENCY = Histogram("gongji_http_request_duration_seconds", "HTTP request latency by method "
                    "and route template", ["method", "route"],
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
router = APIRouter()


class WorkerCollector(Collector):
    """The projection worker's position and lag, read from the stores at scrape time."""

    def __init__(self, services: Any) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        try:
            status = self.services.worker_status()
        except Exception:  # noqa: BLE001 - a store that does not answer: no figures
            return
        for name, value, text in (
            ("position", status.position, "last event applied to the views"),
            ("head", status.head, "last event recorded in the log"),
            ("lag_events", status.lag_events, "events recorded but not applied yet"),
            ("lag_seconds", status.lag_seconds, "age of the oldest event not applied yet"),
            ("stopped", int(status.failure is not None),
             "1 when the worker stopped on an event it cannot apply"),
        ):
            yield GaugeMetricFamily(f"gongji_projection_{name}", f"Projection worker: {text}",
                                    value=value)


class _Process(Collector):
    """This process's default registry (used when not in multiprocess mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format; no key needed (expose it on the internal network only)."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_VARIABLE):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(WorkerCollector(request.app.state.services))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The request counter and the latency histogram of (method, route, status), looked
    up in prometheus_client once (its ``labels()`` takes a lock and builds the key on
    every call: 5% of a balance read). Bounded as the labels are: route templates."""
    key = (method, route, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (REQUESTS.labels(method, route, str(status)),
                                LATENCY.labels(method, route))
    return found


class Observed:
    """ASGI middleware: request id in and out, the request's metrics and its log line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"]
                       if k == b"x-request-id"), None)
        rid = accepted_id(header)
        token = request_id.set(rid)
        status, started = 500, time.perf_counter()

        async def respond(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID.lower().encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, respond)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            count, latency = _series(scope["method"], route, status)
            count.inc()
            latency.observe(seconds)
            request_line(scope["method"], route, status, seconds)
            request_id.reset(token)

