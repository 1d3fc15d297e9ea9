"""Query and path parameters shared by the routes, as strict as the bodies: dates through
the ledger's one date parser (years 1900–2199), log positions within the store's 64-bit
integers, ids with the ledger's charset."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator

from ledger.commands import ID_MAX, ID_PATTERN
from policies.calendar import FIRST_YEAR, LAST_YEAR, parse_date

MAX_POSITION = 2**63 - 1  # BIGINT: larger is not a position, it is an error

_Day = Annotated[dt.date, BeforeValidator(parse_date)]
QueryDay = Annotated[_Day, Query(description="YYYY-MM-DD, years 1900–2199 (日期)",
                                 examples=["2024-12-31"])]
OptionalQueryDay = Annotated[_Day | None, Query(description="YYYY-MM-DD (日期)",
                                                examples=["2024-12-31"])]
QueryYear = Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="year (年度)")]
OptionalQueryYear = Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR,
                                                description="year (年度)")]
OptionalPosition = Annotated[int | None, Query(
    ge=1, le=MAX_POSITION, description="an event's position in the log (日志位置)")]
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN,
                             description="id (编号)")]
