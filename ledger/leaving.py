"""Commands for a person leaving: transfer, emigration, death and inheritance (DOMAIN.md 6).

Every payout empties the balance into a named destination (another region, the person,
the heirs), so money is never created or destroyed, only moved and recorded.
"""

from __future__ import annotations

from ledger.commands import Emigrate, PayInheritance, RecordDeath, Transfer
from ledger.core import LedgerCore
from ledger.results import Done, InheritancePaid, PaidOut, Transferred
from policies.errors import ErrorCode, LedgerError
from policies.inheritance import parse_share, split_balance
from policies.model import RegionPolicy


class LeavingCommands(LedgerCore):
    """转移接续, 出国出境定居, 死亡, 继承."""

    def transfer(self, cmd: Transfer) -> Transferred:
        """Move the whole balance to ``to_region``: both sides recorded in one atomic save."""
        if cmd.to_region not in self.book.versions:
            raise LedgerError(
                ErrorCode.INVALID_INPUT,
                f"to_region: unknown region {cmd.to_region!r}; one of {self.book.regions}",
                field="to_region",
            )

        def decide() -> Transferred:
            account = self.account(cmd.person)
            self.book.check_region(account.region)
            self.book.check_region(cmd.to_region)
            if cmd.to_region == account.region:
                raise LedgerError(
                    ErrorCode.INVALID_INPUT,
                    f"to_region: {cmd.person} is already insured in {cmd.to_region}",
                    field="to_region",
                )
            # everything priced there later would be refused: the destination's policy
            # must be in force; the source needs none (money may always leave, DOMAIN.md 9)
            destination = self.book.in_force(cmd.to_region, cmd.date)
            self.require_open(account, "transfer")
            source = self.book.latest_on_or_before(account.region, cmd.date)
            scheme = _equivalent_scheme(source, destination, account.scheme)
            amount = account.balance
            account.transfer_out(cmd.to_region, cmd.date, amount, source.articles["transfer"])
            account.transfer_in(account.region, cmd.to_region, scheme, cmd.date, amount,
                                destination.articles["transfer"])
            self.save(account)
            return Transferred(amount)

        return self.write(decide)

    def emigrate(self, cmd: Emigrate) -> PaidOut:
        """Pay the balance to the person on application and close the account."""

        def decide() -> PaidOut:
            account = self.account(cmd.person)
            self.book.check_region(account.region)
            self.require_open(account, "emigration payout")
            self.require_personal_account(account)
            policy = self.book.latest_on_or_before(account.region, cmd.date)
            amount = account.balance
            account.pay_emigration(cmd.date, amount, policy.articles["emigration"])
            self.save(account)
            return PaidOut(amount)

        return self.write(decide)

    def record_death(self, cmd: RecordDeath) -> Done:
        """Record a death once; the same date again is a harmless retry."""

        def decide() -> Done:
            account = self.account(cmd.person)
            self.book.check_region(account.region)
            if account.death_date == cmd.date:
                return Done()
            self.require_open(account, "death record")
            policy = self.book.latest_on_or_before(account.region, cmd.date)
            account.die(cmd.date, policy.articles["death"])
            self.save(account)
            return Done()

        return self.write(decide)

    def pay_inheritance(self, cmd: PayInheritance) -> InheritancePaid:
        """Pay the balance once to the heirs, split to the fen by largest remainders."""
        request = cmd.payload()

        def decide() -> InheritancePaid:
            account = self.account(cmd.person)
            self.book.check_region(account.region)
            if account.inheritance is not None:
                self.same_request(account.inheritance["request"], request,
                                  f"{cmd.person}'s inheritance")
                return InheritancePaid(account.inheritance["payouts"])
            self.require_not_paid_out(account, "inheritance payout")
            self.require_personal_account(account)
            if account.death_date is None:
                raise LedgerError(
                    ErrorCode.NOT_DEAD, f"{cmd.person}'s death has not been recorded"
                )
            amounts = split_balance(account.balance, [parse_share(h.share) for h in cmd.heirs])
            payouts = {heir.name: amount for heir, amount in zip(cmd.heirs, amounts)}
            policy = self.book.latest_on_or_before(account.region, cmd.date)
            account.pay_inheritance(cmd.date, request, payouts, account.balance,
                                    policy.articles["inheritance"])
            self.save(account)
            return InheritancePaid(payouts)

        return self.write(decide)


def _equivalent_scheme(source: RegionPolicy, destination: RegionPolicy, scheme: str) -> str:
    """The destination's scheme for the same footing: with an account, or pooling only."""
    if scheme in destination.schemes:
        return scheme
    has_account = source.scheme(scheme).account
    if has_account:
        return destination.default_scheme
    return next(code for code, s in destination.schemes.items() if not s.account)
