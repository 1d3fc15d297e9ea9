"""Fund monitoring and early warning (#15) on a demo year with planted anomalies.

The year (``monitoring_support.plant_year``): Yunnan 2025, 150 ordinary people, three visits
a month each at 17 institutions of three levels, and planted: a clinic whose cost per visit
triples from September, a pharmacy whose bills are mostly out of scope, an account paying
for 9 people, family payments just under 500.00, five pharmacy spends in a day, an account
drained after every credit, a person who reaches the yearly cap.

False-alarm rates, stated and tested with the default thresholds (``thresholds.toml``):
at most 2 % of the ordinary institution-months judged are flagged, and at most 1 % of the
ordinary accounts raise an alert.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import StoredEvent
from monitoring_support import JUMP, REGION, SWAP, YEAR, plant_year

from ledger import Ledger, open_ledger
from ledger.account import Account
from ledger.movement import movement
from ledger.reviews import AlertReview, ReviewAlert
from ledger.settings import SettingsError
from ledger.transaction import Settlement, Transaction
from policies.errors import ErrorCode, LedgerError
from projections import ViewReader, ViewWorker
from projections.audit import balance_as_of
from projections.monitoring import alerts as alert_rules
from projections.monitoring import indicators as ind
from projections.monitoring.settings import load_thresholds
from projections.monitoring.statement import statements, tie_out
from projections.stores.memory import MemoryViews

FALSE_ALARM_INSTITUTIONS = 0.02  # of ordinary institution-months judged
FALSE_ALARM_ACCOUNTS = 0.01  # of ordinary accounts
PEOPLE = 150


@pytest.fixture(scope="module")
def year() -> Iterator[tuple[Ledger, MemoryViews, list]]:
    ledger = open_ledger(":memory:")
    planted = plant_year(ledger, people=PEOPLE)
    views = MemoryViews()
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    yield ledger, views, planted
    ledger.close()


def domain_events(ledger: Ledger) -> list:
    return [ledger.mapper.to_domain_event(StoredEvent(n.originator_id, n.originator_version,
                                                      n.topic, n.state))
            for n in ledger.recorder.select_notifications(None, 10**9)]


def visits(ledger: Ledger) -> tuple[dict, set]:
    """Every settled visit's event by transaction, and the transactions reversed."""
    settled, reversed_ids = {}, set()
    for event in domain_events(ledger):
        if isinstance(event, Settlement.Settled):
            settled[event.originator_id] = event
        elif isinstance(event, Transaction.Reversed) and event.originator_id in settled:
            reversed_ids.add(event.originator_id)
    return settled, reversed_ids


# -- the fund statement ----------------------------------------------------------------


def test_the_statement_ties_out_to_the_fen_against_the_events_and_balances(year):
    ledger, views, planted = year
    net, lines = defaultdict(int), defaultdict(int)
    people = {}
    for event in domain_events(ledger):
        if isinstance(event, Account.Enrolled):
            people[event.originator_id] = event.person
        moved = movement(event)  # the value date and signed amount (ledger.movement)
        if moved is None:
            continue
        day, amount = moved
        month = (day.year, day.month)
        net[month] += amount
        if isinstance(event, Account.Debited):
            person = people[event.originator_id]
            kind = ("out.family." + event.purpose if event.beneficiary != person
                    else "out.settlement" if event.kind == "visit"
                    else "out.pharmacy" if event.purpose == "pharmacy"
                    else "out.spend." + event.purpose)
            lines[(month, kind)] += event.amount
        elif isinstance(event, Account.ContributionCredited):
            lines[(month, "in.contribution")] += event.amount
        elif isinstance(event, Account.AllotmentCredited):
            lines[(month, "in.allotment")] += event.amount
        elif isinstance(event, Account.DebitRestored):
            lines[(month, "in.restored")] += event.amount
    found = statements(views, REGION, YEAR)
    assert [s.month for s in found] == list(range(1, 13))
    reader = ViewReader(views, ledger.book)
    running = 0
    for statement in found:
        month = (YEAR, statement.month)
        assert statement.opening == running
        assert statement.total_in - statement.total_out == net[month]
        running += net[month]
        assert statement.closing == running
        for line in statement.inflows + statement.outflows:
            assert line.amount == lines[(month, line.code)], (month, line.code)
        assert sum(line.amount for line in statement.outflows) == sum(
            amount for (m, code), amount in lines.items() if m == month and code[:4] == "out.")
        check = tie_out(reader, statement)
        assert check.ties_out and check.balances == running
    # and against the aggregates, person by person, as the auditors' tool reads them
    for statement in (found[2], found[5], found[11]):
        day = statement.last_day
        total = sum(balance_as_of(ledger, person, day).balance for person in people.values())
        assert total == statement.closing
    assert found[11].closing == sum(ledger.account(p).balance for p in people.values())
    assert found[11].closing > 0 and found[11].total_out > 0


def test_pooling_expenditure_by_level_and_category_net_of_reversals(year):
    ledger, views, _ = year
    settled, reversed_ids = visits(ledger)
    assert reversed_ids, "the demo year reverses some visits"
    expected, over_cap, capped = defaultdict(int), defaultdict(int), defaultdict(int)
    for key, event in settled.items():
        if key in reversed_ids:
            continue
        r, month = event.result, event.request["date"][5:7]
        expected[(int(month), f"fund.{r['level']}.{r['category']}")] += r["fund_paid"]
        over_cap[int(month)] += r["over_cap"]
        capped[int(month)] += event.split["cap_left_before"] > 0 and r["cap_left_after"] == 0
    for statement in statements(views, REGION, YEAR):
        for line in statement.pooling:
            assert line.amount == expected[(statement.month, line.code)]
        assert statement.over_cap.amount == over_cap[statement.month]
        assert statement.capped.count == capped[statement.month]
    march, april, december = (statements(views, REGION, YEAR, m)[0] for m in (3, 4, 12))
    assert march.capped.count == 1 and april.over_cap.amount > 0  # CAPPER
    assert {line.code for line in march.pooling if line.amount} >= {
        "fund.1.employed", "fund.1.retired", "fund.2.employed", "fund.3.employed"}
    assert december.fund_paid_ytd == sum(amount for _, amount in expected.items())


# -- institution indicators -------------------------------------------------------------


def _flags(views, month):
    rules = load_thresholds("").institutions
    rows = ind.indicators(ind.months_of(views, REGION), REGION, YEAR, month)
    return rows, ind.flags(rows, rules), rules


def test_a_clinic_whose_cost_per_visit_jumps_is_flagged(year):
    _, views, _ = year
    for month in range(1, 13):
        rows, flags, rules = _flags(views, month)
        mine = {f.indicator: f for f in flags if f.institution == JUMP}
        judged = any(r.institution == JUMP and r.visits >= rules.min_visits for r in rows)
        if month < 9 or not judged:
            assert not mine, month
            continue
        assert {"total_per_visit", "in_scope_per_visit"} <= set(mine), month
        flag = mine["total_per_visit"]
        assert flag.value > 2 * flag.median and flag.article == "nanchang art. 42"
        assert flag.level == 1 and flag.peers >= rules.min_peers
        if month == 9:
            assert mine["growth_3m"].value > 1  # more than doubled against Jun–Aug


def test_a_pharmacy_with_a_high_self_pay_share_is_flagged(year):
    _, views, _ = year
    months = 0
    for month in range(1, 13):
        rows, flags, rules = _flags(views, month)
        mine = {f.indicator: f for f in flags if f.institution == SWAP}
        row = next(r for r in rows if r.institution == SWAP)
        if row.visits < rules.min_visits:
            continue
        assert {"self_pay_share", "out_of_scope_share"} <= set(mine), month
        share = mine["self_pay_share"]
        assert share.value == ind.Fraction(row.cash_paid + row.account_paid, row.total)
        assert share.value > share.median + rules.min_excess["self_pay_share"]
        months += 1
    assert months >= 8


def test_the_ordinary_institutions_stay_under_the_stated_false_alarm_rate(year):
    _, views, _ = year
    judged = flagged = 0
    for month in range(1, 13):
        rows, flags, rules = _flags(views, month)
        planted = {SWAP} | ({JUMP} if month >= 9 else set())
        ordinary = [r for r in rows if r.institution and r.institution not in planted
                    and r.visits >= rules.min_visits]
        judged += len(ordinary)
        flagged += len({(f.level, f.institution) for f in flags} & {(r.level, r.institution)
                                                                      for r in ordinary})
    assert judged >= 120
    assert flagged / judged <= FALSE_ALARM_INSTITUTIONS, (flagged, judged)


def test_visits_without_an_institution_are_reported_not_dropped(year):
    ledger, views, _ = year
    unknown = defaultdict(int)
    settled, reversed_ids = visits(ledger)
    for key, event in settled.items():
        if event.institution is None and key not in reversed_ids:
            unknown[int(event.request["date"][5:7])] += 1
    assert sum(unknown.values()) > 0
    for month in range(1, 13):
        rows, flags, _ = _flags(views, month)
        lines = [r for r in rows if not r.institution]
        assert sum(r.visits for r in lines) == unknown[month]
        assert all(r.name == ind.UNKNOWN for r in lines)
        assert not any(f.institution == "" for f in flags)
    every = sum(r.visits for m in range(1, 13) for r in _flags(views, m)[0])
    assert every == len(settled) - len(reversed_ids)


def test_the_thresholds_are_data_and_the_deployment_may_change_them(year):
    _, views, _ = year
    strict = load_thresholds('{"institutions": {"min_excess": {"total_per_visit": "9.00"}}}')
    rows = ind.indicators(ind.months_of(views, REGION), REGION, YEAR, 10)
    assert not [f for f in ind.flags(rows, strict.institutions)
                if f.indicator == "total_per_visit"]
    percentile = load_thresholds('{"institutions": {"method": "percentile"}}')
    by_percentile = {(f.institution, f.indicator) for f in ind.flags(rows, percentile.institutions)}
    assert (SWAP, "total_per_visit") in by_percentile  # above every other peer
    assert (SWAP, "self_pay_share") in by_percentile
    with pytest.raises(SettingsError, match="GONGJI_MONITORING: institutions.z"):
        load_thresholds('{"institutions": {"z": "many"}}')
    with pytest.raises(SettingsError, match="GONGJI_MONITORING is not JSON"):
        load_thresholds("{z")


# -- account-use alerts -----------------------------------------------------------------


def test_each_planted_account_raises_its_alert_with_its_article(year):
    _, views, planted = year
    rules = load_thresholds("").alerts
    found = {a.id: a for a in alert_rules.alerts(views, rules, REGION, YEAR)}
    pay9 = found[f"many_beneficiaries:PAY9:{YEAR}"]
    assert pay9.count == 9 and pay9.limit == rules.many_beneficiaries.beneficiaries
    assert pay9.article == rules.many_beneficiaries.article == "suizhou art. 25; jilin (十一)"
    assert found[f"near_threshold:NEAR:{YEAR}"].count == 4
    assert found[f"pharmacy_day:BURST:{YEAR}-05-20"].count == 5
    assert found[f"drained_after_credit:DRAIN:{YEAR}"].count == 12
    # PAY9's nine spends were on one day: the pharmacy-day rule sees them too
    assert set(found) == {f"many_beneficiaries:PAY9:{YEAR}", f"near_threshold:NEAR:{YEAR}",
                          f"pharmacy_day:BURST:{YEAR}-05-20", f"pharmacy_day:PAY9:{YEAR}-03-15",
                          f"drained_after_credit:DRAIN:{YEAR}"}
    ordinary = {a.person for a in found.values()} & set(planted.people)
    assert len(ordinary) / len(planted.people) <= FALSE_ALARM_ACCOUNTS
    assert all(a.status == "open" for a in found.values())
    higher = load_thresholds('{"alerts": {"many_beneficiaries": {"beneficiaries": 10}}}')
    assert f"many_beneficiaries:PAY9:{YEAR}" not in {
        a.id for a in alert_rules.alerts(views, higher.alerts)}


def test_a_review_is_an_event_once_per_review_id_and_shows_on_the_alert(year):
    ledger, _, _ = year
    alert = f"many_beneficiaries:PAY9:{YEAR}"
    review = ReviewAlert(review="R-1", alert=alert, outcome="referred", role="auditor",
                         note="9 people from one account: sent to inspection", reviewer="auditor-7",
                         date="2026-01-05")
    head = ledger.recorder.max_notification_id()
    first = ledger.review_alert(review)
    assert ledger.review_alert(review) == first  # a retry: nothing new
    assert ledger.recorder.max_notification_id() == head + 1
    with pytest.raises(LedgerError) as refused:
        ledger.review_alert(review.model_copy(update={"outcome": "acknowledged"}))
    assert refused.value.code is ErrorCode.DUPLICATE_CONFLICT
    views = MemoryViews()
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    found = {a.id: a for a in alert_rules.alerts(views, load_thresholds("").alerts)}
    assert found[alert].status == "referred"
    assert found[alert].reviews[0].reviewer == "auditor-7"
    assert found[alert].reviews[0].role == "auditor"
    event = domain_events(ledger)[-1]
    assert isinstance(event, AlertReview.Reviewed) and event.reviewer == "auditor-7"
    assert event.date == dt.date(2026, 1, 5)


@pytest.mark.parametrize("field, value", [("outcome", "ignored"), ("note", " "),
                                          ("alert", "PAY9"), ("reviewer", "a b")])
def test_a_bad_review_is_refused_naming_the_field(field, value):
    fields = {"review": "R-2", "alert": "pharmacy_day:P1:2025-01-01", "outcome": "acknowledged",
              "note": "seen", "reviewer": "A1", "date": "2025-02-01", field: value}
    with pytest.raises(ValueError, match=field):
        ReviewAlert(**fields)


def test_the_indicators_rebuilt_from_the_log_alone_equal_the_views(year):
    ledger, views, _ = year
    from projections.log import EventLog
    from projections.projection import state_decoder

    regions, read = ind.replay(EventLog(ledger.recorder), state_decoder(ledger.mapper), 1000)
    assert read == ledger.recorder.max_notification_id()
    assert regions == {REGION: ind.months_of(views, REGION)}
