"""How the commands print a summary: a two-column table of names and right-aligned figures."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table


def figures(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """A title and ``(name, figure)`` rows, figures right-aligned so amounts line up."""
    table = Table(title=title, show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table
