"""Family binding commands (家庭共济绑定): the owner binds and unbinds members, dated.

Each one is the write loop around its pure decider in :mod:`ledger.deciders.family`.
"""

from __future__ import annotations

from ledger.commands import BindFamilyMember, UnbindFamilyMember
from ledger.core import LedgerCore
from ledger.deciders import family
from ledger.prefetch import Needs
from ledger.results import Done


class FamilyCommands(LedgerCore):
    """Bindings live on the owner's account: the account that pays decides who it pays for."""

    def bind_family_member(self, cmd: BindFamilyMember) -> Done:
        """Bind ``member`` from ``date``; binding the same pair again updates the relation."""
        return self.decide_and_save(Needs(accounts=[cmd.owner, cmd.member]), lambda got: (
            family.decide_binding(got.account(cmd.owner), got.account(cmd.member), self.book,
                                  cmd)))

    def unbind_family_member(self, cmd: UnbindFamilyMember) -> Done:
        """End the binding from ``date`` (spends dated ``date`` or later are refused)."""
        return self.decide_and_save(Needs(accounts=[cmd.owner, cmd.member]), lambda got: (
            family.decide_unbinding(got.account(cmd.owner), got.account(cmd.member),
                                    self.book, cmd)))
