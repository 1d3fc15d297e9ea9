"""``audit verify``: check that every stored figure follows from the events (审计核验).

Tampering is reported, never crashed on. The checks run in this order:

1. the hash chain (:func:`ledger.adapters.chain.verify_chain`): it reads the stored bytes alone, so
   no content can stop it; it names every edited, deleted, inserted or reordered event
   (or only the first, and then verify stops, with ``first_only``);
2. every event decoded once: a row that cannot be decoded is a difference (``events``)
   naming its position and the reason, and is left out of the checks below;
3. every settlement re-priced with :func:`policies.pricing.price_visit` from the policy
   data, against the pooling accumulations recorded before it, in recording order, with
   the person's category and scheme as recorded by then — and its pooled figures equal to
   the account's ``VisitPooled``;
4. every view recomputed from the events (in memory, by the same projection) up to the
   stored views' position, and compared row by row with the stored views; views behind the
   head of the log are a difference too (the worker has not applied everything);
5. every account's state row (:mod:`ledger.adapters.state`) equal to the account rebuilt
   from its events, and its credited-month lines to the months its events credit.

An event that decodes but cannot be applied (a field renamed, a text where a number
belongs) is a difference of the check it broke, naming the event; later events that fail
because of it (of the same aggregate, or settlements of a person whose enrolment failed)
are counted on that difference rather than listed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.adapters.chain import ChainReport, verify_chain
from ledger.ids import account_id
from ledger.transaction import Settlement
from policies.book import PolicyBook
from policies.errors import LedgerError
from policies.money import format_fen, parse_fen
from policies.people import PersonFacts
from policies.pricing import Visit, YearUsage, price_visit
from projections.log import EventLog, LogRow
from projections.projection import LedgerProjection, ViewBatch, state_decoder
from projections.stores.base import ViewStore
from projections.stores.memory import MemoryViews
from projections.tables import BY_NAME

BATCH = 10_000
VIEW_ROWS_LISTED = 20  # differing view rows listed one by one; the rest are counted
_PRICED = ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap", "self_pay",
           "cap", "level")


CHECKS = ("chain", "events", "pricing", "views", "states")


@dataclass(slots=True)
class Difference:
    """One thing that does not follow from the events; ``position`` names the event."""

    check: str  # one of CHECKS
    kind: str  # chain: edited, link_edited, deleted, unchained, reordered; events: unreadable;
    #            pricing, views: inapplicable, mismatch; views also: behind
    message: str
    position: int | None = None
    originator: str | None = None
    version: int | None = None
    followers: int = 0  # later events failing because of this one (counted, not listed)

    @property
    def text(self) -> str:
        if not self.followers:
            return self.message
        return (f"{self.message} (and {self.followers} later event"
                f"{'s' if self.followers > 1 else ''} that follow from it could not be "
                "checked either)")


@dataclass(slots=True)
class VerifyReport:
    events: int = 0
    settlements: int = 0
    view_rows: int = 0
    position: int = 0  # the stored views' position, which they were compared at
    head: int = 0  # the log's last notification id when verify began
    chain: ChainReport | None = None
    stopped: bool = False  # first_only, and something was found: the rest was not checked
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def first(self) -> Difference | None:
        return self.differences[0] if self.differences else None


class MissingEnrolment(Exception):
    """A settlement of a person whose enrolment could not be read: it cannot be re-priced."""

    def __init__(self, person: str) -> None:
        super().__init__(f"{person}'s enrolment could not be read")
        self.person = person


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
        if person not in self.facts:
            raise MissingEnrolment(person)
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


def reason(error: BaseException) -> str:
    """An exception as one short line for a report: its type and message, never a trace."""
    text = str(error).replace("\n", " ")
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def describe(position: int, originator: str, version: int, topic: str) -> str:
    """``event #51 (<account hex> v1, Account.Enrolled)``: how reports name a stored event."""
    return f"event #{position} ({originator} v{version}, {topic.rsplit(':', 1)[-1]})"


class _Findings:
    """The report's differences, with later failures of one aggregate folded into its first."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        self.failed: dict[str, Difference] = {}  # originator -> its first failure

    def add(self, difference: Difference) -> None:
        self.report.differences.append(difference)

    def failure(self, check: str, kind: str, row: LogRow, why: str,
                cause: str | None = None) -> None:
        """``row`` failed ``check``; ``cause``: the aggregate whose failure it follows from
        (default: its own)."""
        position, originator, version, topic, _ = row
        first = self.failed.get(cause or originator)
        if first is not None and first.position != position:  # a knock-on of the first
            first.followers += 1
            return
        difference = Difference(check, kind, f"{describe(position, originator, version, topic)} "
                                f"{why}", position, originator, version)
        self.failed.setdefault(originator, difference)
        self.add(difference)


def _typed(batch: ViewBatch) -> ViewBatch:
    """``batch``, once every added column is an integer (a store can add it up)."""
    for changes in batch.rows.values():
        for added, _ in changes.values():
            for name, delta in added.items():
                if type(delta) is not int:
                    raise TypeError(f"{name} is {delta!r}, not an integer")
    return batch


def verify(ledger: Any, views: ViewStore | None = None,
           progress: Callable[[int, int], None] | None = None,
           first_only: bool = False) -> VerifyReport:
    """Run the checks; every difference found, in the order of the checks and the log.

    Nothing stored can make this raise: what cannot be decoded or applied is reported.
    ``first_only`` stops at the first difference (the chain's first break, if any).
    """
    report = VerifyReport()
    findings = _Findings(report)
    log = EventLog(ledger.recorder)
    report.head = log.head()
    report.chain = verify_chain(ledger.recorder, first_only=first_only)
    for broken in report.chain.breaks:
        findings.add(Difference("chain", broken.kind, broken.message, broken.position,
                                broken.originator_id, broken.originator_version))
    if first_only and report.differences:
        report.stopped = True
        return report
    stored = None
    if views is not None:
        report.position, stored = _snapshot(views)
    decode = state_decoder(ledger.mapper)
    repricer = Repricer(ledger.book)
    recompute = MemoryViews()
    projection = LedgerProjection(recompute.lookup, decode)
    start = 0
    while batch := log.read(start, BATCH):
        readable = []
        for row in batch:
            position, originator, _, topic, state = row
            try:
                data = decode(state)
                if not isinstance(data, dict):
                    raise TypeError(f"the state is a JSON {type(data).__name__}, not an object")
            except Exception as error:  # anything stored may be garbage: report, go on
                findings.failure("events", "unreadable", row,
                                 f"cannot be decoded: {reason(error)}")
                continue
            readable.append(row)
            try:
                wrong = repricer.replay(topic, originator, data)
            except MissingEnrolment as missing:
                findings.failure("pricing", "inapplicable", row,
                                 f"cannot be re-priced: {missing}",
                                 cause=account_id(missing.person).hex)
                continue
            except Exception as error:
                findings.failure("pricing", "inapplicable", row,
                                 f"cannot be re-priced: {reason(error)}")
                continue
            if wrong:
                findings.add(Difference("pricing", "mismatch", f"event #{position}: {wrong}",
                                        position, originator, row[2]))
        _recompute(projection, recompute, findings,
                   [row for row in readable if row[0] <= report.position])
        report.events += len(batch)
        start = batch[-1][0]
        if progress is not None:
            progress(start, report.head)
        if first_only and report.differences:
            report.stopped = True
            return report
    report.settlements = repricer.settlements
    if views is not None and stored is not None:
        expected = recompute.dump()
        report.view_rows = sum(len(rows) for rows in expected.values())
        rows = compare_views(expected, stored)
        for difference in itertools.islice(rows, VIEW_ROWS_LISTED):
            findings.add(Difference("views", "mismatch",
                                    f"{difference} (views at position {report.position})"))
        more = sum(1 for _ in rows)
        if more:
            findings.add(Difference("views", "mismatch", f"and {more} more view rows differ"))
        behind = views.position() if report.position < report.head else report.position
        if behind < report.head:
            findings.add(Difference("views", "behind", (
                f"the views are at position {behind}, behind the log's head {report.head}: "
                "they do not show every event yet; run `gongji projections run --once` "
                "(or keep `gongji projections run` going)"), behind))
    for originator, what in ledger.state_differences():
        findings.add(Difference("states", "mismatch", f"account {originator.hex} {what}",
                                originator=originator.hex))
    report.differences.sort(key=_order)
    return report


def _order(difference: Difference) -> tuple[int, float, int]:
    """The chain's breaks first, then by event position and check; view rows last."""
    return (difference.check != "chain",
            math.inf if difference.position is None or difference.kind == "behind"
            else difference.position, CHECKS.index(difference.check))


def _snapshot(views: ViewStore) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The stored views and their position, read while no batch was written in between."""
    for _ in range(5):
        position = views.position()
        stored = views.dump()
        if views.position() == position:
            break
    return position, stored


def _recompute(projection: LedgerProjection, recompute: MemoryViews, findings: _Findings,
               rows: list[LogRow]) -> None:
    """Apply ``rows`` to the recomputed views; on a failure, row by row, reporting each."""
    if not rows:
        return
    try:
        recompute.write(_typed(projection.apply(rows)), recompute.position())
        return
    except Exception:  # some row cannot be applied: find it (them) one by one
        pass
    for row in rows:
        try:
            recompute.write(_typed(projection.apply([row])), recompute.position())
        except Exception as error:
            findings.failure("views", "inapplicable", row,
                             f"cannot be applied to the views: {reason(error)}")


def as_json(report: VerifyReport) -> dict[str, Any]:
    """The report as ``audit verify --json`` prints it and the API's verify route returns it."""
    assert report.chain is not None  # verify() always checks the chain
    differences = [{"check": d.check, "kind": d.kind, "position": d.position,
                    "originator": d.originator, "version": d.version, "message": d.text}
                   for d in report.differences]
    return {
        "ok": report.ok, "events": report.events, "log_head": report.head,
        "settlements": report.settlements, "view_rows": report.view_rows,
        "position": report.position, "chain_head": report.chain.head,
        "chained_events": report.chain.events, "stopped_at_first": report.stopped,
        "counts": {check: sum(d.check == check for d in report.differences)
                   for check in CHECKS},
        "first_difference": differences[0] if differences else None,
        "differences": differences,
    }


def compare_views(expected: dict[str, list[dict[str, Any]]],
                  stored: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    """Every row where the stored views differ from the recompute, described."""
    for name, rows in expected.items():
        table = BY_NAME[name]
        want = {tuple(r[k] for k in table.key_names): r for r in rows}
        have = {tuple(r[k] for k in table.key_names): r for r in stored.get(name, [])}
        for key in sorted(want.keys() | have.keys(), key=repr):
            if key not in have:
                yield f"view {name} lacks row {key}"
            elif key not in want:
                yield f"view {name} has row {key}, which no event produces"
            else:
                for column in table.columns:
                    if want[key].get(column) != have[key].get(column):
                        yield (f"view {name} row {key}: {column} is "
                               f"{have[key].get(column)!r}, the events give "
                               f"{want[key].get(column)!r}")
                        break
