"""Every conformance case, run in process and compared as a whole document (FORMAT.md).

Cases come from ``tests/conformance_cases`` (the public ones copied, plus our own, each
with a ``.md`` note showing the arithmetic of its expected document) and from the shared
``conformance/cases`` folder beside the repository when it exists, so a case added there
is run without touching this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.inprocess import InProcessDriver
from conformance.runner import run
from conformance.scenario import load
from ledger import open_ledger

HERE = Path(__file__).resolve().parent
FOLDERS = {"tests": HERE / "conformance_cases",
           "shared": HERE.parents[1] / "shared" / "conformance" / "cases"}


def cases() -> list[Any]:
    found = []
    for label, folder in FOLDERS.items():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            if not path.name.endswith(".expected.json"):
                found.append(pytest.param(path, id=f"{label}/{path.stem}"))
    return found


def run_in_process(path: Path, store: Path) -> dict[str, Any]:
    scenario = load(path)
    ledger = open_ledger(str(store), scenario.policy_parameters)
    try:
        return run(scenario, InProcessDriver(ledger), log=lambda line: None)
    finally:
        ledger.close()


def test_the_public_cases_are_copied_here() -> None:
    ours = {p.name for p in FOLDERS["tests"].glob("0[1-4]-*.json")}
    assert len(ours) == 8, "copy the four public cases and their expected documents"
    shared = FOLDERS["shared"]
    if shared.is_dir():
        for name in ours:
            assert (shared / name).read_text(encoding="utf-8") == (
                FOLDERS["tests"] / name).read_text(encoding="utf-8"), f"{name} differs"


@pytest.mark.parametrize("path", cases())
def test_case_gives_exactly_the_expected_document(path: Path, tmp_path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    document = run_in_process(path, tmp_path / "gongji.db")
    # compare the parts first for a readable failure, then the whole document
    for number, (want, got) in enumerate(zip(expected["results"], document["results"]), 1):
        assert got == want, f"step {number}"
    for name, want in expected["people"].items():
        assert document["people"].get(name) == want, f"people.{name}"
    assert document == expected
