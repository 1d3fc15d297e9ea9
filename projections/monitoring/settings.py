"""The monitoring thresholds: ``thresholds.toml`` beside this module, overridden by the
deployment's ``GONGJI_MONITORING`` (a JSON object of the same shape), validated once."""

from __future__ import annotations

import json
import os
import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ledger.settings import SettingsError
from policies.money import parse_fen

DEFAULTS = Path(__file__).with_name("thresholds.toml")
VARIABLE = "GONGJI_MONITORING"
INDICATORS = ("in_scope_per_visit", "total_per_visit", "growth_3m", "growth_yoy",
              "self_pay_share", "out_of_scope_share")


def _fraction(value: object) -> Fraction:
    if not isinstance(value, str):
        raise ValueError("write numbers as strings, e.g. \"3.5\"")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{value!r} is not a number ≥ 0")
    return Fraction(number)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Institutions(Strict):
    article: str
    method: Literal["robust_z", "percentile"]
    z: Fraction
    percentile: Fraction
    min_peers: int = Field(ge=3)
    min_visits: int = Field(ge=1)
    min_excess: dict[Literal[INDICATORS], Fraction]  # type: ignore[valid-type]

    _fractions = field_validator("z", "percentile", mode="before")(_fraction)

    @field_validator("min_excess", mode="before")
    @classmethod
    def _excess(cls, value: dict[str, Any]) -> dict[str, Fraction]:
        return {k: _fraction(v) for k, v in value.items()}


class Rule(Strict):
    article: str
    title: str


class ManyBeneficiaries(Rule):
    beneficiaries: int = Field(ge=2)


class Drained(Rule):
    days: int = Field(ge=0, le=31)
    left_share: Fraction
    min_balance: int
    times: int = Field(ge=1, le=12)

    _share = field_validator("left_share", mode="before")(_fraction)
    _fen = field_validator("min_balance", mode="before")(lambda v: parse_fen(v))


class PharmacyDay(Rule):
    spends: int = Field(ge=2)


class NearThreshold(Rule):
    threshold: int
    band: Fraction
    times: int = Field(ge=1)

    _band = field_validator("band", mode="before")(_fraction)
    _fen = field_validator("threshold", mode="before")(lambda v: parse_fen(v))


class Alerts(Strict):
    many_beneficiaries: ManyBeneficiaries
    drained_after_credit: Drained
    pharmacy_day: PharmacyDay
    near_threshold: NearThreshold


class Thresholds(Strict):
    institutions: Institutions
    alerts: Alerts


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) \
            and isinstance(base.get(key), dict) else value
    return merged


def load_thresholds(override: str | None = None) -> Thresholds:
    """The thresholds in force: the data file, then ``GONGJI_MONITORING`` (or ``override``)."""
    data = tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))
    text = override if override is not None else os.environ.get(VARIABLE, "")
    if text.strip():
        try:
            extra = json.loads(text)
        except json.JSONDecodeError as error:
            raise SettingsError(f"{VARIABLE} is not JSON: {error}") from None
        if not isinstance(extra, dict):
            raise SettingsError(f"{VARIABLE} must be a JSON object like thresholds.toml")
        data = _merge(data, extra)
    try:
        return Thresholds.model_validate(data)
    except ValidationError as error:
        raise SettingsError(f"{VARIABLE}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors())) from None
