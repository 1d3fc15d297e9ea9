"""The monthly fund statement (门诊共济基金月度收支统计, nanchang art. 22, 41; chongqing).

Read from the ``statement`` view (:mod:`projections.monitoring.flows`): for a region and a
month, the pooling fund's outpatient expenditure by level and category, the personal
accounts' inflows and outflows by kind, the over-cap amounts and how many people reached
the cap, each with its year-to-date figure; and the accounts' opening and closing totals:
opening + inflows − outflows = closing. :func:`tie_out` checks that closing against Σ
balances at the month's end read from the daily-balance view, a second path through the
same events, by the region each account was in that day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from projections.monitoring.flows import CAPPED, CASH, FUND, INFLOWS, OUTFLOWS, OVER_CAP
from projections.stores.base import ViewStore
from projections.tables import STATEMENT

PURPOSES = {
    "medical": "outpatient visits 门诊就医", "pharmacy": "pharmacy 定点药店购药",
    "resident_insurance": "resident insurance 城乡居民医保缴费",
    "ltc_insurance": "long-term care insurance 长期护理保险缴费",
    "catastrophic_insurance": "catastrophic insurance 职工大病保险",
    "commercial_insurance": "commercial insurance 商业补充医疗保险",
}
LEVELS = {1: "level 1 一级及以下", 2: "level 2 二级", 3: "level 3 三级"}
CATEGORIES = {"employed": "employed 在职", "retired": "retired 退休"}
Month = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the statement: this month's amount (fen) and count, and year to date."""

    code: str
    label: str
    amount: int
    count: int
    ytd_amount: int
    ytd_count: int


@dataclass(frozen=True, slots=True)
class Statement:
    """A region's fund statement for one month (amounts in fen)."""

    region: str
    year: int
    month: int
    opening: int  # Σ personal-account balances at the start of the month
    inflows: list[Line] = field(default_factory=list)
    outflows: list[Line] = field(default_factory=list)
    pooling: list[Line] = field(default_factory=list)  # fund paid by level and category
    over_cap: Line | None = None
    capped: Line | None = None  # people whose visit used the last of their yearly cap
    cash: Line | None = None  # what patients paid in cash at the visits

    @property
    def total_in(self) -> int:
        return sum(line.amount for line in self.inflows)

    @property
    def total_out(self) -> int:
        return sum(line.amount for line in self.outflows)

    @property
    def closing(self) -> int:
        return self.opening + self.total_in - self.total_out

    @property
    def fund_paid(self) -> int:
        return sum(line.amount for line in self.pooling)

    @property
    def fund_paid_ytd(self) -> int:
        return sum(line.ytd_amount for line in self.pooling)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def label(code: str) -> str:
    """A statement line's English and Chinese name."""
    if code in INFLOWS:
        return INFLOWS[code]
    if code in OUTFLOWS:
        return OUTFLOWS[code]
    head, _, purpose = code.rpartition(".")
    if head in ("out.family", "out.spend"):
        return f"{OUTFLOWS[head]}: {PURPOSES.get(purpose, purpose)}"
    if code.startswith(FUND + "."):
        _, level, category = code.split(".")
        return (f"pooling fund 统筹基金, {LEVELS.get(int(level), level)}, "
                f"{CATEGORIES.get(category, category)}")
    return {OVER_CAP: "over the yearly cap 超过年度最高支付限额",
            CAPPED: "people who reached the yearly cap 达到年度限额人数",
            CASH: "patients' cash at visits 个人现金支付"}.get(code, code)


def _order(code: str) -> tuple[int, str]:
    keys = list(INFLOWS) + list(OUTFLOWS)
    head = code if code in keys else code.rpartition(".")[0]
    return (keys.index(head) if head in keys else len(keys), code)


def statements(views: ViewStore, region: str, year: int,
               month: int | None = None) -> list[Statement]:
    """The statements of ``region`` for ``month`` of ``year``, or every month of the year
    up to the last with a movement (all twelve once the year is over)."""
    months: dict[Month, dict[str, tuple[int, int]]] = {}
    for row in views.rows(STATEMENT.name, region):
        months.setdefault((row["year"], row["month"]), {})[row["line"]] = \
            (row["amount"], row["count"])
    last = max(months, default=None)
    wanted = [month] if month is not None else [
        m for m in range(1, 13) if last is not None and (year, m) <= last]
    return [_statement(months, region, year, number) for number in wanted]


def _net(lines: dict[str, tuple[int, int]]) -> int:
    return sum(amount if code.startswith("in.") else -amount
               for code, (amount, _) in lines.items() if code.startswith(("in.", "out.")))


def _statement(months: dict[Month, dict[str, tuple[int, int]]], region: str, year: int,
               month: int) -> Statement:
    opening = sum(_net(lines) for key, lines in months.items() if key < (year, month))
    this = months.get((year, month), {})
    ytd: dict[str, list[int]] = {}
    for (y, m), lines in months.items():
        if y == year and m <= month:
            for code, (amount, count) in lines.items():
                total = ytd.setdefault(code, [0, 0])
                total[0] += amount
                total[1] += count

    def line(code: str) -> Line:
        amount, count = this.get(code, (0, 0))
        ytd_amount, ytd_count = ytd.get(code, (0, 0))
        return Line(code, label(code), amount, count, ytd_amount, ytd_count)

    codes = sorted(ytd, key=_order)
    inflows = [line(c) for c in INFLOWS] + [line(c) for c in codes
                                             if c.startswith("in.") and c not in INFLOWS]
    outflows = [line(c) for c in codes if c.startswith("out.")]
    pooling = [line(f"{FUND}.{level}.{category}") for level in LEVELS for category in CATEGORIES]
    return Statement(region=region, year=year, month=month, opening=opening, inflows=inflows,
                     outflows=outflows, pooling=pooling, over_cap=line(OVER_CAP),
                     capped=line(CAPPED), cash=line(CASH))


@dataclass(frozen=True, slots=True)
class TieOut:
    """The statement's closing against Σ balances at the month's end (fen)."""

    closing: int
    balances: int
    accounts: int

    @property
    def ties_out(self) -> bool:
        return self.closing == self.balances


def tie_out(reader: object, statement: Statement) -> TieOut:
    """Σ balances, by value date, at the end of the statement's month, of the accounts that
    were in its region that day (the ``daily`` and ``regions`` views: summed in the view
    store, in one query on SQL). ``reader``: a :class:`~projections.reader.ViewReader`."""
    views: ViewStore = reader.views  # type: ignore[attr-defined]
    total, accounts = views.region_balances(statement.region, statement.last_day.isoformat())
    return TieOut(statement.closing, total, accounts)


COLUMNS = ("region", "year", "month", "section", "line", "label", "amount", "count",
           "ytd_amount", "ytd_count")


def table_rows(statement: Statement, check: TieOut | None = None) -> list[tuple[Any, ...]]:
    """The statement as flat rows (CSV, XLSX, JSON): amounts as :class:`Money` (fen)."""
    from projections.monitoring.files import Money

    head = (statement.region, statement.year, statement.month)

    def row(section: str, line: Line) -> tuple[Any, ...]:
        return (*head, section, line.code, line.label, Money(line.amount), line.count,
                Money(line.ytd_amount), line.ytd_count)

    def total(section: str, code: str, name: str, amount: int) -> tuple[Any, ...]:
        return (*head, section, code, name, Money(amount), None, None, None)

    rows = [total("accounts", "opening", "opening Σ balances 期初余额", statement.opening)]
    rows += [row("inflows", line) for line in statement.inflows]
    rows.append(total("inflows", "in", "total inflows 收入合计", statement.total_in))
    rows += [row("outflows", line) for line in statement.outflows]
    rows.append(total("outflows", "out", "total outflows 支出合计", statement.total_out))
    rows.append(total("accounts", "closing", "closing Σ balances 期末余额", statement.closing))
    if check is not None:
        rows.append(total("accounts", "balances", "Σ balances at month end 月末账户余额合计",
                          check.balances))
    rows += [row("pooling", line) for line in statement.pooling]
    rows.append((*head, "pooling", "fund", "pooling fund paid 统筹基金支出合计",
                 Money(statement.fund_paid), sum(line.count for line in statement.pooling),
                 Money(statement.fund_paid_ytd), sum(line.ytd_count for line in statement.pooling)))
    for line in (statement.over_cap, statement.capped, statement.cash):
        if line is not None:
            rows.append(row("pooling", line))
    return rows
