"""``audit verify``: check that every stored figure follows from the events (审计核验).

Three checks, each naming the first difference it finds:

1. the hash chain (:func:`ledger.chain.verify_chain`): no stored event edited, deleted,
   inserted around the ledger or reordered;
2. every settlement re-priced with :func:`policies.pricing.price_visit` from the policy
   data, against the pooling accumulations recorded before it, in recording order, with
   the person's category and scheme as recorded by then — and its pooled figures equal to
   the account's ``VisitPooled``;
3. every view recomputed from the events (in memory, by the same projection) up to the
   stored views' position, and compared row by row with the stored views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.chain import ChainReport, verify_chain
from ledger.transaction import Settlement
from policies.book import PolicyBook
from policies.errors import LedgerError
from policies.money import format_fen, parse_fen
from policies.people import PersonFacts
from policies.pricing import Visit, YearUsage, price_visit
from projections.log import EventLog
from projections.projection import LedgerProjection, state_decoder
from projections.stores.base import ViewStore
from projections.stores.memory import MemoryViews
from projections.tables import BY_NAME

BATCH = 10_000
_PRICED = ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap", "self_pay",
           "cap", "level")


@dataclass(frozen=True, slots=True)
class Difference:
    check: str  # "chain" | "pricing" | "views"
    message: str


@dataclass(slots=True)
class VerifyReport:
    events: int = 0
    settlements: int = 0
    view_rows: int = 0
    position: int = 0
    chain: ChainReport | None = None
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None


class Repricer:
    """Re-prices settlements as the events replay, from the state recorded before each."""

    def __init__(self, book: PolicyBook) -> None:
        self.book = book
        self.people: dict[str, str] = {}  # account id -> person
        self.facts: dict[str, dict[str, Any]] = {}  # person -> enrolment facts as recorded
        self.usage: dict[tuple[str, str, int], list[int]] = {}
        self.before: dict[str, tuple[YearUsage, dict[str, int]]] = {}
        self.settlements = 0
        self.handlers: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
            get_topic(Account.Enrolled): self._enrolled,
            get_topic(Account.Retired): self._retired,
            get_topic(Account.TransferredIn): self._transferred_in,
            get_topic(Account.VisitPooled): self._pooled,
            get_topic(Account.VisitUnpooled): self._unpooled,
            get_topic(Settlement.Settled): self._settled,
        }

    def replay(self, topic: str, originator: str, state: dict[str, Any]) -> str | None:
        """Take one event in; a description of the difference if it is a wrong settlement."""
        handler = self.handlers.get(topic)
        return handler(originator, state) if handler else None

    def _enrolled(self, account: str, d: dict[str, Any]) -> None:
        self.people[account] = d["person"]
        self.facts[d["person"]] = {"region": d["region"], "scheme": d["scheme"],
                                   "birth_date": d["birth_date"]["_data_"],
                                   "retired_on": (d["retired_on"] or {}).get("_data_")}

    def _retired(self, account: str, d: dict[str, Any]) -> None:
        self.facts[self.people[account]]["retired_on"] = d["date"]["_data_"]

    def _transferred_in(self, account: str, d: dict[str, Any]) -> None:
        self.facts[self.people[account]].update(region=d["region"], scheme=d["scheme"])

    def _pooled(self, account: str, d: dict[str, Any], sign: int = 1) -> None:
        key = (self.people[account], d["region"], d["year"])
        usage = self.usage.setdefault(key, [0, 0])
        if sign > 0:
            self.before[d["transaction_id"]] = (YearUsage(*usage), d)
        usage[0] += sign * d["eligible_in_scope"]
        usage[1] += sign * d["fund_paid"]

    def _unpooled(self, account: str, d: dict[str, Any]) -> None:
        self._pooled(account, d, sign=-1)

    def _settled(self, _: str, d: dict[str, Any]) -> str | None:
        self.settlements += 1
        request, recorded, person = d["request"], d["result"], d["person"]
        name = f"settlement {d['client_id']!r} of {person}"
        if d["client_id"] not in self.before:
            return f"{name} has no VisitPooled on {person}'s account"
        usage, pooled = self.before.pop(d["client_id"])
        facts = self.facts[person]
        if recorded["region"] != facts["region"]:
            return f"{name} was priced in {recorded['region']}, but {person} was in " \
                   f"{facts['region']}"
        day = dt.date.fromisoformat(request["date"])
        person_facts = PersonFacts(
            birth_date=dt.date.fromisoformat(facts["birth_date"]), scheme=facts["scheme"],
            retired_on=dt.date.fromisoformat(facts["retired_on"]) if facts["retired_on"]
            else None)
        category = person_facts.category_on(day)
        try:
            price = price_visit(
                self.book.in_force(facts["region"], day),
                Visit(request["level"], parse_fen(request["in_scope"]),
                      parse_fen(request["out_of_scope"]), tuple(request["flags"]),
                      request["prescribed_level"]),
                category, facts["scheme"], usage)
        except LedgerError as error:
            return f"{name} cannot be re-priced: {error}"
        repriced = {k: getattr(price, k) for k in _PRICED}
        repriced.update(category=category, rate=str(price.rate),
                        pooling_reason=price.pooling_reason)
        for key, value in repriced.items():
            if recorded[key] != value:
                shown = (format_fen(recorded[key]), format_fen(value)) \
                    if key not in ("level", "category", "rate", "pooling_reason") \
                    else (recorded[key], value)
                return f"{name}: {key} recorded {shown[0]}, re-priced {shown[1]}"
        for key in ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap"):
            if pooled[key] != recorded[key]:
                return f"{name}: VisitPooled {key} {format_fen(pooled[key])} differs from " \
                       f"the settlement's {format_fen(recorded[key])}"
        return None


def verify(ledger: Any, views: ViewStore | None = None,
           progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Run the three checks; every difference found, the first one first."""
    report = VerifyReport()
    report.chain = verify_chain(ledger.recorder)
    if report.chain.first_break is not None:
        report.differences.append(Difference("chain", report.chain.first_break.message))
    decode = state_decoder(ledger.mapper)
    repricer = Repricer(ledger.book)
    recompute = MemoryViews()
    projection = LedgerProjection(recompute.lookup, decode)
    report.position = views.position() if views is not None else 0
    log = EventLog(ledger.recorder)
    head, start = log.head(), 0
    while batch := log.read(start, BATCH):
        for position, originator, _, topic, state in batch:
            wrong = repricer.replay(topic, originator, decode(state))
            if wrong and not any(d.check == "pricing" for d in report.differences):
                report.differences.append(Difference("pricing", f"event #{position}: {wrong}"))
        viewed = [row for row in batch if row[0] <= report.position]
        if viewed:
            recompute.write(projection.apply(viewed), recompute.position())
        report.events += len(batch)
        start = batch[-1][0]
        if progress is not None:
            progress(start, head)
    report.settlements = repricer.settlements
    if views is not None:
        difference = compare_views(recompute.dump(), views.dump())
        report.view_rows = sum(len(rows) for rows in recompute.dump().values())
        if difference:
            report.differences.append(Difference(
                "views", f"{difference} (views at position {report.position})"))
    return report


def compare_views(expected: dict[str, list[dict[str, Any]]],
                  stored: dict[str, list[dict[str, Any]]]) -> str | None:
    """The first row where the stored views differ from the recompute, described."""
    for name, rows in expected.items():
        table = BY_NAME[name]
        want = {tuple(r[k] for k in table.key_names): r for r in rows}
        have = {tuple(r[k] for k in table.key_names): r for r in stored.get(name, [])}
        for key in sorted(want.keys() | have.keys(), key=repr):
            if key not in have:
                return f"view {name} lacks row {key}"
            if key not in want:
                return f"view {name} has row {key}, which no event produces"
            for column in table.columns:
                if want[key][column] != have[key][column]:
                    return (f"view {name} row {key}: {column} is {have[key][column]!r}, "
                            f"the events give {want[key][column]!r}")
    return None
