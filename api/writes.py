"""The write routes: one per ledger command, each a few lines.

A request body *is* the ledger command (:mod:`ledger.commands`), so the API accepts exactly
what the conformance runner accepts. Each route checks the caller's role and scope, then
hands the command to :func:`execute`, which runs it once per Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api import schemas as s
from api.auth import Principal, allow, may_read, require_institution, require_person
from api.idempotency import once
from api.problems import documented
from ledger import commands as c
from ledger import results as r
from ledger.directory import listed_visit
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen

router = APIRouter(prefix="/v1", responses=documented(401, 403, 404, 409, 422))

Agency = Annotated[Principal, Depends(allow("agency"))]
AtCounter = Annotated[Principal, Depends(allow("agency", "institution"))]
FamilyManager = Annotated[Principal, Depends(allow("agency", "member"))]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
)]


class Format(StrEnum):
    DEFAULT = "default"
    NHSA = "nhsa"


FormatParam = Annotated[Format, Query(alias="format")]


def execute(request: Request, principal: Principal, command: c.Command, key: str | None,
            render: Callable[[Any], BaseModel]) -> JSONResponse:
    """Run ``command``; with an Idempotency-Key, only once, replaying its response after."""
    services = request.app.state.services

    def run() -> tuple[int, Any]:
        return 200, render(services.ledger.execute(command)).model_dump(mode="json")

    if key is None:
        status, body = run()
        return JSONResponse(body, status)
    fingerprint = hashlib.sha256(json.dumps(
        [request.method, request.url.path, sorted(request.query_params.multi_items()),
         type(command).__name__, command.model_dump(mode="json")], sort_keys=True,
    ).encode()).hexdigest()
    status, body, replayed = once(services.idempotency, principal.id, key, fingerprint, run)
    return JSONResponse(body, status,
                        headers={"Idempotent-Replayed": "true"} if replayed else None)


def ack(_: r.Done) -> s.Ack:
    return s.Ack()


def at_institution(principal: Principal, command: Any) -> Any:
    """An institution's command carries its own institution id (filled in when omitted)."""
    if principal.role != "institution":
        return command
    if command.institution is None:
        return command.model_copy(update={"institution": principal.institution})
    require_institution(principal, command.institution)
    return command


def listed(request: Request, principal: Principal, cmd: c.SettleVisit) -> c.SettleVisit:
    """An institution key's visit is priced at the level of its directory entry (定点医药机构
    目录) in force on the visit's date; a ``level`` that disagrees is ``level_mismatch``.
    The agency's (and a preview by a member or an auditor) keeps the level it sends."""
    if principal.role != "institution":
        return cmd
    return listed_visit(request.app.state.services.ledger, cmd)


def visit_renderer(cmd: c.SettleVisit, fmt: Format) -> Callable[[r.VisitResult], BaseModel]:
    if fmt is Format.NHSA:
        return lambda v: s.NhsaSetlInfo.of(cmd.id, v)
    return lambda v: s.VisitSplit.of(cmd.id, cmd.person, v)


def own_result(request: Request, principal: Principal, id: str,
               render: Callable[[Any], BaseModel]) -> Callable[[Any], BaseModel]:
    """``render``, after checking that the caller may see the transaction's result: a
    retry of an id that another institution used gets ``duplicate_conflict``, never
    that institution's split (nothing is written by such a retry)."""

    def checked(result: Any) -> BaseModel:
        txn = request.app.state.services.ledger.find_transaction(id)
        if txn is not None and not may_read(principal, txn):
            raise LedgerError(
                ErrorCode.DUPLICATE_CONFLICT,
                f"id {id!r} is already used by a transaction this key may not read; "
                "use a new id",
                field="id", message_zh="该交易编号已被其他机构使用：请使用新的编号")
        return render(result)

    return checked


# -- people and credits (参保登记, 个人账户计入) ------------------------------------------


@router.post("/people", response_model=s.Ack, tags=["people"])
def enroll(request: Request, cmd: c.EnrollPerson, who: Agency,
           key: IdempotencyKey = None) -> JSONResponse:
    """Enroll an insured person (参保登记); the same facts again are a harmless retry."""
    return execute(request, who, cmd, key, ack)


@router.post("/contributions", response_model=s.Credited, tags=["credits"])
def record_contribution(request: Request, cmd: c.RecordContribution, who: Agency,
                        key: IdempotencyKey = None) -> JSONResponse:
    """An employed month's contribution (在职缴费); credits 2% of the base once a month."""
    return execute(request, who, cmd, key, s.Credited.of)


@router.post("/lump-sums", response_model=s.Credited, tags=["credits"])
def credit_lump_sum(request: Request, cmd: c.CreditLumpSum, who: Agency,
                    key: IdempotencyKey = None) -> JSONResponse:
    """A one-off prepay/back-pay credit (一次性预缴/补缴, nanchang art. 21)."""
    return execute(request, who, cmd, key, s.Credited.of)


@router.post("/allotments", response_model=s.Credited, tags=["credits"])
def credit_allotment(request: Request, cmd: c.CreditAllotment, who: Agency,
                     key: IdempotencyKey = None) -> JSONResponse:
    """A retired month's allotment (退休人员划入)."""
    return execute(request, who, cmd, key, s.Credited.of)


@router.post("/retirements", response_model=s.Ack, tags=["people"])
def record_retirement(request: Request, cmd: c.RecordRetirement, who: Agency,
                      key: IdempotencyKey = None) -> JSONResponse:
    """Retirement processed (退休); the retired category applies from the next month."""
    return execute(request, who, cmd, key, ack)


# -- leaving (转移接续, 出国出境定居, 死亡, 继承) ------------------------------------------


@router.post("/transfers", response_model=s.TransferredOut, tags=["leaving"])
def transfer(request: Request, cmd: c.Transfer, who: Agency,
             key: IdempotencyKey = None) -> JSONResponse:
    """Move the insurance and the whole balance to another region (转移接续)."""
    return execute(request, who, cmd, key, lambda res: s.TransferredOut(
        amount=format_fen(res.amount)))


@router.post("/emigrations", response_model=s.PaidOutOut, tags=["leaving"])
def emigrate(request: Request, cmd: c.Emigrate, who: Agency,
             key: IdempotencyKey = None) -> JSONResponse:
    """Pay the balance to a person settling abroad and close the account (出国出境定居)."""
    return execute(request, who, cmd, key, lambda res: s.PaidOutOut(
        paid_out=format_fen(res.paid_out)))


@router.post("/deaths", response_model=s.Ack, tags=["leaving"])
def record_death(request: Request, cmd: c.RecordDeath, who: Agency,
                 key: IdempotencyKey = None) -> JSONResponse:
    """Record a death (死亡登记); no spend after it, no credit after its month."""
    return execute(request, who, cmd, key, ack)


@router.post("/inheritances", response_model=s.InheritanceOut, tags=["leaving"])
def pay_inheritance(request: Request, cmd: c.PayInheritance, who: Agency,
                    key: IdempotencyKey = None) -> JSONResponse:
    """Pay a deceased person's balance once to the heirs (继承), split to the fen."""
    return execute(request, who, cmd, key, lambda res: s.InheritanceOut(
        payouts={name: format_fen(v) for name, v in res.payouts.items()}))


# -- family (家庭共济) -----------------------------------------------------------------


@router.post("/family-bindings", response_model=s.Ack, tags=["family"])
def bind_family_member(request: Request, cmd: c.BindFamilyMember, who: FamilyManager,
                       key: IdempotencyKey = None) -> JSONResponse:
    """The owner binds a family member (绑定家庭共济成员); a member key binds for itself only."""
    require_person(who, cmd.owner)
    return execute(request, who, cmd, key, ack)


@router.post("/family-bindings/revocations", response_model=s.Ack, tags=["family"])
def unbind_family_member(request: Request, cmd: c.UnbindFamilyMember, who: FamilyManager,
                         key: IdempotencyKey = None) -> JSONResponse:
    """The owner revokes a binding (解除绑定) from ``date``."""
    require_person(who, cmd.owner)
    return execute(request, who, cmd, key, ack)


# -- settlements, spends, reversals (结算, 支付, 冲正) ----------------------------------


@router.post("/settlements", response_model=s.VisitSplit | s.NhsaSetlInfo, tags=["settlements"])
def settle_visit(request: Request, cmd: c.SettleVisit, who: AtCounter,
                 key: IdempotencyKey = None,
                 fmt: FormatParam = Format.DEFAULT) -> JSONResponse:
    """Settle an outpatient visit (门诊结算): price it, pay the self-pay part.

    ``pay``: ``"own"`` (own account, then cash), ``"none"`` (all cash), or
    ``{"family": B}`` (B's account pays for the person, who must be bound to B), with
    ``"own_first": true`` for own account first and the shortfall from B (acct_pay /
    acct_mulaid_pay). ``?format=nhsa`` answers with the NHSA 2207 setlinfo names.

    An institution key's visit takes its ``level`` from the institution directory
    (定点医药机构目录) entry in force on ``date``: a ``level`` that disagrees is refused
    (level_mismatch, 422); an institution the directory does not list (unknown_institution,
    404), without an entry in force on ``date`` (institution_not_in_force) or not designated
    (not_designated, 非定点) is refused (409). The agency's ``level`` is taken as sent.
    """
    cmd = listed(request, who, at_institution(who, cmd))
    return execute(request, who, cmd, key, own_result(request, who, cmd.id,
                                                      visit_renderer(cmd, fmt)))


@router.post("/settlements/preview", response_model=s.VisitSplit | s.NhsaSetlInfo,
             tags=["settlements"])
def preview_visit(request: Request, cmd: c.SettleVisit,
                  who: Annotated[Principal, Depends(allow(
                      "agency", "institution", "member", "auditor"))],
                  fmt: FormatParam = Format.DEFAULT) -> BaseModel:
    """Pre-settlement (预结算): what the visit would cost now; writes nothing.

    Gives the same figures a settlement would give at this moment; a later write (another
    visit, a credit) can change them. An institution key's level comes from the directory,
    as for a settlement.
    """
    require_person(who, cmd.person)
    if who.role == "member" and isinstance(cmd.pay, c.FamilyPay):
        # the family part would reveal the payer's balance, which a member may not read
        raise HTTPException(403, "a member key may not preview a visit paid by another "
                                 "person's account; preview with pay \"own\" or \"none\"")
    cmd = listed(request, who, at_institution(who, cmd))
    result = request.app.state.services.ledger.preview_visit(cmd)
    return visit_renderer(cmd, fmt)(result)


@router.post("/spends", response_model=s.Spent, tags=["settlements"])
def spend(request: Request, cmd: c.Spend, who: AtCounter,
          key: IdempotencyKey = None) -> JSONResponse:
    """Pay a purpose from an account (个人账户支付), for its owner or a bound member; all or
    nothing."""
    cmd = at_institution(who, cmd)
    return execute(request, who, cmd, key, own_result(
        request, who, cmd.id, lambda res: s.Spent.of(cmd.id, res)))


@router.post("/reversals", response_model=s.ReversedOut, tags=["settlements"])
def reverse(request: Request, cmd: c.Reverse, who: AtCounter,
            key: IdempotencyKey = None) -> JSONResponse:
    """Reverse a settlement or spend once, whole (冲正/退费); each account gets its part back.

    An institution reverses only what it settled itself.
    """
    cmd = at_institution(who, cmd)
    if who.role == "institution":
        txn = request.app.state.services.ledger.find_transaction(cmd.id)
        if txn is not None:
            require_institution(who, getattr(txn, "institution", None))
    return execute(request, who, cmd, key, lambda res: s.ReversedOut(
        id=cmd.id, restored=format_fen(res.restored)))


# -- year end (年度结转) ---------------------------------------------------------------


@router.post("/year-closings", response_model=s.YearClosedOut, tags=["year end"])
def close_year(request: Request, cmd: c.CloseYear, who: Agency,
               key: IdempotencyKey = None) -> JSONResponse:
    """Close a pooling year for every account (or one region's): 年度结转. Idempotent."""
    return execute(request, who, cmd, key, lambda res: s.YearClosedOut(
        closed=res.closed, accounts=res.accounts, interest=format_fen(res.interest)))
