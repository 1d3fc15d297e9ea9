"""The what-if (政策测算): a recorded nanchang year re-priced under a draft, worked by hand.

nanchang 2023 in force: deductible 600 (accumulated), employed 60/55/50 %, retired
65/60/55 %, caps 1800 employed / 2000 retired. The example draft: deductible 300, rates
65/60/55 % for both, caps 2000 / 3000.

A (employed):  V1 02-01 L1 500 | V2 03-01 L2 1000 + 20 out of scope | V3 03-10 L1 2000,
               reversed 03-12 after V3b 03-11 L1 500 | V4 04-01 L1 4000
  in force: V1 ded 500 fund 0 · V2 ded 100, 900×.55 = 495 · V3 1200 (cap left 1305) ·
            V3b raw 300, cap left 105 → 105, over 195 · V3 out: fund 600 · V4 raw 2400,
            cap left 1200 → 1200, over 1200.  Kept: fund 1800, self 4220, ded 600, over 1395
  draft:    V1 ded 300, 200×.65 = 130 · V2 1000×.60 = 600 · V3 raw 1300, left 1270 →
            1270 · V3b raw 325, left 0 → 0 · V3 out: fund 730 · V4 raw 2600, left 1270 →
            1270.  Kept: fund 2000, self 4020, ded 300, over 1655
B (retired):   W1 05-06 L3 1000 | W2 05-07 L1 200 not_designated
  in force: ded 600, 400×.55 = 220, self 780 · W2 no pooling, self 200
  draft:    ded 300, 700×.55 = 385, self 615 · W2 self 200
Left out: C's visit of 2023 and D's visit in suizhou.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PARAMETERS
from typer.testing import CliRunner

from cli.main import app
from ledger import Ledger, open_ledger
from ledger.commands import (
    CreditAllotment,
    EnrollPerson,
    RecordContribution,
    Reverse,
    SettleVisit,
)
from projections.whatif import load_draft, what_if
from projections.whatif.present import document

ROOT = Path(__file__).resolve().parents[1]
FINAL = ROOT / "examples" / "what-if" / "nanchang-final.toml"
NANCHANG = ROOT / "policies" / "data" / "nanchang-2023.toml"


def record_year(ledger: Ledger) -> None:
    ledger.enroll(EnrollPerson(person="A", region="nanchang", birth_date="1980-01-01"))
    ledger.enroll(EnrollPerson(person="B", region="nanchang", birth_date="1958-03-01",
                               retired_on="2020-06-30"))
    ledger.enroll(EnrollPerson(person="C", region="nanchang", birth_date="1985-01-01"))
    ledger.enroll(EnrollPerson(person="D", region="suizhou", birth_date="1985-01-01"))
    ledger.credit_contribution(RecordContribution(person="A", month="2024-01", base="5000.00"))
    ledger.credit_contribution(RecordContribution(person="C", month="2023-12", base="5000.00"))
    ledger.credit_allotment(CreditAllotment(person="B", month="2024-01"))
    visits = [
        ("C", "X1", "2023-12-20", 1, "900.00", "0.00", ()),
        ("A", "V1", "2024-02-01", 1, "500.00", "0.00", ()),
        ("A", "V2", "2024-03-01", 2, "1000.00", "20.00", ()),
        ("A", "V3", "2024-03-10", 1, "2000.00", "0.00", ()),
        ("A", "V3b", "2024-03-11", 1, "500.00", "0.00", ()),
        ("D", "Y1", "2024-03-11", 1, "900.00", "0.00", ()),
    ]
    for person, vid, day, level, amount, outside, flags in visits:
        ledger.settle_visit(SettleVisit(person=person, id=vid, date=day, level=level,
                                        in_scope=amount, out_of_scope=outside, flags=flags))
    ledger.reverse(Reverse(id="V3", date="2024-03-12"))
    ledger.settle_visit(SettleVisit(person="A", id="V4", date="2024-04-01", level=1,
                                    in_scope="4000.00"))
    ledger.settle_visit(SettleVisit(person="B", id="W1", date="2024-05-06", level=3,
                                    in_scope="1000.00"))
    ledger.settle_visit(SettleVisit(person="B", id="W2", date="2024-05-07", level=1,
                                    in_scope="200.00", flags=("not_designated",)))


@pytest.fixture
def year(ledger: Ledger) -> Ledger:
    record_year(ledger)
    return ledger


def test_the_year_re_priced_under_the_draft_by_hand(year: Ledger) -> None:
    head = year.recorder.max_notification_id()
    result = what_if(year, "nanchang", 2024, [load_draft(FINAL, "nanchang", PARAMETERS)])
    assert year.recorder.max_notification_id() == head  # writes nothing
    assert result.check.ok and result.check.visits == 7  # V3 too, though reversed
    assert [v.id for v in result.record.visits] == ["V1", "V2", "V3", "V3b", "V4", "W1", "W2"]
    draft = result.drafts[0].name
    assert draft == "nanchang-final"
    assert result.totals["actual"] == {
        "visits": 6, "eligible_in_scope": 700000, "deductible_applied": 120000,
        "fund_paid": 202000, "over_cap": 139500, "self_pay": 520000}
    assert result.totals[draft] == {
        "visits": 6, "eligible_in_scope": 700000, "deductible_applied": 60000,
        "fund_paid": 238500, "over_cap": 165500, "self_pay": 483500}
    # by month × level × category
    assert result.breakdown[(3, 1, "employed")]["actual"]["fund_paid"] == 10500  # V3b only
    assert result.breakdown[(3, 1, "employed")][draft]["fund_paid"] == 0
    assert result.breakdown[(4, 1, "employed")][draft]["over_cap"] == 133000
    assert result.breakdown[(5, 3, "retired")][draft]["deductible_applied"] == 30000
    assert result.breakdown[(5, 1, "retired")]["actual"] == {
        "visits": 1, "eligible_in_scope": 0, "deductible_applied": 0, "fund_paid": 0,
        "over_cap": 0, "self_pay": 20000}
    assert sorted(result.breakdown) == [(2, 1, "employed"), (3, 1, "employed"),
                                        (3, 2, "employed"), (4, 1, "employed"),
                                        (5, 1, "retired"), (5, 3, "retired")]
    assert result.monthly()[3] == {"actual": 60000, draft: 60000}
    # people
    assert result.people == 2 and result.capped == {"actual": 1, draft: 1}
    changes = result.drafts[0].people
    assert [(c.person, c.actual, c.draft, c.change) for c in changes] == [
        ("A", 422000, 402000, -20000), ("B", 98000, 81500, -16500)]
    assert result.drafts[0].deciles == [-20000, -20000, -20000, -20000, -20000, -20000,
                                        -16500, -16500, -16500, -16500, -16500]
    assert result.drafts[0].credits is None  # the example keeps the credit rules


def test_a_draft_that_changes_credits_recomputes_the_year_s_credits(year: Ledger,
                                                                   tmp_path: Path) -> None:
    text = NANCHANG.read_text(encoding="utf-8").replace(
        'employed_rate = "0.02"', 'employed_rate = "0.03"').replace(
        'share = "0.025"', 'share = "0.03"')
    draft_file = tmp_path / "richer.toml"
    draft_file.write_text(text, encoding="utf-8")
    result = what_if(year, "nanchang", 2024, [load_draft(draft_file, "nanchang", PARAMETERS)])
    credits = result.drafts[0].credits
    assert credits is not None
    # A's 2024-01: 5000 × 2 % = 100.00 → × 3 % = 150.00; B's allotment 3100 × 2.5 % = 77.50
    # → × 3 % = 93.00; C's 2023-12 contribution is another year
    assert credits.rows == {"contribution": [1, 10000, 15000], "allotment": [1, 7750, 9300]}
    assert credits.people == 2 and credits.refused == {}
    assert result.totals["richer"] == result.totals["actual"]  # same pooling figures


def test_several_drafts_side_by_side(year: Ledger) -> None:
    actual_rules = load_draft(NANCHANG, "nanchang", PARAMETERS)
    final = load_draft(FINAL, "nanchang", PARAMETERS)
    result = what_if(year, "nanchang", 2024, [final, actual_rules])
    assert result.scenarios == ["actual", "nanchang-final", "nanchang-2023"]
    assert result.totals["nanchang-2023"] == result.totals["actual"]
    totals = document(result)["tables"]["totals"]
    assert totals[3] == {"measure": "fund_paid", "actual": "2020.00",
                         "nanchang-final": "2385.00", "change nanchang-final": "365.00",
                         "nanchang-2023": "2020.00", "change nanchang-2023": "0.00"}
    assert totals[0]["actual"] == 6  # visits are counted, not yuan


def test_the_self_check_names_a_settlement_the_policy_no_longer_gives(year: Ledger) -> None:
    """A policy file changed after the fact: the in-force re-pricing differs from the record."""
    book = year.book
    policy = book.versions["nanchang"][0]
    changed = policy.model_copy(update={"pooling": policy.pooling.model_copy(
        update={"deductible": policy.pooling.deductible.model_copy(
            update={"employed": 50000})})})
    book.versions["nanchang"][0] = changed
    result = what_if(year, "nanchang", 2024, [])
    assert not result.check.ok
    assert result.check.differences[0] == (
        "visit 'V2' of A: deductible_applied recorded 100.00, re-priced 0.00")
    assert result.check.line().startswith("SELF-CHECK FAILED: ")


def test_a_broken_draft_is_refused_with_file_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "typo.toml"
    broken.write_text(FINAL.read_text(encoding="utf-8").replace('"0.65", "0.60"',
                                                                 '"0.65", "sixty"', 1))
    with pytest.raises(Exception) as caught:
        load_draft(broken, "nanchang", PARAMETERS)
    assert caught.value.code == "invalid_input" and caught.value.field == "policy"
    assert "typo.toml" in caught.value.message
    assert "pooling.rates.employed.1" in caught.value.message


def test_a_jilin_draft_is_checked_against_the_provincial_framework(tmp_path: Path) -> None:
    jilin = ROOT / "policies" / "data" / "jilin-2021.toml"
    low = {"jilin": {**PARAMETERS["jilin"], "rates_employed": ["0.40", "0.40", "0.40"]}}
    with pytest.raises(Exception) as caught:
        load_draft(jilin, "jilin", low)
    assert "jilin-2021.toml: parameters: jilin employed rate at level 1 is 0.4" in \
        caught.value.message
    assert load_draft(jilin, "jilin", PARAMETERS).policy.pooling.deductible.employed == 80000


def run_cli(ledger: Ledger, *args: str):
    database = ledger.env["SQLITE_DBNAME"]
    return CliRunner().invoke(app, ["what-if", "--database", database, *args],
                              env={"GONGJI_POLICY_PARAMETERS": json.dumps(PARAMETERS)})


def test_cli_prints_the_self_check_and_writes_files(memory_ledger: Ledger,
                                                    tmp_path: Path) -> None:
    record_year(memory_ledger)
    out = tmp_path / "out"
    result = run_cli(memory_ledger, "--region", "nanchang", "--year", "2024",
                     "--policy", str(FINAL), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "self-check: 7 settled visits re-priced under the policy in force reproduce" \
        in result.output
    assert "2385.00" in result.output and "-365.00" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "breakdown.csv", "cap.csv", "fund_paid_by_month.csv", "fund_paid_by_month.png",
        "fund_paid_by_month.svg", "gain_and_lose_most.csv", "people.csv",
        "personal_account_credits.csv", "self_check.csv", "self_pay_change.png",
        "self_pay_change.svg", "self_pay_change_deciles.csv", "totals.csv",
        "what-if-nanchang-2024.xlsx"])
    assert (out / "people.csv").read_text().splitlines() == [
        "person,self_pay actual,self_pay nanchang-final,self_pay change nanchang-final",
        "A,4220.00,4020.00,-200.00", "B,980.00,815.00,-165.00"]
    assert (out / "fund_paid_by_month.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from openpyxl import load_workbook

    sheet = load_workbook(out / "what-if-nanchang-2024.xlsx")["totals"]
    assert [c.value for c in sheet[5]] == ["fund_paid", 2020, 2385, 365]


def test_cli_refuses_a_broken_draft_and_a_missing_store(memory_ledger: Ledger,
                                                        tmp_path: Path) -> None:
    record_year(memory_ledger)
    broken = tmp_path / "typo.toml"
    broken.write_text(FINAL.read_text(encoding="utf-8").replace('retired = "3000.00"',
                                                                 'retired = "3000.001"'))
    result = run_cli(memory_ledger, "--region", "nanchang", "--year", "2024",
                     "--policy", str(broken))
    assert result.exit_code == 2
    assert "invalid_input: draft policy typo.toml: pooling.caps.standard.retired" in \
        " ".join(result.output.split())
    assert "草案政策文件" in result.output
    missing = CliRunner().invoke(app, ["what-if", "--database", str(tmp_path / "none.db"),
                                       "--region", "nanchang", "--year", "2024",
                                       "--policy", str(FINAL)])
    assert missing.exit_code == 2 and "no event store" in missing.output
    assert not (tmp_path / "none.db").exists()
    json_run = run_cli(memory_ledger, "--region", "nanchang", "--year", "2024",
                       "--policy", str(FINAL), "--json")
    assert json.loads(json_run.stdout)["self_check"]["ok"] is True
