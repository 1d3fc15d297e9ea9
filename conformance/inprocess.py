"""The in-process driver: steps go straight to a :class:`~ledger.Ledger`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conformance.steps import OPS
from ledger import Ledger
from ledger.commands import EnrollPerson, parse
from policies.money import format_fen


class InProcessDriver:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def enroll(self, command: EnrollPerson) -> None:
        self.ledger.enroll(command)

    def step(self, op: str, data: dict[str, Any], where: str) -> dict[str, Any]:
        spec = OPS[op]
        command = parse(spec.command, data, where)
        return spec.result(command, self.ledger.execute(command))

    def person(self, name: str, as_of: dt.date) -> dict[str, Any]:
        view = self.ledger.account_view(name, as_of)
        return person_document(view)


def person_document(view: Any) -> dict[str, Any]:
    """FORMAT.md's ``people`` entry from an :class:`~ledger.queries.AccountView`."""
    return {
        "region": view.region,
        "category": view.category,
        "status": view.status,
        "balance": format_fen(view.balance),
        "pooling": {
            key: {
                "in_scope": format_fen(p.in_scope),
                "deductible_applied": format_fen(p.deductible_applied),
                "fund_paid": format_fen(p.fund_paid),
                "over_cap": format_fen(p.over_cap),
                "closed": p.closed,
                "forfeited": format_fen(p.forfeited),
            }
            for key, p in view.pooling.items()
        },
    }
