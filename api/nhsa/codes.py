"""The national platform's codes and what each means here: the gateway's mapping tables.

Data, not logic: the gateway looks codes up in these tables and refuses the ones that are
not in them, naming the field. The OpenAPI page and the README print them from here.
Codes are those of the national medical insurance information standard (医保信息业务编码);
each table keeps only what this ledger can honour.
"""

from __future__ import annotations

from ledger.admdvs import BUILT_IN

# 参保地/就医地医保区划 (admdvs) → our pooling regions: the built-in five (a deployment adds
# more with GONGJI_ADMDVS, ledger.admdvs); a region's answers give its built-in code.
REGIONS: dict[str, str] = BUILT_IN
ADMDVS: dict[str, str] = {region: code for code, region in REGIONS.items()}

# 医疗类别 med_type: this ledger prices ordinary outpatient visits only (普通门诊统筹).
MED_TYPES: dict[str, str] = {"11": "普通门诊 ordinary outpatient visit"}

# 险种类型 insutype: the employees' basic medical insurance only.
INSUTYPES: dict[str, str] = {"310": "职工基本医疗保险 employees' basic medical insurance"}

# 个人结算方式 psn_setlway: visits are priced item by item (按项目结算), never by a quota.
SETTLEMENT_WAYS: dict[str, str] = {"01": "按项目结算 settled item by item"}

# 个人账户使用标志 acct_used_flag → the ledger's ``pay``: "1" own account first (then a named
# family member's, 共济), "0" no account, all cash.
ACCOUNT_USE: dict[str, str] = {"1": "own", "0": "none"}

# 人员类别 psn_type ← the ledger's category on the day.
PERSON_TYPES: dict[str, str] = {"employed": "11", "retired": "12"}  # 在职, 退休

# 人员参保状态 psn_insu_stas ← the account's status: 1 正常参保, 4 终止参保.
INSURED_STATUS: dict[str, str] = {"active": "1", "emigrated": "4", "deceased": "4",
                                  "settled": "4"}

# What the ledger's settlement is in the platform's settlement words.
POOLING_FUND = ("310100", "职工基本医疗保险统筹基金")  # 基金支付类型 fund_pay_type and its name
CLEARING_TYPE = "11"   # 清算类别 clr_type: 普通门诊
CIVIL_SERVANT = "0"    # 公务员标志 cvlserv_flag: the ledger keeps no civil-servant subsidy
CANCEL_REASON = "cancelled"  # the ledger's reversal reason for a 2208 撤销

TRANSACTIONS: dict[str, str] = {
    "1101": "人员信息获取 person information",
    "2206": "门诊预结算 outpatient pre-settlement (writes nothing)",
    "2207": "门诊结算 outpatient settlement",
    "2208": "门诊结算撤销 cancel a settlement (the whole reversal)",
}


def table(codes: dict[str, str]) -> str:
    """``code = meaning`` pairs for a description."""
    return "; ".join(f"{code} = {meaning}" for code, meaning in codes.items())
