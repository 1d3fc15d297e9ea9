"""Streaming input of any size (CSV in UTF-8 or GB18030/GBK, or an ``.xlsx`` workbook), and
the rejects file beside it.

Opening a :class:`CsvSource` checks the file before a job writes anything: its encoding
(UTF-8, with or without BOM, else GB18030 — what Excel writes on Chinese Windows, a
superset of GBK and GB2312 — unless the caller names one) and its header; either
problem is one ``invalid_input`` error. Rows are then read lazily, one at a time, with the
position counted so that a progress bar can show how far through the file the job is
without counting the lines first. Rejected rows are written to a CSV of their own with the
error code and the message saying what to fix; the file is flushed after every batch, so
it is complete up to the last committed batch even if the job is killed.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from ledger.jobs.keysort import ExternalSort
from policies.errors import ErrorCode, LedgerError

FALLBACK_ENCODING = "gb18030"
CHUNK = 1 << 20
MONEY, MONTH = "money", "month"  # column kinds, for typed .xlsx cells


def undecodable(path: Path, encoding: str) -> int | None:
    """The offset of the first byte of ``path`` that ``encoding`` cannot read, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return max(0, offset + error.start)
    return None


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its line number in the file (header = 1), its fields, and what is
    wrong with its shape if anything (``problem``)."""

    line: int
    fields: dict[str, str]
    problem: str | None = None


class CsvSource:
    """A CSV or ``.xlsx`` file read row by row; ``position`` of ``size`` is how far it is.

    ``kinds`` says which columns hold money (``"money"``: a number cell of a workbook is
    written with two decimals) or months (``"month"``: a date cell is written YYYY-MM);
    CSV fields are taken as written. ``encoding`` (CSV only) overrides the detection.
    """

    def __init__(self, path: Path, required: Sequence[str], optional: Sequence[str] = (),
                 kinds: Mapping[str, str] | None = None, encoding: str | None = None) -> None:
        self.path = path
        self.required = tuple(required)
        self.optional = tuple(optional)
        self.kinds = dict(kinds or {})
        self.xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
        self.position = 0
        if self.xlsx:
            self.encoding = ""
            self.size = 1
            self.header = self._check_header(next(self._xlsx_values(), []))
        else:
            self.encoding = self._encoding(encoding)
            self.size = path.stat().st_size
            with path.open("rb") as handle:
                first = next(csv.reader(self._lines(handle)), [])
            self.position = 0
            self.header = self._check_header(first)

    # -- checks, before anything is written -------------------------------------------

    def _encoding(self, name: str | None) -> str:
        """The named encoding, checked; else UTF-8 if the file is UTF-8, else GB18030."""
        if name is None:
            if undecodable(self.path, "utf-8") is None:
                return "utf-8-sig"
            name = FALLBACK_ENCODING
        try:
            name = codecs.lookup(name).name
        except LookupError:
            raise LedgerError(ErrorCode.INVALID_INPUT,
                              f"unknown encoding {name!r}: use utf-8, gb18030, gbk, …",
                              field="encoding") from None
        bad = undecodable(self.path, name)
        if bad is not None:
            raise LedgerError(
                ErrorCode.INVALID_INPUT,
                f"{self.path} is not {name} text (byte {bad} cannot be read): save it as "
                "CSV UTF-8, or name its encoding with --encoding; nothing was written",
                field="encoding")
        return "utf-8-sig" if name == "utf-8" else name

    def _check_header(self, names: Sequence[Any]) -> list[str]:
        header = ["" if name is None else str(name).strip() for name in names]
        while header and header[-1] == "":  # spreadsheets leave empty columns at the end
            header.pop()
        missing = [name for name in self.required if name not in header]
        unknown = [n for n in header if n not in self.required and n not in self.optional]
        if missing or unknown:
            raise LedgerError(
                ErrorCode.INVALID_INPUT,
                f"{self.path}: the header must be {','.join(self.required + self.optional)}"
                f" ({'missing ' + ', '.join(missing) if missing else ''}"
                f"{'; ' if missing and unknown else ''}"
                f"{'unknown ' + ', '.join(unknown) if unknown else ''}); nothing was written",
            )
        return header

    # -- rows ---------------------------------------------------------------------------

    def _lines(self, handle: IO[bytes]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        for raw in handle:
            self.position += len(raw)
            yield decoder.decode(raw)

    def rows(self) -> Iterator[Row]:
        """Every data row after the header (checked when the source was opened)."""
        if self.xlsx:
            yield from self._xlsx_rows()
            return
        header = self.header
        with self.path.open("rb") as handle:
            reader = csv.reader(self._lines(handle))
            next(reader, None)
            for values in reader:
                if not values or values == [""]:
                    continue
                fields = dict(zip(header, (v.strip() for v in values)))
                problem = None if len(values) == len(header) else (
                    f"expected {len(header)} fields ({','.join(header)}), got {len(values)}")
                yield Row(reader.line_num, fields, problem)

    # -- workbooks ----------------------------------------------------------------------

    def _xlsx_values(self, cells: bool = False) -> Iterator[tuple[Any, ...]]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as error:  # zip, XML or format errors of a damaged file
            raise LedgerError(ErrorCode.INVALID_INPUT,
                              f"{self.path} is not a readable .xlsx workbook ({error})") from None
        try:
            sheet = workbook.worksheets[0]
            self.size = max(1, sheet.max_row or 1)
            yield from sheet.iter_rows(values_only=not cells)
        finally:
            workbook.close()

    def _xlsx_rows(self) -> Iterator[Row]:
        header = self.header
        for line, cells in enumerate(self._xlsx_values(cells=True), 1):
            self.position = line
            if line == 1:
                continue
            cells = (*cells, *[None] * (len(header) - len(cells)))  # trailing empty cells
            values = [_text(getattr(cell, "value", None), self.kinds.get(name, ""))
                      for name, cell in zip(header, cells)]
            extra = [_text(getattr(cell, "value", None), "") for cell in cells[len(header):]]
            if not any(values) and not any(extra):
                continue
            problem = None if not any(extra) else (
                f"expected {len(header)} fields ({','.join(header)}), got more")
            yield Row(line, dict(zip(header, values)), problem)


def _text(value: Any, kind: str) -> str:
    """A workbook cell as the text a CSV field would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return f"{day:%Y-%m}" if kind == MONTH else day.isoformat()
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if kind == MONEY:
            if number == number.quantize(Decimal("0.01")):  # never rounds: more is refused
                return f"{number.quantize(Decimal('0.01')):f}"
            return f"{number:f}"
        if number == number.to_integral_value():
            return f"{number.to_integral_value():f}"
        return f"{number:f}"
    return str(value).strip()


class RejectsFile:
    """``<columns>, code, message`` for every refused row (or person); ``reason`` renames
    the last two when the input has a column ``code`` of its own.

    ``by_line``: the rows come in another order than the file's (a job sorted by account,
    :mod:`ledger.jobs.keysort`), and are written in line order (the first value) when the
    file is closed, sorted on disk as the input was, whatever their number."""

    def __init__(self, path: Path, columns: Sequence[str], by_line: bool = False,
                 reason: Sequence[str] = ("code", "message")) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*columns, *reason])
        self._held = ExternalSort() if by_line else None

    def add(self, values: Sequence[object], code: str, message: str) -> None:
        if self._held is not None:
            line = int(values[0])  # type: ignore[call-overload]
            self._held.add(_NO_KEY, line, [*values, code, message])
        else:
            self._writer.writerow([*values, code, message])
        self.count += 1

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        if self._held is not None:
            for _, values in self._held:
                self._writer.writerow(values)
            self._held = None
        self._handle.close()


_NO_KEY = UUID(int=0)
