"""Fund monitoring routes (基金运行监测与预警), for agency and auditor keys.

- ``GET /v1/reports/fund-statement``: the monthly fund statement, tied out against Σ
  balances; JSON, or CSV / XLSX by ``?format=`` or the ``Accept`` header;
- ``GET /v1/reports/institutions``: institution indicators and flags (nanchang art. 42);
- ``GET /v1/reports/alerts``: account-use alerts and their reviews (suizhou art. 25);
- ``POST /v1/reports/alert-reviews``: record a review (an ``AlertReviewed`` event); its
  route is the operation table's (:mod:`api.writes`), with :func:`require_raised`.

All read the views (:mod:`projections.monitoring`) and say their position.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import Principal, allow
from api.params import OptionalQueryYear, QueryYear
from api.problems import documented
from ledger.settings import SettingsError
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen
from projections.monitoring import alerts as alert_rules
from projections.monitoring import indicators as ind
from projections.monitoring.files import Money, csv_bytes, xlsx_bytes
from projections.monitoring.settings import Thresholds, load_thresholds
from projections.monitoring.statement import COLUMNS, statements, table_rows, tie_out

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Monitoring = Annotated[Principal, Depends(allow("agency", "auditor"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
RegionQuery = Annotated[str, Query(min_length=1, max_length=32,
                                   description="region (统筹地区)", examples=["yunnan"])]
MonthQuery = Annotated[int | None, Query(ge=1, le=12, description="month (月份), 1–12")]


class FileFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FormatQuery = Annotated[FileFormat | None, Query(
    alias="format", description="json (default), csv or xlsx (文件格式); or send "
                                "Accept: text/csv or the XLSX media type")]


class StatementRow(BaseModel):
    """One line of a month's statement (收支统计行); amounts are yuan strings."""

    region: str
    year: int
    month: int
    section: str = Field(description="accounts (账户), inflows (收入), outflows (支出), "
                                     "pooling (统筹基金)")
    line: str = Field(description="the line's code, e.g. out.family.pharmacy (项目代码)")
    label: str = Field(description="the line in English and Chinese (项目名称)")
    amount: str = Field(description="this month, yuan (本月金额)", examples=["1200.00"])
    count: int | None = Field(description="movements or visits this month (笔数)")
    ytd_amount: str | None = Field(description="year to date, yuan (本年累计)")
    ytd_count: int | None = Field(description="year to date count (本年累计笔数)")


class TieOutOut(BaseModel):
    """The closing total against Σ balances at the month's end (与账户余额合计核对)."""

    month: int
    closing: str = Field(description="opening + inflows − outflows (期末余额)")
    balances: str = Field(description="Σ balances at the month's end, from the daily "
                                      "balances, of the accounts in the region that day "
                                      "(月末账户余额合计)")
    accounts: int = Field(description="accounts in the region that day with a movement "
                                      "by then (账户数)")
    ties_out: bool = Field(description="closing = Σ balances, to the fen (平衡)")


class FundStatement(BaseModel):
    """The monthly fund statement (基金月度收支统计) of a region, from the read models."""

    region: str
    year: int
    rows: list[StatementRow]
    tie_out: list[TieOutOut]
    position: int = Field(description="the last event the views include (视图位置)")


def _wants(fmt: FileFormat | None, accept: str | None) -> FileFormat:
    if fmt is not None:
        return fmt
    accept = (accept or "").lower()
    if XLSX in accept:
        return FileFormat.XLSX
    if "text/csv" in accept:
        return FileFormat.CSV
    return FileFormat.JSON


def _file(fmt: FileFormat, name: str, columns: tuple[str, ...],
          rows: list[tuple[Any, ...]]) -> Response:
    if fmt is FileFormat.CSV:
        return Response(csv_bytes(columns, rows), media_type=CSV,
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(xlsx_bytes(name, columns, rows), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def _region(request: Request, region: str) -> None:
    regions = request.app.state.services.ledger.book.regions
    if region not in regions:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"no region {region!r}; the regions are "
                          f"{', '.join(regions)}", field="region",
                          message_zh=f"没有统筹地区 {region}：可选 {'、'.join(regions)}")


def _thresholds() -> Thresholds:
    try:
        return load_thresholds()
    except SettingsError as error:  # checked at start-up too; kept for a changed environment
        raise LedgerError(ErrorCode.POLICY_INVALID, str(error)) from None


FILES = {200: {"content": {"text/csv": {"schema": {"type": "string"}},
                           XLSX: {"schema": {"type": "string", "format": "binary"}}},
               "description": "JSON, or the CSV / XLSX file asked for (报表文件)"}}


@router.get("/fund-statement", response_model=FundStatement,
            responses={**documented(401, 403, 422), **FILES})
def fund_statement(request: Request, who: Monitoring, region: RegionQuery, year: QueryYear,
                   month: MonthQuery = None, fmt: FormatQuery = None,
                   accept: Annotated[str | None, Header(include_in_schema=False)] = None,
                   ) -> Any:
    """The monthly fund statement (门诊共济基金月度收支统计; nanchang art. 22, 41):
    pooling-fund outpatient expenditure by level and category (统筹基金支出), personal-account
    inflows and outflows by kind (个人账户收入、支出), over-cap amounts and people who reached
    the cap, year to date (本年累计); opening + inflows − outflows = closing, tied out
    against Σ balances at the month's end (与账户余额核对). Every month of the year so far
    without ``month``. From the read models."""
    _region(request, region)
    services = request.app.state.services
    reader = services.readers.views
    position = reader.position()
    found = statements(reader.views, region, year, month)
    checks = [tie_out(reader, s) for s in found]
    rows = [row for s, c in zip(found, checks) for row in table_rows(s, c)]
    kind = _wants(fmt, accept)
    if kind is not FileFormat.JSON:
        return _file(kind, f"fund-statement-{region}-{year}", COLUMNS, rows)
    shown = [dict(zip(COLUMNS, [format_fen(v) if isinstance(v, Money) else v for v in r]))
             for r in rows]
    return FundStatement(
        region=region, year=year, rows=[StatementRow(**r) for r in shown], position=position,
        tie_out=[TieOutOut(month=s.month, closing=format_fen(c.closing),
                           balances=format_fen(c.balances), accounts=c.accounts,
                           ties_out=c.ties_out) for s, c in zip(found, checks)])


class IndicatorRow(BaseModel):
    """An institution's month (机构月度指标); costs in yuan, shares and growth as decimals."""

    level: int = Field(description="the visits' institution level (医疗机构等级)")
    institution: str = Field(description="the institution's id, or (unknown institution) "
                                         "for visits that named none (未知机构)")
    visits: int = Field(description="visits, net of reversals (就诊人次)")
    in_scope_per_visit: str = Field(description="in-scope cost per visit (次均政策范围内费用)")
    total_per_visit: str = Field(description="total cost per visit (次均费用)")
    growth_3m: str = Field(description="cost per visit against the previous three months "
                                       "(环比增长); empty without visits then")
    growth_yoy: str = Field(description="against the same month a year before (同比增长)")
    self_pay_share: str = Field(description="(cash + account) / total (患者自费比例)")
    out_of_scope_share: str = Field(description="out-of-scope / total (全自费占比)")


class FlagOut(BaseModel):
    """An indicator far above the peers of the same region, level and month (预警)."""

    level: int
    institution: str
    indicator: str = Field(description="which indicator (指标)")
    name: str = Field(description="the indicator in English and Chinese (指标名称)")
    value: str = Field(description="the institution's value (本机构值)")
    peers_median: str = Field(description="the peers' median (同级机构中位数)")
    limit: str = Field(description="flagged above this (预警线)")
    score: str | None = Field(description="robust z-score (稳健 z 分数), if computed")
    peers: int = Field(description="peers compared (参与比较的机构数)")
    article: str = Field(description="the policy article (政策依据)")


class InstitutionReport(BaseModel):
    """Institution indicators and flags of a month (定点医药机构监测, nanchang art. 42)."""

    region: str
    year: int
    month: int
    method: str = Field(description="robust_z or percentile, from the thresholds (判定方法)")
    institutions: list[IndicatorRow]
    flags: list[FlagOut]
    position: int


@router.get("/institutions", response_model=InstitutionReport,
            responses=documented(401, 403, 422))
def institutions(request: Request, who: Monitoring, region: RegionQuery, year: QueryYear,
                 month: Annotated[int, Query(ge=1, le=12, description="month (月份)")],
                 ) -> InstitutionReport:
    """Designated institutions' indicators for a month (门诊费用监控预警; nanchang art. 42):
    visits, in-scope and total cost per visit (次均费用), growth against the previous three
    months and a year before (费用增长), self-pay and out-of-scope shares (自费比例); and the
    flags of institutions far above their peers of the same level and region (thresholds:
    data, GONGJI_MONITORING)."""
    _region(request, region)
    rules = _thresholds().institutions
    reader = request.app.state.services.readers.views
    position = reader.position()
    rows = ind.indicators(ind.months_of(reader.views, region), region, year, month)
    return InstitutionReport(
        region=region, year=year, month=month, method=rules.method, position=position,
        institutions=[IndicatorRow(level=r.level, institution=r.name, visits=r.visits,
                                   **{k: ind.shown(k, v) for k, v in r.values.items()})
                      for r in rows],
        flags=[FlagOut(**{k: v for k, v in ind.as_dict(f).items()
                          if k in FlagOut.model_fields}) for f in ind.flags(rows, rules)])


class AlertOut(BaseModel):
    """An account-use alert (个人账户使用预警); it never blocked a payment."""

    id: str = Field(description="RULE:PERSON:PERIOD, what a review names (预警编号)")
    rule: str
    title: str = Field(description="the rule in English and Chinese (规则)")
    person: str = Field(description="whose account (账户)")
    region: str
    period: str = Field(description="a year, or a day (期间)")
    count: int = Field(description="what was counted (计数)")
    limit: int = Field(description="the rule's limit (阈值)")
    detail: str
    article: str = Field(description="the policy article (政策依据)")
    status: str = Field(description="open (未复核), or the latest review's outcome")
    reviews: list[dict[str, str]] = Field(description="every review, oldest first (复核记录)")


class AlertReport(BaseModel):
    """Account-use alerts (个人账户使用预警; suizhou art. 25, jilin (十一))."""

    alerts: list[AlertOut]
    position: int


@router.get("/alerts", response_model=AlertReport, responses=documented(401, 403, 422))
def alerts(request: Request, who: Monitoring,
           region: Annotated[str | None, Query(min_length=1, max_length=32,
                                               description="region (统筹地区)")] = None,
           year: OptionalQueryYear = None) -> AlertReport:
    """Account-use alerts (个人账户全流程动态管理; suizhou art. 25, jilin (十一)): an account
    paying for unusually many people, balances drained within days of a credit again and
    again, many pharmacy spends in a day, family payments just under a threshold — each
    with its article and its reviews. Computed from the events; never blocks a payment."""
    if region is not None:
        _region(request, region)
    rules = _thresholds().alerts
    reader = request.app.state.services.readers.views
    position = reader.position()
    found = alert_rules.alerts(reader.views, rules, region, year)
    return AlertReport(alerts=[AlertOut(**alert_rules.as_dict(a)) for a in found],
                       position=position)


def require_raised(request: Request, alert: str) -> None:
    """A review names an alert that the alerts report raises now (``invalid_input``)."""
    rules = _thresholds().alerts
    views = request.app.state.services.readers.views.views
    if alert not in {a.id for a in alert_rules.alerts(views, rules)}:
        raise LedgerError(ErrorCode.INVALID_INPUT,
                          f"no alert {alert!r} is raised now; list them at "
                          "GET /v1/reports/alerts", field="alert",
                          message_zh=f"当前没有编号为 {alert} 的预警；请查看 GET /v1/reports/alerts")
