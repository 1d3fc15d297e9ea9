"""The institution directory (定点医药机构目录), read: one institution with its entries and
their history, and a page of institutions by region.

Answered from the directory's own events (strongly consistent): the agency imports it with
``gongji institutions import``. Agency and auditor keys read everything; an institution
key reads its own entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.auth import Principal, allow, require_institution
from api.params import OptionalQueryDay, PathId
from api.problems import documented
from ledger.commands import ID_MAX
from ledger.directory import Entry, entries, in_force, institution, institution_id
from policies.errors import ErrorCode, LedgerError

router = APIRouter(prefix="/v1", tags=["institutions"])
Reading = Annotated[Principal, Depends(allow("agency", "auditor", "institution"))]
Listing = Annotated[Principal, Depends(allow("agency", "auditor"))]


EXAMPLE = {"code": "H42130100001", "name": "随州市第一医院", "region": "suizhou",
           "admdvs": "421300", "level": 1, "designated": True, "networked": True,
           "valid_from": "2024-01-01", "valid_to": None, "version": 2}


class EntryOut(BaseModel):
    """A directory entry (目录条目): an institution from ``valid_from``."""

    code: str = Field(description="institution code (定点医药机构编号)", examples=["H42130100001"])
    name: str = Field(description="name (机构名称)", examples=["随州市第一医院"])
    region: str = Field(description="the ledger's region (统筹地区)", examples=["suizhou"])
    admdvs: str | None = Field(description="region code as the directory gave it (医保区划)",
                               examples=["421300"])
    level: int = Field(description="level whose pooling rate applies (医疗机构等级 1/2/3)",
                       examples=[1])
    designated: bool = Field(description="designated: may settle (定点; false: 非定点)",
                            examples=[True])
    networked: bool = Field(description="connected for direct settlement (联网结算)",
                           examples=[True])
    valid_from: str = Field(description="first day in force (有效期开始)", examples=["2024-01-01"])
    valid_to: str | None = Field(description="last day in force, null: open (有效期结束)",
                                 examples=[None])
    version: int = Field(description="the institution's event version that recorded this "
                                     "entry (版本): a settlement's `listing` names it")


class ListedOut(BaseModel):
    """One recorded change of the directory (目录变更记录)."""

    version: int = Field(description="event version (版本)")
    recorded_at: dt.datetime = Field(description="when the import recorded it (记录时间)")
    entry: EntryOut = Field(description="the entry as recorded (目录条目)", examples=[EXAMPLE])


class InstitutionOut(BaseModel):
    """An institution in the directory (定点医药机构)."""

    code: str = Field(description="institution code (定点医药机构编号)")
    on: dt.date = Field(description="the day `in_force` is for (查询日期)",
                        examples=["2024-06-01"])
    in_force: EntryOut | None = Field(description="the entry in force on `on` (当日有效条目): "
                                                  "the latest valid_from on or before it, "
                                                  "unless its valid_to has passed",
                                      examples=[EXAMPLE])
    entries: list[EntryOut] = Field(description="current entries by valid_from (目录条目)",
                                    examples=[[EXAMPLE]])
    history: list[ListedOut] = Field(description="every recorded entry, oldest first, "
                                                 "superseded ones included (变更历史)",
                                     examples=[[{"version": 2, "recorded_at":
                                                 "2024-01-02T08:00:00Z", "entry": EXAMPLE}]])


class InstitutionItem(BaseModel):
    code: str = Field(description="institution code (定点医药机构编号)")
    in_force: EntryOut | None = Field(description="the entry in force on `on` (当日有效条目)",
                                      examples=[EXAMPLE])
    latest: EntryOut = Field(description="the entry with the latest valid_from (最新条目)",
                             examples=[EXAMPLE])


class Institutions(BaseModel):
    """A page of the directory, in code order (定点医药机构目录)."""

    on: dt.date = Field(description="the day `in_force` is for (查询日期)",
                        examples=["2024-06-01"])
    institutions: list[InstitutionItem] = Field(
        description="this page's institutions (机构列表)",
        examples=[[{"code": "H42130100001", "in_force": EXAMPLE, "latest": EXAMPLE}]])
    next_after: str | None = Field(description="pass as `after` for the next page; null on "
                                               "the last page (下一页起点)",
                                   examples=["H42130100001"])


def out(entry: dict[str, Any] | Entry | None) -> EntryOut | None:
    if entry is None:
        return None
    if isinstance(entry, Entry):
        return EntryOut(**entry.content(), version=entry.version)
    return EntryOut(**entry)


@router.get("/institutions/{code}", response_model=InstitutionOut,
            responses=documented(401, 403, 404, 422))
def read_institution(request: Request, code: PathId, who: Reading,
                     on: OptionalQueryDay = None) -> InstitutionOut:
    """An institution's directory entries (定点医药机构目录条目), the one in force ``on`` a day
    (default today) and every recorded change, with its version and time: the version a
    settlement's ``listing`` names. An institution key reads its own only."""
    require_institution(who, code)
    ledger = request.app.state.services.ledger
    day = on or dt.date.today()
    found = institution(ledger, code)
    history = [ListedOut(version=e.originator_version, recorded_at=e.timestamp,
                         entry=EntryOut(**e.entry, version=e.originator_version))
               for e in ledger.events.get(institution_id(code)) if hasattr(e, "entry")]
    return InstitutionOut(
        code=code, on=day, in_force=out(found.entry_on(day)),
        entries=[EntryOut(**found.entries[k]) for k in sorted(found.entries)],
        history=history)


@router.get("/institutions", response_model=Institutions,
            responses=documented(401, 403, 422))
def list_institutions(
    request: Request, who: Listing,
    region: Annotated[str | None, Query(min_length=1, max_length=32, description=(
        "only this region (统筹地区), by the entry in force on `on`, else the latest"))] = None,
    on: OptionalQueryDay = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size (每页条数)")] = 100,
    after: Annotated[str | None, Query(min_length=1, max_length=ID_MAX, description=(
        "the `next_after` of the previous page (下一页起点)"), examples=["H42130100001"])] = None,
) -> Institutions:
    """The directory by region (定点医药机构目录), a page of ``limit`` institutions in code
    order, each with its entry in force ``on`` a day (default today). Agency and auditor."""
    ledger = request.app.state.services.ledger
    if region is not None and region not in ledger.book.regions:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"no region {region!r}; the regions are "
                          f"{', '.join(ledger.book.regions)}", field="region")
    day = on or dt.date.today()
    items: list[InstitutionItem] = []
    for code, listed in sorted(entries(ledger).items()):
        if after is not None and code <= after:
            continue
        latest = listed[max(listed)]
        current = in_force(listed, day)
        if region is not None and (current.region if current else latest["region"]) != region:
            continue
        items.append(InstitutionItem(code=code, in_force=out(current), latest=out(latest)))
        if len(items) > limit:
            break
    page = items[:limit]
    return Institutions(on=day, institutions=page,
                        next_after=page[-1].code if len(items) > limit else None)
