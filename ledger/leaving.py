"""Commands for a person leaving: transfer, emigration, death and inheritance (DOMAIN.md 6).

Each one is the write loop around its pure decider in :mod:`ledger.deciders.leaving`.
"""

from __future__ import annotations

from ledger.commands import Emigrate, PayInheritance, RecordDeath, Transfer
from ledger.core import LedgerCore
from ledger.deciders import leaving
from ledger.results import Done, InheritancePaid, PaidOut, Transferred


class LeavingCommands(LedgerCore):
    """转移接续, 出国出境定居, 死亡, 继承."""

    def transfer(self, cmd: Transfer) -> Transferred:
        """Move the whole balance to ``to_region``: both sides recorded in one atomic save."""
        leaving.check_destination(self.book, cmd)  # an unknown region: refused before loading
        return self.decide_on_account(cmd.person, leaving.decide_transfer, cmd)

    def emigrate(self, cmd: Emigrate) -> PaidOut:
        """Pay the balance to the person on application and close the account."""
        return self.decide_on_account(cmd.person, leaving.decide_emigration, cmd)

    def record_death(self, cmd: RecordDeath) -> Done:
        """Record a death once; the same date again is a harmless retry."""
        return self.decide_on_account(cmd.person, leaving.decide_death, cmd)

    def pay_inheritance(self, cmd: PayInheritance) -> InheritancePaid:
        """Pay the balance once to the heirs, split to the fen by largest remainders."""
        return self.decide_on_account(cmd.person, leaving.decide_inheritance, cmd)
