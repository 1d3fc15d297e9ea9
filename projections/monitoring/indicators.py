"""Institution indicators and flags (门诊费用监控预警, nanchang art. 42).

Per designated institution (定点医药机构) and month, from the ``institutions`` view:
visits; in-scope and total cost per visit (次均费用); the growth of the cost per visit
against the previous three months and the same month a year before (费用增长); the
patients' self-pay share, (cash + account) / total (患者自费比例), and the out-of-scope
share (全自费占比). Visits without an institution are one line, "unknown institution",
reported but not judged (they are not one institution).

An institution-month is *flagged* on an indicator that is far above its peers' — the
institutions of the same region, level and month — by the thresholds of
:mod:`projections.monitoring.settings` (data). Each flag names the indicator, the value,
the peers' median, the score and the article.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import median
from typing import Any

from eventsourcing.utils import get_topic

from ledger.transaction import Settlement, Transaction
from projections.monitoring.settings import INDICATORS, Institutions
from projections.stores.base import ViewStore
from projections.tables import INSTITUTIONS

UNKNOWN = "(unknown institution)"
#: indicators whose excess over the median is a ratio of it (costs); the others are points
RATIO = frozenset({"in_scope_per_visit", "total_per_visit"})
NAMES = {
    "in_scope_per_visit": "in-scope cost per visit 次均政策范围内费用",
    "total_per_visit": "total cost per visit 次均费用",
    "growth_3m": "cost per visit vs the previous three months 次均费用环比增长",
    "growth_yoy": "cost per visit vs a year before 次均费用同比增长",
    "self_pay_share": "patients' self-pay share 患者自费比例",
    "out_of_scope_share": "out-of-scope share 全自费费用占比",
}
MAD_SCALE = Fraction(14826, 10000)  # MAD × 1.4826 estimates σ of a normal population
MEAN_AD_SCALE = Fraction(12533, 10000)  # mean absolute deviation × 1.2533, when MAD = 0
Key = tuple[int, str]  # (level, institution)


@dataclass(frozen=True, slots=True)
class Indicators:
    """One institution's month: its sums (fen) and the indicators computed from them."""

    region: str
    year: int
    month: int
    level: int
    institution: str  # "" for visits that named none
    visits: int
    in_scope: int
    total: int
    out_of_scope: int
    fund_paid: int
    account_paid: int
    cash_paid: int
    reversed: int
    values: dict[str, Fraction | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.institution or UNKNOWN


@dataclass(frozen=True, slots=True)
class Flag:
    """An indicator far above the peers' (预警): which, its value, the peers' median."""

    region: str
    year: int
    month: int
    level: int
    institution: str
    indicator: str
    value: Fraction
    median: Fraction
    score: Fraction | None  # the robust z-score (None: percentile method, or no spread)
    limit: Fraction  # the value above which it is flagged
    peers: int
    article: str


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator > 0 else None


def _per_visit(sums: dict[str, int] | None, column: str = "total") -> Fraction | None:
    return None if sums is None else _ratio(sums[column], sums["visits"])


def _growth(now: Fraction | None, before: Fraction | None) -> Fraction | None:
    return None if now is None or not before else now / before - 1


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


SUMS = ("visits", "in_scope", "total", "out_of_scope", "fund_paid", "account_paid",
        "cash_paid", "reversed")


Months = dict[tuple[int, int], dict[Key, dict[str, int]]]


def months_of(views: ViewStore, region: str) -> Months:
    """The ``institutions`` view of a region: (year, month) → (level, institution) → sums."""
    months: dict[tuple[int, int], dict[Key, dict[str, int]]] = {}
    for row in views.rows(INSTITUTIONS.name, region):
        months.setdefault((row["year"], row["month"]), {})[(row["level"], row["institution"])] \
            = {name: row[name] for name in SUMS}
    return months


def replay(log: Any, decode: Callable[[bytes], dict[str, Any]], batch_size: int = 10_000,
           progress: Callable[[int, int], None] | None = None,
           ) -> tuple[dict[str, Months], int]:
    """The institution months of every region rebuilt from the event log alone (not the
    views): what ``reports institutions --from-events`` reads when the views are behind,
    and the benchmark's "full rebuild of the indicators". Only settlements and reversals
    are decoded; a reversal takes back the figures its settlement added. Returns the
    months per region and the number of events read."""
    from projections.monitoring.flows import FlowHandlers, visit_figures
    from projections.projection import ViewBatch

    settled, reversal = get_topic(Settlement.Settled), get_topic(Transaction.Reversed)
    flows, batch, figures = FlowHandlers({}), ViewBatch(), {}
    position = read = 0
    head = log.head()
    while rows := log.read(position, batch_size):
        for _, originator, _, topic, state in rows:
            if topic == settled:
                visit = figures[originator] = visit_figures(decode(state))
                flows.settled(batch, visit)
            elif topic == reversal and originator in figures:
                flows.settled(batch, figures.pop(originator), sign=-1)
        position, read = rows[-1][0], read + len(rows)
        if progress is not None:
            progress(position, max(head, position))
    regions: dict[str, Months] = {}
    for (region, year, month, level, institution), (sums, _) in \
            batch.rows[INSTITUTIONS.name].items():
        regions.setdefault(region, {}).setdefault((year, month), {})[(level, institution)] = \
            {name: sums.get(name, 0) for name in SUMS}
    return regions, read


def indicators(months: dict[tuple[int, int], dict[Key, dict[str, int]]], region: str,
               year: int, month: int) -> list[Indicators]:
    """Every institution's indicators for one month, in level and institution order."""
    result = []
    for (level, institution), sums in sorted(months.get((year, month), {}).items()):
        before: dict[str, int] = dict.fromkeys(SUMS, 0)
        for back in (1, 2, 3):
            row = months.get(_shift(year, month, -back), {}).get((level, institution))
            for name in SUMS:
                before[name] += row[name] if row else 0
        a_year_ago = months.get((year - 1, month), {}).get((level, institution))
        cost = _per_visit(sums)
        total = sums["total"]
        values = {
            "in_scope_per_visit": _per_visit(sums, "in_scope"),
            "total_per_visit": cost,
            "growth_3m": _growth(cost, _per_visit(before)),
            "growth_yoy": _growth(cost, _per_visit(a_year_ago)),
            "self_pay_share": _ratio(sums["cash_paid"] + sums["account_paid"], total),
            "out_of_scope_share": _ratio(sums["out_of_scope"], total),
        }
        result.append(Indicators(region, year, month, level, institution, values=values,
                                 **sums))
    return result


def _quantile(values: list[Fraction], q: Fraction) -> Fraction:
    """The ``q`` quantile, linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def flags(rows: Iterable[Indicators], rules: Institutions) -> list[Flag]:
    """The indicators far above the peers of the same region, level and month."""
    groups: dict[tuple[str, int, int, int], list[Indicators]] = {}
    for row in rows:
        if row.institution and row.visits >= rules.min_visits:
            groups.setdefault((row.region, row.year, row.month, row.level), []).append(row)
    found = []
    for (region, year, month, level), peers in sorted(groups.items()):
        if len(peers) < rules.min_peers:
            continue
        for indicator in INDICATORS:
            judged = [(p, p.values[indicator]) for p in peers if p.values[indicator] is not None]
            if len(judged) < rules.min_peers:
                continue
            values = [v for _, v in judged]
            middle = Fraction(median(values))
            scale = _spread(values, middle)
            excess = rules.min_excess[indicator]
            floor = middle * (1 + excess) if indicator in RATIO else middle + excess
            limit = floor if scale is None else max(middle + rules.z * scale, floor)
            for index, (peer, value) in enumerate(judged):
                if rules.method == "percentile":  # the quantile of the *other* peers
                    others = values[:index] + values[index + 1:]
                    limit = max(_quantile(others, rules.percentile), floor)
                if value > limit:
                    score = None if scale is None else (value - middle) / scale
                    found.append(Flag(region, year, month, level, peer.institution, indicator,
                                      value, middle, score, limit, len(judged), rules.article))
    return found


def _spread(values: list[Fraction], middle: Fraction) -> Fraction | None:
    """σ estimated robustly: 1.4826 × MAD, or 1.2533 × mean absolute deviation when the
    MAD is 0; None when every value is the median."""
    deviations = [abs(v - middle) for v in values]
    mad = Fraction(median(deviations))
    if mad:
        return MAD_SCALE * mad
    mean = sum(deviations, Fraction(0)) / len(deviations)
    return MEAN_AD_SCALE * mean if mean else None


def shown(indicator: str, value: Fraction | None) -> str:
    """An indicator for people: yuan for costs, a share or growth with four decimals."""
    if value is None:
        return ""
    if indicator in RATIO:
        fen = (value * 2 + 1) // 2 if value >= 0 else -((-value * 2 + 1) // 2)  # half up
        return f"{fen // 100}.{fen % 100:02d}"
    scaled = value * 10000
    rounded = (scaled * 2 + 1) // 2 if scaled >= 0 else -((-scaled * 2 + 1) // 2)
    sign = "-" if rounded < 0 else ""
    rounded = abs(rounded)
    return f"{sign}{rounded // 10000}.{rounded % 10000:04d}"


def as_dict(flag: Flag) -> dict[str, Any]:
    return {"region": flag.region, "year": flag.year, "month": flag.month,
            "level": flag.level, "institution": flag.institution, "indicator": flag.indicator,
            "name": NAMES[flag.indicator], "value": shown(flag.indicator, flag.value),
            "peers_median": shown(flag.indicator, flag.median),
            "limit": shown(flag.indicator, flag.limit),
            "score": None if flag.score is None else shown("score", flag.score),
            "peers": flag.peers, "article": flag.article}
