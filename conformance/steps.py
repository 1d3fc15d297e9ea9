"""The scenario steps of FORMAT.md as ledger commands, and their results as documents.

Both come from the operation table (:mod:`ledger.operations`): a step names an entry by
its ``op``, its data is the entry's command, and its result fields are read from the
answer the API gives (:data:`api.schemas.ANSWERS`), so that a run in process and a run
through the API print the same document by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from api.schemas import ANSWERS
from ledger import commands as c
from ledger.operations import OPERATIONS, Operation


@dataclass(frozen=True)
class Op:
    """One step kind: its command and how its result reads."""

    operation: Operation

    @property
    def command(self) -> type[c.Command]:
        return self.operation.command

    def result(self, command: c.Command, result: Any) -> dict[str, Any]:
        """The step's result fields (FORMAT.md) for ``command``'s ``result``."""
        answer = ANSWERS[type(result)].of(command, result).model_dump(mode="json")
        return {name: answer[name] for name in self.operation.fields}


def ops(operations: Iterable[Operation] = OPERATIONS) -> dict[str, Op]:
    """The step kinds of ``operations``, by step name."""
    return {op.op: Op(op) for op in operations if op.op is not None}


OPS = ops()
