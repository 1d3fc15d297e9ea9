"""Pure deciders: one function per command, ``decide_x(aggregates…, book, cmd)``.

A decider is given everything the command needs — the aggregates it names, already
loaded (a reused id's transaction or None), and the :class:`~policies.book.PolicyBook`,
which is plain data — and returns ``(result, touched)``: the command's result and the
aggregates to save, in save order, their new events pending. Or it raises a
:class:`~policies.errors.LedgerError` (and the caller throws the aggregates away). It
loads nothing, writes nothing and does no I/O, so it runs the same in the API, the batch
jobs, the demo and conformance, and in a REPL on in-memory ``Account`` objects.

Every decider keeps FORMAT.md's order of checks: the person (the caller's prefetch
raises ``unknown_person`` in the order the aggregates are named), the policy (``policy_invalid``,
``no_policy_in_force``), a reused id (``duplicate_conflict``), the account's state, the
binding and purpose, then the balance. The account's own checks live on the aggregate
(:class:`~ledger.account.Account`), which raises them again when an event is triggered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: A decision: the command's result and the aggregates to save (None entries skipped).
Decision = tuple[T, Sequence[Any]]
