"""Commands: what a caller asks the ledger to do, validated before anything is loaded.

One pydantic model per command. Validation here is the ``invalid_input`` check of
FORMAT.md: amounts are yuan strings with at most two decimals (never floats), dates are
strict ``YYYY-MM-DD``, codes come from closed lists. The API's request bodies and the
conformance runner's steps are both parsed into these models, so the two can't drift.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from policies.calendar import Month, parse_date
from policies.errors import ErrorCode, InputError, LedgerError
from policies.inheritance import parse_share
from policies.model import IneligibleReason, Purpose, Relation
from policies.money import AMOUNT_PATTERN, format_fen, parse_fen

Amount = Annotated[
    int,
    BeforeValidator(parse_fen),
    PlainSerializer(format_fen, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["12.30"],
                    "description": "yuan, exactly two decimals, ≤ 13 integer digits (金额，元)"}),
]
Day = Annotated[dt.date, BeforeValidator(parse_date),
                WithJsonSchema({"type": "string", "format": "date",
                                "pattern": r"^(19|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}$"})]
MonthField = Annotated[
    Month, BeforeValidator(Month.parse), PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])$"}),
]

# Ids of people, institutions, heirs and transactions (documented in the README): 1–64
# characters, ASCII letters and digits, CJK ideographs (heirs are named), and "_ . : -"
# after the first. No space, no control character (a NUL stops PostgreSQL), no "/" (a
# person who could never be read back at /v1/people/{person}).
ID_MAX = 64
_ID_CHARS = "0-9A-Za-z\u4e00-\u9fff"
ID_PATTERN = f"^[{_ID_CHARS}][{_ID_CHARS}_.:-]{{0,{ID_MAX - 1}}}$"
_ID = re.compile(ID_PATTERN)


def check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InputError(
            f"must be 1–{ID_MAX} characters: letters, digits or CJK ideographs, then also "
            f"'_', '.', ':' or '-' (no spaces, '/' or control characters); got {shown!r}",
            f"编号须为 1–{ID_MAX} 个字符：字母、数字或汉字开头，其后可含 _ . : -（不得含空格、/ 或控制字符）",
        )
    return value


Id = Annotated[str, AfterValidator(check_id), WithJsonSchema({
    "type": "string", "minLength": 1, "maxLength": ID_MAX,
    "pattern": ID_PATTERN})]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
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
    region: Code
    birth_date: Day
    scheme: Code | None = None
    retired_on: Day | None = None
    standard_years: Annotated[int, Field(ge=0, le=80)] | None = None
    total_years: Annotated[int, Field(gt=0, le=80)] | None = None
    lump_sum_until: MonthField | None = None

    @model_validator(mode="after")
    def _years(self) -> EnrollPerson:
        if (self.standard_years is not None and self.total_years is not None
                and self.standard_years > self.total_years):
            raise InputError("standard_years may not exceed total_years",
                             "standard_years 不得大于 total_years")
        if self.scheme == "lump_sum" and self.lump_sum_until is None:
            raise InputError("scheme lump_sum needs lump_sum_until (YYYY-MM)",
                             "趸缴参保方式须填写 lump_sum_until（YYYY-MM）")
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
    # the directory entry (定点医药机构目录) that gave ``level``: set by
    # ledger.directory.listed_visit, never by a caller (not an input, not in the payload)
    _listing: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def listing(self) -> dict[str, Any] | None:
        return self._listing

    def listed_as(self, reference: dict[str, Any]) -> None:
        self._listing = reference

    @field_validator("level", "prescribed_level", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise InputError("level must be 1, 2 or 3",
                             "level 须为 1、2 或 3")
        return value

    @field_validator("flags")
    @classmethod
    def _unique_flags(cls, value: tuple[IneligibleReason, ...]) -> tuple[IneligibleReason, ...]:
        if len(set(value)) != len(value):
            raise InputError("flags must not repeat a code", "flags 中的代码不得重复")
        return value

    @model_validator(mode="after")
    def _family_is_another(self) -> SettleVisit:
        if isinstance(self.pay, FamilyPay) and self.pay.family == self.person:
            raise InputError('pay.family: name a bound family member, not the person; use "own"',
                             "pay.family 须为已绑定的家庭成员，不能是本人；本人支付请用 \"own\"")
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
            raise InputError("member: an owner cannot bind themself",
                             "member：账户所有人不能绑定自己")
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
            raise InputError("amount must be greater than 0.00",
                             "amount 须大于 0.00")
        return value

    @model_validator(mode="after")
    def _shortfall_for_oneself(self) -> Spend:
        if self.shortfall_from is not None:
            if self.shortfall_from == self.payer:
                raise InputError("shortfall_from: name a family member, not the payer",
                             "shortfall_from 须为家庭成员，不能是付款人本人")
            if self.beneficiary not in (None, self.payer):
                raise InputError("beneficiary: with shortfall_from the payer spends for themself",
                             "beneficiary：使用 shortfall_from 时只能为付款人本人支付")
        return self

    @property
    def for_whom(self) -> str:
        return self.beneficiary or self.payer


class Reverse(Command):
    """Reverse a settlement or spend once, whole (冲正/退费)."""

    id: Id
    date: Day
    reason: Id = "refund"
    institution: Id | None = None


class Transfer(Command):
    """Move the person's insurance, and balance, to another region (转移接续)."""

    person: Id
    to_region: Code
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
            raise InputError("heirs: names must be unique",
                             "heirs：继承人姓名不得重复")
        if sum(parse_share(h.share) for h in self.heirs) != 1:
            raise InputError("heirs: shares must sum to exactly 1",
                             "heirs：继承份额之和须恰好为 1")
        return self


class CloseYear(Command):
    """Close a pooling year for every account (年度结转)."""

    year: Annotated[int, Field(ge=1900, le=2199)]
    region: Code | None = None


def parse(command: type[Command], data: object, where: str = "") -> Command:
    """Validate ``data`` into ``command`` or raise ``invalid_input`` naming each bad field."""
    try:
        return command.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error.errors(), where) from None


def invalid_input(errors: Sequence[Any], where: str = "") -> LedgerError:
    """``invalid_input`` naming each bad field of pydantic ``errors`` (also the API's), in
    English and in Chinese."""
    problems, problems_zh = [], []
    for item in errors:
        loc = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        message = str(item["msg"]).removeprefix("Value error, ")
        # whole-command validators name their field first ("heirs: …"), so no "body: "
        problems.append(f"{loc}: {message}" if loc else message)
        zh = _zh(item)
        problems_zh.append(f"字段 {loc}：{zh}" if loc else zh)
    prefix = f"{where}: " if where else ""
    first = errors[0]["loc"] if errors else ()
    return LedgerError(
        ErrorCode.INVALID_INPUT, prefix + "; ".join(problems),
        field=str(first[0]) if first else None,
        message_zh=prefix + "；".join(problems_zh) + "。请修正后重新提交",
    )


_ZH_BY_TYPE = {
    "missing": "必填，缺少此字段",
    "extra_forbidden": "不是此请求的字段，请删除",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许的代码之内",
    "string_type": "须为字符串",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "string_too_short": "不能为空",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不符合要求",
    "too_short": "至少需要一项",
    "too_long": "项数太多",
    "tuple_type": "须为数组",
    "list_type": "须为数组",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "json_invalid": "请求体不是有效的 JSON",
    "union_tag_invalid": "取值不在允许范围内",
}


def _zh(item: Any) -> str:
    """The Chinese sentence for one pydantic error: ours carry it, pydantic's by type."""
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, InputError):
        return error.zh
    detail = _ZH_BY_TYPE.get(str(item.get("type")), "取值无效")
    allowed = (item.get("ctx") or {}).get("expected")
    if allowed and item.get("type") in ("literal_error", "enum"):
        detail += f"（允许：{allowed}）"
    limit = next((v for k, v in (item.get("ctx") or {}).items()
                  if k in ("ge", "gt", "le", "lt", "max_length", "min_length")), None)
    if limit is not None:
        detail += f"（界限：{limit}）"
    return detail
