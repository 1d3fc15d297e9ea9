"""The hot lane of the balance and pooling reads (余额、统筹累计查询): their plain case
answered before the framework's routing and dependency solving.

At 2,000 reads a second on one worker, FastAPI's route matching and the solving of the
auth dependencies cost more than the read itself (one SQL statement or one Redis round
trip). This ASGI middleware answers only the plain case of ``GET /v1/people/{person}``
and ``GET /v1/people/{person}/pooling``:

- no query string (the defaults: ``consistency=eventual``, today);
- a well-formed id (the route's own pattern) and a key the deployment knows, sent as
  ``Authorization: Bearer KEY`` or ``X-API-Key``, whose role may read that person
  (:func:`api.auth.may_act_for`; every role reads balances);
- a person the views know.

Everything else — a query, a bad id, no key or an unknown one, a member asking for
someone else, a person the views do not know yet, a store that fails — goes on to the
routes in :mod:`api.reads` untouched, which answer (or refuse) exactly as they always do.
The lane's answer is the route's own: the same functions build the same bytes and
headers, and ``scope["route"]`` is set so that the metrics and the log name the route.

:class:`HotWrites` is the same for the operations of the table (:mod:`ledger.operations`):
the plain case of a ``POST`` to a writing operation's path — no query string, a JSON body, a
known key whose role the operation admits, a well-formed Idempotency-Key if any, a body
that is the operation's command — goes straight to :func:`api.writes.run_operation`, the
function the route itself calls, past FastAPI's route matching and dependency solving
(a third of a settlement's CPU). Anything else goes on to the route with its body
untouched, which answers (or refuses) exactly as it always does; an error of the command
is answered by the app's own exception handlers.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from api import reads, writes
from api import schemas as s
from api.auth import READERS, may_act_for, principal_of
from api.reads import answered
from ledger.commands import ID_PATTERN
from ledger.operations import OPERATIONS, Operation

PREFIX = "/v1/people/"
POOLING = "/pooling"
_ID = re.compile(ID_PATTERN)


class HotReads:
    """Answers the plain balance and pooling reads; passes every other request on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes: dict[bool, Any] | None = None  # pooling? -> the APIRoute (for labels)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" \
                and not scope["query_string"] and scope["path"].startswith(PREFIX):
            response = self._answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: dict[str, Any]) -> Any:
        rest = scope["path"][len(PREFIX):]
        pooling = rest.endswith(POOLING)
        person = rest[:-len(POOLING)] if pooling else rest
        if not _ID.fullmatch(person):
            return None
        services = scope["app"].state.services
        key = _key(scope["headers"])
        principal = principal_of(services.keys, key) if key else None
        if principal is None or principal.role not in READERS \
                or not may_act_for(principal, person):
            return None
        today = dt.date.today()
        try:
            found = services.readers.viewed(person, today)
        except Exception:  # noqa: BLE001 - the route reads again and answers the error
            return None
        if found is None:
            return None
        scope["route"] = self._route(scope, pooling)
        return answered(s.Pooling.fields(found, None) if pooling
                        else s.Account.fields(found, today))

    def _route(self, scope: dict[str, Any], pooling: bool) -> Any:
        if self.routes is None:
            paths = {getattr(route, "path", None): route for route in reads.router.routes}
            self.routes = {False: paths[PREFIX + "{person}"],
                           True: paths[PREFIX + "{person}" + POOLING]}
        return self.routes[pooling]


def _key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key as :func:`api.auth.authenticate` reads it in the plain case: a Bearer
    token, else ``X-API-Key``. Anything unusual (another scheme, spaces, a repeated
    header) is None, and the route decides."""
    bearer = api_key = None
    for name, value in headers:
        if name == b"authorization":
            if bearer is not None:
                return None
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"bearer" or not token or b" " in token:
                return None
            bearer = token
        elif name == b"x-api-key":
            if api_key is not None:
                return None
            api_key = value
    chosen = bearer if bearer is not None else api_key
    try:
        return chosen.decode("ascii") if chosen else None
    except UnicodeDecodeError:
        return None


class HotWrites:
    """Answers the plain ``POST`` of each operation of the table; passes every other
    request on (with its body)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.operations: dict[str, Operation] = {
            op.path: op for op in OPERATIONS
            if op.writes and op.verb == "POST" and "{" not in op.path}
        self.routes: dict[str, Any] | None = None  # path -> the APIRoute (for labels)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        op = self.operations.get(scope["path"]) if scope["type"] == "http" \
            and scope["method"] == "POST" and not scope["query_string"] else None
        if op is None:
            await self.app(scope, receive, send)
            return
        messages, more = [], True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client went away: as the route would
                await self.app(scope, _replay(messages, receive), send)
                return
            more = message.get("more_body", False)
        data = b"".join(m.get("body", b"") for m in messages)
        admitted = self._admitted(scope, op, data)
        if admitted is None:
            await self.app(scope, _replay([{"type": "http.request", "body": data,
                                            "more_body": False}], receive), send)
            return
        command, who, key = admitted
        scope["route"] = self._route(op)
        request = Request(scope, _replay([{"type": "http.request", "body": data,
                                           "more_body": False}], receive))
        try:
            response = await writes.run_operation(op, request, command, who, key)
        except Exception as error:  # noqa: BLE001 — answered by the app's own handler
            handler = _handler(scope["app"], error)
            if handler is None:
                raise
            response = handler(request, error)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    @staticmethod
    def _admitted(scope: dict[str, Any], op: Operation, data: bytes) -> Any:
        """(command, principal, Idempotency-Key) of the plain case, or None."""
        content_type = idempotency = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                if content_type is not None:
                    return None
                content_type = value
            elif name == b"idempotency-key":
                if idempotency is not None:
                    return None
                idempotency = value
        if content_type != b"application/json":
            return None
        key = _key(scope["headers"])
        principal = principal_of(scope["app"].state.services.keys, key) if key else None
        if principal is None or principal.role not in op.roles:
            return None
        if idempotency is not None:
            try:
                idempotency = idempotency.decode("ascii")
            except UnicodeDecodeError:
                return None
            if not writes.IDEMPOTENCY_KEY.fullmatch(idempotency):
                return None
        try:
            command = (op.body or op.command).model_validate(json.loads(data))
        except (ValueError, ValidationError, RecursionError):  # the route says what is wrong
            return None
        return command, principal, idempotency

    def _route(self, op: Operation) -> Any:
        if self.routes is None:
            self.routes = {getattr(route, "path", None): route
                           for route in writes.router.routes}
        return self.routes[op.path]


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    """A ``receive`` that gives ``messages`` first, then what ``receive`` gives."""
    waiting = list(messages)

    async def replayed() -> dict[str, Any]:
        return waiting.pop(0) if waiting else await receive()

    return replayed


def _handler(app: Any, error: Exception) -> Any:
    """The app's handler of ``error`` as Starlette's ExceptionMiddleware finds it (the
    nearest class with one, ``Exception`` itself excepted: that one is the outermost
    middleware's), or None."""
    handlers = app.exception_handlers
    for kind in type(error).__mro__:
        if kind is Exception:
            return None
        if kind in handlers:
            return handlers[kind]
    return None
