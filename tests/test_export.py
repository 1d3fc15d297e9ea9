"""Tables in files and pipes keep every character; ``--format``; ``gongji export``.

Today ``gongji audit explain P > file`` is cut to 80 columns (rich's width without a
terminal): articles and details end in "…" or are folded into pieces. The report files
(balances as of a day, fund totals of a year) did not exist.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app as cli
from conftest import PARAMETERS
from ledger import open_ledger
from ledger.commands import EnrollPerson, RecordContribution, Reverse, SettleVisit
from projections import ViewWorker, open_views

DETAIL = "month=2024-03, base=12345.67"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two suizhou people with credits, visits and a reversal; the views caught up."""
    url = str(tmp_path / "g.db")
    ledger = open_ledger(url, PARAMETERS)
    for person in ("P-long-identifier-000000000001", "P2"):
        ledger.enroll(EnrollPerson(person=person, region="suizhou", birth_date="1980-01-01"))
        for month in ("2024-01", "2024-02", "2024-03"):
            ledger.credit_contribution(RecordContribution(person=person, month=month,
                                                          base="12345.67"))
    ledger.settle_visit(SettleVisit(person="P2", id="V1", date="2024-02-10", level=1,
                                    in_scope="100.00"))
    ledger.settle_visit(SettleVisit(person="P2", id="V2", date="2024-03-05", level=1,
                                    in_scope="60.00"))
    ledger.reverse(Reverse(id="V2", date="2024-03-06"))
    views = open_views(url)
    ViewWorker(ledger.recorder, ledger.mapper, views).catch_up()
    views.close()
    ledger.close()
    monkeypatch.setenv("GONGJI_DATABASE_URL", url)
    monkeypatch.setenv("GONGJI_POLICY_PARAMETERS", json.dumps(PARAMETERS))
    monkeypatch.chdir(tmp_path)
    return url


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_table_in_a_file_is_not_cut_to_80_columns(store: str):
    text = _run("audit", "explain", "P-long-identifier-000000000001")
    lines = text.splitlines()
    assert max(map(len, lines)) > 80
    assert "…" not in text
    row = next(line for line in lines if DETAIL in line)  # one line, whole
    assert "P-long-identifier-000000000001" in row and "246.91" in row  # 2% of 12345.67


def test_format_csv_and_json(store: str):
    rows = list(csv.reader(io.StringIO(_run("audit", "explain", "P2", "--format", "csv"))))
    assert rows[0] == ["v", "date", "event", "account", "amount", "balance after", "articles",
                       "detail"]
    assert rows[2][:6] == ["2", "2024-01-01", "ContributionCredited", "P2", "246.91",
                           "246.91"]
    as_json = json.loads(_run("audit", "explain", "P2", "--format", "json"))
    assert as_json == json.loads(_run("audit", "explain", "P2", "--json"))
    pooling = list(csv.reader(io.StringIO(_run(
        "audit", "pooling", "P2", "--as-of", "2024-12-31", "--format", "csv"))))
    assert pooling[0][:3] == ["region", "year", "in_scope"] and pooling[1][:2] == ["suizhou",
                                                                                  "2024"]


def test_export_balances_csv_agrees_with_the_audit(store: str, tmp_path: Path):
    text = _run("export", "balances", "--as-of", "2024-02-29")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["person"] for r in rows] == ["P-long-identifier-000000000001", "P2"]
    for row in rows:
        audit = json.loads(_run("audit", "balance", row["person"], "--as-of", "2024-02-29",
                                "--json"))
        assert row["balance"] == f"{Decimal(audit['balance']):.2f}"
        assert (row["region"], row["status"], row["as_of"]) == ("suizhou", "active",
                                                                "2024-02-29")
    assert rows[0]["balance"] == "493.82"  # two months of 246.91
    path = tmp_path / "balances.csv"
    _run("export", "balances", "--as-of", "2024-02-29", "--output", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with its byte-order mark
    assert raw.decode("utf-8-sig").replace("\r\n", "\n") == text.replace("\r\n", "\n")


def test_export_xlsx_keeps_exact_amounts(store: str, tmp_path: Path):
    path = tmp_path / "funds.xlsx"
    _run("export", "fund-totals", "--year", "2024", "--output", str(path))
    sheet = load_workbook(path).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["region", "year", "month", "level", "fund_paid", "account_paid",
                       "family_paid", "cash_paid", "visits", "reversed"]
    assert [row[:4] + row[8:] for row in rows[1:]] == [["suizhou", 2024, 2, 1, 1, 0],
                                                      ["suizhou", 2024, 3, 1, 0, 1]]
    text = list(csv.reader(io.StringIO(_run("export", "fund-totals", "--year", "2024"))))
    for xlsx_row, csv_row in zip(rows[1:], text[1:]):
        for column in range(4, 8):
            assert isinstance(xlsx_row[column], (int, float))
            assert f"{Decimal(str(xlsx_row[column])):.2f}" == csv_row[column]
    assert text[2][4:8] == ["0.00", "0.00", "0.00", "0.00"]  # the reversed visit nets out
    balances = tmp_path / "b.xlsx"
    _run("export", "balances", "--as-of", "2024-03-31", "--output", str(balances))
    cells = list(load_workbook(balances).active.iter_rows(values_only=True))
    assert cells[1][:4] == ("P-long-identifier-000000000001", "suizhou", "active",
                            "2024-03-31")
    assert f"{Decimal(str(cells[1][4])):.2f}" == "740.73"
    assert load_workbook(balances).active["E2"].number_format == "0.00"


def test_export_refusals(store: str, tmp_path: Path):
    runner = CliRunner()
    for args, message in (
        (["balances", "--as-of", "2024-02-30"], "not a calendar date"),
        (["balances", "--as-of", "2024-02-29", "--region", "atlantis"], "the regions are"),
        (["fund-totals", "--year", "2024", "--output", str(tmp_path / "x.pdf")],
         "name a .csv or .xlsx file"),
    ):
        result = runner.invoke(cli, ["export", *args])
        assert result.exit_code == 2 and message in result.output, result.output
