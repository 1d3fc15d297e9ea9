"""Deterministic aggregate ids: the client's own ids become the event store's keys.

Deriving the id from the person or the transaction id makes "does it exist?" a primary-key
lookup and makes a retry collide with its original in the store itself (a version clash),
which is what keeps retries and concurrent duplicates harmless.
"""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("5d0c64f4-2f43-4d1c-9a52-6b3b1f0e6a11")


def account_id(person: str) -> UUID:
    return uuid5(NAMESPACE, f"account/{person}")


def transaction_id(client_id: str) -> UUID:
    """Visits, spends and lump sums share one id namespace (FORMAT.md)."""
    return uuid5(NAMESPACE, f"transaction/{client_id}")
