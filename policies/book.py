"""The policy book: every region's versions, loaded from data files, looked up by date.

Policies are effective-dated data (DOMAIN.md 3.1): a new version is a new file in
``policies/data``, never a code change. A file that does not validate stops the program
with its name and field; deployment parameters that do not validate only disable their
region (``policy_invalid``), as FORMAT.md asks.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from policies.errors import ErrorCode, LedgerError
from policies.model import RegionPolicy
from policies.parameters import ParameterError, apply_parameters, describe

DATA_DIR = Path(__file__).with_name("data")


class PolicyFileError(ValueError):
    """A policy data file that is not a valid policy; names the file and the field."""


def load_file(path: Path) -> RegionPolicy:
    """Read and validate one policy file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PolicyFileError(f"{path.name}: {error}") from None
    try:
        return RegionPolicy.model_validate(raw)
    except ValidationError as error:
        raise PolicyFileError(f"{path.name}: {describe(error)}") from None


@dataclass
class PolicyBook:
    """All versions of all regions, with the deployment's parameters applied."""

    versions: dict[str, list[RegionPolicy]] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    parameters: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def load(
        cls, parameters: Mapping[str, object] | None = None, directory: Path = DATA_DIR
    ) -> PolicyBook:
        """Load every ``*.toml`` of ``directory``; ``parameters`` maps region → its values."""
        parameters = dict(parameters or {})
        book = cls(parameters=parameters)
        starts: dict[tuple[str, dt.date], str] = {}
        for path in sorted(directory.glob("*.toml")):
            policy = load_file(path)
            clash = starts.setdefault((policy.region, policy.valid_from), path.name)
            if clash != path.name:
                raise PolicyFileError(
                    f"{clash} and {path.name}: two {policy.region} versions start on "
                    f"{policy.valid_from}; a later version needs a later valid_from"
                )
            try:
                policy = apply_parameters(policy, parameters.get(policy.region))
            except ParameterError as error:
                book.invalid[policy.region] = str(error)
            book.versions.setdefault(policy.region, []).append(policy)
        for versions in book.versions.values():
            versions.sort(key=lambda p: p.valid_from)
        unknown = sorted(set(parameters) - set(book.versions))
        if unknown:
            raise ParameterError(f"parameters name unknown regions: {unknown}")
        return book

    @property
    def regions(self) -> list[str]:
        return sorted(self.versions)

    def check_region(self, region: str) -> None:
        """Refuse a region whose deployment parameters are invalid (``policy_invalid``)."""
        if region in self.invalid:
            raise LedgerError(ErrorCode.POLICY_INVALID, self.invalid[region])

    def in_force(self, region: str, day: dt.date) -> RegionPolicy:
        """The version in force on ``day``, or ``no_policy_in_force`` (never another year's).

        Versions are ordered by start date and a later one supersedes an earlier one from
        its own start, even when the earlier one names no end (DOMAIN.md 9)."""
        self.check_region(region)
        current = self.latest_started(region, day)
        if current is not None and current.in_force_on(day):
            return current
        spans = ", ".join(
            f"{p.valid_from}–{p.valid_to or 'open'}" for p in self.versions[region]
        )
        raise LedgerError(
            ErrorCode.NO_POLICY_IN_FORCE,
            f"no {region} policy is in force on {day} (versions: {spans})",
        )

    def latest_on_or_before(self, region: str, day: dt.date) -> RegionPolicy:
        """The version that last applied by ``day``, else the first one.

        For what does not need a policy *in force* — closing a year after the policy
        expired, retiring, leaving — but still cites its articles.
        """
        self.check_region(region)
        return self.latest_started(region, day) or self.versions[region][0]

    def latest_started(self, region: str, day: dt.date) -> RegionPolicy | None:
        """The last version that started on or before ``day`` (None before the first)."""
        started = None
        for policy in self.versions[region]:
            if policy.valid_from > day:
                break
            started = policy
        return started
