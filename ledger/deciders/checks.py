"""Checks shared by several deciders (pure; the account's own checks live on Account)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.account import Account
from policies import family
from policies.errors import ErrorCode, LedgerError
from policies.model import Purpose, Relation, RegionPolicy


def unknown_person(person: str) -> LedgerError:
    """The error for a person who is not enrolled (``unknown_person``)."""
    return LedgerError(
        ErrorCode.UNKNOWN_PERSON, f"no person {person!r} is enrolled", field="person"
    )


def same_request(existing: dict[str, Any], request: dict[str, Any], what: str) -> None:
    """A reused id with other content is ``duplicate_conflict``."""
    if existing != request:
        raise LedgerError(
            ErrorCode.DUPLICATE_CONFLICT,
            f"{what} was already recorded with other content; use a new id "
            f"(recorded: {existing})",
        )


def check_family(
    payer: Account, policy: RegionPolicy, member: str, purpose: Purpose, day: dt.date
) -> str:
    """Checks in FORMAT.md order for ``payer`` paying for ``member``: the payer's account,
    the binding on ``day``, the relation, the purpose (of the payer's region). The article."""
    payer.require_open("spend")
    payer.require_personal_account()
    relation = payer.binding_on(member, day)
    if relation is None:
        raise LedgerError(
            ErrorCode.NOT_BOUND, f"{member} is not bound to {payer.person}'s account on {day}"
        )
    family.check_relation(policy, Relation(relation))
    return family.check_purpose(policy, purpose, True, day)
