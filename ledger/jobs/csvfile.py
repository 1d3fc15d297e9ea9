"""Streaming CSV input of any size, and the rejects file beside it.

Rows are read lazily, one at a time, with the byte position counted so that a progress
bar can show how far through the file the job is without counting the lines first.
Rejected rows are written to a CSV of their own with the error code and the message
saying what to fix; the file is flushed after every batch, so it is complete up to the
last committed batch even if the job is killed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from policies.errors import ErrorCode, LedgerError


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its line number in the file (header = 1), its fields, and what is
    wrong with its shape if anything (``problem``)."""

    line: int
    fields: dict[str, str]
    problem: str | None = None


class CsvSource:
    """A CSV file read row by row; ``position`` is the bytes consumed so far."""

    def __init__(self, path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.position = 0
        self.required = tuple(required)
        self.optional = tuple(optional)

    def _lines(self, handle: IO[bytes]) -> Iterator[str]:
        for raw in handle:
            self.position += len(raw)
            yield raw.decode("utf-8-sig" if self.position == len(raw) else "utf-8")

    def rows(self) -> Iterator[Row]:
        """Every data row; a header without the required columns stops before the first."""
        with self.path.open("rb") as handle:
            reader = csv.reader(self._lines(handle))
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in self.required if name not in header]
            unknown = [n for n in header if n not in self.required and n not in self.optional]
            if missing or unknown:
                raise LedgerError(
                    ErrorCode.INVALID_INPUT,
                    f"{self.path}: the header must be {','.join(self.required + self.optional)}"
                    f" ({'missing ' + ', '.join(missing) if missing else ''}"
                    f"{'; ' if missing and unknown else ''}"
                    f"{'unknown ' + ', '.join(unknown) if unknown else ''})",
                )
            for values in reader:
                if not values or values == [""]:
                    continue
                fields = dict(zip(header, (v.strip() for v in values)))
                problem = None if len(values) == len(header) else (
                    f"expected {len(header)} fields ({','.join(header)}), got {len(values)}")
                yield Row(reader.line_num, fields, problem)


class RejectsFile:
    """``<columns>, code, message`` for every refused row (or person)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*columns, "code", "message"])

    def add(self, values: Sequence[object], code: str, message: str) -> None:
        self._writer.writerow([*values, code, message])
        self.count += 1

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
