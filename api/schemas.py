"""Response bodies: what the ledger's results and views look like over HTTP.

Amounts are two-decimal yuan strings, as everywhere outside the ledger. Each model is
built from a ledger record by its ``of`` constructor, so the mapping from fen to text is
written once. Field descriptions (English with the Chinese term) and examples come from
:mod:`api.vocabulary`, which fills them into the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from ledger import results as r
from ledger.queries import AccountView, EventView, PoolingView
from ledger.transaction import Transaction
from policies.money import format_fen
from projections import reader as views
from projections.audit import as_of as point_in_time
from projections.audit.explain import ExplainedEvent
from projections.audit.plain import plain
from projections.audit.reading import Unreadable
from projections.audit.verify import VerifyReport
from projections.audit.verify import as_json as verification
from projections.reader import Sourced


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


#: A recorded review (复核记录): the ledger's record, field for field.
ReviewOut = create_model("ReviewOut", __base__=Out, __doc__="A recorded review (复核记录).",
                         **{name: (kind, ...) for name, kind in get_type_hints(r.Reviewed).items()})


@dataclass(frozen=True, slots=True)
class Answer:
    """How a ledger result answers a write: the response model, and how to build it from
    the command (which gives the ids the answer repeats) and the result."""

    model: type[Out]
    of: Callable[[Any, Any], Out]


#: The answer to each kind of result (:mod:`ledger.results`), for every operation.
ANSWERS: dict[type, Answer] = {
    r.Done: Answer(Ack, lambda cmd, res: Ack()),
    r.Credited: Answer(Credited, lambda cmd, res: Credited.of(res)),
    r.VisitResult: Answer(VisitSplit, lambda cmd, res: VisitSplit.of(cmd.id, cmd.person, res)),
    r.SpendResult: Answer(Spent, lambda cmd, res: Spent.of(cmd.id, res)),
    r.Reversed: Answer(ReversedOut, lambda cmd, res: ReversedOut(
        id=cmd.id, restored=format_fen(res.restored))),
    r.Transferred: Answer(TransferredOut, lambda cmd, res: TransferredOut(
        amount=format_fen(res.amount))),
    r.PaidOut: Answer(PaidOutOut, lambda cmd, res: PaidOutOut(paid_out=format_fen(res.paid_out))),
    r.InheritancePaid: Answer(InheritanceOut, lambda cmd, res: InheritanceOut(
        payouts={name: format_fen(v) for name, v in res.payouts.items()})),
    r.YearClosed: Answer(YearClosedOut, lambda cmd, res: YearClosedOut(
        closed=res.closed, accounts=res.accounts, interest=format_fen(res.interest))),
    r.Reviewed: Answer(ReviewOut, lambda cmd, res: ReviewOut(**asdict(res))),
}
#: A visit's answer in the NHSA 2207 vocabulary (``?format=nhsa``).
NHSA_VISIT = Answer(NhsaSetlInfo, lambda cmd, res: NhsaSetlInfo.of(cmd.id, res))


class Read(Out):
    """Where a read was answered from (读一致性): the views as of a position, or the aggregate."""

    consistency: Literal["eventual", "strong"]
    source: Literal["views", "aggregate"]
    position: int | None

    @staticmethod
    def origin(answer: Sourced[Any]) -> dict[str, Any]:
        return {"consistency": "eventual" if answer.source == "views" else "strong",
                "source": answer.source, "position": answer.position}


class Account(Read):
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
    def of(cls, answer: Sourced[AccountView], as_of: dt.date) -> Account:
        return cls.model_validate(cls.fields(answer, as_of))

    @staticmethod
    def fields(answer: Sourced[AccountView], as_of: dt.date) -> dict[str, Any]:
        """The body as plain JSON values, in the model's field order: what the hot read
        route serialises directly (orjson), with no model built (``of`` validates it)."""
        view = answer.value
        return {**Read.origin(answer), "person": view.person, "region": view.region,
                "scheme": view.scheme, "has_account": view.has_account,
                "category": view.category, "status": view.status,
                "balance": format_fen(view.balance), "version": view.version,
                "as_of": as_of.isoformat()}


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
        return cls.model_validate(cls.fields(p))

    @staticmethod
    def fields(p: PoolingView) -> dict[str, Any]:
        """Plain JSON values in the model's field order (see :meth:`Account.fields`)."""
        return {"region": p.region, "year": p.year, "in_scope": format_fen(p.in_scope),
                "deductible_applied": format_fen(p.deductible_applied),
                "fund_paid": format_fen(p.fund_paid), "over_cap": format_fen(p.over_cap),
                "visits": p.visits, "closed": p.closed, "forfeited": format_fen(p.forfeited),
                "cap": _fen(p.cap), "cap_left": _fen(p.cap_left)}


class Pooling(Read):
    person: str
    years: list[PoolingYear]

    @classmethod
    def of(cls, answer: Sourced[AccountView], year: int | None) -> Pooling:
        return cls.model_validate(cls.fields(answer, year))

    @staticmethod
    def fields(answer: Sourced[AccountView], year: int | None) -> dict[str, Any]:
        """Plain JSON values in the model's field order (see :meth:`Account.fields`)."""
        return {**Read.origin(answer), "person": answer.value.person, "years": [
            PoolingYear.fields(p) for p in answer.value.pooling.values()
            if year in (None, p.year)]}


class Event(Out):
    """One recorded event of the account (账户事件), the evidence behind every figure."""

    version: int
    type: str
    recorded_at: dt.datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, e: EventView) -> Event:
        return cls(version=e.version, type=e.type, recorded_at=e.recorded_at,
                   data=plain(e.data))


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


class Listing(Out):
    """Which directory entry priced a visit (目录条目引用)."""

    code: str = Field(description="institution code (定点医药机构编号)")
    version: int = Field(description="the institution's event version of the entry (版本)")
    valid_from: str = Field(description="the entry's first day (有效期开始)",
                            examples=["2024-01-01"])
    level: int = Field(description="the level it gave (医疗机构等级)")


class Settlement(Out):
    """A recorded settlement (结算记录): its split, who paid, and its reversal if any."""

    id: str
    person: str
    institution: str | None
    listing: Listing | None = Field(None, description=(
        "the institution directory entry that gave the level (定点医药机构目录条目), for an "
        "institution key's visit: GET /v1/institutions/{code} shows that version"),
        examples=[{"code": "H42130100001", "version": 2, "valid_from": "2024-01-01",
                   "level": 1}])
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
            listing=getattr(txn, "listing", None),
            split=VisitSplit.of(txn.client_id, txn.person, r.VisitResult(**txn.result)),
            debits=[Debit(person=d["person"], amount=format_fen(d["amount"]), role=d["role"])
                    for d in txn.debits],
            reversal=reversal,
        )


# -- read models (视图) ------------------------------------------------------------------


class FundTotals(Out):
    """Visits of one region, month and institution level (统筹基金支付统计), net of reversals."""

    region: str
    year: int
    month: int
    level: int
    fund_paid: str
    account_paid: str
    family_paid: str
    cash_paid: str
    visits: int
    reversed: int

    @classmethod
    def of(cls, row: views.FundTotals) -> FundTotals:
        return cls(region=row.region, year=row.year, month=row.month, level=row.level,
                   fund_paid=format_fen(row.fund_paid), account_paid=format_fen(row.account_paid),
                   family_paid=format_fen(row.family_paid), cash_paid=format_fen(row.cash_paid),
                   visits=row.visits, reversed=row.reversed)


class FundReport(Read):
    """The agency's reporting view (统筹基金支付报表), from the read models."""

    totals: list[FundTotals]


class Binding(Out):
    member: str
    relation: str
    bound_from: str
    unbound_on: str | None


class FamilySpending(Out):
    """What the payer's account paid for one beneficiary and purpose, net of reversals."""

    beneficiary: str
    purpose: str
    paid: str
    payments: int
    reversed: int


class Family(Read):
    """A payer's family bindings and what its account paid for them (家庭共济)."""

    payer: str
    bindings: list[Binding]
    spending: list[FamilySpending]

    @classmethod
    def of(cls, answer: Sourced[views.FamilyView]) -> Family:
        family = answer.value
        return cls(
            payer=family.payer,
            bindings=[Binding(member=b.member, relation=b.relation, bound_from=b.bound_from,
                              unbound_on=b.unbound_on) for b in family.bindings],
            spending=[FamilySpending(beneficiary=s.beneficiary, purpose=s.purpose,
                                     paid=format_fen(s.paid), payments=s.payments,
                                     reversed=s.reversed) for s in family.spending],
            **cls.origin(answer),
        )


# -- audit (审计), from the events alone ---------------------------------------------------


class AuditEvent(Out):
    """One event touching the person (审计明细): the amount it moved, the balance after it
    and the policy articles behind it. A family member's payment for the person moves the
    member's account (``account``), so it has no ``balance_after`` here."""

    version: int
    recorded_at: dt.datetime
    date: dt.date | None
    event: str
    account: str
    amount: str | None
    balance_after: str | None
    transaction: str | None
    articles: list[str]
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: ExplainedEvent) -> AuditEvent:
        return cls(version=e.version, recorded_at=e.recorded_at, date=e.date, event=e.event,
                   account=e.account, amount=_fen(e.amount),
                   balance_after=_fen(e.balance_after), transaction=e.transaction,
                   articles=list(e.articles),
                   detail=plain(e.detail))


class Explanation(Out):
    """Every event touching the person, in recording order (余额形成明细)."""

    person: str
    year: int | None
    events: list[AuditEvent]


class BalanceAsOf(Out):
    """The personal-account balance as it stood on a date (时点余额), from the events."""

    person: str
    as_of: dt.date
    basis: Literal["business", "recorded"]
    balance: str
    movements: int
    unreadable: list[Unreadable]

    @classmethod
    def of(cls, figure: point_in_time.BalanceAsOf) -> BalanceAsOf:
        return cls(person=figure.person, as_of=figure.as_of, basis=figure.basis,
                   balance=format_fen(figure.balance), movements=figure.movements,
                   unreadable=list(figure.unreadable))


class PoolingAsOf(Out):
    """Pooling usage as it stood on a date (时点统筹累计), from the events."""

    person: str
    as_of: dt.date
    basis: Literal["business", "recorded"]
    years: list[PoolingYear]
    unreadable: list[Unreadable]


class Difference(Out):
    check: Literal["chain", "events", "pricing", "views", "states"]
    kind: Literal["edited", "link_edited", "deleted", "unchained", "reordered", "unreadable",
                  "inapplicable", "mismatch", "behind"]
    position: int | None
    originator: str | None
    version: int | None
    message: str


class Verification(Out):
    """Whether every stored figure follows from the events (审计核验); the same document
    as ``gongji audit verify --json``."""

    ok: bool
    events: int
    log_head: int
    settlements: int
    view_rows: int
    position: int
    chain_head: str
    chained_events: int
    stopped_at_first: bool
    counts: dict[str, int]
    first_difference: Difference | None
    differences: list[Difference]

    @classmethod
    def of(cls, report: VerifyReport) -> Verification:
        return cls.model_validate(verification(report))


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
