"""Personal account credits (DOMAIN.md 4, 9): pure rules first, then death through the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.inprocess import InProcessDriver
from ledger import Ledger
from ledger.commands import EnrollPerson
from policies.book import PolicyBook
from policies.calendar import Month
from policies.credits import contribution_credit, lump_sum_credit, retired_allotment
from policies.errors import ErrorCode, LedgerError
from policies.people import PersonFacts
from conftest import PARAMETERS

BOOK = PolicyBook.load(PARAMETERS)
M = Month.parse


# a month in force in every region's policy (suizhou's ends 2024-12-31, yunnan's starts 2024-11)
IN_FORCE = {"suizhou": "2024-12", "nanchang": "2024-12", "jilin": "2024-12",
            "yunnan": "2024-12", "chongqing": "2024-12"}


def policy(region: str, month: str | None = None):
    return BOOK.in_force(region, M(month or IN_FORCE[region]).last_day)


def person(scheme: str = "standard", retired_on: str | None = None,
           born: str = "1970-01-01", **more: object) -> PersonFacts:
    return PersonFacts(
        birth_date=dt.date.fromisoformat(born), scheme=scheme,
        retired_on=dt.date.fromisoformat(retired_on) if retired_on else None, **more,
    )


def refused(call, *args) -> ErrorCode:
    with pytest.raises(LedgerError) as error:
        call(*args)
    return error.value.code


# -- employed: 2% of the base ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "credited"),
    [(500000, 10000), (123456, 2469),  # 24.6912 → 24.69
     (123475, 2470),                    # 24.695 → 24.70 (half up)
     (25, 1), (24, 0), (0, 0)],
)
@pytest.mark.parametrize("region", ["suizhou", "nanchang", "jilin", "yunnan", "chongqing"])
def test_contribution_credits_two_percent_rounded_half_up(
    region: str, base: int, credited: int
) -> None:
    scheme = "employer" if region == "chongqing" else "standard"
    month = IN_FORCE[region]
    assert contribution_credit(policy(region), person(scheme), M(month), base).amount == (
        credited)


def test_nanchang_lump_sum_credits_two_percent_at_once() -> None:
    credit = lump_sum_credit(policy("nanchang"), person(), 3600005)  # 36000.05 × 2% = 720.001
    assert credit.amount == 72000
    assert credit.article == "nanchang art. 21"


@pytest.mark.parametrize("region", ["suizhou", "jilin", "yunnan", "chongqing"])
def test_only_nanchang_has_a_one_off_lump_sum_credit(region: str) -> None:
    scheme = "employer" if region == "chongqing" else "standard"
    assert refused(lump_sum_credit, policy(region), person(scheme), 100000) is (
        ErrorCode.NO_POLICY_IN_FORCE)


# -- retirement: the 次月 rule ----------------------------------------------------------------


def assert_switch(rules, facts: PersonFacts, last: str, first: str, base: int,
                  credit: int, allotment: int) -> None:
    """Month ``last`` takes a contribution only, month ``first`` an allotment only."""
    assert contribution_credit(rules, facts, M(last), base).amount == credit
    assert refused(contribution_credit, rules, facts, M(first), base) is ErrorCode.NOT_EMPLOYED
    assert refused(retired_allotment, rules, facts, M(last)) is ErrorCode.NOT_RETIRED
    assert retired_allotment(rules, facts, M(first)).amount == allotment


@pytest.mark.parametrize("retired_on", ["2024-06-01", "2024-06-15", "2024-06-30"])
def test_mid_year_retirement_switches_from_the_next_month(retired_on: str) -> None:
    assert_switch(policy("suizhou", "2024-07"), person(retired_on=retired_on),
                  "2024-06", "2024-07", 500000, 10000, 7000)


def test_retirement_on_the_last_day_of_december_starts_in_january() -> None:
    facts = person(retired_on="2023-12-31")
    assert facts.category_on(dt.date(2023, 12, 31)) == "employed"
    assert facts.category_on(dt.date(2024, 1, 1)) == "retired"


@pytest.mark.parametrize(
    ("region", "amount"),
    [("suizhou", 7000), ("nanchang", 7750), ("jilin", 6000), ("yunnan", 10600),
     ("chongqing", 10500)],
)
def test_retired_allotment_per_region(region: str, amount: int) -> None:
    scheme = "employer" if region == "chongqing" else "standard"
    facts = person(scheme, retired_on="2015-05-01", born="1960-01-01")
    month = IN_FORCE[region]
    assert retired_allotment(policy(region), facts, M(month)).amount == amount


# -- the 70-and-over band -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "under", "over"), [("yunnan", 10600, 14200), ("chongqing", 10500, 11500)]
)
@pytest.mark.parametrize(
    ("born", "last_under", "first_over"),
    [("1955-03-15", "2025-03", "2025-04"),   # mid-month birthday
     ("1955-04-01", "2025-04", "2025-05"),   # on the 1st: still the month after
     ("1955-12-31", "2025-12", "2026-01"),   # across the year end
     ("1956-02-29", "2026-02", "2026-03")],  # leap-day birthday (70th on 28 Feb 2026)
)
def test_age_band_moves_the_month_after_the_70th_birthday(
    region: str, under: int, over: int, born: str, last_under: str, first_over: str
) -> None:
    scheme = "employer" if region == "chongqing" else "standard"
    facts = person(scheme, retired_on="2015-01-01", born=born)
    rules = policy(region, first_over)
    assert retired_allotment(rules, facts, M(last_under)).amount == under
    assert retired_allotment(rules, facts, M(first_over)).amount == over


# -- suizhou mixed history ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "total", "amount"),
    [(10, 30, 2333),   # 70 × 10/30 = 23.333… → 23.33
     (20, 30, 4667),   # 46.666… → 46.67
     (1, 16, 438),     # 4.375 → 4.38: exactly half a fen, rounded up
     (1, 8, 875),      # 8.75 exactly
     (0, 25, 0),
     (25, 25, 7000),
     (None, None, 7000)],
)
def test_suizhou_mixed_history_prorates_the_allotment(
    standard: int | None, total: int | None, amount: int
) -> None:
    facts = person(retired_on="2015-01-01", standard_years=standard, total_years=total)
    credit = retired_allotment(policy("suizhou", "2023-05"), facts, M("2023-05"))
    assert credit.amount == amount
    if total:
        assert "suizhou art. 14(三)" in credit.article


def test_mixed_history_is_suizhou_only() -> None:
    facts = person(retired_on="2015-01-01", born="1960-01-01", standard_years=1, total_years=2)
    assert retired_allotment(policy("yunnan"), facts, M("2024-12")).amount == 10600


# -- chongqing lump-sum payers (趸缴) ---------------------------------------------------------


def test_chongqing_lump_sum_scheme_contributes_in_the_period_then_gets_the_allotment() -> None:
    facts = person("lump_sum", born="1962-05-20", lump_sum_until=M("2024-06"))
    # 3000.00 × 2% = 60.00 up to June; 105.00 (under 70) from July
    assert_switch(policy("chongqing", "2024-07"), facts, "2024-06", "2024-07", 300000, 6000,
                  10500)


# -- who has no account, who is in the wrong category ---------------------------------------


@pytest.mark.parametrize(
    ("region", "scheme"),
    [("suizhou", "pooling_only"), ("nanchang", "pooling_only"), ("jilin", "pooling_only"),
     ("yunnan", "pooling_only"), ("chongqing", "pooling_only"),
     ("chongqing", "individual_tier1")],
)
def test_no_personal_account_for_both_credits(region: str, scheme: str) -> None:
    rules = policy(region)
    month = M(IN_FORCE[region])
    assert refused(contribution_credit, rules, person(scheme), month, 500000) is (
        ErrorCode.NO_PERSONAL_ACCOUNT)
    assert refused(retired_allotment, rules, person(scheme, "2010-01-01"), month) is (
        ErrorCode.NO_PERSONAL_ACCOUNT)


def test_no_personal_account_comes_before_the_category() -> None:
    """FORMAT.md order: no_personal_account precedes not_employed / not_retired."""
    rules = policy("suizhou", "2024-01")
    retired = person("pooling_only", "2010-01-01")
    assert refused(contribution_credit, rules, retired, M("2024-01"), 1) is (
        ErrorCode.NO_PERSONAL_ACCOUNT)
    assert refused(retired_allotment, rules, person("pooling_only"), M("2024-01")) is (
        ErrorCode.NO_PERSONAL_ACCOUNT)


def test_not_employed_and_not_retired() -> None:
    rules = policy("suizhou", "2024-01")
    assert refused(contribution_credit, rules, person(retired_on="2010-01-01"), M("2024-01"),
                   500000) is ErrorCode.NOT_EMPLOYED
    assert refused(retired_allotment, rules, person(), M("2024-01")) is ErrorCode.NOT_RETIRED


# -- death, through the ledger --------------------------------------------------------------


def _enroll(ledger: Ledger, name: str, **facts: object) -> None:
    ledger.enroll(EnrollPerson(person=name, **{"birth_date": "1950-01-01", **facts}))


def _step(ledger: Ledger, op: str, **fields: object) -> dict[str, object]:
    return InProcessDriver(ledger).step(op, fields, op)


def _error(ledger: Ledger, op: str, **fields: object) -> ErrorCode:
    before = ledger.recorder.max_notification_id()
    with pytest.raises(LedgerError) as error:
        _step(ledger, op, **fields)
    assert ledger.recorder.max_notification_id() == before, "a refused step wrote events"
    return error.value.code


def test_credits_up_to_and_including_the_month_of_death(memory_ledger: Ledger) -> None:
    _enroll(memory_ledger, "W", region="suizhou", birth_date="1970-01-01")
    _enroll(memory_ledger, "R", region="yunnan", retired_on="2010-01-01")
    _step(memory_ledger, "death", person="W", date="2024-03-03")
    _step(memory_ledger, "death", person="R", date="2025-03-31")
    # late recordings for months up to the month of death are still credited
    assert _step(memory_ledger, "contribution", person="W", month="2024-02",
                 base="4000.00") == {"credited": "80.00"}
    assert _step(memory_ledger, "contribution", person="W", month="2024-03",
                 base="4000.00") == {"credited": "80.00"}
    assert _step(memory_ledger, "allotment", person="R", month="2025-03") == {
        "credited": "142.00"}
    # the month after the month of death is refused
    assert _error(memory_ledger, "contribution", person="W", month="2024-04",
                  base="4000.00") is ErrorCode.ACCOUNT_CLOSED
    assert _error(memory_ledger, "allotment", person="R", month="2025-04") is (
        ErrorCode.ACCOUNT_CLOSED)
    assert memory_ledger.account_view("W").balance == 16000


def test_no_credit_once_paid_out(memory_ledger: Ledger) -> None:
    _enroll(memory_ledger, "E", region="suizhou", birth_date="1970-01-01")
    _enroll(memory_ledger, "D", region="suizhou", retired_on="2010-01-01")
    _step(memory_ledger, "contribution", person="E", month="2024-01", base="1000.00")
    _step(memory_ledger, "emigrate", person="E", date="2024-02-10")
    _step(memory_ledger, "death", person="D", date="2024-02-10")
    _step(memory_ledger, "inheritance", person="D", date="2024-02-20",
          heirs=[{"name": "H", "share": "1"}])
    # even for a month before leaving: the account is closed (paid out)
    assert _error(memory_ledger, "contribution", person="E", month="2024-02",
                  base="1000.00") is ErrorCode.ACCOUNT_CLOSED
    assert _error(memory_ledger, "allotment", person="D", month="2024-02") is (
        ErrorCode.ACCOUNT_CLOSED)


def test_one_credit_per_person_and_month(memory_ledger: Ledger) -> None:
    _enroll(memory_ledger, "A", region="nanchang", birth_date="1980-01-01")
    first = _step(memory_ledger, "contribution", person="A", month="2024-05", base="7777.77")
    events = memory_ledger.recorder.max_notification_id()
    assert first == {"credited": "155.56"}  # 155.5554 → 155.56
    assert _step(memory_ledger, "contribution", person="A", month="2024-05",
                 base="7777.77") == first
    assert memory_ledger.recorder.max_notification_id() == events
    assert _error(memory_ledger, "contribution", person="A", month="2024-05",
                  base="7777.78") is ErrorCode.DUPLICATE_CONFLICT
    assert memory_ledger.account_view("A").balance == 15556


def test_months_parsed_and_kept_are_the_months_written() -> None:
    """``Month.parse`` keeps what it parsed (a batch job parses one month per row): every
    month FORMAT.md allows, parsed twice, is still itself, with its last day and text."""
    import calendar as cal

    from policies.errors import InputError

    texts = [f"{1900 + n // 12:04d}-{n % 12 + 1:02d}" for n in range(300 * 12)]
    for _ in range(2):
        for text in texts:
            month = M(text)
            assert str(month) == text and month == Month(int(text[:4]), int(text[5:]))
            assert month.last_day.day == cal.monthrange(month.year, month.month)[1]
    with pytest.raises(InputError):
        M("2024-13")
