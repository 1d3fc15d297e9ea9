"""The fund monitoring views' handlers (基金运行监测): events in, statement and institution rows out.

:class:`FlowHandlers` is part of :class:`~projections.projection.LedgerProjection`: its
handlers run after the projection's own for the same event, in the same batch, so the
worker and ``gongji projections rebuild`` keep these views with the others, exactly once.

- ``statement`` (:data:`~projections.tables.STATEMENT`): per region, value-date month and
  *line*, a sum of fen and a count. The lines are :data:`LINES`; a personal-account
  movement is attributed to the region the account is in when it moves (a transfer leaves
  the old region and enters the new one), on the value date the balance views use.
- ``institutions`` (:data:`~projections.tables.INSTITUTIONS`): per region, month, level and
  institution, the visits and their amounts, net of reversals (nanchang art. 42).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.movement import MOVING, Kind
from ledger.transaction import Settlement
from projections.tables import INSTITUTIONS, REGIONS, STATEMENT

Batch = Any  # projections.projection.ViewBatch (imported there; no import cycle here)
#: a moving event's statement line: (batch, person, decoded event, its value date ISO)
FlowMover = Callable[[Batch, str, dict[str, Any], str], None]

#: Statement lines: code → (section, English, 中文). Family and own-spend lines carry the
#: purpose after a dot (``out.family.pharmacy``), pooling lines the level and category
#: (``fund.1.retired``).
INFLOWS = {
    "in.contribution": "contributions credited (在职个人账户计入)",
    "in.allotment": "retirees' allotments (退休人员划入)",
    "in.lump_sum": "lump-sum credits (一次性预缴/补缴)",
    "in.transfer_in": "transfers in (转入)",
    "in.interest": "interest (利息)",
    "in.restored": "reversals put back (冲正退回)",
}
OUTFLOWS = {
    "out.settlement": "own outpatient settlements (本人门诊结算)",
    "out.pharmacy": "own pharmacy spends (本人定点药店购药)",
    "out.spend": "own spends, other purposes (本人其他支付)",
    "out.family": "family payments (家庭共济支付)",
    "out.transfer_out": "transfers out (转出)",
    "out.emigration": "emigration payouts (出国出境定居支付)",
    "out.inheritance": "inheritance payouts (继承支付)",
}
FUND, OVER_CAP, CAPPED, CASH = "fund", "pool.over_cap", "pool.capped", "pool.cash"


#: the statement line of each event kind that moves a balance (None: by the payment)
LINE_OF = {
    "ContributionCredited": "in.contribution", "AllotmentCredited": "in.allotment",
    "LumpSumCredited": "in.lump_sum", "InterestCredited": "in.interest",
    "DebitRestored": "in.restored", "TransferredIn": "in.transfer_in", "Debited": None,
    "TransferredOut": "out.transfer_out", "EmigrationPaidOut": "out.emigration",
    "InheritancePaidOut": "out.inheritance",
}


def _debit_line(person: str, d: dict[str, Any]) -> str:
    """An account payment: own visit, own pharmacy or other spend, or family (共济)."""
    if d["beneficiary"] != person:
        return f"out.family.{d['purpose']}"
    if d["kind"] == "visit":
        return "out.settlement"
    return "out.pharmacy" if d["purpose"] == "pharmacy" else f"out.spend.{d['purpose']}"


class FlowHandlers:
    """Statement and institution rows; ``regions`` maps a person to the account's region
    now (kept by the projection: enrolment, transfers, and a look-up after a restart)."""

    def __init__(self, regions: dict[str, str]) -> None:
        self.regions = regions

    def movers(self) -> dict[str, FlowMover]:
        """The statement line of every event kind that moves a balance, by kind name
        (:data:`ledger.movement.MOVING`: its sign and value date are defined there, once;
        the projection's handler of the kind calls it with the value date)."""
        return {name: self._mover(name, kind) for name, kind in MOVING.items()}

    def entered(self, batch: Batch, person: str, since: str, region: str) -> None:
        """The account is in ``region`` from ``since`` (ISO; "" at enrolment): kept for the
        movements that follow and, in the ``regions`` view, for the tie-out as of a day."""
        self.regions[person] = region
        batch.set(REGIONS.name, (person, since), region=region)

    # -- the statement's lines -----------------------------------------------------------

    @staticmethod
    def line(batch: Batch, region: str, year: int, month: int, line: str, amount: int,
             count: int = 1) -> None:
        rows, key = batch.rows[STATEMENT.name], (region, year, month, line)
        change = rows.get(key)
        if change is None:  # the hot path of a rebuild: one dict look-up per movement
            rows[key] = [{"amount": amount, "count": count}, {}]
        else:
            added = change[0]
            added["amount"] += amount
            added["count"] += count

    def _mover(self, name: str, kind: Kind) -> FlowMover:
        # a new moving kind needs its line in LINE_OF
        line, regions, region, add = LINE_OF[name], self.regions, kind.region, self.line

        def move(batch: Batch, person: str, d: dict[str, Any], day: str) -> None:
            if region is not None:  # a transfer in: the account's region from its day
                self.entered(batch, person, day, d[region])
            year, month = year_month(day)
            add(batch, regions[person], year, month, line or _debit_line(person, d),
                d["amount"])

        return move

    # -- visits: the pooling fund and the institutions -------------------------------------

    def settled(self, batch: Batch, d: dict[str, Any], sign: int = 1) -> None:
        """A settled visit (``sign`` 1) or its reversal (−1), from :func:`visit_figures`."""
        r, add = d, self.line
        region, (year, month) = r["region"], year_month(r["date"])
        add(batch, region, year, month, f"{FUND}.{r['level']}.{r['category']}",
            sign * r["fund_paid"], sign)
        if r["over_cap"]:
            add(batch, region, year, month, OVER_CAP, sign * r["over_cap"], sign)
        if r["capped"]:
            add(batch, region, year, month, CAPPED, 0, sign)
        add(batch, region, year, month, CASH, sign * r["cash_paid"], sign)
        in_scope, out_of_scope = r["in_scope"], r["out_of_scope"]
        key = (region, year, month, r["level"], r["institution"] or "")
        batch.add(INSTITUTIONS.name, key, visits=sign, in_scope=sign * in_scope,
                  total=sign * (in_scope + out_of_scope), out_of_scope=sign * out_of_scope,
                  fund_paid=sign * r["fund_paid"],
                  account_paid=sign * (r["own_paid"] + r["family_paid"]),
                  cash_paid=sign * r["cash_paid"])
        if sign < 0:
            batch.add_one(INSTITUTIONS.name, key, "reversed", 1)


_MONTHS: dict[str, tuple[int, int]] = {}


def year_month(day: str) -> tuple[int, int]:
    """The year and month of an ISO day, as integers (remembered: few days recur often)."""
    found = _MONTHS.get(day)
    if found is None:
        found = (int(day[:4]), int(day[5:7]))
        if len(_MONTHS) < 100_000:  # bounded, whatever a log holds
            _MONTHS[day] = found
    return found


def visit_figures(d: dict[str, Any]) -> dict[str, Any]:
    """What the monitoring views keep of a ``Settled`` event (also stored on the
    transaction row, so that a reversal takes the same figures back out)."""
    r, split = d["result"], d["split"]
    return {
        "region": r["region"], "date": d["request"]["date"], "level": r["level"],
        "category": r["category"], "institution": d.get("institution") or "",
        "in_scope": r["in_scope"], "out_of_scope": r["out_of_scope"],
        "fund_paid": r["fund_paid"], "own_paid": r["own_paid"],
        "family_paid": r["family_paid"], "cash_paid": r["cash_paid"],
        "over_cap": r["over_cap"],
        # the visit that used the last of the year's cap (达到年度最高支付限额)
        "capped": int(split["cap_left_before"] > 0 and r["cap_left_after"] == 0),
    }


SETTLED = get_topic(Settlement.Settled)
