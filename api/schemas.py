"""Response bodies: what the ledger's results and views look like over HTTP.

Amounts are two-decimal yuan strings, as everywhere outside the ledger. Each model is
built from a ledger record by its ``of`` constructor, so the mapping from fen to text is
written once. Field descriptions (English with the Chinese term) and examples come from
:mod:`api.vocabulary`, which fills them into the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ledger import results as r
from ledger.queries import AccountView, EventView, PoolingView
from ledger.transaction import Transaction
from policies.money import format_fen


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def _fen(value: int | None) -> str | None:
    return None if value is None else format_fen(value)


class Ack(Out):
    """The command was recorded (or was already: a harmless retry)."""

    ok: Literal[True] = True


class Credited(Out):
    credited: str
    article: str

    @classmethod
    def of(cls, result: r.Credited) -> Credited:
        return cls(credited=format_fen(result.credited), article=result.article)


class VisitSplit(Out):
    """A visit's full split (结算结果): the conformance fields first, then the detail."""

    id: str
    person: str
    deductible_applied: str
    fund_paid: str
    over_cap: str
    self_pay: str
    account_paid: str
    cash_paid: str
    pooling_reason: str | None
    medical_total: str
    in_scope: str
    out_of_scope: str
    eligible_in_scope: str
    own_paid: str
    family_paid: str
    family_payer: str | None
    region: str
    year: int
    level: int
    category: str
    rate: str
    cap: str
    cap_left_after: str
    own_balance_after: str | None
    articles: dict[str, str]

    @classmethod
    def of(cls, id: str, person: str, v: r.VisitResult) -> VisitSplit:
        return cls(
            id=id, person=person, deductible_applied=format_fen(v.deductible_applied),
            fund_paid=format_fen(v.fund_paid), over_cap=format_fen(v.over_cap),
            self_pay=format_fen(v.self_pay), account_paid=format_fen(v.account_paid),
            cash_paid=format_fen(v.cash_paid), pooling_reason=v.pooling_reason,
            medical_total=format_fen(v.medical_total), in_scope=format_fen(v.in_scope),
            out_of_scope=format_fen(v.out_of_scope),
            eligible_in_scope=format_fen(v.eligible_in_scope),
            own_paid=format_fen(v.own_paid), family_paid=format_fen(v.family_paid),
            family_payer=v.family_payer, region=v.region, year=v.year, level=v.level,
            category=v.category, rate=v.rate, cap=format_fen(v.cap),
            cap_left_after=format_fen(v.cap_left_after),
            own_balance_after=_fen(v.own_balance_after), articles=dict(v.articles),
        )


class NhsaSetlInfo(Out):
    """The same split in the NHSA interface's words (医保结算 2207 输出 setlinfo)."""

    setl_id: str
    medfee_sumamt: str
    fulamt_ownpay_amt: str
    inscp_scp_amt: str
    act_pay_dedc: str
    hifp_pay: str
    pool_prop_selfpay: str
    fund_pay_sumamt: str
    psn_part_amt: str
    acct_pay: str
    acct_mulaid_pay: str
    psn_cash_pay: str
    balc: str | None

    @classmethod
    def of(cls, id: str, v: r.VisitResult) -> NhsaSetlInfo:
        return cls(
            setl_id=id, medfee_sumamt=format_fen(v.medical_total),
            fulamt_ownpay_amt=format_fen(v.out_of_scope), inscp_scp_amt=format_fen(v.in_scope),
            act_pay_dedc=format_fen(v.deductible_applied), hifp_pay=format_fen(v.fund_paid),
            pool_prop_selfpay=v.rate, fund_pay_sumamt=format_fen(v.fund_paid),
            psn_part_amt=format_fen(v.self_pay), acct_pay=format_fen(v.own_paid),
            acct_mulaid_pay=format_fen(v.family_paid), psn_cash_pay=format_fen(v.cash_paid),
            balc=_fen(v.own_balance_after),
        )


class Spent(Out):
    id: str
    paid: str
    own_paid: str
    family_paid: str
    family_payer: str | None

    @classmethod
    def of(cls, id: str, result: r.SpendResult) -> Spent:
        return cls(id=id, paid=format_fen(result.paid), own_paid=format_fen(result.own_paid),
                   family_paid=format_fen(result.family_paid), family_payer=result.family_payer)


class ReversedOut(Out):
    id: str
    restored: str


class TransferredOut(Out):
    amount: str


class PaidOutOut(Out):
    paid_out: str


class InheritanceOut(Out):
    payouts: dict[str, str]


class YearClosedOut(Out):
    closed: int
    accounts: int
    interest: str


class Account(Out):
    """A person's account (个人账户) as it stands."""

    person: str
    region: str
    scheme: str
    has_account: bool
    category: str
    status: str
    balance: str
    version: int
    as_of: dt.date

    @classmethod
    def of(cls, view: AccountView, as_of: dt.date) -> Account:
        return cls(person=view.person, region=view.region, scheme=view.scheme,
                   has_account=view.has_account, category=view.category, status=view.status,
                   balance=format_fen(view.balance), version=view.version, as_of=as_of)


class PoolingYear(Out):
    """One region-year of ordinary outpatient pooling (普通门诊统筹年度累计)."""

    region: str
    year: int
    in_scope: str
    deductible_applied: str
    fund_paid: str
    over_cap: str
    visits: int
    closed: bool
    forfeited: str
    cap: str | None
    cap_left: str | None

    @classmethod
    def of(cls, p: PoolingView) -> PoolingYear:
        return cls(region=p.region, year=p.year, in_scope=format_fen(p.in_scope),
                   deductible_applied=format_fen(p.deductible_applied),
                   fund_paid=format_fen(p.fund_paid), over_cap=format_fen(p.over_cap),
                   visits=p.visits, closed=p.closed, forfeited=format_fen(p.forfeited),
                   cap=_fen(p.cap), cap_left=_fen(p.cap_left))


class Pooling(Out):
    person: str
    years: list[PoolingYear]


MONEY_FIELDS = frozenset({"amount", "base", "balance", "eligible_in_scope", "deductible_applied",
                          "fund_paid", "over_cap", "cap", "forfeited", "credited", "paid"})


def _readable(name: str, value: Any) -> Any:
    """Event data for people: amounts in yuan text, dates ISO, nested values alike."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and name in MONEY_FIELDS:
        return format_fen(value)
    if name == "payouts" and isinstance(value, dict):
        return {heir: format_fen(v) for heir, v in value.items()}
    if isinstance(value, dict):
        return {k: _readable(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_readable(name, v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int)):
        return value
    return str(value)


class Event(Out):
    """One recorded event of the account (账户事件), the evidence behind every figure."""

    version: int
    type: str
    recorded_at: dt.datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, e: EventView) -> Event:
        return cls(version=e.version, type=e.type, recorded_at=e.recorded_at,
                   data={k: _readable(k, v) for k, v in e.data.items()})


class Events(Out):
    """A page of events, newest first; pass ``next_before`` as ``before`` for the next."""

    person: str
    events: list[Event]
    next_before: int | None


class Debit(Out):
    person: str
    amount: str
    role: str


class Reversal(Out):
    date: dt.date
    reason: str
    restored: str


class Settlement(Out):
    """A recorded settlement (结算记录): its split, who paid, and its reversal if any."""

    id: str
    person: str
    institution: str | None
    split: VisitSplit
    debits: list[Debit]
    reversal: Reversal | None

    @classmethod
    def of(cls, txn: Transaction) -> Settlement:
        reversal = None
        if txn.reversal is not None:
            request = txn.reversal["request"]
            reversal = Reversal(date=request["date"], reason=request["reason"],
                                restored=format_fen(txn.reversal["result"]["restored"]))
        return cls(
            id=txn.client_id, person=txn.person,
            institution=getattr(txn, "institution", None),
            split=VisitSplit.of(txn.client_id, txn.person, r.VisitResult(**txn.result)),
            debits=[Debit(person=d["person"], amount=format_fen(d["amount"]), role=d["role"])
                    for d in txn.debits],
            reversal=reversal,
        )


class PolicyParameters(Out):
    """The deployment's policy parameters in force (部署参数), as given at start-up."""

    parameters: dict[str, Any]
    regions: list[str]
    invalid: dict[str, str]


class WhoAmI(Out):
    role: str
    institution: str | None
    person: str | None


class Health(Out):
    status: Literal["ok"] = "ok"
