"""The scenario steps of FORMAT.md as ledger commands, and their results as documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger import commands as c
from ledger import results as r
from policies.money import format_fen


@dataclass(frozen=True)
class Op:
    """One step kind: its command and how its result reads."""

    command: type[c.Command]
    result: Callable[[Any], dict[str, Any]]


def _credited(result: r.Credited) -> dict[str, Any]:
    return {"credited": format_fen(result.credited)}


def _nothing(_: object) -> dict[str, Any]:
    return {}


def _visit(result: r.VisitResult) -> dict[str, Any]:
    return {
        "deductible_applied": format_fen(result.deductible_applied),
        "fund_paid": format_fen(result.fund_paid),
        "over_cap": format_fen(result.over_cap),
        "self_pay": format_fen(result.self_pay),
        "account_paid": format_fen(result.account_paid),
        "cash_paid": format_fen(result.cash_paid),
        "pooling_reason": result.pooling_reason,
    }


OPS: dict[str, Op] = {
    "contribution": Op(c.RecordContribution, _credited),
    "lump_sum": Op(c.CreditLumpSum, _credited),
    "allotment": Op(c.CreditAllotment, _credited),
    "retire": Op(c.RecordRetirement, _nothing),
    "visit": Op(c.SettleVisit, _visit),
    "bind": Op(c.BindFamilyMember, _nothing),
    "unbind": Op(c.UnbindFamilyMember, _nothing),
    "spend": Op(c.Spend, lambda res: {"paid": format_fen(res.paid)}),
    "reverse": Op(c.Reverse, lambda res: {"restored": format_fen(res.restored)}),
    "transfer": Op(c.Transfer, lambda res: {"amount": format_fen(res.amount)}),
    "emigrate": Op(c.Emigrate, lambda res: {"paid_out": format_fen(res.paid_out)}),
    "death": Op(c.RecordDeath, _nothing),
    "inheritance": Op(
        c.PayInheritance,
        lambda res: {"payouts": {name: format_fen(v) for name, v in res.payouts.items()}},
    ),
    "close_year": Op(c.CloseYear, lambda res: {"closed": res.closed}),
}
