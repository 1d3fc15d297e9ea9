"""Properties of re-pricing a year under a draft (hypothesis), on the pure engine.

For a year without reversals: raising a rate never lowers the fund paid, raising the
deductible never raises it — for every person-year and so for the year — and with or
without reversals the fund paid for a person-year never exceeds the draft's cap.
"""

from __future__ import annotations

import datetime as dt
from array import array
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.book import load_file
from policies.model import ByCategory, RatesByLevel, RegionPolicy
from policies.money import Rate
from policies.pricing import Visit, cap_for
from projections.whatif.engine import reprice
from projections.whatif.source import REVERSE, SETTLE, RecordedVisit
from test_whatif import NANCHANG

BASE = load_file(NANCHANG)
PEOPLE = ("P1", "P2", "P3")
CATEGORY = {"P1": "employed", "P2": "retired", "P3": "employed"}
SCHEME = {"P1": "standard", "P2": "standard", "P3": "pooling_only"}

visits = st.lists(st.tuples(
    st.sampled_from(PEOPLE), st.integers(1, 3), st.integers(0, 500_000),
    st.integers(0, 20_000), st.booleans()), max_size=40)
rates = st.tuples(*(st.fractions(Fraction(0), Fraction(1), max_denominator=100)
                    for _ in range(6)))
amounts = st.tuples(st.integers(0, 300_000), st.integers(0, 300_000))


def recorded(rows) -> list[RecordedVisit]:
    return [RecordedVisit(id=f"V{i}", person=person, date=dt.date(2024, 1, 1) + dt.timedelta(i),
                          category=CATEGORY[person], scheme=SCHEME[person],
                          visit=Visit(level, in_scope, outside,
                                      ("inpatient_stay",) if denied and i % 3 == 0 else ()),
                          eligible_in_scope=0, deductible_applied=0, fund_paid=0, over_cap=0,
                          self_pay=0)
            for i, (person, level, in_scope, outside, denied) in enumerate(rows)]


def settled_in_order(n: int) -> array:
    steps = array("q")
    for i in range(n):
        steps.extend((SETTLE, i))
    return steps


def draft(rate_values=None, deductible=None, caps=None) -> RegionPolicy:
    pooling = BASE.pooling
    update: dict = {}
    if rate_values is not None:
        r = [Rate(v) for v in rate_values]
        update["rates"] = RatesByLevel(employed=tuple(r[:3]), retired=tuple(r[3:]))
    if deductible is not None:
        update["deductible"] = ByCategory(employed=deductible[0], retired=deductible[1])
    if caps is not None:
        update["caps"] = {"standard": ByCategory(employed=caps[0], retired=caps[1])}
    return BASE.model_copy(update={"pooling": pooling.model_copy(update=update)})


def fund_by_person(year: list[RecordedVisit], steps, policy: RegionPolicy,
                   kept: set[int] | None = None) -> dict[str, int]:
    priced = reprice(year, steps, lambda _: policy)
    totals = dict.fromkeys(PEOPLE, 0)
    for i, visit in enumerate(year):
        if kept is None or i in kept:
            totals[visit.person] += priced.fund_paid[i]
    return totals


@settings(max_examples=150, deadline=None)
@given(visits, rates, st.tuples(*(st.fractions(Fraction(0), Fraction(1), max_denominator=100)
                                  for _ in range(6))))
def test_raising_a_rate_never_lowers_the_fund_paid(rows, low, raise_by) -> None:
    year = recorded(rows)
    steps = settled_in_order(len(year))
    high = tuple(min(Fraction(1), a + b) for a, b in zip(low, raise_by, strict=True))
    before = fund_by_person(year, steps, draft(rate_values=low))
    after = fund_by_person(year, steps, draft(rate_values=high))
    assert all(after[p] >= before[p] for p in PEOPLE), (before, after)


@settings(max_examples=150, deadline=None)
@given(visits, amounts, amounts)
def test_raising_the_deductible_never_raises_the_fund_paid(rows, low, raise_by) -> None:
    year = recorded(rows)
    steps = settled_in_order(len(year))
    high = (low[0] + raise_by[0], low[1] + raise_by[1])
    before = fund_by_person(year, steps, draft(deductible=low))
    after = fund_by_person(year, steps, draft(deductible=high))
    assert all(after[p] <= before[p] for p in PEOPLE), (before, after)


@settings(max_examples=150, deadline=None)
@given(visits, rates, amounts, st.tuples(st.integers(0, 400_000), st.integers(0, 400_000)),
       st.lists(st.integers(0, 39), max_size=8, unique=True))
def test_a_person_year_never_gets_more_than_the_draft_s_cap(rows, rate_values, deductible,
                                                            caps, reversed_) -> None:
    year = recorded(rows)
    steps = array("q")
    undo = sorted(i for i in reversed_ if i < len(year))
    for i in range(len(year)):  # each reversal right after the next visit (interleaved)
        steps.extend((SETTLE, i))
        if i - 1 in undo:
            steps.extend((REVERSE, i - 1))
    if len(year) - 1 in undo:
        steps.extend((REVERSE, len(year) - 1))
    policy = draft(rate_values=rate_values, deductible=deductible, caps=caps)
    paid = fund_by_person(year, steps, policy, kept=set(range(len(year))) - set(undo))
    for person in PEOPLE:
        assert paid[person] <= cap_for(policy, CATEGORY[person], SCHEME[person])
