"""The rulebook's decisions of DOMAIN.md 9 and FORMAT.md's check order, each pinned with a
figure worked out by hand (issue 8, "Rules that are wrong today")."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PARAMETERS

from ledger import Ledger, open_ledger
from ledger import commands as c
from policies.book import DATA_DIR, PolicyBook, PolicyFileError
from policies.errors import ErrorCode, LedgerError

VERSIONS = Path(__file__).with_name("policy_versions")


def refused(ledger: Ledger, command: c.Command) -> ErrorCode:
    with pytest.raises(LedgerError) as error:
        ledger.execute(command)
    return error.value.code


def events(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


def enroll(ledger: Ledger, person: str, region: str, **facts: object) -> None:
    ledger.execute(c.EnrollPerson(person=person, region=region,
                                  birth_date=facts.pop("birth_date", "1980-01-01"), **facts))


# -- 1. a later policy version supersedes an earlier one from its own start date ------


@pytest.fixture
def two_versions(tmp_path: Path) -> Iterator[Ledger]:
    """Every real policy file plus a second nanchang version from 2024-07-01."""
    data = tmp_path / "policies"
    shutil.copytree(DATA_DIR, data)
    shutil.copy(VERSIONS / "nanchang-2024.toml", data)
    book = PolicyBook.load(PARAMETERS, directory=data)
    ledger = Ledger(book, database_url=str(tmp_path / "versions.db"))
    yield ledger
    ledger.close()


def test_the_version_in_force_is_the_latest_started(two_versions: Ledger) -> None:
    import datetime as dt

    book = two_versions.book
    assert book.in_force("nanchang", dt.date(2024, 6, 30)).version == "2023"
    assert book.in_force("nanchang", dt.date(2024, 7, 1)).version == "2024-test"
    assert book.in_force("nanchang", dt.date(2030, 1, 1)).version == "2024-test"


def test_a_year_straddling_a_new_version_keeps_its_accumulations(two_versions: Ledger) -> None:
    ledger = two_versions
    enroll(ledger, "N", "nanchang")

    def visit(id: str, date: str, in_scope: str):
        return ledger.execute(c.SettleVisit(person="N", id=id, date=date, level=1,
                                            in_scope=in_scope, pay="none"))

    # 2023 version (deductible 600, level 1 rate 60%): all 500.00 goes to the deductible
    first = visit("V1", "2024-03-01", "500.00")
    assert (first.deductible_applied, first.fund_paid) == (50000, 0)
    # 2024 version from 07-01: deductible 300 already met by the 500.00 accumulated,
    # so all 400.00 is payable at 65%: 260.00 (under the old one: 100.00 deductible, 180.00)
    second = visit("V2", "2024-07-01", "400.00")
    assert (second.deductible_applied, second.fund_paid) == (0, 26000)
    assert second.articles["rate"] == "nanchang art. 7" and str(second.rate) == "0.65"
    # the new cap 2000.00: 1740.00 left of it; 3000.00 × 65% = 1950.00 → 1740.00 paid,
    # 210.00 over cap (the old cap 1800.00 would have left 1540.00)
    third = visit("V3", "2024-08-01", "3000.00")
    assert (third.fund_paid, third.over_cap) == (174000, 21000)
    usage = ledger.account("N").usage("nanchang", 2024)
    assert (usage["in_scope"], usage["deductible_applied"], usage["fund_paid"]) == \
        (390000, 50000, 200000)


def test_two_versions_starting_the_same_day_stop_the_load(tmp_path: Path) -> None:
    data = tmp_path / "policies"
    shutil.copytree(DATA_DIR, data)
    text = (DATA_DIR / "nanchang-2023.toml").read_text(encoding="utf-8")
    (data / "nanchang-2023b.toml").write_text(text.replace('version = "2023"',
                                                           'version = "2023b"'))
    with pytest.raises(PolicyFileError) as error:
        PolicyBook.load(PARAMETERS, directory=data)
    assert "nanchang-2023.toml" in str(error.value) and "nanchang-2023b.toml" in str(error.value)


# -- 2. contribution and allotment of the same person-month ---------------------------


def test_state_checks_come_before_the_other_kinds_duplicate(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "R", "suizhou", retired_on="2024-03-10")  # retired from April (次月)
    assert ledger.execute(c.RecordContribution(person="R", month="2024-03",
                                               base="5000.00")).credited == 10000
    # March is an employed month: the state check answers, not the shared key
    assert refused(ledger, c.CreditAllotment(person="R", month="2024-03")) == \
        ErrorCode.NOT_RETIRED
    assert refused(ledger, c.RecordContribution(person="R", month="2024-04",
                                                base="5000.00")) == ErrorCode.NOT_EMPLOYED
    # the same contribution again is a retry; with another base a conflict
    assert ledger.execute(c.RecordContribution(person="R", month="2024-03",
                                               base="5000.00")).credited == 10000
    assert refused(ledger, c.RecordContribution(person="R", month="2024-03",
                                                base="5000.01")) == ErrorCode.DUPLICATE_CONFLICT


def test_a_month_credited_by_the_other_kind_is_a_duplicate_conflict(
        memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "B", "suizhou")
    ledger.execute(c.RecordContribution(person="B", month="2024-05", base="5000.00"))
    # a back-dated retirement makes May a retired month, already credited by a contribution
    ledger.execute(c.RecordRetirement(person="B", date="2024-03-10"))
    before = events(ledger)
    assert refused(ledger, c.CreditAllotment(person="B", month="2024-05")) == \
        ErrorCode.DUPLICATE_CONFLICT
    assert ledger.execute(c.CreditAllotment(person="B", month="2024-06")).credited == 7000
    assert refused(ledger, c.RecordContribution(person="B", month="2024-06",
                                                base="5000.00")) == ErrorCode.NOT_EMPLOYED
    assert events(ledger) == before + 1
    assert ledger.account("B").balance == 10000 + 7000


# -- 3. a transfer ends a chongqing lump-sum (趸缴) period ------------------------------


def test_a_transfer_ends_the_lump_sum_period(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "L", "chongqing", scheme="lump_sum", lump_sum_until="2024-12")
    credit = ledger.execute(c.RecordContribution(person="L", month="2024-02", base="4000.00"))
    assert credit.article == ledger.book.in_force(
        "chongqing", __import__("datetime").date(2024, 2, 29)).credits.lump_sum_scheme_article
    ledger.execute(c.Transfer(person="L", to_region="suizhou", date="2024-03-01"))
    # in suizhou the person is an ordinary employed member: suizhou's article, 2% of base
    after = ledger.execute(c.RecordContribution(person="L", month="2024-04", base="4000.00"))
    assert (after.credited, after.article) == (8000, "suizhou art. 14(一)")
    assert ledger.account("L").facts.lump_sum_until is None


def test_after_a_transfer_the_period_end_no_longer_refuses_contributions(
        memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "M", "chongqing", scheme="lump_sum", lump_sum_until="2024-02")
    assert refused(ledger, c.RecordContribution(person="M", month="2024-03",
                                                base="4000.00")) == ErrorCode.NOT_EMPLOYED
    ledger.execute(c.Transfer(person="M", to_region="suizhou", date="2024-03-01"))
    assert ledger.execute(c.RecordContribution(person="M", month="2024-03",
                                               base="4000.00")).credited == 8000
    assert refused(ledger, c.CreditAllotment(person="M", month="2024-04")) == \
        ErrorCode.NOT_RETIRED


# -- 4. a transfer needs the destination's policy in force, not the source's ----------


def test_a_transfer_needs_the_destinations_policy_in_force(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "N", "nanchang")
    ledger.execute(c.RecordContribution(person="N", month="2024-01", base="5000.00"))
    before = events(ledger)
    # suizhou's only version ended 2024-12-31; yunnan's starts 2024-11-01
    assert refused(ledger, c.Transfer(person="N", to_region="suizhou", date="2025-02-01")) \
        == ErrorCode.NO_POLICY_IN_FORCE
    assert refused(ledger, c.Transfer(person="N", to_region="yunnan", date="2024-06-01")) \
        == ErrorCode.NO_POLICY_IN_FORCE
    assert events(ledger) == before
    assert ledger.account("N").region == "nanchang"
    # the source needs none: a suizhou person may leave after suizhou's policy ended
    enroll(ledger, "S", "suizhou")
    ledger.execute(c.RecordContribution(person="S", month="2024-01", base="5000.00"))
    moved = ledger.execute(c.Transfer(person="S", to_region="nanchang", date="2025-02-01"))
    assert moved.amount == 10000 and ledger.account("S").region == "nanchang"


# -- 5. interest only while open in the region that sets the rate ---------------------


@pytest.fixture
def nanchang_interest(tmp_path: Path) -> Iterator[Ledger]:
    parameters = {**PARAMETERS, "nanchang": {"average_pension": "3100.00",
                                             "interest_rate": "0.015"}}
    ledger = open_ledger(str(tmp_path / "interest.db"), parameters)
    yield ledger
    ledger.close()


def test_interest_only_for_the_days_in_the_region_that_sets_it(
        nanchang_interest: Ledger) -> None:
    ledger = nanchang_interest
    enroll(ledger, "T", "suizhou")
    ledger.execute(c.RecordContribution(person="T", month="2024-01", base="10000.00"))
    ledger.execute(c.Transfer(person="T", to_region="nanchang", date="2024-07-01"))
    closed = ledger.execute(c.CloseYear(year=2024))
    # 200.00 for the 184 days 07-01..12-31 in nanchang: 20000 × 184 × 0.015 / 360
    # = 153.33 fen → 153 (the whole year would be 366 days → 305)
    assert closed.interest == 153
    assert ledger.account("T").balance == 20000 + 153


def test_interest_stops_at_the_day_of_death(nanchang_interest: Ledger) -> None:
    ledger = nanchang_interest
    enroll(ledger, "D", "nanchang")
    ledger.execute(c.RecordContribution(person="D", month="2024-01", base="10000.00"))
    ledger.execute(c.RecordDeath(person="D", date="2024-03-31"))
    closed = ledger.execute(c.CloseYear(year=2024))
    # 01-01..03-31 = 91 days (2024 is a leap year): 20000 × 91 × 0.015 / 360 = 75.83 → 76
    assert closed.interest == 76


def test_a_person_who_left_the_rated_region_gets_its_days_only(
        nanchang_interest: Ledger) -> None:
    ledger = nanchang_interest
    enroll(ledger, "O", "nanchang")
    ledger.execute(c.RecordContribution(person="O", month="2024-01", base="10000.00"))
    ledger.execute(c.Transfer(person="O", to_region="suizhou", date="2024-02-01"))
    # 31 days of January in nanchang: 20000 × 31 × 0.015 / 360 = 25.83 → 26
    assert ledger.execute(c.CloseYear(year=2024)).interest == 26


# -- 6. enable_purposes opens only what a seed marks 探索 -------------------------------


@pytest.mark.parametrize(("region", "values"), [
    ("nanchang", {"average_pension": "3100.00",
                  "enable_purposes": {"catastrophic_insurance": ["family"]}}),
    ("nanchang", {"average_pension": "3100.00",
                  "enable_purposes": {"resident_insurance": ["self"]}}),
    ("chongqing", {"enable_purposes": {"commercial_insurance": ["self"]}}),
    ("yunnan", {"enable_purposes": {"ltc_insurance": ["self", "family"]}}),
    ("suizhou", {"enable_purposes": {"resident_insurance": ["self"]}}),
], ids=["nanchang-catastrophic-family", "nanchang-resident-self", "chongqing-commercial",
        "yunnan-ltc", "suizhou-resident-self"])
def test_enable_purposes_cannot_open_a_closed_purpose(region: str, values: object) -> None:
    book = PolicyBook.load({**PARAMETERS, region: values})
    assert region in book.invalid and "探索" in book.invalid[region]


def test_enable_purposes_opens_an_explore_purpose(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "explore.db"), {
        **PARAMETERS, "suizhou": {"enable_purposes": {"resident_insurance": ["family"]}}})
    try:
        enroll(ledger, "P", "suizhou")
        enroll(ledger, "K", "suizhou", birth_date="2010-01-01")
        ledger.execute(c.RecordContribution(person="P", month="2024-01", base="5000.00"))
        ledger.execute(c.BindFamilyMember(owner="P", member="K", relation="child",
                                          date="2024-01-01"))
        spent = ledger.execute(c.Spend(payer="P", beneficiary="K", purpose="resident_insurance",
                                       amount="30.00", id="S1", date="2024-02-01"))
        assert spent.paid == 3000
        assert refused(ledger, c.Spend(payer="P", purpose="resident_insurance",
                                       amount="30.00", id="S2", date="2024-02-01")) == \
            ErrorCode.PURPOSE_NOT_ALLOWED
    finally:
        ledger.close()


# -- 7. repeats without an id, unbind dates, lump_sum region, missing pension ---------


def test_repeats_without_an_id(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "A", "suizhou")
    ledger.execute(c.RecordRetirement(person="A", date="2024-03-10"))
    before = events(ledger)
    ledger.execute(c.RecordRetirement(person="A", date="2024-03-10"))  # harmless retry
    assert refused(ledger, c.RecordRetirement(person="A", date="2024-04-10")) == \
        ErrorCode.NOT_EMPLOYED
    ledger.execute(c.RecordDeath(person="A", date="2024-05-01"))
    ledger.execute(c.RecordDeath(person="A", date="2024-05-01"))  # harmless retry
    ledger.execute(c.RecordRetirement(person="A", date="2024-03-10"))  # still a retry
    assert refused(ledger, c.RecordDeath(person="A", date="2024-05-02")) == \
        ErrorCode.ACCOUNT_CLOSED
    assert events(ledger) == before + 1
    enroll(ledger, "E", "suizhou")
    ledger.execute(c.Emigrate(person="E", date="2024-02-01"))
    assert refused(ledger, c.Emigrate(person="E", date="2024-02-01")) == \
        ErrorCode.ACCOUNT_CLOSED


def test_an_unbind_needs_a_binding_active_on_its_date(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    enroll(ledger, "O", "suizhou")
    enroll(ledger, "C", "suizhou", birth_date="2010-01-01")
    assert refused(ledger, c.UnbindFamilyMember(owner="O", member="C", date="2024-01-01")) \
        == ErrorCode.NOT_BOUND
    ledger.execute(c.BindFamilyMember(owner="O", member="C", relation="child",
                                      date="2024-05-01"))
    assert refused(ledger, c.UnbindFamilyMember(owner="O", member="C", date="2024-04-30")) \
        == ErrorCode.NOT_BOUND
    ledger.execute(c.UnbindFamilyMember(owner="O", member="C", date="2024-05-01"))
    assert refused(ledger, c.UnbindFamilyMember(owner="O", member="C", date="2024-06-01")) \
        == ErrorCode.NOT_BOUND


def test_lump_sum_outside_nanchang_is_invalid_input(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    for region in ("suizhou", "chongqing", "yunnan", "jilin"):
        enroll(ledger, f"X{region}", region)
        assert refused(ledger, c.CreditLumpSum(person=f"X{region}", id=f"L{region}",
                                               date="2024-12-01", base="1000.00")) == \
            ErrorCode.INVALID_INPUT
    enroll(ledger, "N", "nanchang")
    assert ledger.execute(c.CreditLumpSum(person="N", id="L1", date="2024-01-05",
                                          base="1000.00")).credited == 2000


def test_a_missing_average_pension_comes_before_the_account_state(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "pension.db"), {"jilin": PARAMETERS["jilin"]})
    try:
        enroll(ledger, "W", "nanchang")  # employed: the state check would say not_retired
        assert refused(ledger, c.CreditAllotment(person="W", month="2024-01")) == \
            ErrorCode.POLICY_INVALID
        ledger.execute(c.Emigrate(person="W", date="2024-02-01"))  # closed: account_closed
        assert refused(ledger, c.CreditAllotment(person="W", month="2024-01")) == \
            ErrorCode.POLICY_INVALID
        # the rest of nanchang works without the parameter
        enroll(ledger, "V", "nanchang")
        assert ledger.execute(c.RecordContribution(person="V", month="2024-01",
                                                   base="5000.00")).credited == 10000
    finally:
        ledger.close()
