"""The read routes: a person's account, pooling years, event history, a settlement; and
the service's own facts (health, the policy parameters in force, the caller's role).

Each account read goes through the :class:`~api.readers.Reader` its ``consistency`` picks.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from api import schemas as s
from api.auth import (
    READERS,
    Principal,
    allow,
    authenticate,
    forbid_institution,
    require_institution,
    require_person,
)
from api.problems import documented
from api.readers import Consistency, Reader
from api.writes import Format, FormatParam
from ledger.results import VisitResult
from ledger.transaction import Settlement
from policies.errors import ErrorCode, LedgerError

router = APIRouter(prefix="/v1")

Reading = Annotated[Principal, Depends(allow(*READERS))]
PersonId = Annotated[str, Path(min_length=1, max_length=64)]
AsOf = Annotated[dt.date | None, Query()]
ConsistencyParam = Annotated[Consistency, Query()]
READ_ERRORS = documented(401, 403, 404, 422)


def reader(request: Request, response: Response, consistency: Consistency) -> Reader:
    """The reader for ``consistency``; the response header says which answered."""
    chosen, given = request.app.state.services.readers.pick(consistency)
    response.headers["Gongji-Consistency"] = str(given)
    return chosen


@router.get("/people/{person}", response_model=s.Account, tags=["people"],
            responses=READ_ERRORS)
def get_account(request: Request, response: Response, person: PersonId, who: Reading,
                as_of: AsOf = None,
                consistency: ConsistencyParam = Consistency.STRONG) -> s.Account:
    """A person's account (个人账户): balance, status, region; category as of ``as_of``."""
    require_person(who, person)
    day = as_of or dt.date.today()
    view = reader(request, response, consistency).account(person, day)
    return s.Account.of(view, day)


@router.get("/people/{person}/pooling", response_model=s.Pooling, tags=["people"],
            responses=READ_ERRORS)
def get_pooling(request: Request, response: Response, person: PersonId, who: Reading,
                year: Annotated[int | None, Query(ge=1990, le=2200)] = None,
                consistency: ConsistencyParam = Consistency.STRONG) -> s.Pooling:
    """Yearly pooling usage (普通门诊统筹年度累计): deductible used, fund paid, cap, cap left."""
    require_person(who, person)
    view = reader(request, response, consistency).account(person, dt.date.today())
    return s.Pooling(person=person, years=[
        s.PoolingYear.of(p) for p in view.pooling.values() if year in (None, p.year)
    ])


@router.get("/people/{person}/events", response_model=s.Events, tags=["people"],
            responses=READ_ERRORS)
def get_events(request: Request, response: Response, person: PersonId, who: Reading,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               before: Annotated[int | None, Query(ge=1)] = None,
               consistency: ConsistencyParam = Consistency.STRONG) -> s.Events:
    """The account's events (账户明细), newest first, paged by version."""
    require_person(who, person)
    forbid_institution(who, "a person's event history")
    events = reader(request, response, consistency).events(person, limit, before)
    last = events[-1].version if len(events) == limit else None
    return s.Events(person=person, events=[s.Event.of(e) for e in events],
                    next_before=last if last and last > 1 else None)


@router.get("/settlements/{id}", response_model=s.Settlement | s.NhsaSetlInfo,
            tags=["settlements"], responses=READ_ERRORS)
def get_settlement(request: Request, response: Response,
                   id: Annotated[str, Path(min_length=1, max_length=64)], who: Reading,
                   fmt: FormatParam = Format.DEFAULT,
                   consistency: ConsistencyParam = Consistency.STRONG) -> BaseModel:
    """One settlement (结算记录) with its full split, the accounts debited and its reversal."""
    txn = reader(request, response, consistency).transaction(id)
    if not isinstance(txn, Settlement):
        raise LedgerError(ErrorCode.UNKNOWN_TRANSACTION, f"{id!r} is not a settlement",
                          field="id")
    if who.role == "institution":
        require_institution(who, getattr(txn, "institution", None))
    require_person(who, txn.person, *(d["person"] for d in txn.debits))
    if fmt is Format.NHSA:
        return s.NhsaSetlInfo.of(id, VisitResult(**txn.result))
    return s.Settlement.of(txn)


# -- the service -------------------------------------------------------------------


@router.get("/health", response_model=s.Health, tags=["service"])
def health(request: Request) -> s.Health:
    """Liveness and readiness: answers when the event store does (健康检查). No key needed."""
    request.app.state.services.ledger.recorder.max_notification_id()
    return s.Health()


@router.get("/policy-parameters", response_model=s.PolicyParameters, tags=["service"],
            responses=documented(401, 403))
def policy_parameters(request: Request, who: Reading) -> s.PolicyParameters:
    """The deployment's policy parameters in force (部署参数, GONGJI_POLICY_PARAMETERS).

    The HTTP conformance runner compares them with a scenario's and refuses to run a
    scenario on a server configured otherwise.
    """
    services = request.app.state.services
    book = services.ledger.book
    return s.PolicyParameters(parameters=services.parameters, regions=book.regions,
                              invalid=dict(book.invalid))


@router.get("/whoami", response_model=s.WhoAmI, tags=["service"],
            responses=documented(401))
def whoami(who: Annotated[Principal, Depends(authenticate)]) -> s.WhoAmI:
    """The caller's role and scope (当前密钥的角色)."""
    return s.WhoAmI(role=who.role, institution=who.institution, person=who.person)
