"""Family mutual aid (家庭共济): which relations bind, which purposes an account pays.

DOMAIN.md 5. Relations and purposes are those of the paying account's region on the
spend's date; a purpose a seed only "explores" (探索) is off unless a deployment enables it.
"""

from __future__ import annotations

import datetime as dt

from policies.errors import ErrorCode, LedgerError
from policies.model import Purpose, Relation, RegionPolicy

NEVER = frozenset({
    Purpose.PUBLIC_HEALTH, Purpose.FITNESS, Purpose.WELLNESS, Purpose.HEALTH_CHECK,
    Purpose.WORK_INJURY, Purpose.THIRD_PARTY, Purpose.OVERSEAS,
})


def check_relation(policy: RegionPolicy, relation: Relation) -> str:
    """The article allowing ``relation``, or ``relation_not_allowed``."""
    if relation not in policy.family.relations:
        allowed = ", ".join(policy.family.relations)
        raise LedgerError(
            ErrorCode.RELATION_NOT_ALLOWED,
            f"{policy.region} accounts may pay for {allowed}, not {relation} "
            f"({policy.family.article})",
        )
    return policy.family.article


def check_purpose(policy: RegionPolicy, purpose: Purpose, for_family: bool, day: dt.date) -> str:
    """The article allowing an account to pay ``purpose`` for its owner or family."""
    rule = policy.family.purposes.get(purpose)
    if purpose in NEVER or rule is None:
        raise LedgerError(
            ErrorCode.PURPOSE_NOT_ALLOWED,
            f"a personal account never pays for {purpose} ({policy.family.never_article})",
        )
    if for_family:
        allowed = rule.family and (rule.family_from is None or day >= rule.family_from)
        whom = "family members"
        if rule.family and rule.family_from and day < rule.family_from:
            whom += f" before {rule.family_from}"
    else:
        allowed, whom = rule.self_allowed, "the account owner"
    if not allowed:
        raise LedgerError(
            ErrorCode.PURPOSE_NOT_ALLOWED,
            f"{policy.region} accounts may not pay {purpose} for {whom} ({rule.article})",
        )
    return rule.article
