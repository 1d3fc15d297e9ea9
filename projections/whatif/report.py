"""The what-if (政策测算): a recorded year re-priced under drafts, side by side.

:func:`what_if` reads the year from the events (:mod:`~projections.whatif.source`),
re-prices it under the policy in force — the self-check: every settled visit's figures
must come out as recorded, to the fen — and under each draft, from zero accumulations,
with the same people, categories, schemes, flags and levels. It writes nothing.

Figures count the visits that stand (settled, not reversed); amounts are fen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.book import PolicyBook
from policies.calendar import Month
from policies.credits import contribution_credit, retired_allotment
from policies.errors import ErrorCode, LedgerError
from policies.model import RegionPolicy
from policies.money import format_fen
from policies.people import PersonFacts
from projections.whatif.drafts import Draft, check_schemes
from projections.whatif.engine import Priced, reprice
from projections.whatif.source import RecordedVisit, RecordedYear, read_year

ACTUAL = "actual"
MEASURES = ("visits", "eligible_in_scope", "deductible_applied", "fund_paid", "over_cap",
            "self_pay")
LABELS = {"visits": "visits 人次", "eligible_in_scope": "in scope 范围内",
          "deductible_applied": "deductible 起付", "fund_paid": "fund paid 统筹支付",
          "over_cap": "over cap 超限", "self_pay": "self-pay 个人负担"}
CHECKED = ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap", "self_pay")
Key = tuple[int, int, str]  # month, institution level, category


@dataclass(slots=True)
class SelfCheck:
    """Re-pricing under the policy in force against the recorded figures."""

    visits: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def line(self) -> str:
        if self.ok:
            return (f"self-check: {self.visits:,} settled visits re-priced under the policy in "
                    "force reproduce the recorded fund paid, deductible, over cap and self-pay "
                    "to the fen")
        return (f"SELF-CHECK FAILED: {len(self.differences):,} of {self.visits:,} settled visits "
                f"re-price differently; first: {self.differences[0]}")


@dataclass(frozen=True, slots=True)
class PersonChange:
    person: str
    actual: int  # the year's self-pay, fen
    draft: int

    @property
    def change(self) -> int:
        return self.draft - self.actual


@dataclass(slots=True)
class CreditsChange:
    """The year's month credits recomputed under a draft that changes credits."""

    rows: dict[str, list[int]] = field(default_factory=dict)  # kind -> [count, actual, draft]
    refused: dict[str, int] = field(default_factory=dict)  # code -> months the draft refuses
    people: int = 0  # people whose credits change


@dataclass(slots=True)
class DraftResult:
    name: str
    source: str
    priced: Priced
    people: list[PersonChange] = field(default_factory=list)  # sorted by change, then id
    deciles: list[int] = field(default_factory=list)  # min, p10 … p90, max of change
    credits: CreditsChange | None = None  # None: the draft does not change credits


@dataclass(slots=True)
class WhatIf:
    region: str
    year: int
    record: RecordedYear
    actual: Priced
    drafts: list[DraftResult]
    check: SelfCheck
    breakdown: dict[Key, dict[str, dict[str, int]]] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)  # scenario -> people at the cap
    people: int = 0  # people with a visit that stands

    @property
    def scenarios(self) -> list[str]:
        return [ACTUAL, *(d.name for d in self.drafts)]

    def priced(self, scenario: str) -> Priced:
        if scenario == ACTUAL:
            return self.actual
        return next(d.priced for d in self.drafts if d.name == scenario)

    def monthly(self, measure: str = "fund_paid") -> dict[int, dict[str, int]]:
        """``measure`` per month (1–12) and scenario."""
        months = {m: dict.fromkeys(self.scenarios, 0) for m in range(1, 13)}
        for (month, _, _), by in self.breakdown.items():
            for scenario in self.scenarios:
                months[month][scenario] += by[scenario][measure]
        return months


def what_if(ledger: Any, region: str, year: int, drafts: list[Draft],
            progress: Callable[[int, int], None] | None = None) -> WhatIf:
    """Read ``region``'s ``year`` from the events and re-price it under each draft."""
    book: PolicyBook = ledger.book
    if region not in book.versions:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"region: unknown region {region!r}; one of "
                          f"{book.regions}", field="region")
    record = read_year(ledger, region, year, progress)
    check_schemes(drafts, record.schemes)
    return compare(book, record, drafts)


def compare(book: PolicyBook, record: RecordedYear, drafts: list[Draft]) -> WhatIf:
    """The what-if of an already read year (pure: the book, the record, the drafts)."""
    in_force: dict[dt.date, RegionPolicy] = {}

    def actual_policy(visit: RecordedVisit) -> RegionPolicy:
        policy = in_force.get(visit.date)
        if policy is None:
            policy = in_force[visit.date] = book.in_force(record.region, visit.date)
        return policy

    actual = reprice(record.visits, record.steps, actual_policy)
    result = WhatIf(record.region, record.year, record, actual, [], self_check(record, actual))
    for draft in drafts:
        priced = reprice(record.visits, record.steps, lambda _, p=draft.policy: p)
        result.drafts.append(DraftResult(draft.name, draft.policy.source, priced))
    _aggregate(result)
    reference = book.latest_on_or_before(record.region, dt.date(record.year, 12, 31))
    for draft, policy in zip(result.drafts, (d.policy for d in drafts), strict=True):
        if _credit_rules(policy) != _credit_rules(reference):
            draft.credits = credits_under(policy, record)
    return result


def self_check(record: RecordedYear, actual: Priced) -> SelfCheck:
    check = SelfCheck(visits=len(record.visits))
    columns = [(name, getattr(actual, name)) for name in CHECKED]
    for i, visit in enumerate(record.visits):
        for name, column in columns:
            recorded, repriced = getattr(visit, name), column[i]
            if recorded != repriced:
                check.differences.append(
                    f"visit {visit.id!r} of {visit.person}: {name} recorded "
                    f"{format_fen(recorded)}, re-priced {format_fen(repriced)}")
                break
    return check


def _aggregate(result: WhatIf) -> None:
    scenarios = [(ACTUAL, result.actual), *((d.name, d.priced) for d in result.drafts)]
    visits = result.record.visits
    columns = [(name, [getattr(priced, m) for m in CHECKED], priced.self_pay, priced.capped)
               for name, priced in scenarios]
    # per cell and scenario: [visits, eligible, deductible, fund, over cap, self-pay]
    cells: dict[Key, dict[str, list[int]]] = {}
    self_pay: dict[str, dict[str, int]] = {name: {} for name, _ in scenarios}
    capped: dict[str, set[str]] = {name: set() for name, _ in scenarios}
    for i in result.record.kept:
        visit = visits[i]
        key = (visit.date.month, visit.visit.level, visit.category)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {name: [0] * len(MEASURES) for name, _ in scenarios}
        person = visit.person
        for name, measures, paid_column, capped_column in columns:
            figures = cell[name]
            figures[0] += 1
            for m, column in enumerate(measures, start=1):
                figures[m] += column[i]
            paid = self_pay[name]
            paid[person] = paid.get(person, 0) + paid_column[i]
            if capped_column[i]:
                capped[name].add(person)
    result.breakdown = {key: {name: dict(zip(MEASURES, figures, strict=True))
                              for name, figures in cell.items()}
                        for key, cell in sorted(cells.items())}
    result.totals = {name: {m: sum(cell[name][m] for cell in result.breakdown.values())
                            for m in MEASURES} for name, _ in scenarios}
    result.capped = {name: len(people) for name, people in capped.items()}
    actual = self_pay[ACTUAL]
    result.people = len(actual)
    for draft in result.drafts:
        under = self_pay[draft.name]
        changes = [PersonChange(person, paid, under[person]) for person, paid in actual.items()]
        changes.sort(key=lambda c: (c.change, c.person))
        draft.people = changes
        draft.deciles = deciles([c.change for c in changes])


def deciles(values: list[int]) -> list[int]:
    """min, the 1st … 9th deciles (nearest rank: the ⌈k·n/10⌉-th smallest) and max of
    sorted ``values``; empty when there are none."""
    n = len(values)
    if not n:
        return []
    return [values[0], *(values[-(-k * n // 10) - 1] for k in range(1, 10)), values[-1]]


def _credit_rules(policy: RegionPolicy) -> tuple[Any, ...]:
    return policy.credits, {name: s.account for name, s in policy.schemes.items()}


def credits_under(policy: RegionPolicy, record: RecordedYear) -> CreditsChange:
    """The year's recorded month credits recomputed under ``policy``, from the same
    contribution bases and allotment months and the person's facts as recorded then."""
    change = CreditsChange()
    people: set[str] = set()
    for credit in record.credits:
        facts = person_facts(credit.facts)
        month = Month.parse(credit.month)
        try:
            if credit.kind == "contribution":
                assert credit.base is not None
                amount = contribution_credit(policy, facts, month, credit.base).amount
            else:
                amount = retired_allotment(policy, facts, month).amount
        except LedgerError as error:
            change.refused[str(error.code)] = change.refused.get(str(error.code), 0) + 1
            amount = 0
        row = change.rows.setdefault(credit.kind, [0, 0, 0])
        row[0] += 1
        row[1] += credit.amount
        row[2] += amount
        if amount != credit.amount:
            people.add(credit.person)
    change.people = len(people)
    return change


def person_facts(facts: Mapping[str, Any]) -> PersonFacts:
    """A person's facts as the ``Enrolled`` (and later ``Retired``) events recorded them."""
    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    birth = day(facts["birth_date"])
    assert birth is not None
    return PersonFacts(
        birth_date=birth, scheme=facts["scheme"], retired_on=day(facts["retired_on"]),
        standard_years=facts["standard_years"], total_years=facts["total_years"],
        lump_sum_until=Month.parse(facts["lump_sum_until"]) if facts["lump_sum_until"]
        else None, resettled=bool(facts["resettled"]))
