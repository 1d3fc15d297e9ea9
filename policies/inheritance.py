"""Splitting a deceased person's balance among heirs to the fen (DOMAIN.md 6).

Each heir gets ``floor(balance × share)`` fen; the fen left over go one each to the heirs
with the largest remainders, ties to the one listed first. Nothing is lost or created.
"""

from __future__ import annotations

import re
from fractions import Fraction

from policies.errors import InputError

_SHARE = re.compile(r"^\s*(\d{1,18})\s*/\s*(\d{1,18})\s*$|^\s*(\d{1,18}(?:\.\d{1,18})?)\s*$", re.ASCII)


def parse_share(text: object) -> Fraction:
    """``"1/3"`` or ``"0.5"`` as an exact fraction in (0, 1]."""
    match = _SHARE.match(text) if isinstance(text, str) else None
    if match is None:
        raise InputError(f'share must be a fraction such as "1/3" or a decimal such as "0.5", got {text!r:.40}',
                         '继承份额须为分数（如 "1/3"）或小数（如 "0.5"）')
    if match.group(3) is not None:
        share = Fraction(match.group(3))
    else:
        if int(match.group(2)) == 0:
            raise InputError(f"share {text!r} divides by zero", "继承份额的分母不能为 0")
        share = Fraction(int(match.group(1)), int(match.group(2)))
    if not 0 < share <= 1:
        raise InputError(f"share must be greater than 0 and at most 1, got {text!r}",
                         "继承份额须大于 0 且不超过 1")
    return share


def split_balance(balance: int, shares: list[Fraction]) -> list[int]:
    """Fen for each share, in order; ``sum(result) == balance`` always."""
    if sum(shares) != 1:
        raise InputError("shares must sum to exactly 1", "继承份额之和须恰好为 1")
    exact = [balance * share for share in shares]
    amounts = [int(value) for value in exact]  # floor: all values are non-negative
    leftover = balance - sum(amounts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - amounts[i]), i))
    for i in by_remainder[:leftover]:
        amounts[i] += 1
    return amounts
