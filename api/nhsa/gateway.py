"""``POST /fsi/api/rsfComIfsService/callService``: the national platform's one entry point.

A HIS posts the platform's envelope; ``infno`` names the transaction. The gateway checks
the caller like every route (an institution key acts only as its own ``fixmedins_code``),
translates ``input`` into the ledger's command (:mod:`api.nhsa.translate`), runs it with
the ledger's own operations and answers in the envelope: ``infcode`` 0 with ``output``, or
-1 with ``err_msg`` (stable code, Chinese naming the field, English). A ``msgid`` is an
idempotency key (:func:`api.idempotency.once`): the same message again gets the first
answer, another message under the same ``msgid`` a ``duplicate_conflict``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from api.auth import Principal, allow, require_institution
from api.idempotency import once
from api.nhsa import codes, translate
from api.nhsa.models import (
    CancelInput,
    NhsaRequest,
    NhsaResponse,
    PersonInfo,
    PersonQuery,
    Settled,
    VisitInput,
)
from api.problems import ZH
from ledger import commands as c
from ledger.commands import invalid_input
from ledger.directory import listed_level
from ledger.results import VisitResult
from ledger.transaction import Settlement
from policies.errors import ErrorCode, LedgerError

PATH = "/fsi/api/rsfComIfsService/callService"
AtCounter = Annotated[Principal, Depends(allow("agency", "institution"))]


class PlatformRequest(Request):
    """A JSON number keeps its text ("300.00", not a float), so that an amount sent as a
    number meets the same parser as one sent as a string."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=str, parse_int=str)
        return self._json


def now() -> dt.datetime:
    return dt.datetime.now(translate.CHINA)


def stamp(moment: dt.datetime) -> str:
    """yyyyMMddHHmmssSSS"""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def answer(received: dt.datetime, admdvs: str | None, output: PersonInfo | Settled | None = None,
           error: LedgerError | None = None) -> dict[str, Any]:
    """The envelope out: 接收方报文ID = 医保区划(6) + time(14) + serial(10)."""
    refmsgid = f"{admdvs or '000000'}{received:%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"
    return NhsaResponse(
        infcode=0 if error is None else -1, inf_refmsgid=refmsgid,
        refmsg_time=stamp(received), respond_time=stamp(now()),
        err_msg=None if error is None else err_msg(error),
        output=output,
    ).model_dump(mode="json")


def err_msg(error: LedgerError) -> str:
    """``[code] 中文（字段 x） | English``."""
    zh = getattr(error, "zh", None) or error.message_zh or ZH.get(error.code, "")
    where = f"（字段 {error.field}）" if error.field and not isinstance(
        error, translate.Refusal) else ""
    return f"[{error.code}] {zh}{where} | {error.message}"


class PlatformRoute(APIRoute):
    """Every answer of the gateway is an envelope, refusals of the HTTP layer included: a
    body that does not validate is infcode -1 (HTTP 200), a missing key or a key of another
    institution -1 with HTTP 401/403."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            request.state.received = now()
            try:
                return await handler(PlatformRequest(request.scope, request.receive))
            except RequestValidationError as error:
                problems = [
                    {"loc": (), "msg": "the body is not valid JSON; send one JSON object"}
                    if e["type"] == "json_invalid" else {**e, "loc": e["loc"][1:]}
                    for e in error.errors()
                ]
                return JSONResponse(answer(request.state.received, None,
                                           error=invalid_input(problems)))
            except HTTPException as error:
                code = {401: "unauthorized", 403: "forbidden"}.get(error.status_code)
                if code is None:  # 400: the body could not be read at all
                    refusal = invalid_input([{"loc": (), "msg": str(error.detail)}])
                    return JSONResponse(answer(request.state.received, None, error=refusal))
                refusal = LedgerError(code, str(error.detail))  # type: ignore[arg-type]
                return JSONResponse(answer(request.state.received, None, error=refusal),
                                    error.status_code, headers=error.headers)

        return route


router = APIRouter(route_class=PlatformRoute, tags=["national platform"])


@dataclass(frozen=True)
class Call:
    """One message: who sent it, the envelope, the services that answer it."""

    who: Principal
    envelope: NhsaRequest
    services: Any

    @property
    def day(self) -> dt.date:
        return self.envelope.inf_time.date()

    def data(self, model: type[BaseModel]) -> Any:
        raw = self.envelope.input.get("data")
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            raise invalid_input(error.errors(), "input.data") from None


def person_info(call: Call) -> PersonInfo:
    """1101 人员信息获取."""
    query = call.data(PersonQuery)
    person = query.mdtrt_cert_no or query.certno
    if person is None:
        raise translate.refuse("mdtrt_cert_no", "mdtrt_cert_no: give the person id",
                               "缺少就诊凭证编号 mdtrt_cert_no：填写人员编号")
    ledger = call.services.ledger
    account = ledger.account(person)
    translate.check_insured_place(call.envelope, account.region, call.services.admdvs)
    return translate.person_info(account, ledger.account_view(person, as_of=call.day), call.day)


def visit_command(call: Call, data: VisitInput) -> c.SettleVisit:
    """The settlement command of a 2206/2207; an institution key's at the level of its
    directory entry in force on the visit's date (:func:`ledger.directory.listed_level`,
    the JSON API's rule), which a ``medins_lv`` it sends must agree with."""
    if call.who.role != "institution":
        return translate.visit_command(call.envelope, data)
    level, listing = listed_level(
        call.services.ledger, call.envelope.fixmedins_code, data.mdtrt_id, call.day,
        None if data.medins_lv is None else int(data.medins_lv),
        ("fixmedins_code", "medins_lv"))
    command = translate.visit_command(call.envelope, data, level)
    command.listed_as(listing)
    return command


def presettle(call: Call) -> Settled:
    """2206 门诊预结算: the preview of /v1/settlements/preview; writes nothing."""
    data = call.data(VisitInput)
    command = visit_command(call, data)
    ledger = call.services.ledger
    account = ledger.account(data.psn_no)
    translate.check_insured_place(call.envelope, account.region, call.services.admdvs)
    result = ledger.preview_visit(command)
    return translate.settled(call.envelope, account, result, mdtrt_id=data.mdtrt_id,
                             setl_id=None, when=now(), data=data)


def settle(call: Call) -> Settled:
    """2207 门诊结算: the settlement of /v1/settlements; setl_id = mdtrt_id."""
    data = call.data(VisitInput)
    command = visit_command(call, data)
    ledger = call.services.ledger
    translate.check_insured_place(call.envelope, ledger.account(data.psn_no).region,
                                  call.services.admdvs)
    result = ledger.execute(command)
    txn = ledger.transaction(command.id)
    return translate.settled(call.envelope, ledger.account(data.psn_no), result,
                             mdtrt_id=data.mdtrt_id, setl_id=command.id, when=txn.created_on,
                             data=data)


def cancel(call: Call) -> Settled:
    """2208 门诊结算撤销: the reversal of /v1/reversals, whole; each account gets its part."""
    data = call.data(CancelInput)
    ledger = call.services.ledger
    txn = ledger.find_transaction(data.setl_id)
    if not isinstance(txn, Settlement):
        raise LedgerError(ErrorCode.UNKNOWN_TRANSACTION,
                          f"no settlement with setl_id {data.setl_id!r}", field="setl_id")
    if call.who.role == "institution":
        require_institution(call.who, txn.institution)
    if data.mdtrt_id != data.setl_id or data.psn_no != txn.person:
        raise translate.refuse(
            "psn_no", f"settlement {data.setl_id!r} is visit {txn.client_id!r} of "
                      f"{txn.person!r}, not visit {data.mdtrt_id!r} of {data.psn_no!r}",
            f"结算 {data.setl_id} 不是人员 {data.psn_no} 的就诊 {data.mdtrt_id}：核对 psn_no 与 mdtrt_id")
    ledger.execute(c.parse(c.Reverse, {
        "id": data.setl_id, "date": call.day.isoformat(), "reason": codes.CANCEL_REASON,
        "institution": call.envelope.fixmedins_code}, "input.data"))
    txn = ledger.transaction(data.setl_id)
    account = ledger.account(txn.person)
    return translate.settled(call.envelope, account, VisitResult(**txn.result),
                             mdtrt_id=data.mdtrt_id, setl_id=data.setl_id, when=txn.modified_on,
                             balance=account.balance if account.has_account else 0,
                             cancelled=True)


TRANSACTIONS: dict[str, Callable[[Call], PersonInfo | Settled]] = {
    "1101": person_info, "2206": presettle, "2207": settle, "2208": cancel,
}


MSGID_CONFLICTS: dict[str, Callable[[str], LedgerError]] = {
    ErrorCode.DUPLICATE_CONFLICT: lambda msgid: translate.Refusal(
        ErrorCode.DUPLICATE_CONFLICT, "msgid",
        f"msgid {msgid!r} was used for another message; send a new msgid",
        f"报文ID msgid（{msgid}）已用于内容不同的交易：换用新的 msgid"),
    ErrorCode.CONCURRENCY_CONFLICT: lambda msgid: translate.Refusal(
        ErrorCode.CONCURRENCY_CONFLICT, "msgid",
        f"the message {msgid!r} is still being answered; send it again shortly",
        f"报文 {msgid} 仍在处理中：稍后用相同的 msgid 重发"),
}


class Refused(Exception):
    """A refusal raised while a message runs: its msgid is released, not remembered."""

    def __init__(self, error: LedgerError) -> None:
        self.error = error


DESCRIPTION = f"""\
国家医保信息平台接口 (the national platform's interface) for HIS systems: a HIS posts the
platform's envelope here and only changes its base URL (and sends its key as
`Authorization: Bearer KEY`). Transactions (`infno`): {codes.table(codes.TRANSACTIONS)}.

- `fixmedins_code` 定点医药机构编号 must be the key's own institution.
- `inf_time` 交易时间 is the business date of a settlement or cancellation.
- 2206/2207 `input.data`: `psn_no` 人员编号 (the ledger's person id), `mdtrt_id` 就诊ID (also
  the settlement id `setl_id`), `medfee_sumamt` 医疗费总额 = `inscp_scp_amt` 符合政策范围金额
  (in scope) + `fulamt_ownpay_amt` 全自费 + `overlmt_selfpay` 超限价 + `preselfpay_amt`
  先行自付 (all three out of scope; without `inscp_scp_amt` the rest of `medfee_sumamt` is in
  scope). Amounts: strings or JSON numbers written with two decimals. gongji extensions:
  `medins_lv` 医疗机构等级 (1, 2, 3) and
  `mulaid_psn_no` 共济账户人员编号: with `acct_used_flag` "1", the person's own account pays
  first and the shortfall comes from that bound family member's account. Without it no
  family account is ever touched: the shortfall is cash.
- Level 医疗机构等级 and 定点: an institution key's visit is priced at the level of its entry
  in the institution directory (定点医药机构目录, `GET /v1/institutions/{{code}}`) in force on
  the visit's date; the HIS need not send `medins_lv`, and one it sends must agree
  (level_mismatch). An institution the directory does not list (unknown_institution), without
  an entry in force on the date (institution_not_in_force) or not designated (not_designated,
  非定点) is refused, naming `fixmedins_code`. An agency key sends `medins_lv`.
- Codes handled: med_type {codes.table(codes.MED_TYPES)}; insutype {codes.table(codes.INSUTYPES)};
  psn_setlway {codes.table(codes.SETTLEMENT_WAYS)}; acct_used_flag "1" = own account, "0" = none;
  admdvs {codes.table(codes.REGIONS)}; a deployment adds more codes with the setting
  `GONGJI_ADMDVS="CODE=region,…"` (e.g. `360102=nanchang`), checked at start.
- 2208 `input.data`: `setl_id`, `mdtrt_id`, `psn_no` of a 2207; cancels it whole. Its setlinfo
  gives the cancelled figures with a minus sign and `balc` after the refund.
- `output`: 1101 `baseinfo`, `insuinfo`, `idetinfo`; 2206/2207/2208 `setlinfo` (every field of
  the public model: fund lines the ledger does not pay are "0.00", what it does not know is
  null) and `setldetail` (the pooling fund: `crt_payb_lmt_amt` = the cap left before the visit).
- Errors: `infcode` -1, `err_msg` = `[code] 中文（字段） | English`. A repeated `msgid` with
  the same content answers the first answer again; with other content, duplicate_conflict.
"""


@router.post(PATH, response_model=NhsaResponse, summary="国家医保平台交易 national platform call",
             description=DESCRIPTION,
             responses={"4XX": {"model": NhsaResponse, "description": (
                 "401 no or unknown key, 403 a role or an institution the key may not act "
                 "for; the body is still the envelope (infcode -1). Every other refusal is "
                 "HTTP 200 with infcode -1")}})
def call_service(request: Request, envelope: NhsaRequest, who: AtCounter) -> JSONResponse:
    received: dt.datetime = request.state.received
    services = request.app.state.services
    admdvs = envelope.mdtrtarea_admvs
    if who.role == "institution":
        require_institution(who, envelope.fixmedins_code)
    transaction = TRANSACTIONS.get(envelope.infno)
    if transaction is None:
        return JSONResponse(answer(received, admdvs, error=translate.refuse(
            "infno", f"infno {envelope.infno} is not handled; this gateway answers "
                     f"{', '.join(TRANSACTIONS)}",
            f"交易编号 infno {envelope.infno} 不支持：本网关办理 {'、'.join(TRANSACTIONS)}")))
    call = Call(who, envelope, services)

    def run() -> tuple[int, Any]:
        try:
            return 200, answer(received, admdvs, output=transaction(call))
        except LedgerError as error:
            raise Refused(error) from None

    fingerprint = hashlib.sha256(json.dumps(
        [envelope.infno, envelope.fixmedins_code, envelope.insuplc_admdvs, admdvs,
         envelope.input], sort_keys=True).encode()).hexdigest()
    try:
        _, body, _ = once(services.idempotency, who.id, f"nhsa:{envelope.msgid}",
                          fingerprint, run)
    except Refused as refused:
        body = answer(received, admdvs, error=refused.error)
    except LedgerError as error:  # the msgid's own: reused for another message, or running
        body = answer(received, admdvs, error=MSGID_CONFLICTS[error.code](envelope.msgid))
    return JSONResponse(body)
