"""Money and rates: integer fen inside, two-decimal strings outside, never a float.

Every amount the ledger computes goes through :func:`Rate.apply`, which rounds half up
to the fen exactly once (DOMAIN.md 2). Parsing is strict on purpose: a third decimal
or a float is a client bug, and silently rounding it would hide money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

_AMOUNT = re.compile(r"^(\d{1,13})(?:\.(\d{1,2}))?$")
_RATE = re.compile(r"^(\d{1,3})(?:\.(\d{1,6}))?$")


class MoneyFormatError(ValueError):
    """A text that is not an amount of yuan with at most two decimals."""


def parse_fen(value: object) -> int:
    """Parse ``"12.30"`` (or ``"12"``, ``"12.3"``, an int of yuan) into fen.

    Floats are refused: ``0.1 + 0.2`` is not money.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError(f'amount must be a string such as "12.30", not {value!r}')
    if isinstance(value, int):
        if value < 0:
            raise MoneyFormatError(f"amount must not be negative, got {value}")
        return value * 100
    if not isinstance(value, str):
        raise MoneyFormatError(f'amount must be a string such as "12.30", not {value!r}')
    match = _AMOUNT.match(value.strip())
    if match is None:
        if value.strip().startswith("-"):
            raise MoneyFormatError(f"amount must not be negative, got {value!r}")
        raise MoneyFormatError(
            f'amount must be yuan with at most two decimals such as "12.30", got {value!r}'
        )
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def format_fen(fen: int) -> str:
    """``1230`` → ``"12.30"``; negative amounts keep their sign (used for net movements)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def round_half_up(value: Fraction) -> int:
    """Round an exact non-negative fraction of fen to whole fen, 0.5 → 1 (DOMAIN.md 2)."""
    if value < 0:
        return -round_half_up(-value)
    return int((value * 2 + 1) // 2)


@dataclass(frozen=True, slots=True)
class Rate:
    """An exact proportion such as a pooling rate (0.80) or a credit rate (0.02)."""

    value: Fraction

    @classmethod
    def parse(cls, text: object) -> Rate:
        """Parse ``"0.85"`` exactly; floats are refused like money."""
        if isinstance(text, (bool, float)) or not isinstance(text, str):
            raise MoneyFormatError(f'rate must be a string such as "0.60", not {text!r}')
        match = _RATE.match(text.strip())
        if match is None:
            raise MoneyFormatError(f'rate must be a decimal such as "0.60", got {text!r}')
        return cls(Fraction(text.strip()))

    def apply(self, fen: int) -> int:
        """``fen × rate``, rounded half up to the fen: the one rounding of a computed amount.

        Integer arithmetic on the rate's numerator and denominator: the same result as
        ``round_half_up(self.value * fen)`` without building Fractions (batch jobs call
        this a million times a run)."""
        product, denominator = self.value.numerator * fen, self.value.denominator
        if product < 0:
            return -((-2 * product + denominator) // (2 * denominator))
        return (2 * product + denominator) // (2 * denominator)

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.value + other.value)

    def __str__(self) -> str:
        exact = Decimal(self.value.numerator) / Decimal(self.value.denominator)
        return format(exact.normalize(), "f")
