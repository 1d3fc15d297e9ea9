"""The ledger application: one method per command, composed from the modules by topic.

Build it with :func:`open_ledger` from settings (what the CLI, the API and the tests do)
so that the store and the policy book are wired in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger import commands as c
from ledger.crediting import CreditCommands
from ledger.family import FamilyCommands
from ledger.leaving import LeavingCommands
from ledger.operations import BY_COMMAND
from ledger.queries import AccountQueries
from ledger.reviews import ReviewCommands
from ledger.settling import SettlementCommands
from ledger.settings import DEFAULT_DATABASE
from ledger.year_end import YearEndCommands
from policies.book import PolicyBook


class Ledger(
    CreditCommands,
    SettlementCommands,
    FamilyCommands,
    LeavingCommands,
    YearEndCommands,
    ReviewCommands,
    AccountQueries,
):
    """共济 ledger: every money movement of personal accounts as immutable events."""

    name = "Ledger"

    def execute(self, command: c.Command) -> Any:
        """Run any command by its type, with the method the operation table names."""
        return getattr(self, BY_COMMAND[type(command)].method)(command)


def open_ledger(
    database_url: str = DEFAULT_DATABASE,
    parameters: Mapping[str, object] | None = None,
    env: dict[str, str] | None = None,
) -> Ledger:
    """A ledger on ``database_url`` with the deployment's policy ``parameters``."""
    return Ledger(PolicyBook.load(parameters), database_url=database_url, env=env)
