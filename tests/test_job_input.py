"""Job arguments and input files are checked before anything is written: regions, the
encodings Excel writes on Chinese Windows (GB18030/GBK), .xlsx workbooks, headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from jobs_support import PEOPLE_HEADER
from ledger import open_ledger
from test_fail_cleanly import gongji, refused

REGIONS = "chongqing, jilin, nanchang, suizhou, yunnan"


@pytest.mark.parametrize("command", [["jobs", "allot-month", "--month", "2025-03"],
                                     ["jobs", "close-year", "--year", "2024"]])
def test_an_unknown_region_exits_2_listing_the_regions(tmp_path: Path, command):
    store = tmp_path / "g.db"
    result = gongji(*command, "--region", "atlantis", GONGJI_DATABASE_URL=str(store))
    assert result.exit_code == 2
    assert "no region 'atlantis'" in result.stderr
    assert REGIONS in " ".join(result.stderr.replace("│", " ").split())
    assert not store.exists()


def test_a_gb18030_csv_from_excel_imports_with_its_chinese_names(tmp_path: Path):
    people = tmp_path / "参保人员.csv"
    people.write_bytes((PEOPLE_HEADER + "张三,yunnan,1980-01-02,,,,\n"
                        "李四,suizhou,1950-03-04,,2010-03-04,30,30\n").encode("gb18030"))
    store = str(tmp_path / "g.db")
    result = gongji("people", "import", str(people), GONGJI_DATABASE_URL=store)
    assert result.exit_code == 0, (result.output, result.exception)
    contributions = tmp_path / "c.csv"
    contributions.write_bytes("person,month,base\n张三,2025-03,5000.00\n".encode("gbk"))
    result = gongji("jobs", "credit-month", str(contributions), "--encoding", "gbk",
                    GONGJI_DATABASE_URL=store)
    assert result.exit_code == 0, (result.output, result.exception)
    ledger = open_ledger(store)
    try:
        assert ledger.account_view("张三").region == "yunnan"
        assert ledger.account_view("张三").balance == 10000  # 2% of 5000.00
        assert ledger.account_view("李四").region == "suizhou"
    finally:
        ledger.close()


def test_a_named_encoding_that_does_not_fit_is_one_error_and_writes_nothing(tmp_path: Path):
    people = tmp_path / "people.csv"
    people.write_bytes((PEOPLE_HEADER + "张三,yunnan,1980-01-02,,,,\n").encode("gb18030"))
    store = tmp_path / "g.db"
    result = gongji("people", "import", str(people), "--encoding", "utf-8",
                    GONGJI_DATABASE_URL=str(store))
    message = refused(result, "invalid_input", "is not utf-8 text", "--encoding")
    assert "nothing was written" in message
    assert not store.exists() and not (tmp_path / "people.rejects.csv").exists()


def test_an_xlsx_workbook_imports_with_typed_cells(tmp_path: Path):
    book = Workbook()
    sheet = book.active
    sheet.append(PEOPLE_HEADER.strip().split(","))
    sheet.append(["王五", "yunnan", dt.date(1980, 1, 2)])  # trailing empty cells
    sheet.append(["赵六", "suizhou", dt.datetime(1950, 3, 4), None, dt.date(2010, 3, 4), 30, 30])
    book.save(tmp_path / "people.xlsx")
    book = Workbook()
    sheet = book.active
    sheet.append(["person", "month", "base"])
    sheet.append(["王五", dt.date(2025, 3, 1), 5000.5])  # a date cell, a number cell
    sheet.append(["王五", "2025-04", 3000])
    book.save(tmp_path / "contributions.xlsx")
    store = str(tmp_path / "g.db")
    result = gongji("people", "import", str(tmp_path / "people.xlsx"),
                    GONGJI_DATABASE_URL=store)
    assert result.exit_code == 0, (result.output, result.exception)
    result = gongji("jobs", "credit-month", str(tmp_path / "contributions.xlsx"),
                    GONGJI_DATABASE_URL=store)
    assert result.exit_code == 0, (result.output, result.exception)
    ledger = open_ledger(store)
    try:
        assert ledger.account_view("王五").balance == 10001 + 6000  # 2% of 5000.50, 3000.00
        assert ledger.account_view("赵六").category == "retired"
    finally:
        ledger.close()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_wrong_headers_are_one_error_before_anything_is_written(tmp_path: Path, suffix: str):
    path = tmp_path / f"c{suffix}"
    if suffix == ".csv":
        path.write_text("person,mnth,base\nA,2024-03,5000.00\n", encoding="utf-8")
    else:
        book = Workbook()
        book.active.append(["person", "mnth", "base"])
        book.active.append(["A", "2024-03", "5000.00"])
        book.save(path)
    store = tmp_path / "g.db"
    message = refused(gongji("jobs", "credit-month", str(path),
                             GONGJI_DATABASE_URL=str(store)),
                      "invalid_input", "the header must be person,month,base",
                      "missing month", "unknown mnth", "nothing was written")
    assert len(message.splitlines()) == 1
    assert not store.exists() and sorted(p.name for p in tmp_path.iterdir()) == [path.name]
