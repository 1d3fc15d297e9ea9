"""Errors as RFC 9457 problem+json: the one place a refusal becomes an HTTP status.

Every refusal of the ledger carries a stable code (``policies.errors.ErrorCode``) and an
English message saying what to fix; here it gets its status, a Chinese sentence for the
counter staff and the same shape whether it came from the ledger, from request validation
(a malformed JSON body included) or from the HTTP layer (no key, wrong role, no route).

Status by code — the request itself is wrong: 422; it names something that does not
exist: 404; it conflicts with what the ledger holds now (a reused id, a reversed
settlement, the account's state or balance, a binding, a region disabled by its
deployment parameters, a write that lost too many races): 409.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import redis
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from ledger.commands import invalid_input
from policies.errors import ErrorCode, LedgerError

PROBLEM = "application/problem+json"
log = logging.getLogger("gongji.api")

STATUS: dict[str, int] = {
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.NO_POLICY_IN_FORCE: 422,
    ErrorCode.RELATION_NOT_ALLOWED: 422,
    ErrorCode.PURPOSE_NOT_ALLOWED: 422,
    ErrorCode.UNKNOWN_PERSON: 404,
    ErrorCode.UNKNOWN_TRANSACTION: 404,
    ErrorCode.UNKNOWN_INSTITUTION: 404,
    ErrorCode.INSTITUTION_NOT_IN_FORCE: 409,
    ErrorCode.NOT_DESIGNATED: 409,
    ErrorCode.LEVEL_MISMATCH: 422,
    ErrorCode.POLICY_INVALID: 409,
    ErrorCode.DUPLICATE_CONFLICT: 409,
    ErrorCode.ALREADY_REVERSED: 409,
    ErrorCode.ACCOUNT_CLOSED: 409,
    ErrorCode.NO_PERSONAL_ACCOUNT: 409,
    ErrorCode.NOT_EMPLOYED: 409,
    ErrorCode.NOT_RETIRED: 409,
    ErrorCode.NOT_DEAD: 409,
    ErrorCode.NOT_BOUND: 409,
    ErrorCode.INSUFFICIENT_BALANCE: 409,
    ErrorCode.CONCURRENCY_CONFLICT: 409,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "internal_error": 500,
    "store_unavailable": 503,
}

ZH: dict[str, str] = {
    ErrorCode.INVALID_INPUT: "请求内容有误：按提示修正字段（金额为两位小数的字符串，日期为 YYYY-MM-DD）后重新提交",
    ErrorCode.NO_POLICY_IN_FORCE: "该日期没有生效的统筹地区政策：检查业务日期",
    ErrorCode.RELATION_NOT_ALLOWED: "该统筹地区不允许此家庭关系共济：检查关系类型",
    ErrorCode.PURPOSE_NOT_ALLOWED: "个人账户不能支付此用途：改用现金或其他用途",
    ErrorCode.UNKNOWN_PERSON: "未找到该参保人员：检查人员编号或先办理参保登记",
    ErrorCode.UNKNOWN_TRANSACTION: "未找到该结算或支付记录：检查交易编号",
    ErrorCode.UNKNOWN_INSTITUTION: "定点医药机构目录中没有该机构：检查机构编码，或由经办机构导入目录",
    ErrorCode.INSTITUTION_NOT_IN_FORCE: "该机构的目录条目在此日期不在有效期内：检查业务日期或目录的有效期",
    ErrorCode.NOT_DESIGNATED: "该机构在此日期为非定点医药机构，不能办理医保结算",
    ErrorCode.LEVEL_MISMATCH: "医疗机构等级与定点医药机构目录不符：不填等级或按目录填写",
    ErrorCode.POLICY_INVALID: "该统筹地区的部署参数无效，暂停办理：请联系经办机构",
    ErrorCode.DUPLICATE_CONFLICT: "该编号已用于内容不同的请求：使用新的编号或幂等键",
    ErrorCode.ALREADY_REVERSED: "该笔交易已冲正，不能再次冲正",
    ErrorCode.ACCOUNT_CLOSED: "个人账户已封存或注销，不能办理此业务",
    ErrorCode.NO_PERSONAL_ACCOUNT: "该参保人员没有个人账户（单建统筹）",
    ErrorCode.NOT_EMPLOYED: "该人员在此月份不是在职人员",
    ErrorCode.NOT_RETIRED: "该人员在此月份不是退休人员",
    ErrorCode.NOT_DEAD: "尚未登记死亡，不能办理继承",
    ErrorCode.NOT_BOUND: "未绑定家庭共济关系：先由账户所有人绑定该成员",
    ErrorCode.INSUFFICIENT_BALANCE: "个人账户余额不足：减少金额或改用现金支付",
    ErrorCode.CONCURRENCY_CONFLICT: "并发写入冲突或请求仍在处理中：稍后用相同的幂等键重试",
    "unauthorized": "缺少或无效的 API 密钥：在 Authorization: Bearer 头中提供密钥",
    "forbidden": "该密钥的角色无权办理此业务",
    "not_found": "没有这个接口：检查路径",
    "method_not_allowed": "该接口不支持此 HTTP 方法",
    "payload_too_large": "请求体过大：单个请求不得超过 64 KiB，请拆分或精简后重新提交",
    "internal_error": "服务器内部错误：请联系运维，并附上请求时间",
    "store_unavailable": "数据库或视图存储暂时无法连接：请稍后重试",
}


class Problem(BaseModel):
    """问题详情 (RFC 9457): why a request was refused and what to fix."""

    type: str = Field(examples=["urn:gongji:problem:insufficient_balance"])
    title: str = Field(examples=["insufficient_balance"])
    status: int = Field(examples=[409])
    code: str = Field(examples=["insufficient_balance"])
    detail: str = Field(examples=["A's balance is 12.00, less than the 30.00 asked"])
    detail_zh: str = Field(examples=["个人账户余额不足：减少金额或改用现金支付"])
    field: str | None = Field(None, examples=["amount"])
    instance: str | None = Field(None, examples=["/v1/spends"])


def problem(code: str, detail: str, request: Request | None = None,
            field: str | None = None, headers: dict[str, str] | None = None,
            detail_zh: str | None = None) -> JSONResponse:
    """The problem+json response for ``code``; ``detail_zh`` when the refusal has its own
    Chinese sentence (a bad field), else the code's."""
    status = STATUS.get(code, 409)
    body = Problem(
        type=f"urn:gongji:problem:{code}", title=str(code), status=status, code=str(code),
        detail=detail, detail_zh=detail_zh or ZH.get(code, ""), field=field,
        instance=request.url.path if request is not None else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status, headers=headers,
                        media_type=PROBLEM)


def ledger_problem(error: LedgerError, request: Request | None = None) -> JSONResponse:
    headers = {"Retry-After": "1"} if error.code == ErrorCode.CONCURRENCY_CONFLICT else None
    return problem(error.code, error.message, request, error.field, headers, error.message_zh)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries so the OpenAPI page lists each refusal a route can give."""
    return {
        status: {"model": Problem, "content": {PROBLEM: {}},
                 "description": ", ".join(c for c, s in STATUS.items() if s == status)}
        for status in statuses
    }


def allowed_methods(request: Request) -> list[str]:
    """The methods the API documents at this request's path (its OpenAPI paths)."""
    path = request.scope.get("path", "")
    paths = request.app.openapi().get("paths", {})
    matching = [t for t in paths if compile_path(t)[0].match(path)]
    # a fixed path (/v1/settlements/preview) wins over a template (/v1/settlements/{id})
    chosen = [t for t in matching if "{" not in t] or matching
    return sorted({verb.upper() for t in chosen for verb in paths[t] if verb in _VERBS})


_VERBS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def install(app: FastAPI) -> None:
    """Route every error of the app through :func:`problem`."""

    @app.exception_handler(LedgerError)
    def _ledger(request: Request, error: LedgerError) -> JSONResponse:
        return ledger_problem(error, request)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": (), "msg": "the body is not valid JSON; send one JSON object",
             "type": "json_invalid"}
            if e["type"] == "json_invalid" else
            {**e, "loc": tuple(e["loc"][1:]) if e["loc"][:1] == ("body",) else tuple(e["loc"])}
            for e in error.errors()
        ]
        return ledger_problem(invalid_input(errors), request)

    @app.exception_handler(HTTPException)
    def _http(request: Request, error: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed"}.get(error.status_code)
        if code is None:  # 400: a body that cannot be read at all is bad input too
            return problem("invalid_input", f"the request could not be read: {error.detail}",
                           request)
        headers = error.headers
        if error.status_code == 405:  # every method of the path, not just one route's
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        response = problem(code, str(error.detail), request, headers=headers)
        response.status_code = error.status_code
        return response

    @app.exception_handler(persistence.OperationalError)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(redis.exceptions.ConnectionError)
    def _unavailable(request: Request, error: Exception) -> JSONResponse:
        """An outage of the event or view store is not our bug: 503, and try again."""
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path, error)
        return problem("store_unavailable",
                       f"the store did not answer ({type(error).__name__}); try again shortly",
                       request, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem("internal_error", "an unexpected error; the server log has the details",
                       request)
