"""A person leaving: transfer, emigration, death and inheritance (DOMAIN.md 6 and 9).

Every payout empties the balance into a named destination (another region, the person,
the heirs), so money is never created or destroyed, only moved and recorded. Money may
always leave: only a transfer needs a policy in force (the destination's).
"""

from __future__ import annotations

from ledger.account import Account
from ledger.commands import Emigrate, PayInheritance, RecordDeath, Transfer
from ledger.deciders import Decision
from ledger.deciders.checks import same_request
from ledger.results import Done, InheritancePaid, PaidOut, Transferred
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.inheritance import parse_share, split_balance
from policies.model import RegionPolicy


def check_destination(book: PolicyBook, cmd: Transfer) -> None:
    """An unknown destination region is ``invalid_input`` (before anything is looked up)."""
    if cmd.to_region not in book.versions:
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"to_region: unknown region {cmd.to_region!r}; one of {book.regions}",
            field="to_region",
        )


def decide_transfer(account: Account, book: PolicyBook, cmd: Transfer) -> Decision[Transferred]:
    """转移接续: the whole balance moves to ``cmd.to_region``, both sides on one account."""
    check_destination(book, cmd)
    book.check_region(account.region)
    book.check_region(cmd.to_region)
    if cmd.to_region == account.region:
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"to_region: {cmd.person} is already insured in {cmd.to_region}",
            field="to_region",
        )
    # everything priced there later would be refused: the destination's policy must be
    # in force; the source needs none (money may always leave, DOMAIN.md 9)
    destination = book.in_force(cmd.to_region, cmd.date)
    account.require_open("transfer")
    source = book.latest_on_or_before(account.region, cmd.date)
    scheme = equivalent_scheme(source, destination, account.scheme)
    amount = account.transfer(cmd.to_region, scheme, cmd.date, source.articles["transfer"],
                              destination.articles["transfer"])
    return Transferred(amount), [account]


def equivalent_scheme(source: RegionPolicy, destination: RegionPolicy, scheme: str) -> str:
    """The destination's scheme for the same footing: with an account, or pooling only."""
    if scheme in destination.schemes:
        return scheme
    if source.scheme(scheme).account:
        return destination.default_scheme
    return next(code for code, s in destination.schemes.items() if not s.account)


def decide_emigration(account: Account, book: PolicyBook, cmd: Emigrate) -> Decision[PaidOut]:
    """出国出境定居: the balance is paid to the person on application; the account closes."""
    book.check_region(account.region)
    account.require_open("emigration payout")
    account.require_personal_account()
    policy = book.latest_on_or_before(account.region, cmd.date)
    return PaidOut(account.pay_emigration(cmd.date, policy.articles["emigration"])), [account]


def decide_death(account: Account, book: PolicyBook, cmd: RecordDeath) -> Decision[Done]:
    """死亡, recorded once; the same date again is a harmless retry."""
    book.check_region(account.region)
    if account.death_date == cmd.date:
        return Done(), []
    account.require_open("death record")
    policy = book.latest_on_or_before(account.region, cmd.date)
    account.die(cmd.date, policy.articles["death"])
    return Done(), [account]


def decide_inheritance(
    account: Account, book: PolicyBook, cmd: PayInheritance
) -> Decision[InheritancePaid]:
    """继承: the balance paid once to the heirs, split to the fen by largest remainders; the
    same request again gets the first payouts."""
    request = cmd.payload()
    book.check_region(account.region)
    if account.inheritance is not None:
        same_request(account.inheritance["request"], request, f"{cmd.person}'s inheritance")
        return InheritancePaid(account.inheritance["payouts"]), []
    account.require_not_paid_out("inheritance payout")
    account.require_personal_account()
    account.require_dead()
    amounts = split_balance(account.balance, [parse_share(h.share) for h in cmd.heirs])
    payouts = {heir.name: amount for heir, amount in zip(cmd.heirs, amounts)}
    policy = book.latest_on_or_before(account.region, cmd.date)
    account.pay_inheritance(cmd.date, request, payouts, policy.articles["inheritance"])
    return InheritancePaid(payouts), [account]
