"""The operations of the ledger (业务操作), one table.

Each entry says everything the rest of the system needs to know about one operation:
its command model (:mod:`ledger.commands`), the :class:`~ledger.Ledger` method that runs
it, what it loads before deciding, its result record (:mod:`ledger.results`), its HTTP
route and the roles that may call it, its OpenAPI words (English with the Chinese term)
and example, and its step name and result fields in a conformance scenario (FORMAT.md).

Generated from it: :meth:`ledger.Ledger.execute`'s dispatch, the API's write routes
(:mod:`api.writes`, and so the OpenAPI document), and the conformance drivers'
``OPS`` (:mod:`conformance.steps`) and ``ROUTES`` (:mod:`conformance.http`). A new
operation is one entry here, its events and its decider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger import commands as c
from ledger import results as r
from ledger.reviews import AlertReviewRequest, ReviewAlert


@dataclass(frozen=True, slots=True)
class Loads:
    """What a command needs loaded before deciding: the accounts and transactions its
    fields name (a dotted name reaches into a nested field, ``pay.family``)."""

    accounts: tuple[str, ...] = ()
    transactions: tuple[str, ...] = ()
    reviews: tuple[str, ...] = ()  # alert reviews, by review id
    every_account: bool = False  # the year end: every account (of ``region``, if given)

    def people(self, command: c.Command) -> list[str]:
        """The people whose accounts ``command`` names, in field order, once each."""
        return _named(command, self.accounts)

    def transaction_ids(self, command: c.Command) -> list[str]:
        """The client ids of the transactions ``command`` names."""
        return _named(command, self.transactions)

    def review_ids(self, command: c.Command) -> list[str]:
        return _named(command, self.reviews)


def _named(command: c.Command, fields: tuple[str, ...]) -> list[str]:
    found: dict[str, None] = {}
    for name in fields:
        value: Any = command
        for part in name.split("."):
            value = getattr(value, part, None)
        if isinstance(value, str):
            found[value] = None
    return list(found)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: how it is asked for, run, answered, routed, allowed and documented."""

    method: str  # the Ledger method that runs it
    command: type[c.Command]
    result: type  # the record the method returns (ledger.results)
    path: str  # its HTTP route
    roles: tuple[str, ...]  # API key roles allowed (api.keys.Role)
    tag: str  # its group on the OpenAPI page
    summary: str  # one line, English with the Chinese term
    description: str
    example: dict[str, Any]  # a request body that the command accepts
    loads: Loads = field(default_factory=Loads)
    op: str | None = None  # its step name in a conformance scenario (FORMAT.md), if any
    fields: tuple[str, ...] = ()  # the result fields of that step, as the API answers them
    name: str = ""  # its OpenAPI operation name, if not the method's
    verb: str = "POST"  # its HTTP method
    # how the route treats the caller beyond its role:
    institution: bool = False  # an institution key fills in `institution`, or must match it
    member: str | None = None  # the field that must name a member key's own person
    member_pays_own: bool = False  # a member key may not name another account to pay
    private: bool = False  # the answer is transaction `id`'s: a retry by a key that may not
    #                        read that transaction is duplicate_conflict, never its figures
    reverses_own: bool = False  # `id` names a transaction an institution key must have made
    writes: bool = True  # False: a preview; nothing written, no Idempotency-Key
    nhsa: bool = False  # ?format=nhsa answers in the NHSA 2207 setlinfo vocabulary
    listed: bool = False  # an institution key's visit takes its level from the directory
    designated: bool = False  # an institution key must be designated (定点) on `date`
    body: type[c.Command] | None = None  # the request body, when the command adds to it
    #                                      the caller's role (`role`), from its API key
    alert: str | None = None  # the field naming an alert the alerts report must raise now

    @property
    def operation_name(self) -> str:
        return self.name or self.method


AGENCY = ("agency",)
COUNTER = ("agency", "institution")
VISIT_FIELDS = ("deductible_applied", "fund_paid", "over_cap", "self_pay", "account_paid",
                "cash_paid", "pooling_reason")
_VISIT = {"person": "A", "id": "V-2024-0001", "date": "2024-03-15", "level": 2,
          "in_scope": "300.00", "out_of_scope": "20.00", "institution": "H42130100001"}
_VISIT_LOADS = Loads(accounts=("person", "pay.family"), transactions=("id",))
_SETTLE_DESCRIPTION = """\
Price an outpatient visit by the region's policy (门诊结算) and pay the self-pay part.

``pay``: ``"own"`` (own account, then cash), ``"none"`` (all cash), or
``{"family": B}`` (B's account pays for the person, who must be bound to B), with
``"own_first": true`` for own account first and the shortfall from B (acct_pay /
acct_mulaid_pay). ``?format=nhsa`` answers with the NHSA 2207 setlinfo names.

An institution key's visit takes its ``level`` from the institution directory
(定点医药机构目录) entry in force on ``date``: a ``level`` that disagrees is refused
(level_mismatch, 422); an institution the directory does not list (unknown_institution,
404), without an entry in force on ``date`` (institution_not_in_force) or not designated
(not_designated, 非定点) is refused (409). The agency's ``level`` is taken as sent."""

OPERATIONS: tuple[Operation, ...] = (
    # -- people and credits (参保登记, 个人账户计入) ---------------------------------------
    Operation(
        "enroll", c.EnrollPerson, r.Done, "/v1/people", AGENCY, "people",
        "Enroll an insured person (参保登记)",
        "Enroll an insured person in a region's employee scheme (参保登记); the same facts "
        "again are a harmless retry.",
        {"person": "A", "region": "suizhou", "birth_date": "1980-01-01"},
        Loads(accounts=("person",))),
    Operation(
        "credit_contribution", c.RecordContribution, r.Credited, "/v1/contributions", AGENCY,
        "credits", "Record a month's contribution (在职缴费)",
        "An employed month's contribution (在职缴费): credits 2% of the base to the personal "
        "account (个人账户计入), once a month.",
        {"person": "A", "month": "2024-03", "base": "8000.00"},
        Loads(accounts=("person",)), op="contribution", fields=("credited",),
        name="record_contribution"),
    Operation(
        "credit_lump_sum", c.CreditLumpSum, r.Credited, "/v1/lump-sums", AGENCY, "credits",
        "Credit a lump sum (一次性预缴/补缴)",
        "A one-off prepay/back-pay credit (一次性预缴/补缴, nanchang art. 21): 2% of its base "
        "at once.",
        {"person": "C", "id": "L-2024-0001", "date": "2024-03-15", "base": "12000.00"},
        Loads(accounts=("person",), transactions=("id",)), op="lump_sum", fields=("credited",)),
    Operation(
        "credit_allotment", c.CreditAllotment, r.Credited, "/v1/allotments", AGENCY, "credits",
        "Credit a retired month's allotment (退休人员划入)",
        "A retired month's allotment to the personal account (退休人员个人账户划入).",
        {"person": "R", "month": "2024-03"},
        Loads(accounts=("person",)), op="allotment", fields=("credited",)),
    Operation(
        "retire", c.RecordRetirement, r.Done, "/v1/retirements", AGENCY, "people",
        "Record a retirement (退休)",
        "Retirement processed (退休办理); the retired category applies from the next month.",
        {"person": "A", "date": "2024-03-15"},
        Loads(accounts=("person",)), op="retire", name="record_retirement"),
    # -- leaving (转移接续, 出国出境定居, 死亡, 继承) -------------------------------------
    Operation(
        "transfer", c.Transfer, r.Transferred, "/v1/transfers", AGENCY, "leaving",
        "Transfer to another region (转移接续)",
        "Move the insurance and the whole balance to another pooling region (转移接续).",
        {"person": "A", "to_region": "nanchang", "date": "2024-03-15"},
        Loads(accounts=("person",)), op="transfer", fields=("amount",)),
    Operation(
        "emigrate", c.Emigrate, r.PaidOut, "/v1/emigrations", AGENCY, "leaving",
        "Pay out on settling abroad (出国出境定居)",
        "Pay the balance to a person settling abroad and close the account (出国出境定居).",
        {"person": "A", "date": "2024-03-15"},
        Loads(accounts=("person",)), op="emigrate", fields=("paid_out",)),
    Operation(
        "record_death", c.RecordDeath, r.Done, "/v1/deaths", AGENCY, "leaving",
        "Record a death (死亡登记)",
        "Record a death (死亡登记); no spend after it, no credit after its month.",
        {"person": "A", "date": "2024-03-15"},
        Loads(accounts=("person",)), op="death"),
    Operation(
        "pay_inheritance", c.PayInheritance, r.InheritancePaid, "/v1/inheritances", AGENCY,
        "leaving", "Pay the balance to the heirs (继承)",
        "Pay a deceased person's balance once to the heirs (继承), split to the fen.",
        {"person": "A", "date": "2024-03-20",
         "heirs": [{"name": "child", "share": "1/2"}, {"name": "spouse", "share": "1/2"}]},
        Loads(accounts=("person",)), op="inheritance", fields=("payouts",)),
    # -- family (家庭共济) -----------------------------------------------------------------
    Operation(
        "bind_family_member", c.BindFamilyMember, r.Done, "/v1/family-bindings",
        ("agency", "member"), "family", "Bind a family member (绑定家庭共济成员)",
        "The owner binds a family member (绑定家庭共济成员), whose costs the owner's account "
        "may then pay; a member key binds for itself only.",
        {"owner": "B", "member": "A", "relation": "spouse", "date": "2024-01-01"},
        Loads(accounts=("owner", "member")), op="bind", member="owner"),
    Operation(
        "unbind_family_member", c.UnbindFamilyMember, r.Done,
        "/v1/family-bindings/revocations", ("agency", "member"), "family",
        "Revoke a family binding (解除绑定)",
        "The owner revokes a binding (解除家庭共济绑定) from ``date``; a member key revokes its "
        "own only.",
        {"owner": "B", "member": "A", "date": "2024-12-01"},
        Loads(accounts=("owner", "member")), op="unbind", member="owner"),
    # -- settlements, spends, reversals (结算, 支付, 冲正) ----------------------------------
    Operation(
        "settle_visit", c.SettleVisit, r.VisitResult, "/v1/settlements", COUNTER,
        "settlements", "Settle an outpatient visit (门诊结算)", _SETTLE_DESCRIPTION, _VISIT,
        _VISIT_LOADS, op="visit", fields=VISIT_FIELDS, institution=True, private=True,
        nhsa=True, listed=True),
    Operation(
        "preview_visit", c.SettleVisit, r.VisitResult, "/v1/settlements/preview",
        ("agency", "institution", "member", "auditor"), "settlements",
        "Preview a visit's split (预结算)",
        "Pre-settlement (预结算): what the visit would cost now; writes nothing.\n\n"
        "Gives the same figures a settlement would give at this moment; a later write "
        "(another visit, a credit) can change them. A member key previews its own visits, "
        "paid by its own account or in cash. An institution key's level comes from the "
        "directory (定点医药机构目录), as for a settlement.",
        _VISIT, Loads(accounts=_VISIT_LOADS.accounts), institution=True, member="person",
        member_pays_own=True,
        writes=False, nhsa=True, listed=True),
    Operation(
        "spend", c.Spend, r.SpendResult, "/v1/spends", COUNTER, "settlements",
        "Pay a purpose from an account (个人账户支付)",
        "Pay a purpose from an account (个人账户支付), for its owner or a bound family member "
        "(家庭共济); all or nothing. An institution key's institution must be designated "
        "(定点) on ``date`` by the institution directory (定点医药机构目录), else "
        "unknown_institution (404), institution_not_in_force or not_designated (409).",
        {"payer": "A", "purpose": "pharmacy", "amount": "35.50", "id": "S-2024-0001",
         "date": "2024-03-15"},
        Loads(accounts=("payer", "beneficiary", "shortfall_from"), transactions=("id",)),
        op="spend", fields=("paid",), institution=True, private=True, designated=True),
    Operation(
        "reverse", c.Reverse, r.Reversed, "/v1/reversals", COUNTER, "settlements",
        "Reverse a settlement or spend (冲正/退费)",
        "Reverse a settlement or spend once, whole (冲正/退费); each account gets its part "
        "back. An institution reverses only what it settled itself.",
        {"id": "V-2024-0001", "date": "2024-03-16", "reason": "refund"},
        Loads(transactions=("id",)), op="reverse", fields=("restored",), institution=True,
        reverses_own=True),
    # -- year end (年度结转) -----------------------------------------------------------------
    Operation(
        "close_year", c.CloseYear, r.YearClosed, "/v1/year-closings", AGENCY, "year end",
        "Close a pooling year (年度结转)",
        "Close a pooling year for every account, or one region's (年度结转): pooling years "
        "closed, interest credited, the balance carried over. Idempotent.",
        {"year": 2024},
        Loads(every_account=True), op="close_year", fields=("closed",)),
    # -- fund monitoring (基金运行监测) ------------------------------------------------------
    Operation(
        "review_alert", ReviewAlert, r.Reviewed, "/v1/reports/alert-reviews",
        ("agency", "auditor"), "reports", "Review an account-use alert (预警复核)",
        "Review an account-use alert (预警复核): ``acknowledged`` (已知悉) or ``referred`` "
        "(移交核查), with a note and the reviewer; recorded as an event (AlertReviewed) with "
        "the key's role, so the audit trail shows who looked at what. The same ``review`` "
        "id again with the same content answers the same; with other content, 409 "
        "duplicate_conflict. The alert must be one that the alerts report raises now.",
        {"review": "R-2025-0001", "alert": "many_beneficiaries:A:2025",
         "outcome": "referred", "note": "six beneficiaries in one day: sent to inspection",
         "reviewer": "auditor-7", "date": "2025-04-01"},
        Loads(reviews=("review",)), body=AlertReviewRequest, alert="alert"),
)

#: The operation that runs each command type when it is executed (previews aside).
BY_COMMAND: dict[type[c.Command], Operation] = {
    op.command: op for op in OPERATIONS if op.writes}
