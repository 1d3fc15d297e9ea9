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
    """One step kind: its command, the ledger method and how its result reads."""

    command: type[c.Command]
    method: str
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
    "contribution": Op(c.RecordContribution, "credit_contribution", _credited),
    "lump_sum": Op(c.CreditLumpSum, "credit_lump_sum", _credited),
    "allotment": Op(c.CreditAllotment, "credit_allotment", _credited),
    "retire": Op(c.RecordRetirement, "retire", _nothing),
    "visit": Op(c.SettleVisit, "settle_visit", _visit),
    "bind": Op(c.BindFamilyMember, "bind_family_member", _nothing),
    "unbind": Op(c.UnbindFamilyMember, "unbind_family_member", _nothing),
    "spend": Op(c.Spend, "spend", lambda res: {"paid": format_fen(res.paid)}),
    "reverse": Op(c.Reverse, "reverse", lambda res: {"restored": format_fen(res.restored)}),
    "transfer": Op(c.Transfer, "transfer", lambda res: {"amount": format_fen(res.amount)}),
    "emigrate": Op(c.Emigrate, "emigrate", lambda res: {"paid_out": format_fen(res.paid_out)}),
    "death": Op(c.RecordDeath, "record_death", _nothing),
    "inheritance": Op(
        c.PayInheritance, "pay_inheritance",
        lambda res: {"payouts": {name: format_fen(v) for name, v in res.payouts.items()}},
    ),
    "close_year": Op(c.CloseYear, "close_year", lambda res: {"closed": res.closed}),
}
