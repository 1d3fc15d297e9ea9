"""The national platform gateway (1101/2206/2207/2208) as a HIS calls it: the envelope in and
out, figures worked by hand, refusals as infcode -1, msgid retries, and the public models'
field lists.

Suizhou, employed, a level-1 institution (suizhou art. 8): a 500.00 deductible accumulated
over the year, then 80% of the in-scope amount, a 1300.00 yearly cap. Enrolled with a base
of 5000.00, each credited month is 2% = 100.00.
"""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_support import (
    AGENCY, DIRECTORY, GONGJI, HOSPITAL, PHARMACY, auth, list_directory, running_server,
    settings,
)
from fastapi.testclient import TestClient

from api import create_app
from api.vocabulary import has_chinese
from policies.money import format_fen, parse_fen

PATH = "/fsi/api/rsfComIfsService/callService"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(sqlite_url))) as client:
        client.headers.update(auth(AGENCY))
        list_directory(client)
        yield client


def enroll(client: TestClient, person: str, months: int) -> None:
    client.post("/v1/people", json={"person": person, "region": "suizhou",
                                    "birth_date": "1980-01-01"}).raise_for_status()
    for month in range(1, months + 1):
        client.post("/v1/contributions", json={"person": person, "month": f"2023-{month:02d}",
                                               "base": "5000.00"}).raise_for_status()


def envelope(infno: str, data: dict[str, Any], msgid: str, institution: str = "H1",
             **extra: Any) -> dict[str, Any]:
    """An envelope as HIS vendors fill it (InputPost.cs)."""
    return {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "421300",
            "insuplc_admdvs": "421300", "recer_sys_code": "YBXT", "dev_no": "",
            "dev_safe_info": "", "cainfo": "", "signtype": "SM3", "infver": "V1.0",
            "opter_type": "1", "opter": "0001", "opter_name": "收费员",
            "inf_time": "2023-06-01 09:30:00", "fixmedins_code": institution,
            "fixmedins_name": "随州市第一医院", "sign_no": "", "input": {"data": data},
            **extra}


def visit(**changes: Any) -> dict[str, Any]:
    """620.00 at a level-1 institution: 600.00 in scope, 20.00 out of scope in three parts."""
    return {"psn_no": "A", "mdtrt_cert_type": "02", "mdtrt_cert_no": "A", "med_type": "11",
            "medfee_sumamt": "620.00", "psn_setlway": "01", "mdtrt_id": "V1",
            "chrg_bchno": "1", "insutype": "310", "acct_used_flag": "1", "invono": "",
            "fulamt_ownpay_amt": "10.00", "overlmt_selfpay": "6.00", "preselfpay_amt": "4.00",
            "inscp_scp_amt": "600.00", "medins_lv": "1", "expContent": "", **changes}


def call(client: TestClient, infno: str, data: dict[str, Any], msgid: str,
         key: str = HOSPITAL, **extra: Any) -> dict[str, Any]:
    response = client.post(PATH, json=envelope(infno, data, msgid, **extra), headers=auth(key))
    assert response.headers["content-type"] == "application/json"
    return response.json()


def refused(body: dict[str, Any], code: str, field: str | None = None) -> None:
    assert body["infcode"] == -1 and body["output"] is None
    assert body["err_msg"].startswith(f"[{code}] ") and has_chinese(body["err_msg"])
    if field:
        assert field in body["err_msg"].split(" | ")[0]


def balance(client: TestClient, person: str) -> str:
    return client.get(f"/v1/people/{person}", params={"consistency": "strong"}).json()["balance"]


# -- the field lists of the public models (newtouch-cloud/openhis, commit ffa7e660,
#    WinServiceAPI/YiBaoInterface/Models/Output/*.cs), names and types --------------------

AMOUNT, RATE, TIME, DATE, AGE, CODE, TEXT = "16,2", "5,4", "datetime", "date", "4,1", "code", "text"
SETLINFO_2207 = {  # Output_2207.cs, class setlinfo2207: "|required" marks 必填 Y
    "mdtrt_id": CODE, "setl_id": CODE, "psn_no": CODE, "psn_name": TEXT, "psn_cert_type": TEXT,
    "certno": TEXT, "gend": TEXT, "naty": TEXT, "brdy": DATE, "age": AGE, "insutype": CODE,
    "psn_type": CODE, "cvlserv_flag": CODE, "setl_time": TIME, "mdtrt_cert_type": TEXT,
    "med_type": CODE, "medfee_sumamt": AMOUNT, "fulamt_ownpay_amt": AMOUNT,
    "overlmt_selfpay": AMOUNT, "preselfpay_amt": AMOUNT, "inscp_scp_amt": AMOUNT,
    "act_pay_dedc": AMOUNT, "hifp_pay": AMOUNT, "pool_prop_selfpay": RATE,
    "cvlserv_pay": AMOUNT, "hifes_pay": AMOUNT, "hifmi_pay": AMOUNT, "hifob_pay": AMOUNT,
    "maf_pay": AMOUNT, "oth_pay": AMOUNT, "fund_pay_sumamt": AMOUNT, "psn_part_amt": AMOUNT,
    "acct_pay": AMOUNT, "psn_cash_pay": AMOUNT, "hosp_part_amt": AMOUNT, "balc": AMOUNT,
    "acct_mulaid_pay": AMOUNT, "medins_setl_id": CODE, "clr_optins": TEXT, "clr_way": TEXT,
    "clr_type": CODE,
}
SETLINFO_2206 = {k: v for k, v in SETLINFO_2207.items() if k != "setl_id"}  # Output_2206.cs
SETLINFO_2208 = {k: SETLINFO_2207[k] for k in (  # Output_2208.cs (its pdn_cash_pay: psn_…)
    "mdtrt_id", "setl_id", "clr_optins", "setl_time", "medfee_sumamt", "fulamt_ownpay_amt",
    "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
    "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
    "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "balc", "acct_mulaid_pay",
    "hosp_part_amt", "medins_setl_id", "psn_cash_pay")}
SETLDETAIL = {  # Output_2206.cs, class setldetail
    "fund_pay_type": CODE, "inscp_scp_amt": AMOUNT, "crt_payb_lmt_amt": AMOUNT,
    "fund_payamt": AMOUNT, "fund_pay_type_name": TEXT, "setl_proc_info": TEXT,
}
BASEINFO = {  # Output_1101.cs, class baseinfo
    "psn_no": CODE, "psn_cert_type": TEXT, "certno": TEXT, "psn_name": TEXT, "gend": TEXT,
    "naty": TEXT, "brdy": DATE, "age": AGE, "expContent": TEXT,
}
INSUINFO = {  # Output_1101.cs, class insuinfo
    "balc": AMOUNT, "insutype": CODE, "psn_type": CODE, "psn_insu_stas": CODE,
    "psn_insu_date": TEXT, "paus_insu_date": TEXT, "cvlserv_flag": CODE,
    "insuplc_admdvs": CODE, "emp_name": TEXT,
}
ENVELOPE_OUT = {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg",
                "output"}  # OutputReturn.cs
SHAPES = {
    AMOUNT: re.compile(r"^-?\d{1,14}\.\d{2}$"), RATE: re.compile(r"^\d\.\d{4}$"),
    TIME: re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"),
    DATE: re.compile(r"^\d{4}-\d{2}-\d{2}$"), CODE: re.compile(r"^\S{1,64}$"),
}


def typed_as(record: dict[str, Any], model: dict[str, str]) -> None:
    """Every field of the public model is present; numbers and codes are never null."""
    missing = set(model) - set(record)
    assert not missing, f"missing {sorted(missing)}"
    for name, kind in model.items():
        value = record[name]
        if kind == TEXT:
            assert value is None or isinstance(value, str), name
        elif kind == AGE:
            assert isinstance(value, int) and not isinstance(value, bool), name
        else:
            assert isinstance(value, str) and SHAPES[kind].match(value), (name, value)


def test_every_field_of_the_public_models_is_present_and_typed(client: TestClient):
    enroll(client, "A", months=2)
    person = call(client, "1101", {"mdtrt_cert_type": "02", "mdtrt_cert_no": "A"}, "m1")
    assert set(person) == ENVELOPE_OUT
    typed_as(person["output"]["baseinfo"], BASEINFO)
    typed_as(person["output"]["insuinfo"][0], INSUINFO)
    for infno, msgid, model in (("2206", "m2", SETLINFO_2206), ("2207", "m3", SETLINFO_2207)):
        body = call(client, infno, visit(), msgid)
        assert set(body) == ENVELOPE_OUT and body["infcode"] == 0
        typed_as(body["output"]["setlinfo"], model)
        typed_as(body["output"]["setldetail"][0], SETLDETAIL)
    cancelled = call(client, "2208", {"setl_id": "V1", "mdtrt_id": "V1", "psn_no": "A"}, "m4")
    typed_as(cancelled["output"]["setlinfo"], SETLINFO_2208)
    typed_as(cancelled["output"]["setldetail"][0], SETLDETAIL)


# -- each transaction, figures by hand -----------------------------------------------------


def test_1101_gives_what_the_ledger_knows(client: TestClient):
    enroll(client, "A", months=2)
    body = call(client, "1101", {"mdtrt_cert_type": "02", "mdtrt_cert_no": "A"}, "m1")
    assert body["infcode"] == 0 and body["err_msg"] is None
    assert body["inf_refmsgid"].startswith("42130020") and len(body["inf_refmsgid"]) == 30
    assert re.match(r"^\d{17}$", body["refmsg_time"]) and re.match(r"^\d{17}$",
                                                                    body["respond_time"])
    assert body["output"] == {
        "baseinfo": {"psn_no": "A", "psn_cert_type": None, "certno": None, "psn_name": None,
                     "gend": None, "naty": None, "brdy": "1980-01-01", "age": 43,
                     "expContent": None},
        "insuinfo": [{"balc": "200.00", "insutype": "310", "psn_type": "11",
                      "psn_insu_stas": "1", "psn_insu_date": None, "paus_insu_date": None,
                      "cvlserv_flag": "0", "insuplc_admdvs": "421300", "emp_name": None}],
        "idetinfo": [],
    }


def test_2206_previews_and_2207_settles_the_same_figures(client: TestClient):
    enroll(client, "A", months=2)   # 200.00
    preview = call(client, "2206", visit(), "m1")["output"]
    assert balance(client, "A") == "200.00"  # a pre-settlement writes nothing
    settled = call(client, "2207", visit(), "m2")["output"]
    # deductible 500.00 of the 600.00 in scope; the fund pays 80% of the other 100.00 = 80.00;
    # the person bears 620.00 − 80.00 = 540.00: 200.00 from the account, 340.00 in cash
    expected = {
        "mdtrt_id": "V1", "psn_no": "A", "brdy": "1980-01-01", "age": 43, "insutype": "310",
        "psn_type": "11", "cvlserv_flag": "0", "mdtrt_cert_type": "02", "med_type": "11",
        "medfee_sumamt": "620.00", "fulamt_ownpay_amt": "10.00", "overlmt_selfpay": "6.00",
        "preselfpay_amt": "4.00", "inscp_scp_amt": "600.00", "act_pay_dedc": "500.00",
        "hifp_pay": "80.00", "pool_prop_selfpay": "0.8000", "cvlserv_pay": "0.00",
        "hifes_pay": "0.00", "hifmi_pay": "0.00", "hifob_pay": "0.00", "maf_pay": "0.00",
        "oth_pay": "0.00", "fund_pay_sumamt": "80.00", "psn_part_amt": "540.00",
        "acct_pay": "200.00", "psn_cash_pay": "340.00", "hosp_part_amt": "0.00",
        "balc": "0.00", "acct_mulaid_pay": "0.00", "clr_optins": "421300", "clr_way": None,
        "clr_type": "11", "psn_name": None, "psn_cert_type": None, "certno": None,
        "gend": None, "naty": None,
    }
    for answer, setl_id, msgid in ((preview, None, "m1"), (settled, "V1", "m2")):
        info = answer["setlinfo"]
        assert info | expected == info
        assert (info["setl_id"], info["medins_setl_id"]) == (setl_id, msgid)
        assert answer["setldetail"] == [{
            "fund_pay_type": "310100", "inscp_scp_amt": "600.00",
            "crt_payb_lmt_amt": "1300.00", "fund_payamt": "80.00",
            "fund_pay_type_name": "职工基本医疗保险统筹基金",
            "setl_proc_info": answer["setldetail"][0]["setl_proc_info"]}]
        assert "suizhou art. 8" in answer["setldetail"][0]["setl_proc_info"]
    assert settled["setlinfo"]["setl_time"].startswith("2")
    assert balance(client, "A") == "0.00"
    # the JSON API tells the same settlement with the same figures
    nhsa = client.get("/v1/settlements/V1", params={"format": "nhsa"}).json()
    for name in ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
                 "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay",
                 "psn_cash_pay", "balc"):
        assert nhsa[name] == settled["setlinfo"][name], name
    record = client.get("/v1/settlements/V1").json()
    assert record["institution"] == "H1" and record["split"]["level"] == 1
    debit = next(e for e in client.get("/v1/people/A/events").json()["events"]
                 if e["type"] == "Debited")
    assert debit["data"]["date"] == "2023-06-01"  # inf_time's date is the business date
    after = call(client, "1101", {"mdtrt_cert_no": "A"}, "m3")["output"]
    assert after["insuinfo"][0]["balc"] == "0.00"


def test_inscp_scp_amt_left_out_is_the_rest_of_the_bill(client: TestClient):
    enroll(client, "A", months=2)
    data = visit()
    del data["inscp_scp_amt"]
    info = call(client, "2206", data, "m1")["output"]["setlinfo"]
    assert (info["inscp_scp_amt"], info["hifp_pay"]) == ("600.00", "80.00")


def test_amounts_may_be_json_numbers_written_with_two_decimals(client: TestClient):
    enroll(client, "A", months=2)
    text = json.dumps(envelope("2207", visit(), "m1")).replace('"620.00"', "620.00").replace(
        '"600.00"', "600.00")
    assert '"medfee_sumamt": 620.00' in text
    body = client.post(PATH, content=text, headers={**auth(HOSPITAL),
                                                     "Content-Type": "application/json"}).json()
    assert body["infcode"] == 0 and body["output"]["setlinfo"]["hifp_pay"] == "80.00"


def test_2207_with_a_family_payer_and_its_2208_puts_each_part_back(client: TestClient):
    enroll(client, "A", months=1)   # 100.00
    enroll(client, "B", months=6)   # 600.00
    client.post("/v1/family-bindings", json={"owner": "B", "member": "A", "relation": "child",
                                             "date": "2023-01-01"}).raise_for_status()
    settled = call(client, "2207", visit(mulaid_psn_no="B"), "m1")["output"]["setlinfo"]
    # 540.00 to bear: A's own 100.00 first, the 440.00 short from B's account, no cash
    assert (settled["acct_pay"], settled["acct_mulaid_pay"], settled["psn_cash_pay"],
            settled["balc"]) == ("100.00", "440.00", "0.00", "0.00")
    assert (balance(client, "A"), balance(client, "B")) == ("0.00", "160.00")
    cancel = {"setl_id": "V1", "mdtrt_id": "V1", "psn_no": "A"}
    body = call(client, "2208", cancel, "m2", inf_time="2023-06-02 10:00:00")
    assert body["infcode"] == 0
    info = body["output"]["setlinfo"]
    assert (info["medfee_sumamt"], info["hifp_pay"], info["psn_part_amt"]) == (
        "-620.00", "-80.00", "-540.00")
    assert (info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"], info["balc"]) == (
        "-100.00", "-440.00", "0.00", "100.00")
    assert (info["setl_id"], info["mdtrt_id"], info["pool_prop_selfpay"]) == (
        "V1", "V1", "0.8000")
    assert (balance(client, "A"), balance(client, "B")) == ("100.00", "600.00")
    record = client.get("/v1/settlements/V1").json()
    assert record["reversal"] == {"date": "2023-06-02", "reason": "cancelled",
                                  "restored": "540.00"}
    pooling = client.get("/v1/people/A/pooling", params={"consistency": "strong"}).json()
    assert pooling["years"][0]["fund_paid"] == "0.00"
    refused(call(client, "2208", cancel, "m3"), "already_reversed")


def test_without_a_named_family_payer_no_family_account_pays(client: TestClient):
    """The rule when the request names none: the own account, then cash; a bound family
    member's account is used only when the HIS names it (mulaid_psn_no)."""
    enroll(client, "A", months=1)
    enroll(client, "B", months=6)
    client.post("/v1/family-bindings", json={"owner": "B", "member": "A", "relation": "child",
                                             "date": "2023-01-01"}).raise_for_status()
    info = call(client, "2207", visit(), "m1")["output"]["setlinfo"]
    assert (info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (
        "100.00", "0.00", "440.00")
    assert balance(client, "B") == "600.00"
    cash = call(client, "2207", visit(mdtrt_id="V2", acct_used_flag="0"), "m2")
    # a second visit: the deductible is used up, so the fund pays 80% of 600.00 = 480.00
    assert (cash["output"]["setlinfo"]["hifp_pay"], cash["output"]["setlinfo"]["acct_pay"],
            cash["output"]["setlinfo"]["psn_cash_pay"]) == ("480.00", "0.00", "140.00")


# -- msgid: retries are safe ---------------------------------------------------------------


def test_a_2207_sent_again_with_its_msgid_gets_the_first_answer_and_pays_once(
        client: TestClient):
    enroll(client, "A", months=2)
    first = call(client, "2207", visit(), "H1202306010930000001")
    again = call(client, "2207", visit(), "H1202306010930000001")
    assert again == first and first["infcode"] == 0
    assert balance(client, "A") == "0.00"
    events = client.get("/v1/people/A/events").json()["events"]
    assert [e["type"] for e in events].count("Debited") == 1
    # the same visit under a new msgid: the ledger's own id makes it a retry too
    retried = call(client, "2207", visit(), "H1202306010930000002")["output"]["setlinfo"]
    assert retried["acct_pay"] == "200.00" and retried["setl_time"] == first["output"][
        "setlinfo"]["setl_time"]
    assert balance(client, "A") == "0.00"
    # the msgid reused for other content is a conflict, and changes nothing
    other = call(client, "2207", visit(mdtrt_id="V9"), "H1202306010930000001")
    refused(other, "duplicate_conflict", "msgid")
    assert client.get("/v1/settlements/V9").status_code == 404


def test_a_refused_message_does_not_hold_its_msgid(client: TestClient):
    enroll(client, "A", months=2)
    refused(call(client, "2207", visit(medfee_sumamt="630.00"), "m1"), "invalid_input",
            "medfee_sumamt")
    assert call(client, "2207", visit(), "m1")["infcode"] == 0


# -- refusals ------------------------------------------------------------------------------


def test_another_institutions_code_is_403_in_the_envelope(client: TestClient):
    enroll(client, "A", months=2)
    response = client.post(PATH, json=envelope("2207", visit(), "m1", institution="P1"),
                           headers=auth(HOSPITAL))
    assert response.status_code == 403
    refused(response.json(), "forbidden")
    assert "P1" in response.json()["err_msg"]
    assert balance(client, "A") == "200.00"
    assert call(client, "2207", visit(), "m2")["infcode"] == 0
    # nor may another institution cancel it
    cancel = client.post(PATH, json=envelope("2208", {"setl_id": "V1", "mdtrt_id": "V1",
                                                      "psn_no": "A"}, "m3", institution="P1"),
                         headers=auth(PHARMACY))
    assert cancel.status_code == 403
    assert balance(client, "A") == "0.00"


def test_no_key_is_401_in_the_envelope(client: TestClient):
    response = client.post(PATH, json=envelope("1101", {"mdtrt_cert_no": "A"}, "m1"),
                           headers={"Authorization": ""})
    assert response.status_code == 401
    refused(response.json(), "unauthorized")


@pytest.mark.parametrize("infno, data, code, field", [
    ("2207", visit(psn_no="Z"), "unknown_person", None),
    ("1101", {"mdtrt_cert_no": "Z"}, "unknown_person", None),
    ("2207", visit(medfee_sumamt="630.00"), "invalid_input", "medfee_sumamt"),
    ("2207", visit(medfee_sumamt="-620.00"), "invalid_input", "medfee_sumamt"),
    ("2207", visit(inscp_scp_amt="6OO.00"), "invalid_input", "inscp_scp_amt"),
    ("2207", visit(inscp_scp_amt=600.125), "invalid_input", "inscp_scp_amt"),
    ("2207", visit(med_type="21"), "invalid_input", "med_type"),
    ("2207", visit(insutype="390"), "invalid_input", "insutype"),
    ("2207", visit(psn_setlway="02"), "invalid_input", "psn_setlway"),
    ("2207", visit(acct_used_flag="2"), "invalid_input", "acct_used_flag"),
    ("2207", visit(medins_lv="2"), "level_mismatch", "medins_lv"),
    ("2207", visit(mulaid_psn_no="B", acct_used_flag="0"), "invalid_input", "mulaid_psn_no"),
    ("2207", visit(mulaid_psn_no="B"), "unknown_person", None),
    ("2208", {"setl_id": "V7", "mdtrt_id": "V7", "psn_no": "A"}, "unknown_transaction",
     "setl_id"),
    ("9999", {}, "invalid_input", "infno"),
])
def test_refusals_are_infcode_minus_1_and_change_nothing(
        client: TestClient, infno: str, data: dict[str, Any], code: str, field: str | None):
    enroll(client, "A", months=2)
    body = call(client, infno, {k: v for k, v in data.items() if v is not None}, "m1")
    refused(body, code, field)
    assert balance(client, "A") == "200.00"
    assert client.get("/v1/settlements/V1").status_code == 404


def test_the_2208_must_name_the_settlements_person(client: TestClient):
    enroll(client, "A", months=2)
    enroll(client, "B", months=1)
    call(client, "2207", visit(), "m1")
    body = call(client, "2208", {"setl_id": "V1", "mdtrt_id": "V1", "psn_no": "B"}, "m2")
    refused(body, "invalid_input", "psn_no")
    assert balance(client, "A") == "0.00"


@pytest.mark.parametrize("content", [b"{not json", b"[1]", json.dumps(
    {**envelope("2207", visit(), "m1"), "inf_time": "2023-06-01"}).encode(),
    json.dumps({**envelope("2207", visit(), "m1"), "fixmedins_code": ""}).encode()])
def test_a_bad_envelope_is_infcode_minus_1_never_a_500(client: TestClient, content: bytes):
    response = client.post(PATH, content=content, headers={
        **auth(HOSPITAL), "Content-Type": "application/json"})
    assert response.status_code == 200
    refused(response.json(), "invalid_input")


def test_insured_place_must_be_the_persons_region(client: TestClient):
    enroll(client, "A", months=2)
    body = call(client, "2207", visit(), "m1", insuplc_admdvs="530000")
    refused(body, "invalid_input", "insuplc_admdvs")


def test_openapi_documents_the_gateway_in_both_languages(client: TestClient):
    document = client.get("/openapi.json").json()
    operation = document["paths"][PATH]["post"]
    assert has_chinese(operation["summary"]) and "mulaid_psn_no" in operation["description"]
    assert set(operation["responses"]) == {"200", "4XX"}
    setlinfo = document["components"]["schemas"]["SetlInfo"]["properties"]
    assert set(SETLINFO_2207) == set(setlinfo)
    assert "医疗费总额" in setlinfo["medfee_sumamt"]["description"]


# -- a real server, as a HIS calls it ------------------------------------------------------


def test_a_day_at_the_pharmacy_over_http_gives_the_json_apis_figures(tmp_path):
    """The directory imported with the CLI, then a HIS at pharmacy P1 that only changed its
    base URL (no gongji extension but mulaid_psn_no): 1101, 2206, 2207 own and family, a
    2208, 1101 with the balance; every figure is the JSON API's."""
    database = str(tmp_path / "gongji.db")
    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY, encoding="utf-8")
    imported = subprocess.run([GONGJI, "institutions", "import", str(directory),
                               "--database", database], capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    with running_server(database) as url:
        agency, his = auth(AGENCY), auth(PHARMACY)
        for person, months in (("A", 1), ("B", 6)):
            httpx.post(f"{url}/v1/people", json={"person": person, "region": "suizhou",
                                                 "birth_date": "1980-01-01"},
                       headers=agency).raise_for_status()
            for month in range(1, months + 1):
                httpx.post(f"{url}/v1/contributions", json={
                    "person": person, "month": f"2023-{month:02d}", "base": "5000.00"},
                    headers=agency).raise_for_status()
        httpx.post(f"{url}/v1/family-bindings", json={"owner": "B", "member": "A",
                                                      "relation": "child", "date": "2023-01-01"},
                   headers=agency).raise_for_status()

        def send(infno: str, data: dict[str, Any], msgid: str) -> dict[str, Any]:
            body = json.dumps(envelope(infno, data, msgid, institution="P1"),
                              ensure_ascii=False).replace('"620.00"', "620.00")
            response = httpx.post(f"{url}{PATH}", content=body.encode(), headers={
                **his, "Content-Type": "application/json;charset=UTF-8"})
            assert response.status_code == 200
            answer = response.json()
            assert answer["infcode"] == 0, answer["err_msg"]
            return answer["output"]

        def json_api(path: str, **body: Any) -> dict[str, Any]:
            if body:
                return httpx.post(f"{url}{path}", json=body, headers=agency,
                                  params={"format": "nhsa"}).json()
            return httpx.get(f"{url}{path}", headers=agency,
                             params={"format": "nhsa", "consistency": "strong"}).json()

        def same_figures(setlinfo: dict[str, Any], json_answer: dict[str, Any]) -> None:
            """The JSON API's setlinfo names, figure by figure; its one out-of-scope amount
            is the platform's three parts, its rate written with four decimals there."""
            assert json_answer.pop("setl_id") == (setlinfo["setl_id"] or "V1")
            assert format_fen(sum(parse_fen(setlinfo[part]) for part in (
                "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt"))) == \
                json_answer.pop("fulamt_ownpay_amt")
            rate = json_answer.pop("pool_prop_selfpay")
            assert Decimal(setlinfo["pool_prop_selfpay"]) == Decimal(rate)
            assert {k: setlinfo[k] for k in json_answer} == json_answer

        def balc(person: str) -> str:
            balance = json_api(f"/v1/people/{person}")["balance"]
            shown = send("1101", {"mdtrt_cert_no": person}, f"b-{person}-{balance}")
            assert shown["insuinfo"][0]["balc"] == balance
            return balance

        json_visit = {"person": "A", "date": "2023-06-01", "level": 1, "in_scope": "600.00",
                      "out_of_scope": "20.00"}
        his_visit = {k: v for k, v in visit().items() if k != "medins_lv"}
        assert balc("A") == "100.00"
        preview = send("2206", his_visit, "p2")["setlinfo"]
        same_figures(preview, json_api("/v1/settlements/preview", id="V1", **json_visit))
        assert (preview["acct_pay"], preview["psn_cash_pay"]) == ("100.00", "440.00")
        settled = send("2207", his_visit, "p3")
        assert send("2207", his_visit, "p3") == settled  # the msgid retried: the first answer
        same_figures(settled["setlinfo"], json_api("/v1/settlements/V1"))
        assert settled["setlinfo"]["hifp_pay"] == "80.00"
        assert balc("A") == "0.00"
        cancelled = send("2208", {"setl_id": "V1", "mdtrt_id": "V1", "psn_no": "A"}, "p5")
        assert cancelled["setlinfo"]["acct_pay"] == "-100.00"
        assert cancelled["setlinfo"]["balc"] == balc("A") == "100.00"
        # own 100.00 first, the shortfall 440.00 from B's bound account (acct_mulaid_pay)
        family = send("2207", {**his_visit, "mdtrt_id": "V2", "mulaid_psn_no": "B"}, "p6")
        same_figures(family["setlinfo"], json_api("/v1/settlements/V2"))
        assert (family["setlinfo"]["acct_pay"], family["setlinfo"]["acct_mulaid_pay"],
                family["setlinfo"]["psn_cash_pay"]) == ("100.00", "440.00", "0.00")
        assert balc("B") == "160.00" and balc("A") == "0.00"
        record = httpx.get(f"{url}/v1/settlements/V2", headers=agency).json()
        assert record["institution"] == "P1"
        assert record["listing"] == {"code": "P1", "version": 2, "valid_from": "2000-01-01",
                                     "level": 1}
