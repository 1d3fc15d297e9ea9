"""What commands return: small frozen records of integer fen.

A transaction stores its result (:func:`flat_record`) so that a retry returns the identical answer
without recomputing it against a ledger that has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def flat_record(result: Any) -> dict[str, Any]:
    """``asdict`` of a record whose fields are scalars or dicts of scalars, as ``asdict``
    gives it (same keys, same order, the dicts copied) without its recursive deep copy,
    which cost a settlement ~10× more."""
    return {f.name: dict(v) if isinstance(v := getattr(result, f.name), dict) else v
            for f in fields(result)}


@dataclass(frozen=True, slots=True)
class Credited:
    """A contribution, allotment or lump-sum credit."""

    credited: int
    article: str = ""


@dataclass(frozen=True, slots=True)
class Done:
    """A command with nothing to report but success (retire, bind, unbind, death)."""


@dataclass(frozen=True, slots=True)
class VisitResult:
    """A visit's full split (结算结果); ``account_paid`` = own part + family part."""

    medical_total: int
    out_of_scope: int
    in_scope: int
    eligible_in_scope: int
    deductible_applied: int
    fund_paid: int
    over_cap: int
    self_pay: int
    own_paid: int
    family_paid: int
    cash_paid: int
    pooling_reason: str | None
    region: str
    year: int
    level: int
    category: str
    rate: str
    cap: int
    cap_left_after: int
    own_balance_after: int | None
    family_payer: str | None = None
    articles: dict[str, str] = field(default_factory=dict)

    @property
    def account_paid(self) -> int:
        return self.own_paid + self.family_paid

    def record(self) -> dict[str, Any]:
        return flat_record(self)


@dataclass(frozen=True, slots=True)
class SpendResult:
    paid: int
    own_paid: int
    family_paid: int
    family_payer: str | None = None

    def record(self) -> dict[str, Any]:
        return flat_record(self)


@dataclass(frozen=True, slots=True)
class Reversed:
    restored: int

    def record(self) -> dict[str, Any]:
        return flat_record(self)


@dataclass(frozen=True, slots=True)
class Transferred:
    amount: int


@dataclass(frozen=True, slots=True)
class PaidOut:
    paid_out: int


@dataclass(frozen=True, slots=True)
class InheritancePaid:
    payouts: dict[str, int]


@dataclass(frozen=True, slots=True)
class YearClosed:
    closed: int
    accounts: int = 0
    interest: int = 0


@dataclass(frozen=True, slots=True)
class Reviewed:
    """A recorded review of an account-use alert (预警复核), as it was recorded."""

    review: str
    alert: str
    outcome: str
    note: str
    reviewer: str
    role: str
    date: str
