"""From the platform's words to the ledger's commands, and from the ledger's results back.

Nothing here prices, pays or checks a balance: a 2206/2207 becomes the same
:class:`ledger.commands.SettleVisit` the JSON API takes, a 2208 the same
:class:`ledger.commands.Reverse`, and the figures of the answer are the ledger's
:class:`ledger.results.VisitResult`, named as :class:`api.schemas.NhsaSetlInfo` names them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from api.nhsa import codes
from api.nhsa.models import (
    BaseInfo,
    InsuInfo,
    NhsaRequest,
    PersonInfo,
    SetlDetail,
    SetlInfo,
    Settled,
    VisitInput,
)
from api.schemas import NhsaSetlInfo
from ledger import commands as c
from ledger.account import Account
from ledger.queries import AccountView
from ledger.results import VisitResult
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # the platform's clock (北京时间)

# Fund lines of the public setlinfo that this ledger never pays (it settles the pooling
# fund, 统筹基金, and personal accounts only).
UNPAID_FUNDS = ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
                "hosp_part_amt")
# Amounts a cancellation (2208) reports with a minus sign: the settlement taken back.
CANCELLED = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
             "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
             "acct_pay", "psn_cash_pay", "acct_mulaid_pay")


class Refusal(LedgerError):
    """A refusal of the gateway itself, with its own Chinese sentence naming the field."""

    def __init__(self, code: ErrorCode, field: str, message: str, zh: str) -> None:
        super().__init__(code, message, field=field)
        self.zh = zh


def refuse(field: str, message: str, zh: str) -> Refusal:
    return Refusal(ErrorCode.INVALID_INPUT, field, message, zh)


def lookup(table: dict[str, str], value: str, field: str, what: str) -> str:
    """``table[value]`` or an ``invalid_input`` naming ``field`` and the codes accepted."""
    if value not in table:
        raise refuse(field, f"{field} {value!r} is not handled here; accepted: "
                            f"{codes.table(table)}",
                     f"{field}（{what}）为 {value}，本系统不支持；可用：{codes.table(table)}")
    return table[value]


def visit_command(envelope: NhsaRequest, data: VisitInput,
                  level: int | None = None) -> c.SettleVisit:
    """The JSON API's settlement command for a 2206/2207 ``data``; ``level`` the
    directory's (an institution key's), else ``medins_lv`` (an agency key's)."""
    lookup(codes.MED_TYPES, data.med_type, "med_type", "医疗类别：本账本只办理普通门诊")
    lookup(codes.INSUTYPES, data.insutype, "insutype", "险种类型")
    lookup(codes.SETTLEMENT_WAYS, data.psn_setlway, "psn_setlway", "个人结算方式")
    pay: Any = lookup(codes.ACCOUNT_USE, data.acct_used_flag, "acct_used_flag",
                      "个人账户使用标志")
    if level is None and data.medins_lv is None:
        raise refuse("medins_lv", "medins_lv (institution level 1, 2 or 3) is required from "
                                  "an agency key: the ledger prices a visit by the "
                                  "institution's level (an institution key's comes from the "
                                  "directory)",
                     "经办机构密钥须填写 medins_lv（医疗机构等级 1/2/3）：统筹待遇按机构等级计算"
                     "（定点医药机构密钥的等级取自定点医药机构目录）")
    if data.mulaid_psn_no is not None:
        if pay == "none":
            raise refuse("mulaid_psn_no", 'mulaid_psn_no needs acct_used_flag "1": with "0" '
                                          "no account pays",
                         "个人账户使用标志为 0 时不使用任何个人账户，不能指定共济账户 mulaid_psn_no")
        pay = {"family": data.mulaid_psn_no, "own_first": True}
    out_of_scope = data.fulamt_ownpay_amt + data.overlmt_selfpay + data.preselfpay_amt
    in_scope = (data.medfee_sumamt - out_of_scope if data.inscp_scp_amt is None
                else data.inscp_scp_amt)
    if in_scope < 0 or in_scope + out_of_scope != data.medfee_sumamt:
        raise refuse(
            "medfee_sumamt",
            f"medfee_sumamt {format_fen(data.medfee_sumamt)} must equal inscp_scp_amt + "
            "fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt",
            f"医疗费总额 medfee_sumamt（{format_fen(data.medfee_sumamt)}）应等于符合政策范围金额、"
            "全自费金额、超限价金额与先行自付金额之和")
    return c.parse(c.SettleVisit, {
        "person": data.psn_no, "id": data.mdtrt_id, "date": envelope.inf_time.date().isoformat(),
        "level": level if level is not None else int(data.medins_lv or 0), "in_scope": format_fen(in_scope),
        "out_of_scope": format_fen(out_of_scope), "pay": pay,
        "institution": envelope.fixmedins_code,
    }, "input.data")


def check_insured_place(envelope: NhsaRequest, region: str,
                        regions_by_code: dict[str, str] = codes.REGIONS) -> None:
    """``insuplc_admdvs``, when sent, must be a code of the person's region (参保地): the
    built-in one or one GONGJI_ADMDVS adds."""
    code = codes.ADMDVS.get(region)
    if envelope.insuplc_admdvs is not None and \
            regions_by_code.get(envelope.insuplc_admdvs) != region:
        raise refuse("insuplc_admdvs", f"insuplc_admdvs {envelope.insuplc_admdvs} is not the "
                                       f"person's region {region} ({code})",
                     f"参保地医保区划 insuplc_admdvs（{envelope.insuplc_admdvs}）与该人员参保地"
                     f"（{code}）不符")


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def platform_time(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def person_info(account: Account, view: AccountView, day: dt.date) -> PersonInfo:
    """1101: what the ledger knows of the person; nothing it does not (names, certificates)."""
    return PersonInfo(
        baseinfo=BaseInfo(
            psn_no=account.person, psn_cert_type=None, certno=None, psn_name=None, gend=None,
            naty=None, brdy=account.birth_date.isoformat(),
            age=age_on(account.birth_date, day), expContent=None,
        ),
        insuinfo=[InsuInfo(
            balc=format_fen(view.balance), insutype=next(iter(codes.INSUTYPES)),
            psn_type=codes.PERSON_TYPES[view.category],
            psn_insu_stas=codes.INSURED_STATUS.get(view.status, "4"), psn_insu_date=None,
            paus_insu_date=None, cvlserv_flag=codes.CIVIL_SERVANT,
            insuplc_admdvs=codes.ADMDVS.get(view.region), emp_name=None,
        )],
        idetinfo=[],
    )


def settled(envelope: NhsaRequest, account: Account, v: VisitResult, *, mdtrt_id: str,
            setl_id: str | None, when: dt.datetime, data: VisitInput | None = None,
            balance: int | None = None, cancelled: bool = False) -> Settled:
    """setlinfo and setldetail of a visit's split ``v``; ``data`` echoes the request's split
    of the out-of-scope amount (the ledger records only its total)."""
    named = NhsaSetlInfo.of(setl_id or "", v).model_dump()
    out_parts = {"fulamt_ownpay_amt": named["fulamt_ownpay_amt"],
                 "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00"}
    if data is not None:
        out_parts = {"fulamt_ownpay_amt": format_fen(data.fulamt_ownpay_amt),
                     "overlmt_selfpay": format_fen(data.overlmt_selfpay),
                     "preselfpay_amt": format_fen(data.preselfpay_amt)}
    day = envelope.inf_time.date()  # the business date, as the ledger's
    info: dict[str, Any] = {
        **named, **out_parts, **{fund: "0.00" for fund in UNPAID_FUNDS},
        "mdtrt_id": mdtrt_id, "setl_id": setl_id, "psn_no": account.person,
        "psn_name": None, "psn_cert_type": None, "certno": None, "gend": None, "naty": None,
        "brdy": account.birth_date.isoformat(), "age": age_on(account.birth_date, day),
        "insutype": next(iter(codes.INSUTYPES)), "psn_type": codes.PERSON_TYPES[v.category],
        "cvlserv_flag": codes.CIVIL_SERVANT, "setl_time": platform_time(when),
        "mdtrt_cert_type": data.mdtrt_cert_type if data is not None else None,
        "med_type": next(iter(codes.MED_TYPES)),
        "pool_prop_selfpay": str(Decimal(v.rate).quantize(Decimal("0.0001"))),
        "balc": format_fen(balance if balance is not None else v.own_balance_after or 0),
        "medins_setl_id": envelope.msgid, "clr_optins": codes.ADMDVS.get(v.region),
        "clr_way": None, "clr_type": codes.CLEARING_TYPE,
    }
    if cancelled:
        info.update({k: info[k] if info[k] == "0.00" else f"-{info[k]}" for k in CANCELLED})
    detail = SetlDetail(
        fund_pay_type=codes.POOLING_FUND[0], fund_pay_type_name=codes.POOLING_FUND[1],
        inscp_scp_amt=format_fen(v.eligible_in_scope),
        crt_payb_lmt_amt=format_fen(v.cap_left_after + v.fund_paid),
        fund_payamt=format_fen(v.fund_paid), setl_proc_info=process(v),
    )
    return Settled(setlinfo=SetlInfo(**info), setldetail=[detail])


def process(v: VisitResult) -> str:
    """结算过程信息: the articles behind each figure, and why pooling was refused if it was."""
    steps = [f"{figure}: {article}" for figure, article in v.articles.items()]
    if v.pooling_reason:
        steps.append(f"不予统筹 no pooling: {v.pooling_reason}")
    return "; ".join(steps)
