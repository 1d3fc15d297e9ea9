"""Commands that enroll people and put money into accounts (DOMAIN.md 4).

Each one is the write loop (:meth:`LedgerCore.decide_and_save`) around its pure decider
in :mod:`ledger.deciders.crediting`, where the rules and FORMAT.md's order of checks are.
"""

from __future__ import annotations

from typing import Any

from ledger.commands import (
    CreditAllotment,
    CreditLumpSum,
    EnrollPerson,
    RecordContribution,
    RecordRetirement,
)
from ledger.core import LedgerCore
from ledger.deciders import crediting
from ledger.prefetch import Needs
from ledger.results import Credited, Done


class CreditCommands(LedgerCore):
    """Enrollment, contributions, allotments, lump sums, retirement."""

    def enroll(self, cmd: EnrollPerson) -> Done:
        """Enroll a person; enrolling again with the same facts is a harmless retry."""
        crediting.enrollment_facts(self.book, cmd)  # bad input: refused before any load
        return self.decide_and_save(Needs(accounts=[cmd.person]), lambda got: (
            crediting.decide_enroll(got.maybe_account(cmd.person), self.book, cmd)))

    def enrollment_facts(self, cmd: EnrollPerson) -> dict[str, Any]:
        """The ``Enrolled`` event's facts for ``cmd``, or ``invalid_input`` (region, scheme)."""
        return crediting.enrollment_facts(self.book, cmd)

    def credit_contribution(self, cmd: RecordContribution) -> Credited:
        """An employed month's credit, once per person and month."""
        return self.decide_on_account(cmd.person, crediting.decide_contribution, cmd)

    def credit_allotment(self, cmd: CreditAllotment) -> Credited:
        """A retired month's allotment, once per person and month."""
        return self.decide_on_account(cmd.person, crediting.decide_allotment, cmd)

    def credit_lump_sum(self, cmd: CreditLumpSum) -> Credited:
        """A one-off prepay/back-pay credit (nanchang art. 21), idempotent by its id."""
        return self.decide_and_save(
            Needs(accounts=[cmd.person], transactions=[cmd.id]), lambda got: (
                crediting.decide_lump_sum(got.account(cmd.person), got.transaction(cmd.id),
                                          self.book, cmd)))

    def retire(self, cmd: RecordRetirement) -> Done:
        """在职转退休; repeating the same date is harmless, another date is refused."""
        return self.decide_on_account(cmd.person, crediting.decide_retirement, cmd)
