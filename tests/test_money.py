"""Money at the edges: yuan strings in and out, integer fen inside, one half-up rounding."""

from __future__ import annotations

from fractions import Fraction

import pytest

from policies.money import MoneyFormatError, Rate, format_fen, parse_fen, round_half_up


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.00", 0), ("0.01", 1), ("12.30", 1230), ("1300.00", 130000), ("007.05", 705),
     ("9999999999999.99", 999999999999999)],
)
def test_parse_fen_reads_yuan_with_at_most_two_decimals(text: object, fen: int) -> None:
    assert parse_fen(text) == fen


@pytest.mark.parametrize(
    "bad",
    ["1.005", "12.345", "-1.00", "1,00", "1e3", "", ".50", "abc", "¥5", None, [], True,
     # FORMAT.md: exactly two decimals, ASCII digits, ≤ 13 integer digits, a string
     "12", "12.3", "5000", "5000.5", " 7.05 ", "7.05\n", "１２.００", "١٢.٠٠", "+1.00",
     "10000000000000.00", 0, 5, 10**20, 10**400],
)
def test_parse_fen_refuses_what_is_not_an_amount(bad: object) -> None:
    with pytest.raises(MoneyFormatError):
        parse_fen(bad)


@pytest.mark.parametrize("bad", [0.1, 12.3, 1.0, float("nan")])
def test_parse_fen_refuses_floats_even_exact_ones(bad: float) -> None:
    with pytest.raises(MoneyFormatError, match="string"):
        parse_fen(bad)


def test_negative_amounts_are_refused_with_a_message_saying_so() -> None:
    with pytest.raises(MoneyFormatError, match="negative"):
        parse_fen("-0.01")
    with pytest.raises(MoneyFormatError, match="must be a string"):
        parse_fen(-3)


def test_every_refusal_says_what_to_fix_in_chinese_too() -> None:
    for bad in ("12", 12, "１２.００", "10000000000000.00"):
        with pytest.raises(MoneyFormatError) as refused:
            parse_fen(bad)
        assert "两位小数" in refused.value.zh
    with pytest.raises(MoneyFormatError, match="more than 13 integer digits"):
        parse_fen("10000000000000.00")


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (1230, "12.30"), (130000, "1300.00"),
     (-705, "-7.05"), (-1, "-0.01")],
)
def test_format_fen_writes_exactly_two_decimals(fen: int, text: str) -> None:
    assert format_fen(fen) == text


@pytest.mark.parametrize("fen", [0, 1, 99, 100, 12345, 10**12 + 7])
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_fen(format_fen(fen)) == fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [(Fraction(1, 2), 1), (Fraction(3, 2), 2), (Fraction(5, 2), 3),  # half up, not to even
     (Fraction(49, 100), 0), (Fraction(51, 100), 1), (Fraction(7), 7),
     (Fraction(-1, 2), -1), (Fraction(-3, 2), -2)],
)
def test_round_half_up_rounds_halves_away_from_zero(value: Fraction, fen: int) -> None:
    assert round_half_up(value) == fen


@pytest.mark.parametrize(
    ("rate", "fen", "expected"),
    [("0.02", 500000, 10000),   # 5000.00 × 2% = 100.00
     ("0.02", 25, 1),           # 0.25 × 2% = 0.005 → 0.01 (half up)
     ("0.02", 24, 0),           # 0.0048 → 0.00
     ("0.02", 123456, 2469),    # 1234.56 × 2% = 24.6912 → 24.69
     ("0.70", 5, 4),            # 0.05 × 70% = 3.5 fen → 4 fen
     ("0.65", 10, 7),           # 6.5 fen → 7
     ("0.55", 30, 17),          # 16.5 fen → 17
     ("0.025", 310000, 7750),   # nanchang: 2.5% × 3100.00 = 77.50
     ("1", 999, 999), ("0", 999, 0)],
)
def test_rate_apply_rounds_once_half_up(rate: str, fen: int, expected: int) -> None:
    assert Rate.parse(rate).apply(fen) == expected


def test_rate_is_exact_not_binary() -> None:
    """0.1 + 0.2 must be 0.3 exactly: rates are fractions, never floats."""
    assert Rate.parse("0.1") + Rate.parse("0.2") == Rate.parse("0.3")
    assert str(Rate.parse("0.60") + Rate.parse("0.05")) == "0.65"


@pytest.mark.parametrize("bad", [0.8, "80%", "-0.1", "0.1234567", None, True])
def test_rate_parse_refuses_floats_and_garbage(bad: object) -> None:
    with pytest.raises(MoneyFormatError):
        Rate.parse(bad)


@pytest.mark.parametrize("text, shown, plus_a_hundredth", [
    ("0.02", "0.02", "0.03"), ("0.30", "0.3", "0.31"), ("1", "1", "1.01"),
    ("0.125", "0.125", "0.135"), ("1.50", "1.5", "1.51"), ("0.99", "0.99", "1")])
def test_a_rate_is_shown_in_its_shortest_decimals_every_time(
        text: str, shown: str, plus_a_hundredth: str) -> None:
    """A rate's text is worked out once and kept: the second time it is the same."""
    assert str(Rate.parse(text)) == shown and str(Rate.parse(text)) == shown
    assert str(Rate.parse(text) + Rate.parse("0.01")) == plus_a_hundredth
