"""API keys and roles: who may call what, and on whose behalf.

A key is sent as ``Authorization: Bearer KEY`` (or ``X-API-Key: KEY``) and names one of
the roles of ``GONGJI_API_KEYS``. Routes declare the roles they admit with :func:`allow`;
the checks that depend on the request's content (an institution acts only under its own
institution id, a member only for itself) are the small functions below, called by the
routes where that content is known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from api.keys import ApiKey, Role

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="API key as a bearer token (API 密钥)")
header_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                          description="API key in a header (API 密钥), if Bearer is not possible")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its role and scope, and a non-secret id that scopes idempotency keys."""

    role: Role
    institution: str | None
    person: str | None
    id: str

    @classmethod
    def of(cls, key: str, grant: ApiKey) -> Principal:
        return cls(grant.role, grant.institution, grant.person,
                   hashlib.sha256(key.encode()).hexdigest()[:20])


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    api_key: Annotated[str | None, Security(header_key)],
) -> Principal:
    """The caller's principal, or 401 (async: a dict lookup, no need for a thread hop)."""
    key = credentials.credentials if credentials is not None else api_key
    if not key:
        raise HTTPException(401, "no API key: send Authorization: Bearer KEY",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = principal_of(request.app.state.services.keys, key)
    if principal is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


def principal_of(keys: dict[str, ApiKey], key: str) -> Principal | None:
    """The principal of ``key``, or None for a key the deployment does not know."""
    grant = keys.get(key)
    return None if grant is None else Principal.of(key, grant)


def allow(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting only ``roles`` (403 for the others)."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                403, f"the {principal.role} role may not do this; roles allowed: "
                     f"{', '.join(roles)}")
        return principal

    return check


READERS = ("agency", "institution", "member", "auditor")


def require_person(principal: Principal, *persons: str) -> None:
    """A member acts and reads only for itself (one of ``persons``)."""
    if not may_act_for(principal, *persons):
        raise HTTPException(403, "a member key reads and manages only its own account")


def may_act_for(principal: Principal, *persons: str) -> bool:
    """Whether the caller may act or read for one of ``persons`` (a member: only itself)."""
    return principal.role != "member" or principal.person in persons


def require_institution(principal: Principal, institution: str | None) -> None:
    """An institution acts only under its own id, and reads only what it settled."""
    if principal.role == "institution" and institution != principal.institution:
        raise HTTPException(
            403, f"this key acts for institution {principal.institution!r} only"
                 f" (the request names {institution!r})")


#: The roles that may see every transaction's result (the others only their own).
READS_EVERY_TRANSACTION = ("agency", "auditor")


def may_read(principal: Principal, txn: object) -> bool:
    """May this caller see a transaction's result: agency and auditor always, an
    institution what it settled, a member what it took part in (patient or payer)."""
    if principal.role in READS_EVERY_TRANSACTION:
        return True
    if principal.role == "institution":
        return getattr(txn, "institution", None) == principal.institution
    if principal.role == "member":
        people = {getattr(txn, "person", None), *(d["person"] for d in getattr(txn, "debits", []))}
        return principal.person in people
    return False


def forbid_institution(principal: Principal, what: str) -> None:
    """Institutions see balances and pooling at the counter, not a person's history."""
    if principal.role == "institution":
        raise HTTPException(403, f"an institution key may not read {what}")
