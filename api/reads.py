"""The read routes: a person's account, pooling years, event history, a settlement, family
spending; the agency's fund report; and the service's own facts (health, the policy
parameters in force, the caller's role).

Account and pooling reads go to :class:`~api.readers.Readers` with their ``consistency``;
the response header ``Gongji-Consistency`` and the body say which source answered.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api import schemas as s
from api.auth import (
    READERS,
    Principal,
    allow,
    authenticate,
    forbid_institution,
    may_read,
    require_person,
)
from api.params import OptionalPosition, OptionalQueryDay, OptionalQueryYear, PathId
from api.problems import documented
from api.readers import Consistency, Readers
from api.writes import Format, FormatParam
from ledger.queries import AccountView
from ledger.results import VisitResult
from ledger.transaction import Settlement
from policies.errors import ErrorCode, LedgerError
from projections.reader import Sourced

router = APIRouter(prefix="/v1")

Reading = Annotated[Principal, Depends(allow(*READERS))]
Reporting = Annotated[Principal, Depends(allow("agency", "auditor"))]
FamilyReading = Annotated[Principal, Depends(allow("agency", "auditor", "member"))]
PersonId = PathId
AsOf = OptionalQueryDay
Year = OptionalQueryYear
ConsistencyParam = Annotated[Consistency, Query()]
READ_ERRORS = documented(401, 403, 404, 422)
CONSISTENCY = "Gongji-Consistency"


def readers(request: Request) -> Readers:
    return request.app.state.services.readers


def labelled(response: Response, body: s.Read) -> None:
    """The ``Gongji-Consistency`` header: the consistency the answer actually has."""
    response.headers[CONSISTENCY] = body.consistency


@router.get("/people/{person}", response_model=s.Account, tags=["people"],
            responses=READ_ERRORS)
async def get_account(request: Request, person: PersonId, who: Reading, as_of: AsOf = None,
                      consistency: ConsistencyParam = Consistency.EVENTUAL) -> Response:
    """A person's account (个人账户): balance, status, region; category as of ``as_of``.

    From the read models (视图) unless ``consistency=strong``; a person the views do not
    know yet is answered from the aggregate (``source: aggregate``).
    """
    require_person(who, person)
    day = as_of or dt.date.today()
    return answered(s.Account.fields(await account(request, person, day, consistency), day))


@router.get("/people/{person}/pooling", response_model=s.Pooling, tags=["people"],
            responses=READ_ERRORS)
async def get_pooling(request: Request, person: PersonId, who: Reading, year: Year = None,
                      consistency: ConsistencyParam = Consistency.EVENTUAL) -> Response:
    """Yearly pooling usage (普通门诊统筹年度累计): deductible used, fund paid, cap, cap left.

    Read like the account: the views by default, the aggregate with ``consistency=strong``.
    """
    require_person(who, person)
    answer = await account(request, person, dt.date.today(), consistency)
    return answered(s.Pooling.fields(answer, year))


async def account(request: Request, person: str, day: dt.date,
                  consistency: Consistency) -> Sourced[AccountView]:
    """The hot path of the balance and pooling reads: the views' answer is one statement
    (or one Redis round trip), read on the event loop; only the aggregate — asked for, or
    for someone the views do not know yet — goes to the thread pool."""
    source = readers(request)
    if consistency is Consistency.EVENTUAL:
        found = source.viewed(person, day)
        if found is not None:
            return found
    return await run_in_threadpool(source.account, person, day, Consistency.STRONG)


def answered(body: dict[str, Any]) -> Response:
    """``body`` (a model's ``fields``) as JSON, with its ``Gongji-Consistency`` header:
    orjson straight from plain values, no model built on the hot path."""
    return Response(orjson.dumps(body), media_type="application/json",
                    headers={CONSISTENCY: body["consistency"]})


@router.get("/people/{person}/events", response_model=s.Events, tags=["people"],
            responses=READ_ERRORS)
def get_events(request: Request, response: Response, person: PersonId, who: Reading,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               before: OptionalPosition = None) -> s.Events:
    """The account's events (账户明细), newest first, paged by version; from the aggregate."""
    require_person(who, person)
    forbid_institution(who, "a person's event history")
    events = readers(request).ledger.account_events(person, limit, before)
    response.headers[CONSISTENCY] = Consistency.STRONG
    last = events[-1].version if len(events) == limit else None
    return s.Events(person=person, events=[s.Event.of(e) for e in events],
                    next_before=last if last and last > 1 else None)


@router.get("/people/{person}/family-spending", response_model=s.Family, tags=["people"],
            responses=READ_ERRORS)
def get_family_spending(request: Request, response: Response, person: PersonId,
                        who: FamilyReading) -> s.Family:
    """Family mutual aid (家庭共济) paid by ``person``'s account: whom it bound, and what
    it paid for each beneficiary and purpose, net of reversals. From the read models."""
    require_person(who, person)
    body = s.Family.of(readers(request).family(person))
    labelled(response, body)
    return body


@router.get("/settlements/{id}", response_model=s.Settlement | s.NhsaSetlInfo,
            tags=["settlements"], responses=READ_ERRORS)
def get_settlement(request: Request, response: Response,
                   id: PathId, who: Reading,
                   fmt: FormatParam = Format.DEFAULT) -> BaseModel:
    """One settlement (结算记录) with its full split, the accounts debited and its reversal."""
    txn = readers(request).ledger.find_transaction(id)
    response.headers[CONSISTENCY] = Consistency.STRONG
    if not isinstance(txn, Settlement) or not may_read(who, txn):
        # the same answer whether it does not exist or the key may not see it
        raise LedgerError(ErrorCode.UNKNOWN_TRANSACTION,
                          f"no settlement {id!r} that this key may read", field="id")
    if fmt is Format.NHSA:
        return s.NhsaSetlInfo.of(id, VisitResult(**txn.result))
    return s.Settlement.of(txn)


# -- the people look-up (参保人查询) ---------------------------------------------------


class PersonEntry(s.Out):
    """One person found: id, region, scheme, whether they have a personal account, status."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    person: str
    region: str
    scheme: str
    has_account: bool
    status: str = Field(description="active, deceased, emigrated, settled")


class People(s.Read):
    """A page of people, in person-id order (code-point order)."""

    people: list[PersonEntry]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page")


def _cursor(person: str) -> str:
    return base64.urlsafe_b64encode(person.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise LedgerError(ErrorCode.INVALID_INPUT, "cursor is not one this API gave out; "
                          "start again without it", field="cursor") from None


@router.get("/people", response_model=People, tags=["people"],
            responses=documented(401, 403, 422))
def find_people(request: Request, response: Response, who: Reporting,
                prefix: Annotated[str, Query(max_length=64, description=(
                    "the person id starts with this (人员编号前缀); empty: everyone"))] = "",
                region: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor: Annotated[str | None, Query(max_length=400, description=(
                    "the `next_cursor` of the previous page"))] = None) -> People:
    """Look people up by the start of their id, optionally in one region (参保人查询), for a
    counter or an auditor who lacks the exact id; pages of ``limit`` with a cursor.
    From the read models: someone enrolled a moment ago appears once the worker has
    applied it. Agency and auditor keys."""
    services = request.app.state.services
    if region is not None and region not in services.ledger.book.regions:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"no region {region!r}; the regions are "
                          f"{', '.join(services.ledger.book.regions)}", field="region")
    reader = readers(request).views
    position = reader.position()
    found = reader.people(prefix, region, _after(cursor), limit + 1)
    page = found[:limit]
    body = People(people=[PersonEntry.model_validate(p) for p in page],
                  next_cursor=_cursor(page[-1].person) if len(found) > limit else None,
                  consistency="eventual", source="views", position=position)
    labelled(response, body)
    return body


# -- reports (统计报表) --------------------------------------------------------------------


@router.get("/reports/fund-totals", response_model=s.FundReport, tags=["reports"],
            responses=documented(401, 403, 422))
def fund_totals(request: Request, response: Response, who: Reporting,
                region: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
                year: Year = None,
                month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
                level: Annotated[int | None, Query(ge=1, le=3)] = None) -> s.FundReport:
    """Pooling fund paid, account, family and cash payments per region, month and
    institution level (统筹基金支付统计), net of reversals, by the visits' dates; from the
    read models. ``month`` (YYYY-MM) narrows to one month, ``year`` to one year."""
    number = None
    if month is not None:
        in_year, number = map(int, month.split("-"))
        if year not in (None, in_year):
            raise LedgerError(ErrorCode.INVALID_INPUT, f"month {month} is not in year {year}; "
                              "give the month alone, or a month of that year", field="month")
        year = in_year
    rows = readers(request).fund_totals(region, year, number, level)
    body = s.FundReport(totals=[s.FundTotals.of(row) for row in rows.value],
                        **s.Read.origin(rows))
    labelled(response, body)
    return body


# -- the service -------------------------------------------------------------------


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
