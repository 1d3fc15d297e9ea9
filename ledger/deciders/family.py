"""Family bindings (家庭共济绑定): the owner binds and unbinds members, dated (DOMAIN.md 5, 9).

Bindings live on the owner's account: the account that pays decides who it pays for.
"""

from __future__ import annotations

from ledger.account import Account
from ledger.commands import BindFamilyMember, UnbindFamilyMember
from ledger.deciders import Decision
from ledger.results import Done
from policies import family
from policies.book import PolicyBook


def decide_binding(
    owner: Account, member: Account, book: PolicyBook, cmd: BindFamilyMember
) -> Decision[Done]:
    """Bind ``cmd.member`` (enrolled: ``member``) from ``cmd.date``; binding the same pair
    again updates the relation, and the same binding again is a harmless retry."""
    policy = book.in_force(owner.region, cmd.date)
    owner.require_open("binding")
    owner.require_personal_account()
    article = family.check_relation(policy, cmd.relation)
    current = owner.open_binding(cmd.member)
    if current is not None and current[0] == cmd.relation and current[1] <= cmd.date:
        return Done(), []
    owner.bind(cmd.member, str(cmd.relation), cmd.date, article)
    return Done(), [owner]


def decide_unbinding(
    owner: Account, member: Account, book: PolicyBook, cmd: UnbindFamilyMember
) -> Decision[Done]:
    """End the binding from ``cmd.date`` (spends dated then or later are refused); it needs
    a binding active on that date (``not_bound``, checked by the account)."""
    book.check_region(owner.region)
    owner.unbind(cmd.member, cmd.date)
    return Done(), [owner]
