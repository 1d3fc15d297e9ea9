"""The what-if as tables of plain values: one source for the terminal, CSV, XLSX and JSON.

Amounts stay integer fen in :class:`Sheet` rows; each interface formats them once (two
decimal yuan strings in CSV and JSON, exact decimals in XLSX). A change is draft − actual:
positive means the draft pays more (fund) or makes the person pay more (self-pay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.money import format_fen
from projections.whatif.report import ACTUAL, CHECKED, LABELS, MEASURES, WhatIf

TOP = 10
DECILES = ("min", "p10", "p20", "p30", "p40", "p50", "p60", "p70", "p80", "p90", "max")


@dataclass(slots=True)
class Sheet:
    """A named table; ``money`` names the columns that hold fen."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    money: set[str] = field(default_factory=set)
    counts: set[str] = field(default_factory=set)  # rows (by first cell) that hold counts

    def money_spots(self, row: list[Any]) -> set[int]:
        """Positions of ``row`` that hold fen."""
        if row and row[0] in self.counts:
            return set()
        return {i for i, c in enumerate(self.columns) if c in self.money}

    def formatted(self) -> list[list[Any]]:
        """Rows with amounts as two-decimal yuan strings."""
        return [[format_fen(v) if i in spots and v is not None else v
                 for i, v in enumerate(row)]
                for row, spots in ((row, self.money_spots(row)) for row in self.rows)]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.formatted()]


def side_by_side(result: WhatIf, measure: str) -> list[str]:
    """Column names: actual, then each draft and its change."""
    names = [f"{measure} {ACTUAL}"]
    for draft in result.drafts:
        names += [f"{measure} {draft.name}", f"{measure} change {draft.name}"]
    return names


def _values(result: WhatIf, figures: dict[str, dict[str, int]], measure: str) -> list[int]:
    actual = figures[ACTUAL][measure]
    values = [actual]
    for draft in result.drafts:
        values += [figures[draft.name][measure], figures[draft.name][measure] - actual]
    return values


def totals(result: WhatIf) -> Sheet:
    """The year: each measure, actual | draft | change, as rows."""
    columns = ["measure", ACTUAL]
    for draft in result.drafts:
        columns += [draft.name, f"change {draft.name}"]
    sheet = Sheet("totals", columns, money=set(columns[1:]), counts={"visits"})
    for measure in MEASURES:
        sheet.rows.append([measure, *_values(result, result.totals, measure)])
    return sheet


def breakdown(result: WhatIf) -> Sheet:
    """By month × institution level × category, every measure side by side."""
    columns = ["month", "level", "category"]
    money: set[str] = set()
    for measure in MEASURES:
        names = side_by_side(result, measure)
        columns += names
        if measure in CHECKED:
            money.update(names)
    sheet = Sheet("breakdown", columns, money=money)
    for (month, level, category), figures in result.breakdown.items():
        row: list[Any] = [f"{result.year}-{month:02d}", level, category]
        for measure in MEASURES:
            row += _values(result, figures, measure)
        sheet.rows.append(row)
    return sheet


def monthly(result: WhatIf, measure: str = "fund_paid") -> Sheet:
    columns = ["month", *side_by_side(result, measure)]
    sheet = Sheet(f"{measure} by month", columns, money=set(columns[1:]))
    for month, by in result.monthly(measure).items():
        figures = {name: {measure: value} for name, value in by.items()}
        sheet.rows.append([f"{result.year}-{month:02d}", *_values(result, figures, measure)])
    return sheet


def people(result: WhatIf) -> Sheet:
    """Each person's self-pay for the year under every scenario (everyone with a visit)."""
    columns = ["person", f"self_pay {ACTUAL}"]
    for draft in result.drafts:
        columns += [f"self_pay {draft.name}", f"self_pay change {draft.name}"]
    sheet = Sheet("people", columns, money=set(columns[1:]))
    by_person: dict[str, list[int]] = {}
    for d, draft in enumerate(result.drafts):
        for change in draft.people:
            row = by_person.setdefault(change.person, [change.actual] + [0] * 2 *
                                       len(result.drafts))
            row[1 + 2 * d: 3 + 2 * d] = [change.draft, change.change]
    for person in sorted(by_person):
        sheet.rows.append([person, *by_person[person]])
    return sheet


def caps(result: WhatIf) -> Sheet:
    columns = ["people with a visit", *(f"reached the cap {n}" for n in result.scenarios)]
    return Sheet("cap", columns, [[result.people, *(result.capped[n] for n in result.scenarios)]])


def distribution(result: WhatIf) -> Sheet:
    """Deciles of each person's yearly self-pay change, one column per draft."""
    columns = ["statistic", *(f"self_pay change {d.name}" for d in result.drafts)]
    sheet = Sheet("self-pay change deciles", columns, money=set(columns[1:]))
    for i, label in enumerate(DECILES):
        sheet.rows.append([label, *(d.deciles[i] if d.deciles else None
                                    for d in result.drafts)])
    return sheet


def extremes(result: WhatIf, top: int = TOP) -> Sheet:
    """The ``top`` people who gain most (self-pay falls most) and lose most, per draft."""
    columns = ["draft", "who", "rank", "person", "self_pay actual", "self_pay draft",
               "self_pay change"]
    sheet = Sheet("gain and lose most", columns, money=set(columns[4:]))
    for draft in result.drafts:
        gain = [c for c in draft.people[:top] if c.change < 0]
        lose = [c for c in reversed(draft.people[-top:]) if c.change > 0]
        for who, changes in (("gains", gain), ("loses", lose)):
            for rank, c in enumerate(changes, start=1):
                sheet.rows.append([draft.name, who, rank, c.person, c.actual, c.draft,
                                   c.change])
    return sheet


def credits(result: WhatIf) -> Sheet:
    """Month credits of the year recomputed under each draft that changes credits."""
    columns = ["draft", "kind", "months", "credited actual", "credited draft", "change",
               "people affected", "refused by the draft"]
    sheet = Sheet("personal-account credits", columns,
                  money={"credited actual", "credited draft", "change"})
    for draft in result.drafts:
        if draft.credits is None:
            continue
        refused = ", ".join(f"{k} {v}" for k, v in sorted(draft.credits.refused.items()))
        for kind, (count, actual, under) in sorted(draft.credits.rows.items()):
            sheet.rows.append([draft.name, kind, count, actual, under, under - actual,
                               draft.credits.people, refused])
    return sheet


def self_check(result: WhatIf) -> Sheet:
    check = result.check
    return Sheet("self-check", ["settled visits re-priced", "differences", "ok", "first"],
                 [[check.visits, len(check.differences), check.ok,
                   check.differences[0] if check.differences else ""]])


def sheets(result: WhatIf, everyone: bool = True) -> list[Sheet]:
    """Every table of the report (``everyone``: with the per-person sheet)."""
    tables = [self_check(result), totals(result), monthly(result), breakdown(result),
              caps(result), distribution(result), extremes(result), credits(result)]
    return tables + ([people(result)] if everyone else [])


def labelled(measure: str) -> str:
    return LABELS.get(measure, measure)


def document(result: WhatIf) -> dict[str, Any]:
    """The report as JSON-ready data (amounts as two-decimal yuan strings); the per-person
    sheet is left out (the top 10 each way are in ``gain and lose most``)."""
    return {
        "region": result.region, "year": result.year, "scenarios": result.scenarios,
        "drafts": [{"name": d.name, "source": d.source,
                    "changes_credits": d.credits is not None} for d in result.drafts],
        "self_check": {"ok": result.check.ok, "visits": result.check.visits,
                       "differences": result.check.differences[:10],
                       "message": result.check.line()},
        "visits_settled": len(result.record.visits),
        "visits_reversed": len(result.record.reversed),
        "tables": {sheet.name: sheet.records() for sheet in sheets(result, everyone=False)},
    }
