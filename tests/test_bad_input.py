"""Bad input gets a clear, specific refusal and changes nothing (FORMAT.md, DEVELOPERS.md).

A file that is not a scenario exits 2 with a message; a bad *step* is that step's
``invalid_input`` result, explained on stderr with the step and the field, and writes no
event. Run through the ``gongji`` command line as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from conformance.inprocess import InProcessDriver
from ledger import Ledger
from ledger.commands import EnrollPerson
from policies.errors import ErrorCode, LedgerError

PERSON = {"A": {"region": "suizhou", "birth_date": "1980-01-01"}}
CREDIT = {"op": "contribution", "person": "A", "month": "2023-01", "base": "5000.00"}
VISIT = {"op": "visit", "person": "A", "id": "V", "date": "2023-03-01", "level": 1,
         "in_scope": "300.00"}


def conformance_run(path: Path) -> Any:
    return CliRunner().invoke(app, ["conformance", "run", str(path)])


def scenario_file(tmp_path: Path, steps: list[dict[str, Any]], people: Any = None) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"name": "bad input", "people": people or PERSON,
                                "steps": steps}), encoding="utf-8")
    return path


# -- files that are not scenarios -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"people": {', "not JSON"),
     ("", "not JSON"),
     ("[]", "a scenario is a JSON object"),
     ('{"steps": []}', "people must be an object"),
     ('{"people": {}, "steps": {}}', "steps must be a list"),
     ('{"people": {}, "steps": [1]}', "steps must be a list of objects"),
     ('{"people": {"A": 1}, "steps": []}', "people.A must be an object"),
     ('{"people": {}, "steps": [], "policy_parameters": "jilin"}', "policy_parameters"),
     ('{"people": {"A": {"region": "suizhou", "birth_date": "1980-02-30"}}, "steps": []}',
      "people.A: birth_date"),
     ('{"people": {"A": {"region": "atlantis", "birth_date": "1980-01-01"}}, "steps": []}',
      "people.A: region: unknown region 'atlantis'"),
     ('{"people": {"A": {"region": "suizhou", "birth_date": "1980-01-01", '
      '"scheme": "individual_tier1"}}, "steps": []}', "people.A: scheme"),
     ('{"people": {}, "steps": [], "policy_parameters": {"atlantis": {}}}', "atlantis")],
    ids=["truncated", "empty", "array", "no-people", "steps-object", "step-not-object",
         "person-not-object", "parameters-array", "bad-birth-date", "unknown-region",
         "scheme-of-another-region", "parameters-unknown-region"],
)
def test_a_file_that_is_not_a_scenario_exits_2_with_a_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    result = conformance_run(path)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith(f"gongji: {path}: ")
    assert "Traceback" not in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = conformance_run(tmp_path / "nowhere.json")
    assert result.exit_code == 2
    assert "nowhere.json" in result.stderr


# -- bad steps: invalid_input naming the step and the field, nothing written ------------------

BAD_STEPS = [
    ({"op": "frobnicate", "person": "A"}, "step 2 (frobnicate): op: unknown op 'frobnicate'"),
    ({"person": "A"}, "step 2 (None): op: unknown op None"),
    ({"op": "transfer", "person": "A", "to_region": "atlantis", "date": "2023-03-01"},
     "step 2 (transfer): to_region: unknown region 'atlantis'"),
    ({**VISIT, "in_scope": "-300.00"}, "step 2 (visit): in_scope: amount must not be negative"),
    ({**VISIT, "in_scope": "300.005"}, "step 2 (visit): in_scope: amount is malformed: send ASCII digits with exactly two decimals"),
    ({**VISIT, "in_scope": 300.5}, "step 2 (visit): in_scope: amount must be a string"),
    ({**VISIT, "out_of_scope": 0.1}, "step 2 (visit): out_of_scope: amount must be a string"),
    ({**VISIT, "date": "2023-02-30"}, "step 2 (visit): date: '2023-02-30' is not a calendar date"),
    ({**VISIT, "date": "2023-3-1"}, "step 2 (visit): date:"),
    ({key: value for key, value in VISIT.items() if key != "in_scope"},
     "step 2 (visit): in_scope: Field required"),
    ({key: value for key, value in VISIT.items() if key != "id"},
     "step 2 (visit): id: Field required"),
    ({**VISIT, "level": 4}, "step 2 (visit): level:"),
    ({**VISIT, "level": True}, "step 2 (visit): level:"),
    ({**VISIT, "flags": ["vip"]}, "step 2 (visit): flags.0:"),
    ({**VISIT, "pay": "wallet"}, "step 2 (visit): pay"),
    ({**VISIT, "surprise": 1}, "step 2 (visit): surprise: Extra inputs are not permitted"),
    ({"op": "contribution", "person": "A", "month": "2023-13", "base": "1.00"},
     "step 2 (contribution): month:"),
    ({"op": "spend", "payer": "A", "purpose": "pharmacy", "amount": "0.00", "id": "S",
      "date": "2023-03-01"}, "step 2 (spend): amount: amount must be greater than 0.00"),
    ({"op": "spend", "payer": "A", "purpose": "cash", "amount": "1.00", "id": "S",
      "date": "2023-03-01"}, "step 2 (spend): purpose:"),
    ({"op": "bind", "owner": "A", "member": "A", "relation": "spouse", "date": "2023-03-01"},
     "step 2 (bind): member: an owner cannot bind themself"),
    ({"op": "bind", "owner": "A", "member": "B", "relation": "cousin", "date": "2023-03-01"},
     "step 2 (bind): relation:"),
    ({"op": "inheritance", "person": "A", "date": "2023-03-01",
      "heirs": [{"name": "H", "share": "1/2"}]},
     "step 2 (inheritance): heirs: shares must sum to exactly 1"),
    ({"op": "close_year", "year": "last"}, "step 2 (close_year): year:"),
]


@pytest.mark.parametrize(("step", "message"), BAD_STEPS,
                         ids=[message.split(": ", 1)[1][:40] for _, message in BAD_STEPS])
def test_a_bad_step_is_invalid_input_naming_step_and_field(
    tmp_path: Path, step: dict[str, Any], message: str
) -> None:
    result = conformance_run(scenario_file(tmp_path, [CREDIT, step, VISIT]))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["results"][0] == {"op": "contribution", "ok": True, "credited": "100.00"}
    assert document["results"][1] == {"op": step.get("op"), "ok": False,
                                      "error": "invalid_input"}
    assert f"invalid_input: {message}" in result.stderr
    # the bad step changed nothing: the next visit is priced as if it never happened
    assert document["results"][2]["deductible_applied"] == "300.00"
    assert document["people"]["A"]["balance"] == "0.00"
    assert list(document["people"]["A"]["pooling"]) == ["suizhou/2023"]


@pytest.mark.parametrize(("step", "message"), BAD_STEPS[2:],
                         ids=[message.split(": ", 1)[1][:40] for _, message in BAD_STEPS[2:]])
def test_a_bad_step_writes_no_event(
    memory_ledger: Ledger, step: dict[str, Any], message: str
) -> None:
    memory_ledger.execute(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    memory_ledger.execute(EnrollPerson(person="B", region="suizhou", birth_date="1980-01-01"))
    events = memory_ledger.recorder.max_notification_id()
    data = {key: value for key, value in step.items() if key != "op"}
    with pytest.raises(LedgerError) as refused:
        InProcessDriver(memory_ledger).step(step["op"], data, "step 2")
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert memory_ledger.recorder.max_notification_id() == events


def test_a_good_scenario_prints_one_json_document(tmp_path: Path) -> None:
    result = conformance_run(scenario_file(tmp_path, [CREDIT]))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "results": [{"op": "contribution", "ok": True, "credited": "100.00"}],
        "people": {"A": {"region": "suizhou", "category": "employed", "status": "active",
                         "balance": "100.00", "pooling": {}}},
    }
