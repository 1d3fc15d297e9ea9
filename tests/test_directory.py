"""The institution directory (定点医药机构目录): the import job, the entry in force on a day,
the level and the designated flag of an institution key's visits (JSON API and national
platform gateway, one rule), the read routes, and GONGJI_ADMDVS.

Suizhou, employed (suizhou art. 8): a 500.00 deductible, then 80% / 70% / 60% of the rest
of the in-scope amount at level 1 / 2 / 3. A 600.00 visit therefore has the fund pay
80.00, 70.00 or 60.00: the level is visible in the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import AGENCY, AUDITOR, GONGJI, KEYS, auth, list_directory
from fastapi.testclient import TestClient

from api import create_app
from api.vocabulary import has_chinese
from ledger import open_ledger
from ledger.admdvs import BUILT_IN
from ledger.directory import Institution, institution_id
from ledger.jobs.institutions import import_institutions
from ledger.settings import Settings, SettingsError, load_settings

PATH = "/fsi/api/rsfComIfsService/callService"
HEADER = "code,name,region,level,designated,networked,valid_from,valid_to\n"
DIRECTORY = HEADER + """\
L1,一级医院,421300,1,true,true,2020-01-01,
L2,二级医院,suizhou,2,true,true,2020-01-01,2024-06-30
L2,二级医院（升三级）,suizhou,3,true,true,2024-07-01,
OLD,已到期药房,421300,1,true,false,2020-01-01,2022-12-31
NON,非定点诊所,421300,1,false,false,2020-01-01,
"""
INSTITUTION_KEYS = {f"key-of-{code.lower()}-000000000": {"role": "institution",
                                                         "institution": code}
                    for code in ("L1", "L2", "OLD", "NON", "NEW")}


def key(code: str) -> dict[str, str]:
    return auth(f"key-of-{code.lower()}-000000000")


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=sqlite_url,
                        api_keys=json.dumps({**KEYS, **INSTITUTION_KEYS}),
                        admdvs="421381=suizhou")
    with TestClient(create_app(settings)) as client:
        client.headers.update(auth(AGENCY))
        list_directory(client, DIRECTORY)
        client.post("/v1/people", json={"person": "A", "region": "suizhou",
                                        "birth_date": "1980-01-01"}).raise_for_status()
        for month in ("2023-01", "2023-02"):
            client.post("/v1/contributions", json={"person": "A", "month": month,
                                                   "base": "5000.00"}).raise_for_status()
        yield client


def settle(client: TestClient, institution: str, id: str, date: str = "2024-05-01",
           **extra: Any):
    return client.post("/v1/settlements", headers=key(institution), json={
        "person": "A", "id": id, "date": date, "level": 1, "in_scope": "600.00", **extra})


def history_length(client: TestClient) -> int:
    return len(client.get("/v1/people/A/events", params={"limit": 200}).json()["events"])


# -- the import job ----------------------------------------------------------------------


def test_the_same_file_again_writes_nothing_and_a_changed_row_is_a_new_version(
        tmp_path: Path):
    ledger = open_ledger(str(tmp_path / "gongji.db"))
    try:
        first = list_directory(ledger, DIRECTORY)
        assert (first.written, first.already, first.events["Listed"],
                first.events["Registered"]) == (5, 0, 5, 4)
        again = list_directory(ledger, DIRECTORY)
        assert (again.written, again.already, sum(again.events.values())) == (0, 5, 0)
        changed = list_directory(ledger, DIRECTORY.replace("一级医院,421300,1", "一级医院,421300,2"))
        assert (changed.written, changed.already, dict(changed.events)) == (1, 4, {"Listed": 1})
        l1: Institution = ledger.load(institution_id("L1"))
        assert l1.version == 3 and l1.entries["2020-01-01"]["level"] == 2
        assert [type(e).__name__ for e in ledger.events.get(institution_id("L1"))] == [
            "Registered", "Listed", "Listed"]
    finally:
        ledger.close()


BAD_ROWS = [
    ("X1,n,wuhan,1,true,true,2020-01-01,", "invalid_input", "region 'wuhan'"),
    ("X2,n,421300,4,true,true,2020-01-01,", "invalid_input", "level"),
    ("X3,n,421300,1,maybe,true,2020-01-01,", "invalid_input", "designated"),
    ("X4,n,421300,1,true,true,2020-02-30,", "invalid_input", "valid_from"),
    ("X5,n,421300,1,true,true,2021-01-01,2020-12-31", "invalid_input", "valid_to"),
    ("X 6,n,421300,1,true,true,2020-01-01,", "invalid_input", "code"),
    ("X7,,421300,1,true,true,2020-01-01,", "invalid_input", "name"),
    ("X8,n,421300,1,true,true", "invalid_input", "expected 8 fields"),
    ("L1,again,421300,1,true,true,2020-01-01,", "duplicate_conflict", "already on line 2"),
]


def test_bad_rows_go_to_the_rejects_file_with_stable_codes(tmp_path: Path):
    source = tmp_path / "directory.csv"
    source.write_text(HEADER + "L1,一级医院,421300,1,true,true,2020-01-01,\n"
                      + "".join(row + "\n" for row, _, _ in BAD_ROWS), encoding="utf-8")
    ledger = open_ledger(str(tmp_path / "gongji.db"))
    try:
        summary = import_institutions(ledger, source, tmp_path / "rejects.csv", BUILT_IN)
    finally:
        ledger.close()
    assert summary.written == 1 and sum(summary.rejected.values()) == len(BAD_ROWS)
    assert summary.ties_out
    lines = (tmp_path / "rejects.csv").read_text("utf-8").splitlines()
    assert lines[0] == "line,code,name,region,level,designated,networked,valid_from," \
                       "valid_to,error,message"
    for line, (row, code, words) in zip(lines[1:], BAD_ROWS, strict=True):
        assert f",{code}," in line and words in line, (row, line)


def test_a_gb18030_file_and_a_workbook_import_alike(tmp_path: Path):
    from openpyxl import Workbook

    import datetime as dt

    csv_file = tmp_path / "directory.csv"
    csv_file.write_bytes(DIRECTORY.encode("gb18030"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["L1", "一级医院", 421300, 1, True, "是", dt.datetime(2020, 1, 1), None])
    xlsx = tmp_path / "directory.xlsx"
    workbook.save(xlsx)
    ledger = open_ledger(str(tmp_path / "gongji.db"))
    try:
        from_csv = import_institutions(ledger, csv_file, tmp_path / "r1.csv", BUILT_IN)
        from_xlsx = import_institutions(ledger, xlsx, tmp_path / "r2.csv", BUILT_IN)
        assert (from_csv.written, from_xlsx.written, from_xlsx.already) == (5, 0, 1)
        assert ledger.load(institution_id("L1")).entries["2020-01-01"]["name"] == "一级医院"
    finally:
        ledger.close()


def test_the_cli_checks_the_header_before_writing_and_explains_itself(tmp_path: Path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,name,level\nL1,x,1\n", encoding="utf-8")
    database = str(tmp_path / "gongji.db")
    refused = subprocess.run([GONGJI, "institutions", "import", str(wrong), "--database",
                              database], capture_output=True, text=True)
    assert refused.returncode == 2 and "missing region" in refused.stderr
    helped = subprocess.run([GONGJI, "institutions", "import", "--help"],
                            capture_output=True, text=True)
    assert "定点医药机构目录" in helped.stdout and "valid_from" in helped.stdout
    right = tmp_path / "directory.csv"
    right.write_text(DIRECTORY, encoding="utf-8")
    imported = subprocess.run([GONGJI, "institutions", "import", str(right), "--database",
                               database], capture_output=True, text=True)
    assert imported.returncode == 0 and "✓ Listed events stored = rows written" in imported.stdout
    shown = subprocess.run([GONGJI, "institutions", "show", "L2", "--on", "2024-07-01",
                            "--database", database], capture_output=True, text=True)
    assert json.loads(shown.stdout)["in_force"]["level"] == 3
    missing = subprocess.run([GONGJI, "institutions", "show", "NEW", "--database", database],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "unknown_institution" in missing.stderr


# -- the entry in force, and the visit's level --------------------------------------------


@pytest.mark.parametrize("institution, date, fund_paid", [
    ("L1", "2024-05-01", "80.00"),
    ("L2", "2024-06-30", "70.00"),  # the level-2 entry's last day
    ("L2", "2024-07-01", "60.00"),  # the level-3 entry supersedes it from its own start
])
def test_an_institution_keys_visit_is_priced_at_its_listed_level(
        client: TestClient, institution: str, date: str, fund_paid: str):
    level = {"80.00": 1, "70.00": 2, "60.00": 3}[fund_paid]
    settled = settle(client, institution, "v1", date, level=level)
    assert settled.status_code == 200, settled.json()
    assert (settled.json()["level"], settled.json()["fund_paid"]) == (level, fund_paid)
    record = client.get("/v1/settlements/v1").json()
    version = 2 if (institution, date) != ("L2", "2024-07-01") else 3
    assert record["listing"] == {"code": institution, "version": version,
                                 "valid_from": "2024-07-01" if version == 3 else "2020-01-01",
                                 "level": level}


@pytest.mark.parametrize("institution, date, code, status", [
    ("NEW", "2024-05-01", "unknown_institution", 404),
    ("OLD", "2023-01-01", "institution_not_in_force", 409),
    ("L1", "2019-12-31", "institution_not_in_force", 409),
    ("NON", "2024-05-01", "not_designated", 409),
    ("L2", "2024-07-01", "level_mismatch", 422),  # level 1 sent, the directory says 3
])
def test_refusals_of_the_directory_say_why_and_change_nothing(
        client: TestClient, institution: str, date: str, code: str, status: int):
    before = history_length(client)
    refused = settle(client, institution, "v1", date)
    problem = refused.json()
    assert (refused.status_code, problem["code"]) == (status, code)
    assert has_chinese(problem["detail_zh"]) and institution in problem["detail_zh"]
    assert problem["field"] == ("level" if code == "level_mismatch" else "institution")
    assert history_length(client) == before
    assert client.get("/v1/settlements/v1").status_code == 404
    preview = client.post("/v1/settlements/preview", headers=key(institution), json={
        "person": "A", "id": "p", "date": date, "level": 1, "in_scope": "600.00"})
    assert preview.json()["code"] == code


@pytest.mark.parametrize("institution, date, code", [
    ("L1", "2024-05-01", None), ("NON", "2024-05-01", "not_designated"),
    ("OLD", "2023-01-01", "institution_not_in_force"), ("NEW", "2024-05-01",
                                                        "unknown_institution"),
])
def test_an_institution_key_spends_only_while_designated(
        client: TestClient, institution: str, date: str, code: str | None):
    spent = client.post("/v1/spends", headers=key(institution), json={
        "payer": "A", "purpose": "pharmacy", "amount": "35.00", "id": "s1", "date": date})
    assert spent.json().get("code") == code
    balance = client.get("/v1/people/A", params={"consistency": "strong"}).json()["balance"]
    assert balance == ("165.00" if code is None else "200.00")


def test_the_agency_keeps_the_level_it_sends(client: TestClient):
    settled = client.post("/v1/settlements", json={
        "person": "A", "id": "v1", "date": "2024-05-01", "level": 3, "in_scope": "600.00",
        "institution": "NON"})
    assert settled.json()["fund_paid"] == "60.00"
    assert client.get("/v1/settlements/v1").json()["listing"] is None


def test_a_retry_after_the_directory_changed_gets_the_first_answer(client: TestClient):
    first = settle(client, "L1", "v1")
    list_directory(client, DIRECTORY.replace("L1,一级医院,421300,1,true", "L1,一级医院,421300,2,false"))
    assert settle(client, "L1", "v1").json() == first.json()
    assert settle(client, "L1", "v2").json()["code"] == "not_designated"


# -- the gateway: the same rule ----------------------------------------------------------


def envelope(infno: str, institution: str, **data: Any) -> dict[str, Any]:
    visit = {"psn_no": "A", "med_type": "11", "medfee_sumamt": "600.00", "psn_setlway": "01",
             "mdtrt_id": "g1", "insutype": "310", "acct_used_flag": "1", **data}
    msgid = hashlib.sha256(json.dumps([infno, institution, data]).encode()).hexdigest()[:30]
    return {"infno": infno, "msgid": msgid,
            "mdtrtarea_admvs": "421300", "insuplc_admdvs": "421381", "infver": "V1.0",
            "recer_sys_code": "YBXT",
            "opter_type": "1", "opter": "01", "opter_name": "收费员",
            "inf_time": "2024-07-01 09:00:00", "fixmedins_code": institution,
            "fixmedins_name": "x", "input": {"data": {k: v for k, v in visit.items()
                                                      if v is not None}}}


def test_the_gateway_takes_the_level_from_the_directory_without_medins_lv(
        client: TestClient):
    body = client.post(PATH, json=envelope("2207", "L2"), headers=key("L2")).json()
    assert body["infcode"] == 0, body["err_msg"]
    assert body["output"]["setlinfo"]["hifp_pay"] == "60.00"  # level 3 from 2024-07-01
    assert client.get("/v1/settlements/g1").json()["listing"]["version"] == 3


@pytest.mark.parametrize("institution, data, code, field", [
    ("NEW", {}, "unknown_institution", "fixmedins_code"),
    ("OLD", {}, "institution_not_in_force", "fixmedins_code"),
    ("NON", {}, "not_designated", "fixmedins_code"),
    ("L2", {"medins_lv": "2"}, "level_mismatch", "medins_lv"),
])
def test_the_gateway_refuses_in_the_envelope_naming_the_field(
        client: TestClient, institution: str, data: dict[str, Any], code: str, field: str):
    for infno in ("2206", "2207"):
        body = client.post(PATH, json=envelope(infno, institution, **data),
                           headers=key(institution)).json()
        assert body["infcode"] == -1 and body["output"] is None
        chinese, english = body["err_msg"].split(" | ")
        assert chinese.startswith(f"[{code}] ") and f"（字段 {field}）" in chinese
        assert has_chinese(chinese) and institution in english
    assert client.get("/v1/settlements/g1").status_code == 404


def test_an_agency_key_at_the_gateway_still_sends_medins_lv(client: TestClient):
    body = client.post(PATH, json=envelope("2206", "L1")).json()
    assert body["infcode"] == -1 and "medins_lv" in body["err_msg"]
    body = client.post(PATH, json=envelope("2206", "L1", medins_lv="2")).json()
    assert body["output"]["setlinfo"]["hifp_pay"] == "70.00"


# -- reading the directory ---------------------------------------------------------------


def test_an_institution_shows_its_entries_the_one_in_force_and_its_history(
        client: TestClient):
    list_directory(client, DIRECTORY.replace("二级医院,suizhou,2", "二级医院,suizhou,1"))
    body = client.get("/v1/institutions/L2", params={"on": "2024-06-30"}).json()
    assert body["in_force"]["level"] == 1 and body["in_force"]["version"] == 4
    assert [e["valid_from"] for e in body["entries"]] == ["2020-01-01", "2024-07-01"]
    assert [(h["version"], h["entry"]["level"]) for h in body["history"]] == [
        (2, 2), (3, 3), (4, 1)]
    assert client.get("/v1/institutions/L2", params={"on": "2024-07-01"}).json()[
        "in_force"]["level"] == 3
    assert client.get("/v1/institutions/OLD", params={"on": "2024-01-01"}).json()[
        "in_force"] is None
    assert client.get("/v1/institutions/L2", headers=key("L2")).status_code == 200
    assert client.get("/v1/institutions/L1", headers=key("L2")).status_code == 403
    missing = client.get("/v1/institutions/NEW")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_institution")


def test_the_directory_lists_by_region_in_pages(client: TestClient):
    list_directory(client, HEADER + "N1,南昌医院,360100,2,true,true,2020-01-01,\n")
    first = client.get("/v1/institutions", headers=auth(AUDITOR), params={
        "region": "suizhou", "limit": 2, "on": "2024-07-01"}).json()
    assert [i["code"] for i in first["institutions"]] == ["L1", "L2"]
    assert first["institutions"][1]["in_force"]["level"] == 3
    rest = client.get("/v1/institutions", params={
        "region": "suizhou", "limit": 2, "after": first["next_after"]}).json()
    assert [i["code"] for i in rest["institutions"]] == ["NON", "OLD"]
    assert rest["next_after"] is None
    assert [i["code"] for i in client.get("/v1/institutions", params={
        "region": "nanchang"}).json()["institutions"]] == ["N1"]
    assert client.get("/v1/institutions", params={"region": "wuhan"}).json()[
        "code"] == "invalid_input"
    assert client.get("/v1/institutions", headers=key("L1")).status_code == 403


# -- more region codes ---------------------------------------------------------------------


@pytest.mark.parametrize("value, words", [
    ("4213=suizhou", "six-digit"),
    ("421381", "CODE=region"),
    ("421381=wuhan", "names no region"),
    ("421300=nanchang", "already suizhou"),
])
def test_a_bad_admdvs_setting_stops_start_up_naming_it(value: str, words: str):
    with pytest.raises(SettingsError, match="GONGJI_ADMDVS") as error:
        load_settings(admdvs=value)
    assert words in str(error.value)


def test_an_added_region_code_is_accepted_by_the_gateway_and_the_import(
        client: TestClient, tmp_path: Path):
    assert load_settings(admdvs=" 421381=suizhou, 360102=nanchang ").regions_by_code[
        "360102"] == "nanchang"
    person = client.post(PATH, json={**envelope("1101", "L1"), "input": {
        "data": {"mdtrt_cert_no": "A"}}}, headers=key("L1")).json()
    assert person["infcode"] == 0  # insuplc_admdvs 421381 is suizhou here
    assert person["output"]["insuinfo"][0]["insuplc_admdvs"] == "421300"
    ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    source = tmp_path / "d.csv"
    source.write_text(HEADER + "D1,区医院,421381,1,true,true,2020-01-01,\n", encoding="utf-8")
    without = import_institutions(ledger, source, tmp_path / "r.csv", BUILT_IN)
    assert without.rejected["invalid_input"] == 1
    table = load_settings(admdvs="421381=suizhou").regions_by_code
    assert import_institutions(ledger, source, tmp_path / "r.csv", table).written == 1
    entry = client.get("/v1/institutions/D1").json()["in_force"]
    assert (entry["region"], entry["admdvs"]) == ("suizhou", "421381")


# -- the directory's events beside the rest ----------------------------------------------


def test_the_views_and_the_audit_take_the_directorys_events_in_their_stride(tmp_path: Path):
    """A store with directory entries, a changed entry and institution settlements: the
    views rebuild and ``gongji audit verify`` re-prices each settlement at its recorded
    (directory) level and finds nothing wrong."""
    database = str(tmp_path / "gongji.db")
    settings = Settings(database_url=database,
                        api_keys=json.dumps({**KEYS, **INSTITUTION_KEYS}))
    with TestClient(create_app(settings)) as client:
        client.headers.update(auth(AGENCY))
        list_directory(client, DIRECTORY)
        client.post("/v1/people", json={"person": "A", "region": "suizhou",
                                        "birth_date": "1980-01-01"}).raise_for_status()
        assert settle(client, "L2", "v1", "2024-06-01", level=2).json()["fund_paid"] == "70.00"
        list_directory(client, DIRECTORY.replace("二级医院,suizhou,2", "二级医院,suizhou,1"))
        # the deductible met by v1, level 1 now: 80% of the whole 600.00
        assert settle(client, "L2", "v2", "2024-06-02").json()["fund_paid"] == "480.00"
    env = {"GONGJI_DATABASE_URL": database}
    for command in (["projections", "rebuild"], ["audit", "verify"]):
        done = subprocess.run([GONGJI, *command], capture_output=True, text=True,
                              env={**os.environ, **env})
        assert done.returncode == 0, (command, done.stdout, done.stderr)


@pytest.mark.postgres
def test_the_directory_on_postgresql(postgres_url: str):
    settings = Settings(database_url=postgres_url,
                        api_keys=json.dumps({**KEYS, **INSTITUTION_KEYS}))
    with TestClient(create_app(settings)) as client:
        client.headers.update(auth(AGENCY))
        assert list_directory(client, DIRECTORY).written == 5
        assert list_directory(client, DIRECTORY).already == 5
        client.post("/v1/people", json={"person": "A", "region": "suizhou",
                                        "birth_date": "1980-01-01"}).raise_for_status()
        assert settle(client, "L2", "v1", "2024-07-01", level=3).json()["fund_paid"] == "60.00"
        assert [i["code"] for i in client.get("/v1/institutions", params={
            "region": "suizhou"}).json()["institutions"]] == ["L1", "L2", "NON", "OLD"]
        assert settle(client, "NON", "v2").json()["code"] == "not_designated"
