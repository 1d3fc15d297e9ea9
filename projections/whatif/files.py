"""Writing a what-if to a directory: CSV per table, one XLSX workbook, charts (PNG, SVG).

Charts are drawn with matplotlib on its Agg backend (no display needed). Amounts are
plotted in yuan; the conversion to floats happens here, for drawing only — every figure
written to a file is the exact amount.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from policies.money import format_fen
from projections.whatif.present import Sheet, sheets
from projections.whatif.report import ACTUAL, WhatIf

CHARTS = ("fund_paid_by_month", "self_pay_change")


def _stem(sheet: Sheet) -> str:
    return sheet.name.replace(" ", "_").replace("-", "_")


def write_all(result: WhatIf, directory: Path) -> list[Path]:
    """Every file of the report in ``directory`` (created); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = sheets(result)
    written = [write_csv(sheet, directory / f"{_stem(sheet)}.csv") for sheet in tables]
    written.append(write_xlsx(tables, directory / f"what-if-{result.region}-{result.year}.xlsx"))
    written += write_charts(result, directory)
    return written


def write_csv(sheet: Sheet, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(sheet.columns)
        writer.writerows(sheet.formatted())
    return path


def write_xlsx(tables: list[Sheet], path: Path) -> Path:
    """One worksheet per table; amounts as exact decimals shown with two places."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in tables:
        ws = book.create_sheet(sheet.name[:31])
        ws.append(sheet.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            spots = sheet.money_spots(row)
            ws.append([Decimal(format_fen(v)) if i in spots and v is not None else v
                       for i, v in enumerate(row)])
            for i in spots:
                ws.cell(ws.max_row, i + 1).number_format = "0.00"
        for i, name in enumerate(sheet.columns, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, len(name) + 2)
        ws.freeze_panes = "A2"
    book.save(path)
    return path


def write_charts(result: WhatIf, directory: Path) -> list[Path]:
    """Fund paid per month, actual vs each draft; each person's self-pay change."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    written: list[Path] = []
    scenarios = result.scenarios
    months = result.monthly("fund_paid")
    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(scenarios)
    for s, name in enumerate(scenarios):
        xs = [m + (s - (len(scenarios) - 1) / 2) * width for m in months]
        axes.bar(xs, [months[m][name] / 100 for m in months], width, label=name)
    axes.set_xticks(list(months), [f"{result.year}-{m:02d}" for m in months], rotation=45)
    axes.set_ylabel("fund paid (yuan)")
    axes.set_title(f"{result.region} {result.year}: pooling fund paid per month, "
                   f"{ACTUAL} vs draft")
    axes.grid(axis="y", alpha=0.3)
    axes.legend()
    written += _save(figure, directory / "fund_paid_by_month")

    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.subplots()
    for draft in result.drafts:
        changes = [c.change / 100 for c in draft.people]
        if changes:
            axes.hist(changes, bins=40, alpha=0.6,
                      label=f"{draft.name} (n={len(changes):,}, median "
                            f"{format_fen(draft.deciles[5])})")
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("yearly self-pay change per person, draft - actual (yuan; < 0: pays less)")
    axes.set_ylabel("people")
    axes.set_title(f"{result.region} {result.year}: distribution of self-pay change")
    axes.grid(alpha=0.3)
    if result.drafts and result.people:
        axes.legend()
    written += _save(figure, directory / "self_pay_change")
    return written


def _save(figure: object, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    figure.savefig(paths[0], dpi=120)  # type: ignore[attr-defined]
    figure.savefig(paths[1], metadata={"Date": None})  # type: ignore[attr-defined]
    return paths
