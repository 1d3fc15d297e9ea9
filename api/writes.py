"""The write routes, generated from the operation table (:mod:`ledger.operations`).

A request body *is* the ledger command (:mod:`ledger.commands`), so the API accepts exactly
what the conformance runner accepts. Each route admits the roles of its entry, applies the
entry's checks of the caller's scope (:func:`admit`), then hands the command to
:func:`execute`, which runs it once per Idempotency-Key; the answer is the result's
(:data:`api.schemas.ANSWERS`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import inspect
import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api import schemas as s
from api.auth import (
    READS_EVERY_TRANSACTION,
    Principal,
    allow,
    may_read,
    require_institution,
    require_person,
)
from api.idempotency import once
from api.monitoring import require_raised
from api.problems import documented
from ledger import commands as c
from ledger.directory import entry_in_force, listed_visit
from ledger.grouping import group_size
from ledger.operations import OPERATIONS, Operation
from ledger.settings import SettingsError
from policies.errors import ErrorCode, LedgerError

#: An Idempotency-Key: 1–255 printable ASCII characters, no spaces
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=IDEMPOTENCY_KEY.pattern,
)]


class Format(StrEnum):
    DEFAULT = "default"
    NHSA = "nhsa"


FormatParam = Annotated[Format, Query(alias="format")]

#: The threads that run writes (one command each: prefetch, decide, save). Not the 40 of
#: the shared pool: the store takes one writer at a time anyway, and 40 threads contending
#: for the GIL made the thread holding the write lock wait up to a switch interval (5 ms)
#: after each query it sent (a settlement sends ~10). With group commit
#: (:mod:`ledger.grouping`) the threads that wait are what fills a group.
WRITE_THREADS_VARIABLE = "GONGJI_WRITE_THREADS"
_writers: ThreadPoolExecutor | None = None


def write_threads() -> int:
    """``GONGJI_WRITE_THREADS``, or :class:`SettingsError` naming it. By default as many
    threads as a group commit takes commands (``GONGJI_GROUP_COMMIT``, at most 64), so
    that a group can fill; 2 with group commit off."""
    raw = os.environ.get(WRITE_THREADS_VARIABLE, "").strip()
    if not raw:
        size = group_size()
        return min(size, 64) if size > 1 else 2
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 64:
        raise SettingsError(f"{WRITE_THREADS_VARIABLE} {raw!r}: give a whole number of "
                            "threads from 1 to 64 (写入线程数: 1–64 的整数)")
    return int(raw)


async def in_writer(function: Callable[[], Any]) -> Any:
    """``function()`` in a writer thread, with this request's context (its request id)."""
    global _writers
    if _writers is None:
        _writers = ThreadPoolExecutor(write_threads(), thread_name_prefix="gongji-write")
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _writers, functools.partial(context.run, function))


def execute(request: Request, principal: Principal, command: c.Command, key: str | None,
            render: Callable[[Any], BaseModel], method: str) -> JSONResponse:
    """Run ``command`` by the ledger's ``method``; with an Idempotency-Key, only once,
    replaying its response after."""
    services = request.app.state.services

    def run() -> tuple[int, Any]:
        return 200, render(getattr(services.ledger, method)(command)).model_dump(mode="json")

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


def at_institution(principal: Principal, command: Any) -> Any:
    """An institution's command carries its own institution id (filled in when omitted)."""
    if principal.role != "institution":
        return command
    if command.institution is None:
        return command.model_copy(update={"institution": principal.institution})
    require_institution(principal, command.institution)
    return command


def own_result(request: Request, principal: Principal, id: str,
               render: Callable[[Any], BaseModel]) -> Callable[[Any], BaseModel]:
    """``render``, after checking that the caller may see the transaction's result: a
    retry of an id that another institution used gets ``duplicate_conflict``, never
    that institution's split (nothing is written by such a retry)."""

    if principal.role in READS_EVERY_TRANSACTION:
        return render  # no transaction is another's to this key: nothing to look up

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


def admit(request: Request, who: Principal, op: Operation, cmd: Any) -> Any:
    """The command as the caller may send it, after the entry's checks of its scope beyond
    its role (403 otherwise); an institution's gets its institution id."""
    if op.body is not None:  # the command records the key's role
        cmd = op.command(**cmd.model_dump(mode="json"), role=who.role)
    if op.alert is not None:
        require_raised(request, getattr(cmd, op.alert))
    if op.member is not None:
        require_person(who, getattr(cmd, op.member))
    if op.member_pays_own and who.role == "member" and isinstance(cmd.pay, c.FamilyPay):
        # the family part would reveal the payer's balance, which a member may not read
        raise HTTPException(403, "a member key may not preview a visit paid by another "
                                 "person's account; preview with pay \"own\" or \"none\"")
    if op.institution:
        cmd = at_institution(who, cmd)
    if op.listed and who.role == "institution":
        # the level and the designated flag come from the institution directory
        cmd = listed_visit(request.app.state.services.ledger, cmd)
    if op.designated and who.role == "institution":
        entry_in_force(request.app.state.services.ledger, cmd.institution, cmd.date)
    if op.reverses_own and who.role == "institution":
        txn = request.app.state.services.ledger.find_transaction(cmd.id)
        if txn is not None:
            require_institution(who, getattr(txn, "institution", None))
    return cmd


def answer(op: Operation, fmt: Format) -> s.Answer:
    return s.NHSA_VISIT if op.nhsa and fmt is Format.NHSA else s.ANSWERS[op.result]


def handle(op: Operation, request: Request, cmd: c.Command, who: Principal, key: str | None,
           fmt: Format) -> Any:
    """Run ``op``'s command for the caller ``who`` (its role already admitted): the
    entry's checks of scope, then the ledger; the response (see :func:`execute`)."""
    cmd = admit(request, who, op, cmd)
    built = answer(op, fmt).of

    def render(result: Any) -> BaseModel:
        return built(cmd, result)

    if not op.writes:
        return render(getattr(request.app.state.services.ledger, op.method)(cmd))
    if op.private:
        render = own_result(request, who, cmd.id, render)
    return execute(request, who, cmd, key, render, op.method)


async def run_operation(op: Operation, request: Request, cmd: c.Command, who: Principal,
                        key: str | None = None, fmt: Format = Format.DEFAULT) -> Any:
    """:func:`handle` in a writer thread (a write) or the shared pool (a preview)."""
    run = functools.partial(handle, op, request, cmd, who, key, fmt)
    return await (in_writer(run) if op.writes else run_in_threadpool(run))


def route(router: APIRouter, op: Operation) -> None:
    """Add ``op``'s route to ``router``, its OpenAPI words and example from the table."""

    async def endpoint(request: Request, cmd: c.Command, who: Principal,
                       key: str | None = None, fmt: Format = Format.DEFAULT) -> Any:
        return await run_operation(op, request, cmd, who, key, fmt)

    parameter = inspect.Parameter
    signature = [
        parameter("request", parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        parameter("cmd", parameter.POSITIONAL_OR_KEYWORD, annotation=op.body or op.command),
        parameter("who", parameter.POSITIONAL_OR_KEYWORD,
                  annotation=Annotated[Principal, Depends(allow(*op.roles))]),
    ]
    if op.writes:
        signature.append(parameter("key", parameter.POSITIONAL_OR_KEYWORD,
                                   annotation=IdempotencyKey, default=None))
    if op.nhsa:
        signature.append(parameter("fmt", parameter.POSITIONAL_OR_KEYWORD,
                                   annotation=FormatParam, default=Format.DEFAULT))
    endpoint.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    model: Any = s.ANSWERS[op.result].model
    if op.nhsa:
        model = model | s.NHSA_VISIT.model
    router.add_api_route(
        op.path, endpoint, methods=[op.verb], name=op.operation_name, response_model=model,
        tags=[op.tag], summary=op.summary, description=op.description,
        openapi_extra={"requestBody": {"content": {"application/json": {
            "example": op.example}}}})


def write_router(operations: Iterable[Operation] = OPERATIONS) -> APIRouter:
    """A router with the route of every operation."""
    router = APIRouter(responses=documented(401, 403, 404, 409, 422))
    for op in operations:
        route(router, op)
    return router


router = write_router()
