"""A short run of schemathesis's CLI, every check (``--checks all``), against a real
``gongji serve``: no 5xx, no response off its schema, no schema-violating request (an
invalid amount, date, id) accepted, with an agency key and with none. The long run is the
README's command (a few thousand examples per key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from api_support import AGENCY, AUDITOR, running_server

ROOT = Path(__file__).resolve().parents[1]
ST = str(Path(sys.executable).with_name("st"))


def st_run(url: str, key: str | None, *options: str) -> subprocess.CompletedProcess[str]:
    auth = ["-H", f"Authorization: Bearer {key}"] if key else []
    return subprocess.run(
        [ST, "--config-file", str(ROOT / "schemathesis.toml"), "run", f"{url}/openapi.json",
         "--checks", "all", "--workers", "1", "--seed", "1", *auth, *options],
        capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    with running_server(str(tmp_path / "st.db")) as url:
        import httpx

        agency = {"Authorization": f"Bearer {AGENCY}"}
        httpx.post(f"{url}/v1/people", headers=agency, json={
            "person": "A", "region": "suizhou", "birth_date": "1980-01-01"}).raise_for_status()
        # the coverage phase sends the boundary and invalid values of every field of every
        # write (amounts, dates, ids); the others a few examples of every operation
        # the national platform's gateway answers every message, a malformed one too,
        # with HTTP 200 and infcode -1 (its protocol): all checks but that one there
        gateway = "/fsi/api/rsfComIfsService/callService"
        for key, options in ((AGENCY, ["--phases", "coverage", "--include-method", "POST",
                                       "--exclude-path", gateway]),
                             (AGENCY, ["--phases", "coverage", "--include-path", gateway,
                                       "--exclude-checks", "negative_data_rejection"]),
                             (AUDITOR, ["--phases", "examples"]),
                             (None, ["--phases", "examples"])):
            result = st_run(url, key, *options)
            assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
            assert "No issues found" in result.stdout or "passed" in result.stdout
