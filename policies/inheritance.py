"""Splitting a deceased person's balance among heirs to the fen (DOMAIN.md 6).

Each heir gets ``floor(balance × share)`` fen; the fen left over go one each to the heirs
with the largest remainders, ties to the one listed first. Nothing is lost or created.
"""

from __future__ import annotations

import re
from fractions import Fraction

_SHARE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$|^\s*(\d+(?:\.\d+)?)\s*$")


def parse_share(text: object) -> Fraction:
    """``"1/3"`` or ``"0.5"`` as an exact fraction in (0, 1]."""
    match = _SHARE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'share must be a fraction such as "1/3" or a decimal such as "0.5", got {text!r}')
    if match.group(3) is not None:
        share = Fraction(match.group(3))
    else:
        if int(match.group(2)) == 0:
            raise ValueError(f"share {text!r} divides by zero")
        share = Fraction(int(match.group(1)), int(match.group(2)))
    if not 0 < share <= 1:
        raise ValueError(f"share must be greater than 0 and at most 1, got {text!r}")
    return share


def split_balance(balance: int, shares: list[Fraction]) -> list[int]:
    """Fen for each share, in order; ``sum(result) == balance`` always."""
    if sum(shares) != 1:
        raise ValueError("shares must sum to exactly 1")
    exact = [balance * share for share in shares]
    amounts = [int(value) for value in exact]  # floor: all values are non-negative
    leftover = balance - sum(amounts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - amounts[i]), i))
    for i in by_remainder[:leftover]:
        amounts[i] += 1
    return amounts
