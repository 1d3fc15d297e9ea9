"""Family binding commands (家庭共济绑定): the owner binds and unbinds members, dated."""

from __future__ import annotations

from ledger.commands import BindFamilyMember, UnbindFamilyMember
from ledger.core import LedgerCore
from ledger.results import Done
from policies import family
from policies.errors import ErrorCode, LedgerError


class FamilyCommands(LedgerCore):
    """Bindings live on the owner's account: the account that pays decides who it pays for."""

    def bind_family_member(self, cmd: BindFamilyMember) -> Done:
        """Bind ``member`` from ``date``; binding the same pair again updates the relation."""

        def decide() -> Done:
            owner = self.account(cmd.owner)
            self.account(cmd.member)
            policy = self.policy(owner.region, cmd.date)
            self.require_open(owner, "binding")
            self.require_personal_account(owner)
            article = family.check_relation(policy, cmd.relation)
            current = owner.open_binding(cmd.member)
            if current is not None and current[0] == cmd.relation and current[1] <= cmd.date:
                return Done()
            owner.bind(cmd.member, str(cmd.relation), cmd.date, article)
            self.save(owner)
            return Done()

        return self.write(decide)

    def unbind_family_member(self, cmd: UnbindFamilyMember) -> Done:
        """End the binding from ``date`` (spends dated ``date`` or later are refused)."""

        def decide() -> Done:
            owner = self.account(cmd.owner)
            self.account(cmd.member)
            self.book.check_region(owner.region)
            current = owner.open_binding(cmd.member)
            if current is None or cmd.date < current[1]:
                # an unbind on d needs a binding active on d (DOMAIN.md 9)
                since = f" on {cmd.date} (bound from {current[1]})" if current else ""
                raise LedgerError(
                    ErrorCode.NOT_BOUND,
                    f"{cmd.member} is not bound to {cmd.owner}'s account{since}",
                )
            owner.unbind(cmd.member, cmd.date)
            self.save(owner)
            return Done()

        return self.write(decide)
