"""The national platform's message models: the envelope, each transaction's input and output.

Field lists follow the public HIS models of newtouch-cloud/openhis (commit ffa7e660),
``WinServiceAPI/YiBaoInterface/Models/``; each class names its file. Names and types only:
``数值型 16,2`` amounts are two-decimal strings here as everywhere in gongji (the platform's
clients read either), a ``5,4`` rate has four decimals, dates are ``yyyy-MM-dd`` and times
``yyyy-MM-dd HH:mm:ss``. A field the ledger does not know is null; a fund line the ledger
does not pay is ``"0.00"``.

Inputs ignore fields they do not list (HIS vendors add their own, e.g. ``expContent``) and
validate the ones they do: amounts through the ledger's own :data:`ledger.commands.Amount`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from ledger.commands import Amount, Id

Text = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=6, strip_whitespace=True)]
Admdvs = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
MsgId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,64}$")]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _time(value: object) -> object:
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(value.strip(), TIME_FORMAT)
        except ValueError:
            pass
    raise ValueError(f'a time "yyyy-MM-dd HH:mm:ss" is expected, got {value!r}')


InfTime = Annotated[dt.datetime, BeforeValidator(_time)]


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- in ------------------------------------------------------------------------------


class NhsaRequest(Lenient):
    """The envelope a HIS posts (交易输入报文); Models/Input/InputPost.cs."""

    infno: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
    msgid: MsgId
    mdtrtarea_admvs: Admdvs
    insuplc_admdvs: Admdvs | None = None
    recer_sys_code: Text
    dev_no: Text | None = None
    dev_safe_info: str | None = None
    cainfo: str | None = None
    signtype: Text | None = None
    infver: Text
    opter_type: Text
    opter: Text
    opter_name: Text
    inf_time: InfTime
    fixmedins_code: Id
    fixmedins_name: Text
    sign_no: Text | None = None
    input: dict[str, Any]


class PersonQuery(Lenient):
    """1101 input ``data``; Models/Input/Input_1101.cs. The ledger knows people by their
    person id (人员编号): ``mdtrt_cert_no`` carries it, or ``certno``."""

    mdtrt_cert_type: Code | None = None
    mdtrt_cert_no: Id | None = None
    card_sn: Text | None = None
    begntime: Text | None = None
    psn_cert_type: Code | None = None
    certno: Id | None = None
    psn_name: Text | None = None


class VisitInput(Lenient):
    """2206 and 2207 input ``data``; Models/Input/Input_2206.cs and Input_2207.cs (2207 adds
    ``invono`` and the four amounts, which 2206 accepts too). Extensions of gongji:
    ``medins_lv`` (医疗机构等级 1/2/3: an agency key's level; an institution key's comes from
    the directory, and a medins_lv it sends must agree) and ``mulaid_psn_no`` (共济账户人员编号)."""

    psn_no: Id
    mdtrt_cert_type: Code | None = None
    mdtrt_cert_no: Text | None = None
    med_type: Code
    medfee_sumamt: Amount
    psn_setlway: Code
    mdtrt_id: Id
    chrg_bchno: Text | None = None
    insutype: Code
    acct_used_flag: Code
    invono: Text | None = None
    fulamt_ownpay_amt: Amount = 0
    overlmt_selfpay: Amount = 0
    preselfpay_amt: Amount = 0
    inscp_scp_amt: Amount | None = None
    medins_lv: Annotated[str, StringConstraints(pattern=r"^[123]$")] | None = None
    mulaid_psn_no: Id | None = None


class CancelInput(Lenient):
    """2208 input ``data``; Models/Input/Input_2208.cs."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: Id


# -- out -----------------------------------------------------------------------------


class BaseInfo(BaseModel):
    """1101 ``baseinfo``; Models/Output/Output_1101.cs."""

    psn_no: str
    psn_cert_type: str | None
    certno: str | None
    psn_name: str | None
    gend: str | None
    naty: str | None
    brdy: str
    age: int
    expContent: str | None


class InsuInfo(BaseModel):
    """1101 ``insuinfo`` (one row: the employees' insurance); Output_1101.cs."""

    balc: str
    insutype: str
    psn_type: str
    psn_insu_stas: str
    psn_insu_date: str | None
    paus_insu_date: str | None
    cvlserv_flag: str
    insuplc_admdvs: str | None
    emp_name: str | None


class PersonInfo(BaseModel):
    """1101 output; ``idetinfo`` (身份信息) is empty: the ledger records no identities."""

    baseinfo: BaseInfo
    insuinfo: list[InsuInfo]
    idetinfo: list[dict[str, Any]]


class SetlInfo(BaseModel):
    """2206/2207/2208 ``setlinfo``: Models/Output/Output_2207.cs (41 fields; 2206's model,
    Output_2206.cs, is the same without ``setl_id``, which is null in a pre-settlement; 2208's,
    Output_2208.cs, is a subset, there spelt ``pdn_cash_pay`` for ``psn_cash_pay``)."""

    mdtrt_id: str
    setl_id: str | None
    psn_no: str
    psn_name: str | None
    psn_cert_type: str | None
    certno: str | None
    gend: str | None
    naty: str | None
    brdy: str
    age: int
    insutype: str
    psn_type: str
    cvlserv_flag: str
    setl_time: str
    mdtrt_cert_type: str | None
    med_type: str
    medfee_sumamt: str
    fulamt_ownpay_amt: str
    overlmt_selfpay: str
    preselfpay_amt: str
    inscp_scp_amt: str
    act_pay_dedc: str
    hifp_pay: str
    pool_prop_selfpay: str
    cvlserv_pay: str
    hifes_pay: str
    hifmi_pay: str
    hifob_pay: str
    maf_pay: str
    oth_pay: str
    fund_pay_sumamt: str
    psn_part_amt: str
    acct_pay: str
    psn_cash_pay: str
    hosp_part_amt: str
    balc: str
    acct_mulaid_pay: str
    medins_setl_id: str
    clr_optins: str | None
    clr_way: str | None
    clr_type: str


class SetlDetail(BaseModel):
    """``setldetail``, one row per fund; Models/Output/Output_2206.cs (class setldetail)."""

    fund_pay_type: str
    inscp_scp_amt: str
    crt_payb_lmt_amt: str
    fund_payamt: str
    fund_pay_type_name: str
    setl_proc_info: str


class Settled(BaseModel):
    """2206/2207/2208 output: ``setlinfo`` and ``setldetail``."""

    setlinfo: SetlInfo
    setldetail: list[SetlDetail]


class NhsaResponse(BaseModel):
    """The answer (交易输出报文); Models/Output/OutputReturn.cs."""

    infcode: int
    inf_refmsgid: str
    refmsg_time: str
    respond_time: str
    err_msg: str | None
    output: PersonInfo | Settled | None
