"""The mutation score cannot silently fall: mutmut on one rule module, in CI (issue 14).

Runs mutmut 3 on ``policies/inheritance.py`` against ``tests/test_rules_pinned.py`` in a copy
of the project (a developer's ``./mutants`` is left alone) and fails on any mutant that is
not killed, showing its diff. The whole run over the five rule modules is ``mutmut run``
(README, "Mutation testing"; the equivalent mutants are listed in tests/MUTATION.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = "policies/inheritance.py"  # all of its mutants are killed; none is equivalent
TESTS = "tests/test_rules_pinned.py"


def _mutmut(cwd: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def _project_copy(target: Path) -> None:
    """policies/ and tests/ as they are, and pyproject.toml mutating MODULE only."""
    skip = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT / "policies", target / "policies", ignore=skip)
    shutil.copytree(ROOT / "tests", target / "tests", ignore=skip)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", pyproject)
    (target / "pyproject.toml").write_text(pyproject + (
        "\n[tool.mutmut]\n"
        'source_paths = ["policies/"]\n'
        f'only_mutate = ["{MODULE}"]\n'
        f'pytest_add_cli_args_test_selection = ["{TESTS}"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'), encoding="utf-8")


@pytest.mark.slow
def test_every_mutant_of_the_inheritance_rules_is_killed(tmp_path: Path) -> None:
    pytest.importorskip("mutmut")
    _project_copy(tmp_path)
    _mutmut(tmp_path, "run")
    every = _mutmut(tmp_path, "results", "--all", "true")
    statuses = dict(re.findall(r"^\s*(\S+__mutmut_\d+): (.+)$", every, re.MULTILINE))
    assert len(statuses) > 40, every[-2000:]  # the module was mutated and the mutants ran
    alive = {name: status for name, status in statuses.items() if status != "killed"}
    shown = "\n".join(f"{name} ({status}):\n{_mutmut(tmp_path, 'show', name)}"
                      for name, status in sorted(alive.items()))
    assert not alive, f"mutants of {MODULE} that {TESTS} no longer kills:\n{shown}"
