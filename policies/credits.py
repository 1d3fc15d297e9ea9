"""Personal account credits (个人账户计入): DOMAIN.md 4, pure functions.

Each returns a :class:`Credit` carrying the article it came from, or refuses with the
code FORMAT.md gives (``not_employed``, ``not_retired``, ``no_personal_account``, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from policies.calendar import Month
from policies.errors import ErrorCode, LedgerError
from policies.model import RegionPolicy
from policies.money import format_fen, round_half_up
from policies.people import PersonFacts


@dataclass(frozen=True, slots=True)
class Credit:
    amount: int
    article: str
    basis: str


def _require_account(policy: RegionPolicy, person: PersonFacts) -> None:
    if not policy.scheme(person.scheme).account:
        raise LedgerError(
            ErrorCode.NO_PERSONAL_ACCOUNT,
            f"scheme {person.scheme!r} has no personal account in {policy.region} "
            f"({policy.scheme(person.scheme).article or 'DOMAIN.md 1'})",
        )


def _require_not_resettled(policy: RegionPolicy, person: PersonFacts) -> None:
    """A remote-resettled person's account gets no more credits where the policy says so."""
    if person.resettled and policy.credits.resettled_article:
        raise LedgerError(
            ErrorCode.ACCOUNT_CLOSED,
            "the person is resettled outside the region (异地安置): the account takes no "
            f"more credits ({policy.credits.resettled_article})",
        )


def contribution_credit(
    policy: RegionPolicy, person: PersonFacts, month: Month, base: int
) -> Credit:
    """An employed month: ``round_half_up(base × 2%)`` (e.g. suizhou art. 14(一))."""
    _require_account(policy, person)
    _require_not_resettled(policy, person)
    if person.lump_sum_until is not None:
        if not person.in_lump_sum_period(month):
            raise LedgerError(
                ErrorCode.NOT_EMPLOYED,
                f"{month} is after the lump-sum period ending {person.lump_sum_until}; "
                f"the retired allotment applies ({policy.credits.lump_sum_scheme_article})",
            )
        article = policy.credits.lump_sum_scheme_article or policy.credits.employed_article
    elif person.category_in(month) != "employed":
        raise LedgerError(
            ErrorCode.NOT_EMPLOYED,
            f"the person is retired in {month}: record an allotment instead of a contribution",
        )
    else:
        article = policy.credits.employed_article
    rate = policy.credits.employed_rate
    return Credit(rate.apply(base), article, f"{format_fen(base)} × {rate}")


def receives_allotment(person: PersonFacts, month: Month) -> bool:
    """Is ``month`` an allotment month: retired in it (次月 rule), or a lump-sum payer
    after the lump-sum period (chongqing art. 9)? Otherwise it is a contribution month."""
    if person.lump_sum_until is not None:
        return not person.in_lump_sum_period(month)
    return person.category_in(month) == "retired"


def retired_allotment(policy: RegionPolicy, person: PersonFacts, month: Month) -> Credit:
    """A retired month's allotment: fixed, by age band, or a share of the average pension."""
    require_allotment_figures(policy)
    _require_account(policy, person)
    _require_not_resettled(policy, person)
    retired = policy.credits.retired
    if not receives_allotment(person, month):
        if person.lump_sum_until is not None:
            raise LedgerError(
                ErrorCode.NOT_RETIRED,
                f"{month} is inside the lump-sum period ending {person.lump_sum_until}: "
                "record a contribution instead",
            )
        raise LedgerError(
            ErrorCode.NOT_RETIRED,
            f"the person is not retired in {month} (allotments start the month after "
            "retirement)",
        )
    if retired.kind == "age_band":
        over_70 = person.is_70_or_over_in(month)
        amount = retired.from_70 if over_70 else retired.under_70
        basis = "70 and over" if over_70 else "under 70"
    else:
        amount = retired.amount
        assert amount is not None  # require_allotment_figures
        basis = "fixed" if retired.kind == "fixed" else f"{retired.share} × average pension"
    article = retired.article
    if policy.credits.mixed_history_article and person.total_years:
        standard = person.standard_years if person.standard_years is not None else person.total_years
        amount = round_half_up(Fraction(amount * standard, person.total_years))
        basis += f" × {standard}/{person.total_years} standard years"
        article += f", {policy.credits.mixed_history_article}"
    return Credit(amount, article, basis)


def require_allotment_figures(policy: RegionPolicy) -> None:
    """A share-of-pension allotment needs the deployment's average pension: without it the
    policy is incomplete (``policy_invalid``, before any account check)."""
    retired = policy.credits.retired
    if retired.kind == "pension_share" and retired.amount is None:
        raise LedgerError(
            ErrorCode.POLICY_INVALID,
            f"{policy.region} allotment needs the deployment parameter average_pension "
            f"({retired.article})",
        )


def require_lump_sum_region(versions: Iterable[RegionPolicy]) -> None:
    """A one-off lump-sum credit exists only where some version provides it (nanchang
    art. 21); elsewhere the request itself is wrong (``invalid_input``, DOMAIN.md 9)."""
    versions = list(versions)
    if all(p.credits.lump_sum_rate is None for p in versions):
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"lump_sum: {versions[0].region} has no one-off lump-sum credit (only nanchang "
            "art. 21 provides one)",
            field="lump_sum",
            message_zh="一次性预缴/补缴计入仅南昌市有此规定（第二十一条），该统筹地区不能办理",
        )


def require_lump_sum(policy: RegionPolicy) -> None:
    """Only a policy with a one-off credit takes one (nanchang art. 21); a policy matter,
    so it is refused with the policy checks, before ids and account state."""
    if policy.credits.lump_sum_rate is None:
        raise LedgerError(
            ErrorCode.NO_POLICY_IN_FORCE,
            f"{policy.region} has no one-off lump-sum credit (only nanchang art. 21 provides one)",
        )


def lump_sum_credit(policy: RegionPolicy, person: PersonFacts, base: int) -> Credit:
    """A one-off prepay/back-pay: 2% of its base at once (nanchang art. 21 only)."""
    require_lump_sum(policy)
    _require_account(policy, person)
    _require_not_resettled(policy, person)
    rate, article = policy.credits.lump_sum_rate, policy.credits.lump_sum_article
    assert rate is not None and article is not None  # Credits refuses a rate without article
    return Credit(rate.apply(base), article, f"{format_fen(base)} × {rate}")
