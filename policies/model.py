"""The shape of a region's policy: pydantic models a data file is validated against.

A policy file (``policies/data/<region>-<version>.toml``) states every figure once, with the
article it comes from, so a priced figure can always say why it is what it is. Money is
written as yuan strings in the files and held as integer fen here.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from policies.money import Rate, parse_fen

Category = Literal["employed", "retired"]
LEVELS = (1, 2, 3)


class Purpose(StrEnum):
    """What a personal account may be asked to pay for (DOMAIN.md 5)."""

    MEDICAL = "medical"
    PHARMACY = "pharmacy"
    RESIDENT_INSURANCE = "resident_insurance"
    LTC_INSURANCE = "ltc_insurance"
    CATASTROPHIC_INSURANCE = "catastrophic_insurance"
    COMMERCIAL_INSURANCE = "commercial_insurance"
    # never payable (suizhou art. 16, nanchang art. 26, chongqing art. 10)
    PUBLIC_HEALTH = "public_health"
    FITNESS = "fitness"
    WELLNESS = "wellness"
    HEALTH_CHECK = "health_check"
    WORK_INJURY = "work_injury"
    THIRD_PARTY = "third_party"
    OVERSEAS = "overseas"


class Relation(StrEnum):
    """Family relations an account owner may bind (DOMAIN.md 1, 5)."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"


class IneligibleReason(StrEnum):
    """Why a visit gets no pooling (DOMAIN.md 3.3), in the order they are documented."""

    NOT_DESIGNATED = "not_designated"
    CONTRIBUTIONS_IN_ARREARS = "contributions_in_arrears"
    BENEFITS_SUSPENDED = "benefits_suspended"
    INPATIENT_STAY = "inpatient_stay"
    REMOTE_NOT_REGISTERED = "remote_not_registered"
    REMOTE_NOT_NETWORKED = "remote_not_networked"


def _fen(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else parse_fen(value)


def _rate(value: object) -> Rate:
    return value if isinstance(value, Rate) else Rate.parse(value)


Fen = Annotated[int, BeforeValidator(_fen), Field(ge=0)]
RateField = Annotated[Rate, BeforeValidator(_rate)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class ByCategory(Strict):
    employed: Fen
    retired: Fen

    def of(self, category: Category) -> int:
        return self.employed if category == "employed" else self.retired


class RatesByLevel(Strict):
    """Pooling rates for levels 1, 2, 3."""

    employed: tuple[RateField, RateField, RateField]
    retired: tuple[RateField, RateField, RateField]

    def of(self, category: Category, level: int) -> Rate:
        return (self.employed if category == "employed" else self.retired)[level - 1]


class Pooling(Strict):
    """Ordinary outpatient pooling (普通门诊统筹) parameters."""

    deductible_kind: Literal["accumulated", "per_visit"]
    deductible: ByCategory | None = None
    deductible_per_visit: tuple[Fen, Fen, Fen] | None = None
    deductible_article: str
    rates: RatesByLevel | None = None
    rates_article: str
    caps: dict[str, ByCategory] = Field(default_factory=dict)
    caps_article: str
    over_cap_goes_to: str = Field(description="who bears fund_raw beyond the cap")
    over_cap_article: str | None = None
    ineligible: dict[IneligibleReason, str] = Field(
        description="reasons that deny pooling in this region, each with its article"
    )
    prescription_article: str | None = None
    category_article: str

    def missing(self) -> list[str]:
        """Figures a complete policy needs and this one lacks (a framework's city values)."""
        needed = {
            "deductible": self.deductible_kind == "accumulated" and self.deductible is None,
            "deductible_per_visit": (
                self.deductible_kind == "per_visit" and self.deductible_per_visit is None
            ),
            "rates": self.rates is None,
            "caps": not self.caps,
        }
        return [name for name, absent in needed.items() if absent]


class Scheme(Strict):
    """How a scheme (参保方式) is treated here: does it have an account, which caps apply."""

    account: bool
    caps: str
    article: str | None = None


class RetiredAllotment(Strict):
    """Monthly allotment (划入) to retired persons' accounts."""

    kind: Literal["fixed", "age_band", "pension_share"]
    amount: Fen | None = None
    under_70: Fen | None = None
    from_70: Fen | None = None
    share: RateField | None = None
    article: str


class Credits(Strict):
    """Personal account credits (个人账户计入)."""

    employed_rate: RateField
    employed_article: str
    retired: RetiredAllotment
    mixed_history_article: str | None = Field(
        None, description="set where a mixed history prorates the allotment (suizhou art. 14(三))"
    )
    lump_sum_rate: RateField | None = None
    lump_sum_article: str | None = None
    resettled_article: str | None = Field(
        None, description="set where a remote-resettled person (异地安置) gets no credits "
                          "(nanchang art. 28); elsewhere resettlement changes nothing")
    lump_sum_scheme_article: str | None = None

    @model_validator(mode="after")
    def _lump_sum_names_its_article(self) -> Credits:
        if self.lump_sum_rate is not None and not self.lump_sum_article:
            raise ValueError("lump_sum_rate needs lump_sum_article: every credit names its article")
        return self


class PurposeRule(Strict):
    """Who an account may pay a purpose for: the owner, bound family, from which date."""

    self_allowed: bool = Field(alias="self")
    family: bool
    family_from: dt.date | None = None
    article: str
    explore: tuple[Literal["self", "family"], ...] = Field(
        (), description="who the seed only says to explore (探索) paying for: what a "
                        "deployment's enable_purposes may switch on, and nothing else")


class Family(Strict):
    relations: tuple[Relation, ...]
    article: str
    purposes: dict[Purpose, PurposeRule]
    never_article: str


class Interest(Strict):
    rate: RateField = Rate.parse("0")
    article: str


class Framework(Strict):
    """A provincial framework's limits on the figures its cities set (jilin (四))."""

    min_rate: RateField
    lower_level_not_less: bool
    article: str
    required: tuple[str, ...]


class RegionPolicy(Strict):
    """One version of one region's policy, in force from ``valid_from`` through ``valid_to``."""

    region: str
    version: str
    title: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    validity_article: str
    pooling: Pooling
    schemes: dict[str, Scheme]
    default_scheme: str
    credits: Credits
    family: Family
    interest: Interest
    articles: dict[str, str]
    framework: Framework | None = None

    @model_validator(mode="after")
    def _complete_unless_framework(self) -> RegionPolicy:
        missing = self.pooling.missing()
        if missing and self.framework is None:
            raise ValueError(f"pooling lacks {', '.join(missing)}")
        unknown = {s.caps for s in self.schemes.values()} - set(self.pooling.caps)
        if self.pooling.caps and unknown:
            raise ValueError(f"schemes name cap tiers not in pooling.caps: {sorted(unknown)}")
        if self.default_scheme not in self.schemes:
            raise ValueError(f"default_scheme {self.default_scheme!r} is not in [schemes]")
        return self

    def in_force_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def scheme(self, code: str) -> Scheme:
        return self.schemes[code]

    @property
    def source(self) -> str:
        return f"{self.region}-{self.version}"
