"""What a command needs loaded before it decides (:class:`Needs`), and what was (:class:`Fetched`).

The write loop (:meth:`ledger.core.LedgerCore.decide_and_save`) loads everything a
command names *before* its decider runs, so the decider does no I/O. A command whose
needs depend on what was loaded (a reversal needs the accounts its transaction debited;
a year end needs an account's history only if it credits interest) gives its needs as a
function of the :class:`Fetched` so far: the loop loads until nothing new is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.account import Account
from ledger.deciders.checks import unknown_person
from ledger.ids import account_id, transaction_id
from ledger.transaction import Transaction


@dataclass(frozen=True)
class Needs:
    """Aggregates to load (accounts by person, transactions by client id, any by id) and
    aggregates whose event history to read."""

    accounts: Iterable[str | None] = ()
    transactions: Iterable[str] = ()
    ids: Iterable[UUID] = ()
    histories: Iterable[UUID] = ()

    def aggregate_ids(self) -> set[UUID]:
        return {*(account_id(p) for p in self.accounts if p is not None),
                *self.transaction_ids(), *self.ids}

    def transaction_ids(self) -> set[UUID]:
        """The transactions' ids (read from their events alone: never snapshotted)."""
        return {transaction_id(t) for t in self.transactions}


class Fetched:
    """The aggregates loaded for one attempt of a command (fresh copies: deciding on them
    mutates nothing stored), and the event histories asked for."""

    def __init__(self, aggregates: Mapping[UUID, Any] | None = None,
                 histories: Mapping[UUID, list[Any]] | None = None) -> None:
        self.aggregates = dict(aggregates or {})
        self.histories = dict(histories or {})

    def account(self, person: str | None) -> Account | None:
        """``person``'s account (``unknown_person`` if not enrolled); None for no person."""
        if person is None:
            return None
        account = self.maybe_account(person)
        if account is None:
            raise unknown_person(person)
        return account

    def maybe_account(self, person: str) -> Account | None:
        account = self.aggregates.get(account_id(person))
        return account if isinstance(account, Account) else None

    def accounts(self) -> dict[str, Account]:
        """Every account loaded, by person."""
        return {a.person: a for a in self.aggregates.values() if isinstance(a, Account)}

    def transaction(self, client_id: str) -> Transaction | None:
        txn = self.aggregates.get(transaction_id(client_id))
        return txn if isinstance(txn, Transaction) else None

    def aggregate(self, aggregate_id: UUID) -> Any:
        return self.aggregates.get(aggregate_id)

    def history(self, aggregate_id: UUID) -> list[Any] | None:
        return self.histories.get(aggregate_id)
