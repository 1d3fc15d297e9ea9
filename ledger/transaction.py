"""Transactions with a client id: settlements, spends and lump sums, and their reversal.

A transaction aggregate remembers the request it was created from (to tell a retry from a
conflicting reuse of the id), the result it returned (a retry gets the same answer) and
every account it debited (a reversal puts each part back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.ids import transaction_id
from policies.errors import ErrorCode, LedgerError


class Transaction(Aggregate):
    """Base of the transaction kinds; their ids share one namespace."""

    kind = "transaction"
    reversible = False

    @staticmethod
    def create_id(client_id: str, **_: Any) -> UUID:
        return transaction_id(client_id)

    def _created(
        self, client_id: str, person: str, request: dict[str, Any], result: dict[str, Any],
        debits: list[dict[str, Any]],
    ) -> None:
        self.client_id = client_id
        self.person = person
        self.request = request
        self.result = result
        self.debits = debits
        self.reversal: dict[str, Any] | None = None

    def require_not_reversed(self) -> None:
        """A transaction is reversed once, whole (``already_reversed``)."""
        if self.reversal is not None:
            raise LedgerError(
                ErrorCode.ALREADY_REVERSED,
                f"transaction {self.client_id!r} was already reversed on "
                f"{self.reversal['request']['date']}",
            )

    def reverse(self, date: dt.date, reason: str, request: dict[str, Any],
                result: dict[str, Any]) -> None:
        """冲正: recorded once; the money and accumulations move in the accounts' events."""
        if not self.reversible:
            raise ValueError(f"a {self.kind} is not reversible")
        self.require_not_reversed()
        self._reverse(date, reason, request, result)

    @event("Reversed")
    def _reverse(self, date: dt.date, reason: str, request: dict[str, Any],
                 result: dict[str, Any]) -> None:
        self.reversal = {"request": request, "result": result}


class Settlement(Transaction):
    """一次门诊结算: the visit's full split and who paid the self-pay part."""

    kind = "visit"
    reversible = True

    @event("Settled")
    def __init__(
        self, client_id: str, person: str, request: dict[str, Any], result: dict[str, Any],
        debits: list[dict[str, Any]], region: str, year: int, split: dict[str, Any],
        institution: str | None = None, listing: dict[str, Any] | None = None,
    ) -> None:
        self._created(client_id, person, request, result, debits)
        self.institution = institution  # 定点医药机构 that settled it; None: the agency
        # the directory entry that gave the level (ledger.directory), for institution keys
        self.listing = listing
        self.region = region
        self.year = year
        self.split = split


class Spending(Transaction):
    """个人账户支付 for a purpose, for the owner or a bound family member."""

    kind = "spend"
    reversible = True

    @event("Recorded")
    def __init__(
        self, client_id: str, person: str, request: dict[str, Any], result: dict[str, Any],
        debits: list[dict[str, Any]], purpose: str, beneficiary: str,
        institution: str | None = None,
    ) -> None:
        self._created(client_id, person, request, result, debits)
        self.institution = institution
        self.purpose = purpose
        self.beneficiary = beneficiary


class LumpSum(Transaction):
    """一次性预缴/补缴 credit; not reversible through ``reverse``."""

    kind = "lump_sum"

    @event("Credited")
    def __init__(
        self, client_id: str, person: str, request: dict[str, Any], result: dict[str, Any],
    ) -> None:
        self._created(client_id, person, request, result, [])
