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
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from api import reads
from api import schemas as s
from api.auth import READERS, may_act_for, principal_of
from api.reads import answered
from ledger.commands import ID_PATTERN

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
