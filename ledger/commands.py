"""Commands: what a caller asks the ledger to do, validated before anything is loaded.

One pydantic model per command. Validation here is the ``invalid_input`` check of
FORMAT.md: amounts are yuan strings with at most two decimals (never floats), dates are
strict ``YYYY-MM-DD``, codes come from closed lists. The API's request bodies and the
conformance runner's steps are both parsed into these models, so the two can't drift.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from policies.calendar import Month, parse_date
from policies.errors import ErrorCode, LedgerError
from policies.inheritance import parse_share
from policies.model import IneligibleReason, Purpose, Relation
from policies.money import format_fen, parse_fen

Amount = Annotated[
    int,
    BeforeValidator(parse_fen),
    PlainSerializer(format_fen, return_type=str),
    Field(json_schema_extra={"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}),
]
Day = Annotated[dt.date, BeforeValidator(parse_date)]
MonthField = Annotated[
    Month, BeforeValidator(Month.parse), PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Level = Literal[1, 2, 3]


class Command(BaseModel):
    """Base of every command: strict, immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    def payload(self) -> dict[str, Any]:
        """Canonical content, compared to tell a retry from a conflicting reuse of an id."""
        return self.model_dump(mode="json", exclude={"institution"})


class EnrollPerson(Command):
    """Enroll an insured person (参保人员) in a region's employee scheme."""

    person: Id
    region: str
    birth_date: Day
    scheme: str | None = None
    retired_on: Day | None = None
    standard_years: Annotated[int, Field(ge=0, le=80)] | None = None
    total_years: Annotated[int, Field(gt=0, le=80)] | None = None
    lump_sum_until: MonthField | None = None

    @model_validator(mode="after")
    def _years(self) -> EnrollPerson:
        if (self.standard_years is not None and self.total_years is not None
                and self.standard_years > self.total_years):
            raise ValueError("standard_years may not exceed total_years")
        if self.scheme == "lump_sum" and self.lump_sum_until is None:
            raise ValueError("scheme lump_sum needs lump_sum_until (YYYY-MM)")
        return self


class ImportPerson(EnrollPerson):
    """An enrollment from the agency's bulk register (``gongji people import``), which
    also knows who is resettled outside the region (异地安置): such a person gets no more
    credits where the policy says so (nanchang art. 28)."""

    resettled: bool = False


class RecordContribution(Command):
    """An employed month's contribution; credits 2% of the base (个人账户计入)."""

    person: Id
    month: MonthField
    base: Amount


class CreditLumpSum(Command):
    """A one-off prepay/back-pay credit (一次性预缴/补缴, nanchang art. 21)."""

    person: Id
    id: Id
    date: Day
    base: Amount


class CreditAllotment(Command):
    """A retired month's allotment (退休人员个人账户划入)."""

    person: Id
    month: MonthField


class RecordRetirement(Command):
    """Retirement processed on ``date``; the retired category applies from the next month."""

    person: Id
    date: Day


class FamilyPay(BaseModel):
    """Pay from a bound family member's account (家庭共济)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Id = Field(description="the account owner who pays (付款人)")
    own_first: bool = Field(
        False, description="take the person's own balance first, the shortfall from family"
    )


Pay = Literal["own", "none"] | FamilyPay


class SettleVisit(Command):
    """An outpatient visit to settle (门诊就诊结算)."""

    person: Id
    id: Id
    date: Day
    level: Level
    in_scope: Amount
    out_of_scope: Amount = 0
    flags: tuple[IneligibleReason, ...] = ()
    pay: Pay = "own"
    prescribed_level: Level | None = None
    institution: Id | None = None

    @field_validator("level", "prescribed_level", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("level must be 1, 2 or 3")
        return value

    @model_validator(mode="after")
    def _family_is_another(self) -> SettleVisit:
        if isinstance(self.pay, FamilyPay) and self.pay.family == self.person:
            raise ValueError('pay.family: name a bound family member, not the person; use "own"')
        return self


class BindFamilyMember(Command):
    """The account owner binds a family member (绑定家庭成员)."""

    owner: Id
    member: Id
    relation: Relation
    date: Day

    @model_validator(mode="after")
    def _not_self(self) -> BindFamilyMember:
        if self.owner == self.member:
            raise ValueError("member: an owner cannot bind themself")
        return self


class UnbindFamilyMember(Command):
    """The owner revokes a binding; it ends from ``date``."""

    owner: Id
    member: Id
    date: Day


class Spend(Command):
    """Pay a purpose from an account, for its owner or a bound member (个人账户支付)."""

    payer: Id
    beneficiary: Id | None = None
    purpose: Purpose
    amount: Amount
    id: Id
    date: Day
    shortfall_from: Id | None = Field(
        None, description="own account first, the shortfall from this bound family "
                          "member's account (共济); the payer is then the beneficiary")
    institution: Id | None = None

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("amount must be greater than 0.00")
        return value

    @model_validator(mode="after")
    def _shortfall_for_oneself(self) -> Spend:
        if self.shortfall_from is not None:
            if self.shortfall_from == self.payer:
                raise ValueError("shortfall_from: name a family member, not the payer")
            if self.beneficiary not in (None, self.payer):
                raise ValueError("beneficiary: with shortfall_from the payer spends for themself")
        return self

    @property
    def for_whom(self) -> str:
        return self.beneficiary or self.payer


class Reverse(Command):
    """Reverse a settlement or spend once, whole (冲正/退费)."""

    id: Id
    date: Day
    reason: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "refund"
    institution: Id | None = None


class Transfer(Command):
    """Move the person's insurance, and balance, to another region (转移接续)."""

    person: Id
    to_region: str
    date: Day


class Emigrate(Command):
    """Pay the balance to a person settling abroad and close the account (出国出境定居)."""

    person: Id
    date: Day


class RecordDeath(Command):
    """Record a death; the account takes no spend and no credit after the month of death."""

    person: Id
    date: Day


class Heir(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Id
    share: Annotated[str, Field(description='a fraction such as "1/3" or a decimal "0.5"')]

    @field_validator("share")
    @classmethod
    def _share(cls, value: str) -> str:
        parse_share(value)
        return value


class PayInheritance(Command):
    """Pay a deceased person's balance once to the heirs (继承)."""

    person: Id
    date: Day
    heirs: Annotated[tuple[Heir, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _shares(self) -> PayInheritance:
        names = [h.name for h in self.heirs]
        if len(set(names)) != len(names):
            raise ValueError("heirs: names must be unique")
        if sum(parse_share(h.share) for h in self.heirs) != 1:
            raise ValueError("heirs: shares must sum to exactly 1")
        return self


class CloseYear(Command):
    """Close a pooling year for every account (年度结转)."""

    year: Annotated[int, Field(ge=1990, le=2200)]
    region: str | None = None


def parse(command: type[Command], data: object, where: str = "") -> Command:
    """Validate ``data`` into ``command`` or raise ``invalid_input`` naming each bad field."""
    try:
        return command.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error.errors(), where) from None


def invalid_input(errors: Sequence[Any], where: str = "") -> LedgerError:
    """``invalid_input`` naming each bad field of pydantic ``errors`` (also the API's)."""
    problems = []
    for item in errors:
        loc = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        message = str(item["msg"]).removeprefix("Value error, ")
        # whole-command validators name their field first ("heirs: …"), so no "body: "
        problems.append(f"{loc}: {message}" if loc else message)
    prefix = f"{where}: " if where else ""
    first = errors[0]["loc"] if errors else ()
    return LedgerError(
        ErrorCode.INVALID_INPUT, prefix + "; ".join(problems),
        field=str(first[0]) if first else None,
    )
