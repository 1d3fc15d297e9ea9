"""The API's glossary: every field's English meaning, its Chinese term and an example.

The OpenAPI page is the first thing an integrator reads. Rather than repeat a description
on each of the dozens of models (commands from :mod:`ledger.commands`, responses from
:mod:`api.schemas`), the terms live here once and :func:`annotate` writes them into the
generated document: ``"Model.field"`` entries win over plain ``"field"`` ones. A test
checks that no property or parameter is left without a Chinese term and an example.
"""

from __future__ import annotations

from typing import Any

TERMS: dict[str, tuple[str, Any]] = {
    # who and where
    "person": ("insured person's id (参保人员编号)", "A"),
    "region": ("pooling region (统筹地区): suizhou, nanchang, jilin, yunnan, chongqing", "suizhou"),
    "to_region": ("destination pooling region of a transfer (转入统筹地区)", "nanchang"),
    "birth_date": ("date of birth (出生日期), YYYY-MM-DD", "1980-01-01"),
    "scheme": ("insurance scheme (参保方式): standard 统账结合, pooling_only 单建统筹; chongqing: "
               "employer, individual_tier1, individual_tier2, lump_sum", "standard"),
    "retired_on": ("date retirement was processed (退休办理日期), null if employed", None),
    "standard_years": ("suizhou mixed history: years under the standard scheme (统账结合年限)", None),
    "total_years": ("suizhou mixed history: total insured years (总参保年限)", None),
    "lump_sum_until": ("chongqing lump-sum payers: last month of the lump-sum period (趸缴截止月)",
                       None),
    "institution": ("designated institution's id (定点医药机构编码); must be the key's own for "
                    "an institution key", "H42130100001"),
    "owner": ("account owner who binds (账户所有人)", "B"),
    "member": ("family member bound to the owner's account (家庭成员)", "A"),
    "relation": ("family relation (家庭关系): spouse 配偶, parent 父母, child 子女; yunnan also "
                 "sibling, grandparent, grandchild", "spouse"),
    "payer": ("account that pays (付款账户所有人)", "A"),
    "beneficiary": ("person the spend is for (受益人), default the payer", "A"),
    "family": ("bound family member whose account pays (共济付款人)", "B"),
    "shortfall_from": ("spend: own account first, the shortfall from this bound family "
                       "member's account (个人账户不足部分由共济账户支付)", None),
    "own_first": ("take the person's own balance first, the shortfall from family (先个人后共济)",
                  True),
    "heirs": ("heirs or designated beneficiaries with their shares (继承人及份额)",
              [{"name": "child", "share": "1/2"}, {"name": "spouse", "share": "1/2"}]),
    "Heir.name": ("heir's name (继承人姓名), unique", "spouse"),
    "share": ('share of the balance (继承份额): a fraction "1/3" or a decimal "0.5"', "1/2"),
    # when
    "date": ("business date (业务发生日期), YYYY-MM-DD", "2024-03-15"),
    "month": ("contribution or allotment month (缴费/划入月份), or the month a report covers "
              "(统计月份), YYYY-MM", "2024-03"),
    "year": ("calendar year (年度)", 2024),
    "as_of": ("the day figures are taken on (截至日期): on /people the day the category is "
              "judged on, default today; on /audit the day the balance or pooling stood on",
              "2024-12-31"),
    "recorded_at": ("when the event was recorded (记录时间), UTC", "2024-03-15T08:30:00+00:00"),
    # ids
    "id": ("client's transaction id (业务流水号), unique across visits, spends, lump sums",
           "V-2024-0001"),
    "setl_id": ("settlement id (结算ID) = id", "V-2024-0001"),
    "version": ("account version (账户版本号): number of events so far", 12),
    # amounts in
    "base": ("contribution base in yuan (缴费基数), two decimals", "8000.00"),
    "level": ("institution level (医疗机构等级): 1, 2 or 3", 2),
    "prescribed_level": ("prescribing institution's level for an outside prescription "
                         "(外配处方开方机构等级)", None),
    "in_scope": ("in-scope amount (政策范围内费用)", "300.00"),
    "out_of_scope": ("out-of-scope amount, never reimbursed (全自费费用)", "20.00"),
    "flags": ("reasons the visit may not be eligible for pooling (不予统筹情形)", []),
    "pay": ('who pays the self-pay part (个人负担支付方式): "own" 个人账户, "none" 全部现金, or '
            '{"family": PERSON, "own_first": bool} 家庭共济', "own"),
    "purpose": ("purpose of the payment (支付用途): medical, pharmacy, resident_insurance, "
                "ltc_insurance, catastrophic_insurance, commercial_insurance", "pharmacy"),
    "amount": ("amount in yuan (金额), two decimals", "35.50"),
    "reason": ("why it is reversed (冲正原因): refund 退费, converted_to_inpatient 转住院, …",
               "refund"),
    # visit split
    "deductible_applied": ("deductible applied (起付线/实际支付起付线)", "100.00"),
    "fund_paid": ("pooling fund paid (统筹基金支付)", "160.00"),
    "over_cap": ("fund share beyond the yearly cap, not paid here (超限额部分)", "0.00"),
    "self_pay": ("person's share of the bill (个人负担)", "160.00"),
    "account_paid": ("paid from personal accounts, own + family (个人账户支付)", "120.00"),
    "cash_paid": ("paid in cash (现金支付)", "40.00"),
    "pooling_reason": ("why the visit got no pooling (不予统筹原因), null if eligible", None),
    "medical_total": ("total medical expenses (医疗费总额)", "320.00"),
    "eligible_in_scope": ("in-scope amount counted for pooling (计入统筹的政策范围内费用)",
                          "300.00"),
    "own_paid": ("paid from the person's own account (本人个人账户支付)", "120.00"),
    "family_paid": ("paid from the family member's account (家庭共济支付)", "0.00"),
    "family_payer": ("family member whose account paid (共济付款人), null if none", None),
    "category": ("treatment category (人员类别): employed 在职, retired 退休", "employed"),
    "rate": ("pooling rate applied (统筹支付比例)", "0.8"),
    "cap": ("yearly pooling cap (年度最高支付限额)", "1300.00"),
    "cap_left_after": ("cap left after this visit (剩余限额)", "1140.00"),
    "own_balance_after": ("person's balance after this visit (个人账户余额), null: no account",
                          "80.00"),
    "articles": ("policy articles that produced each figure (政策依据条款)",
                 {"rate": "suizhou art. 8"}),
    # NHSA 2207 setlinfo
    "medfee_sumamt": ("医疗费总额 = medical_total", "320.00"),
    "fulamt_ownpay_amt": ("全自费金额 = out_of_scope", "20.00"),
    "inscp_scp_amt": ("符合政策范围金额 = in_scope", "300.00"),
    "act_pay_dedc": ("实际支付起付线 = deductible_applied", "100.00"),
    "hifp_pay": ("基本医疗保险统筹基金支出 = fund_paid", "160.00"),
    "pool_prop_selfpay": ("基本医疗保险统筹基金支付比例 = rate", "0.8"),
    "fund_pay_sumamt": ("基金支付总额 = fund_paid (only the pooling fund pays here)", "160.00"),
    "psn_part_amt": ("个人负担总金额 = self_pay", "160.00"),
    "acct_pay": ("个人账户支出 = own_paid (the person's own account)", "120.00"),
    "acct_mulaid_pay": ("个人账户共济支付金额 = family_paid", "0.00"),
    "psn_cash_pay": ("个人现金支出 = cash_paid", "40.00"),
    "balc": ("余额: the person's balance after = own_balance_after", "80.00"),
    # the national platform's envelope and transactions (国家医保平台接口, api/nhsa)
    "infno": ("交易编号 transaction code: 1101, 2206, 2207, 2208", "2207"),
    "msgid": ("发送方报文ID message id; a retry with the same id and content gets the first "
              "answer", "H42130100001202403150830000001"),
    "mdtrtarea_admvs": ("就医地医保区划 admdvs where the visit happens", "421300"),
    "insuplc_admdvs": ("参保地医保区划 the person's insured region (admdvs); checked when sent",
                       "421300"),
    "recer_sys_code": ("接收方系统代码 receiving system, e.g. YBXT", "YBXT"),
    "dev_no": ("设备编号 device number", None),
    "dev_safe_info": ("设备安全信息 device security information", None),
    "cainfo": ("数字签名信息 signature, not checked: the key authenticates", None),
    "signtype": ("签名类型 signature type", None),
    "infver": ("接口版本号 interface version", "V1.0"),
    "opter_type": ("经办人类别 operator kind: 1 经办人, 2 自助终端, 3 移动终端", "1"),
    "opter": ("经办人 operator id", "0001"),
    "opter_name": ("经办人姓名 operator name", "张三"),
    "inf_time": ("交易时间 time of the message, yyyy-MM-dd HH:mm:ss; its date is the business "
                 "date", "2024-03-15 08:30:00"),
    "fixmedins_code": ("定点医药机构编号 institution code; must be the key's institution",
                       "H42130100001"),
    "fixmedins_name": ("定点医药机构名称 institution name", "随州市中心医院"),
    "sign_no": ("交易签到流水号 sign-in serial (9001), not required", None),
    "input": ("交易输入 the transaction's input: {\"data\": {...}}",
              {"data": {"psn_no": "A", "mdtrt_id": "V1"}}),
    "infcode": ("交易状态码 0 success, -1 refused", 0),
    "inf_refmsgid": ("接收方报文ID answer id: admdvs(6) + time(14) + serial(10)",
                     "42130020240315083000" + "0000000001"),
    "refmsg_time": ("接收报文时间 received, yyyyMMddHHmmssSSS", "20240315083000123"),
    "respond_time": ("响应报文时间 answered, yyyyMMddHHmmssSSS", "20240315083000150"),
    "err_msg": ("错误信息 why refused: [code] 中文（字段） | English; null on success",
                "[insufficient_balance] 个人账户余额不足 | A's balance is 12.00"),
    "output": ("交易输出 the transaction's output; null when refused", None),
    "baseinfo": ("人员基本信息 person's base information (1101)", {}),
    "insuinfo": ("参保信息 insurance rows (1101): the employees' insurance", []),
    "idetinfo": ("身份信息 identities (1101): the ledger records none", []),
    "psn_no": ("人员编号 person id = person", "A"),
    "psn_cert_type": ("人员证件类型 certificate type: not kept by the ledger, null", None),
    "certno": ("证件号码 certificate number: not kept by the ledger, null", None),
    "psn_name": ("人员姓名 name: not kept by the ledger, null", None),
    "gend": ("性别 sex: not kept by the ledger, null", None),
    "naty": ("民族 ethnicity: not kept by the ledger, null", None),
    "brdy": ("出生日期 birth date = birth_date, yyyy-MM-dd", "1980-01-01"),
    "age": ("年龄 age in whole years on the business date", 44),
    "expContent": ("字段扩展 extension content, null", None),
    "InsuInfo.balc": ("余额 personal account balance now = balance", "1234.56"),
    "insutype": ("险种类型 insurance type: 310 职工基本医疗保险", "310"),
    "psn_type": ("人员类别 person type = category: 11 在职 employed, 12 退休 retired", "11"),
    "psn_insu_stas": ("人员参保状态 insured status = status: 1 正常参保 active, 4 终止参保 ended",
                      "1"),
    "psn_insu_date": ("个人参保日期 insured since: not kept, null", None),
    "paus_insu_date": ("暂停参保日期 insurance paused on: not kept, null", None),
    "cvlserv_flag": ("公务员标志 civil servant flag: 0", "0"),
    "emp_name": ("单位名称 employer: not kept, null", None),
    "setlinfo": ("结算信息 settlement information", {}),
    "setldetail": ("结算基金分项信息 one row per fund: the pooling fund", []),
    "mdtrt_id": ("就诊ID visit id = the settlement's id", "V-2024-0001"),
    "SetlInfo.setl_id": ("结算ID settlement id = mdtrt_id; null in a pre-settlement (2206)",
                         "V-2024-0001"),
    "setl_time": ("结算时间 when settled (a cancellation: when cancelled), yyyy-MM-dd HH:mm:ss, "
                  "Beijing time", "2024-03-15 08:30:01"),
    "mdtrt_cert_type": ("就诊凭证类型 credential type, echoed", "02"),
    "med_type": ("医疗类别 medical type: 11 普通门诊 only", "11"),
    "overlmt_selfpay": ("超限价自费费用 over the price limit, self-paid (out of scope)", "0.00"),
    "preselfpay_amt": ("先行自付金额 paid first by the person (out of scope)", "0.00"),
    "SetlInfo.pool_prop_selfpay": ("基本医疗保险统筹基金支付比例 pooling rate = rate, four "
                                   "decimals (5,4)", "0.8000"),
    "cvlserv_pay": ("公务员医疗补助资金支出 civil servants' subsidy: not paid here, 0.00", "0.00"),
    "hifes_pay": ("企业补充医疗保险基金支出 enterprise supplementary: not paid here, 0.00",
                  "0.00"),
    "hifmi_pay": ("居民大病保险资金支出 residents' catastrophic: not paid here, 0.00", "0.00"),
    "hifob_pay": ("职工大额医疗费用补助基金支出 employees' large-expense: not paid here, 0.00",
                  "0.00"),
    "maf_pay": ("医疗救助基金支出 medical assistance: not paid here, 0.00", "0.00"),
    "oth_pay": ("其他支出 other funds: not paid here, 0.00", "0.00"),
    "hosp_part_amt": ("医院负担金额 borne by the institution: 0.00", "0.00"),
    "SetlInfo.balc": ("余额 the person's balance after (0.00 without an account)", "80.00"),
    "medins_setl_id": ("医药机构结算ID the sender's msgid", "H42130100001202403150830000001"),
    "clr_optins": ("清算经办机构 clearing agency: the person's region (admdvs)", "421300"),
    "clr_way": ("清算方式 clearing way: not kept, null", None),
    "clr_type": ("清算类别 clearing type: 11 普通门诊", "11"),
    "fund_pay_type": ("基金支付类型 fund type: 310100 职工基本医疗保险统筹基金", "310100"),
    "SetlDetail.inscp_scp_amt": ("符合政策范围金额 in scope counted for pooling = "
                                 "eligible_in_scope", "300.00"),
    "crt_payb_lmt_amt": ("本次可支付限额金额 the cap left before this visit = cap_left_after "
                         "+ fund_paid", "1300.00"),
    "fund_payamt": ("基金支付金额 fund paid = fund_paid", "160.00"),
    "fund_pay_type_name": ("基金支付类型名称 fund name", "职工基本医疗保险统筹基金"),
    "setl_proc_info": ("结算过程信息 the policy articles behind each figure",
                       "rate: suizhou art. 8"),
    # other results
    "ok": ("recorded (已受理)", True),
    "credited": ("amount credited to the account (计入金额)", "160.00"),
    "article": ("policy article applied (政策依据条款)", "suizhou art. 13"),
    "paid": ("amount paid from accounts (支付金额)", "35.50"),
    "restored": ("amount put back into accounts (退回账户金额)", "120.00"),
    "paid_out": ("balance paid to the person (支付给本人的余额)", "1234.56"),
    "TransferredOut.amount": ("balance moved to the destination region (转移金额)", "1234.56"),
    "payouts": ("amount paid to each heir (继承人所得)", {"spouse": "617.28"}),
    "closed": ("pooling years closed by this run (本次结转年度数)", 1),
    "PoolingYear.closed": ("closed by the year-end job (已年度结转)", False),
    "Health.status": ("ok while the process runs (存活状态); readiness is /v1/ready", "ok"),
    "accounts": ("accounts whose year was closed (结转账户数)", 1),
    "interest": ("interest credited (计息金额)", "0.00"),
    # account view
    "has_account": ("has a personal account (是否有个人账户)", True),
    "status": ("account status (账户状态): active, emigrated, deceased, settled", "active"),
    "balance": ("personal account balance (个人账户余额)", "1234.56"),
    "visits": ("visits settled in the year (就诊次数)", 3),
    "forfeited": ("unused cap forfeited at year end (年末清零限额)", "0.00"),
    "cap_left": ("cap left in the year (剩余统筹限额)", "1140.00"),
    "years": ("pooling years by region (各年度统筹累计)", []),
    "PoolingYear.in_scope": ("eligible in-scope amounts accumulated (累计政策范围内费用)", "300.00"),
    "PoolingYear.deductible_applied": ("deductible used so far (已用起付线)", "500.00"),
    "PoolingYear.fund_paid": ("fund paid so far in the year (累计统筹支付)", "160.00"),
    "PoolingYear.over_cap": ("accumulated beyond the cap (累计超限额)", "0.00"),
    "events": ("events, newest first (账户事件)", []),
    "next_before": ("pass as before= for the next page (下一页游标), null at the end", 38),
    "type": ("event type (事件类型)", "Debited"),
    "data": ("the event's facts, amounts in yuan (事件内容)", {"amount": "35.50"}),
    "split": ("the visit's full split (结算明细)", {}),
    "debits": ("accounts debited (扣款账户)", []),
    "Debit.amount": ("amount taken from this account (扣款金额)", "120.00"),
    "Debit.role": ("own 本人 or family 共济", "own"),
    "reversal": ("the reversal, null if not reversed (冲正信息)", None),
    "parameters": ("policy parameters as configured (部署参数, GONGJI_POLICY_PARAMETERS)",
                   {"nanchang": {"average_pension": "3100.00"}}),
    "regions": ("regions with policy data (统筹地区)", ["suizhou", "nanchang"]),
    "invalid": ("regions disabled by invalid parameters, with the reason (参数无效的地区)", {}),
    "role": ("the key's role (角色): agency 经办机构, institution 定点医药机构, member 参保人, "
             "auditor 审计", "agency"),
    # where a read came from
    "source": ("what answered (数据来源): views = the read models; aggregate = the "
               "event-sourced aggregates (asked for, or the views do not know the person yet)",
               "views"),
    "position": ("the views' position (视图位置): the last event (notification id) the read "
                 "models include; null when the aggregate answered", 1042),
    # reports and family spending (read models)
    "totals": ("one row per region, year, month and institution level (统计行)", []),
    "FundTotals.month": ("month of the visits' dates (月份), 1–12", 3),
    "FundTotals.visits": ("visits settled and not reversed (结算人次)", 12),
    "FundTotals.fund_paid": ("pooling fund paid, net of reversals (统筹基金支付合计)", "1600.00"),
    "reversed": ("how many were reversed, and are left out of the sums (已冲正笔数)", 1),
    "bindings": ("family members the payer bound (共济绑定关系)", []),
    "bound_from": ("date the binding took effect (绑定日期), YYYY-MM-DD", "2024-01-01"),
    "unbound_on": ("date the binding was revoked (解绑日期), null while bound", None),
    "spending": ("what the payer's account paid, per beneficiary and purpose (共济支付合计)", []),
    "FamilySpending.paid": ("amount paid, net of reversals (共济支付金额)", "50.00"),
    "payments": ("payments not reversed (支付笔数)", 1),
    # audit
    "Explanation.year": ("business year the events were kept for (业务年度), null: every year",
                         2024),
    "Explanation.events": ("events touching the person, in recording order (余额形成明细)", []),
    "AuditEvent.version": ("the event's version in the account it moved (事件版本号)", 5),
    "event": ("event type (事件类型)", "ContributionCredited"),
    "account": ("the account the event moved (变动账户): the person's, or the family member's "
                "who paid for them", "A"),
    "AuditEvent.amount": ("amount moved, signed: + credit, − debit (变动金额); null if none",
                          "100.00"),
    "balance_after": ("the person's balance after the event (变动后余额); null if it did not "
                      "move the person's account", "200.00"),
    "transaction": ("client id of the visit or spend (业务流水号), null if none", "V-2024-0001"),
    "AuditEvent.articles": ("policy articles behind the event (政策依据条款)",
                            ["suizhou art. 13"]),
    "AuditEvent.detail": ("the event's other facts, amounts in yuan (事件内容)",
                          {"month": "2024-01", "base": "5000.00"}),
    "basis": ("as-of basis (时点口径): business = by business (value) dates; recorded = as "
              "recorded by the end of the day, UTC", "business"),
    "movements": ("balance movements counted (计入的变动笔数)", 3),
    "Verification.ok": ("true when the events, the chain, the prices and the views agree "
                        "(核验通过)", True),
    "Verification.events": ("events read (事件数)", 1042),
    "settlements": ("settlements re-priced (重新计价的结算笔数)", 37),
    "view_rows": ("read-model rows recomputed and compared (核对的视图行数)", 215),
    "Verification.position": ("the views' position they were compared at (视图位置)", 1042),
    "log_head": ("the log's last event (notification id) when verify began (事件日志头)", 1042),
    "chain_head": ("the hash chain's last link (哈希链头): keep it elsewhere to detect a later "
                   "truncation", "9f2c…e41a"),
    "chained_events": ("events whose chain link checked out (链上核验通过的事件数)", 1042),
    "stopped_at_first": ("true when asked to stop at the first difference and one was found: "
                         "the rest was not checked (遇首个差异即停止)", False),
    "counts": ("differences per check (各核验项差异数)",
               {"chain": 0, "events": 0, "pricing": 0, "views": 0, "states": 0}),
    "first_difference": ("the first difference found (首个差异), null when ok", None),
    "differences": ("every difference found, the chain's first, then in log order (差异列表)",
                    []),
    "check": ("the check that found it (核验项): chain 哈希链, events 事件解码, pricing "
              "重新计价, views 视图, states 账户状态行", "pricing"),
    "kind": ("what kind of difference (差异类型): chain: edited 事件被改, link_edited 链被改, "
             "deleted 被删, unchained 链外插入, reordered 顺序被改; unreadable 无法解码; "
             "inapplicable 无法应用; mismatch 不一致; behind 视图落后", "mismatch"),
    "Difference.position": ("the event's position (notification id) it concerns (事件位置), "
                            "null for a view row", 51),
    "Difference.originator": ("the aggregate (account or transaction id, hex) of that event "
                              "(聚合编号)", None),
    "Difference.version": ("that event's version in its aggregate (事件版本号)", None),
    "unreadable": ("stored events left out because they cannot be read (无法读取而未计入的事件): "
                   "non-empty means the figure is incomplete", []),
    "Unreadable.position": ("the event's position (notification id) in the log (事件位置)",
                                 51),
    "Unreadable.originator": ("its aggregate's id, hex (聚合编号)",
                                   "3c9b9b51a9795622945ec90f341b7a05"),
    "Unreadable.version": ("its version in that aggregate (事件版本号)", 3),
    "Unreadable.event": ("its stored event type (事件类型)", "Account.ContributionCredited"),
    "Unreadable.reason": ("why it cannot be read (原因)", "KeyError: 'amount'"),
    "message": ("what differs, or what was left out, and where (说明)",
                "settlement 'V1' of A: fund_paid recorded 160.00, re-priced 150.00"),
    # problem+json
    "Problem.type": ("problem type URI (错误类型)", "urn:gongji:problem:insufficient_balance"),
    "Problem.status": ("HTTP status (状态码)", 409),
    "title": ("short title = code (错误标题)", "insufficient_balance"),
    "code": ("stable error code (错误代码)", "insufficient_balance"),
    "detail": ("what is wrong and how to fix it, English (错误说明)",
               "A's balance is 12.00, less than the 30.00 asked"),
    "detail_zh": ("what to fix, Chinese (中文说明)", "个人账户余额不足：减少金额或改用现金支付"),
    "field": ("the first field at fault (出错字段)", "amount"),
    "instance": ("the request path (请求路径)", "/v1/spends"),
    "loc": ("where the problem is (位置)", ["body", "amount"]),
    "msg": ("message (信息)", "Field required"),
    # query and header parameters
    "consistency": ("read consistency (读一致性): eventual (default) = the read models (视图) "
                    "kept by the projection worker, may lag the writes; strong = the "
                    "aggregates (聚合), every acknowledged write included. In a response: the "
                    "consistency of the answer (also the Gongji-Consistency header)", "eventual"),
    "format": ("response vocabulary (返回格式): default, or nhsa = NHSA 2207 setlinfo names",
               "default"),
    "limit": ("page size (每页条数), 1–500", 50),
    "before": ("only events with a version below this (游标)", 38),
    # the people look-up (参保人查询)
    "prefix": ("the start of the person id (人员编号前缀); empty: everyone", "4201"),
    "cursor": ("where the page starts (分页游标): the previous page's next_cursor", "NDIwMS0wMDI"),
    "next_cursor": ("cursor of the next page (下一页游标); null on the last page",
                    "NDIwMS0wMDI"),
    "People.people": ("people found, in person-id order (查询结果)", []),
    # readiness (就绪检查)
    "Readiness.status": ("ready or not_ready (就绪状态); not_ready answers 503", "ready"),
    "event_store": ("the event store answers (事件库检查)", {"ok": True, "detail": "head 1042"}),
    "redis": ("Redis answers a ping (Redis 检查); null when GONGJI_REDIS_URL is not set", None),
    "projections": ("the projection worker (视图更新进程): not stopped, lag within the limit",
                    {"ok": True, "detail": "0 events behind"}),
    "Check.ok": ("the check passed (检查通过)", True),
    "Check.detail": ("what was checked, or why it failed (检查说明)", "head 1042"),
    "Projections.ok": ("the worker is running and within the lag limit (检查通过)", True),
    "Projections.detail": ("what was checked, or why it failed (检查说明)", "0 events behind"),
    "Projections.store": ("where the views live (视图存储): sql or redis", "sql"),
    "head": ("the last event recorded (事件日志末位), notification id", 1042),
    "lag_events": ("events recorded but not applied to the views yet (未应用事件数)", 0),
    "lag_seconds": ("age of the oldest event not applied yet, seconds (滞后秒数)", 0.0),
    "max_lag_seconds": ("the readiness limit on lag_seconds, GONGJI_READY_MAX_LAG (滞后上限)",
                        60.0),
    "failure": ("the event that stopped the worker (停止原因): position, event, topic, "
                "aggregate, version, reason, at, message; null when running", None),
    # fund monitoring (基金运行监测): reviews of alerts, alerts, statement, indicators
    "review": ("the review's own id (复核编号): a retry sends it again", "R-2025-0001"),
    "alert": ("the alert's id as the alerts report gives it, RULE:SUBJECT:PERIOD (预警编号)",
              "many_beneficiaries:A:2025"),
    "outcome": ("the review's outcome (复核结论): acknowledged 已知悉 | referred 移交核查",
                "referred"),
    "note": ("what the reviewer found or decided (复核意见)",
             "six beneficiaries in one day: sent to inspection"),
    "reviewer": ("who reviewed (复核人)", "auditor-7"),
    "AlertOut.count": ("what was counted (计数)", 6),
    "AlertOut.period": ("a year, or a day (期间)", "2025"),
    "AlertOut.reviews": ("every review, oldest first (复核记录)", []),
    "AlertOut.rule": ("the alert rule (预警规则): many_beneficiaries, pharmacy_day, …",
                      "many_beneficiaries"),
    "AlertReport.alerts": ("the alerts raised now (当前预警)", []),
    "FlagOut.indicator": ("which indicator (指标)", "in_scope_per_visit"),
    "FlagOut.name": ("the indicator in English and Chinese (指标名称)",
                     "in-scope cost per visit (次均政策范围内费用)"),
    "FlagOut.peers": ("peers compared (参与比较的机构数)", 12),
    "FlagOut.peers_median": ("the peers' median (同级机构中位数)", "95.00"),
    "FlagOut.score": ("robust z-score (稳健 z 分数), if computed", "3.8"),
    "FlagOut.value": ("the institution's value (本机构值)", "180.00"),
    "FundStatement.rows": ("the statement's lines (收支统计行)", []),
    "FundStatement.tie_out": ("the months' tie-out against Σ balances (平衡核对)", []),
    "growth_3m": ("cost per visit against the previous three months (环比增长); empty "
                  "without visits then", "0.0500"),
    "growth_yoy": ("cost per visit against the same month a year before (同比增长)", ""),
    "in_scope_per_visit": ("in-scope cost per visit (次均政策范围内费用)", "100.00"),
    "out_of_scope_share": ("out-of-scope / total (全自费占比)", "0.1667"),
    "self_pay_share": ("(cash + account) / total (患者自费比例)", "0.6000"),
    "total_per_visit": ("total cost per visit (次均费用)", "120.00"),
    "InstitutionReport.institutions": ("each institution's indicators (机构指标)", []),
    "InstitutionReport.method": ("robust_z or percentile, from the thresholds (判定方法)",
                                 "robust_z"),
    "StatementRow.count": ("movements or visits this month (笔数)", 3),
    "StatementRow.label": ("the line in English and Chinese (项目名称)",
                           "contributions credited (在职个人账户计入)"),
    "StatementRow.line": ("the line's code, e.g. out.family.pharmacy (项目代码)",
                          "in.contribution"),
    "StatementRow.section": ("accounts (账户), inflows (收入), outflows (支出), pooling "
                             "(统筹基金)", "inflows"),
    "StatementRow.ytd_amount": ("year to date, yuan (本年累计)", "480.00"),
    "StatementRow.ytd_count": ("year to date count (本年累计笔数)", 9),
    "TieOutOut.balances": ("Σ balances at the month's end, from the daily balances "
                           "(月末账户余额合计)", "1234.56"),
    "TieOutOut.closing": ("opening + inflows − outflows (期末余额)", "1234.56"),
    "TieOutOut.ties_out": ("closing = Σ balances, to the fen (平衡)", True),
    "Idempotency-Key": ("idempotency key (幂等键): same key and body → the original response; "
                        "another body → 409", "3f1c2a8e-7d7b-4b8e-9a53-0d2c7f1e9b10"),
}

_CJK = range(0x4E00, 0xA000)


def has_chinese(text: str) -> bool:
    return any(ord(ch) in _CJK for ch in text)


def term(model: str, name: str) -> tuple[str, Any] | None:
    base = model.removesuffix("-Input").removesuffix("-Output")
    return TERMS.get(f"{base}.{name}") or TERMS.get(name)


def annotate(document: dict[str, Any]) -> dict[str, Any]:
    """Write the glossary into an OpenAPI document's properties and parameters."""
    for model, schema in document.get("components", {}).get("schemas", {}).items():
        for name, prop in schema.get("properties", {}).items():
            found = term(model, name)
            if found is not None:
                _describe(prop, *found)
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                found = term("", parameter["name"])
                if found is not None:
                    description, example = found
                    parameter["description"] = description
                    parameter.setdefault("schema", {})["examples"] = [example]
    return document


def _describe(prop: dict[str, Any], description: str, example: Any) -> None:
    english = prop.get("description")
    if english and not has_chinese(english) and english not in description:
        description = f"{description}. {english}"
    prop["description"] = description
    prop["examples"] = [example]
