"""The HTTP driver: every step goes to a running gongji server, as an integrator would.

Step data is sent as it stands in the scenario, so the server's request validation (the
ledger's command models) judges it exactly as the in-process runner does; a refusal comes
back as problem+json and is raised again as the same :class:`LedgerError` code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from ledger.commands import EnrollPerson
from ledger.operations import BY_COMMAND, OPERATIONS, Operation
from policies.errors import ErrorCode, LedgerError

POOLING_FIELDS = ("in_scope", "deductible_applied", "fund_paid", "over_cap", "closed",
                  "forfeited")


def routes(operations: Iterable[Operation] = OPERATIONS
           ) -> dict[str, tuple[str, tuple[str, ...]]]:
    """op: (route, result fields of FORMAT.md taken from the response), from the table."""
    return {op.op: (op.path, op.fields) for op in operations if op.op is not None}


ROUTES = routes()
ENROLL = BY_COMMAND[EnrollPerson].path


class ServerMismatch(RuntimeError):
    """The server cannot run this scenario (other policy parameters, key, unreachable)."""


class HttpDriver:
    def __init__(self, api_url: str, api_key: str | None,
                 policy_parameters: dict[str, Any], timeout: float = 30.0) -> None:
        if not api_key:
            raise ServerMismatch("--api needs --api-key (or GONGJI_API_KEY) with the agency role")
        self.client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout,
                                   headers={"Authorization": f"Bearer {api_key}"})
        who = self._get("/v1/whoami")
        if who.get("role") != "agency":
            raise ServerMismatch(f"the API key has the {who.get('role')} role; "
                                 "a conformance run needs an agency key")
        served = self._get("/v1/policy-parameters")["parameters"]
        if served != policy_parameters:
            raise ServerMismatch(
                f"the server at {api_url} runs with policy parameters {json.dumps(served)} "
                f"but the scenario needs {json.dumps(policy_parameters)}; restart it with "
                f"GONGJI_POLICY_PARAMETERS='{json.dumps(policy_parameters)}' on an empty store"
            )

    def enroll(self, command: EnrollPerson) -> None:
        self._post(ENROLL, command.model_dump(mode="json"))

    def step(self, op: str, data: dict[str, Any], where: str) -> dict[str, Any]:
        route, fields = ROUTES[op]
        body = self._post(route, data, where)
        return {name: body[name] for name in fields}

    def person(self, name: str, as_of: dt.date) -> dict[str, Any]:
        path = f"/v1/people/{quote(name, safe='')}"
        strong = {"consistency": "strong"}  # every step's write included, not the views'
        account = self._get(path, {"as_of": as_of.isoformat(), **strong})
        pooling = self._get(f"{path}/pooling", strong)
        return {
            "region": account["region"],
            "category": account["category"],
            "status": account["status"],
            "balance": account["balance"],
            "pooling": {
                f"{y['region']}/{y['year']}": {k: y[k] for k in POOLING_FIELDS}
                for y in pooling["years"]
            },
        }

    # -- transport ----------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._answer(lambda: self.client.get(path, params=params), path)

    def _post(self, path: str, body: Any, where: str = "") -> dict[str, Any]:
        return self._answer(lambda: self.client.post(path, json=body), path, where)

    def _answer(self, send: Any, path: str, where: str = "") -> dict[str, Any]:
        try:
            response = send()
        except httpx.HTTPError as error:
            raise ServerMismatch(f"cannot reach the server for {path}: {error}") from None
        if response.is_success:
            return response.json()
        try:
            problem = response.json()
            code = ErrorCode(problem["code"])
        except (ValueError, KeyError, TypeError):
            raise ServerMismatch(
                f"{path}: HTTP {response.status_code}: {response.text[:300]}") from None
        prefix = f"{where}: " if where else ""
        raise LedgerError(code, prefix + str(problem.get("detail", "")),
                          field=problem.get("field"))
