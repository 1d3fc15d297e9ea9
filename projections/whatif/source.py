"""Reading one region's year from the events for a what-if (政策测算的数据来源).

Why the events and not a projection: no read model keeps single visits (the views hold
yearly totals per person), the self-check must compare with the figures the ledger
recorded (the events are that record), and one pass over the log needs no worker to be
caught up. The read is narrow: only the topics below are selected from the log, in
recording order, decoded with the store's own decoder (cipher and compression included).

A visit's category is the one recorded with its settlement (the category on its date);
its scheme is the person's scheme at that point of the log (enrolment or transfer in).
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.transaction import Settlement, Transaction
from policies.money import parse_fen
from policies.pricing import Visit
from projections.projection import state_decoder

BATCH = 10_000
SETTLE, REVERSE = 0, 1

_ENROLLED = get_topic(Account.Enrolled)
_RETIRED = get_topic(Account.Retired)
_TRANSFERRED_IN = get_topic(Account.TransferredIn)
_CONTRIBUTION = get_topic(Account.ContributionCredited)
_ALLOTMENT = get_topic(Account.AllotmentCredited)
_SETTLED = get_topic(Settlement.Settled)
_REVERSED = get_topic(Transaction.Reversed)
TOPICS = [_ENROLLED, _RETIRED, _TRANSFERRED_IN, _CONTRIBUTION, _ALLOTMENT, _SETTLED, _REVERSED]


@dataclass(frozen=True, slots=True)
class RecordedVisit:
    """A settled visit of the year as the ledger recorded it (amounts in fen)."""

    id: str
    person: str
    date: dt.date
    category: str
    scheme: str
    visit: Visit
    eligible_in_scope: int
    deductible_applied: int
    fund_paid: int
    over_cap: int
    self_pay: int


@dataclass(frozen=True, slots=True)
class RecordedCredit:
    """A month's credit of the year as recorded, with the person's facts at that point."""

    person: str
    month: str
    kind: str  # "contribution" | "allotment"
    base: int | None
    amount: int
    facts: dict[str, Any]


@dataclass(slots=True)
class RecordedYear:
    """Everything a what-if of ``region`` and ``year`` needs, in recording order."""

    region: str
    year: int
    visits: list[RecordedVisit] = field(default_factory=list)
    # (SETTLE or REVERSE, visit index), in recording order
    steps: array = field(default_factory=lambda: array("q"))
    reversed: set[int] = field(default_factory=set)
    credits: list[RecordedCredit] = field(default_factory=list)
    events_read: int = 0

    @property
    def kept(self) -> list[int]:
        """Indices of the visits that stand: settled and not reversed."""
        return [i for i in range(len(self.visits)) if i not in self.reversed]

    @property
    def schemes(self) -> set[str]:
        return {v.scheme for v in self.visits}


def read_year(ledger: Any, region: str, year: int,
              progress: Callable[[int, int], None] | None = None) -> RecordedYear:
    """The settled visits, reversals and month credits of ``region`` in ``year``."""
    decode = state_decoder(ledger.mapper)
    record = RecordedYear(region, year)
    accounts: dict[str, dict[str, Any]] = {}  # account id (hex) -> the person's facts
    people: dict[str, dict[str, Any]] = {}  # person -> the same facts
    index: dict[str, int] = {}  # client id -> visit index
    prefix = f"{year}-"
    head = ledger.recorder.max_notification_id() or 0
    start = 0
    while True:
        batch = ledger.recorder.select_notifications(start, BATCH, topics=TOPICS,
                                                     inclusive_of_start=False)
        for n in batch:
            topic, d = n.topic, decode(n.state)
            account = n.originator_id.hex
            if topic == _SETTLED:
                if d["region"] != region or d["year"] != year:
                    continue
                facts = people[d["person"]]
                request, result = d["request"], d["result"]
                index[d["client_id"]] = len(record.visits)
                record.steps.extend((SETTLE, len(record.visits)))
                record.visits.append(RecordedVisit(
                    id=d["client_id"], person=d["person"],
                    date=dt.date.fromisoformat(request["date"]),
                    category=result["category"], scheme=facts["scheme"],
                    visit=Visit(request["level"], parse_fen(request["in_scope"]),
                                parse_fen(request["out_of_scope"]), tuple(request["flags"]),
                                request["prescribed_level"]),
                    eligible_in_scope=result["eligible_in_scope"],
                    deductible_applied=result["deductible_applied"],
                    fund_paid=result["fund_paid"], over_cap=result["over_cap"],
                    self_pay=result["self_pay"]))
            elif topic == _REVERSED:
                settled = index.get(d["request"]["id"])
                if settled is not None:  # a visit of this region and year (not a spend)
                    record.steps.extend((REVERSE, settled))
                    record.reversed.add(settled)
            elif topic == _ENROLLED:
                facts = {"person": d["person"], "region": d["region"], "scheme": d["scheme"],
                         "birth_date": d["birth_date"]["_data_"],
                         "retired_on": (d["retired_on"] or {}).get("_data_"),
                         "standard_years": d["standard_years"],
                         "total_years": d["total_years"],
                         "lump_sum_until": d["lump_sum_until"],
                         "resettled": d.get("resettled", False)}
                accounts[account] = people[d["person"]] = facts
            elif topic == _RETIRED:
                accounts[account]["retired_on"] = d["date"]["_data_"]
            elif topic == _TRANSFERRED_IN:
                accounts[account].update(region=d["region"], scheme=d["scheme"])
            elif d["month"].startswith(prefix) and accounts[account]["region"] == region:
                contribution = topic == _CONTRIBUTION
                record.credits.append(RecordedCredit(
                    person=accounts[account]["person"], month=d["month"],
                    kind="contribution" if contribution else "allotment",
                    base=d["base"] if contribution else None, amount=d["amount"],
                    facts=dict(accounts[account])))
        record.events_read += len(batch)
        if len(batch) < BATCH:
            if progress is not None:
                progress(head, head)
            return record
        if progress is not None:
            progress(batch[-1].id, head)
        start = batch[-1].id
