"""Re-pricing a recorded year under a policy: pure, in recording order, from zero.

Each visit is priced by :func:`policies.pricing.price_visit` — the ledger's own rule, never
a copy — against the accumulations the re-priced year has built so far. A reversal takes
its visit's re-priced figures back out at the point of the log where it was recorded, as
the ledger did; so re-pricing under the policy in force reproduces every recorded figure,
and a draft sees the same history with other figures.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policies.model import RegionPolicy
from policies.pricing import YearUsage, price_visit
from projections.whatif.source import REVERSE, RecordedVisit

COLUMNS = ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap", "self_pay",
           "cap", "capped")


@dataclass(slots=True)
class Priced:
    """One scenario's figures, one entry per visit in visit order (fen; ``capped`` is 1
    when the visit left its person-year no cap)."""

    eligible_in_scope: array
    deductible_applied: array
    fund_paid: array
    over_cap: array
    self_pay: array
    cap: array
    capped: array


def reprice(visits: Sequence[RecordedVisit], steps: Sequence[int],
            policy_of: Callable[[RecordedVisit], RegionPolicy]) -> Priced:
    """Every visit priced under ``policy_of(visit)``; ``steps`` are (kind, visit index) pairs
    flattened, in recording order (see :class:`~projections.whatif.source.RecordedYear`)."""
    priced = Priced(*(array("q", [0]) * len(visits) for _ in COLUMNS))
    eligible, deductible, fund = priced.eligible_in_scope, priced.deductible_applied, \
        priced.fund_paid
    over, self_pay, caps, capped = priced.over_cap, priced.self_pay, priced.cap, priced.capped
    usage: dict[str, list[int]] = {}
    for position in range(0, len(steps), 2):
        kind, i = steps[position], steps[position + 1]
        visit = visits[i]
        so_far = usage.get(visit.person)
        if so_far is None:
            so_far = usage[visit.person] = [0, 0]
        if kind == REVERSE:
            so_far[0] -= eligible[i]
            so_far[1] -= fund[i]
            continue
        price = price_visit(policy_of(visit), visit.visit, visit.category,  # type: ignore[arg-type]
                            visit.scheme, YearUsage(so_far[0], so_far[1]))
        so_far[0] += price.eligible_in_scope
        so_far[1] += price.fund_paid
        eligible[i] = price.eligible_in_scope
        deductible[i] = price.deductible_applied
        fund[i] = price.fund_paid
        over[i] = price.over_cap
        self_pay[i] = price.self_pay
        caps[i] = price.cap
        capped[i] = price.cap_left == price.fund_paid
    return priced
