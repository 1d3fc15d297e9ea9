"""The audit routes (审计): why a figure is what it is, what it was on a date, and whether
every stored figure still follows from the events.

They answer from the events alone (:mod:`projections.audit`), never from the read models,
and are open to auditors and the agency; institutions and members get 403.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api import schemas as s
from api.auth import Principal, allow
from api.params import QueryDay
from api.problems import documented
from api.reads import PersonId, Year
from projections.audit import balance_as_of, explain, pooling_as_of, verify

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditing = Annotated[Principal, Depends(allow("agency", "auditor"))]
Day = QueryDay
ERRORS = documented(401, 403, 404, 422)


class Basis(StrEnum):
    """时点口径: business = by the events' business (value) dates; recorded = as recorded
    by the end of the day (UTC)."""

    BUSINESS = "business"
    RECORDED = "recorded"


BasisParam = Annotated[Basis, Query()]


@router.get("/people/{person}/explain", response_model=s.Explanation, responses=ERRORS)
def explain_person(request: Request, person: PersonId, who: Auditing,
                   year: Year = None) -> s.Explanation:
    """Every event touching the person (余额形成明细), in recording order: the amount it
    moved, the balance after it, and the policy articles behind it; payments a bound family
    member's account made for the person are included (they move the member's account).
    ``year`` keeps the events of that business year."""
    rows = explain(request.app.state.services.ledger, person, year)
    return s.Explanation(person=person, year=year, events=[s.AuditEvent.of(r) for r in rows])


@router.get("/people/{person}/balance", response_model=s.BalanceAsOf, responses=ERRORS)
def balance(request: Request, person: PersonId, who: Auditing, as_of: Day,
            basis: BasisParam = Basis.BUSINESS) -> s.BalanceAsOf:
    """The personal-account balance as it stood on ``as_of`` (时点余额), from the events.

    ``basis=business``: every movement whose value date is on or before the day (a
    contribution counts from the first day of its month); ``basis=recorded``: what had
    been recorded by the end of that day (UTC), i.e. what a query that day answered.
    """
    ledger = request.app.state.services.ledger
    return s.BalanceAsOf.of(balance_as_of(ledger, person, as_of, basis.value))


@router.get("/people/{person}/pooling", response_model=s.PoolingAsOf, responses=ERRORS)
def pooling(request: Request, person: PersonId, who: Auditing, as_of: Day,
            region: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
            year: Year = None, basis: BasisParam = Basis.BUSINESS) -> s.PoolingAsOf:
    """Yearly pooling usage as it stood on ``as_of`` (时点统筹累计), from the events: the
    year of ``as_of`` unless ``year`` is given. A visit counts from its date, a reversal
    from its date, a year's closing from 31 December (or its recording, if later)."""
    ledger = request.app.state.services.ledger
    answer = pooling_as_of(ledger, person, as_of, region, year, basis.value)
    return s.PoolingAsOf(person=person, as_of=as_of, basis=basis.value,
                         years=[s.PoolingYear.of(v) for v in answer.years],
                         unreadable=list(answer.unreadable))


@router.post("/verify", response_model=s.Verification, responses=documented(401, 403))
def verify_ledger(request: Request, who: Auditing) -> s.Verification:
    """Verify the ledger (审计核验): the hash chain, every settlement re-priced from the
    policy data, every read model recomputed from the events and compared. Writes nothing;
    a POST because it reads the whole log (minutes on a large ledger). Keep ``chain_head``
    elsewhere to detect a later truncation."""
    services = request.app.state.services
    return s.Verification.of(verify(services.ledger, services.views))
