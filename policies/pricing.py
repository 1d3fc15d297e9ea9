"""Pricing an outpatient visit (普通门诊统筹结算): DOMAIN.md 3.2, a pure function.

``price_visit`` takes the year's accumulations as they stand before the visit and returns
every figure of the split with the articles that produced it; the ledger decides only who
pays ``self_pay`` (own account, a family member's, cash).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.model import Category, IneligibleReason, RegionPolicy
from policies.money import Rate


@dataclass(frozen=True, slots=True)
class Visit:
    """What the institution reports about one visit (amounts in fen)."""

    level: int
    in_scope: int
    out_of_scope: int = 0
    flags: tuple[str, ...] = ()
    prescribed_level: int | None = None

    @property
    def pricing_level(self) -> int:
        """An outside prescription is priced at the prescriber's level (suizhou art. 11)."""
        return self.prescribed_level or self.level


@dataclass(frozen=True, slots=True)
class YearUsage:
    """A person's pooling accumulations in one region and year, before the visit."""

    in_scope: int = 0
    fund_paid: int = 0


@dataclass(frozen=True, slots=True)
class VisitPrice:
    """The pooling split of one visit, each step traceable to its article."""

    category: Category
    level: int
    eligible_in_scope: int
    deductible_applied: int
    payable: int
    rate: Rate
    fund_raw: int
    cap: int
    cap_left: int
    fund_paid: int
    over_cap: int
    self_pay: int
    pooling_reason: str | None
    articles: dict[str, str] = field(default_factory=dict)


def ineligibility(policy: RegionPolicy, flags: tuple[str, ...]) -> tuple[str, str] | None:
    """The first flag that denies pooling in this region, with its article (DOMAIN.md 3.3).

    A flag the region does not recognise as a denial (``remote_not_networked`` outside
    suizhou) is ignored, as nanchang art. 36 and chongqing art. 7 reimburse such visits.
    """
    for flag in flags:
        article = policy.pooling.ineligible.get(IneligibleReason(flag))
        if article is not None:
            return flag, article
    return None


def cap_for(policy: RegionPolicy, category: Category, scheme: str) -> int:
    """Yearly fund cap (年度最高支付限额) for a category under a scheme's tier."""
    return policy.pooling.caps[policy.scheme(scheme).caps].of(category)


def deductible_for(
    policy: RegionPolicy, category: Category, level: int, usage: YearUsage
) -> int:
    """What is left of the deductible (起付标准) for this visit."""
    pooling = policy.pooling
    if pooling.deductible_kind == "per_visit":
        assert pooling.deductible_per_visit is not None
        return pooling.deductible_per_visit[level - 1]
    assert pooling.deductible is not None
    return max(0, pooling.deductible.of(category) - usage.in_scope)


def price_visit(
    policy: RegionPolicy, visit: Visit, category: Category, scheme: str, usage: YearUsage
) -> VisitPrice:
    """Price ``visit`` against the year's accumulations ``usage`` (DOMAIN.md 3.2, steps 1–6)."""
    pooling = policy.pooling
    assert pooling.rates is not None
    level = visit.pricing_level
    denial = ineligibility(policy, visit.flags)
    eligible = 0 if denial else visit.in_scope
    deductible = min(eligible, deductible_for(policy, category, level, usage))
    payable = eligible - deductible
    rate = pooling.rates.of(category, level)
    fund_raw = rate.apply(payable)
    cap = cap_for(policy, category, scheme)
    cap_left = max(0, cap - usage.fund_paid)
    fund_paid = min(fund_raw, cap_left)
    articles = {
        "deductible": pooling.deductible_article,
        "rate": pooling.rates_article,
        "cap": pooling.caps_article,
        "category": pooling.category_article,
    }
    if denial:
        articles["pooling_reason"] = denial[1]
    if visit.prescribed_level and pooling.prescription_article:
        articles["level"] = pooling.prescription_article
    if fund_raw > fund_paid and pooling.over_cap_article:
        articles["over_cap"] = pooling.over_cap_article
    return VisitPrice(
        category=category,
        level=level,
        eligible_in_scope=eligible,
        deductible_applied=deductible,
        payable=payable,
        rate=rate,
        fund_raw=fund_raw,
        cap=cap,
        cap_left=cap_left,
        fund_paid=fund_paid,
        over_cap=fund_raw - fund_paid,
        self_pay=visit.in_scope + visit.out_of_scope - fund_paid,
        pooling_reason=denial[0] if denial else None,
        articles=articles,
    )
