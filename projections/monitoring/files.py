"""The monitoring reports as files: CSV (UTF-8 with a byte-order mark, for Excel on Chinese
Windows; amounts ``D.DD``) and XLSX (amounts exact decimals, format ``0.00``), and the
fund statement's chart (PNG or SVG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from policies.money import format_fen


class Money(int):
    """An amount in fen in a report row: ``D.DD`` text in CSV, an exact decimal in XLSX."""


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else format_fen(v) if isinstance(v, Money) else v
                       for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit on a sheet name
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([Decimal(v) / 100 if isinstance(v, Money) else v for v in row])
        for value, cell in zip(row, sheet[sheet.max_row]):
            if isinstance(value, Money):
                cell.number_format = "0.00"
    for i, name in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, len(name) + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def statement_chart(statements: Sequence[Any], path: Path) -> Path:
    """A region's year, month by month: the accounts' inflows and outflows (bars, by kind),
    the closing total (line), and the pooling fund paid by level (bars)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    matplotlib.rcParams["font.family"] = ["DejaVu Sans", "Noto Sans CJK SC", "sans-serif"]
    matplotlib.rcParams["svg.fonttype"] = "none"
    first = statements[0]
    months = [s.month for s in statements]
    ticks = [f"{first.year}-{m:02d}" for m in months]
    figure = Figure(figsize=(12, 8), layout="constrained")
    money, fund = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])

    def stack(axes: Any, groups: dict[str, list[int]], sign: int, colours: Any) -> None:
        base = [0.0] * len(months)
        for (name, values), colour in zip(groups.items(), colours):
            heights = [sign * v / 100 for v in values]
            axes.bar(months, heights, 0.7, bottom=base, label=name, color=colour)
            base = [b + h for b, h in zip(base, heights)]

    def grouped(attribute: str, heads: dict[str, str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for name, prefix in heads.items():
            values = [sum(line.amount for line in getattr(s, attribute)
                          if line.code == prefix or line.code.startswith(prefix + "."))
                      for s in statements]
            if any(values):
                out[name] = values
        return out

    inflows = grouped("inflows", {"credits 计入": "in.contribution", "allotments 划入": "in.allotment",
                                  "lump sums 一次性": "in.lump_sum", "transfers in 转入": "in.transfer_in",
                                  "interest 利息": "in.interest", "reversals 冲正": "in.restored"})
    outflows = grouped("outflows", {"own visits 本人门诊": "out.settlement",
                                    "pharmacy 药店": "out.pharmacy", "other spends 其他": "out.spend",
                                    "family 共济": "out.family", "transfers out 转出": "out.transfer_out",
                                    "emigration 出境": "out.emigration",
                                    "inheritance 继承": "out.inheritance"})
    blues = matplotlib.colormaps["Blues"]([0.85, 0.7, 0.55, 0.45, 0.35, 0.25])
    oranges = matplotlib.colormaps["Oranges"]([0.85, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    stack(money, inflows, 1, blues)
    stack(money, outflows, -1, oranges)
    money.axhline(0, color="black", linewidth=0.8)
    money.set_ylabel("yuan 元 (inflows up, outflows down)")
    totals = money.twinx()
    totals.plot(months, [s.closing / 100 for s in statements], color="black", marker="o",
                label="closing Σ balances 期末余额")
    totals.set_ylabel("closing Σ balances 期末余额 (yuan)")
    totals.set_ylim(bottom=0)
    handles, labels = money.get_legend_handles_labels()
    more, more_labels = totals.get_legend_handles_labels()
    green, green_labels = [], []
    money.set_title(f"{first.region} {first.year}: personal accounts, month by month "
                    "(个人账户月度收支)")
    money.grid(axis="y", alpha=0.3)

    levels = {f"level {lv} {name}": [sum(line.amount for line in s.pooling
                                        if line.code.startswith(f"fund.{lv}."))
                                    for s in statements]
              for lv, name in ((1, "一级"), (2, "二级"), (3, "三级"))}
    stack(fund, levels, 1, matplotlib.colormaps["Greens"]([0.8, 0.6, 0.4]))
    fund.set_ylabel("yuan 元")
    fund.set_title("pooling fund paid for outpatient visits, by level (统筹基金门诊支出)")
    green, green_labels = fund.get_legend_handles_labels()
    figure.legend(handles + more + green, labels + more_labels + green_labels,
                  loc="outside right upper", fontsize=8)
    fund.grid(axis="y", alpha=0.3)
    fund.set_xticks(months, ticks, rotation=45)
    for axes in (money, fund):
        axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    totals.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    figure.savefig(path, dpi=120, **({"metadata": {"Date": None}}
                                      if path.suffix.lower() == ".svg" else {}))
    return path
