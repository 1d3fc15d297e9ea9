"""Building the API: settings in, one ledger and its stores wired once, routes mounted.

``create_app()`` reads the settings from the environment (``gongji serve`` runs it as a
uvicorn factory in every worker); tests pass :class:`~ledger.settings.Settings` directly.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import redis

from api import (
    audit, console, docs, institutions, metrics, monitoring, nhsa, probes, problems, reads,
    whatif, writes,
)
from api.hot import HotReads, HotWrites
from api.limits import MAX_BODY, BodySizeLimit
from api.idempotency import Store, open_store
from api.keys import ApiKey, load_keys
from api.readers import Readers
from api.vocabulary import annotate
from ledger import Ledger, open_ledger
from ledger.settings import Settings, load_settings
from projections import ViewReader, ViewStore, open_views
from projections.log import EventLog
from projections.projection import state_decoder
from projections.worker import WorkerStatus, worker_status

DESCRIPTION = """\
共济 gongji: the ledger of employee medical insurance personal accounts (职工医保个人账户) and
ordinary outpatient pooling (普通门诊统筹), over HTTP.

- Amounts (金额) are strings of ASCII digits with exactly two decimals and at most 13 integer
  digits (`"12.30"`; a JSON number, `"12"` or `"12.3"` is refused), dates `YYYY-MM-DD`, months
  `YYYY-MM`, years 1900–2199. Ids (编号: person, institution, heir, transaction) are 1–64
  letters, digits or CJK ideographs, then also `_ . : -`. A body is at most 64 KiB (else 413).
- Authenticate with `Authorization: Bearer KEY`. Roles: **agency** 经办机构 (every write and
  read), **institution** 定点医药机构 (settlements, spends, reversals under its own institution
  id; reads balances, pooling and its own settlements), **member** 参保人 (its own account,
  history, settlements and family spending; binds and unbinds its own family members),
  **auditor** 审计 (reads everything; writes only reviews of alerts, 预警复核). The audit
  routes (`/v1/audit/…`, 审计) and the reports (`/v1/reports/…`, 统计报表: fund totals, the
  monthly fund statement, institution indicators, account-use alerts) are for the agency
  and auditors.
- Reads of a person's account and pooling answer from the read models (视图, kept by
  `gongji projections run`) unless `?consistency=strong` asks for the aggregates (聚合).
  The response says which answered: header `Gongji-Consistency` and the body's
  `consistency`, `source` and `position` (the last event the views include). A person the
  views do not know yet is answered from the aggregate (`source: aggregate`), not 404.
- Every write accepts an `Idempotency-Key` header: the same key with the same request returns
  the original response (header `Idempotent-Replayed: true`); with another request, 409.
  Domain ids (a visit's `id`, a contribution's person and month, …) are idempotent as well.
- Refusals are `application/problem+json` with a stable `code`, an English `detail` and a
  Chinese `detail_zh` saying what to fix: 422 the request is wrong (invalid_input,
  no_policy_in_force, relation_not_allowed, purpose_not_allowed, level_mismatch), 404 unknown
  person, transaction or institution, 409 it conflicts with the ledger's state
  (duplicate_conflict, already_reversed, concurrency_conflict, account_closed,
  no_personal_account, not_employed, not_retired, not_dead, not_bound, insufficient_balance,
  policy_invalid, institution_not_in_force, not_designated), 401 no or unknown key, 403 the
  key's role may not do it.
- An institution key's visits are priced at the level of its entry in the institution
  directory (定点医药机构目录, `/v1/institutions`) in force on the visit's date.
"""


@dataclass
class Services:
    """What the routes use, built once per worker process."""

    ledger: Ledger
    keys: dict[str, ApiKey]
    idempotency: Store
    views: ViewStore
    readers: Readers
    parameters: dict[str, Any]
    redis: redis.Redis | None  # for the readiness probe's ping, with short timeouts
    max_lag: float  # GONGJI_READY_MAX_LAG
    admdvs: dict[str, str]  # region codes (医保区划) → regions: built-in and GONGJI_ADMDVS

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """The views are the worker's (``gongji projections run``): Redis when
        GONGJI_REDIS_URL is set, else SQL tables beside the events."""
        max_lag = probes.max_lag()
        ledger = open_ledger(settings.database_url, settings.parameters)
        views = open_views(settings.database_url, settings.redis_url)
        return cls(
            ledger=ledger, keys=load_keys(settings.api_keys),
            idempotency=open_store(settings.database_url, settings.redis_url),
            views=views, readers=Readers(ledger, ViewReader(views, ledger.book)),
            parameters=settings.parameters,
            redis=redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2,
                                       socket_timeout=2) if settings.redis_url else None,
            max_lag=max_lag, admdvs=settings.regions_by_code,
        )

    def worker_status(self) -> WorkerStatus:
        """The projection worker's position, lag and failure, as the views show them."""
        return worker_status(EventLog(self.ledger.recorder), state_decoder(self.ledger.mapper),
                             self.views)

    def close(self) -> None:
        self.idempotency.close()
        self.views.close()
        self.ledger.close()
        if self.redis is not None:
            self.redis.close()


TAGS = [
    {"name": "people", "description": "enrollment and accounts (参保人员与个人账户)"},
    {"name": "credits", "description": "contributions, allotments, lump sums (个人账户计入)"},
    {"name": "settlements", "description": "visits, pre-settlement, spends, reversals "
                                           "(门诊结算、预结算、个人账户支付、冲正)"},
    {"name": "family", "description": "family bindings for mutual aid (家庭共济绑定)"},
    {"name": "leaving", "description": "transfer, emigration, death, inheritance "
                                       "(转移接续、出国定居、死亡、继承)"},
    {"name": "reports", "description": "the agency's fund totals (基金支出统计), the monthly "
                                       "fund statement, institution indicators and "
                                       "account-use alerts (基金运行监测与预警); agency, auditor"},
    {"name": "audit", "description": "figures explained and rebuilt from the events alone, "
                                     "hash-chain verification (审计); agency, auditor"},
    {"name": "year end", "description": "close a pooling year for every account (年度结转)"},
    {"name": "service", "description": "liveness, readiness, parameters in force, who am I "
                                       "(服务: 存活、就绪、部署参数、当前身份)"},
    {"name": "institutions", "description": "the institution directory: level, designated, "
                                            "validity (定点医药机构目录); agency, auditor, an "
                                            "institution its own"},
    {"name": "national platform", "description": "the national platform's envelope for HIS "
                                                 "systems: 1101, 2206, 2207, 2208 (国家医保平台接口)"},
]


def documented_limit(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation with a body may answer 413 (:mod:`api.limits`): say so."""
    too_large = {
        "description": f"payload_too_large: the body is over {MAX_BODY} bytes (请求体过大)",
        "content": {problems.PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation \
                    and "4XX" not in operation.get("responses", {}):
                operation.setdefault("responses", {}).setdefault("413", too_large)
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app on the store and policy parameters of ``settings``."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.services is None:  # started again after a shutdown (test clients)
            app.state.services = Services.build(settings)
        # What start-up built (the app, its routes and schemas, the policies, the
        # libraries: ~135,000 objects) lives as long as the process: kept out of the
        # cyclic collector's full passes, which traversed it all in ~85 ms, a stall of
        # every request in flight.
        gc.collect()
        gc.freeze()
        yield
        app.state.services.close()
        app.state.services = None

    app = FastAPI(
        title="gongji 共济 ledger API", version="1", description=DESCRIPTION,
        lifespan=lifespan, openapi_tags=TAGS, docs_url=None, redoc_url=None,
        # FastAPI's own OpenTelemetry spans and metrics: off. The API's metrics are its
        # Prometheus ones (/metrics); left on, FastAPI asks OpenTelemetry's global
        # providers (environment variables among them) on every request whether anyone
        # listens: ~4 µs of a ~130 µs balance read, for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = Services.build(settings)  # now: a bad store fails start-up
    problems.install(app)
    app.add_middleware(HotReads)  # innermost: inside the metrics and the size limit
    app.add_middleware(HotWrites)
    app.add_middleware(BodySizeLimit, limit=MAX_BODY)
    app.add_middleware(metrics.Observed)
    app.include_router(probes.router)
    app.include_router(writes.router)
    app.include_router(reads.router)
    app.include_router(audit.router)
    app.include_router(nhsa.router)
    app.include_router(institutions.router)
    app.include_router(whatif.router)
    app.include_router(monitoring.router)
    app.include_router(metrics.router)
    docs.install(app)
    console.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = documented_limit(annotate(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, tags=app.openapi_tags,
            )))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
