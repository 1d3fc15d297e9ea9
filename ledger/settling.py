"""Commands that take money out of accounts: visits, spends, and their reversal.

Each one is the write loop (:meth:`LedgerCore.decide_and_save`) around its pure decider
in :mod:`ledger.deciders.settling`, where pricing, paying and restoring are decided.
"""

from __future__ import annotations

from ledger.commands import Reverse, SettleVisit, Spend
from ledger.core import LedgerCore
from ledger.deciders import settling
from ledger.prefetch import Fetched, Needs
from ledger.results import Reversed, SpendResult, VisitResult


class SettlementCommands(LedgerCore):
    """Visits (门诊结算), spends (个人账户支付) and reversals (冲正)."""

    def settle_visit(self, cmd: SettleVisit) -> VisitResult:
        """Settle a visit once per id; a retry returns the first result."""
        payer = settling.family_payer(cmd)
        return self.decide_and_save(
            Needs(accounts=[cmd.person, payer], transactions=[cmd.id]), lambda got: (
                settling.decide_visit(got.account(cmd.person), got.account(payer),
                                      got.transaction(cmd.id), self.book, cmd)))

    def preview_visit(self, cmd: SettleVisit) -> VisitResult:
        """Pre-settlement (预结算): the same figures a settlement would give now; writes nothing."""
        payer = settling.family_payer(cmd)
        got = self.fetch(Needs(accounts=[cmd.person, payer]))
        return settling.preview_visit(got.account(cmd.person), got.account(payer), self.book,
                                      cmd)

    def spend(self, cmd: Spend) -> SpendResult:
        """Pay a purpose from the payer's account, all or nothing; with ``shortfall_from``,
        the payer's own balance first and the rest from a bound family member's (共济)."""
        member = cmd.for_whom if cmd.for_whom != cmd.payer else None
        return self.decide_and_save(
            Needs(accounts=[cmd.payer, member, cmd.shortfall_from], transactions=[cmd.id]),
            lambda got: settling.decide_spend(
                got.account(cmd.payer), got.account(member), got.account(cmd.shortfall_from),
                got.transaction(cmd.id), self.book, cmd))

    def reverse(self, cmd: Reverse) -> Reversed:
        """Reverse a settlement or spend once, whole; nothing is edited, new events restore."""

        def needs(got: Fetched) -> Needs:  # the transaction, then the accounts it touched
            return Needs(accounts=settling.reversal_parties(got.transaction(cmd.id)),
                         transactions=[cmd.id])

        return self.decide_and_save(needs, lambda got: settling.decide_reversal(
            got.transaction(cmd.id), got.accounts(), cmd))
