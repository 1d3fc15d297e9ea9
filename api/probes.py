"""Liveness and readiness (健康检查与就绪检查), for load balancers and orchestrators.

- ``GET /v1/health``: the process answers (liveness). It touches no store, so a store
  outage does not get a healthy process restarted.
- ``GET /v1/ready``: the process can serve (readiness): the event store answers, Redis
  answers when ``GONGJI_REDIS_URL`` is set, and the projection worker is neither stopped
  on an event it cannot apply nor more than ``GONGJI_READY_MAX_LAG`` seconds behind the
  log. 200 when all hold, else 503; the body says which check failed, in both cases.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import schemas as s

router = APIRouter(prefix="/v1", tags=["service"])
MAX_LAG_VARIABLE = "GONGJI_READY_MAX_LAG"
DEFAULT_MAX_LAG = 60.0


def max_lag() -> float:
    """``GONGJI_READY_MAX_LAG``: seconds the views may trail the log and still be ready."""
    raw = os.environ.get(MAX_LAG_VARIABLE, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_LAG
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        from ledger.settings import SettingsError

        raise SettingsError(f"{MAX_LAG_VARIABLE} {raw!r}: give a number of seconds ≥ 0")
    return value


class Check(BaseModel):
    ok: bool
    detail: str = Field(description="what was checked, or why it failed")


class Projections(Check):
    """The projection worker (视图更新进程) as the views show it."""

    store: str | None = None
    position: int | None = Field(None, description="last event applied to the views")
    head: int | None = Field(None, description="last event recorded")
    lag_events: int | None = Field(None, description="events not applied yet")
    lag_seconds: float | None = Field(None, description="age of the oldest such event")
    max_lag_seconds: float
    failure: dict[str, Any] | None = Field(
        None, description="the event that stopped the worker: position, event, topic, "
                          "reason, message")


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    event_store: Check
    redis: Check | None = Field(None, description="only when GONGJI_REDIS_URL is set")
    projections: Projections


@router.get("/health", response_model=s.Health)
def health() -> s.Health:
    """Liveness (存活检查): the process answers. No key needed; touches no store."""
    return s.Health()


@router.get("/ready", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "not ready: see the checks"}})
def ready(request: Request) -> JSONResponse:
    """Readiness (就绪检查): event store, Redis (when set) and the projection worker's lag
    in events and seconds. 200 when ready, 503 otherwise. No key needed."""
    services = request.app.state.services
    event_store = _check(lambda: f"head {services.ledger.recorder.max_notification_id() or 0}")
    redis_check = None
    if services.redis is not None:
        redis_check = _check(lambda: "ping" if services.redis.ping() else "no PONG")
    projections = _projections(services)
    body = Readiness(
        status="ready" if event_store.ok and projections.ok
        and (redis_check is None or redis_check.ok) else "not_ready",
        event_store=event_store, redis=redis_check, projections=projections)
    return JSONResponse(body.model_dump(mode="json"),
                        status_code=200 if body.status == "ready" else 503,
                        headers={"Cache-Control": "no-store"})


def _check(probe: Any) -> Check:
    try:
        return Check(ok=True, detail=str(probe()))
    except Exception as error:  # noqa: BLE001 - any failure is "not ready", with its name
        return Check(ok=False, detail=f"{type(error).__name__}: {error}"[:300])


def _projections(services: Any) -> Projections:
    limit = services.max_lag
    try:
        status = services.worker_status()
    except Exception as error:  # noqa: BLE001
        return Projections(ok=False, detail=f"{type(error).__name__}: {error}"[:300],
                           max_lag_seconds=limit)
    body = status.as_dict()
    if status.failure is not None:
        ok, detail = False, body["failure"]["message"]
    elif status.lag_seconds > limit:
        ok, detail = False, (f"the views are {status.lag_events} events and "
                             f"{status.lag_seconds:.0f} s behind the log (limit {limit:g} s): "
                             "is `gongji projections run` running?")
    else:
        ok, detail = True, f"{status.lag_events} events behind"
    return Projections(ok=ok, detail=detail, max_lag_seconds=limit, **body)
