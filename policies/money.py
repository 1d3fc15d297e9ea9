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
from functools import lru_cache

from policies.errors import InputError

AMOUNT_PATTERN = r"^[0-9]{1,13}\.[0-9]{2}$"
_AMOUNT = re.compile(r"([0-9]{1,13})\.([0-9]{2})", re.ASCII)
_RATE = re.compile(r"^(\d{1,3})(?:\.(\d{1,6}))?$")
MAX_INTEGER_DIGITS = 13


class MoneyFormatError(InputError):
    """A value that is not an amount: a JSON number, no or other than two decimals, non-ASCII
    digits, a sign, more than 13 integer digits."""


_AMOUNT_ZH = "金额须为字符串，ASCII 数字，恰好两位小数，整数部分不超过 13 位，例如 \"12.30\""


def parse_fen(value: object) -> int:
    """Parse an amount of yuan, ``"12.30"``, into fen: the one money parser of every interface.

    Strict on purpose (FORMAT.md): a string of ASCII digits with exactly two decimals and at
    most 13 integer digits. A JSON number, ``"12"``, ``"12.3"``, ``"１２.００"``, ``"-1.00"``
    or ``" 1.00"`` is refused: guessing what a client meant would hide money.
    """
    if not isinstance(value, str):
        raise MoneyFormatError(
            f'amount must be a string such as "12.30", not the {type(value).__name__} {value!r:.40}',
            _AMOUNT_ZH)
    match = _AMOUNT.fullmatch(value)
    if match is None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        if value.startswith("-"):
            reason = "must not be negative"
        elif value.isascii() and value.split(".")[0].isdigit() and len(value.split(".")[0]) > MAX_INTEGER_DIGITS:
            reason = f"has more than {MAX_INTEGER_DIGITS} integer digits"
        else:
            reason = "is malformed"
        raise MoneyFormatError(
            f'amount {reason}: send ASCII digits with exactly two decimals, at most '
            f'{MAX_INTEGER_DIGITS} before the point, e.g. "12.30"; got {shown!r}', _AMOUNT_ZH)
    return int(match.group(1)) * 100 + int(match.group(2))


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
            raise MoneyFormatError(f'rate must be a string such as "0.60", not {text!r}',
                                   '比例须为字符串，例如 "0.60"')
        match = _RATE.match(text.strip())
        if match is None:
            raise MoneyFormatError(f'rate must be a decimal such as "0.60", got {text!r}',
                                   '比例须为小数，例如 "0.60"')
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
        return _rate_text(self.value.numerator, self.value.denominator)


@lru_cache(maxsize=1024)
def _rate_text(numerator: int, denominator: int) -> str:
    """A rate's decimal text (``"0.02"``), worked out once per rate: a region has a few,
    and a batch job writes one into every credit's working (``Credit.basis``)."""
    return format((Decimal(numerator) / Decimal(denominator)).normalize(), "f")
