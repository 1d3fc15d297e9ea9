"""Reading a conformance scenario file (shared/conformance/FORMAT.md).

A file that is not a scenario (not JSON, no people or steps, a person that cannot be
enrolled) raises :class:`ScenarioError`, which the CLI turns into exit status 2. A bad
*step* is not a bad file: it becomes that step's ``invalid_input`` result.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.commands import EnrollPerson, parse
from policies.calendar import Month, parse_date
from policies.errors import LedgerError


class ScenarioError(ValueError):
    """The file is not a valid scenario; the message says where and what."""


@dataclass
class Scenario:
    name: str
    people: dict[str, EnrollPerson]
    steps: list[dict[str, Any]]
    policy_parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> dt.date:
        """The latest date any step names (a month counts as its last day), FORMAT.md."""
        days = [dt.date.min]
        for step in self.steps:
            for name, value in step.items():
                try:
                    if name in ("date",):
                        days.append(parse_date(value))
                    elif name == "month":
                        days.append(Month.parse(value).last_day)
                except ValueError:
                    continue
        return max(days) if len(days) > 1 else dt.date.max


def load(path: Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: not JSON: {error}") from None
    return from_dict(raw, str(path))


def from_dict(raw: object, where: str = "scenario") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a scenario is a JSON object with people and steps")
    people, steps = raw.get("people"), raw.get("steps")
    if not isinstance(people, dict):
        raise ScenarioError(f"{where}: people must be an object of name → person")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ScenarioError(f"{where}: steps must be a list of objects, each with an op")
    parameters = raw.get("policy_parameters") or {}
    if not isinstance(parameters, dict):
        raise ScenarioError(f"{where}: policy_parameters must be an object of regions")
    enrolled = {}
    for name, person in people.items():
        if not isinstance(person, dict):
            raise ScenarioError(f"{where}: people.{name} must be an object")
        try:
            enrolled[name] = parse(EnrollPerson, {"person": name, **person}, f"people.{name}")
        except LedgerError as error:
            raise ScenarioError(f"{where}: {error.message}") from None
    return Scenario(str(raw.get("name", "")), enrolled, steps, parameters)
