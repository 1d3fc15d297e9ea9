"""Running a scenario: the same loop in process and over HTTP, one document out.

A driver does the talking (to a :class:`~ledger.Ledger` or to the API); the runner owns
the order of things and the shape of the document, so both modes print the same bytes.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any, Protocol

from conformance.scenario import Scenario, ScenarioError
from conformance.steps import OPS
from ledger.commands import EnrollPerson
from policies.errors import ErrorCode, LedgerError


class Driver(Protocol):
    def enroll(self, command: EnrollPerson) -> None: ...

    def step(self, op: str, data: dict[str, Any], where: str) -> dict[str, Any]:
        """Run one step; return its result fields or raise :class:`LedgerError`."""

    def person(self, name: str, as_of: dt.date) -> dict[str, Any]:
        """The person's final state as FORMAT.md's ``people`` entry."""


def run(scenario: Scenario, driver: Driver,
        log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Enroll the people, run every step in order, read every person back."""
    for name, command in scenario.people.items():
        try:
            driver.enroll(command)
        except LedgerError as error:  # a person that cannot be enrolled: not a scenario
            raise ScenarioError(f"people.{name}: {error.message}") from None
    results = []
    for number, step in enumerate(scenario.steps, start=1):
        op = step.get("op")
        where = f"step {number} ({op})"
        try:
            if not isinstance(op, str) or op not in OPS:
                raise LedgerError(
                    ErrorCode.INVALID_INPUT, f"op: unknown op {op!r}; one of {sorted(OPS)}"
                )
            data = {key: value for key, value in step.items() if key != "op"}
            results.append({"op": op, "ok": True, **driver.step(op, data, where)})
        except LedgerError as error:
            message = error.message if error.message.startswith(where) else f"{where}: {error.message}"
            log(f"{error.code}: {message}")
            results.append({"op": op, "ok": False, "error": str(error.code)})
    as_of = scenario.as_of
    return {
        "results": results,
        "people": {name: driver.person(name, as_of) for name in scenario.people},
    }
