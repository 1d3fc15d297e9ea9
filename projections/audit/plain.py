"""Audit answers as plain JSON: fen as two-decimal yuan, dates as ISO text.

One function for every interface that shows audit figures (the CLI's ``--json`` and the
API's audit and event routes), so an amount is never shown in fen in one and yuan in the
other. A field is money by its name: event data carry no types of their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from policies.money import format_fen

MONEY_FIELDS = frozenset({
    "amount", "base", "balance", "balance_after", "in_scope", "eligible_in_scope",
    "deductible_applied", "fund_paid", "over_cap", "cap", "cap_left", "forfeited",
    "credited", "paid",
})


def plain(value: Any, key: str = "") -> Any:
    """``value`` JSON-ready; ``key`` is the field it stands in (money is known by name)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, bool) or value is None:
        return value
    if key == "payouts" and isinstance(value, dict):  # heir → fen
        return {heir: format_fen(amount) for heir, amount in value.items()}
    if isinstance(value, dict):
        return {k: plain(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, key) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, int) and key in MONEY_FIELDS:
        return format_fen(value)
    if isinstance(value, (str, int, float)):
        return value
    return str(value)
