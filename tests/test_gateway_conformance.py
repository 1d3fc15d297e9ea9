"""The conformance cases replayed with their visits and cancellations sent through the
national platform gateway (2207, 2208) as a HIS would send them: the same figures.

Every other step (credits, bindings, deaths…) runs in process on the same store. A visit
the platform's words cannot say (ineligibility flags, an outside prescription's level, a
family account paying without the person's own first) also runs in process. The platform
has no field for ``over_cap`` and ``pooling_reason``, so those two are compared for the
in-process visits only; the people's final state (balances, pooling years) is compared
whole.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from api_support import AGENCY, KEYS, auth, list_directory, settings
from fastapi.testclient import TestClient
from test_conformance import cases

from api import create_app
from conformance.inprocess import InProcessDriver
from conformance.runner import run
from conformance.scenario import load
from ledger.commands import EnrollPerson
from ledger.settings import Settings
from policies.errors import ErrorCode, LedgerError
from policies.money import MoneyFormatError, format_fen, parse_fen

PATH = "/fsi/api/rsfComIfsService/callService"
PLATFORM_ONLY = ("over_cap", "pooling_reason")


class GatewayDriver:
    """Visits through 2207, their reversals through 2208, the rest in process."""

    def __init__(self, client: TestClient, keyed: bool = False) -> None:
        self.client = client
        self.keyed = keyed  # institution keys LV1-3, the level from the directory
        self.local = InProcessDriver(client.app.state.services.ledger)  # type: ignore[attr-defined]
        self.visits: dict[str, str] = {}  # visit id → the institution that settled it
        self.sent: list[int] = []  # result index of each step the gateway answered
        self.count = 0

    def enroll(self, command: EnrollPerson) -> None:
        self.local.enroll(command)

    def person(self, name: str, as_of: dt.date) -> dict[str, Any]:
        return self.local.person(name, as_of)

    def step(self, op: str, data: dict[str, Any], where: str) -> dict[str, Any]:
        self.count += 1
        if op == "visit" and (body := self.settlement(data)) is not None:
            institution = f"LV{data['level']}" if self.keyed else "H1"
            if self.keyed:
                del body["medins_lv"]  # the directory says it
            result = self.send("2207", body, data["date"], where, institution)["setlinfo"]
            self.visits.setdefault(data["id"], institution)
            self.sent.append(self.count - 1)
            paid = parse_fen(result["acct_pay"]) + parse_fen(result["acct_mulaid_pay"])
            return {"deductible_applied": result["act_pay_dedc"],
                    "fund_paid": result["hifp_pay"], "self_pay": result["psn_part_amt"],
                    "account_paid": format_fen(paid), "cash_paid": result["psn_cash_pay"]}
        if op == "reverse" and data.get("id") in self.visits and set(data) <= {"id", "date"}:
            person = self.client.get(f"/v1/settlements/{data['id']}").json()["person"]
            result = self.send("2208", {"setl_id": data["id"], "mdtrt_id": data["id"],
                                        "psn_no": person}, data["date"], where,
                               self.visits[data["id"]])["setlinfo"]
            self.sent.append(self.count - 1)
            restored = parse_fen(result["acct_pay"].lstrip("-")) + parse_fen(
                result["acct_mulaid_pay"].lstrip("-"))
            return {"restored": format_fen(restored)}
        return self.local.step(op, data, where)

    @staticmethod
    def settlement(data: dict[str, Any]) -> dict[str, Any] | None:
        """2207 ``input.data`` for a visit step, or None when the platform cannot say it."""
        pay = data.get("pay", "own")
        if (data.get("flags") or data.get("prescribed_level") is not None
                or not re.match(r"^\d{4}-\d{2}-\d{2}$", str(data.get("date")))
                or data.get("level") not in (1, 2, 3)
                or not (pay in ("own", "none") or (isinstance(pay, dict)
                                                  and pay.get("own_first") is True))):
            return None
        try:
            in_scope = parse_fen(data["in_scope"])
            out_of_scope = parse_fen(data.get("out_of_scope", "0.00"))
        except (KeyError, MoneyFormatError):
            return None
        body = {
            "psn_no": data["person"], "mdtrt_cert_type": "02", "mdtrt_cert_no": data["person"],
            "med_type": "11", "medfee_sumamt": format_fen(in_scope + out_of_scope),
            "psn_setlway": "01", "mdtrt_id": data["id"], "insutype": "310",
            "acct_used_flag": "0" if pay == "none" else "1",
            "fulamt_ownpay_amt": format_fen(out_of_scope), "overlmt_selfpay": "0.00",
            "preselfpay_amt": "0.00", "inscp_scp_amt": format_fen(in_scope),
            "medins_lv": str(data["level"]),
        }
        if isinstance(pay, dict):
            body["mulaid_psn_no"] = pay["family"]
        return body

    def send(self, infno: str, data: dict[str, Any], date: str, where: str,
             institution: str) -> dict[str, Any]:
        envelope = {
            "infno": infno, "msgid": f"G{self.count:08d}", "mdtrtarea_admvs": "421300",
            "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1", "opter": "01",
            "opter_name": "driver", "inf_time": f"{date} 10:00:00", "fixmedins_code": institution,
            "fixmedins_name": "conformance", "input": {"data": data},
        }
        headers = auth(f"level-{institution}-key-0000000") if self.keyed else None
        body = self.client.post(PATH, json=envelope, headers=headers).json()
        if body["infcode"] != 0:
            code = re.match(r"^\[(\w+)\] ", body["err_msg"])
            assert code, body["err_msg"]
            raise LedgerError(ErrorCode(code.group(1)), f"{where}: {body['err_msg']}")
        return body["output"]


LEVELS = {f"level-LV{n}-key-0000000": {"role": "institution", "institution": f"LV{n}"}
          for n in (1, 2, 3)}
LEVEL_DIRECTORY = "code,name,region,level,designated,networked,valid_from,valid_to\n" + "".join(
    f"LV{n},{n}级医院,suizhou,{n},true,true,1990-01-01,\n" for n in (1, 2, 3))


@pytest.mark.parametrize("keyed", [False, True], ids=["agency, medins_lv", "institution keys, "
                                                                           "directory level"])
@pytest.mark.parametrize("path", cases())
def test_a_case_through_the_gateway_gives_the_same_figures(path: Path, tmp_path: Path,
                                                           keyed: bool):
    """As the agency sending ``medins_lv``; and as institutions LV1–3 listed at levels 1–3,
    sending no level: the directory's level gives the same figures."""
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    scenario = load(path)
    app = create_app(Settings(database_url=str(tmp_path / "gongji.db"),
                              api_keys=json.dumps({**KEYS, **LEVELS}),
                              policy_parameters=json.dumps(scenario.policy_parameters or {})))
    with TestClient(app) as client:
        client.headers.update(auth(AGENCY))
        list_directory(client, LEVEL_DIRECTORY)
        driver = GatewayDriver(client, keyed)
        document = run(scenario, driver, log=lambda line: None)
    for index in driver.sent:
        for name in PLATFORM_ONLY:
            expected["results"][index].pop(name, None)
    assert document == expected


def test_the_replay_sends_most_visits_through_the_gateway(tmp_path: Path):
    path = next(p.values[0] for p in cases() if "01-suizhou" in str(p.values[0]))
    scenario = load(path)
    visits = sum(step.get("op") == "visit" for step in scenario.steps)
    app = create_app(settings(str(tmp_path / "gongji.db"), scenario.policy_parameters))
    with TestClient(app) as client:
        client.headers.update(auth(AGENCY))
        driver = GatewayDriver(client)
        run(scenario, driver, log=lambda line: None)
    assert len(driver.visits) >= visits - 2 > 0
