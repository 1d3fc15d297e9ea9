"""Account-use alerts (个人账户使用预警; suizhou art. 25, jilin (十一)), computed from the views.

Four rules, each with its thresholds and article in data (``thresholds.toml``):

- ``many_beneficiaries``: one account paid (共济) for at least N other people in a year;
- ``drained_after_credit``: the balance fell to a small share of what a credit left within
  a few days of it, in at least N months of a year;
- ``pharmacy_day``: at least N pharmacy spends paid from one account on one day;
- ``near_threshold``: family payments within a band just under a threshold, at least N
  times in a year by one payer.

Alerts never block a payment: they are read from the transactions and daily balances the
worker keeps. An alert's id (``RULE:PERSON:PERIOD``) is stable, so a review
(:mod:`ledger.reviews`) refers to it; the alert carries every review recorded for it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from policies.money import format_fen
from projections.monitoring.settings import Alerts
from projections.stores.base import ViewStore
from projections.tables import ACCOUNTS, DAILY, REVIEWS, TRANSACTIONS


@dataclass(frozen=True, slots=True)
class Review:
    review: str
    outcome: str
    note: str
    reviewer: str
    role: str
    day: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: the rule, the person whose account it is about, the period, what was
    counted against what limit, and the reviews it has had."""

    id: str
    rule: str
    title: str
    person: str
    region: str
    period: str  # a year, or a day
    count: int
    limit: int
    detail: str
    article: str
    reviews: list[Review] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``open`` until reviewed; then the latest review's outcome."""
        return max(self.reviews, key=lambda r: (r.day, r.review)).outcome \
            if self.reviews else "open"


def alerts(views: ViewStore, rules: Alerts, region: str | None = None,
           year: int | None = None) -> list[Alert]:
    """Every alert of ``region`` (all regions when None) and ``year``, in id order."""
    regions = {row["person"]: row["region"] for row in views.rows(ACCOUNTS.name)}
    counted: list[tuple[str, str, str, int, int, str, Any]] = []

    def keep(person: str, period: str) -> bool:
        return region in (None, regions.get(person)) and \
            (year is None or period[:4] == str(year))

    beneficiaries: dict[tuple[str, str], set[str]] = defaultdict(set)
    pharmacy: dict[tuple[str, str], int] = defaultdict(int)
    near: dict[tuple[str, str], list[int]] = defaultdict(list)
    near_rule = rules.near_threshold
    low = near_rule.threshold - int(near_rule.threshold * near_rule.band)  # fen, floored
    for row in views.rows(TRANSACTIONS.name):
        if row["reversed_on"] or row["kind"] not in ("visit", "spend"):
            continue
        payer, day = row["payer"] or "", row["date"]
        if row["family_paid"] and payer and payer != row["person"]:
            beneficiaries[(payer, day[:4])].add(row["person"])
            if low <= row["family_paid"] < near_rule.threshold:
                near[(payer, day[:4])].append(row["family_paid"])
        if row["kind"] == "spend" and row["purpose"] == "pharmacy":
            pharmacy[(payer, day)] += 1
    many = rules.many_beneficiaries
    for (payer, period), people in beneficiaries.items():
        if len(people) >= many.beneficiaries and keep(payer, period):
            counted.append(("many_beneficiaries", payer, period, len(people),
                            many.beneficiaries, f"paid for {len(people)} people: "
                            + ", ".join(sorted(people)[:12]), many))
    day_rule = rules.pharmacy_day
    for (payer, day), count in pharmacy.items():
        if count >= day_rule.spends and keep(payer, day):
            counted.append(("pharmacy_day", payer, day, count, day_rule.spends,
                            f"{count} pharmacy spends on {day}", day_rule))
    for (payer, period), amounts in near.items():
        if len(amounts) >= near_rule.times and keep(payer, period):
            counted.append(("near_threshold", payer, period, len(amounts), near_rule.times,
                            f"{len(amounts)} family payments of {format_fen(low)}–"
                            f"{format_fen(near_rule.threshold - 1)}: "
                            + ", ".join(format_fen(a) for a in sorted(amounts)[:12]),
                            near_rule))
    counted += _drained(views, rules, keep)
    reviews: dict[str, list[Review]] = defaultdict(list)
    for row in views.rows(REVIEWS.name):
        reviews[row["alert"]].append(Review(row["review"], row["outcome"], row["note"],
                                            row["reviewer"], row["role"], row["day"]))
    found = [Alert(id=f"{rule}:{person}:{period}", rule=rule, title=spec.title,
                   person=person, region=regions.get(person, ""), period=period, count=count,
                   limit=limit, detail=detail, article=spec.article)
             for rule, person, period, count, limit, detail, spec in counted]
    for alert in found:
        alert.reviews.extend(sorted(reviews.get(alert.id, []), key=lambda r: (r.day, r.review)))
    return sorted(found, key=lambda a: a.id)


def _drained(views: ViewStore, rules: Alerts, keep: Any) -> list[tuple[Any, ...]]:
    """Credits whose balance was nearly all gone within ``days``, counted per year."""
    rule = rules.drained_after_credit
    days: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in views.rows(DAILY.name):
        days[row["person"]].append((row["day"], row["change"]))
    found = []
    for person, moves in days.items():
        moves.sort()
        closing, balances = 0, []
        for day, change in moves:
            closing += change
            balances.append((dt.date.fromisoformat(day), change, closing))
        months: dict[str, set[str]] = defaultdict(set)
        for i, (day, change, after) in enumerate(balances):
            if change <= 0 or after < rule.min_balance:
                continue
            for later, _, left in balances[i + 1:]:
                if (later - day).days > rule.days:
                    break
                if left <= after * rule.left_share:
                    months[str(day.year)].add(day.isoformat()[:7])
                    break
        for period, drained in months.items():
            if len(drained) >= rule.times and keep(person, period):
                found.append(("drained_after_credit", person, period, len(drained),
                              rule.times, "drained within "
                              f"{rule.days} days of a credit in " + ", ".join(sorted(drained)),
                              rule))
    return found


def as_dict(alert: Alert) -> dict[str, Any]:
    return {"id": alert.id, "rule": alert.rule, "title": alert.title, "person": alert.person,
            "region": alert.region, "period": alert.period, "count": alert.count,
            "limit": alert.limit, "detail": alert.detail, "article": alert.article,
            "status": alert.status,
            "reviews": [{"review": r.review, "outcome": r.outcome, "note": r.note,
                         "reviewer": r.reviewer, "role": r.role, "date": r.day}
                        for r in alert.reviews]}
