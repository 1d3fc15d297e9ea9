"""How the commands print tables: for a person (rich), or for a file or pipe (CSV, JSON).

A rich table written to a pipe or a file must not be cut to the 80 columns rich assumes
when there is no terminal: :func:`console` gives a console as wide as the table needs
there. ``--format csv|json`` (:data:`FormatOption`) gives every cell as it is.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

UNLIMITED = 1_000_000  # columns: a table is as wide as its widest row


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option(
    "--format", help="table: for reading (full width in a file or pipe); csv or json: "
                     "for programs and spreadsheets")]


def console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, or unlimited when writing elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=UNLIMITED, soft_wrap=True)


def emit(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: Format,
         right: Iterable[str] = (), records: Any = None) -> None:
    """Print ``rows`` under ``columns`` as a table, CSV (header first) or JSON.

    JSON is ``records`` when given (a command's richer JSON shape), else one object per row.
    """
    rows = [["" if value is None else str(value) for value in row] for row in rows]
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt is Format.JSON:
        body = records if records is not None else [dict(zip(columns, row)) for row in rows]
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        aligned = set(right)
        table = Table(title=title)
        for column in columns:
            table.add_column(column, justify="right" if column in aligned else "left")
        for row in rows:
            table.add_row(*row)
        console().print(table)


def figures(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """A title and ``(name, figure)`` rows, figures right-aligned so amounts line up."""
    table = Table(title=title, show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table
